package simulate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/events"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// writeLog writes evs as an event log and returns its path.
func writeLog(t *testing.T, evs []events.Event) string {
	t.Helper()
	dir := t.TempDir()
	w, err := eventlog.NewWriter(dir, "app")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		w.OnEvent(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "app"+eventlog.Ext)
}

func readLog(t *testing.T, path string) (*Workload, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return FromEventLog(f, filepath.Base(path))
}

// task emits the start and end of one attempt.
func task(stage, index int, id int64, exec string, start, ms int, status, locality string) []events.Event {
	return []events.Event{
		events.TaskStart{StageID: stage, TaskID: id, Index: index, Partition: index, ExecutorID: exec, Host: "h-" + exec, Locality: locality, Time: at(start)},
		events.TaskEnd{StageID: stage, TaskID: id, Index: index, ExecutorID: exec, Status: status, Duration: time.Duration(ms) * time.Millisecond, Time: at(start + ms)},
	}
}

// A small recorded run: two executors (b three times slower), one job of
// two stages; a task fails once; a slow attempt is killed when its copy
// wins.
func recordedRun() []events.Event {
	evs := []events.Event{
		events.ApplicationStart{AppID: "app", Time: t0},
		events.Environment{Properties: [][2]string{{"stoke.scheduler.mode", "FAIR"}, {"stoke.speculation", "true"}}},
		events.Pools{Mode: "FAIR", Pools: []events.Pool{{Name: "default", Mode: "FIFO", Weight: 1}, {Name: "etl", Mode: "FAIR", Weight: 2, MinShare: 1}}},
		events.ExecutorAdded{ExecutorID: "a", Host: "h-a", Cores: 2, Time: at(10)},
		events.ExecutorAdded{ExecutorID: "b", Host: "h-b", Cores: 2, Time: at(20)},
		events.JobStart{JobID: 0, Pool: "etl", StageIDs: []int{0, 1}, Time: at(100)},
		events.StageSubmitted{StageID: 0, JobID: 0, NumTasks: 4, Pool: "etl", Time: at(110)},
	}
	evs = append(evs, task(0, 0, 0, "a", 110, 100, events.TaskSuccess, "NO_PREF")...)
	evs = append(evs, task(0, 1, 1, "a", 110, 100, events.TaskSuccess, "NO_PREF")...)
	evs = append(evs, task(0, 2, 2, "b", 110, 300, events.TaskSuccess, "PROCESS_LOCAL")...)
	evs = append(evs, task(0, 3, 3, "b", 110, 40, events.TaskFailed, "NODE_LOCAL")...)
	evs = append(evs, task(0, 3, 4, "a", 210, 100, events.TaskSuccess, "NO_PREF")...)
	evs = append(evs, events.StageCompleted{StageID: 0, Time: at(415)},
		events.StageSubmitted{StageID: 1, JobID: 0, NumTasks: 3, ParentIDs: []int{0}, Pool: "etl", Time: at(430)})
	evs = append(evs, task(1, 0, 5, "a", 430, 200, events.TaskSuccess, "NO_PREF")...)
	evs = append(evs, task(1, 1, 6, "a", 430, 200, events.TaskSuccess, "NO_PREF")...)
	evs = append(evs, task(1, 2, 7, "b", 430, 250, events.TaskKilled, "NO_PREF")...)
	evs = append(evs, task(1, 2, 8, "a", 630, 200, events.TaskSuccess, "NO_PREF")...)
	return append(evs,
		events.StageCompleted{StageID: 1, Time: at(835)},
		events.JobEnd{JobID: 0, Succeeded: true, Time: at(850)},
		events.ExecutorRemoved{ExecutorID: "a", Reason: "stopped", Time: at(900)},
		events.ApplicationEnd{Time: at(900)})
}

func TestFromEventLog(t *testing.T) {
	w, err := readLog(t, writeLog(t, recordedRun()))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Executors) != 2 || w.Executors[0].Add != 10*time.Millisecond || w.Executors[0].Lost != Never {
		t.Fatalf("executors %+v (a removal after the last job is the application stopping)", w.Executors)
	}
	if a, b := w.Executors[0].Slowdown, w.Executors[1].Slowdown; a != 1 || b != 3 {
		t.Errorf("slowdowns a %v, b %v; want 1 and 3", a, b)
	}
	if len(w.Pools) != 2 || w.Pools[1].Weight != 2 || len(w.Base) != 2 {
		t.Errorf("pools %+v base %+v", w.Pools, w.Base)
	}
	j := w.Jobs[0]
	if j.Pool != "etl" || j.Arrival != 100*time.Millisecond || j.Recorded != 750*time.Millisecond || !j.RecordedOK {
		t.Errorf("job %+v", j)
	}
	s0, s1 := j.Stages[0], j.Stages[1]
	if s0.SubmitDelay != 10*time.Millisecond || s1.SubmitDelay != 20*time.Millisecond || j.EndDelay != 20*time.Millisecond {
		t.Errorf("delays %v %v %v; want 10ms, 20ms (after the last success at 410ms), 20ms", s0.SubmitDelay, s1.SubmitDelay, j.EndDelay)
	}
	if len(s1.Parents) != 1 || s1.Parents[0] != 0 {
		t.Errorf("stage 1 parents %v", s1.Parents)
	}
	// Task 2 ran 300ms on b (3x slower): 100ms of work.
	if got := s0.Durations; got[0] != 100*time.Millisecond || got[2] != 100*time.Millisecond {
		t.Errorf("durations %v", got)
	}
	if f := s0.Failures[3]; len(f) != 1 || f[0] != 40*time.Millisecond/3 {
		t.Errorf("failures of task 3: %v", f)
	}
	if p := s0.Prefs[2]; len(p) != 1 || p[0].ExecutorID != "b" || p[0].Host != "h-b" {
		t.Errorf("prefs of task 2: %v", p)
	}
	if p := s0.Prefs[3]; len(p) != 1 || p[0].ExecutorID != "" || p[0].Host != "h-b" {
		t.Errorf("prefs of task 3: %v", p)
	}
	cfg := mustConfig(t, w, "recorded")
	if cfg.Sched.Mode.String() != "FAIR" || !cfg.Sched.Speculation.Enabled || len(cfg.Sched.Pools) != 2 {
		t.Errorf("recorded configuration %+v", cfg.Sched)
	}
	r, err := Run(w, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Jobs[0].Succeeded || r.Tasks.Failed != 1 {
		t.Errorf("replay: %+v, tasks %+v", r.Jobs[0], r.Tasks)
	}
}

