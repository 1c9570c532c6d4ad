package shuffle

import (
	"maps"
	"testing"

	"pgregory.net/rapid"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/spill"
)

// testEnv gives an aggregation a budget of limit bytes and a real spill
// directory, and checks that everything acquired is released.
type testEnv struct {
	env      *registry.ShuffleEnv
	held     int64
	spilled  int64
	dirs     *spill.Dirs
	out      map[int][]byte
	maxGrant int64
}

func newTestEnv(t testing.TB, limit int64) *testEnv {
	dirs, err := spill.NewDirs([]string{t.TempDir()}, "test")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := spill.NewCompression("zstd")
	if err != nil {
		t.Fatal(err)
	}
	te := &testEnv{dirs: dirs, out: map[int][]byte{}}
	te.env = &registry.ShuffleEnv{
		Acquire: func(want int64) int64 {
			g := max(0, min(want, limit-te.held))
			te.held += g
			te.maxGrant = max(te.maxGrant, te.held)
			return g
		},
		Release: func(n int64) { te.held -= n },
		Spill:   &DiskSpiller{Dirs: dirs, Comp: comp},
		Spilled: &te.spilled,
		Out:     bucketMap(te.out),
	}
	return te
}

type bucketMap map[int][]byte

func (b bucketMap) Append(p int, frames []byte) error { b[p] = append(b[p], frames...); return nil }

type pair struct {
	K string
	V int
}

// Sums by key through the aggregator, with and without a memory budget
// small enough to spill many times, equal a plain map.
func TestAggregatorSpillsAndMergesToTheSameSums(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		keys := rapid.SliceOfN(rapid.StringMatching(`[a-e]{0,3}`), 1, 40).Draw(rt, "keys")
		recs := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) pair {
			return pair{rapid.SampledFrom(keys).Draw(rt, "k"), rapid.IntRange(-5, 5).Draw(rt, "v")}
		}), 0, 3000).Draw(rt, "recs")
		parts := rapid.IntRange(0, 5).Draw(rt, "parts")
		limit := rapid.Int64Range(0, 4000).Draw(rt, "limit")
		want := map[string]int{}
		for _, r := range recs {
			want[r.K] += r.V
		}
		te := newTestEnv(t, limit)
		add := func(a, b int) int { return a + b }
		agg := NewAggregator[string](te.env, AggOps[int, int]{Create: func(v int) int { return v }, Merge: add, Combine: add}, parts)
		for _, r := range recs {
			if err := agg.Add(r.K, r.V); err != nil {
				rt.Fatal(err)
			}
		}
		got := map[string]int{}
		lastPart := -1
		for e, err := range agg.Entries() {
			if err != nil {
				rt.Fatal(err)
			}
			if _, dup := got[e.Key]; dup {
				rt.Fatalf("key %q came out twice (%d runs)", e.Key, agg.Spilled())
			}
			got[e.Key] = e.Val
			if parts > 1 {
				p := registry.PartitionOf(e.H, parts)
				if p < lastPart {
					rt.Fatalf("partition %d after %d", p, lastPart)
				}
				lastPart = p
			}
		}
		runs := agg.Spilled() // Close forgets the runs
		agg.Close()
		if !maps.Equal(got, want) {
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
	})
}

// Groups keep every value however often they spill.
func TestAggregatorGroupsSpillWithoutLosingValues(t *testing.T) {
	te := newTestEnv(t, 512)
	ops := AggOps[int, []int]{
		Create:  func(v int) []int { return []int{v} },
		Merge:   func(c []int, v int) []int { return append(c, v) },
		Combine: func(a, b []int) []int { return append(a, b...) },
		Grows:   true,
	}
	agg := NewAggregator[int](te.env, ops, 0)
	const n, keys = 20000, 37
	for i := range n {
		if err := agg.Add(i%keys, i); err != nil {
			t.Fatal(err)
		}
	}
	if agg.Spilled() < 5 {
		t.Fatalf("only %d spills with a 512-byte budget", agg.Spilled())
	}
	total, sum := 0, 0
	for e, err := range agg.Entries() {
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range e.Val {
			if v%keys != e.Key {
				t.Fatalf("value %d under key %d", v, e.Key)
			}
			total++
			sum += v
		}
	}
	agg.Close()
	if total != n || sum != n*(n-1)/2 {
		t.Fatalf("%d values summing to %d, want %d summing to %d", total, sum, n, n*(n-1)/2)
	}
	if te.spilled == 0 {
		t.Error("spilled bytes not counted")
	}
}
