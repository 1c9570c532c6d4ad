package stoke_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/shared"
	"github.com/stoke-run/stoke/internal/testutil"
)

// bcastTable is read by executor processes of this test binary: it must be
// registered at init, like the functions that read it.
var bcastTable = stoke.RegisterBroadcast[[]string]("test.bcastTable")

// bcastProbe returns, for record i, the executor that ran it and a digest of
// the broadcast value it saw there.
type bcastProbe struct {
	Executor string
	Len      int
	Entry    string
}

var probeBroadcast = stoke.RegisterMapWithContext("test.probeBroadcast", func(tc *stoke.TaskContext, i int) bcastProbe {
	v := bcastTable.Value()
	return bcastProbe{Executor: tc.ExecutorID(), Len: len(v), Entry: v[i%len(v)]}
})

func bigTable(tag string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%06d-%s", tag, i, strings.Repeat("x", 40))
	}
	return out
}

func waitExecutors(t *testing.T, sc *stoke.Context, n int) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, fmt.Sprintf("%d executors", n), func() bool { return len(sc.Driver().Executors()) >= n })
}

// probe runs tasks that read the broadcast value and checks every one saw
// table; it returns the executors that ran them.
func probe(t *testing.T, sc *stoke.Context, table []string) map[string]bool {
	t.Helper()
	ds := must(stoke.Parallelize(sc, ints(16), 8))
	got, err := stoke.Collect(context.Background(), stoke.Map(ds, probeBroadcast))
	if err != nil {
		t.Fatal(err)
	}
	execs := map[string]bool{}
	for i, p := range got {
		if p.Len != len(table) || p.Entry != table[i%len(table)] {
			t.Fatalf("record %d on executor %s saw %d entries, entry %q; want %d, %q", i, p.Executor, p.Len, p.Entry, len(table), table[i%len(table)])
		}
		execs[p.Executor] = true
	}
	return execs
}

func TestBroadcastToExecutorProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	// 1k chunks: the table (about 1.2 MB encoded) travels in many.
	sc := newContext(t, stoke.Config{"stoke.master": "local-cluster[2,1,1024]", "stoke.broadcast.blockSize": "1k",
		"stoke.task.maxFailures": "1"})
	waitExecutors(t, sc, 2)
	table := bigTable("v1", 20000)
	if err := bcastTable.Set(sc, table); err != nil {
		t.Fatal(err)
	}
	if got := bcastTable.Value(); len(got) != len(table) {
		t.Fatalf("driver Value has %d entries", len(got))
	}
	before := shared.Fetches(bcastTable.Name())

	// Two jobs: each executor fetches once, however many tasks read it.
	execs := probe(t, sc, table)
	probe(t, sc, table)
	fetched := shared.Fetches(bcastTable.Name()) - before
	t.Logf("executors %v, fetches %d", execs, fetched)
	if fetched != len(execs) || fetched > 2 {
		t.Fatalf("%d fetches for %d executors (%v); want one each", fetched, len(execs), execs)
	}

	// Unpersist: executors drop their copy and fetch it again on next use.
	bcastTable.Unpersist()
	before = shared.Fetches(bcastTable.Name())
	execs = probe(t, sc, table)
	if fetched := shared.Fetches(bcastTable.Name()) - before; fetched != len(execs) {
		t.Fatalf("after Unpersist: %d fetches for %d executors; want one each", fetched, len(execs))
	}

	// A new value replaces the executors' copies.
	table2 := bigTable("v2", 300)
	if err := bcastTable.Set(sc, table2); err != nil {
		t.Fatal(err)
	}
	probe(t, sc, table2)

	// Destroy: gone, on the driver and on the executors, until set again.
	if err := bcastDoomed.Set(sc, 7); err != nil {
		t.Fatal(err)
	}
	ds := must(stoke.Parallelize(sc, ints(4), 2))
	if got, err := stoke.Collect(context.Background(), stoke.Map(ds, readDoomed)); err != nil || fmt.Sprint(got) != "[7 7 7 7]" {
		t.Fatalf("before Destroy: %v, %v", got, err)
	}
	bcastDoomed.Destroy()
	_, err := stoke.Collect(context.Background(), stoke.Map(ds, readDoomed))
	if err == nil || !strings.Contains(err.Error(), `broadcast variable "test.bcastDoomed" was destroyed`) {
		t.Fatalf("job after Destroy: err = %v", err)
	}
	func() {
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(fmt.Sprint(r), "destroyed") {
				t.Fatalf("driver Value after Destroy: recovered %v", r)
			}
		}()
		bcastDoomed.Value()
	}()
	if err := bcastDoomed.Set(sc, 8); err != nil {
		t.Fatal(err)
	}
	if got, err := stoke.Collect(context.Background(), stoke.Map(ds, readDoomed)); err != nil || fmt.Sprint(got) != "[8 8 8 8]" {
		t.Fatalf("set again after Destroy: %v, %v", got, err)
	}
}

