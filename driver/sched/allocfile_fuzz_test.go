package sched

import (
	"strings"
	"testing"
)

// Any allocation file is refused with an error naming it, or gives pools
// with sane values that the scheduler accepts (issue 11, fuzz list).
func FuzzParseAllocationFile(f *testing.F) {
	for _, s := range []string{
		`<allocations><pool name="a"><schedulingMode>FAIR</schedulingMode><weight>2</weight><minShare>1</minShare></pool></allocations>`,
		`<?xml version="1.0"?><allocations><pool name="p"><weight> </weight></pool><pool name="p"/></allocations>`,
		`<allocations><pool><weight>-3</weight><minShare>x</minShare><schedulingMode>lifo</schedulingMode></pool></allocations>`,
		`<allocations><pool name="a">`,
		``,
		`<a><b><pool name="deep"><weight>99999999999999999999</weight></pool></b></a>`,
		`<!DOCTYPE x [<!ENTITY e "boom">]><allocations><pool name="&e;"/></allocations>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pools, _, err := ParseAllocationFile("fair.xml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fair.xml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range pools {
			if p.Weight < 1 || p.MinShare < 0 || (p.Mode != FIFO && p.Mode != FAIR) {
				t.Fatalf("pool %+v", p)
			}
			if seen[p.Name] {
				t.Fatalf("pool %q twice", p.Name)
			}
			seen[p.Name] = true
		}
		if _, _, err := New(Config{Mode: FAIR, Pools: pools, CPUsPerTask: 1, MaxFailures: 1}); err != nil {
			t.Fatalf("the scheduler refuses parsed pools %+v: %v", pools, err)
		}
	})
}
