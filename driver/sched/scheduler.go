package sched

import (
	"fmt"
	"slices"
	"time"
)

// executor is a live executor and its free cores.
type executor struct {
	id, host string
	cores    int
	free     int
	running  int
}

// attempt is one launched task attempt that has not ended yet.
type attempt struct {
	id          int64
	ts          *taskSetManager
	index       int
	num         int
	exec        *executor
	launch      time.Time
	speculative bool
	killed      bool // a Kill was already emitted
}

// Scheduler is the driver's task scheduler. It is not safe for concurrent
// use; the driver serializes calls.
type Scheduler struct {
	cfg  Config
	cpus int

	pools    map[string]*pool
	poolList []*pool // creation order, for Pools()
	root     poolHeap
	fifo     *pool // FIFO mode: the single pool holding every task set

	sets   map[TaskSetID]*taskSetManager
	setSeq int64

	execs     []*executor // registration order: the round-robin order
	execByID  map[string]*executor
	hostExecs map[string]int // live executors per host
	execGen   int

	nextTaskID int64
	live       []*attempt // live[id-liveBase] for running attempts, nil when ended
	liveBase   int64
	slab       []attempt

	spec        specState
	appExcl     *appExclusion
	round       int
	touched     []*taskSetManager
	rr          []*executor
	order       []*taskSetManager
	poolScratch []*pool
}

// New builds a scheduler. It returns warnings for pools it defaulted or
// added. Zero-valued fields take the documented defaults: CPUsPerTask 1,
// MaxFailures 4, the speculation defaults of SPEC §5 and the exclusion
// defaults of the reference. LocalityWait 0 means no delay scheduling.
func New(cfg Config) (*Scheduler, []string, error) {
	var warnings []string
	if cfg.CPUsPerTask < 0 || cfg.MaxFailures < 0 || cfg.LocalityWait < 0 {
		return nil, nil, fmt.Errorf("sched: negative CPUsPerTask (%d), MaxFailures (%d) or LocalityWait (%v)", cfg.CPUsPerTask, cfg.MaxFailures, cfg.LocalityWait)
	}
	if cfg.CPUsPerTask == 0 {
		cfg.CPUsPerTask = 1
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = 4
	}
	if cfg.Mode != FIFO && cfg.Mode != FAIR {
		return nil, nil, fmt.Errorf("sched: unsupported scheduling mode %v", cfg.Mode)
	}
	sp := &cfg.Speculation
	if sp.Interval == 0 {
		sp.Interval = 100 * time.Millisecond
	}
	if sp.Quantile == 0 {
		sp.Quantile = 0.75
	}
	if sp.Multiplier == 0 {
		sp.Multiplier = 1.5
	}
	if sp.MinTaskRuntime == 0 {
		sp.MinTaskRuntime = 100 * time.Millisecond
	}
	if sp.Quantile < 0 || sp.Quantile > 1 || sp.Multiplier < 0 || sp.Interval < 0 || sp.MinTaskRuntime < 0 {
		return nil, nil, fmt.Errorf("sched: invalid speculation settings %+v", *sp)
	}
	ex := &cfg.Exclude
	for _, f := range []*int{&ex.MaxTaskAttemptsPerExecutor, &ex.MaxTaskAttemptsPerNode, &ex.StageMaxFailedTasksPerExecutor, &ex.StageMaxFailedExecutorsPerNode, &ex.AppMaxFailedTasksPerExecutor} {
		if *f < 0 {
			return nil, nil, fmt.Errorf("sched: invalid exclusion settings %+v: counts must be positive", *ex)
		}
	}
	defInt(&ex.MaxTaskAttemptsPerExecutor, 1)
	defInt(&ex.MaxTaskAttemptsPerNode, 2)
	defInt(&ex.StageMaxFailedTasksPerExecutor, 2)
	defInt(&ex.StageMaxFailedExecutorsPerNode, 2)
	defInt(&ex.AppMaxFailedTasksPerExecutor, 2)
	if ex.Timeout <= 0 {
		ex.Timeout = time.Hour
	}
	if ex.Enabled && ex.MaxTaskAttemptsPerNode >= cfg.MaxFailures {
		return nil, nil, fmt.Errorf("sched: exclusion MaxTaskAttemptsPerNode (%d) must be below MaxFailures (%d), or a task would never be retried on another node before its job fails", ex.MaxTaskAttemptsPerNode, cfg.MaxFailures)
	}

	s := &Scheduler{
		cfg:       cfg,
		cpus:      cfg.CPUsPerTask,
		pools:     map[string]*pool{},
		sets:      map[TaskSetID]*taskSetManager{},
		execByID:  map[string]*executor{},
		hostExecs: map[string]int{},
		appExcl:   newAppExclusion(),
	}
	if cfg.Mode == FIFO {
		s.fifo = newPool(PoolConfig{Name: defaultPoolName, Mode: FIFO, Weight: defaultWeight})
		s.addPool(s.fifo)
		return s, nil, nil
	}
	if len(cfg.Pools) == 0 {
		s.addPool(newPool(PoolConfig{Name: defaultPoolName, Mode: FAIR, Weight: defaultWeight}))
		return s, nil, nil
	}
	for _, pc := range cfg.Pools {
		if pc.Weight < 1 {
			warnings = append(warnings, fmt.Sprintf("pool %q: weight %d is invalid; using the default 1", pc.Name, pc.Weight))
			pc.Weight = defaultWeight
		}
		if pc.MinShare < 0 {
			warnings = append(warnings, fmt.Sprintf("pool %q: minShare %d is invalid; using the default 0", pc.Name, pc.MinShare))
			pc.MinShare = defaultMinShare
		}
		if pc.Mode != FIFO && pc.Mode != FAIR {
			warnings = append(warnings, fmt.Sprintf("pool %q: schedulingMode %v is invalid; using the default FIFO", pc.Name, pc.Mode))
			pc.Mode = FIFO
		}
		if p, dup := s.pools[pc.Name]; dup {
			warnings = append(warnings, fmt.Sprintf("pool %q is configured more than once; the last definition wins", pc.Name))
			p.mode, p.weight, p.minShare = pc.Mode, pc.Weight, pc.MinShare
			continue
		}
		s.addPool(newPool(pc))
	}
	if _, ok := s.pools[defaultPoolName]; !ok {
		warnings = append(warnings, `no pool named "default" is configured; created it with FIFO mode, weight 1, minShare 0`)
		s.addPool(newPool(PoolConfig{Name: defaultPoolName, Mode: FIFO, Weight: defaultWeight}))
	}
	return s, warnings, nil
}

func defInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func (s *Scheduler) addPool(p *pool) {
	s.pools[p.name] = p
	s.poolList = append(s.poolList, p)
}

// Submit adds a task set. Its pool is created (FIFO, weight 1, minShare 0)
// with a warning if it is not configured; pools are ignored in FIFO mode. A
// newer attempt of a stage turns older attempts of that stage into zombies
// (their running attempts continue, they launch nothing more).
func (s *Scheduler) Submit(ts TaskSet, now time.Time) Output {
	var out Output
	if _, dup := s.sets[ts.ID]; dup {
		out.Warnings = append(out.Warnings, fmt.Sprintf("task set %d.%d was submitted twice; the second submission is ignored", ts.ID.StageID, ts.ID.StageAttempt))
		return out
	}
	p := s.fifo
	if p == nil {
		name := ts.Pool
		if name == "" {
			name = defaultPoolName
		}
		p = s.pools[name]
		if p == nil {
			p = newPool(PoolConfig{Name: name, Mode: FIFO, Weight: defaultWeight})
			s.addPool(p)
			out.Warnings = append(out.Warnings, fmt.Sprintf("job %d was submitted to scheduler pool %q, which is not configured; created it with FIFO mode, weight 1, minShare 0", ts.JobID, name))
		}
	}
	for _, old := range s.sets { // order is irrelevant: nothing is output
		if old.id.StageID == ts.ID.StageID && !old.zombie {
			old.zombie = true
			s.reposition(old)
			s.maybeRemove(old)
		}
	}
	s.setSeq++
	m := newTaskSetManager(ts, s.setSeq, now)
	m.pool = p
	m.minFinished = max(int(s.cfg.Speculation.Quantile*float64(len(m.tasks))), 1)
	if s.cfg.Exclude.Enabled {
		m.excl = newStageExclusion()
	}
	p.taskSets++
	s.sets[ts.ID] = m
	if len(m.tasks) == 0 {
		m.finished, m.zombie = true, true
		out.Finished = append(out.Finished, ts.ID)
		s.maybeRemove(m)
		return out
	}
	s.reposition(m)
	return out
}

