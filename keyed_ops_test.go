package stoke_test

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/stoke-run/stoke"
)

type ikv = stoke.KV[int, int]
type skv = stoke.KV[int, string]

type avg struct{ N, Sum int }

var (
	sortInts    = stoke.RegisterSortByKey[int, int]("test.sortInts")
	sortStrings = stoke.RegisterSortByKey[string, int]("test.sortStrings")
	partSizes   = stoke.RegisterMapPartitions("test.partSizes", func(s iter.Seq[ikv]) iter.Seq[int] {
		return func(yield func(int) bool) {
			n := 0
			for range s {
				n++
			}
			yield(n)
		}
	})
	avgByKey = stoke.RegisterAggregateByKey[int]("test.avgByKey", func() avg { return avg{} },
		func(a avg, v int) avg { return avg{a.N + 1, a.Sum + v} },
		func(a, b avg) avg { return avg{a.N + b.N, a.Sum + b.Sum} })
	listByKey = stoke.RegisterAggregateByKey[int]("test.listByKey", func() []int { return nil },
		func(a []int, v int) []int { return append(a, v) },
		func(a, b []int) []int { return append(a, b...) })
	cogroupOp  = stoke.RegisterCoGroup[int, int, string]("test.cogroup")
	joinOp     = stoke.RegisterJoin[int, int, string]("test.join")
	countByKey = stoke.RegisterCountByKey[string, int]("test.countByKey")
)

// keyedContext is one local[2] Context for all iterations of a property.
func keyedContext(t *testing.T) *stoke.Context {
	t.Helper()
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "false", "stoke.log.level": "warn"})
	if err != nil {
		t.Fatalf("stoke.New: %v", err)
	}
	t.Cleanup(func() { sc.Stop() })
	return sc
}

func genIKV(keys int) *rapid.Generator[ikv] {
	return rapid.Custom(func(t *rapid.T) ikv {
		return ikv{Key: rapid.IntRange(0, keys).Draw(t, "k"), Value: rapid.IntRange(-100, 100).Draw(t, "v")}
	})
}

func parallelizeRandom[T any](t *rapid.T, sc *stoke.Context, recs []T) stoke.Dataset[T] {
	ds, err := stoke.Parallelize(sc, recs, rapid.IntRange(1, 4).Draw(t, "slices"))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// sortedStrings renders records to compare them as multisets.
func sortedStrings[T any](recs []T) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%+v", r)
	}
	slices.Sort(out)
	return out
}

