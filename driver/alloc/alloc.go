package alloc

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Forever is an infinite timeout or limit: the unset
// stoke.dynamicAllocation.cachedExecutorIdleTimeout and
// shuffleTracking.timeout.
const Forever = time.Duration(math.MaxInt64)

// Unlimited is an unset stoke.dynamicAllocation.maxExecutors.
const Unlimited = math.MaxInt32

// Config mirrors stoke.dynamicAllocation.* plus the executor shape.
type Config struct {
	MinExecutors     int // 0
	MaxExecutors     int // Unlimited
	InitialExecutors int // MinExecutors
	// AllocationRatio scales the executors needed for full parallelism
	// (executorAllocationRatio, in (0,1]; 1).
	AllocationRatio float64
	// SchedulerBacklogTimeout is how long tasks must wait before the first
	// request (1s); SustainedSchedulerBacklogTimeout the interval of the
	// next ones while the backlog lasts (the same).
	SchedulerBacklogTimeout          time.Duration
	SustainedSchedulerBacklogTimeout time.Duration
	ExecutorIdleTimeout              time.Duration // 60s
	CachedIdleTimeout                time.Duration // Forever
	ShuffleTracking                  bool          // true
	ShuffleTrackingTimeout           time.Duration // Forever
	ExecutorCores                    int           // stoke.executor.cores
	TaskCPUs                         int           // stoke.task.cpus

	// Decommission: an executor holding shuffle output is released after
	// ExecutorIdleTimeout like any other, its output first moved to an
	// executor that stays (stoke.decommission.enabled with shuffle block
	// migration). When none would stay, shuffle tracking keeps it (or,
	// without tracking, it goes and its output is recomputed).
	Decommission bool
}

// DefaultConfig is the configuration of the unset keys, for executors of
// one core running one-cpu tasks.
func DefaultConfig() Config {
	return Config{
		MaxExecutors:                     Unlimited,
		AllocationRatio:                  1,
		SchedulerBacklogTimeout:          time.Second,
		SustainedSchedulerBacklogTimeout: time.Second,
		ExecutorIdleTimeout:              60 * time.Second,
		CachedIdleTimeout:                Forever,
		ShuffleTracking:                  true,
		ShuffleTrackingTimeout:           Forever,
		ExecutorCores:                    1,
		TaskCPUs:                         1,
	}
}

// Validate says what is wrong with c, every problem at once.
func (c Config) Validate() error {
	const p = "stoke.dynamicAllocation."
	var errs []error
	if c.MinExecutors < 0 {
		errs = append(errs, fmt.Errorf(p+"minExecutors must be at least 0, got %d", c.MinExecutors))
	}
	if c.MaxExecutors < 1 {
		errs = append(errs, fmt.Errorf(p+"maxExecutors must be at least 1, got %d", c.MaxExecutors))
	}
	if c.MinExecutors > c.MaxExecutors {
		errs = append(errs, fmt.Errorf(p+"minExecutors (%d) must not be greater than "+p+"maxExecutors (%d)", c.MinExecutors, c.MaxExecutors))
	}
	if c.InitialExecutors < c.MinExecutors || c.InitialExecutors > c.MaxExecutors {
		errs = append(errs, fmt.Errorf(p+"initialExecutors (%d) must be between "+p+"minExecutors (%d) and "+p+"maxExecutors (%d)",
			c.InitialExecutors, c.MinExecutors, c.MaxExecutors))
	}
	if !(c.AllocationRatio > 0 && c.AllocationRatio <= 1) {
		errs = append(errs, fmt.Errorf(p+"executorAllocationRatio must be in (0, 1], got %v", c.AllocationRatio))
	}
	for _, d := range []struct {
		name     string
		v        time.Duration
		positive bool
	}{
		{"schedulerBacklogTimeout", c.SchedulerBacklogTimeout, true},
		{"sustainedSchedulerBacklogTimeout", c.SustainedSchedulerBacklogTimeout, true},
		{"executorIdleTimeout", c.ExecutorIdleTimeout, false},
		{"cachedExecutorIdleTimeout", c.CachedIdleTimeout, false},
		{"shuffleTracking.timeout", c.ShuffleTrackingTimeout, false},
	} {
		if d.v < 0 || (d.positive && d.v == 0) {
			want := "at least 0"
			if d.positive {
				want = "greater than 0"
			}
			errs = append(errs, fmt.Errorf(p+"%s must be %s, got %v", d.name, want, d.v))
		}
	}
	if c.TaskCPUs < 1 {
		errs = append(errs, fmt.Errorf("stoke.task.cpus must be at least 1, got %d", c.TaskCPUs))
	}
	if c.ExecutorCores < c.TaskCPUs {
		errs = append(errs, fmt.Errorf("stoke.executor.cores (%d) must be at least stoke.task.cpus (%d) for dynamic allocation to size executors", c.ExecutorCores, c.TaskCPUs))
	}
	return errors.Join(errs...)
}

