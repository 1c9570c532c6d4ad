package sched

import "time"

// localityState is a task set's delay-scheduling state (the reference's
// myLocalityLevels, currentLocalityIndex, lastLocalityWaitResetTime).
type localityState struct {
	levels    []Locality  // valid levels, best first; always ends with Any
	buf       [4]Locality // backing array of levels
	cur       int         // index into levels of the current allowed level
	lastReset time.Time
	dirty     bool // pending tasks changed: recompute levels
	execGen   int  // executor generation the levels were computed for

	// Per Schedule call bookkeeping.
	round       int      // Schedule call that last touched this task set
	launched    bool     // launched something in that call
	rejected    bool     // declined a slot because of locality in that call
	minLaunched Locality // best level launched in that call
}

// levelWait is how long a task set waits at level before relaxing to the next.
func (s *Scheduler) levelWait(l Locality) time.Duration {
	if l == ProcessLocal || l == NodeLocal {
		return s.cfg.LocalityWait
	}
	return 0
}

// hasTasksAt reports whether m has pending tasks that could run at exactly
// level l on some live executor.
func (s *Scheduler) hasTasksAt(m *taskSetManager, l Locality) bool {
	switch l {
	case ProcessLocal:
		for id := range m.forExec {
			if _, live := s.execByID[id]; live {
				l := m.forExec[id]
				if m.hasPending(&l) {
					m.forExec[id] = l
					return true
				}
				m.forExec[id] = l
			}
		}
		return false
	case NodeLocal:
		for h := range m.forHost {
			if s.hostExecs[h] > 0 {
				l := m.forHost[h]
				if m.hasPending(&l) {
					m.forHost[h] = l
					return true
				}
				m.forHost[h] = l
			}
		}
		return false
	case NoPref:
		return m.hasPending(&m.noPrefs)
	}
	return m.hasPending(&m.all)
}

// computeLevels recomputes the valid levels after executors or pending
// tasks changed, keeping the current level (or the next valid one).
func (s *Scheduler) computeLevels(m *taskSetManager) {
	ls := &m.loc
	prev := ProcessLocal // first computation: start at the best level
	if ls.cur < len(ls.levels) {
		prev = ls.levels[ls.cur]
	}
	ls.levels = ls.buf[:0]
	for _, l := range [...]Locality{ProcessLocal, NodeLocal, NoPref} {
		if s.hasTasksAt(m, l) {
			ls.levels = append(ls.levels, l)
		}
	}
	ls.levels = append(ls.levels, Any)
	ls.cur = s.levelIndex(m, prev)
	ls.dirty = false
	ls.execGen = s.execGen
}

// levelIndex is the index of the first valid level at least as relaxed as l.
func (s *Scheduler) levelIndex(m *taskSetManager, l Locality) int {
	for i, v := range m.loc.levels {
		if v >= l {
			return i
		}
	}
	return len(m.loc.levels) - 1
}

// allowedLevel is the most relaxed level m may launch at now (the
// reference's getAllowedLocalityLevel): a level without pending tasks is
// skipped at once; otherwise the task set relaxes one level once it has
// waited that level's wait since the last reset.
func (s *Scheduler) allowedLevel(m *taskSetManager, now time.Time) Locality {
	ls := &m.loc
	if ls.dirty || ls.execGen != s.execGen {
		s.computeLevels(m)
	}
	for ls.cur < len(ls.levels)-1 {
		l := ls.levels[ls.cur]
		if !s.hasTasksAt(m, l) {
			ls.cur++
			ls.lastReset = now
			continue
		}
		w := s.levelWait(l)
		if now.Sub(ls.lastReset) < w {
			break
		}
		ls.lastReset = ls.lastReset.Add(w)
		ls.cur++
	}
	return ls.levels[ls.cur]
}

// noteOffer records, for the end-of-call timer reset, what m did with a slot.
func (s *Scheduler) noteOffer(m *taskSetManager, launched bool, l Locality) {
	ls := &m.loc
	if ls.round != s.round {
		ls.round, ls.launched, ls.rejected, ls.minLaunched = s.round, false, false, Any
		s.touched = append(s.touched, m)
	}
	if launched {
		ls.launched = true
		ls.minLaunched = min(ls.minLaunched, l)
	} else {
		ls.rejected = true
	}
}

// resetLocalityTimers runs at the end of a Schedule call. A task set that
// launched at a better level than its current one goes back to that level
// with a fresh timer (as the reference does on a local launch). One that
// launched at its current level restarts the timer only if it declined no
// slot for locality in this call (the reference's 3.1+ rule), so a set that
// keeps launching locally keeps waiting for locality, while one that had to
// decline slots keeps relaxing.
func (s *Scheduler) resetLocalityTimers(now time.Time) {
	for _, m := range s.touched {
		ls := &m.loc
		if !ls.launched || len(ls.levels) == 0 {
			continue
		}
		switch i := s.levelIndex(m, ls.minLaunched); {
		case i < ls.cur:
			ls.cur, ls.lastReset = i, now
		case i == ls.cur && !ls.rejected:
			ls.lastReset = now
		}
	}
	clear(s.touched)
	s.touched = s.touched[:0]
}
