package sched

// Backlog is the scheduler's load as dynamic allocation sees it.
type Backlog struct {
	// Pending counts task indexes waiting for a first launch in task sets
	// that can still launch; Speculative the speculative copies waiting.
	Pending     int
	Speculative int
	// Running counts running attempts, speculative copies included, and
	// RunningOn splits them by executor id.
	Running   int
	RunningOn map[string]int
	// LocalHosts and LocalExecutors count the pending tasks that prefer
	// each host and each executor id.
	LocalHosts     map[string]int
	LocalExecutors map[string]int
	// HostAware counts the pending tasks that prefer some host.
	HostAware int
}

// Backlog describes the waiting and running work. It walks every pending
// task's preferences, so callers poll it (a few times a second), not per
// event.
func (s *Scheduler) Backlog() Backlog {
	b := Backlog{RunningOn: map[string]int{}, LocalHosts: map[string]int{}, LocalExecutors: map[string]int{}}
	for _, e := range s.execs {
		if e.running > 0 {
			b.RunningOn[e.id] = e.running
			b.Running += e.running
		}
	}
	for _, m := range s.sets {
		if m.zombie || m.removed {
			continue
		}
		b.Pending += m.pendingCount
		b.Speculative += m.specCount
		if m.pendingCount == 0 {
			continue
		}
		for i := range m.tasks {
			t := &m.tasks[i]
			if !t.pending() {
				continue
			}
			aware := false
			for _, l := range t.prefs {
				if l.ExecutorID != "" {
					b.LocalExecutors[l.ExecutorID]++
				}
				if l.Host != "" {
					b.LocalHosts[l.Host]++
					aware = true
				}
			}
			if aware {
				b.HostAware++
			}
		}
	}
	return b
}
