package sched

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

type taskKey struct {
	ts    TaskSetID
	index int
}

// model drives a Scheduler with random calls and checks its decisions
// against invariants that hold whatever the sequence.
type model struct {
	cfg   Config
	s     *Scheduler
	now   time.Time
	execs map[string]Location
	cores map[string]int

	running   map[int64]Launch
	ran       map[taskKey]map[string]bool
	failedOn  map[taskKey]map[string]int
	succeeded map[taskKey]int
	finished  map[TaskSetID]int
	tasks     map[TaskSetID]int
	terminal  map[TaskSetID]bool // aborted, cancelled or fetch-failed
	stageExcl map[TaskSetID]map[string]bool
	nodeExcl  map[TaskSetID]map[string]bool
	appExcl   map[string]time.Time

	nextJob, nextExec int
}

func newModel(t *rapid.T) *model {
	m := &model{now: epoch,
		execs: map[string]Location{}, cores: map[string]int{},
		running: map[int64]Launch{}, ran: map[taskKey]map[string]bool{}, failedOn: map[taskKey]map[string]int{},
		succeeded: map[taskKey]int{}, finished: map[TaskSetID]int{}, tasks: map[TaskSetID]int{},
		terminal: map[TaskSetID]bool{}, stageExcl: map[TaskSetID]map[string]bool{}, nodeExcl: map[TaskSetID]map[string]bool{},
		appExcl: map[string]time.Time{},
	}
	cfg := Config{
		Mode:         rapid.SampledFrom([]Mode{FIFO, FAIR}).Draw(t, "mode"),
		CPUsPerTask:  rapid.IntRange(1, 2).Draw(t, "cpus"),
		MaxFailures:  rapid.IntRange(1, 4).Draw(t, "maxFailures"),
		LocalityWait: time.Duration(rapid.IntRange(0, 3).Draw(t, "wait")) * time.Second,
	}
	if cfg.Mode == FAIR && rapid.Bool().Draw(t, "pools") {
		cfg.Pools = []PoolConfig{{"p0", FAIR, 1, 2}, {"p1", FIFO, 2, 0}, {"default", FAIR, 1, 0}}
	}
	if rapid.Bool().Draw(t, "spec") {
		cfg.Speculation = SpeculationConfig{Enabled: true, Interval: 100 * time.Millisecond, Quantile: 0.5, Multiplier: 1.5, MinTaskRuntime: 100 * time.Millisecond}
	}
	if rapid.Bool().Draw(t, "exclude") {
		cfg.Exclude = ExcludeConfig{Enabled: true, Timeout: time.Minute}
		cfg.MaxFailures = max(cfg.MaxFailures, 3)
	}
	s, _, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.cfg, m.s = cfg, s
	return m
}

func (m *model) advance(t *rapid.T) {
	m.now = m.now.Add(time.Duration(rapid.IntRange(0, 2000).Draw(t, "dt")) * time.Millisecond)
}

func (m *model) addExecutor(t *rapid.T) {
	if len(m.execs) >= 6 {
		return
	}
	id := fmt.Sprintf("e%d", m.nextExec)
	m.nextExec++
	host := fmt.Sprintf("h%d", rapid.IntRange(0, 2).Draw(t, "host"))
	cores := rapid.IntRange(1, 4).Draw(t, "cores")
	m.execs[id] = Location{Host: host, ExecutorID: id}
	m.cores[id] = cores
	m.s.AddExecutor(id, host, cores, m.now)
}

