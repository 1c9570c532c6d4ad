package simulate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/simulate"
	"github.com/stoke-run/stoke/internal/testutil"
)

// The validation tests run real applications on local-cluster executor
// processes (this test binary, started again), record their event logs and
// replay them under the configuration they ran with: every job must take
// what it took for real, within 10% or 200 ms. Tasks sleep 100-300 ms, so
// that scheduling noise is small against them.

func TestMain(m *testing.M) {
	stoke.RunIfExecutor()
	os.Exit(m.Run())
}

// napRec is one task's record: it sleeps Ms milliseconds, Slow times longer
// on executor SlowOn.
type napRec struct {
	Ms     int
	SlowOn string
	Slow   int
}

var napTask = stoke.RegisterMapWithContext("simulate.nap", func(tc *stoke.TaskContext, r napRec) stoke.KV[int, int] {
	d := time.Duration(r.Ms) * time.Millisecond
	if r.SlowOn != "" && tc.ExecutorID() == r.SlowOn {
		d *= time.Duration(r.Slow)
	}
	time.Sleep(d)
	return stoke.KV[int, int]{Key: r.Ms % 4, Value: 1}
})

var napSum = stoke.RegisterReduceByKey[int, int]("simulate.sum", func(a, b int) int { return a + b })

// naps builds n one-record partitions sleeping from..to ms in turn.
func naps(n, from, to int, slowOn string, slow int) []napRec {
	out := make([]napRec, n)
	for i := range out {
		ms := from
		if n > 1 {
			ms = from + (to-from)*i/(n-1)
		}
		out[i] = napRec{Ms: ms, SlowOn: slowOn, Slow: slow}
	}
	return out
}

// realApp runs body on a local-cluster application with the event log on
// and returns the log's path.
func realApp(t *testing.T, cfg stoke.Config, execs int, body func(sc *stoke.Context)) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	dir := t.TempDir()
	full := stoke.Config{"stoke.ui.enabled": "false", "stoke.log.level": "warn",
		"stoke.eventLog.enabled": "true", "stoke.eventLog.dir": dir}
	for k, v := range cfg {
		full[k] = v
	}
	sc, err := stoke.New(full)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	testutil.Eventually(t, 60*time.Second, fmt.Sprintf("%d executors", execs), func() bool { return len(sc.Driver().Executors()) >= execs })
	body(sc)
	appID := sc.AppID()
	sc.Stop()
	return filepath.Join(dir, appID+".jsonl")
}

// runJobs runs the jobs concurrently (each one's records in one-record
// partitions, a map stage then a reduce stage when shuffle is set).
func runJobs(t *testing.T, sc *stoke.Context, jobs ...func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = j()
		}()
		time.Sleep(20 * time.Millisecond) // a stable arrival order (the replay uses the recorded one anyway)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func napJob(sc *stoke.Context, recs []napRec, shuffle bool, opts ...stoke.JobOption) func() error {
	return func() error {
		ds, err := stoke.Parallelize(sc, recs, len(recs))
		if err != nil {
			return err
		}
		m := stoke.Map(ds, napTask)
		if shuffle {
			_, err = stoke.Collect(context.Background(), stoke.ReduceByKey(m, napSum, 2), opts...)
		} else {
			_, err = stoke.Count(context.Background(), m, opts...)
		}
		return err
	}
}

