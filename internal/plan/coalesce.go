package plan

import (
	"slices"
	"sort"
)

// PreferredHosts lists the hosts partition p of n prefers: those holding
// the file splits it reads (through Narrow, Union and Coalesce nodes), in
// order of first mention.
func PreferredHosts(n *Node, p int) []string {
	var hosts []string
	PartOf(n, p).Walk(func(part Part) bool {
		for _, h := range part.SplitHosts() {
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
		return true
	})
	return hosts
}

// CoalesceGroups splits the m partitions of parent into n < m non-empty
// groups. Without preferred hosts the groups are runs of adjacent
// partitions, as even as they can be, so the order of records is kept.
// When partitions prefer hosts, each group gets a home host (the hosts
// most preferred first, in turn) and each partition joins the least full
// group at one of its hosts, if one has room (at most ceil(m/n)), else the
// least full group: groups stay balanced and mostly local. Each group then
// lists its partitions in order, and groups come in the order of their
// first partition.
func CoalesceGroups(parent *Node, n int) [][]int {
	m := parent.NumPartitions
	hosts := make([][]string, m)
	count := map[string]int{}
	for q := range m {
		hosts[q] = PreferredHosts(parent, q)
		for _, h := range hosts[q] {
			count[h]++
		}
	}
	groups := make([][]int, n)
	if len(count) == 0 {
		for i := range groups {
			for q := i * m / n; q < (i+1)*m/n; q++ {
				groups[i] = append(groups[i], q)
			}
		}
		return groups
	}
	byUse := make([]string, 0, len(count))
	for h := range count {
		byUse = append(byUse, h)
	}
	sort.Slice(byUse, func(i, j int) bool {
		if count[byUse[i]] != count[byUse[j]] {
			return count[byUse[i]] > count[byUse[j]]
		}
		return byUse[i] < byUse[j]
	})
	home := make([]string, n)
	for i := range home {
		home[i] = byUse[i%len(byUse)]
	}
	capacity := (m + n - 1) / n
	for q := range m {
		best, local := -1, false
		for i := range groups {
			l := slices.Contains(hosts[q], home[i])
			switch {
			case l && len(groups[i]) >= capacity:
				continue
			case best < 0, l && !local, l == local && len(groups[i]) < len(groups[best]):
				best, local = i, l
			}
		}
		groups[best] = append(groups[best], q)
	}
	// A group whose home no remaining partition preferred may be empty:
	// it takes the last partition of the fullest group.
	for i := range groups {
		if len(groups[i]) > 0 {
			continue
		}
		full := 0
		for j := range groups {
			if len(groups[j]) > len(groups[full]) {
				full = j
			}
		}
		last := len(groups[full]) - 1
		groups[i] = []int{groups[full][last]}
		groups[full] = groups[full][:last]
	}
	for _, g := range groups {
		slices.Sort(g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i][0] < groups[j][0] })
	return groups
}
