package standalone_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

var (
	slowKey = stoke.RegisterMap("standalone_test.slowKey", func(x int) stoke.KV[string, int] {
		time.Sleep(150 * time.Millisecond)
		return stoke.KV[string, int]{Key: "k" + strconv.Itoa(x%7), Value: x}
	})
	sumInt = stoke.RegisterReduceByKey[string, int]("standalone_test.sum", func(a, b int) int { return a + b })
)

// runApp starts an application on master and waits for n executors.
func runApp(t *testing.T, master string, n int, extra stoke.Config) (*stoke.Context, *backendtest.Recorder) {
	t.Helper()
	cfg := stoke.Config{"stoke.master": master, "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true"}
	for k, v := range extra {
		cfg[k] = v
	}
	rec := backendtest.NewRecorder()
	sc, err := stoke.New(cfg, stoke.WithListener(rec))
	if err != nil {
		t.Fatalf("stoke.New: %v", err)
	}
	t.Cleanup(func() { sc.Stop() })
	deadline := time.Now().Add(testutil.D(60 * time.Second))
	for len(sc.Driver().Executors()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d executors registered", len(sc.Driver().Executors()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return sc, rec
}

// slowSumJob runs a shuffle job over n slow records in the background.
func slowSumJob(t *testing.T, sc *stoke.Context, n int) (<-chan error, *[]stoke.KV[string, int]) {
	nums := make([]int, n)
	for i := range nums {
		nums[i] = i
	}
	ds, err := stoke.Parallelize(sc, nums, n/2)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var got []stoke.KV[string, int]
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.D(3*time.Minute))
		defer cancel()
		var err error
		got, err = stoke.Collect(ctx, stoke.ReduceByKey(stoke.Map(ds, slowKey), sumInt, 4))
		done <- err
	}()
	return done, &got
}

// checkSums verifies every key's sum arrived exactly once.
func checkSums(t *testing.T, got []stoke.KV[string, int], n int) {
	t.Helper()
	want := map[string]int{}
	for i := 0; i < n; i++ {
		want["k"+strconv.Itoa(i%7)] += i
	}
	seen := map[string]int{}
	for _, kv := range got {
		if _, dup := seen[kv.Key]; dup {
			t.Errorf("key %s delivered twice", kv.Key)
		}
		seen[kv.Key] = kv.Value
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("results:\n got %v\nwant %v", seen, want)
	}
}

func waitTaskEnds(t *testing.T, rec *backendtest.Recorder, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(time.Minute))
	defer cancel()
	if !rec.Wait(ctx.Done(), func(es []events.Event) bool {
		c := 0
		for _, e := range es {
			if _, ok := e.(events.TaskEnd); ok {
				c++
			}
		}
		return c >= n
	}) {
		t.Fatalf("fewer than %d tasks ended", n)
	}
}

// kill -9 a worker process mid-job: its executors die with it, the master
// declares it dead, and the job finishes on the other worker with every
// result once.
func TestWorkerKilledMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	pc := startProcessCluster(t, 2, 2, 1024)
	sc, rec := runApp(t, "stoke://"+pc.addr, 2, nil)
	const n = 60
	done, got := slowSumJob(t, sc, n)
	waitTaskEnds(t, rec, 6)
	pc.workers[0].killOnly()
	t.Logf("killed worker 0 (pid %d)", pc.workers[0].cmd.Process.Pid)
	if err := <-done; err != nil {
		t.Fatalf("job after losing a worker: %v", err)
	}
	checkSums(t, *got, n)
	s := waitState(t, pc.addr, 20*time.Second, "the killed worker to be declared dead", func(s standalone.MasterState) bool {
		return aliveWorkers(s) == 1 && len(s.Workers) == 2
	})
	removed := 0
	for _, e := range rec.Events() {
		if r, ok := e.(events.ExecutorRemoved); ok {
			removed++
			t.Logf("executor %s removed: %s", r.ExecutorID, r.Reason)
		}
	}
	if removed == 0 {
		t.Errorf("no executor was reported lost; master state %+v", s)
	}
}

// A finished application frees every core; a killed executor's exit
// reaches the driver as its loss reason.
func TestExitCodeReachesDriverAndAppFreesResources(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	pc := startProcessCluster(t, 1, 2, 1024)
	sc, rec := runApp(t, "stoke://"+pc.addr, 1, nil)
	var id string
	for _, e := range sc.Driver().Executors() {
		id = e.ID
	}
	pid := executorPID(t, pc.addr, sc.AppID(), id)
	if err := syscallKill(pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(30*time.Second))
	defer cancel()
	if !rec.Wait(ctx.Done(), func(es []events.Event) bool {
		for _, e := range es {
			if r, ok := e.(events.ExecutorRemoved); ok && r.ExecutorID == id {
				return strings.Contains(r.Reason, "killed by signal killed") && strings.Contains(r.Reason, "log: ")
			}
		}
		return false
	}) {
		t.Fatalf("the executor's exit did not reach the driver as its loss reason: %v", rec.Events())
	}
	// The master replaces it.
	deadline := time.Now().Add(testutil.D(30 * time.Second))
	for len(sc.Driver().Executors()) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no replacement executor")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := sc.Stop(); err != nil {
		t.Fatal(err)
	}
	waitState(t, pc.addr, 20*time.Second, "the finished application to free its cores", func(s standalone.MasterState) bool {
		return s.CoresUsed == 0 && s.MemoryUsed == 0 && len(s.Apps) == 0 && len(s.Completed) == 1 && s.Completed[0].State == standalone.StateFinished
	})
}
