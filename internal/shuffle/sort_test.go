package shuffle

import (
	"cmp"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// Sorting through the Sorter, with budgets small enough to spill many
// times, gives the records slices.Sort gives.
func TestSorterSpillsAndMergesToTheSameOrder(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		recs := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) pair {
			return pair{rapid.StringMatching(`[a-d]{0,3}`).Draw(rt, "k"), rapid.IntRange(-5, 5).Draw(rt, "v")}
		}), 0, 3000).Draw(rt, "recs")
		limit := rapid.Int64Range(0, 4000).Draw(rt, "limit")
		byPair := func(a, b *pair) int {
			if c := cmp.Compare(a.K, b.K); c != 0 {
				return c
			}
			return cmp.Compare(a.V, b.V)
		}
		te := newTestEnv(t, limit)
		s := NewSorter(te.env, byPair)
		for i := range recs {
			if err := s.Add(&recs[i]); err != nil {
				rt.Fatal(err)
			}
		}
		var got []pair
		for r, err := range s.Sorted() {
			if err != nil {
				rt.Fatal(err)
			}
			got = append(got, r)
		}
		runs := s.Spilled()
		s.Close()
		want := slices.Clone(recs)
		slices.SortFunc(want, func(a, b pair) int { return byPair(&a, &b) })
		if !slices.Equal(got, want) {
			rt.Fatalf("got %v, want %v (%d runs)", got, want, runs)
		}
		if te.held != 0 {
			rt.Fatalf("%d bytes still held after Close", te.held)
		}
		if te.maxGrant > limit {
			rt.Fatalf("held %d bytes over a budget of %d", te.maxGrant, limit)
		}
		if limit < 100 && len(recs) > 50 && runs == 0 {
			rt.Fatalf("a %d-byte budget never spilled %d records", limit, len(recs))
		}
		if runs > 0 && te.spilled == 0 {
			rt.Fatal("spilled bytes not counted")
		}
	})
}

// Without a memory manager the Sorter holds everything and never spills.
func TestSorterWithoutEnvHoldsEverything(t *testing.T) {
	s := NewSorter(nil, func(a, b *int) int { return cmp.Compare(*b, *a) })
	for i := range 10000 {
		if err := s.Add(&i); err != nil {
			t.Fatal(err)
		}
	}
	want := 9999
	for r, err := range s.Sorted() {
		if err != nil || r != want {
			t.Fatalf("got %d (%v), want %d", r, err, want)
		}
		want--
	}
	if want != -1 || s.Spilled() != 0 {
		t.Fatalf("stopped before %d; %d runs", want, s.Spilled())
	}
	s.Close()
}