// replayMatches replays the log under its own configuration and compares
// every job's duration with the recorded one.
func replayMatches(t *testing.T, path string) *simulate.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := simulate.FromEventLog(f, path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := simulate.NewConfig(w, "recorded", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := simulate.Run(w, cfg, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range w.Executors {
		t.Logf("executor %s: %d cores, slowdown %.2f", e.ID, e.Cores, e.Slowdown)
	}
	for _, j := range r.Jobs {
		if j.Recorded == nil {
			t.Fatalf("job %d: no recorded duration", j.ID)
		}
		real, sim := time.Duration(*j.Recorded), time.Duration(j.Duration)
		tol := max(real/10, 200*time.Millisecond)
		t.Logf("job %d (%s): real %v, simulated %v", j.ID, j.Pool, real.Round(time.Millisecond), sim.Round(time.Millisecond))
		if !j.Succeeded || sim < real-tol || sim > real+tol {
			t.Errorf("job %d: simulated %v (succeeded %v), real %v: off by more than %v", j.ID, sim, j.Succeeded, real, tol)
		}
	}
	// Chained (each job submitted right after another waits for it, and
	// moves with its simulated end), the replay holds as well.
	if simulate.ChainJobs(w, 100*time.Millisecond) > 0 {
		chained, err := simulate.Run(w, cfg, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range chained.Jobs {
			real, sim := time.Duration(*j.Recorded), time.Duration(j.Duration)
			if tol := max(real/10, 200*time.Millisecond); !j.Succeeded || sim < real-tol || sim > real+tol {
				t.Errorf("job %d chained: simulated %v, real %v", j.ID, sim, real)
			}
		}
	}
	return r
}

func TestReplayMatchesRealityFIFO(t *testing.T) {
	path := realApp(t, stoke.Config{"stoke.master": "local-cluster[2,6,1024]"}, 2, func(sc *stoke.Context) {
		// The seed's example: 15 and 6 tasks on 2 × 6 slots.
		runJobs(t, sc, napJob(sc, naps(15, 200, 300, "", 0), false), napJob(sc, naps(6, 200, 300, "", 0), false))
		runJobs(t, sc, napJob(sc, naps(20, 100, 300, "", 0), true))
		runJobs(t, sc, napJob(sc, naps(8, 300, 300, "", 0), false), napJob(sc, naps(30, 100, 200, "", 0), true))
	})
	r := replayMatches(t, path)
	if len(r.Jobs) != 5 {
		t.Fatalf("replayed %d jobs, want 5", len(r.Jobs))
	}
	// The same log with 4 executors: the 15-task job runs in one wave
	// (about 300 ms) instead of two.
	f, _ := os.Open(path)
	defer f.Close()
	w, err := simulate.FromEventLog(f, path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := simulate.NewConfig(w, "4 executors", []conf.Entry{{Key: "executors", Value: "4"}})
	if err != nil {
		t.Fatal(err)
	}
	more, err := simulate.Run(w, cfg, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if two, four := time.Duration(r.Jobs[0].Duration), time.Duration(more.Jobs[0].Duration); four > two-150*time.Millisecond {
		t.Errorf("job 0 with 4 executors: %v, with 2: %v; want it a wave shorter", four, two)
	}
}

func TestReplayMatchesRealityFAIRTwoPools(t *testing.T) {
	alloc := filepath.Join(t.TempDir(), "pools.xml")
	os.WriteFile(alloc, []byte(`<allocations>
  <pool name="prod"><schedulingMode>FAIR</schedulingMode><weight>2</weight><minShare>2</minShare></pool>
  <pool name="adhoc"><schedulingMode>FIFO</schedulingMode><weight>1</weight></pool>
</allocations>`), 0o644)
	path := realApp(t, stoke.Config{"stoke.master": "local-cluster[2,6,1024]", "stoke.scheduler.mode": "FAIR",
		"stoke.scheduler.allocation.file": alloc}, 2, func(sc *stoke.Context) {
		runJobs(t, sc,
			napJob(sc, naps(30, 150, 250, "", 0), false, stoke.InPool("adhoc")),
			napJob(sc, naps(24, 200, 300, "", 0), true, stoke.InPool("prod")),
			napJob(sc, naps(12, 100, 200, "", 0), false, stoke.InPool("adhoc")),
			napJob(sc, naps(18, 200, 200, "", 0), false, stoke.InPool("prod")))
	})
	r := replayMatches(t, path)
	if len(r.Pools) < 2 {
		t.Fatalf("pools %+v, want prod and adhoc", r.Pools)
	}
}

func TestReplayMatchesRealityStragglerWithSpeculation(t *testing.T) {
	var slow string
	path := realApp(t, stoke.Config{"stoke.master": "local-cluster[2,4,1024]", "stoke.speculation": "true",
		"stoke.speculation.interval": "50ms", "stoke.speculation.quantile": "0.5", "stoke.speculation.multiplier": "1.5",
		"stoke.speculation.minTaskRuntime": "100ms"}, 2, func(sc *stoke.Context) {
		slow = sc.Driver().Executors()[0].ID
		runJobs(t, sc, napJob(sc, naps(24, 200, 200, slow, 4), false))
		runJobs(t, sc, napJob(sc, naps(16, 150, 250, slow, 4), true))
	})
	r := replayMatches(t, path)
	if r.Tasks.Speculative == 0 || r.Tasks.SpeculativeWon == 0 {
		t.Errorf("the replay launched %d speculative copies, %d won; want some of both", r.Tasks.Speculative, r.Tasks.SpeculativeWon)
	}
}
