package stoke

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shuffle"
	"github.com/stoke-run/stoke/internal/spill"
)

var (
	spillSort    = RegisterSortByKey[string, int]("itest.sort")
	spillCoGroup = RegisterCoGroup[int, string, int]("itest.cogroup")
)

// budgetEnv is a task's shuffle environment with a budget of limit bytes
// of execution memory and a real spill directory.
type budgetEnv struct {
	env      *registry.ShuffleEnv
	held     int64
	maxHeld  int64
	spilled  int64
	limit    int64
	out      buckets
	released bool
}

type buckets map[int][]byte

func (b buckets) Append(p int, frames []byte) error { b[p] = append(b[p], frames...); return nil }

func (b buckets) side(p int) registry.BlockIter {
	return func(yield func([]byte) bool) error {
		if len(b[p]) > 0 {
			yield(b[p])
		}
		return nil
	}
}

func newBudgetEnv(t *testing.T, limit int64) *budgetEnv {
	t.Helper()
	dirs, err := spill.NewDirs([]string{t.TempDir()}, "test")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := spill.NewCompression("zstd")
	if err != nil {
		t.Fatal(err)
	}
	be := &budgetEnv{limit: limit, out: buckets{}}
	be.env = &registry.ShuffleEnv{
		Acquire: func(want int64) int64 {
			g := max(0, min(want, limit-be.held))
			be.held += g
			be.maxHeld = max(be.maxHeld, be.held)
			return g
		},
		Release: func(n int64) { be.held -= n },
		Spill:   &shuffle.DiskSpiller{Dirs: dirs, Comp: comp},
		Spilled: &be.spilled,
		Out:     be.out,
	}
	return be
}

func (be *budgetEnv) check(t *testing.T) {
	t.Helper()
	if be.spilled == 0 {
		t.Errorf("nothing spilled under a %d-byte budget", be.limit)
	}
	if be.held != 0 {
		t.Errorf("%d bytes of execution memory still held at the end", be.held)
	}
	if be.maxHeld > be.limit {
		t.Errorf("held %d bytes over a budget of %d", be.maxHeld, be.limit)
	}
}

func lookup(t *testing.T, name string) *registry.Shuffle {
	t.Helper()
	op, err := registry.LookupShuffle(name)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// The reduce side of a sort, given far more records than a 1 KiB budget
// holds, spills sorted runs and merges them into one sorted partition.
func TestSortReduceSideSpillsUnderATinyBudget(t *testing.T) {
	op := lookup(t, spillSort.name)
	for _, asc := range []bool{true, false} {
		be := newBudgetEnv(t, 1<<10)
		var recs []KV[string, int]
		for i := range 3000 {
			recs = append(recs, KV[string, int]{fmt.Sprintf("k%04d", (i*7919)%1000), i})
		}
		params, err := encodeSortParams[string](asc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := op.Write(be.env, 0, registry.SliceSeq(recs), 1, params); err != nil {
			t.Fatal(err)
		}
		seq, err := op.Read(be.env, []registry.BlockIter{be.out.side(0)}, params)
		if err != nil {
			t.Fatal(err)
		}
		var got []KV[string, int]
		for r := range seq.(iter.Seq[KV[string, int]]) {
			got = append(got, r)
		}
		for i := 1; i < len(got); i++ {
			if c := cmp.Compare(got[i-1].Key, got[i].Key); asc && c > 0 || !asc && c < 0 {
				t.Fatalf("ascending=%v: %q before %q", asc, got[i-1].Key, got[i].Key)
			}
		}
		key := func(a, b KV[string, int]) int {
			return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value))
		}
		slices.SortFunc(got, key)
		slices.SortFunc(recs, key)
		if !slices.Equal(got, recs) {
			t.Fatalf("ascending=%v: %d records out of %d in, or different ones", asc, len(got), len(recs))
		}
		be.check(t)
	}
}