func (m *model) execIDs() []string {
	ids := make([]string, 0, len(m.execs))
	for id := range m.execs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (m *model) runningIDs() []int64 {
	ids := make([]int64, 0, len(m.running))
	for id := range m.running {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (m *model) removeExecutor(t *rapid.T) {
	ids := m.execIDs()
	if len(ids) == 0 {
		return
	}
	id := rapid.SampledFrom(ids).Draw(t, "remove")
	out := m.s.RemoveExecutor(id, "test", m.now)
	for tid, l := range m.running {
		if l.ExecutorID == id {
			delete(m.running, tid)
		}
	}
	delete(m.execs, id)
	delete(m.cores, id)
	m.apply(t, out)
}

func (m *model) submit(t *rapid.T) {
	m.nextJob++
	n := rapid.IntRange(1, 6).Draw(t, "tasks")
	ts := TaskSet{ID: TaskSetID{StageID: m.nextJob}, JobID: m.nextJob,
		Pool: rapid.SampledFrom([]string{"", "p0", "p1", "adhoc"}).Draw(t, "pool"), NoSpeculation: rapid.Bool().Draw(t, "nospec")}
	for i := range n {
		task := Task{Partition: i}
		if rapid.IntRange(0, 3).Draw(t, "haspref") == 0 {
			task.Preferred = []Location{{Host: fmt.Sprintf("h%d", rapid.IntRange(0, 3).Draw(t, "prefhost")), ExecutorID: fmt.Sprintf("e%d", rapid.IntRange(0, 8).Draw(t, "prefexec"))}}
		}
		ts.Tasks = append(ts.Tasks, task)
	}
	m.tasks[ts.ID] = n
	m.apply(t, m.s.Submit(ts, m.now))
}

func (m *model) cancel(t *rapid.T) {
	if m.nextJob == 0 {
		return
	}
	id := TaskSetID{StageID: rapid.IntRange(1, m.nextJob).Draw(t, "cancel")}
	out := m.s.Cancel(id, "test", m.now)
	if m.finished[id] == 0 {
		m.terminal[id] = true
	}
	m.apply(t, out)
}

func (m *model) update(t *rapid.T, state TaskState) {
	ids := m.runningIDs()
	if len(ids) == 0 {
		return
	}
	id := rapid.SampledFrom(ids).Draw(t, "task")
	l := m.running[id]
	delete(m.running, id)
	if state == TaskFailed {
		k := taskKey{l.TaskSet, l.Index}
		if m.failedOn[k] == nil {
			m.failedOn[k] = map[string]int{}
		}
		m.failedOn[k][l.ExecutorID]++
	}
	m.apply(t, m.s.Update(TaskUpdate{TaskID: id, State: state, Reason: "r"}, m.now))
}

func (m *model) apply(t *rapid.T, out Output) {
	for _, s := range out.Succeeded {
		k := taskKey{s.TaskSet, s.Index}
		m.succeeded[k]++
		if m.succeeded[k] > 1 {
			t.Fatalf("task %v reported succeeded twice", k)
		}
	}
	for _, f := range out.Finished {
		m.finished[f]++
		if m.finished[f] > 1 {
			t.Fatalf("task set %v finished twice", f)
		}
		for i := range m.tasks[f] {
			if m.succeeded[taskKey{f, i}] != 1 {
				t.Fatalf("task set %v finished but index %d succeeded %d times", f, i, m.succeeded[taskKey{f, i}])
			}
		}
	}
	for _, a := range out.Aborted {
		m.terminal[a.TaskSet] = true
	}
	for _, f := range out.FetchFailed {
		m.terminal[f.TaskSet] = true
	}
	for _, x := range out.Excluded {
		switch {
		case x.Scope == "application":
			m.appExcl[x.ExecutorID] = m.now.Add(m.cfg.Exclude.Timeout)
		case x.ExecutorID == "":
			if m.nodeExcl[x.TaskSet] == nil {
				m.nodeExcl[x.TaskSet] = map[string]bool{}
			}
			m.nodeExcl[x.TaskSet][x.Host] = true
		default:
			if m.stageExcl[x.TaskSet] == nil {
				m.stageExcl[x.TaskSet] = map[string]bool{}
			}
			m.stageExcl[x.TaskSet][x.ExecutorID] = true
		}
	}
}

func (m *model) schedule(t *rapid.T) {
	for _, l := range m.s.Schedule(m.now, nil) {
		k := taskKey{l.TaskSet, l.Index}
		if _, ok := m.execs[l.ExecutorID]; !ok {
			t.Fatalf("launch on unknown executor: %+v", l)
		}
		if m.terminal[l.TaskSet] || m.finished[l.TaskSet] > 0 {
			t.Fatalf("launch for a finished/aborted/cancelled task set: %+v", l)
		}
		if m.succeeded[k] > 0 {
			t.Fatalf("launch of an already successful task: %+v", l)
		}
		// At most one extra attempt: a speculative copy joins exactly one
		// running attempt (which may itself be an earlier copy whose
		// original ended), a regular launch joins none.
		copies, onExec := 0, 0
		for _, r := range m.running {
			if r.TaskSet == l.TaskSet && r.Index == l.Index {
				copies++
			}
			if r.ExecutorID == l.ExecutorID {
				onExec++
			}
		}
		if onExec+1 > m.cores[l.ExecutorID]/m.cfg.CPUsPerTask {
			t.Fatalf("executor %s (%d cores) overcommitted by %+v", l.ExecutorID, m.cores[l.ExecutorID], l)
		}
		if (l.Speculative && copies != 1) || (!l.Speculative && copies != 0) {
			t.Fatalf("launch %+v with %d copies running", l, copies)
		}
		if l.Speculative && m.ran[k][l.ExecutorID] {
			t.Fatalf("speculative copy on an executor where the task ran: %+v", l)
		}
		if m.cfg.Exclude.Enabled {
			if until, ok := m.appExcl[l.ExecutorID]; ok && m.now.Before(until) {
				t.Fatalf("launch on an application-excluded executor: %+v", l)
			}
			if m.stageExcl[l.TaskSet][l.ExecutorID] || m.nodeExcl[l.TaskSet][l.Host] {
				t.Fatalf("launch on an executor excluded for the stage: %+v", l)
			}
			if m.failedOn[k][l.ExecutorID] > 0 {
				t.Fatalf("task retried on an executor where it failed: %+v", l)
			}
		}
		if m.ran[k] == nil {
			m.ran[k] = map[string]bool{}
		}
		m.ran[k][l.ExecutorID] = true
		m.running[l.TaskID] = l
	}
}

// drain lets everything finish: executors stay, every running attempt
// succeeds, time moves on so locality waits and exclusions lapse.
func (m *model) drain(t *rapid.T) {
	fits := false
	for _, c := range m.cores {
		fits = fits || c >= m.cfg.CPUsPerTask
	}
	if !fits {
		m.s.AddExecutor("last", "hlast", 4, m.now)
		m.execs["last"] = Location{Host: "hlast", ExecutorID: "last"}
		m.cores["last"] = 4
	}
	for round := 0; round < 200; round++ {
		m.now = m.now.Add(10 * time.Minute)
		m.apply(t, m.s.Tick(m.now))
		m.schedule(t)
		if len(m.running) == 0 && !m.s.HasPending() {
			break
		}
		for _, id := range m.runningIDs() {
			delete(m.running, id)
			m.apply(t, m.s.Update(TaskUpdate{TaskID: id, State: TaskSucceeded}, m.now))
		}
	}
	if len(m.running) != 0 || m.s.HasPending() {
		t.Fatalf("not drained: %d running, pending=%v", len(m.running), m.s.HasPending())
	}
	for id, n := range m.tasks {
		if m.terminal[id] {
			continue
		}
		if m.finished[id] != 1 {
			t.Fatalf("task set %v not finished once (%d)", id, m.finished[id])
		}
		for i := range n {
			if m.succeeded[taskKey{id, i}] != 1 {
				t.Fatalf("task %v/%d succeeded %d times", id, i, m.succeeded[taskKey{id, i}])
			}
		}
	}
}

func TestPropertyInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newModel(t)
		t.Repeat(map[string]func(*rapid.T){
			"addExecutor":    m.addExecutor,
			"removeExecutor": func(t *rapid.T) { m.advance(t); m.removeExecutor(t) },
			"submit":         func(t *rapid.T) { m.advance(t); m.submit(t) },
			"schedule":       func(t *rapid.T) { m.advance(t); m.schedule(t) },
			"tick":           func(t *rapid.T) { m.advance(t); m.apply(t, m.s.Tick(m.now)) },
			"cancel":         m.cancel,
			"succeed":        func(t *rapid.T) { m.advance(t); m.update(t, TaskSucceeded) },
			"succeed2":       func(t *rapid.T) { m.advance(t); m.update(t, TaskSucceeded) },
			"fail":           func(t *rapid.T) { m.advance(t); m.update(t, TaskFailed) },
			"kill":           func(t *rapid.T) { m.update(t, TaskKilled) },
			"lose":           func(t *rapid.T) { m.update(t, TaskLost) },
			"fetchFail":      func(t *rapid.T) { m.update(t, TaskFetchFailed) },
		})
		m.drain(t)
	})
}