// sortedSets lists the task sets in submission order (deterministic
// iteration where map order would not be).
func (s *Scheduler) sortedSets() []*taskSetManager {
	list := make([]*taskSetManager, 0, len(s.sets))
	for _, m := range s.sets {
		list = append(list, m)
	}
	slices.SortFunc(list, func(a, b *taskSetManager) int { return int(a.seq - b.seq) })
	return list
}

// Cancel kills every running attempt of the task set and removes it.
func (s *Scheduler) Cancel(id TaskSetID, reason string, now time.Time) Output {
	var out Output
	m := s.sets[id]
	if m == nil {
		return out
	}
	m.zombie = true
	s.killAll(m, reason, &out)
	s.remove(m)
	return out
}

// killAll emits a Kill for every running attempt of m not killed yet.
func (s *Scheduler) killAll(m *taskSetManager, reason string, out *Output) {
	for _, a := range s.live {
		if a != nil && a.ts == m && !a.killed {
			a.killed = true
			out.Kills = append(out.Kills, Kill{TaskID: a.id, ExecutorID: a.exec.id, Reason: reason})
		}
	}
}

// remove takes m out of its pool and the scheduler. Its still-running
// attempts keep their slots until they are reported ended.
func (s *Scheduler) remove(m *taskSetManager) {
	if m.removed {
		return
	}
	m.removed = true
	delete(s.sets, m.id)
	m.pool.taskSets--
	s.reposition(m)
}

// maybeRemove removes a zombie task set once nothing of it runs.
func (s *Scheduler) maybeRemove(m *taskSetManager) {
	if m.zombie && m.running == 0 {
		s.remove(m)
	}
}

// AddExecutor registers an executor (or updates the cores of a known one).
func (s *Scheduler) AddExecutor(id, host string, cores int, now time.Time) {
	if e := s.execByID[id]; e != nil {
		e.free += cores - e.cores
		e.cores = cores
		return
	}
	e := &executor{id: id, host: host, cores: cores, free: cores}
	s.execs = append(s.execs, e)
	s.execByID[id] = e
	s.hostExecs[host]++
	s.execGen++
}

// RemoveExecutor forgets an executor: its slots vanish and its running
// attempts are requeued without counting as failures. (Shuffle output it
// held is the DAG scheduler's business.)
func (s *Scheduler) RemoveExecutor(id, reason string, now time.Time) Output {
	var out Output
	e := s.execByID[id]
	if e == nil {
		return out
	}
	why := fmt.Sprintf("executor %s lost: %s", id, reason)
	for _, a := range s.live {
		if a != nil && a.exec == e {
			s.endAttempt(a, TaskLost, why, now, &out)
		}
	}
	s.execs = slices.DeleteFunc(s.execs, func(x *executor) bool { return x == e })
	delete(s.execByID, id)
	if s.hostExecs[e.host]--; s.hostExecs[e.host] == 0 {
		delete(s.hostExecs, e.host)
	}
	s.execGen++
	s.checkAllUnschedulable(&out)
	return out
}

// HasPending reports whether some task set has tasks (or speculative
// copies) waiting for a slot.
func (s *Scheduler) HasPending() bool { return len(s.root) > 0 }

// Pools describes the pools for the UI, in creation order. In FIFO mode
// there is a single pool, "default".
func (s *Scheduler) Pools() []PoolStatus {
	out := make([]PoolStatus, 0, len(s.poolList))
	for _, p := range s.poolList {
		out = append(out, PoolStatus{Name: p.name, Mode: p.mode, Weight: p.weight, MinShare: p.minShare, RunningTasks: p.running, TaskSets: p.taskSets})
	}
	return out
}

