package stoke_test

import (
	"context"
	"errors"
	"iter"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/testutil"
)

// narrowPoint is a comparable record type with a registered distinct
// operator; narrowOther has none.
type narrowPoint struct{ X, Y int }

type narrowOther struct{ A string }

var (
	// partitionSizes turns each partition into its record count.
	partitionSizes = stoke.RegisterMapPartitions("test.narrow.sizes", func(in iter.Seq[int]) iter.Seq[int] {
		return func(yield func(int) bool) {
			n := 0
			for range in {
				n++
			}
			yield(n)
		}
	})
	toPoint = stoke.RegisterMap("test.narrow.point", func(n int) narrowPoint { return narrowPoint{n % 3, n % 2} })
	toOther = stoke.RegisterMap("test.narrow.other", func(n int) narrowOther { return narrowOther{"x"} })
	// countedCalls counts the records countedMap saw (the local backend
	// runs tasks in this process).
	countedCalls atomic.Int64
	countedMap   = stoke.RegisterMap("test.narrow.counted", func(n int) int { countedCalls.Add(1); return n })
	_            = registerPoint()
)

func registerPoint() bool { stoke.RegisterDistinct[narrowPoint](); return true }

func narrowContext(t *testing.T, opts ...stoke.Option) *stoke.Context {
	return newContext(t, stoke.Config{"stoke.master": "local[2]"}, opts...)
}

func parallelize[T any](t interface{ Fatalf(string, ...any) }, sc *stoke.Context, data []T, slices int) stoke.Dataset[T] {
	d, err := stoke.Parallelize(sc, data, slices)
	if err != nil {
		t.Fatalf("Parallelize: %v", err)
	}
	return d
}

func collect[T any](t interface{ Fatalf(string, ...any) }, d stoke.Dataset[T]) []T {
	out, err := stoke.Collect(context.Background(), d)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return out
}

func sorted(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

func intSlice(t *rapid.T, label string) []int {
	return rapid.SliceOfN(rapid.IntRange(-20, 20), 0, 40).Draw(t, label)
}

func concat(parts [][]int) []int {
	var out []int
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestUnionConcatenatesInOrder(t *testing.T) {
	sc := narrowContext(t)
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(t, "datasets")
		var ds []stoke.Dataset[int]
		var data [][]int
		var sizes []int
		for range n {
			data = append(data, intSlice(t, "data"))
			sizes = append(sizes, rapid.IntRange(1, 3).Draw(t, "slices"))
			ds = append(ds, parallelize(t, sc, data[len(data)-1], sizes[len(sizes)-1]))
		}
		u := stoke.Union(ds...)
		if got, want := collect(t, u), concat(data); !slices.Equal(got, want) {
			t.Fatalf("Union = %v, want %v", got, want)
		}
		if got := u.NumPartitions(); got != sumInts(sizes) {
			t.Fatalf("Union has %d partitions, want %d", got, sumInts(sizes))
		}
		// A union of unions, overlapping in one dataset.
		split := rapid.IntRange(1, n).Draw(t, "split")
		uu := stoke.Union(stoke.Union(ds[:split]...), stoke.Union(ds[split-1:]...))
		want := append(concat(data[:split]), concat(data[split-1:])...)
		if got := collect(t, uu); !slices.Equal(got, want) {
			t.Fatalf("union of unions = %v, want %v", got, want)
		}
		if got := uu.NumPartitions(); got != sumInts(sizes[:split])+sumInts(sizes[split-1:]) {
			t.Fatalf("union of unions has %d partitions", got)
		}
	})
}