// Executor is what the policy needs to know about one registered executor.
type Executor struct {
	ID   string
	Host string
	// Running counts its running task attempts; 0 means idle.
	Running int
	// LocalPending counts pending tasks that prefer this executor or its
	// host: such executors are released last.
	LocalPending int
	// Cached: it holds cached partitions (CachedIdleTimeout applies).
	Cached bool
	// ShuffleData: it holds shuffle output the driver still tracks
	// (ShuffleTrackingTimeout applies, with shuffle tracking).
	ShuffleData bool
	// ActiveShuffle: it holds shuffle output a running job reads (never
	// idle, with shuffle tracking).
	ActiveShuffle bool
	// ShuffleServed: a shuffle service serves its output once it is gone
	// (stoke.shuffle.service.enabled on a standalone worker running the
	// service), so its output neither holds it nor moves.
	ShuffleServed bool
	// Receiving: a decommissioning executor is copying shuffle output to
	// it (never idle meanwhile).
	Receiving bool
}

// State is a snapshot of the scheduler's backlog and executors.
type State struct {
	Pending            int // tasks waiting for a slot, not speculative
	PendingSpeculative int // speculative copies waiting for a slot
	Running            int // running task attempts, speculative ones included
	Executors          []Executor
}

// Release asks the driver to give one executor back.
type Release struct {
	ID     string
	Host   string
	Reason string
	// Decommission: move its shuffle output to an executor that stays
	// before it goes.
	Decommission bool
}

// Decision is what one Update decided.
type Decision struct {
	// Target is the number of executors wanted in total; Changed says
	// whether it differs from the previous Decision (the driver then calls
	// RequestTotalExecutors).
	Target  int
	Changed bool
	// Reason says why the target changed.
	Reason string
	// Releases are idle executors to kill, in order.
	Releases []Release
}

// Policy decides targets and releases. It is not safe for concurrent use.
type Policy struct {
	cfg          Config
	target       int
	toAdd        int       // executors the next request adds
	addAt        time.Time // when the next request is due; zero: no backlog
	initializing bool
	idleSince    map[string]time.Time // executors seen, zero time: busy
	releasing    map[string]bool      // released, not yet gone from the snapshot
}

// New returns a policy whose target is cfg.InitialExecutors.
func New(cfg Config) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Policy{
		cfg:          cfg,
		target:       cfg.InitialExecutors,
		toAdd:        1,
		initializing: true,
		idleSince:    map[string]time.Time{},
		releasing:    map[string]bool{},
	}, nil
}

// Target is the current number of executors wanted.
func (p *Policy) Target() int { return p.target }

// ReleaseFailed tells the policy a release was not carried out: the
// executor counts again and may be released by a later Update.
func (p *Policy) ReleaseFailed(id string) { delete(p.releasing, id) }