func sortKeysThenValues(recs []ikv) {
	slices.SortFunc(recs, func(a, b ikv) int {
		if c := cmp.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
}

// SortByKey gives the records in key order, ascending or descending, over
// at most the partitions asked for.
func TestSortByKeyOrdersLikeSlicesSort(t *testing.T) {
	sc := keyedContext(t)
	rapid.Check(t, func(rt *rapid.T) {
		recs := rapid.SliceOfN(genIKV(rapid.IntRange(0, 60).Draw(rt, "keys")), 0, 150).Draw(rt, "recs")
		parts := rapid.IntRange(0, 5).Draw(rt, "parts")
		asc := rapid.Bool().Draw(rt, "ascending")
		ds := parallelizeRandom(rt, sc, recs)
		sorted, err := stoke.SortByKey(context.Background(), ds, sortInts, asc, parts)
		if err != nil {
			rt.Fatal(err)
		}
		if limit := cmp.Or(parts, ds.NumPartitions()); sorted.NumPartitions() > limit {
			rt.Fatalf("%d partitions, asked for %d", sorted.NumPartitions(), limit)
		}
		got := collect(rt, sorted)
		for i := 1; i < len(got); i++ {
			if c := cmp.Compare(got[i-1].Key, got[i].Key); asc && c > 0 || !asc && c < 0 {
				rt.Fatalf("ascending=%v: key %d before %d at %d: %v", asc, got[i-1].Key, got[i].Key, i, got)
			}
		}
		want := slices.Clone(recs)
		sortKeysThenValues(want)
		sortKeysThenValues(got)
		if !slices.Equal(got, want) {
			rt.Fatalf("records differ:\n got %v\nwant %v", got, want)
		}
	})
}

// The edge cases: no records, one partition, one key, strings descending;
// distinct keys spread over every partition.
func TestSortByKeyEdgeCases(t *testing.T) {
	sc := keyedContext(t)
	ctx := context.Background()
	sortOf := func(recs []ikv, slices, parts int, asc bool) stoke.Dataset[ikv] {
		t.Helper()
		ds, err := stoke.Parallelize(sc, recs, slices)
		if err != nil {
			t.Fatal(err)
		}
		out, err := stoke.SortByKey(ctx, ds, sortInts, asc, parts)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := collect(t, sortOf(nil, 3, 4, true)); len(got) != 0 {
		t.Errorf("empty input sorted into %v", got)
	}
	if empty := sortOf(nil, 3, 4, true); empty.NumPartitions() != 1 {
		t.Errorf("empty input: %d partitions, want 1 (no bounds)", empty.NumPartitions())
	}
	one := sortOf([]ikv{{3, 0}, {1, 1}, {2, 2}, {1, 3}}, 2, 1, false)
	if got := collect(t, one); one.NumPartitions() != 1 || len(got) != 4 || got[0].Key != 3 || got[3].Key != 1 {
		t.Errorf("one partition descending: %d partitions, %v", one.NumPartitions(), got)
	}
	same := make([]ikv, 500)
	for i := range same {
		same[i] = ikv{7, i}
	}
	eq := sortOf(same, 4, 4, true)
	sizes := collect(t, stoke.MapPartitions(eq, partSizes))
	if slices.Max(sizes) != 500 || eq.NumPartitions() > 2 {
		t.Errorf("all-equal keys: partition sizes %v, want every record in one of at most 2 partitions", sizes)
	}
	distinct := make([]ikv, 2000)
	for i := range distinct {
		distinct[i] = ikv{(i * 7919) % 2000, i}
	}
	for _, asc := range []bool{true, false} {
		spread := sortOf(distinct, 5, 4, asc)
		sizes := collect(t, stoke.MapPartitions(spread, partSizes))
		if len(sizes) != 4 {
			t.Fatalf("2000 distinct keys into 4 partitions made %d", len(sizes))
		}
		for _, n := range sizes {
			if n < 200 || n > 900 {
				t.Errorf("ascending=%v: partition sizes %v are not near 500 each", asc, sizes)
			}
		}
	}
	words := []stoke.KV[string, int]{{"pear", 1}, {"apple", 2}, {"", 3}, {"fig", 4}, {"apple", 5}, {"zucchini", 6}}
	wds, err := stoke.Parallelize(sc, words, 3)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := stoke.SortByKey(ctx, wds, sortStrings, false, 3)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range collect(t, ws) {
		keys = append(keys, r.Key)
	}
	if want := []string{"zucchini", "pear", "fig", "apple", "apple", ""}; !slices.Equal(keys, want) {
		t.Errorf("strings descending: %q, want %q", keys, want)
	}
}

// AggregateByKey folds each key's values like a plain loop does, with a
// fixed-size and a growing accumulator.
func TestAggregateByKeyMatchesALoop(t *testing.T) {
	sc := keyedContext(t)
	rapid.Check(t, func(rt *rapid.T) {
		recs := rapid.SliceOfN(genIKV(12), 0, 150).Draw(rt, "recs")
		parts := rapid.IntRange(0, 4).Draw(rt, "parts")
		ds := parallelizeRandom(rt, sc, recs)
		wantAvg, wantList := map[int]avg{}, map[int][]int{}
		for _, r := range recs {
			a := wantAvg[r.Key]
			wantAvg[r.Key] = avg{a.N + 1, a.Sum + r.Value}
			wantList[r.Key] = append(wantList[r.Key], r.Value)
		}
		gotAvg := map[int]avg{}
		for _, r := range collect(rt, stoke.AggregateByKey(ds, avgByKey, parts)) {
			if _, dup := gotAvg[r.Key]; dup {
				rt.Fatalf("key %d twice", r.Key)
			}
			gotAvg[r.Key] = r.Value
		}
		if !maps.Equal(gotAvg, wantAvg) {
			rt.Fatalf("got %v, want %v", gotAvg, wantAvg)
		}
		lists := collect(rt, stoke.AggregateByKey(ds, listByKey, parts))
		if len(lists) != len(wantList) {
			rt.Fatalf("%d keys, want %d", len(lists), len(wantList))
		}
		for _, r := range lists {
			slices.Sort(r.Value)
			want := wantList[r.Key]
			slices.Sort(want)
			if !slices.Equal(r.Value, want) {
				rt.Fatalf("key %d: %v, want %v", r.Key, r.Value, want)
			}
		}
	})
}

// reference cogroups two sides with maps.
func reference(l []ikv, r []skv) map[int]stoke.CoGrouped[int, string] {
	out := map[int]stoke.CoGrouped[int, string]{}
	for _, x := range l {
		g := out[x.Key]
		g.Left = append(g.Left, x.Value)
		out[x.Key] = g
	}
	for _, x := range r {
		g := out[x.Key]
		g.Right = append(g.Right, x.Value)
		out[x.Key] = g
	}
	return out
}

func genSides(rt *rapid.T) ([]ikv, []skv) {
	l := rapid.SliceOfN(genIKV(10), 0, 60).Draw(rt, "left")
	r := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) skv {
		return skv{Key: rapid.IntRange(0, 10).Draw(t, "k"), Value: rapid.StringMatching(`[xyz]{0,2}`).Draw(t, "v")}
	}), 0, 60).Draw(rt, "right")
	return l, r
}