func sumInts(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

func TestCoalesceKeepsOrderInFewerPartitions(t *testing.T) {
	sc := narrowContext(t)
	rapid.Check(t, func(t *rapid.T) {
		data := intSlice(t, "data")
		m := rapid.IntRange(1, 8).Draw(t, "slices")
		n := rapid.IntRange(1, 10).Draw(t, "n")
		d := parallelize(t, sc, data, m)
		c := stoke.Coalesce(d, n)
		if got := c.NumPartitions(); got != min(n, m) {
			t.Fatalf("Coalesce(%d) of %d partitions has %d", n, m, got)
		}
		if got := collect(t, c); !slices.Equal(got, data) {
			t.Fatalf("Coalesce = %v, want %v", got, data)
		}
		// Adjacent groups of nearly equal numbers of partitions: sizes of
		// the parent's partitions summed per group.
		sizes := collect(t, stoke.MapPartitions(d, partitionSizes))
		got := collect(t, stoke.MapPartitions(c, partitionSizes))
		k := min(n, m)
		for i := range k {
			lo, hi := i*m/k, (i+1)*m/k
			if hi-lo < m/k || hi-lo > m/k+1 {
				t.Fatalf("group %d has %d partitions of %d into %d", i, hi-lo, m, k)
			}
			if got[i] != sumInts(sizes[lo:hi]) {
				t.Fatalf("partition %d of the coalesced dataset has %d records, want %d (parent sizes %v)", i, got[i], sumInts(sizes[lo:hi]), sizes)
			}
		}
	})
}

func TestCoalesceOfAShuffle(t *testing.T) {
	sc := narrowContext(t)
	rapid.Check(t, func(t *rapid.T) {
		data := intSlice(t, "data")
		d := parallelize(t, sc, data, rapid.IntRange(1, 4).Draw(t, "slices"))
		r := stoke.Repartition(d, rapid.IntRange(1, 8).Draw(t, "shuffled"))
		c := stoke.Coalesce(r, rapid.IntRange(1, 3).Draw(t, "n"))
		if got := collect(t, c); !slices.Equal(sorted(got), sorted(data)) {
			t.Fatalf("coalesced repartition = %v, want the records of %v", got, data)
		}
		// Keyed shuffle output coalesced: sums per key survive.
		sums := collect(t, stoke.Coalesce(stoke.ReduceByKey(stoke.Map(d, byMod), plus, 5), 2))
		want := map[int]int{}
		for _, x := range data {
			want[x%3] += x
		}
		if len(sums) != len(want) {
			t.Fatalf("sums %v, want %v", sums, want)
		}
		for _, kv := range sums {
			if want[kv.Key] != kv.Value {
				t.Fatalf("sums %v, want %v", sums, want)
			}
		}
	})
}

func TestRepartitionSpreadsEvenly(t *testing.T) {
	sc := narrowContext(t)
	rapid.Check(t, func(t *rapid.T) {
		data := rapid.SliceOfN(rapid.Int(), 0, 200).Draw(t, "data")
		m := rapid.IntRange(1, 5).Draw(t, "slices")
		n := rapid.IntRange(1, 9).Draw(t, "n")
		r := stoke.Repartition(parallelize(t, sc, data, m), n)
		if r.NumPartitions() != n {
			t.Fatalf("Repartition(%d) has %d partitions", n, r.NumPartitions())
		}
		if got := collect(t, r); !slices.Equal(sorted(got), sorted(data)) {
			t.Fatalf("Repartition = %v, want the records of %v", got, data)
		}
		// Each source partition deals its records round-robin, so any
		// two partitions differ by at most one record per source.
		sizes := collect(t, stoke.MapPartitions(r, partitionSizes))
		if len(sizes) != n || slices.Max(sizes)-slices.Min(sizes) > m {
			t.Fatalf("partition sizes %v of %d records from %d partitions", sizes, len(data), m)
		}
	})
}

func TestDistinctMatchesASet(t *testing.T) {
	sc := narrowContext(t)
	rapid.Check(t, func(t *rapid.T) {
		data := intSlice(t, "data")
		d := parallelize(t, sc, data, rapid.IntRange(1, 4).Draw(t, "slices"))
		n := rapid.IntRange(0, 5).Draw(t, "n")
		got := collect(t, stoke.Distinct(d, n))
		want := slices.Compact(sorted(data))
		if !slices.Equal(sorted(got), want) {
			t.Fatalf("Distinct = %v, want %v", got, want)
		}
		points := collect(t, stoke.Distinct(stoke.Map(d, toPoint), 3))
		wantP := map[narrowPoint]bool{}
		for _, x := range data {
			wantP[narrowPoint{x % 3, x % 2}] = true
		}
		if len(points) != len(wantP) {
			t.Fatalf("distinct points %v, want %v", points, wantP)
		}
		for _, p := range points {
			if !wantP[p] {
				t.Fatalf("distinct points %v, want %v", points, wantP)
			}
		}
	})
}

func TestSampleIsDeterministicAndNearTheFraction(t *testing.T) {
	sc := narrowContext(t)
	ctx := context.Background()
	data := ints(20000)
	d := parallelize(t, sc, data, 4)
	for _, c := range []struct {
		repl     bool
		fraction float64
	}{{false, 0.3}, {false, 0.05}, {true, 0.5}, {true, 2}} {
		a := collect(t, stoke.Sample(d, c.repl, c.fraction, 42))
		b := collect(t, stoke.Sample(d, c.repl, c.fraction, 42))
		if !slices.Equal(a, b) {
			t.Fatalf("sample(%v, %v): two runs with one seed differ", c.repl, c.fraction)
		}
		other := collect(t, stoke.Sample(d, c.repl, c.fraction, 43))
		if slices.Equal(a, other) {
			t.Fatalf("sample(%v, %v): seeds 42 and 43 gave the same sample", c.repl, c.fraction)
		}
		// Mean fraction × n; the variance is n·p(1-p) without
		// replacement, n·λ with. Five standard deviations.
		n := float64(len(data))
		sd := math.Sqrt(n * c.fraction * (1 - c.fraction))
		if c.repl {
			sd = math.Sqrt(n * c.fraction)
		}
		if got := float64(len(a)); math.Abs(got-n*c.fraction) > 5*sd {
			t.Fatalf("sample(%v, %v) of %v records has %v", c.repl, c.fraction, n, got)
		}
		if !c.repl {
			// A subsequence of the data, each record at most once.
			if !slices.IsSorted(a) || len(slices.Compact(slices.Clone(a))) != len(a) {
				t.Fatalf("sample without replacement is not a subsequence")
			}
		} else if c.fraction >= 1 && len(slices.Compact(slices.Clone(a))) == len(a) {
			t.Fatalf("sample with replacement of fraction %v repeats no record", c.fraction)
		}
	}
	if got := collect(t, stoke.Sample(d, false, 0, 1)); len(got) != 0 {
		t.Fatalf("fraction 0 kept %d records", len(got))
	}
	if got := collect(t, stoke.Sample(d, false, 1, 1)); !slices.Equal(got, data) {
		t.Fatalf("fraction 1 without replacement kept %d of %d records", len(got), len(data))
	}
	// Each partition has its own seed: the same records in two
	// partitions are sampled differently.
	one := parallelize(t, sc, data, 1)
	twice := collect(t, stoke.Sample(stoke.Union(one, one), false, 0.5, 9))
	alone := collect(t, stoke.Sample(one, false, 0.5, 9))
	if !slices.Equal(twice[:len(alone)], alone) || slices.Equal(twice[len(alone):], alone) {
		t.Fatalf("partition 0 sampled differently alone, or partition 1 like partition 0")
	}
	// Sampling the first partition alone gives what the whole sample
	// holds from it: partitions draw from their own seeds.
	first, err := stoke.Take(ctx, stoke.Sample(d, false, 0.5, 7), 1)
	if err != nil || len(first) != 1 {
		t.Fatalf("Take of a sample: %v %v", first, err)
	}
	whole := collect(t, stoke.Sample(d, false, 0.5, 7))
	if whole[0] != first[0] {
		t.Fatalf("first sampled record %d, whole sample starts with %d", first[0], whole[0])
	}
}

func TestTakeAndFirstMatchAPrefix(t *testing.T) {
	sc := narrowContext(t)
	ctx := context.Background()
	rapid.Check(t, func(t *rapid.T) {
		data := intSlice(t, "data")
		d := parallelize(t, sc, data, rapid.IntRange(1, 12).Draw(t, "slices"))
		// Filter out most records so that early partitions are often
		// empty and Take needs several rounds.
		if rapid.Bool().Draw(t, "sparse") {
			d = stoke.Filter(d, positive)
			var kept []int
			for _, x := range data {
				if x > 0 {
					kept = append(kept, x)
				}
			}
			data = kept
		}
		n := rapid.IntRange(0, len(data)+3).Draw(t, "n")
		got, err := stoke.Take(ctx, d, n)
		if err != nil {
			t.Fatalf("Take(%d): %v", n, err)
		}
		if want := data[:min(n, len(data))]; !slices.Equal(got, want) {
			t.Fatalf("Take(%d) = %v, want %v", n, got, want)
		}
		f, err := stoke.First(ctx, d)
		if len(data) == 0 {
			if !errors.Is(err, stoke.ErrEmpty) {
				t.Fatalf("First of nothing: %v, %v", f, err)
			}
		} else if err != nil || f != data[0] {
			t.Fatalf("First = %v, %v; want %v", f, err, data[0])
		}
	})
}

var positive = stoke.RegisterFilter("test.narrow.positive", func(n int) bool { return n > 0 })

func TestTakeRunsFewerTasksThanPartitions(t *testing.T) {
	rec := backendtest.NewRecorder()
	sc := narrowContext(t, stoke.WithListener(rec))
	ctx := context.Background()
	d := stoke.Map(parallelize(t, sc, ints(2000), 20), countedMap)
	countedCalls.Store(0)
	got, err := stoke.Take(ctx, d, 10)
	if err != nil || !slices.Equal(got, ints(10)) {
		t.Fatalf("Take(10) = %v, %v", got, err)
	}
	// The first partition (100 records) has enough: one task, which
	// stopped reading after 10 records.
	if c := countedCalls.Load(); c != 10 {
		t.Fatalf("the task read %d records for Take(10)", c)
	}
	if n := tasksOfJobs(t, rec, 1); n != 1 {
		t.Fatalf("Take(10) ran %d tasks", n)
	}
	// Only the last partition holds records: rounds of 1, 4, 15
	// partitions (factor 4 of those scanned), 20 tasks in all.
	sparse := stoke.Filter(d, over1900)
	got, err = stoke.Take(ctx, sparse, 3)
	if err != nil || !slices.Equal(got, []int{1901, 1902, 1903}) {
		t.Fatalf("Take(3) of the last partition = %v, %v", got, err)
	}
	if n := tasksOfJobs(t, rec, 4); n != 1+20 {
		t.Fatalf("Take over the last partition ran %d tasks in all, want 21", n)
	}
	// Every partition holds 50 even records: the first round finds 50,
	// the second tries ceil(1.5 × 70 left × 1 scanned / 50 found) = 3
	// partitions (less than 4 × 1 scanned), and that is enough.
	got, err = stoke.Take(ctx, stoke.Filter(d, even), 120)
	if err != nil || len(got) != 120 || got[119] != 238 {
		t.Fatalf("Take(120) of the even records: %d records, %v", len(got), err)
	}
	if n := tasksOfJobs(t, rec, 6); n != 21+1+3 {
		t.Fatalf("Take(120) of 50-record partitions ran %d tasks, want 4 (1, then 3)", n-21)
	}
}

var (
	over1900 = stoke.RegisterFilter("test.narrow.over1900", func(n int) bool { return n > 1900 })
	even     = stoke.RegisterFilter("test.narrow.even", func(n int) bool { return n%2 == 0 })
)

// tasksOfJobs waits until jobs jobs have ended and counts the tasks
// started so far (events arrive in order, so a job's tasks come before its
// end).
func tasksOfJobs(t *testing.T, rec *backendtest.Recorder, jobs int) int {
	t.Helper()
	var n int
	testutil.Eventually(t, 10*time.Second, "jobs to end", func() bool {
		ended := 0
		n = 0
		for _, e := range rec.Events() {
			switch e.(type) {
			case events.JobEnd:
				ended++
			case events.TaskStart:
				n++
			}
		}
		return ended >= jobs
	})
	return n
}

func TestZipWithIndexNumbersRecordsInOrder(t *testing.T) {
	sc := narrowContext(t)
	ctx := context.Background()
	rapid.Check(t, func(t *rapid.T) {
		data := intSlice(t, "data")
		d := parallelize(t, sc, data, rapid.IntRange(1, 6).Draw(t, "slices"))
		z, err := stoke.ZipWithIndex(ctx, d)
		if err != nil {
			t.Fatalf("ZipWithIndex: %v", err)
		}
		got := collect(t, z)
		if len(got) != len(data) {
			t.Fatalf("ZipWithIndex gave %d records of %d", len(got), len(data))
		}
		for i, r := range got {
			if r.Index != int64(i) || r.Value != data[i] {
				t.Fatalf("record %d = %+v, want {%d %d}", i, r, i, data[i])
			}
		}
		// The indexed dataset has the built-ins too.
		first, err := stoke.Take(ctx, stoke.Repartition(z, 2), 1)
		if err != nil || len(first) != min(1, len(data)) {
			t.Fatalf("Take of a repartitioned zip: %v %v", first, err)
		}
	})
}

func TestEmptyDatasets(t *testing.T) {
	sc := narrowContext(t)
	ctx := context.Background()
	empty := parallelize(t, sc, []int(nil), 3)
	none := stoke.Coalesce(empty, 1)
	for name, d := range map[string]stoke.Dataset[int]{
		"union":       stoke.Union(empty, empty),
		"coalesce":    none,
		"repartition": stoke.Repartition(empty, 4),
		"distinct":    stoke.Distinct(empty, 0),
		"sample":      stoke.Sample(empty, true, 3, 1),
	} {
		if got := collect(t, d); len(got) != 0 {
			t.Errorf("%s of nothing = %v", name, got)
		}
	}
	if got, err := stoke.Take(ctx, empty, 5); err != nil || len(got) != 0 {
		t.Errorf("Take of nothing = %v, %v", got, err)
	}
	if _, err := stoke.First(ctx, empty); !errors.Is(err, stoke.ErrEmpty) {
		t.Errorf("First of nothing: %v", err)
	}
	z, err := stoke.ZipWithIndex(ctx, empty)
	if err != nil || len(collect(t, z)) != 0 {
		t.Errorf("ZipWithIndex of nothing: %v", err)
	}
	// No partitions at all (an empty directory).
	zero, err := stoke.TextFile(sc, t.TempDir(), 0)
	if err != nil || zero.NumPartitions() != 0 {
		t.Fatalf("TextFile of an empty directory: %d partitions, %v", zero.NumPartitions(), err)
	}
	for name, d := range map[string]stoke.Dataset[string]{
		"union":       stoke.Union(zero, zero),
		"coalesce":    stoke.Coalesce(zero, 1),
		"repartition": stoke.Repartition(zero, 2),
		"distinct":    stoke.Distinct(zero, 0),
		"sample":      stoke.Sample(zero, false, 0.5, 1),
	} {
		if got := collect(t, d); len(got) != 0 {
			t.Errorf("%s of no partitions = %v", name, got)
		}
	}
	if got, err := stoke.Take(ctx, zero, 1); err != nil || len(got) != 0 {
		t.Errorf("Take of no partitions = %v, %v", got, err)
	}
	if z, err := stoke.ZipWithIndex(ctx, zero); err != nil || z.NumPartitions() != 0 || len(collect(t, z)) != 0 {
		t.Errorf("ZipWithIndex of no partitions: %v", err)
	}
}

func TestInvalidArgumentsFailWithClearErrors(t *testing.T) {
	sc := narrowContext(t)
	ctx := context.Background()
	d := parallelize(t, sc, ints(10), 2)
	cases := []struct {
		name string
		d    stoke.Dataset[int]
		want string
	}{
		{"coalesce 0", stoke.Coalesce(d, 0), "Coalesce into 0 partitions"},
		{"coalesce -1", stoke.Coalesce(d, -1), "Coalesce into -1 partitions"},
		{"repartition 0", stoke.Repartition(d, 0), "Repartition into 0 partitions"},
		{"distinct -2", stoke.Distinct(d, -2), "Distinct into -2 partitions"},
		{"fraction < 0", stoke.Sample(d, false, -0.1, 1), "finite number >= 0, got -0.1"},
		{"fraction < 0 with replacement", stoke.Sample(d, true, -1, 1), "got -1"},
		{"fraction NaN", stoke.Sample(d, true, math.NaN(), 1), "got NaN"},
		{"fraction > 1", stoke.Sample(d, false, 1.5, 1), "must be in [0,1], got 1.5"},
		// The error follows the dataset through later operators.
		{"derived", stoke.Map(stoke.Union(d, stoke.Coalesce(d, 0)), double), "Coalesce into 0 partitions"},
	}
	for _, c := range cases {
		if err := c.d.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Err() = %v, want it to mention %q", c.name, err, c.want)
		}
		if _, err := stoke.Collect(ctx, c.d); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Collect error %v, want it to mention %q", c.name, err, c.want)
		}
		if _, err := stoke.Take(ctx, c.d, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Take error %v", c.name, err)
		}
		if _, err := stoke.ZipWithIndex(ctx, c.d); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ZipWithIndex error %v", c.name, err)
		}
	}
	if _, err := stoke.Take(ctx, d, -1); err == nil || !strings.Contains(err.Error(), "Take(-1)") {
		t.Errorf("Take(-1): %v", err)
	}
	if got, err := stoke.Take(ctx, d, 0); err != nil || len(got) != 0 {
		t.Errorf("Take(0) = %v, %v", got, err)
	}
	if err := stoke.Sample(d, true, 1.5, 1).Err(); err != nil {
		t.Errorf("a fraction above 1 with replacement is a mean: %v", err)
	}
	other := stoke.Distinct(stoke.Map(d, toOther), 2)
	if _, err := stoke.Collect(ctx, other); err == nil || !strings.Contains(err.Error(), "stoke.RegisterDistinct[stoke_test.narrowOther]()") {
		t.Errorf("Distinct without an operator: %v", err)
	}
	for _, f := range []func(){
		func() { stoke.Union[int]() },
		func() { stoke.Union(d, stoke.Dataset[int]{}) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "stoke.Union") {
					t.Errorf("recover = %v", r)
				}
			}()
			f()
		}()
	}
}

