package backendtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/events"
)

// Harness describes a backend under test.
type Harness struct {
	// Config selects and configures the backend (stoke.master at least).
	Config stoke.Config
	// Executors and CoresPerExecutor are what the backend will register.
	Executors        int
	CoresPerExecutor int
	// NewBackend, if set, builds the backend instead of the master URL.
	NewBackend func(t *testing.T) backend.Backend
	// KillExecutor makes one executor die abruptly (kill -9 its process,
	// or the backend's equivalent). Nil when the backend cannot lose one.
	KillExecutor func(t *testing.T, sc *stoke.Context, id string)
	// Timeout bounds each job (default 2 minutes); it is a hang guard, not
	// a performance assertion.
	Timeout time.Duration
	// DynamicAllocation: the backend grows and shrinks the application
	// with stoke.dynamicAllocation.enabled. Its test builds the backend
	// from Config's master (not NewBackend), with one-core executors, and
	// needs at least two cores in all.
	DynamicAllocation bool
	// ShuffleService: the cluster serves the shuffle output of gone
	// executors (a standalone worker's stoke.shuffle.service.enabled); the
	// dynamic-allocation test then runs with it on as well.
	ShuffleService bool
}

func (h Harness) slots() int { return h.Executors * h.CoresPerExecutor }

func (h Harness) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 2 * time.Minute
}

// start creates a Context with extra settings; the gate, if asked for,
// holds executor registrations back.
func (h Harness) start(t *testing.T, extra stoke.Config, gated bool) (*stoke.Context, *Recorder, *Gate) {
	t.Helper()
	cfg := stoke.Config{"stoke.ui.enabled": "false"}
	for k, v := range h.Config {
		cfg[k] = v
	}
	for k, v := range extra {
		cfg[k] = v
	}
	rec := NewRecorder()
	opts := []stoke.Option{stoke.WithListener(rec)}
	var gate *Gate
	if gated && h.NewBackend == nil {
		t.Fatal("a gated test needs Harness.NewBackend")
	}
	if h.NewBackend != nil {
		// Always behind a gate, open unless the test holds executors back,
		// so KillExecutor finds the same wrapper every time.
		gate = NewGate(h.NewBackend(t))
		if !gated {
			gate.Open()
		}
		opts = append(opts, stoke.WithBackend(gate))
	}
	sc, err := stoke.New(cfg, opts...)
	if err != nil {
		t.Fatalf("stoke.New: %v", err)
	}
	t.Cleanup(func() { sc.Stop() })
	if !gated {
		waitExecutors(t, sc, h.Executors, h.timeout())
	}
	return sc, rec, gate
}

