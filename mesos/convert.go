package mesos

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/stoke-run/stoke/mesos/offers"
)

// convertOffer keeps what the decision reads. A resource's role is its
// reservation role ("*" when unreserved); unknown types become Unknown.
func convertOffer(o *mesos.Offer) offers.Offer {
	out := offers.Offer{ID: o.ID.Value, AgentID: o.AgentID.Value, Hostname: o.Hostname}
	for i := range o.Resources {
		r := &o.Resources[i]
		role := "*"
		if len(r.Reservations) > 0 || (r.Role != nil && *r.Role != "*") {
			role = r.ReservationRole()
		}
		cr := offers.Resource{Name: r.Name, Kind: kind(r.Type), Role: role}
		if r.Scalar != nil {
			cr.Scalar = r.Scalar.Value
		}
		if r.Type == nil || *r.Type != mesos.SCALAR {
			cr.Kind = offers.Unknown
		}
		out.Resources = append(out.Resources, cr)
	}
	for _, a := range o.Attributes {
		t := a.Type
		ca := offers.Attribute{Name: a.Name, Kind: kind(&t)}
		switch ca.Kind {
		case offers.Scalar:
			ca.Scalar = a.GetScalar().GetValue()
		case offers.Ranges:
			for _, r := range a.GetRanges().GetRange() {
				ca.Ranges = append(ca.Ranges, offers.Range{Begin: r.Begin, End: r.End})
			}
		case offers.Set:
			ca.Set = a.GetSet().GetItem()
		case offers.Text:
			ca.Text = a.GetText().GetValue()
		}
		out.Attributes = append(out.Attributes, ca)
	}
	return out
}

func kind(t *mesos.Value_Type) offers.Kind {
	if t == nil {
		return offers.Unknown
	}
	switch *t {
	case mesos.SCALAR:
		return offers.Scalar
	case mesos.RANGES:
		return offers.Ranges
	case mesos.SET:
		return offers.Set
	case mesos.TEXT:
		return offers.Text
	}
	return offers.Unknown
}
