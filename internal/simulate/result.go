package simulate

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/conf"
)

// Dur is a duration that encodes in JSON as seconds (a number).
type Dur time.Duration

// MarshalJSON writes the duration in seconds, to the microsecond.
func (d Dur) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, math.Round(time.Duration(d).Seconds()*1e6)/1e6, 'f', -1, 64), nil
}

// UnmarshalJSON reads seconds.
func (d *Dur) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*d = Dur(math.Round(f * 1e9))
	return nil
}

// String formats like time.Duration, rounded to the millisecond.
func (d Dur) String() string { return time.Duration(d).Round(time.Millisecond).String() }

// Result is what one configuration did with a workload.
type Result struct {
	Config      string         `json:"config"`
	Changes     []conf.Entry   `json:"changes,omitempty"`
	Mode        string         `json:"mode"`
	Jobs        []JobResult    `json:"jobs"`
	Pools       []PoolResult   `json:"pools"`
	Makespan    Dur            `json:"makespan"`    // first arrival to last job end
	Utilization float64        `json:"utilization"` // busy cores / live cores over the makespan
	Tasks       TaskCounts     `json:"tasks"`
	Share       ShareSeries    `json:"share"`
	Unfinished  int            `json:"unfinished"` // jobs that never ended
	Warnings    []string       `json:"warnings,omitempty"`
	Launches    []LaunchRecord `json:"launches,omitempty"`
}

// JobResult is one job's outcome.
type JobResult struct {
	ID        int    `json:"id"`
	Name      string `json:"name,omitempty"`
	Pool      string `json:"pool"`
	Arrival   Dur    `json:"arrival"`
	End       Dur    `json:"end"`
	Duration  Dur    `json:"duration"` // arrival to end
	Succeeded bool   `json:"succeeded"`
	Error     string `json:"error,omitempty"`
	Recorded  *Dur   `json:"recorded,omitempty"` // duration in the recorded run
}

// PoolResult summarizes the jobs and the share of one pool.
type PoolResult struct {
	Name     string `json:"name"`
	Weight   int    `json:"weight"`
	MinShare int    `json:"minShare"`
	Jobs     int    `json:"jobs"`
	P50      Dur    `json:"p50"` // job durations
	P95      Dur    `json:"p95"`
	Max      Dur    `json:"max"`
	// ActiveTime is how long the pool had a job in progress; AvgShare is
	// its mean fraction of the slots over that time, and FairShare what its
	// weight entitled it to (weight / sum of the weights of the pools
	// with jobs in progress, averaged over the same time; 0 under FIFO,
	// where weights play no part).
	ActiveTime Dur     `json:"activeTime"`
	AvgShare   float64 `json:"avgShare"`
	FairShare  float64 `json:"fairShare"`
	// BelowMinShare is the fraction of ActiveTime during which it ran
	// fewer tasks than min(minShare, tasks it had left).
	BelowMinShare float64 `json:"belowMinShare"`
}

// TaskCounts counts attempts.
type TaskCounts struct {
	Launched       int `json:"launched"`
	Succeeded      int `json:"succeeded"`
	Failed         int `json:"failed"`
	Killed         int `json:"killed"`
	Lost           int `json:"lost"`
	Speculative    int `json:"speculative"`    // speculative copies launched
	SpeculativeWon int `json:"speculativeWon"` // ... whose success was the one accepted
	running        int
}

// ShareSeries is the number of running tasks per pool over time, averaged
// over equal buckets from the first job's arrival.
type ShareSeries struct {
	Start  Dur         `json:"start"`
	Bucket Dur         `json:"bucket"`
	Pools  []string    `json:"pools"`
	Slots  [][]float64 `json:"slots"` // [pool][bucket]: mean running tasks
	Total  []float64   `json:"total"` // [bucket]: mean slots available
}

// LaunchRecord is one launch (Options.Trace).
type LaunchRecord struct {
	Time        Dur    `json:"time"`
	TaskID      int64  `json:"taskId"`
	Job         int    `json:"job"`
	Stage       int    `json:"stage"`
	Index       int    `json:"index"`
	Attempt     int    `json:"attempt"`
	Executor    string `json:"executor"`
	Speculative bool   `json:"speculative,omitempty"`
	Locality    string `json:"locality"`
	Duration    Dur    `json:"duration"`
	Fails       bool   `json:"fails,omitempty"`
}

// series accumulates per-pool running-task area in a fixed number of
// buckets whose width doubles whenever the run outgrows them.
type series struct {
	origin time.Duration
	width  time.Duration
	n      int       // buckets
	pools  int       // pools
	area   []float64 // [bucket*pools+pool]
	total  []float64 // [bucket]
	used   int       // buckets touched
}