// Schedule fills every free slot it can and appends the launches to dst.
// Slots are assigned one at a time, round-robin over the executors with
// free cores, and the pool/task-set order is re-evaluated after each one.
// Successive passes over the executors alternate direction, so that a tie
// broken by name does not pin one task set to the first executor of every
// pass (with two jobs sharing two executors fairly, each gets half of each).
func (s *Scheduler) Schedule(now time.Time, dst []Launch) []Launch {
	s.appExcl.expire(now)
	s.round++
	rr := s.rr[:0]
	slots := 0
	for _, e := range s.execs {
		if e.free >= s.cpus && !s.appExcl.excluded(e.id) {
			rr = append(rr, e)
			slots += e.free / s.cpus
		}
	}
	// Reserve for the most launches this call can make, so that placements
	// do not allocate one by one.
	waiting := 0
	for _, p := range s.root {
		for _, m := range p.heap {
			waiting += m.pendingCount + m.specCount
		}
	}
	if n := min(slots, waiting); n > 0 {
		s.live = slices.Grow(s.live, n)
		if len(s.slab) < n {
			s.slab = make([]attempt, min(max(n, 512), 1<<14))
		}
	}
	for pass := 0; len(rr) > 0 && len(s.root) > 0; pass++ {
		n := 0
		if pass%2 == 0 {
			for _, e := range rr {
				if len(s.root) > 0 && s.placeOne(e, now, &dst) && e.free >= s.cpus {
					rr[n] = e
					n++
				}
			}
		} else {
			// Backwards, compacting towards the end, then shift down.
			w := len(rr)
			for j := len(rr) - 1; j >= 0; j-- {
				e := rr[j]
				if len(s.root) > 0 && s.placeOne(e, now, &dst) && e.free >= s.cpus {
					w--
					rr[w] = e
				}
			}
			n = copy(rr, rr[w:])
		}
		clear(rr[n:])
		rr = rr[:n]
	}
	s.rr = rr[:0]
	s.resetLocalityTimers(now)
	return dst
}

// placeOne assigns one slot of e: to the first schedulable task set in
// order, or if that one cannot use e, to the first that can.
func (s *Scheduler) placeOne(e *executor, now time.Time, dst *[]Launch) bool {
	top := s.root[0].heap[0]
	if s.offer(top, e, now, dst) {
		return true
	}
	if len(s.root) == 1 && len(s.root[0].heap) == 1 {
		return false
	}
	order := s.sortedTaskSets(s.order[:0])
	ok := false
	for _, m := range order {
		if m != top && s.offer(m, e, now, dst) {
			ok = true
			break
		}
	}
	clear(order)
	s.order = order[:0]
	return ok
}

// offer asks task set m to use one slot of e.
func (s *Scheduler) offer(m *taskSetManager, e *executor, now time.Time, dst *[]Launch) bool {
	if m.zombie || s.excludedForTaskSet(m, e) {
		return false
	}
	allowed := s.allowedLevel(m, now)
	i, spec := s.dequeue(m, e, allowed)
	if i < 0 {
		if m.pendingCount > 0 && allowed < Any {
			s.noteOffer(m, false, Any)
		}
		return false
	}
	loc := m.taskLocality(i, e)
	if !spec {
		s.noteOffer(m, true, loc)
	}
	*dst = append(*dst, s.launch(m, i, e, loc, spec, now))
	return true
}

// launch records a new attempt of index i of m on e.
func (s *Scheduler) launch(m *taskSetManager, i int, e *executor, loc Locality, spec bool, now time.Time) Launch {
	t := &m.tasks[i]
	if len(s.slab) == 0 {
		s.slab = make([]attempt, 512)
	}
	a := &s.slab[0]
	s.slab = s.slab[1:]
	*a = attempt{id: s.nextTaskID, ts: m, index: i, num: int(t.attempts), exec: e, launch: now, speculative: spec}
	s.nextTaskID++
	if len(s.live) == 0 {
		s.liveBase = a.id
	}
	s.live = append(s.live, a)

	if t.runIDs[0] < 0 {
		t.runIDs[0] = a.id
	} else {
		t.runIDs[1] = a.id
	}
	t.copies++
	t.attempts++
	t.recordRan(e)
	e.free -= s.cpus
	e.running++
	m.running++
	m.pool.running++
	if !spec {
		m.pendingCount--
	}
	s.reposition(m)
	return Launch{
		TaskID: a.id, TaskSet: m.id, JobID: m.jobID, Pool: m.pool.name,
		Index: i, Partition: int(t.partition), Attempt: a.num,
		ExecutorID: e.id, Host: e.host, Speculative: spec, Locality: loc, LaunchTime: now,
	}
}

// lookup returns the live attempt with this id, or nil.
func (s *Scheduler) lookup(id int64) *attempt {
	i := id - s.liveBase
	if i < 0 || i >= int64(len(s.live)) {
		return nil
	}
	return s.live[i]
}

// release frees the slot and the bookkeeping of an ended attempt.
func (s *Scheduler) release(a *attempt) {
	s.live[a.id-s.liveBase] = nil
	for len(s.live) > 0 && s.live[0] == nil {
		s.live = s.live[1:]
		s.liveBase++
	}
	a.exec.free += s.cpus
	a.exec.running--
	m := a.ts
	m.running--
	m.pool.running--
	t := &m.tasks[a.index]
	t.copies--
	if t.runIDs[0] == a.id {
		t.runIDs[0] = -1
	} else if t.runIDs[1] == a.id {
		t.runIDs[1] = -1
	}
}