func waitExecutors(t *testing.T, sc *stoke.Context, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(sc.Driver().Executors()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d executors registered", len(sc.Driver().Executors()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h Harness) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout())
	t.Cleanup(cancel)
	return ctx
}

// Run runs the conformance suite against the backend.
func Run(t *testing.T, h Harness) {
	t.Run("Results", h.testResults)
	t.Run("FIFOSharing", func(t *testing.T) { h.testSharing(t, "FIFO") })
	t.Run("FAIRSharing", func(t *testing.T) { h.testSharing(t, "FAIR") })
	t.Run("Speculation", h.testSpeculation)
	t.Run("ExecutorKilledMidJob", h.testExecutorLoss)
	t.Run("BadFunctionName", h.testBadFunction)
	t.Run("OversizedResult", h.testOversizedResult)
	t.Run("TaskFailureRetried", h.testTaskFailure)
	t.Run("DynamicAllocation", func(t *testing.T) {
		t.Run("ShuffleTracking", func(t *testing.T) { h.testDynamicAllocation(t, keepShuffle) })
		t.Run("NoShuffleTracking", func(t *testing.T) { h.testDynamicAllocation(t, loseShuffle) })
		t.Run("Decommission", func(t *testing.T) { h.testDynamicAllocation(t, moveShuffle) })
		if h.ShuffleService {
			t.Run("ShuffleService", func(t *testing.T) { h.testDynamicAllocation(t, serveShuffle) })
		}
	})
}

const text = `It was a bright cold day in April, and the clocks were striking.
The clocks struck thirteen; the day went on; the clocks were wound.
A bright day, a cold day, a day of clocks.`

func (h Harness) testResults(t *testing.T) {
	sc, _, _ := h.start(t, nil, false)
	ctx := h.ctx(t)
	lines, err := stoke.Parallelize(sc, strings.Split(text, "\n"), 3)
	if err != nil {
		t.Fatal(err)
	}
	counts := stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, tokenize), pairOne), sumInts, 4)
	got, err := stoke.Collect(ctx, counts)
	if err != nil {
		t.Fatalf("word count: %v", err)
	}
	want := map[string]int{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
		want[w]++
	}
	gotMap := map[string]int{}
	for _, kv := range got {
		if _, dup := gotMap[kv.Key]; dup {
			t.Errorf("word %q reported twice", kv.Key)
		}
		gotMap[kv.Key] = kv.Value
	}
	if fmt.Sprint(gotMap) != fmt.Sprint(want) {
		t.Errorf("word count:\n got %v\nwant %v", gotMap, want)
	}

	nums := make([]int, 100)
	for i := range nums {
		nums[i] = i + 1
	}
	ds, err := stoke.Parallelize(sc, nums, 5)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := stoke.Count(ctx, stoke.Filter(ds, isEven)); err != nil || n != 50 {
		t.Errorf("count of evens = %d, %v; want 50", n, err)
	}
	if s, err := stoke.Reduce(ctx, stoke.Map(ds, square), addInts); err != nil || s != 338350 {
		t.Errorf("sum of squares = %d, %v; want 338350", s, err)
	}
	sums, err := stoke.Collect(ctx, stoke.MapPartitions(ds, runSums))
	if err != nil || len(sums) != 5 || sums[0] != 210 || sums[4] != 1810 {
		t.Errorf("partition sums = %v, %v; want 5 partitions [210 ... 1810]", sums, err)
	}
	groups, err := stoke.Collect(ctx, stoke.GroupByKey(stoke.Map(ds, keyMod), groupInt, 3))
	if err != nil {
		t.Fatalf("group: %v", err)
	}
	total := 0
	for _, g := range groups {
		for _, v := range g.Value {
			if fmt.Sprintf("k%d", v%7) != g.Key {
				t.Errorf("value %d grouped under %s", v, g.Key)
			}
			total++
		}
	}
	if len(groups) != 7 || total != 100 {
		t.Errorf("groups: %d keys, %d values; want 7 and 100", len(groups), total)
	}
	names, err := stoke.Parallelize(sc, []stoke.KV[string, string]{{Key: "clocks", Value: "tick"}, {Key: "day", Value: "sun"}, {Key: "nope", Value: "x"}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	joined, err := stoke.Collect(ctx, stoke.Join(counts, names, joinSI, 2))
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	sort.Slice(joined, func(i, j int) bool { return joined[i].Key < joined[j].Key })
	if fmt.Sprint(joined) != fmt.Sprintf("[{clocks {%d tick}} {day {%d sun}}]", want["clocks"], want["day"]) {
		t.Errorf("join = %v", joined)
	}
	if err := stoke.Foreach(ctx, ds, failOn13); err == nil || !strings.Contains(err.Error(), "thirteen is unlucky") {
		t.Errorf("foreach over a failing function: err = %v, want the panic's message", err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := stoke.SaveAsTextFile(ctx, stoke.Filter(ds, isEven), out); err != nil {
		t.Fatalf("save: %v", err)
	}
	back, err := stoke.TextFile(sc, out, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := stoke.Count(ctx, back); err != nil || n != 50 {
		t.Errorf("lines saved and read back = %d, %v; want 50", n, err)
	}
	if _, err := os.Stat(filepath.Join(out, "_SUCCESS")); err != nil {
		t.Errorf("no _SUCCESS marker: %v", err)
	}
	if err := stoke.SaveAsTextFile(ctx, ds, out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("saving over an existing directory: err = %v", err)
	}
}

// testSharing checks the seed's example: two executors' slots, job 1 with
// 2.5x as many tasks as slots per job share and job 2 with half the slots,
// pending together; FIFO gives job 1 every slot, FAIR half of each
// executor's slots to each job.
func (h Harness) testSharing(t *testing.T, mode string) {
	if h.NewBackend == nil {
		t.Skip("this backend cannot hold executors back (Harness.NewBackend is nil)")
	}
	sc, rec, gate := h.start(t, stoke.Config{"stoke.scheduler.mode": mode}, true)
	ctx := h.ctx(t)
	for i := 0; i < h.Executors; i++ {
		select {
		case <-gate.Arrived():
		case <-ctx.Done():
			t.Fatal("executors did not register")
		}
	}
	slots := h.slots()
	mk := func(n int) stoke.Dataset[SlowRecord] {
		recs := make([]SlowRecord, n)
		for i := range recs {
			recs[i] = SlowRecord{ID: i, Sleep: 300 * time.Millisecond}
		}
		ds, err := stoke.Parallelize(sc, recs, n)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	job1, job2 := mk(slots*5/4), mk(slots/2)
	errs := make(chan error, 2)
	go func() { _, err := stoke.Collect(ctx, stoke.Map(job1, slowMap)); errs <- err }()
	if !rec.Wait(ctx.Done(), func(es []events.Event) bool { return countKind[events.StageSubmitted](es) == 1 }) {
		t.Fatal("job 1 was not submitted")
	}
	go func() { _, err := stoke.Collect(ctx, stoke.Map(job2, slowMap)); errs <- err }()
	if !rec.Wait(ctx.Done(), func(es []events.Event) bool { return countKind[events.StageSubmitted](es) == 2 }) {
		t.Fatal("job 2 was not submitted")
	}
	gate.Open()
	if !rec.Wait(ctx.Done(), func(es []events.Event) bool { return countKind[events.TaskStart](es) >= slots }) {
		t.Fatal("slots were not filled")
	}
	stageJob := rec.StageJobs()
	perJob := map[int]int{}
	perExecJob := map[string]int{}
	for _, ts := range rec.TaskStarts()[:slots] {
		j := stageJob[ts.StageID]
		perJob[j]++
		perExecJob[fmt.Sprintf("%s/job%d", ts.ExecutorID, j)]++
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("job: %v", err)
		}
	}
	switch mode {
	case "FIFO":
		if perJob[0] != slots {
			t.Errorf("FIFO: first %d launches per job = %v; want all %d for job 0", slots, perJob, slots)
		}
	case "FAIR":
		if perJob[0] != slots/2 || perJob[1] != slots/2 {
			t.Errorf("FAIR: first %d launches per job = %v; want %d each", slots, perJob, slots/2)
		}
		for k, n := range perExecJob {
			if n != h.CoresPerExecutor/2 {
				t.Errorf("FAIR: %s ran %d tasks of the first wave; want %d (per executor: %v)", k, n, h.CoresPerExecutor/2, perExecJob)
			}
		}
	}
}

func countKind[T events.Event](es []events.Event) int {
	n := 0
	for _, e := range es {
		if _, ok := e.(T); ok {
			n++
		}
	}
	return n
}

func (h Harness) testSpeculation(t *testing.T) {
	if h.Executors < 2 {
		t.Skip("a speculative copy never runs on the executor of the original attempt: one executor cannot speculate")
	}
	sc, rec, _ := h.start(t, stoke.Config{
		"stoke.speculation":            "true",
		"stoke.speculation.interval":   "50ms",
		"stoke.speculation.quantile":   "0.5",
		"stoke.speculation.multiplier": "2",
		// Normal tasks take 20 ms; a backend that queues tasks until
		// resources come (Mesos fine-grained) adds up to an allocation
		// round. The straggler holds for a minute.
		"stoke.speculation.minTaskRuntime": "500ms",
	}, false)
	ctx := h.ctx(t)
	marker := filepath.Join(t.TempDir(), "straggled")
	n := max(4, h.slots()-1)
	recs := make([]StraggleRecord, n)
	for i := range recs {
		recs[i] = StraggleRecord{ID: i, Straggler: i == 0, Marker: marker, Hold: time.Minute, Normal: 20 * time.Millisecond}
	}
	ds, err := stoke.Parallelize(sc, recs, n)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stoke.Collect(ctx, stoke.Map(ds, straggle))
	if err != nil {
		t.Fatalf("job with a straggler: %v", err)
	}
	checkIDs(t, got, n)
	var speculative []events.TaskStart
	for _, ts := range rec.TaskStarts() {
		if ts.Speculative {
			speculative = append(speculative, ts)
		}
	}
	if len(speculative) != 1 || speculative[0].Partition != 0 {
		t.Fatalf("speculative launches = %+v; want one, of partition 0", speculative)
	}
	// The straggler's own attempt is killed once the copy wins.
	waitFor(t, ctx, rec, func(es []events.Event) bool {
		for _, e := range es {
			if te, ok := e.(events.TaskEnd); ok && te.Index == 0 && te.Status == events.TaskKilled {
				return true
			}
		}
		return false
	}, "the straggling attempt was not killed")

	// Opting a job out: no speculative copy even with a straggler.
	marker2 := filepath.Join(t.TempDir(), "straggled")
	for i := range recs {
		recs[i].Marker, recs[i].Hold = marker2, 1500*time.Millisecond
	}
	ds2, err := stoke.Parallelize(sc, recs, n)
	if err != nil {
		t.Fatal(err)
	}
	before := len(speculative)
	if _, err := stoke.Collect(ctx, stoke.Map(ds2, straggle), stoke.WithoutSpeculation()); err != nil {
		t.Fatal(err)
	}
	after := 0
	for _, ts := range rec.TaskStarts() {
		if ts.Speculative {
			after++
		}
	}
	if after != before {
		t.Errorf("a job that opted out of speculation got %d speculative tasks", after-before)
	}
}

func checkIDs(t *testing.T, got []int, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d results, want %d: %v", len(got), n, got)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("result %d = %d; every partition's result must arrive exactly once, in order: %v", i, v, got)
		}
	}
}

func waitFor(t *testing.T, ctx context.Context, rec *Recorder, cond func([]events.Event) bool, msg string) {
	t.Helper()
	if !rec.Wait(ctx.Done(), cond) {
		t.Fatal(msg)
	}
}

func (h Harness) testExecutorLoss(t *testing.T) {
	if h.KillExecutor == nil || h.Executors < 2 {
		t.Skip("this backend cannot lose an executor and keep running (Harness.KillExecutor is nil or one executor)")
	}
	sc, rec, _ := h.start(t, nil, false)
	ctx := h.ctx(t)
	n := h.slots() * 3
	recs := make([]SlowRecord, n)
	for i := range recs {
		recs[i] = SlowRecord{ID: i, Sleep: 200 * time.Millisecond}
	}
	ds, err := stoke.Parallelize(sc, recs, n)
	if err != nil {
		t.Fatal(err)
	}
	// A shuffle first, so that the lost executor's map output must be
	// recomputed, then slow tasks to be interrupted.
	keyed := stoke.ReduceByKey(stoke.Map(stoke.Map(ds, slowMap), keyMod), sumInts, h.slots())
	done := make(chan error, 1)
	var got []stoke.KV[string, int]
	go func() {
		var err error
		got, err = stoke.Collect(ctx, keyed)
		done <- err
	}()
	waitFor(t, ctx, rec, func(es []events.Event) bool { return countKind[events.TaskEnd](es) >= h.slots()+h.slots()/2 }, "no task finished")
	starts := rec.TaskStarts()
	victim := starts[len(starts)-1].ExecutorID
	h.KillExecutor(t, sc, victim)
	if err := <-done; err != nil {
		t.Fatalf("job after losing executor %s: %v", victim, err)
	}
	want := map[string]int{}
	for i := 0; i < n; i++ {
		want[fmt.Sprintf("k%d", i%7)] += i
	}
	gotMap := map[string]int{}
	for _, kv := range got {
		if _, dup := gotMap[kv.Key]; dup {
			t.Errorf("key %s delivered twice", kv.Key)
		}
		gotMap[kv.Key] = kv.Value
	}
	if fmt.Sprint(gotMap) != fmt.Sprint(want) {
		t.Errorf("after executor loss:\n got %v\nwant %v", gotMap, want)
	}
	lost := false
	for _, e := range rec.Events() {
		if r, ok := e.(events.ExecutorRemoved); ok && r.ExecutorID == victim {
			lost = true
		}
	}
	if !lost {
		t.Errorf("no ExecutorRemoved event for %s", victim)
	}
}

func (h Harness) testBadFunction(t *testing.T) {
	sc, _, _ := h.start(t, nil, false)
	ctx := h.ctx(t)
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var unregistered stoke.MapFunc[int, int] // never registered: no name
	_, err = stoke.Collect(ctx, stoke.Map(ds, unregistered))
	if err == nil || !strings.Contains(err.Error(), `function "" is not registered`) {
		t.Fatalf("job with an unregistered function: err = %v", err)
	}
	// Nothing is lost: the application goes on.
	if n, err := stoke.Count(ctx, ds); err != nil || n != 3 {
		t.Fatalf("count after the bad job = %d, %v", n, err)
	}
}

func (h Harness) testOversizedResult(t *testing.T) {
	sc, _, _ := h.start(t, stoke.Config{"stoke.driver.maxResultSize": "256k", "stoke.task.maxDirectResultSize": "16k"}, false)
	ctx := h.ctx(t)
	sizes := make([]int, 8)
	for i := range sizes {
		sizes[i] = 64 << 10
	}
	ds, err := stoke.Parallelize(sc, sizes, 8)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stoke.Collect(ctx, stoke.Map(ds, bigString))
	if err == nil || !strings.Contains(err.Error(), "stoke.driver.maxResultSize") {
		t.Fatalf("collecting 512 KiB with maxResultSize 256k: err = %v", err)
	}
	// Results under the limit, each stored on its executor and fetched.
	small, err := stoke.Parallelize(sc, sizes[:3], 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stoke.Collect(ctx, stoke.Map(small, bigString))
	if err != nil {
		t.Fatalf("collecting 192 KiB with maxResultSize 256k: %v", err)
	}
	if len(got) != 3 || len(got[0]) != 64<<10 || len(got[2]) != 64<<10 {
		t.Fatalf("collected %d results", len(got))
	}
}

func (h Harness) testTaskFailure(t *testing.T) {
	sc, rec, _ := h.start(t, stoke.Config{"stoke.task.maxFailures": "3"}, false)
	ctx := h.ctx(t)
	ds, err := stoke.Parallelize(sc, []int{1, 13, 5}, 3)
	if err != nil {
		t.Fatal(err)
	}
	err = stoke.Foreach(ctx, ds, failOn13)
	if err == nil || !strings.Contains(err.Error(), "thirteen is unlucky") {
		t.Fatalf("err = %v", err)
	}
	// Events arrive asynchronously: wait for the job's end to be recorded.
	waitFor(t, ctx, rec, func(es []events.Event) bool { return countKind[events.JobEnd](es) == 1 }, "no JobEnd event")
	failed := 0
	for _, te := range rec.TaskEnds() {
		if te.Status == events.TaskFailed {
			failed++
		}
	}
	want := 3 // stoke.task.maxFailures
	if m, err := conf.ParseMaster(h.Config["stoke.master"]); err == nil && m.Kind == conf.Local {
		want = m.MaxFailures // local[N] does not retry; local[N,F] allows F attempts
	}
	if failed != want {
		t.Errorf("failed attempts = %d; want %d", failed, want)
	}
}
