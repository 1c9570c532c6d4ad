package mesostest

import (
	"fmt"
	"math"
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// resources is the arithmetic view of a bag of unreserved resources: scalars
// by name (cpus, mem, disk, gpus, ...), ranges by name (ports) and sets by
// name (any custom set resource).
type resources struct {
	scalars map[string]float64
	ranges  map[string][]mesos.Value_Range
	sets    map[string]map[string]bool
}

func newResources() resources {
	return resources{scalars: map[string]float64{}, ranges: map[string][]mesos.Value_Range{}, sets: map[string]map[string]bool{}}
}

func (r resources) addItems(name string, items []string) {
	if len(items) == 0 {
		return
	}
	if r.sets[name] == nil {
		r.sets[name] = map[string]bool{}
	}
	for _, it := range items {
		r.sets[name][it] = true
	}
}

// round keeps three decimals, as Mesos' fixed-point scalars do.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// fromProto converts protobuf resources; set-typed resources are refused.
func fromProto(rs []mesos.Resource) (resources, error) {
	out := newResources()
	for _, r := range rs {
		if r.Name == "" {
			return out, fmt.Errorf("resource without a name")
		}
		switch r.GetType() {
		case mesos.SCALAR:
			v := r.GetScalar().GetValue()
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return out, fmt.Errorf("resource %q has invalid scalar value %v", r.Name, v)
			}
			out.scalars[r.Name] = round(out.scalars[r.Name] + v)
		case mesos.RANGES:
			for _, rg := range r.GetRanges().GetRange() {
				if rg.Begin > rg.End {
					return out, fmt.Errorf("resource %q has invalid range [%d-%d]", r.Name, rg.Begin, rg.End)
				}
				out.ranges[r.Name] = addRange(out.ranges[r.Name], rg)
			}
		case mesos.SET:
			out.addItems(r.Name, r.GetSet().GetItem())
		default:
			return out, fmt.Errorf("resource %q has unsupported type %v", r.Name, r.GetType())
		}
	}
	return out, nil
}

func (r resources) clone() resources {
	out := newResources()
	for k, v := range r.scalars {
		out.scalars[k] = v
	}
	for k, v := range r.ranges {
		out.ranges[k] = append([]mesos.Value_Range(nil), v...)
	}
	for k, v := range r.sets {
		for it := range v {
			out.addItems(k, []string{it})
		}
	}
	return out
}

func (r resources) plus(o resources) resources {
	out := r.clone()
	for k, v := range o.scalars {
		out.scalars[k] = round(out.scalars[k] + v)
	}
	for k, rs := range o.ranges {
		for _, rg := range rs {
			out.ranges[k] = addRange(out.ranges[k], rg)
		}
	}
	for k, v := range o.sets {
		for it := range v {
			out.addItems(k, []string{it})
		}
	}
	return out
}

// minus subtracts o, clamping at zero.
func (r resources) minus(o resources) resources {
	out := r.clone()
	for k, v := range o.scalars {
		out.scalars[k] = math.Max(0, round(out.scalars[k]-v))
		if out.scalars[k] == 0 {
			delete(out.scalars, k)
		}
	}
	for k, rs := range o.ranges {
		for _, rg := range rs {
			out.ranges[k] = subRange(out.ranges[k], rg)
		}
		if len(out.ranges[k]) == 0 {
			delete(out.ranges, k)
		}
	}
	for k, v := range o.sets {
		for it := range v {
			delete(out.sets[k], it)
		}
		if len(out.sets[k]) == 0 {
			delete(out.sets, k)
		}
	}
	return out
}

// contains reports whether o fits in r.
func (r resources) contains(o resources) bool {
	for k, v := range o.scalars {
		if v > 0 && round(r.scalars[k]-v) < 0 {
			return false
		}
	}
	for k, rs := range o.ranges {
		for _, rg := range rs {
			if !rangesContain(r.ranges[k], rg) {
				return false
			}
		}
	}
	for k, v := range o.sets {
		for it := range v {
			if !r.sets[k][it] {
				return false
			}
		}
	}
	return true
}

func (r resources) empty() bool {
	for _, v := range r.scalars {
		if v > 0 {
			return false
		}
	}
	for _, rs := range r.ranges {
		if len(rs) > 0 {
			return false
		}
	}
	for _, v := range r.sets {
		if len(v) > 0 {
			return false
		}
	}
	return true
}

func (r resources) scalar(name string) float64 { return r.scalars[name] }

// toProto renders the resources as Mesos sends them in offers: unreserved,
// with role "*" (the pre-refinement format) and, when role is set, the
// allocation info of a MULTI_ROLE framework.
func (r resources) toProto(allocRole string) []mesos.Resource {
	star := "*"
	var out []mesos.Resource
	names := make([]string, 0, len(r.scalars))
	for k, v := range r.scalars {
		if v > 0 {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		v := r.scalars[k]
		out = append(out, mesos.Resource{Name: k, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}, Role: &star})
	}
	names = names[:0]
	for k := range r.ranges {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		rs := r.ranges[k]
		if len(rs) == 0 {
			continue
		}
		out = append(out, mesos.Resource{Name: k, Type: mesos.RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: append([]mesos.Value_Range(nil), rs...)}, Role: &star})
	}
	names = names[:0]
	for k, v := range r.sets {
		if len(v) > 0 {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		var items []string
		for it := range r.sets[k] {
			items = append(items, it)
		}
		sort.Strings(items)
		out = append(out, mesos.Resource{Name: k, Type: mesos.SET.Enum(), Set: &mesos.Value_Set{Item: items}, Role: &star})
	}
	if allocRole != "" {
		for i := range out {
			out[i].AllocationInfo = &mesos.Resource_AllocationInfo{Role: &allocRole}
		}
	}
	return out
}

func (r resources) String() string {
	s := ""
	for _, p := range r.toProto("") {
		if s != "" {
			s += "; "
		}
		switch p.GetType() {
		case mesos.SCALAR:
			s += fmt.Sprintf("%s:%g", p.Name, p.GetScalar().GetValue())
		case mesos.SET:
			s += fmt.Sprintf("%s:%v", p.Name, p.GetSet().GetItem())
		default:
			s += p.Name + ":"
			for _, rg := range p.GetRanges().GetRange() {
				s += fmt.Sprintf("[%d-%d]", rg.Begin, rg.End)
			}
		}
	}
	return "{" + s + "}"
}

func addRange(rs []mesos.Value_Range, n mesos.Value_Range) []mesos.Value_Range {
	rs = append(append([]mesos.Value_Range(nil), rs...), n)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Begin < rs[j].Begin })
	out := rs[:0:0]
	for _, x := range rs {
		if len(out) > 0 && x.Begin <= out[len(out)-1].End+1 {
			if x.End > out[len(out)-1].End {
				out[len(out)-1].End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

func subRange(rs []mesos.Value_Range, n mesos.Value_Range) []mesos.Value_Range {
	var out []mesos.Value_Range
	for _, x := range rs {
		if n.End < x.Begin || n.Begin > x.End {
			out = append(out, x)
			continue
		}
		if x.Begin < n.Begin {
			out = append(out, mesos.Value_Range{Begin: x.Begin, End: n.Begin - 1})
		}
		if x.End > n.End {
			out = append(out, mesos.Value_Range{Begin: n.End + 1, End: x.End})
		}
	}
	return out
}

func rangesContain(rs []mesos.Value_Range, n mesos.Value_Range) bool {
	for _, x := range rs {
		if x.Begin <= n.Begin && n.End <= x.End {
			return true
		}
	}
	return false
}
