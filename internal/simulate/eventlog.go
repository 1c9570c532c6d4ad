package simulate

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/events"
)

// Executors whose estimated slowdown is within this factor of 1 count as
// normal: the estimate of a normal executor is noise.
const slowdownNoise = 1.25

type logTask struct {
	stage, attempt, index int
	exec, host, locality  string
	speculative           bool
}

type logIndex struct {
	ok        bool
	dur       time.Duration
	exec      string
	end       time.Time
	failures  []time.Duration
	failExecs []string
	first     *logTask // the first attempt
}

type logStage struct {
	id, job   int
	name      string
	numTasks  int
	parents   []int
	submitted time.Time
	indexes   []logIndex
	kills     []logKill
}

type logKill struct {
	index int
	exec  string
	dur   time.Duration
}

type logJob struct {
	id       int
	name     string
	pool     string
	start    time.Time
	end      time.Time
	ended    bool
	ok       bool
	stages   []*logStage
	stageIDs []int
}

type logExec struct {
	id, host   string
	cores      int
	add, lost  time.Time
	lostKnown  bool
	successes  []float64 // duration / stage median, of accepted successes
	lowerBound []float64 // the same for killed attempts: they would have run at least this long
}

// FromEventLog reads an application's event log and builds the workload it
// ran: its executors (and how slow each was), its jobs with their arrival
// times, stages, dependencies and driver overheads, and each task's
// duration (from launch to the driver hearing of its end) normalized by
// its executor's slowdown. The configuration recorded in the log (its
// Environment and Pools events) becomes the workload's base
// configuration, so replaying it unchanged reproduces the run.
//
// What a log does not say is approximated: a task's preferred locations
// are inferred from the locality it ran at (PROCESS_LOCAL: its executor,
// NODE_LOCAL: its host); a stage resubmitted after a fetch failure is
// replayed as its first attempt. A truncated last line is returned as an
// error wrapping eventlog.ErrTruncated together with the workload read
// before it.
func FromEventLog(r io.Reader, name string) (*Workload, error) {
	var (
		t0       time.Time
		haveT0   bool
		env      *events.Environment
		pools    *events.Pools
		jobs     = map[int]*logJob{}
		stages   = map[int]*logStage{}
		tasks    = map[int64]*logTask{}
		execs    []*logExec
		liveExec = map[string]*logExec{}
		first    time.Time
	)
	note := func(t time.Time) {
		if first.IsZero() && !t.IsZero() {
			first = t
		}
	}
	readErr := eventlog.Read(r, func(e events.Event) error {
		switch e := e.(type) {
		case events.ApplicationStart:
			t0, haveT0 = e.Time, true
		case events.Environment:
			if env == nil {
				env = &e
			}
		case events.Pools:
			if pools == nil {
				pools = &e
			}
		case events.ExecutorAdded:
			note(e.Time)
			x := &logExec{id: e.ExecutorID, host: e.Host, cores: e.Cores, add: e.Time}
			execs = append(execs, x)
			liveExec[e.ExecutorID] = x
		case events.ExecutorRemoved:
			if x := liveExec[e.ExecutorID]; x != nil {
				x.lost, x.lostKnown = e.Time, true
				delete(liveExec, e.ExecutorID)
			}
		case events.JobStart:
			note(e.Time)
			jobs[e.JobID] = &logJob{id: e.JobID, name: e.Description, pool: e.Pool, start: e.Time, stageIDs: e.StageIDs}
		case events.JobEnd:
			if j := jobs[e.JobID]; j != nil {
				j.end, j.ended, j.ok = e.Time, true, e.Succeeded
			}
		case events.StageSubmitted:
			if e.Attempt != 0 {
				return nil // replayed as its first attempt
			}
			if stages[e.StageID] != nil {
				return nil
			}
			st := &logStage{id: e.StageID, job: e.JobID, name: e.Name, numTasks: e.NumTasks, parents: e.ParentIDs, submitted: e.Time, indexes: make([]logIndex, max(e.NumTasks, 0))}
			stages[e.StageID] = st
			if j := jobs[e.JobID]; j != nil {
				j.stages = append(j.stages, st)
			}
		case events.TaskStart:
			t := &logTask{stage: e.StageID, attempt: e.StageAttempt, index: e.Index, exec: e.ExecutorID, host: e.Host, locality: e.Locality, speculative: e.Speculative}
			tasks[e.TaskID] = t
			if st := stages[e.StageID]; st != nil && e.StageAttempt == 0 && e.Index >= 0 && e.Index < len(st.indexes) && st.indexes[e.Index].first == nil {
				st.indexes[e.Index].first = t
			}
		case events.TaskEnd:
			t := tasks[e.TaskID]
			delete(tasks, e.TaskID)
			st := stages[e.StageID]
			if t == nil || st == nil || e.StageAttempt != 0 || e.Index < 0 || e.Index >= len(st.indexes) {
				return nil
			}
			ix := &st.indexes[e.Index]
			switch e.Status {
			case events.TaskSuccess:
				if !ix.ok {
					ix.ok, ix.dur, ix.exec, ix.end = true, e.Duration, e.ExecutorID, e.Time
				}
			case events.TaskFailed:
				if !ix.ok {
					ix.failures = append(ix.failures, e.Duration)
					ix.failExecs = append(ix.failExecs, e.ExecutorID)
				}
			case events.TaskKilled:
				st.kills = append(st.kills, logKill{index: e.Index, exec: e.ExecutorID, dur: e.Duration})
			}
		}
		return nil
	})
	if readErr != nil && !errors.Is(readErr, eventlog.ErrTruncated) {
		return nil, fmt.Errorf("reading event log %s: %w", name, readErr)
	}
	if !haveT0 {
		t0 = first
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("event log %s has no jobs to replay", name)
	}
	if len(execs) == 0 {
		return nil, fmt.Errorf("event log %s has no executors (no ExecutorAdded event)", name)
	}

	// Stage medians, then each executor's speed relative to them.
	byID := map[string][]*logExec{}
	for _, x := range execs {
		byID[x.id] = append(byID[x.id], x)
	}
	execAt := func(id string) *logExec {
		if xs := byID[id]; len(xs) > 0 {
			return xs[len(xs)-1]
		}
		return nil
	}
	stageIDs := make([]int, 0, len(stages))
	for id := range stages {
		stageIDs = append(stageIDs, id)
	}
	sort.Ints(stageIDs)
	medians := map[int]time.Duration{}
	for _, id := range stageIDs {
		st := stages[id]
		var ds []time.Duration
		for i := range st.indexes {
			if st.indexes[i].ok {
				ds = append(ds, st.indexes[i].dur)
			}
		}
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		m := ds[len(ds)/2]
		medians[id] = m
		if len(ds) < 3 || m <= 0 {
			continue // too few to compare executors with
		}
		for i := range st.indexes {
			if ix := &st.indexes[i]; ix.ok {
				if x := execAt(ix.exec); x != nil {
					x.successes = append(x.successes, float64(ix.dur)/float64(m))
				}
			}
		}
		for _, k := range st.kills {
			if x := execAt(k.exec); x != nil {
				x.lowerBound = append(x.lowerBound, float64(k.dur)/float64(m))
			}
		}
	}
	slowdown := map[string]float64{}
	for _, x := range execs {
		slowdown[x.id] = estimateSlowdown(x)
	}
	factor := func(exec string) float64 {
		if f, ok := slowdown[exec]; ok {
			return f
		}
		return 1
	}

	w := &Workload{Name: name}
	if env != nil {
		for _, p := range env.Properties {
			w.Base = append(w.Base, conf.Entry{Key: p[0], Value: p[1], Source: conf.SourcePropertiesFile})
		}
	}
	if pools != nil && pools.Mode == "FAIR" {
		w.Pools = []sched.PoolConfig{}
		for _, p := range pools.Pools {
			m, err := sched.ParseMode(p.Mode)
			if err != nil {
				m = sched.FIFO
			}
			w.Pools = append(w.Pools, sched.PoolConfig{Name: p.Name, Mode: m, Weight: p.Weight, MinShare: p.MinShare})
		}
	}

	var ljobs []*logJob
	var lastEnd time.Time
	for _, j := range jobs {
		ljobs = append(ljobs, j)
		if j.ended && j.end.After(lastEnd) {
			lastEnd = j.end
		}
	}
	sort.Slice(ljobs, func(a, b int) bool {
		if !ljobs[a].start.Equal(ljobs[b].start) {
			return ljobs[a].start.Before(ljobs[b].start)
		}
		return ljobs[a].id < ljobs[b].id
	})
	off := func(t time.Time) time.Duration { return max(t.Sub(t0), 0) }
	for _, x := range execs {
		e := Executor{ID: x.id, Host: x.host, Cores: max(x.cores, 1), Add: off(x.add), Lost: Never, Slowdown: slowdown[x.id]}
		// Executors leave when the application stops: only a loss while
		// jobs still ran matters.
		if x.lostKnown && x.lost.Before(lastEnd) {
			e.Lost = max(off(x.lost), e.Add)
		}
		w.Executors = append(w.Executors, e)
	}
	// An id reused after a loss: keep the entries apart.
	seen := map[string]int{}
	for i := range w.Executors {
		if n := seen[w.Executors[i].ID]; n > 0 && w.Executors[i].Lost == Never {
			w.Executors[i].ID = fmt.Sprintf("%s#%d", w.Executors[i].ID, n)
		}
		seen[w.Executors[i].ID]++
	}

	for _, lj := range ljobs {
		j := Job{ID: lj.id, Name: lj.name, Pool: lj.pool, Arrival: off(lj.start)}
		if lj.ended {
			j.Recorded, j.RecordedOK = max(lj.end.Sub(lj.start), 1), lj.ok
		}
		sort.SliceStable(lj.stages, func(a, b int) bool {
			if !lj.stages[a].submitted.Equal(lj.stages[b].submitted) {
				return lj.stages[a].submitted.Before(lj.stages[b].submitted)
			}
			return lj.stages[a].id < lj.stages[b].id
		})
		pos := map[int]int{}
		finish := make([]time.Time, len(lj.stages))
		lastStage := lj.start
		for k, ls := range lj.stages {
			pos[ls.id] = k
			st := Stage{ID: ls.id, Name: ls.name, Durations: make([]time.Duration, len(ls.indexes))}
			ready := lj.start
			for _, p := range ls.parents {
				if pk, ok := pos[p]; ok {
					st.Parents = append(st.Parents, pk)
					if finish[pk].After(ready) {
						ready = finish[pk]
					}
				}
			}
			st.SubmitDelay = max(ls.submitted.Sub(ready), 0)
			finish[k] = ls.submitted
			med := medians[ls.id]
			for i := range ls.indexes {
				ix := &ls.indexes[i]
				if ix.ok {
					st.Durations[i] = time.Duration(float64(ix.dur) / factor(ix.exec))
					if ix.end.After(finish[k]) {
						finish[k] = ix.end
					}
				} else {
					st.Durations[i] = med
				}
				for n, d := range ix.failures {
					if st.Failures == nil {
						st.Failures = map[int][]time.Duration{}
					}
					st.Failures[i] = append(st.Failures[i], time.Duration(float64(d)/factor(ix.failExecs[n])))
				}
				if f := ix.first; f != nil && (f.locality == "PROCESS_LOCAL" || f.locality == "NODE_LOCAL") {
					if st.Prefs == nil {
						st.Prefs = map[int][]sched.Location{}
					}
					loc := sched.Location{Host: f.host}
					if f.locality == "PROCESS_LOCAL" {
						loc.ExecutorID = f.exec
					}
					st.Prefs[i] = []sched.Location{loc}
				}
			}
			if finish[k].After(lastStage) {
				lastStage = finish[k]
			}
			j.Stages = append(j.Stages, st)
		}
		if lj.ended {
			j.EndDelay = max(lj.end.Sub(lastStage), 0)
		}
		w.Jobs = append(w.Jobs, j)
	}
	if err := w.check(); err != nil {
		return nil, err
	}
	if readErr != nil {
		return w, fmt.Errorf("event log %s: %w", name, readErr)
	}
	return w, nil
}

// estimateSlowdown is the median of an executor's success ratios to the
// stage medians; killed attempts (which would have run at least as long as
// they did) count when they say it is slower. Estimates within
// slowdownNoise of 1 are 1.
func estimateSlowdown(x *logExec) float64 {
	samples := slices.Clone(x.successes)
	for _, lb := range x.lowerBound {
		if lb > 1 {
			samples = append(samples, lb)
		}
	}
	if len(samples) == 0 {
		return 1
	}
	slices.Sort(samples)
	f := samples[len(samples)/2]
	if f < slowdownNoise && f > 1/slowdownNoise || f <= 0 {
		return 1
	}
	return f
}
