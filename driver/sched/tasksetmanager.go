package sched

import (
	"fmt"
	"time"
)

// taskState is the scheduler's record of one task index of a task set.
// The fields a launch touches come first and fit one cache line; a
// placement then costs one miss on the task's state.
type taskState struct {
	copies       int8 // running attempts (0, 1 or 2: at most one extra copy)
	successful   bool
	speculatable bool  // marked by the speculation check, copy not yet launched
	attempts     int32 // attempts launched so far
	partition    int32
	ranN         int32     // attempts recorded in ran0/ranMore
	runIDs       [2]int64  // task ids of the running attempts, -1 when free
	ran0         *executor // where the first attempt ran
	prefs        []Location

	// Cold fields.
	failures int            // counted failures (reset on success, as the reference does)
	lastErr  string         // reason of the last counted failure
	ranMore  []*executor    // where later attempts ran
	excl     *taskExclusion // nil unless a failure was recorded with exclusion on
}

// pending reports whether the index waits for a (non-speculative) launch.
func (t *taskState) pending() bool { return !t.successful && t.copies == 0 }

func (t *taskState) ranOnExecutor(id string) bool {
	if t.ranN > 0 && t.ran0.id == id {
		return true
	}
	for _, e := range t.ranMore {
		if e.id == id {
			return true
		}
	}
	return false
}

func (t *taskState) ranOnHost(host string) bool {
	if t.ranN > 0 && t.ran0.host == host {
		return true
	}
	for _, e := range t.ranMore {
		if e.host == host {
			return true
		}
	}
	return false
}

func (t *taskState) recordRan(e *executor) {
	if t.ranN == 0 {
		t.ran0 = e
	} else {
		t.ranMore = append(t.ranMore, e)
	}
	t.ranN++
}

// taskSetManager (the reference's TaskSetManager) tracks one task set:
// pending lists by locality, running copies, failures, successes.
type taskSetManager struct {
	id       TaskSetID
	jobID    int
	name     string // "TaskSet_<stage>.<attempt>", the FAIR tie-break
	seq      int64  // submission order
	pool     *pool
	heapIdx  int // index in pool.heap, -1 if absent
	noSpec   bool
	tasks    []taskState
	running  int
	zombie   bool // launches nothing more
	aborted  bool
	removed  bool // gone from the scheduler (cancelled, or zombie with nothing running)
	finished bool // all indexes succeeded

	succeeded    int
	pendingCount int // indexes with pending()

	// Pending lists used as stacks (lower indexes on top), cleaned lazily:
	// an entry whose index is no longer pending is dropped when met.
	forExec map[string][]int
	forHost map[string][]int
	noPrefs []int
	all     []int

	specList  []int // indexes marked speculatable, in marking order (lazy)
	specCount int   // how many of them still wait

	loc localityState

	// Speculation: accepted success durations, sorted.
	durations   []time.Duration
	minFinished int

	excl *stageExclusion // nil unless exclusion is enabled
}

func (t *taskSetManager) schedulable() bool {
	return !t.zombie && !t.removed && (t.pendingCount > 0 || t.specCount > 0)
}

func newTaskSetManager(ts TaskSet, seq int64, now time.Time) *taskSetManager {
	m := &taskSetManager{
		id:      ts.ID,
		jobID:   ts.JobID,
		name:    fmt.Sprintf("TaskSet_%d.%d", ts.ID.StageID, ts.ID.StageAttempt),
		seq:     seq,
		heapIdx: -1,
		noSpec:  ts.NoSpeculation,
		tasks:   make([]taskState, len(ts.Tasks)),
	}
	for i, task := range ts.Tasks {
		m.tasks[i] = taskState{partition: int32(task.Partition), prefs: task.Preferred, runIDs: [2]int64{-1, -1}}
	}
	m.all = make([]int, 0, len(m.tasks))
	m.noPrefs = make([]int, 0, len(m.tasks))
	// Push in reverse so that lower indexes are on top of every stack.
	for i := len(m.tasks) - 1; i >= 0; i-- {
		m.addPending(i)
	}
	m.loc.dirty = true
	m.loc.lastReset = now
	return m
}

// addPending (re)queues index i in every list it belongs to.
func (m *taskSetManager) addPending(i int) {
	m.pendingCount++
	prefs := m.tasks[i].prefs
	if len(prefs) == 0 {
		m.noPrefs = append(m.noPrefs, i)
	}
	for _, l := range prefs {
		if l.ExecutorID != "" {
			if m.forExec == nil {
				m.forExec = map[string][]int{}
			}
			m.forExec[l.ExecutorID] = append(m.forExec[l.ExecutorID], i)
		}
		if l.Host != "" {
			if m.forHost == nil {
				m.forHost = map[string][]int{}
			}
			m.forHost[l.Host] = append(m.forHost[l.Host], i)
		}
	}
	m.all = append(m.all, i)
	m.loc.dirty = true
}

// taskLocality is the level a launch of index i on e achieves.
func (m *taskSetManager) taskLocality(i int, e *executor) Locality {
	prefs := m.tasks[i].prefs
	if len(prefs) == 0 {
		return NoPref
	}
	best := Any
	for _, l := range prefs {
		if l.ExecutorID != "" && l.ExecutorID == e.id {
			return ProcessLocal
		}
		if l.Host == e.host {
			best = NodeLocal
		}
	}
	return best
}

// hasPending reports whether list holds a pending index, dropping finished
// entries from its top on the way.
func (m *taskSetManager) hasPending(list *[]int) bool {
	l := *list
	for n := len(l); n > 0; n-- {
		if m.tasks[l[n-1]].pending() {
			*list = l[:n]
			return true
		}
	}
	*list = l[:0]
	return false
}

// popFrom takes the topmost pending index of list that may run on e, or -1.
func (s *Scheduler) popFrom(m *taskSetManager, list *[]int, e *executor) int {
	l := *list
	// Drop finished entries from the top first (the common case).
	for len(l) > 0 && !m.tasks[l[len(l)-1]].pending() {
		l = l[:len(l)-1]
	}
	*list = l
	for j := len(l) - 1; j >= 0; j-- {
		i := l[j]
		if !m.tasks[i].pending() || s.excludedForTask(m, i, e) {
			continue
		}
		*list = append(l[:j], l[j+1:]...)
		return i
	}
	return -1
}

// dequeue picks a task of m for executor e whose locality is allowed, in the
// reference's order: this executor's tasks, this host's, tasks without
// preference, then any; regular tasks before speculative copies. It returns
// the index, the locality achieved and whether it is a speculative copy.
func (s *Scheduler) dequeue(m *taskSetManager, e *executor, allowed Locality) (int, bool) {
	if m.pendingCount > 0 {
		if l, ok := m.forExec[e.id]; ok {
			i := s.popFrom(m, &l, e)
			m.forExec[e.id] = l
			if i >= 0 {
				return i, false
			}
		}
		if allowed >= NodeLocal {
			if l, ok := m.forHost[e.host]; ok {
				i := s.popFrom(m, &l, e)
				m.forHost[e.host] = l
				if i >= 0 {
					return i, false
				}
			}
		}
		if i := s.popFrom(m, &m.noPrefs, e); i >= 0 {
			return i, false
		}
		if allowed >= Any {
			if i := s.popFrom(m, &m.all, e); i >= 0 {
				return i, false
			}
		}
	}
	if m.specCount > 0 {
		if i := s.dequeueSpeculative(m, e, allowed); i >= 0 {
			return i, true
		}
	}
	return -1, false
}