// In executor processes: the built-ins exist there without registration,
// and equal records from different executors meet in one partition.
func TestDistinctRepartitionTakeZipAcrossExecutorProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	rec := backendtest.NewRecorder()
	sc := newContext(t, stoke.Config{"stoke.master": "local-cluster[2,1,1024]", "stoke.log.level": "warn"}, stoke.WithListener(rec))
	testutil.Eventually(t, time.Minute, "two executors", func() bool { return len(sc.Driver().Executors()) >= 2 })
	ctx := context.Background()
	data := ints(600)
	d := parallelize(t, sc, data, 6)
	points := collect(t, stoke.Distinct(stoke.Map(d, toPoint), 4))
	if len(points) != 6 {
		t.Fatalf("distinct points across executors: %v", points)
	}
	if got := collect(t, stoke.Repartition(d, 5)); !slices.Equal(sorted(got), data) {
		t.Fatalf("repartition across executors lost or duplicated records")
	}
	if got, err := stoke.Take(ctx, stoke.Filter(d, over1900), 1); err != nil || len(got) != 0 {
		t.Fatalf("Take of nothing across executors: %v %v", got, err)
	}
	if got, err := stoke.Take(ctx, stoke.Coalesce(d, 4), 250); err != nil || !slices.Equal(got, data[:250]) {
		t.Fatalf("Take(250): %d records, %v", len(got), err)
	}
	z, err := stoke.ZipWithIndex(ctx, stoke.Union(d, d))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range collect(t, z) {
		if r.Index != int64(i) || r.Value != i%600 {
			t.Fatalf("zip record %d = %+v", i, r)
		}
	}
	s := stoke.Sample(d, true, 0.5, 3)
	if a, b := collect(t, s), collect(t, s); !slices.Equal(a, b) {
		t.Fatal("a sample differs between runs")
	}
	tasksOfJobs(t, rec, 8)
	execs := map[string]bool{}
	for _, ts := range rec.TaskStarts() {
		execs[ts.ExecutorID] = true
	}
	if len(execs) < 2 {
		t.Fatalf("tasks ran on executors %v only", execs)
	}
}