// Update applies an executor's status report for an attempt. Reports for
// unknown or already ended attempts are ignored.
func (s *Scheduler) Update(u TaskUpdate, now time.Time) Output {
	var out Output
	a := s.lookup(u.TaskID)
	if a == nil || u.State == TaskRunning {
		return out
	}
	switch u.State {
	case TaskSucceeded:
		s.succeed(a, now, &out)
	case TaskFetchFailed:
		s.release(a)
		m := a.ts
		if !m.removed && !m.aborted {
			m.zombie = true
			out.FetchFailed = append(out.FetchFailed, FetchFailure{TaskID: a.id, TaskSet: m.id, Index: a.index, Partition: int(m.tasks[a.index].partition), Reason: u.Reason})
		}
		s.reposition(m)
		s.maybeRemove(m)
	default: // TaskFailed, TaskKilled, TaskLost
		s.endAttempt(a, u.State, u.Reason, now, &out)
	}
	return out
}

// succeed handles a successful attempt: the first success of an index wins.
func (s *Scheduler) succeed(a *attempt, now time.Time, out *Output) {
	s.release(a)
	m := a.ts
	t := &m.tasks[a.index]
	if !t.successful && !m.removed && !m.aborted {
		t.successful = true
		t.failures = 0
		m.succeeded++
		d := now.Sub(a.launch)
		out.Succeeded = append(out.Succeeded, Success{TaskID: a.id, TaskSet: m.id, Index: a.index, Partition: int(t.partition), Duration: d})
		s.recordDuration(m, d)
		if t.speculatable {
			t.speculatable = false
			m.specCount--
		}
		for _, id := range t.runIDs {
			if o := s.lookup(id); id >= 0 && o != nil && !o.killed {
				o.killed = true
				out.Kills = append(out.Kills, Kill{TaskID: o.id, ExecutorID: o.exec.id, Reason: fmt.Sprintf("another attempt of task %d in stage %d.%d succeeded", a.index, m.id.StageID, m.id.StageAttempt)})
			}
		}
		if m.succeeded == len(m.tasks) && !m.finished {
			m.finished = true
			m.zombie = true
			out.Finished = append(out.Finished, m.id)
			s.taskSetSucceeded(m, now, out)
		}
	}
	s.reposition(m)
	s.maybeRemove(m)
}

// endAttempt handles an attempt that ended without success: a failure
// (counted toward MaxFailures), a kill or a loss (not counted).
func (s *Scheduler) endAttempt(a *attempt, state TaskState, reason string, now time.Time, out *Output) {
	s.release(a)
	m := a.ts
	t := &m.tasks[a.index]
	defer s.maybeRemove(m)
	defer s.reposition(m)
	if m.removed || m.aborted || t.successful {
		return
	}
	counted := state == TaskFailed
	if counted {
		t.failures++
		t.lastErr = reason
		s.recordFailure(m, a, now, out)
		if !m.zombie && t.failures >= s.cfg.MaxFailures {
			s.abort(m, fmt.Sprintf("Task %d in stage %d.%d failed %d times; most recent failure: %s", a.index, m.id.StageID, m.id.StageAttempt, t.failures, reason), out)
			return
		}
	}
	if m.zombie || t.copies > 0 {
		return
	}
	m.addPending(a.index)
	out.Requeued = append(out.Requeued, Retry{TaskID: a.id, TaskSet: m.id, Index: a.index, Counted: counted, Reason: reason})
	if counted && m.excl != nil {
		s.reposition(m)
		s.checkUnschedulable(m, out)
	}
}

// abort fails task set m: it launches nothing more and its running
// attempts are killed.
func (s *Scheduler) abort(m *taskSetManager, reason string, out *Output) {
	m.zombie, m.aborted = true, true
	out.Aborted = append(out.Aborted, Abort{TaskSet: m.id, Reason: reason})
	s.killAll(m, "task set aborted: "+reason, out)
	s.reposition(m)
	s.maybeRemove(m)
}

// Tick runs the periodic work: the speculation check (at most every
// Speculation.Interval) and the expiry of application-level exclusions.
func (s *Scheduler) Tick(now time.Time) Output {
	var out Output
	s.appExcl.expire(now)
	s.checkSpeculation(now, &out)
	s.checkAllUnschedulable(&out)
	return out
}