// KeptAt tells the policy a release was given up at now (its shuffle
// output could not move): the executor counts again and its idle time
// starts over, so the next attempt waits for another idle timeout.
func (p *Policy) KeptAt(id string, now time.Time) {
	delete(p.releasing, id)
	if _, known := p.idleSince[id]; known {
		p.idleSince[id] = now
	}
}

// MarkReleasing tells the policy an executor is being released by someone
// else (an operator): it no longer counts.
func (p *Policy) MarkReleasing(id string) { p.releasing[id] = true }

// Needed is the number of executors that would run every pending and
// running task at once, scaled by the allocation ratio.
func (p *Policy) Needed(s State) int {
	tasks := s.Pending + s.PendingSpeculative + s.Running
	if tasks <= 0 {
		return 0
	}
	perExec := max(1, p.cfg.ExecutorCores/p.cfg.TaskCPUs)
	if p.cfg.AllocationRatio == 1 {
		return (tasks + perExec - 1) / perExec
	}
	// The epsilon keeps 10 × 0.3 from rounding up to 4.
	return int(math.Ceil(float64(tasks)*p.cfg.AllocationRatio/float64(perExec) - 1e-9))
}

// Update takes a snapshot at now and decides.
func (p *Policy) Update(s State, now time.Time) Decision {
	old := p.target
	var reason string
	p.track(s, now)
	backlog := s.Pending+s.PendingSpeculative > 0
	if backlog || s.Running > 0 {
		p.initializing = false
	}
	if backlog {
		if p.addAt.IsZero() {
			p.addAt = now.Add(p.cfg.SchedulerBacklogTimeout)
		}
	} else {
		p.addAt, p.toAdd = time.Time{}, 1
	}
	expired := p.expired(s, now)
	if len(expired) > 0 {
		p.initializing = false
	}
	live := 0
	for _, e := range s.Executors {
		if !p.releasing[e.ID] {
			live++
		}
	}
	if !p.initializing {
		needed := p.Needed(s)
		switch {
		case needed < p.target:
			p.target = max(needed, p.cfg.MinExecutors)
			p.toAdd = 1
			if p.target != old {
				reason = fmt.Sprintf("%d tasks need %d executors", s.Pending+s.PendingSpeculative+s.Running, needed)
			}
		case !p.addAt.IsZero() && !now.Before(p.addAt):
			if p.add(needed, live) {
				reason = fmt.Sprintf("backlog of %d pending tasks needs %d executors", s.Pending+s.PendingSpeculative, needed)
				if s.PendingSpeculative > 0 {
					reason = fmt.Sprintf("backlog of %d pending tasks (%d speculative copies) needs %d executors", s.Pending+s.PendingSpeculative, s.PendingSpeculative, needed)
				}
			}
			p.addAt = now.Add(p.cfg.SustainedSchedulerBacklogTimeout)
		}
	}
	d := Decision{Target: p.target, Changed: p.target != old, Reason: reason}
	// While shuffle output moves, one executor stays to take it.
	moving := false
	for _, e := range s.Executors {
		moving = moving || (p.releasing[e.ID] && p.movesShuffle(e))
	}
	for _, e := range expired {
		if live-1 < p.cfg.MinExecutors || live-1 < p.target {
			break
		}
		move := p.movesShuffle(e.Executor)
		if !move && moving && live-1 < 1 {
			continue
		}
		if move && live-1 < 1 {
			// Nobody would stay to take its output: shuffle tracking
			// keeps it (for shuffleTracking.timeout).
			if p.cfg.ShuffleTracking && now.Sub(e.since) < p.cfg.ShuffleTrackingTimeout {
				continue
			}
			move = false
		}
		live--
		moving = moving || move
		p.releasing[e.ID] = true
		d.Releases = append(d.Releases, Release{ID: e.ID, Host: e.Host, Reason: p.releaseReason(e.Executor, now.Sub(e.since)), Decommission: move})
	}
	return d
}