func newSeries(origin time.Duration, pools, n int) series {
	return series{origin: origin, width: time.Millisecond, n: n, pools: pools,
		area: make([]float64, n*pools), total: make([]float64, n)}
}

func (s *series) add(from, to time.Duration, running []int, slots int) {
	for from < to {
		b := int((from - s.origin) / s.width)
		for b >= s.n {
			s.merge()
			b = int((from - s.origin) / s.width)
		}
		end := s.origin + time.Duration(b+1)*s.width
		seg := float64(min(to, end) - from)
		row := s.area[b*s.pools : (b+1)*s.pools]
		for p, v := range running {
			if v != 0 {
				row[p] += float64(v) * seg
			}
		}
		s.total[b] += float64(slots) * seg
		s.used = max(s.used, b+1)
		from = min(to, end)
	}
}

// merge halves the resolution: buckets 2i and 2i+1 become bucket i.
func (s *series) merge() {
	for b := 0; b < s.n/2; b++ {
		for p := range s.pools {
			s.area[b*s.pools+p] = s.area[2*b*s.pools+p] + s.area[(2*b+1)*s.pools+p]
		}
		s.total[b] = s.total[2*b] + s.total[2*b+1]
	}
	clear(s.area[s.n/2*s.pools:])
	clear(s.total[s.n/2:])
	s.used = (s.used + 1) / 2
	s.width *= 2
}

func (sm *sim) result() *Result {
	r := &Result{Config: sm.cfg.Name, Changes: sm.cfg.Changes, Mode: sm.cfg.Sched.Mode.String(), Tasks: sm.counts, Warnings: sm.warnings, Launches: sm.trace}
	var last time.Duration
	perPool := make([][]time.Duration, len(sm.poolNames))
	for i := range sm.jobs {
		js := &sm.jobs[i]
		j := js.j
		jr := JobResult{ID: j.ID, Name: j.Name, Pool: sm.poolNames[js.pool], Arrival: Dur(js.arrival), Succeeded: js.done && !js.failed, Error: js.err}
		if j.Recorded > 0 {
			rec := Dur(j.Recorded)
			jr.Recorded = &rec
		}
		if js.done {
			jr.End, jr.Duration = Dur(js.end), Dur(js.end-js.arrival)
			last = max(last, js.end)
			perPool[js.pool] = append(perPool[js.pool], js.end-js.arrival)
		} else {
			r.Unfinished++
		}
		r.Jobs = append(r.Jobs, jr)
	}
	if len(sm.jobs) > 0 && last > sm.origin {
		r.Makespan = Dur(last - sm.origin)
	}
	if sm.capArea > 0 {
		r.Utilization = sm.busyArea / sm.capArea
	}
	for p, name := range sm.poolNames {
		pr := PoolResult{Name: name, Weight: sm.weight[p], MinShare: sm.minShare[p], Jobs: len(perPool[p]), ActiveTime: Dur(sm.activeTime[p])}
		d := perPool[p]
		slices.Sort(d)
		pr.P50, pr.P95 = Dur(percentile(d, 0.5)), Dur(percentile(d, 0.95))
		if len(d) > 0 {
			pr.Max = Dur(d[len(d)-1])
		}
		if at := sm.activeTime[p]; at > 0 {
			pr.AvgShare = sm.shareArea[p] / at
			if sm.cfg.Sched.Mode == sched.FAIR {
				pr.FairShare = sm.entitledArea[p] / at
			}
			pr.BelowMinShare = sm.belowMinShare[p] / at
		}
		if pr.Jobs == 0 && pr.ActiveTime == 0 {
			continue // configured, never used
		}
		r.Pools = append(r.Pools, pr)
	}
	s := &sm.series
	r.Share = ShareSeries{Start: Dur(s.origin), Bucket: Dur(s.width)}
	for p, name := range sm.poolNames {
		row := make([]float64, s.used)
		for b := range row {
			row[b] = s.area[b*s.pools+p] / float64(s.width)
		}
		r.Share.Pools = append(r.Share.Pools, name)
		r.Share.Slots = append(r.Share.Slots, row)
	}
	r.Share.Total = make([]float64, s.used)
	for b := range r.Share.Total {
		r.Share.Total[b] = s.total[b] / float64(s.width)
	}
	return r
}

// percentile is the nearest-rank percentile of sorted d (0 when empty).
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(d)))) - 1
	return d[min(max(i, 0), len(d)-1)]
}
