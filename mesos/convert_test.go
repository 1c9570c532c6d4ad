package mesos

import (
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/stoke-run/stoke/mesos/offers"
)

func TestLeaderFromLocation(t *testing.T) {
	for _, c := range []struct{ loc, want string }{
		{"//10.0.0.2:5050", "10.0.0.2:5050"},
		{"//master-2:5050/master/redirect", "master-2:5050"},
		{"http://m:5050/", "m:5050"},
	} {
		if got, err := leaderFromLocation(c.loc, "x"); err != nil || got != c.want {
			t.Errorf("leaderFromLocation(%q) = %q, %v; want %q", c.loc, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "//", "//nohost", "garbage"} {
		if got, err := leaderFromLocation(bad, "x"); err == nil {
			t.Errorf("leaderFromLocation(%q) = %q, want an error", bad, got)
		}
	}
}

func TestMasterInfoAddr(t *testing.T) {
	got, err := masterInfoAddr([]byte(`{"id":"x","ip":16777343,"port":5050,"hostname":"m1","address":{"hostname":"m1.example","ip":"10.0.0.1","port":5050}}`))
	if err != nil || got != "m1.example:5050" {
		t.Fatalf("masterInfoAddr = %q, %v", got, err)
	}
	for _, bad := range []string{`{`, `{}`, `{"hostname":"m"}`} {
		if _, err := masterInfoAddr([]byte(bad)); err == nil {
			t.Errorf("masterInfoAddr(%s) succeeded", bad)
		}
	}
}

// Offers are decoded by mesos-go; whatever they hold (unknown resource
// types, missing values, odd roles), converting and matching them never
// panics and answers each offer once.
func FuzzOffersEvent(f *testing.F) {
	cpus, mem, ranges := mesos.SCALAR, mesos.SCALAR, mesos.RANGES
	role := "stoke"
	ev := scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: []mesos.Offer{{
		ID: mesos.OfferID{Value: "o1"}, AgentID: mesos.AgentID{Value: "a1"}, FrameworkID: mesos.FrameworkID{Value: "f"}, Hostname: "h",
		Resources: []mesos.Resource{
			{Name: "cpus", Type: &cpus, Scalar: &mesos.Value_Scalar{Value: 4}},
			{Name: "mem", Type: &mem, Scalar: &mesos.Value_Scalar{Value: 4096}, Role: &role},
			{Name: "ports", Type: &ranges, Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: 1, End: 2}}}},
			{Name: "fpgas", Type: &cpus, Scalar: &mesos.Value_Scalar{Value: 1}},
		},
		Attributes: []mesos.Attribute{{Name: "zone", Type: mesos.TEXT, Text: &mesos.Value_Text{Value: "z1"}}},
	}}}}
	seed, err := ev.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte{0x08, 0x02, 0x12, 0x03, 0x0a, 0x01, 0x00})
	cons, _ := offers.ParseConstraints("zone:z1")
	cfg := offers.Config{ExecutorCPUs: 1, ExecutorMemMB: 512, TaskCPUs: 1, MesosExecutorCPUs: 1, Role: "stoke",
		Constraints: cons, MaxAgentFailures: 2, RejectRefuse: time.Minute, Refuse: time.Second}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev scheduler.Event
		if err := ev.Unmarshal(data); err != nil {
			return // mesos-go refuses it with an error: the stream ends and is re-subscribed
		}
		os := ev.GetOffers().GetOffers()
		in := make([]offers.Offer, len(os))
		for i := range os {
			in[i] = convertOffer(&os[i])
		}
		for _, mode := range []offers.Mode{offers.Coarse, offers.Fine} {
			cfg.Mode = mode
			ds := offers.Match(cfg, offers.State{ExecutorLimit: -1, Queued: map[string]int{"a1": 3}}, in)
			if len(ds) != len(os) {
				t.Fatalf("%d decisions for %d offers", len(ds), len(os))
			}
			for i, d := range ds {
				for _, l := range d.Launches {
					for _, u := range l.Uses {
						if u.Index < 0 || u.Index >= len(os[i].Resources) {
							t.Fatalf("use of resource %d of %d", u.Index, len(os[i].Resources))
						}
					}
				}
			}
		}
	})
}

func TestConvertOffer(t *testing.T) {
	sc, set := mesos.SCALAR, mesos.SET
	role := "stoke"
	o := mesos.Offer{ID: mesos.OfferID{Value: "o"}, AgentID: mesos.AgentID{Value: "a"}, Hostname: "h",
		Resources: []mesos.Resource{
			{Name: "cpus", Type: &sc, Scalar: &mesos.Value_Scalar{Value: 2}},
			{Name: "cpus", Type: &sc, Scalar: &mesos.Value_Scalar{Value: 1}, Reservations: []mesos.Resource_ReservationInfo{{Role: &role}}},
			{Name: "cpus", Type: &set},
			{Name: "weird"},
		},
		Attributes: []mesos.Attribute{{Name: "rack", Type: mesos.RANGES, Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: 1, End: 3}}}}},
	}
	got := convertOffer(&o)
	if got.Resources[0].Role != "*" || got.Resources[1].Role != "stoke" || got.Resources[2].Kind != offers.Unknown || got.Resources[3].Kind != offers.Unknown {
		t.Fatalf("resources %+v", got.Resources)
	}
	if a := got.Attributes[0]; a.Kind != offers.Ranges || len(a.Ranges) != 1 || a.Ranges[0].End != 3 {
		t.Fatalf("attributes %+v", got.Attributes)
	}
}