// The reduce side of a cogroup spills its groups under a 1 KiB budget and
// still gives each key once with all its values.
func TestCoGroupReduceSideSpillsUnderATinyBudget(t *testing.T) {
	op := lookup(t, spillCoGroup.name)
	be := newBudgetEnv(t, 1<<10)
	right := buckets{}
	want := map[int]CoGrouped[string, int]{}
	var ls []KV[int, string]
	var rs []KV[int, int]
	for i := range 2000 {
		k := (i * 31) % 300
		g := want[k]
		if i%3 == 0 {
			rs = append(rs, KV[int, int]{k, i})
			g.Right = append(g.Right, i)
		} else {
			ls = append(ls, KV[int, string]{k, fmt.Sprint("v", i)})
			g.Left = append(g.Left, fmt.Sprint("v", i))
		}
		want[k] = g
	}
	if _, err := op.Write(be.env, 0, registry.SliceSeq(ls), 1, nil); err != nil {
		t.Fatal(err)
	}
	be.env.Out = right
	if _, err := op.Write(be.env, 1, registry.SliceSeq(rs), 1, nil); err != nil {
		t.Fatal(err)
	}
	seq, err := op.Read(be.env, []registry.BlockIter{be.out.side(0), right.side(0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]CoGrouped[string, int]{}
	for r := range seq.(iter.Seq[KV[int, CoGrouped[string, int]]]) {
		if _, dup := got[r.Key]; dup {
			t.Fatalf("key %d came out twice", r.Key)
		}
		slices.Sort(r.Value.Left)
		slices.Sort(r.Value.Right)
		got[r.Key] = r.Value
	}
	for k, g := range want {
		slices.Sort(g.Left)
		slices.Sort(g.Right)
		want[k] = g
	}
	eq := func(a, b CoGrouped[string, int]) bool {
		return slices.Equal(a.Left, b.Left) && slices.Equal(a.Right, b.Right)
	}
	if !maps.EqualFunc(got, want, eq) {
		t.Fatalf("cogrouped %d keys, want %d (or different values)", len(got), len(want))
	}
	be.check(t)
}

// Parameters that do not decode fail the task with an error on both sides
// of a sort and of its sampling, never a panic.
func TestSortRejectsMalformedParams(t *testing.T) {
	op := lookup(t, spillSort.name)
	sample := lookup(t, spillSort.name+sampleSuffix)
	unsorted, _ := encodeSortParams(true, []string{"b", "a"})
	dup, _ := encodeSortParams(true, []string{"a", "a"})
	many, _ := encodeSortParams(true, []string{"a", "b", "c"})
	good, _ := encodeSortParams(true, []string{"m"})
	cases := []struct {
		name   string
		params []byte
		want   string
	}{
		{"empty", nil, "parameters are empty"},
		{"bad direction", append([]byte{'x'}, good[1:]...), "want 'a' (ascending) or 'd'"},
		{"bounds of another type", append([]byte{'a'}, mustEncode(t, []int{1, 2})...), "range bounds"},
		{"truncated bounds", good[:len(good)-1], "range bounds"},
		{"garbage bounds", []byte{'d', 'g', 0xff, 0x00, 0x13}, "range bounds"},
		{"unknown encoding", []byte{'a', 'Q', 1, 2}, "range bounds"},
		{"unsorted bounds", unsorted, "not strictly ascending"},
		{"duplicate bounds", dup, "not strictly ascending"},
	}
	recs := registry.SliceSeq([]KV[string, int]{{"a", 1}, {"z", 2}})
	for _, c := range cases {
		be := newBudgetEnv(t, 1<<20)
		_, werr := op.Write(be.env, 0, recs, 3, c.params)
		_, rerr := op.Read(be.env, []registry.BlockIter{be.out.side(0)}, c.params)
		for side, err := range map[string]error{"map": werr, "reduce": rerr} {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %s side: err = %v, want one mentioning %q", c.name, side, err, c.want)
			}
		}
	}
	be := newBudgetEnv(t, 1<<20)
	if _, err := op.Write(be.env, 0, recs, 3, many); err == nil || !strings.Contains(err.Error(), "more than the 3 partitions") {
		t.Errorf("3 bounds for 3 partitions: err = %v", err)
	}
	for _, p := range [][]byte{nil, {'i', 0xff}, mustEncode(t, []int{0}), mustEncode(t, []int{-4}), mustEncode(t, []int{5, 6}), mustEncode(t, []string{"5"})} {
		if _, err := sample.Write(be.env, 0, recs, 1, p); err == nil || !strings.Contains(err.Error(), "one positive sample size") {
			t.Errorf("sample size %q: err = %v", p, err)
		}
	}
}

func mustEncode[T any](t *testing.T, v []T) []byte {
	t.Helper()
	b, err := registry.EncodeSlice(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Bounds are chosen as Spark chooses them: even steps of the cumulative
// weight, skipping keys equal to the previous bound.
func TestDetermineBounds(t *testing.T) {
	w := func(keys ...int) []weightedKey[int] {
		var out []weightedKey[int]
		for _, k := range keys {
			out = append(out, weightedKey[int]{k, 1})
		}
		return out
	}
	cases := []struct {
		cands []weightedKey[int]
		parts int
		want  []int
	}{
		{w(), 0, nil},
		{w(5, 1, 3, 2, 4, 6, 8, 7), 4, []int{2, 4, 6}},
		{w(1, 1, 1, 1, 1, 1), 3, []int{1}},
		{w(1, 1, 1, 1, 2, 3), 3, []int{1, 2}},
		{[]weightedKey[int]{{1, 10}, {2, 1}, {3, 1}, {4, 1}, {5, 1}}, 2, []int{1}},
		{[]weightedKey[int]{{1, 1}, {2, 1}, {3, 1}, {4, 5}, {5, 1}}, 3, []int{3, 4}},
	}
	for _, c := range cases {
		if got := determineBounds(c.cands, c.parts); !slices.Equal(got, c.want) {
			t.Errorf("determineBounds(%v, %d) = %v, want %v", c.cands, c.parts, got, c.want)
		}
	}
}

// A reservoir keeps at most its size of the task's keys, counts every
// record, and is the same on every attempt over the same records.
func TestReservoirSample(t *testing.T) {
	recs := make([]KV[int, int], 1000)
	for i := range recs {
		recs[i] = KV[int, int]{i, 0}
	}
	s := reservoir(registry.SliceSeq(recs), 10)
	if s.Count != 1000 || len(s.Keys) != 10 {
		t.Fatalf("count %d, %d keys; want 1000 and 10", s.Count, len(s.Keys))
	}
	if again := reservoir(registry.SliceSeq(recs), 10); !slices.Equal(again.Keys, s.Keys) {
		t.Errorf("two samples of the same records differ: %v and %v", s.Keys, again.Keys)
	}
	late := 0
	for _, k := range s.Keys {
		if k >= 10 {
			late++
		}
	}
	if late == 0 {
		t.Errorf("sample %v holds only the first keys", s.Keys)
	}
	if small := reservoir(registry.SliceSeq(recs[:3]), 10); small.Count != 3 || !slices.Equal(small.Keys, []int{0, 1, 2}) {
		t.Errorf("3 records sampled into %+v, want all of them", small)
	}
	if empty := reservoir(registry.SliceSeq[KV[int, int]](nil), 10); empty.Count != 0 || len(empty.Keys) != 0 {
		t.Errorf("no records sampled into %+v", empty)
	}
}
