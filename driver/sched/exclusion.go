package sched

import (
	"fmt"
	"slices"
	"time"
)

// Exclusion on failure (the reference's HealthTracker and
// TaskSetExcludelist), active only with Config.Exclude.Enabled. Only counted
// failures (TaskFailed) feed it: kills, losses and fetch failures do not.

// taskExclusion counts one task index's failures per executor and per host.
type taskExclusion struct {
	execs map[string]int
	hosts map[string]int
}

// stageExclusion is one task set's view.
type stageExclusion struct {
	failedTasks   map[string]map[int]bool // executor -> distinct failed indexes
	execHost      map[string]string
	excludedExecs map[string]bool
	nodeExcluded  map[string]int // host -> excluded executors on it
	excludedNodes map[string]bool
}

func newStageExclusion() *stageExclusion {
	return &stageExclusion{
		failedTasks:   map[string]map[int]bool{},
		execHost:      map[string]string{},
		excludedExecs: map[string]bool{},
		nodeExcluded:  map[string]int{},
		excludedNodes: map[string]bool{},
	}
}

// appExclusion is the application-wide view: failures of task sets that
// then succeeded, and executors excluded until a deadline.
type appExclusion struct {
	failures map[string][]time.Time // executor -> times of counted failures
	until    map[string]time.Time
}

func newAppExclusion() *appExclusion {
	return &appExclusion{failures: map[string][]time.Time{}, until: map[string]time.Time{}}
}

func (x *appExclusion) excluded(exec string) bool {
	if len(x.until) == 0 {
		return false
	}
	_, ok := x.until[exec]
	return ok
}

// expire lifts application-level exclusions whose timeout passed.
func (x *appExclusion) expire(now time.Time) {
	for id, t := range x.until {
		if !now.Before(t) {
			delete(x.until, id)
		}
	}
}

// excludedForTaskSet reports whether e (or its node) is excluded for m.
func (s *Scheduler) excludedForTaskSet(m *taskSetManager, e *executor) bool {
	x := m.excl
	return x != nil && (x.excludedExecs[e.id] || x.excludedNodes[e.host])
}

// excludedForTask reports whether index i of m may not be retried on e.
func (s *Scheduler) excludedForTask(m *taskSetManager, i int, e *executor) bool {
	tx := m.tasks[i].excl
	if tx == nil {
		return false
	}
	ex := &s.cfg.Exclude
	return tx.execs[e.id] >= ex.MaxTaskAttemptsPerExecutor || tx.hosts[e.host] >= ex.MaxTaskAttemptsPerNode
}

// recordFailure feeds a counted failure of attempt a into m's exclusion
// state and reports new stage-level exclusions.
func (s *Scheduler) recordFailure(m *taskSetManager, a *attempt, now time.Time, out *Output) {
	x := m.excl
	if x == nil {
		return
	}
	ex := &s.cfg.Exclude
	e := a.exec
	t := &m.tasks[a.index]
	if t.excl == nil {
		t.excl = &taskExclusion{execs: map[string]int{}, hosts: map[string]int{}}
	}
	t.excl.execs[e.id]++
	t.excl.hosts[e.host]++

	set := x.failedTasks[e.id]
	if set == nil {
		set = map[int]bool{}
		x.failedTasks[e.id] = set
	}
	set[a.index] = true
	x.execHost[e.id] = e.host
	if len(set) >= ex.StageMaxFailedTasksPerExecutor && !x.excludedExecs[e.id] {
		x.excludedExecs[e.id] = true
		out.Excluded = append(out.Excluded, Exclusion{ExecutorID: e.id, Host: e.host, Scope: "stage", TaskSet: m.id,
			Reason: fmt.Sprintf("%d distinct tasks failed on executor %s in stage %d.%d", len(set), e.id, m.id.StageID, m.id.StageAttempt)})
		x.nodeExcluded[e.host]++
		if x.nodeExcluded[e.host] >= ex.StageMaxFailedExecutorsPerNode && !x.excludedNodes[e.host] {
			x.excludedNodes[e.host] = true
			out.Excluded = append(out.Excluded, Exclusion{Host: e.host, Scope: "stage", TaskSet: m.id,
				Reason: fmt.Sprintf("%d executors on host %s are excluded for stage %d.%d", x.nodeExcluded[e.host], e.host, m.id.StageID, m.id.StageAttempt)})
		}
	}
}

// taskSetSucceeded moves the failures of a task set that finally succeeded
// into the application-level counts; an executor with
// AppMaxFailedTasksPerExecutor of them within the timeout is excluded for
// the application until the timeout passes.
func (s *Scheduler) taskSetSucceeded(m *taskSetManager, now time.Time, out *Output) {
	x := m.excl
	if x == nil || len(x.failedTasks) == 0 {
		return
	}
	ex := &s.cfg.Exclude
	app := s.appExcl
	ids := make([]string, 0, len(x.failedTasks))
	for id := range x.failedTasks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		times := app.failures[id]
		for range x.failedTasks[id] {
			times = append(times, now)
		}
		// Only failures within the timeout count.
		cut := 0
		for cut < len(times) && now.Sub(times[cut]) >= ex.Timeout {
			cut++
		}
		times = times[cut:]
		app.failures[id] = times
		if len(times) >= ex.AppMaxFailedTasksPerExecutor && !app.excluded(id) {
			app.until[id] = now.Add(ex.Timeout)
			delete(app.failures, id)
			out.Excluded = append(out.Excluded, Exclusion{ExecutorID: id, Host: x.execHost[id], Scope: "application", TaskSet: m.id,
				Reason: fmt.Sprintf("%d task failures on executor %s in successful task sets within %v", len(times), id, ex.Timeout)})
		}
	}
}

// checkUnschedulable aborts m if, with nothing of it running, a pending
// task can run on no live executor because of exclusion. (The reference
// first tries to replace an idle excluded executor; here the task set is
// aborted at once.)
func (s *Scheduler) checkUnschedulable(m *taskSetManager, out *Output) {
	if m.excl == nil || m.zombie || m.removed || m.running > 0 || m.pendingCount == 0 {
		return
	}
	usable := false // an executor big enough for a task at all
	for _, e := range s.execs {
		usable = usable || e.cores >= s.cpus
	}
	if !usable {
		return // no capacity is not an exclusion problem
	}
	for i := range m.tasks {
		if !m.tasks[i].pending() {
			continue
		}
		runnable := false
		for _, e := range s.execs {
			if e.cores >= s.cpus && !s.appExcl.excluded(e.id) && !s.excludedForTaskSet(m, e) && !s.excludedForTask(m, i, e) {
				runnable = true
				break
			}
		}
		if !runnable {
			reason := fmt.Sprintf("Aborting TaskSet %d.%d because task %d (partition %d) cannot run anywhere due to node and executor excludeOnFailure", m.id.StageID, m.id.StageAttempt, i, m.tasks[i].partition)
			if err := m.tasks[i].lastErr; err != "" {
				reason += "; most recent failure: " + err
			}
			s.abort(m, reason, out)
			return
		}
	}
}

// checkAllUnschedulable runs checkUnschedulable over every task set.
func (s *Scheduler) checkAllUnschedulable(out *Output) {
	if !s.cfg.Exclude.Enabled {
		return
	}
	for _, m := range s.sortedSets() {
		s.checkUnschedulable(m, out)
	}
}