// add raises the target by the next ramp step, within needed and the
// limits; it reports whether the target grew.
func (p *Policy) add(needed, live int) bool {
	if p.target >= p.cfg.MaxExecutors {
		p.toAdd = 1
		return false
	}
	// Executors still here count: a returning backlog reuses them before
	// asking for new ones.
	base := max(p.target, min(live, p.cfg.MaxExecutors))
	t := min(base+p.toAdd, needed)
	t = max(min(t, p.cfg.MaxExecutors), p.cfg.MinExecutors)
	if t <= p.target {
		p.toAdd = 1
		return false
	}
	if t-base == p.toAdd {
		p.toAdd = min(p.toAdd*2, p.cfg.MaxExecutors)
	} else {
		p.toAdd = 1
	}
	p.target = t
	return true
}

// track updates when each executor became idle and forgets the gone ones.
func (p *Policy) track(s State, now time.Time) {
	seen := make(map[string]bool, len(s.Executors))
	for _, e := range s.Executors {
		seen[e.ID] = true
		busy := e.Running > 0 || e.Receiving || (p.tracksShuffle(e) && e.ActiveShuffle)
		since, known := p.idleSince[e.ID]
		switch {
		case busy:
			p.idleSince[e.ID] = time.Time{}
		case !known || since.IsZero():
			p.idleSince[e.ID] = now
		}
	}
	for id := range p.idleSince {
		if !seen[id] {
			delete(p.idleSince, id)
			delete(p.releasing, id)
		}
	}
	for id := range p.releasing {
		if !seen[id] {
			delete(p.releasing, id)
		}
	}
}

type idle struct {
	Executor
	since time.Time
}

// expired lists the idle executors past their timeout, in release order:
// those no pending task prefers first, then the longest idle, then by id.
func (p *Policy) expired(s State, now time.Time) []idle {
	var out []idle
	for _, e := range s.Executors {
		since := p.idleSince[e.ID]
		if since.IsZero() || p.releasing[e.ID] {
			continue
		}
		to := p.timeout(e)
		if to == Forever || now.Sub(since) < to {
			continue
		}
		out = append(out, idle{e, since})
	}
	slices.SortFunc(out, func(a, b idle) int {
		if (a.LocalPending > 0) != (b.LocalPending > 0) {
			if a.LocalPending > 0 {
				return 1
			}
			return -1
		}
		if c := a.since.Compare(b.since); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

// tracksShuffle says whether e's shuffle output holds it: with shuffle
// tracking, unless it can move (decommission) or is served without it
// (shuffle service).
func (p *Policy) tracksShuffle(e Executor) bool {
	return p.cfg.ShuffleTracking && !p.cfg.Decommission && !e.ShuffleServed
}

// movesShuffle says whether e's release first moves its shuffle output.
func (p *Policy) movesShuffle(e Executor) bool {
	return p.cfg.Decommission && !e.ShuffleServed && e.ShuffleData
}

// timeout is how long e may stay idle.
func (p *Policy) timeout(e Executor) time.Duration {
	shuffle := p.tracksShuffle(e) && e.ShuffleData
	if !e.Cached && !shuffle {
		return p.cfg.ExecutorIdleTimeout
	}
	to := Forever
	if e.Cached {
		to = p.cfg.CachedIdleTimeout
	}
	if shuffle {
		to = min(to, p.cfg.ShuffleTrackingTimeout)
	}
	return to
}

func (p *Policy) releaseReason(e Executor, idleFor time.Duration) string {
	what := "idle"
	switch shuffle := (p.tracksShuffle(e) || p.movesShuffle(e)) && e.ShuffleData; {
	case e.Cached && shuffle:
		what = "idle with cached blocks and shuffle output"
	case e.Cached:
		what = "idle with cached blocks"
	case shuffle:
		what = "idle with shuffle output"
	}
	return fmt.Sprintf("dynamic allocation: %s for %v (timeout %v)", what, idleFor.Round(time.Millisecond), p.timeout(e))
}