func TestTakeScaleUpFactor(t *testing.T) {
	for _, bad := range []string{"1", "0", "-4", "four"} {
		sc, err := stoke.New(stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "false", "stoke.rdd.limit.scaleUpFactor": bad})
		if err == nil {
			sc.Stop()
			t.Fatalf("scaleUpFactor %q accepted", bad)
		}
		if !strings.Contains(err.Error(), "stoke.rdd.limit.scaleUpFactor") {
			t.Errorf("scaleUpFactor %q: error %q does not name the key", bad, err)
		}
	}
	rec := backendtest.NewRecorder()
	sc := newContext(t, stoke.Config{"stoke.master": "local[2]", "stoke.rdd.limit.scaleUpFactor": "2"}, stoke.WithListener(rec))
	d := stoke.Filter(parallelize(t, sc, ints(2000), 20), over1900)
	got, err := stoke.Take(context.Background(), d, 2)
	if err != nil || !slices.Equal(got, []int{1901, 1902}) {
		t.Fatalf("Take(2) = %v, %v", got, err)
	}
	// Rounds of 1, 2 (2 × 1 scanned), 6 (2 × 3) and the 11 left.
	jobs := 0
	tasksOfJobs(t, rec, 4)
	for _, e := range rec.Events() {
		if s, ok := e.(events.StageSubmitted); ok {
			jobs++
			if want := []int{1, 2, 6, 11}[min(jobs, 4)-1]; s.NumTasks != want {
				t.Errorf("round %d ran %d tasks, want %d", jobs, s.NumTasks, want)
			}
		}
	}
	if jobs != 4 {
		t.Errorf("Take ran %d rounds, want 4", jobs)
	}
}