// TestPropertyMinShareFirst: within one Schedule call, a launch for a pool
// at or above its minShare never happens while another pool with
// launchable tasks is below its minShare.
func TestPropertyMinShareFirst(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		npools := rapid.IntRange(2, 5).Draw(t, "pools")
		var pools []PoolConfig
		for i := range npools {
			pools = append(pools, PoolConfig{Name: fmt.Sprintf("p%d", i), Mode: rapid.SampledFrom([]Mode{FIFO, FAIR}).Draw(t, "mode"),
				Weight: rapid.IntRange(1, 5).Draw(t, "weight"), MinShare: rapid.IntRange(0, 6).Draw(t, "minShare")})
		}
		s, _, err := New(Config{Mode: FAIR, Pools: pools})
		if err != nil {
			t.Fatal(err)
		}
		nexec := rapid.IntRange(1, 4).Draw(t, "execs")
		for i := range nexec {
			s.AddExecutor(fmt.Sprintf("e%d", i), fmt.Sprintf("h%d", i), rapid.IntRange(1, 8).Draw(t, "cores"), epoch)
		}
		pending := map[string]int{}
		running := map[string]int{}
		jobs := rapid.IntRange(1, 8).Draw(t, "jobs")
		poolOf := map[TaskSetID]string{}
		for j := range jobs {
			p := pools[rapid.IntRange(0, npools-1).Draw(t, "pool")].Name
			n := rapid.IntRange(1, 10).Draw(t, "tasks")
			id := TaskSetID{StageID: j}
			poolOf[id] = p
			pending[p] += n
			s.Submit(TaskSet{ID: id, JobID: j, Pool: p, Tasks: make([]Task, n)}, epoch)
		}
		minShare := map[string]int{}
		for _, p := range pools {
			minShare[p.Name] = p.MinShare
		}
		for _, l := range s.Schedule(epoch, nil) {
			p := poolOf[l.TaskSet]
			if l.Pool != p {
				t.Fatalf("launch %+v in pool %s, want %s", l, l.Pool, p)
			}
			if running[p] >= minShare[p] {
				for q, n := range pending {
					if n > 0 && running[q] < minShare[q] {
						t.Fatalf("pool %s (running %d, minShare %d) served while %s is below its minShare (%d < %d)", p, running[p], minShare[p], q, running[q], minShare[q])
					}
				}
			}
			running[p]++
			pending[p]--
		}
	})
}