var (
	bcastDoomed = stoke.RegisterBroadcast[int]("test.bcastDoomed")
	readDoomed  = stoke.RegisterMap("test.readDoomed", func(int) int { return bcastDoomed.Value() })
	// bcastNever is never set.
	bcastNever = stoke.RegisterBroadcast[int]("test.bcastNever")
	readNever  = stoke.RegisterMap("test.readNever", func(int) int { return bcastNever.Value() })
)

// In-process executors (local[N]) read the driver's copy; nothing is fetched.
var bcastLocal = stoke.RegisterBroadcast[map[string]int]("test.bcastLocal")

var lookupLocal = stoke.RegisterMap("test.lookupLocal", func(k string) int { return bcastLocal.Value()[k] })

func TestBroadcastInProcess(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.task.maxFailures": "1"})
	never := must(stoke.Parallelize(sc, []int{1}, 1))
	if _, err := stoke.Collect(context.Background(), stoke.Map(never, readNever)); err == nil || !strings.Contains(err.Error(), `broadcast variable "test.bcastNever" has no value`) {
		t.Fatalf("job reading a variable never set: err = %v", err)
	}
	ds := must(stoke.Parallelize(sc, []string{"a", "b", "c"}, 3))
	if err := bcastLocal.Set(sc, map[string]int{"a": 1, "b": 2, "c": 3}); err != nil {
		t.Fatal(err)
	}
	got, err := stoke.Collect(context.Background(), stoke.Map(ds, lookupLocal))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("got %v", got)
	}
	if n := shared.Fetches(bcastLocal.Name()); n != 0 {
		t.Fatalf("%d fetches by in-process executors", n)
	}
}

// ---- accumulators ----

var (
	accSum = stoke.RegisterAccumulator("test.accSum", func() int { return 0 }, func(a, b int) int { return a + b })
	// accSeen collects the partitions whose accepted attempt added: a
	// partition counted twice shows up twice.
	accSeen = stoke.RegisterAccumulator("test.accSeen", func() []int { return nil }, func(a, b []int) []int { return append(append([]int(nil), a...), b...) })
)

// failFirst adds to the accumulators, then fails the first attempt of
// every partition: only the retries' updates may count.
var failFirst = stoke.RegisterMapWithContext("test.failFirst", func(tc *stoke.TaskContext, n int) int {
	accSum.Add(tc, n)
	if n == firstOf(tc) {
		accSeen.Add(tc, []int{tc.Partition()})
	}
	if tc.Attempt() == 0 {
		panic("first attempts fail")
	}
	return n
})

// firstOf is the first record of the partition (ints(16) in 4 slices).
func firstOf(tc *stoke.TaskContext) int { return tc.Partition() * 4 }

func sortedInts(v []int) []int {
	out := append([]int(nil), v...)
	sort.Ints(out)
	return out
}