// Logs that cannot be replayed are refused with what is wrong; a truncated
// last line gives the workload before it and an error saying so.
func TestMalformedEventLogs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	for path, want := range map[string]string{
		write("garbage.jsonl", "{\"Event\":\"ApplicationStart\"}\nnot json\n"): "line 2",
		write("empty.jsonl", ""): "no jobs",
		write("nojobs.jsonl", `{"Event":"ExecutorAdded","executorId":"a","cores":1}`+"\n"): "no jobs",
		write("noexec.jsonl", `{"Event":"JobStart","jobId":1}`+"\n"):                       "no executors",
		write("badfield.jsonl", `{"Event":"JobStart","jobId":"one"}`+"\n"):                 "line 1",
	} {
		_, err := readLog(t, path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to mention %q", filepath.Base(path), err, want)
		}
	}
	full, _ := os.ReadFile(writeLog(t, recordedRun()))
	cut := write("cut.jsonl", string(full[:len(full)-20]))
	w, err := readLog(t, cut)
	if !errors.Is(err, eventlog.ErrTruncated) || w == nil || len(w.Jobs) != 1 {
		t.Fatalf("truncated log: %v, %v", w, err)
	}
}

// testdata/shared-app.jsonl is the log of a real application (FAIR, pools
// prod of weight 2 and adhoc of weight 1 on local-cluster[2,4,1024]; the
// README's worked example). Replayed as recorded, every job takes what it
// took; with adhoc at weight 3, adhoc's jobs end sooner and prod's later.
func TestSharedAppLog(t *testing.T) {
	w, err := readLog(t, "testdata/shared-app.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	same := run(t, w, Options{})
	for _, j := range same.Jobs {
		if real := time.Duration(*j.Recorded); !j.Succeeded || absDur(time.Duration(j.Duration)-real) > real/10 {
			t.Errorf("job %d: replayed %v, real %v", j.ID, j.Duration, real)
		}
	}
	heavier := run(t, w, Options{}, "stoke.simulate.pool.adhoc.weight", "3")
	p50 := func(r *Result, pool string) time.Duration {
		for _, p := range r.Pools {
			if p.Name == pool {
				return time.Duration(p.P50)
			}
		}
		t.Fatalf("no pool %s", pool)
		return 0
	}
	if !(p50(heavier, "adhoc") < p50(same, "adhoc") && p50(heavier, "prod") > p50(same, "prod")) {
		t.Errorf("adhoc p50 %v -> %v, prod p50 %v -> %v: want adhoc faster and prod slower", p50(same, "adhoc"), p50(heavier, "adhoc"), p50(same, "prod"), p50(heavier, "prod"))
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// A job submitted right after another ended waits for it when chained: it
// moves with its predecessor's end instead of arriving when it arrived.
func TestChainJobs(t *testing.T) {
	dur := func(n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = time.Second
		}
		return d
	}
	w := &Workload{Name: "chain", Executors: []Executor{{ID: "a", Host: "h", Cores: 4, Lost: Never, Slowdown: 1}}}
	// Job 0: 8 tasks on 4 slots (2s). Job 1 came 10ms after it ended; job
	// 2 arrived on its own at 500ms (before any end).
	w.Jobs = []Job{
		{ID: 0, Arrival: 0, Recorded: 2 * time.Second, Stages: []Stage{{ID: 0, Durations: dur(8)}}},
		{ID: 2, Arrival: 500 * time.Millisecond, Recorded: 3 * time.Second, Stages: []Stage{{ID: 2, Durations: dur(1)}}},
		{ID: 1, Arrival: 2010 * time.Millisecond, Recorded: time.Second, Stages: []Stage{{ID: 1, Durations: dur(4)}}},
	}
	if n := ChainJobs(w, 50*time.Millisecond); n != 1 || !w.Jobs[2].HasAfter || w.Jobs[2].After != 0 || w.Jobs[2].Gap != 10*time.Millisecond || w.Jobs[1].HasAfter {
		t.Fatalf("chained %+v", w.Jobs)
	}
	r := run(t, w, Options{}, "executors", "1", "stoke.executor.cores", "8")
	// 8 slots: job 0 ends at 1s, so job 1 arrives at 1.01s.
	if got := time.Duration(r.Jobs[2].Arrival); got != 1010*time.Millisecond {
		t.Errorf("job 1 arrived at %v, want 1.01s", got)
	}
	if got := time.Duration(r.Jobs[1].Arrival); got != 500*time.Millisecond {
		t.Errorf("job 2 arrived at %v, want 500ms", got)
	}
}