// CoGroup gives every key of either side once, with all its values.
func TestCoGroupMatchesMaps(t *testing.T) {
	sc := keyedContext(t)
	rapid.Check(t, func(rt *rapid.T) {
		l, r := genSides(rt)
		got := collect(rt, stoke.CoGroup(parallelizeRandom(rt, sc, l), parallelizeRandom(rt, sc, r), cogroupOp, rapid.IntRange(0, 4).Draw(rt, "parts")))
		want := reference(l, r)
		if len(got) != len(want) {
			rt.Fatalf("%d keys, want %d: %v", len(got), len(want), got)
		}
		for _, g := range got {
			w := want[g.Key]
			slices.Sort(g.Value.Left)
			slices.Sort(g.Value.Right)
			slices.Sort(w.Left)
			slices.Sort(w.Right)
			if !slices.Equal(g.Value.Left, w.Left) || !slices.Equal(g.Value.Right, w.Right) {
				rt.Fatalf("key %d: %+v, want %+v", g.Key, g.Value, w)
			}
		}
	})
}

// The inner and outer joins pair values like nested loops over the
// cogrouped reference, an absent side standing in as Opt{}.
func TestOuterJoinsMatchNestedLoops(t *testing.T) {
	sc := keyedContext(t)
	type none = struct{}
	rapid.Check(t, func(rt *rapid.T) {
		l, r := genSides(rt)
		parts := rapid.IntRange(0, 4).Draw(rt, "parts")
		ld, rd := parallelizeRandom(rt, sc, l), parallelizeRandom(rt, sc, r)
		var inner []stoke.KV[int, stoke.Joined[int, string]]
		var left []stoke.KV[int, stoke.Joined[int, stoke.Opt[string]]]
		var right []stoke.KV[int, stoke.Joined[stoke.Opt[int], string]]
		var full []stoke.KV[int, stoke.Joined[stoke.Opt[int], stoke.Opt[string]]]
		for k, g := range reference(l, r) {
			ls := []stoke.Opt[int]{{}}
			if len(g.Left) > 0 {
				ls = nil
			}
			for _, v := range g.Left {
				ls = append(ls, stoke.Some(v))
			}
			rs := []stoke.Opt[string]{{}}
			if len(g.Right) > 0 {
				rs = nil
			}
			for _, w := range g.Right {
				rs = append(rs, stoke.Some(w))
			}
			for _, v := range ls {
				for _, w := range rs {
					full = append(full, stoke.KV[int, stoke.Joined[stoke.Opt[int], stoke.Opt[string]]]{Key: k, Value: stoke.Joined[stoke.Opt[int], stoke.Opt[string]]{Left: v, Right: w}})
					if v.Ok {
						left = append(left, stoke.KV[int, stoke.Joined[int, stoke.Opt[string]]]{Key: k, Value: stoke.Joined[int, stoke.Opt[string]]{Left: v.Value, Right: w}})
					}
					if w.Ok {
						right = append(right, stoke.KV[int, stoke.Joined[stoke.Opt[int], string]]{Key: k, Value: stoke.Joined[stoke.Opt[int], string]{Left: v, Right: w.Value}})
					}
					if v.Ok && w.Ok {
						inner = append(inner, stoke.KV[int, stoke.Joined[int, string]]{Key: k, Value: stoke.Joined[int, string]{Left: v.Value, Right: w.Value}})
					}
				}
			}
		}
		check := func(name string, got, want []string) {
			if !slices.Equal(got, want) {
				rt.Fatalf("%s:\n got %v\nwant %v", name, got, want)
			}
		}
		check("join", sortedStrings(collect(rt, stoke.Join(ld, rd, joinOp, parts))), sortedStrings(inner))
		check("leftOuterJoin", sortedStrings(collect(rt, stoke.LeftOuterJoin(ld, rd, joinOp, parts))), sortedStrings(left))
		check("rightOuterJoin", sortedStrings(collect(rt, stoke.RightOuterJoin(ld, rd, joinOp, parts))), sortedStrings(right))
		check("fullOuterJoin", sortedStrings(collect(rt, stoke.FullOuterJoin(ld, rd, joinOp, parts))), sortedStrings(full))
	})
}

// CountByKey counts like a map.
func TestCountByKeyMatchesAMap(t *testing.T) {
	sc := keyedContext(t)
	rapid.Check(t, func(rt *rapid.T) {
		recs := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) stoke.KV[string, int] {
			return stoke.KV[string, int]{Key: rapid.StringMatching(`[ab]{0,3}`).Draw(t, "k"), Value: rapid.Int().Draw(t, "v")}
		}), 0, 150).Draw(rt, "recs")
		want := map[string]int64{}
		for _, r := range recs {
			want[r.Key]++
		}
		got, err := stoke.CountByKey(context.Background(), parallelizeRandom(rt, sc, recs), countByKey)
		if err != nil {
			rt.Fatal(err)
		}
		if !maps.Equal(got, want) {
			rt.Fatalf("got %v, want %v", got, want)
		}
	})
}
