package sched

import (
	"slices"
	"time"
)

// Speculatable names an attempt that the speculation check found slow; a
// speculative copy of its task waits for a slot (the next Schedule).
type Speculatable struct {
	TaskID  int64 // the slow running attempt
	TaskSet TaskSetID
	Index   int
	Runtime time.Duration // how long it had run
}

type specState struct {
	checked bool
	last    time.Time
}

// recordDuration keeps m's accepted success durations sorted (for the
// median), only when speculation may use them.
func (s *Scheduler) recordDuration(m *taskSetManager, d time.Duration) {
	if !s.cfg.Speculation.Enabled || m.noSpec {
		return
	}
	i, _ := slices.BinarySearch(m.durations, d)
	m.durations = slices.Insert(m.durations, i, d)
}

// median of the sorted durations (mean of the two middle ones for an even
// count, as the reference's median heap).
func median(d []time.Duration) time.Duration {
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}

// specThreshold returns how long an attempt of m must have run to be
// speculated, and false while m is not eligible (SPEC §5): once
// max(floor(quantile × tasks), 1) tasks succeeded, the threshold is
// max(multiplier × median success duration, minTaskRuntime).
func (s *Scheduler) specThreshold(m *taskSetManager) (time.Duration, bool) {
	if m.zombie || m.removed || m.noSpec || len(m.durations) < m.minFinished {
		return 0, false
	}
	sc := s.cfg.Speculation
	thr := time.Duration(sc.Multiplier * float64(median(m.durations)))
	return max(thr, sc.MinTaskRuntime), true
}

// checkSpeculation marks slow tasks speculatable (SPEC §5). It runs at most
// every Speculation.Interval. A task is marked only while exactly one
// attempt of it runs, so there is never more than one extra copy.
func (s *Scheduler) checkSpeculation(now time.Time, out *Output) {
	sc := s.cfg.Speculation
	if !sc.Enabled || (s.spec.checked && now.Sub(s.spec.last) < sc.Interval) {
		return
	}
	s.spec.checked, s.spec.last = true, now
	var cur *taskSetManager
	var thr time.Duration
	var ok bool
	for _, a := range s.live { // task-id order: deterministic
		if a == nil {
			continue
		}
		m := a.ts
		if m != cur {
			cur = m
			thr, ok = s.specThreshold(m)
		}
		if !ok {
			continue
		}
		t := &m.tasks[a.index]
		if t.successful || t.copies != 1 || t.speculatable {
			continue
		}
		if run := now.Sub(a.launch); run > thr {
			t.speculatable = true
			m.specList = append(m.specList, a.index)
			m.specCount++
			out.Speculatable = append(out.Speculatable, Speculatable{TaskID: a.id, TaskSet: m.id, Index: a.index, Runtime: run})
			s.reposition(m)
		}
	}
}

// dequeueSpeculative picks a speculatable task of m for e: never on an
// executor where an attempt of it already ran, locality as for regular
// tasks, and on a host where it already ran only when no executor on
// another host has a free slot for it.
func (s *Scheduler) dequeueSpeculative(m *taskSetManager, e *executor, allowed Locality) int {
	l := m.specList
	for len(l) > 0 && !m.tasks[l[0]].speculatable {
		l = l[1:]
	}
	m.specList = l
	for j, i := range l {
		t := &m.tasks[i]
		if !t.speculatable || t.successful || t.copies != 1 || t.ranOnExecutor(e.id) || s.excludedForTask(m, i, e) {
			continue
		}
		if len(t.prefs) > 0 && m.taskLocality(i, e) > allowed {
			continue
		}
		if t.ranOnHost(e.host) && s.otherHostFree(m, i, e.host) {
			continue
		}
		m.specList = append(l[:j:j], l[j+1:]...)
		t.speculatable = false
		m.specCount--
		return i
	}
	return -1
}

// otherHostFree reports whether an executor on a host where index i of m
// never ran has a free slot it may use.
func (s *Scheduler) otherHostFree(m *taskSetManager, i int, host string) bool {
	t := &m.tasks[i]
	for _, x := range s.execs {
		if x.free >= s.cpus && x.host != host && !t.ranOnHost(x.host) &&
			!s.appExcl.excluded(x.id) && !s.excludedForTaskSet(m, x) && !s.excludedForTask(m, i, x) {
			return true
		}
	}
	return false
}
