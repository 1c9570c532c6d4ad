package simulate

import (
	"fmt"
	"time"

	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/conf"
)

// Never is the Lost time of an executor that stays to the end.
const Never time.Duration = -1

// Workload is what a simulation replays: executors joining and leaving,
// jobs arriving over time, and how long each task takes. Times are offsets
// from the start of the application. A Workload is read-only once built;
// one Workload can be replayed under many configurations.
type Workload struct {
	Name      string
	Executors []Executor
	Jobs      []Job // in arrival order
	// FailureRate is the probability that an attempt fails (at a random
	// point of its run), on top of the failures recorded per task.
	FailureRate float64
	// Base is the configuration the workload ran (or is specified) with;
	// every simulated configuration starts from it.
	Base []conf.Entry
	// Pools, when not nil, are the pools the recorded run had (from its
	// event log): they stand for the allocation file named in Base, which
	// may not exist on this machine.
	Pools []sched.PoolConfig
}

// Executor is one executor of the workload.
type Executor struct {
	ID, Host string
	Cores    int
	Add      time.Duration // when it registers
	Lost     time.Duration // when it is lost, or Never
	Slowdown float64       // its tasks take Slowdown times their base duration (1: normal)
}

// Job is one job: stages that depend on each other, submitted at Arrival.
type Job struct {
	ID      int // FIFO priority: lower first
	Name    string
	Pool    string // "" is the default pool
	Arrival time.Duration
	Stages  []Stage
	// EndDelay is the time from the last stage's end to the job's end
	// (result handling in the driver).
	EndDelay time.Duration
	// Recorded is the job's duration in the recorded run (0 when the
	// workload was not recorded); RecordedOK says whether it succeeded.
	Recorded   time.Duration
	RecordedOK bool
	// HasAfter says that this job waits for the earlier job Jobs[After]:
	// it arrives Gap after that job ends instead of at Arrival (see
	// ChainJobs).
	HasAfter bool
	After    int
	Gap      time.Duration
}

// ChainJobs makes the jobs of a recorded workload wait for each other as
// the application did, as far as the log tells: a job that arrived within
// maxGap after another job's recorded end (the latest such end) is taken
// to have been submitted because that job ended, and in a replay arrives
// the same gap after that job's simulated end. It returns how many jobs
// it chained. Jobs without a recorded duration are left alone.
func ChainJobs(w *Workload, maxGap time.Duration) int {
	n := 0
	for i := range w.Jobs {
		j := &w.Jobs[i]
		best, bestEnd := -1, time.Duration(-1)
		for k := range i {
			p := &w.Jobs[k]
			if p.Recorded <= 0 {
				continue
			}
			end := p.Arrival + p.Recorded
			if end <= j.Arrival && j.Arrival-end <= maxGap && end > bestEnd {
				best, bestEnd = k, end
			}
		}
		if best >= 0 {
			j.HasAfter, j.After, j.Gap = true, best, j.Arrival-bestEnd
			n++
		}
	}
	return n
}

// Stage is one stage of a job: a task set.
type Stage struct {
	ID      int // unique across the workload
	Name    string
	Parents []int // indexes into the job's Stages that must end first
	// SubmitDelay is the time from the moment the stage could run (the
	// job arrived and its parents ended) to its submission.
	SubmitDelay time.Duration
	// Durations is each task's run time on an executor of Slowdown 1, from
	// launch to the driver hearing of its end.
	Durations []time.Duration
	// Failures lists, for some tasks, how long each of their first
	// attempts ran before failing (Slowdown 1); later attempts succeed.
	Failures map[int][]time.Duration
	// Prefs lists, for some tasks, their preferred locations.
	Prefs map[int][]sched.Location
}

// Tasks is the number of tasks in the workload.
func (w *Workload) Tasks() int {
	n := 0
	for i := range w.Jobs {
		for j := range w.Jobs[i].Stages {
			n += len(w.Jobs[i].Stages[j].Durations)
		}
	}
	return n
}

// check reports the first structural problem of w: what the engine relies
// on, whoever built the workload.
func (w *Workload) check() error {
	if len(w.Executors) == 0 {
		return fmt.Errorf("workload %q has no executors", w.Name)
	}
	ids := map[string]bool{}
	for i, e := range w.Executors {
		if e.ID == "" || e.Cores < 1 || e.Slowdown <= 0 || e.Add < 0 || (e.Lost != Never && e.Lost < e.Add) {
			return fmt.Errorf("workload %q: executor %d (%q) needs an id, cores >= 1, slowdown > 0 and times with add <= lost, got %+v", w.Name, i, e.ID, e)
		}
		if ids[e.ID] && e.Lost == Never {
			return fmt.Errorf("workload %q: executor id %q is used twice", w.Name, e.ID)
		}
		ids[e.ID] = true
	}
	if w.FailureRate < 0 || w.FailureRate >= 1 {
		return fmt.Errorf("workload %q: failure rate must be in [0,1), got %v", w.Name, w.FailureRate)
	}
	stageIDs := map[int]bool{}
	for i := range w.Jobs {
		j := &w.Jobs[i]
		if i > 0 && j.Arrival < w.Jobs[i-1].Arrival {
			return fmt.Errorf("workload %q: jobs are not in arrival order (job %d at %v after job %d at %v)", w.Name, j.ID, j.Arrival, w.Jobs[i-1].ID, w.Jobs[i-1].Arrival)
		}
		if j.HasAfter && (j.After < 0 || j.After >= i) {
			return fmt.Errorf("workload %q: job %d waits for job index %d, which is not an earlier job", w.Name, j.ID, j.After)
		}
		for k := range j.Stages {
			s := &j.Stages[k]
			if stageIDs[s.ID] {
				return fmt.Errorf("workload %q: stage id %d is used twice", w.Name, s.ID)
			}
			stageIDs[s.ID] = true
			for _, p := range s.Parents {
				if p < 0 || p >= k {
					return fmt.Errorf("workload %q: job %d stage %d: parent %d must be an earlier stage of the job", w.Name, j.ID, k, p)
				}
			}
		}
	}
	return nil
}
