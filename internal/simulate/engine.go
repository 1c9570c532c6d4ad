package simulate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/stoke-run/stoke/driver/sched"
)

// epoch is virtual time 0, handed to the scheduler as time.Time.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Options tune a run.
type Options struct {
	// Seed drives the random failures of Workload.FailureRate. The same
	// workload, configuration and seed always give the same result.
	Seed uint64
	// Trace records every launch in Result.Launches.
	Trace bool
	// Buckets is the number of points of the share-over-time series
	// (default 240).
	Buckets int
}

type evKind uint8

const (
	evExecAdd evKind = iota
	evExecLost
	evJobArrive
	evStageSubmit
	evTaskEnd
	evJobEnd
	evTick
)

type event struct {
	t    time.Duration
	seq  uint64
	x    int64 // executor, job or stage index, or task id
	kind evKind
}

// queue is a binary min-heap of events by (time, insertion order): events
// at the same time are handled in the order they were scheduled.
type queue []event

func (q queue) less(i, j int) bool {
	return q[i].t < q[j].t || (q[i].t == q[j].t && q[i].seq < q[j].seq)
}

func (q *queue) push(e event) {
	*q = append(*q, e)
	h := *q
	for j := len(h) - 1; j > 0; {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func (q *queue) pop() event {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	*q = h
	return top
}

type execState struct {
	Executor
	alive bool
}

type jobState struct {
	j          *Job
	pool       int
	firstStage int // global index of the job's stage 0
	arrival    time.Duration
	stagesLeft int
	arrived    bool
	done       bool
	failed     bool
	err        string
	end        time.Duration
}

type stageState struct {
	s           *Stage
	job         int32
	parentsLeft int32
	children    []int32 // global indexes
	submitted   bool
	finished    bool
	left        int // tasks not yet succeeded, once submitted
}

type attemptState struct {
	stage int32
	exec  int32
	index int32
	pool  int16
	spec  bool
	fail  bool
	ended bool
}

type sim struct {
	w    *Workload
	cfg  Config
	opt  Options
	s    *sched.Scheduler
	rng  *rand.Rand
	cpus int

	now     time.Duration
	q       queue
	seq     uint64
	nonTick int // events in q other than ticks

	execs    []execState
	execIdx  map[string]int32
	jobs     []jobState
	stages   []stageState
	stageIdx map[int]int32
	att      []attemptState
	liveFrom int // att[:liveFrom] have all ended
	launches []sched.Launch

	followers  map[int][]int32 // jobs that arrive when a job ends
	jobsLeft   int
	tickArmed  bool
	idleSince  time.Duration
	totalCores int

	// Per pool.
	poolNames []string
	weight    []int
	minShare  []int
	running   []int
	active    []int // jobs arrived and not ended
	demand    []int // tasks of submitted stages not yet succeeded
	activeW   int   // sum of weights of active pools

	// Accumulated over [origin, now].
	origin                      time.Duration
	started                     bool
	busyArea, capArea           float64
	activeTime, shareArea       []float64
	entitledArea, belowMinShare []float64
	series                      series

	counts   TaskCounts
	warnings []string
	warned   map[string]bool
	trace    []LaunchRecord
}

// Run replays w under cfg in virtual time through the real scheduling core
// and reports what happened. It is deterministic: the same arguments give
// the same Result.
func Run(w *Workload, cfg Config, opt Options) (*Result, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	s, warnings, err := sched.New(cfg.Sched)
	if err != nil {
		return nil, fmt.Errorf("configuration %s: %w", cfg.Name, err)
	}
	if opt.Buckets <= 0 {
		opt.Buckets = 240
	}
	sm := &sim{
		w: w, cfg: cfg, opt: opt, s: s,
		rng:      rand.New(rand.NewPCG(opt.Seed, 0x5eed)),
		cpus:     max(cfg.Sched.CPUsPerTask, 1),
		execIdx:  map[string]int32{},
		stageIdx: map[int]int32{},
		warned:   map[string]bool{},
	}
	for _, wmsg := range slices.Concat(cfg.Warnings, warnings) {
		sm.warn(wmsg)
	}
	sm.setup()
	sm.loop()
	return sm.result(), nil
}

func (sm *sim) warn(msg string) {
	if sm.warned[msg] {
		return
	}
	sm.warned[msg] = true
	if len(sm.warnings) < 50 {
		sm.warnings = append(sm.warnings, msg)
	}
}

func (sm *sim) push(t time.Duration, kind evKind, x int64) {
	sm.seq++
	if kind != evTick {
		sm.nonTick++
	}
	sm.q.push(event{t: t, seq: sm.seq, x: x, kind: kind})
}

// executors applies the configuration's executor override.
func (sm *sim) executors() []Executor {
	list := sm.w.Executors
	if sm.cfg.Executors > 0 {
		out := slices.Clone(list[:min(len(list), sm.cfg.Executors)])
		for i := len(out); i < sm.cfg.Executors; i++ {
			id := fmt.Sprintf("sim-%d", i)
			out = append(out, Executor{ID: id, Host: "sim-host-" + id, Cores: list[0].Cores, Lost: Never, Slowdown: 1})
		}
		list = out
	}
	if sm.cfg.ExecutorCores > 0 {
		list = slices.Clone(list)
		for i := range list {
			list[i].Cores = sm.cfg.ExecutorCores
		}
	}
	return list
}

func (sm *sim) poolOf(name string) int {
	if name == "" {
		name = sm.cfg.DefaultPool
	}
	if name == "" {
		name = "default"
	}
	if i := slices.Index(sm.poolNames, name); i >= 0 {
		return i
	}
	w, ms := 1, 0
	for _, p := range sm.cfg.Sched.Pools {
		if p.Name == name {
			w, ms = p.Weight, p.MinShare
		}
	}
	sm.poolNames = append(sm.poolNames, name)
	sm.weight = append(sm.weight, max(w, 1))
	sm.minShare = append(sm.minShare, max(ms, 0))
	return len(sm.poolNames) - 1
}

func (sm *sim) setup() {
	for i, e := range sm.executors() {
		sm.execs = append(sm.execs, execState{Executor: e})
		sm.push(e.Add, evExecAdd, int64(i))
		if e.Lost != Never {
			sm.push(e.Lost, evExecLost, int64(i))
		}
	}
	for _, p := range sm.cfg.Sched.Pools {
		sm.poolOf(p.Name)
	}
	sm.jobs = make([]jobState, len(sm.w.Jobs))
	sm.followers = map[int][]int32{}
	for i := range sm.w.Jobs {
		j := &sm.w.Jobs[i]
		js := &sm.jobs[i]
		js.j, js.pool, js.firstStage, js.stagesLeft = j, sm.poolOf(j.Pool), len(sm.stages), len(j.Stages)
		for k := range j.Stages {
			st := &j.Stages[k]
			sm.stageIdx[st.ID] = int32(len(sm.stages))
			sm.stages = append(sm.stages, stageState{s: st, job: int32(i), parentsLeft: int32(len(st.Parents))})
			for _, p := range st.Parents {
				par := &sm.stages[js.firstStage+p]
				par.children = append(par.children, int32(len(sm.stages)-1))
			}
		}
		js.arrival = j.Arrival
		if j.HasAfter {
			sm.followers[j.After] = append(sm.followers[j.After], int32(i))
		} else {
			sm.push(j.Arrival, evJobArrive, int64(i))
		}
	}
	n := len(sm.poolNames)
	sm.running, sm.active, sm.demand = make([]int, n), make([]int, n), make([]int, n)
	sm.activeTime, sm.shareArea = make([]float64, n), make([]float64, n)
	sm.entitledArea, sm.belowMinShare = make([]float64, n), make([]float64, n)
	sm.jobsLeft = len(sm.jobs)
	sm.idleSince = -1
	sm.att = make([]attemptState, 0, sm.w.Tasks()+sm.w.Tasks()/16+16)
	if len(sm.w.Jobs) > 0 {
		sm.origin = sm.w.Jobs[0].Arrival
	}
	sm.series = newSeries(sm.origin, n, sm.opt.Buckets)
}

func (sm *sim) at() time.Time { return epoch.Add(sm.now) }

func (sm *sim) loop() {
	for sm.jobsLeft > 0 && len(sm.q) > 0 {
		t := sm.q[0].t
		sm.advance(t)
		for len(sm.q) > 0 && sm.q[0].t == t {
			e := sm.q.pop()
			if e.kind != evTick {
				sm.nonTick--
			}
			sm.handleEvent(e)
		}
		if sm.s.HasPending() {
			sm.schedule()
		}
		if sm.stalled() {
			break
		}
		if !sm.tickArmed && (sm.counts.running > 0 || sm.s.HasPending()) {
			sm.tickArmed = true
			iv := sm.cfg.TickInterval
			sm.push((sm.now/iv+1)*iv, evTick, 0)
		}
	}
	for i := range sm.jobs {
		switch js := &sm.jobs[i]; {
		case js.done:
		case !js.arrived && js.j.HasAfter:
			js.err = "never submitted: the job it waits for did not end"
		default:
			js.err = "did not finish: no executor could run its tasks"
		}
	}
}

// stalled reports whether nothing can happen any more but ticks: nothing
// runs, no event but a tick is due, and the longest locality wait (three
// levels) has passed.
func (sm *sim) stalled() bool {
	if sm.counts.running > 0 || sm.nonTick > 0 {
		sm.idleSince = -1
		return false
	}
	if sm.idleSince < 0 {
		sm.idleSince = sm.now
	}
	return sm.now-sm.idleSince > 3*sm.cfg.Sched.LocalityWait+3*sm.cfg.TickInterval
}

func (sm *sim) handleEvent(e event) {
	switch e.kind {
	case evExecAdd:
		ex := &sm.execs[e.x]
		ex.alive = true
		sm.execIdx[ex.ID] = int32(e.x)
		sm.totalCores += ex.Cores
		sm.s.AddExecutor(ex.ID, ex.Host, ex.Cores, sm.at())
	case evExecLost:
		sm.lose(int32(e.x))
	case evJobArrive:
		js := &sm.jobs[e.x]
		js.arrived, js.arrival = true, sm.now
		if sm.active[js.pool] == 0 {
			sm.activeW += sm.weight[js.pool]
		}
		sm.active[js.pool]++
		if len(js.j.Stages) == 0 {
			sm.push(sm.now+js.j.EndDelay, evJobEnd, e.x)
		}
		for k := range js.j.Stages {
			if len(js.j.Stages[k].Parents) == 0 {
				sm.push(sm.now+js.j.Stages[k].SubmitDelay, evStageSubmit, int64(js.firstStage+k))
			}
		}
	case evStageSubmit:
		sm.submit(int32(e.x))
	case evTaskEnd:
		a := &sm.att[e.x]
		if a.ended {
			return // killed, or lost with its executor
		}
		sm.ended(a)
		u := sched.TaskUpdate{TaskID: e.x, State: sched.TaskSucceeded}
		if a.fail {
			u.State, u.Reason = sched.TaskFailed, "injected failure"
			sm.counts.Failed++
		}
		sm.handle(sm.s.Update(u, sm.at()))
	case evJobEnd:
		sm.finishJob(int(e.x), "")
	case evTick:
		sm.tickArmed = false
		sm.handle(sm.s.Tick(sm.at()))
	}
}

func (sm *sim) submit(g int32) {
	st := &sm.stages[g]
	js := &sm.jobs[st.job]
	if js.done || st.submitted {
		return
	}
	st.submitted = true
	n := len(st.s.Durations)
	st.left = n
	sm.demand[js.pool] += n
	ts := sched.TaskSet{ID: sched.TaskSetID{StageID: st.s.ID}, JobID: js.j.ID, Pool: js.j.Pool, Tasks: make([]sched.Task, n)}
	if ts.Pool == "" {
		ts.Pool = sm.cfg.DefaultPool
	}
	for i := range ts.Tasks {
		ts.Tasks[i].Partition = i
	}
	for i, p := range st.s.Prefs {
		if i >= 0 && i < n {
			ts.Tasks[i].Preferred = p
		}
	}
	sm.handle(sm.s.Submit(ts, sm.at()))
}

func (sm *sim) schedule() {
	sm.launches = sm.s.Schedule(sm.at(), sm.launches[:0])
	for i := range sm.launches {
		l := &sm.launches[i]
		if l.TaskID != int64(len(sm.att)) {
			panic(fmt.Sprintf("simulate: task id %d launched, want %d", l.TaskID, len(sm.att)))
		}
		g := sm.stageIdx[l.TaskSet.StageID]
		st := &sm.stages[g]
		ex := sm.execIdx[l.ExecutorID]
		d := st.s.Durations[l.Index]
		fail := false
		if fs := st.s.Failures[l.Index]; l.Attempt < len(fs) {
			d, fail = fs[l.Attempt], true
		} else if r := sm.w.FailureRate; r > 0 && sm.rng.Float64() < r {
			d, fail = time.Duration(sm.rng.Float64()*float64(d)), true
		}
		if sd := sm.execs[ex].Slowdown; sd != 1 {
			d = time.Duration(float64(d) * sd)
		}
		pool := sm.jobs[st.job].pool
		sm.att = append(sm.att, attemptState{stage: g, exec: ex, index: int32(l.Index), pool: int16(pool), spec: l.Speculative, fail: fail})
		sm.running[pool]++
		sm.counts.running++
		sm.counts.Launched++
		if l.Speculative {
			sm.counts.Speculative++
		}
		if sm.opt.Trace {
			sm.trace = append(sm.trace, LaunchRecord{Time: Dur(sm.now), TaskID: l.TaskID, Job: sm.jobs[st.job].j.ID, Stage: st.s.ID, Index: l.Index,
				Attempt: l.Attempt, Executor: l.ExecutorID, Speculative: l.Speculative, Locality: l.Locality.String(), Duration: Dur(d), Fails: fail})
		}
		sm.push(sm.now+d, evTaskEnd, l.TaskID)
	}
}

// ended does the bookkeeping of an attempt that stopped running.
func (sm *sim) ended(a *attemptState) {
	a.ended = true
	sm.running[a.pool]--
	sm.counts.running--
	for sm.liveFrom < len(sm.att) && sm.att[sm.liveFrom].ended {
		sm.liveFrom++
	}
}

// lose removes an executor: its running attempts are lost (the core
// requeues them).
func (sm *sim) lose(x int32) {
	ex := &sm.execs[x]
	if !ex.alive {
		return
	}
	ex.alive = false
	sm.totalCores -= ex.Cores
	for i := sm.liveFrom; i < len(sm.att); i++ {
		if a := &sm.att[i]; !a.ended && a.exec == x {
			sm.ended(a)
			sm.counts.Lost++
		}
	}
	sm.handle(sm.s.RemoveExecutor(ex.ID, "lost (simulated)", sm.at()))
}

// handle carries out the core's decisions.
func (sm *sim) handle(out sched.Output) {
	for _, su := range out.Succeeded {
		a := &sm.att[su.TaskID]
		sm.counts.Succeeded++
		if a.spec {
			sm.counts.SpeculativeWon++
		}
		st := &sm.stages[a.stage]
		st.left--
		sm.demand[a.pool]--
	}
	for _, k := range out.Kills {
		a := &sm.att[k.TaskID]
		if a.ended {
			continue
		}
		sm.ended(a)
		sm.counts.Killed++
		sm.handle(sm.s.Update(sched.TaskUpdate{TaskID: k.TaskID, State: sched.TaskKilled, Reason: k.Reason}, sm.at()))
	}
	for _, id := range out.Finished {
		sm.stageFinished(sm.stageIdx[id.StageID])
	}
	for _, ab := range out.Aborted {
		st := &sm.stages[sm.stageIdx[ab.TaskSet.StageID]]
		sm.finishJob(int(st.job), ab.Reason)
	}
	for _, wmsg := range out.Warnings {
		sm.warn(wmsg)
	}
}

func (sm *sim) stageFinished(g int32) {
	st := &sm.stages[g]
	if st.finished {
		return
	}
	st.finished = true
	js := &sm.jobs[st.job]
	if js.done {
		return
	}
	for _, c := range st.children {
		ch := &sm.stages[c]
		if ch.parentsLeft--; ch.parentsLeft == 0 {
			sm.push(sm.now+ch.s.SubmitDelay, evStageSubmit, int64(c))
		}
	}
	if js.stagesLeft--; js.stagesLeft == 0 {
		sm.push(sm.now+js.j.EndDelay, evJobEnd, int64(st.job))
	}
}

// finishJob ends job i; a non-empty reason fails it and cancels its stages.
func (sm *sim) finishJob(i int, reason string) {
	js := &sm.jobs[i]
	if js.done {
		return
	}
	js.done, js.end = true, sm.now
	sm.jobsLeft--
	for _, f := range sm.followers[i] {
		sm.push(sm.now+sm.jobs[f].j.Gap, evJobArrive, int64(f))
	}
	if sm.active[js.pool]--; sm.active[js.pool] == 0 {
		sm.activeW -= sm.weight[js.pool]
	}
	if reason == "" {
		return
	}
	js.failed, js.err = true, reason
	for k := range js.j.Stages {
		st := &sm.stages[js.firstStage+k]
		if st.submitted && !st.finished {
			st.finished = true
			sm.demand[js.pool] -= st.left
			st.left = 0
			sm.handle(sm.s.Cancel(sched.TaskSetID{StageID: st.s.ID}, "job failed: "+reason, sm.at()))
		}
	}
}

// advance moves the clock to t, accumulating the time-weighted statistics.
func (sm *sim) advance(t time.Duration) {
	if t <= sm.now {
		return
	}
	from := sm.now
	sm.now = t
	if from < sm.origin {
		from = sm.origin
	}
	if t <= from || len(sm.w.Jobs) == 0 {
		return
	}
	dt := float64(t - from)
	slots := sm.totalCores / sm.cpus
	sm.busyArea += float64(sm.counts.running*sm.cpus) * dt
	sm.capArea += float64(sm.totalCores) * dt
	for p, act := range sm.active {
		if act == 0 {
			continue
		}
		sm.activeTime[p] += dt
		if slots > 0 {
			sm.shareArea[p] += float64(sm.running[p]) / float64(slots) * dt
		}
		sm.entitledArea[p] += float64(sm.weight[p]) / float64(sm.activeW) * dt
		if sm.running[p] < min(sm.minShare[p], sm.demand[p]) {
			sm.belowMinShare[p] += dt
		}
	}
	sm.series.add(from, t, sm.running, slots)
}
