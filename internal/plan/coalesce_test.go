package plan

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func textNode(hosts [][]string) *Node {
	n := &Node{ID: 1, Kind: TextFile, NumPartitions: len(hosts)}
	for _, h := range hosts {
		n.Splits = append(n.Splits, TextSplit{Path: "/f", Hosts: h})
	}
	return n
}

// Every partition is in exactly one group, no group is empty, and without
// hosts the groups are adjacent runs.
func TestCoalesceGroupsPartitionTheParent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.IntRange(2, 40).Draw(t, "m")
		n := rapid.IntRange(1, m-1).Draw(t, "n")
		withHosts := rapid.Bool().Draw(t, "hosts")
		hosts := make([][]string, m)
		if withHosts {
			for q := range hosts {
				for _, h := range rapid.SliceOfNDistinct(rapid.IntRange(0, 4), 0, 3, rapid.ID).Draw(t, "hosts") {
					hosts[q] = append(hosts[q], fmt.Sprintf("h%d", h))
				}
			}
		}
		parent := textNode(hosts)
		// Through a narrow node: hosts come from the stage's source.
		narrow := &Node{ID: 2, Kind: Narrow, Parents: []*Node{parent}, NumPartitions: m}
		groups := CoalesceGroups(narrow, n)
		if len(groups) != n {
			t.Fatalf("%d groups, want %d", len(groups), n)
		}
		var all []int
		for i, g := range groups {
			if len(g) == 0 {
				t.Fatalf("group %d is empty: %v", i, groups)
			}
			if !slices.IsSorted(g) || (i > 0 && g[0] < groups[i-1][0]) {
				t.Fatalf("groups out of order: %v", groups)
			}
			all = append(all, g...)
		}
		slices.Sort(all)
		for q := range m {
			if all[q] != q {
				t.Fatalf("groups %v do not cover the %d partitions once each", groups, m)
			}
		}
		anyHost := false
		for _, h := range hosts {
			anyHost = anyHost || len(h) > 0
		}
		for i, g := range groups {
			if !anyHost && (g[len(g)-1]-g[0] != len(g)-1 || len(g) < m/n || len(g) > m/n+1) {
				t.Fatalf("without hosts, group %d = %v is not an even run of %d into %d", i, g, m, n)
			}
			if anyHost && len(g) > (m+n-1)/n {
				t.Fatalf("group %d holds %d partitions of %d into %d", i, len(g), m, n)
			}
		}
	})
}

// Partitions on two hosts, interleaved, coalesce into one group per host.
func TestCoalesceGroupsPreferSharedHosts(t *testing.T) {
	var hosts [][]string
	for q := range 8 {
		hosts = append(hosts, []string{[]string{"a", "b"}[q%2]})
	}
	groups := CoalesceGroups(textNode(hosts), 2)
	if !slices.Equal(groups[0], []int{0, 2, 4, 6}) || !slices.Equal(groups[1], []int{1, 3, 5, 7}) {
		t.Fatalf("groups %v, want the partitions of each host together", groups)
	}
	if got := PreferredHosts(&Node{ID: 3, Kind: Coalesce, Parents: []*Node{textNode(hosts)}, NumPartitions: 2, Groups: groups}, 1); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("a coalesced partition prefers %v", got)
	}
}