func TestAccumulatorCountsOnlyTheAcceptedRetry(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.master": "local[4,3]"})
	accSum.Reset()
	accSeen.Reset()
	ds := must(stoke.Parallelize(sc, ints(16), 4))
	if _, err := stoke.Collect(context.Background(), stoke.Map(ds, failFirst)); err != nil {
		t.Fatal(err)
	}
	if got := accSum.Value(); got != 120 {
		t.Fatalf("sum = %d, want 120 (0..15 once)", got)
	}
	if got := sortedInts(accSeen.Value()); fmt.Sprint(got) != "[0 1 2 3]" {
		t.Fatalf("partitions counted %v, want each once", got)
	}
}

// straggle makes the first attempt of partition 0 wait until the marker
// file exists, after adding; the speculative copy does not wait.
type straggleRec struct {
	N      int
	Marker string
}

var straggle = stoke.RegisterForeachWithContext("test.straggle", func(tc *stoke.TaskContext, r straggleRec) {
	accSum.Add(tc, r.N)
	if r.N == tc.Partition()*4 {
		accSeen.Add(tc, []int{tc.Partition()})
	}
	if tc.Partition() == 0 && tc.Attempt() == 0 {
		for {
			if _, err := os.Stat(r.Marker); err == nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
})

func TestAccumulatorCountsOnceUnderSpeculation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	var speculative atomic.Int32
	spy := events.ListenerFunc(func(e events.Event) {
		if ts, ok := e.(events.TaskStart); ok && ts.Speculative {
			speculative.Add(1)
		}
	})
	sc := newContext(t, stoke.Config{"stoke.master": "local-cluster[2,2,1024]", "stoke.speculation": "true",
		"stoke.speculation.interval": "20ms", "stoke.speculation.minTaskRuntime": "50ms", "stoke.speculation.quantile": "0.5"},
		stoke.WithListener(spy))
	waitExecutors(t, sc, 2)
	accSum.Reset()
	accSeen.Reset()
	marker := filepath.Join(t.TempDir(), "release")
	recs := make([]straggleRec, 16)
	for i := range recs {
		recs[i] = straggleRec{N: i, Marker: marker}
	}
	// Should speculation never come, the straggler ends after a minute and
	// the check for a speculative attempt below fails (rather than hanging).
	watchdog := time.AfterFunc(testutil.D(60*time.Second), func() { os.WriteFile(marker, nil, 0o644) })
	defer watchdog.Stop()
	ds := must(stoke.Parallelize(sc, recs, 4))
	// The job ends when the copy of partition 0 succeeds; the straggler is
	// still waiting then (the marker does not exist yet).
	if err := stoke.Foreach(context.Background(), ds, straggle); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(marker, nil, 0o644) // lets the straggler end, in case it was not killed
	testutil.Eventually(t, 10*time.Second, "a speculative attempt", func() bool { return speculative.Load() > 0 })
	if got := accSum.Value(); got != 120 {
		t.Fatalf("sum = %d, want 120 (0..15 once)", got)
	}
	if got := sortedInts(accSeen.Value()); fmt.Sprint(got) != "[0 1 2 3]" {
		t.Fatalf("partitions counted %v, want each once", got)
	}
}

func TestAccumulatorAddNeedsATask(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "TaskContext") {
			t.Fatalf("recovered %v", r)
		}
	}()
	accSum.Add(nil, 1)
}

func TestBroadcastBlockSizeIsChecked(t *testing.T) {
	for _, v := range []string{"0", "-4k", "1g", "lots"} {
		sc, err := stoke.New(stoke.Config{"stoke.master": "local", "stoke.ui.enabled": "false", "stoke.broadcast.blockSize": v})
		if err == nil {
			sc.Stop()
			t.Fatalf("stoke.broadcast.blockSize=%s accepted", v)
		}
		if !strings.Contains(err.Error(), "stoke.broadcast.blockSize") {
			t.Fatalf("blockSize %s: error %q does not name the key", v, err)
		}
	}
}
