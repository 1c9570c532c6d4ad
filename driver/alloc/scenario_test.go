package alloc

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// cluster is a toy cluster manager: it grants executors up to the
// target at once and kills released ones, so scenarios read as the
// sequence of decisions.
type cluster struct {
	t       *testing.T
	p       *Policy
	now     time.Time
	execs   []Executor
	next    int
	targets []int    // every changed target, in order
	removed []string // every release, in order
	s       State    // backlog of the next step (Executors filled in)
	// demand, when auto is set, replaces s: that many one-core tasks,
	// one per executor, the rest pending.
	demand int
	auto   bool
}

func newCluster(t *testing.T, cfg Config, initial int) *cluster {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, p: p, now: epoch}
	c.grow(initial)
	return c
}

func (c *cluster) grow(n int) {
	for range n {
		c.execs = append(c.execs, Executor{ID: fmt.Sprintf("e%d", c.next), Host: fmt.Sprintf("h%d", c.next%2)})
		c.next++
	}
}

// step advances the clock by d, takes one decision and carries it out.
func (c *cluster) step(d time.Duration) Decision {
	c.now = c.now.Add(d)
	if c.auto {
		c.s = State{}
		for i := range c.execs {
			c.execs[i].Running = 0
			if c.s.Running < c.demand {
				c.execs[i].Running = 1
				c.s.Running++
			}
		}
		c.s.Pending = c.demand - c.s.Running
	}
	s := c.s
	s.Executors = slices.Clone(c.execs)
	dec := c.p.Update(s, c.now)
	if dec.Target < c.p.cfg.MinExecutors || dec.Target > c.p.cfg.MaxExecutors {
		c.t.Fatalf("at %v: target %d outside [%d, %d]", c.now.Sub(epoch), dec.Target, c.p.cfg.MinExecutors, c.p.cfg.MaxExecutors)
	}
	if dec.Changed {
		c.targets = append(c.targets, dec.Target)
		if dec.Reason == "" {
			c.t.Errorf("at %v: target changed to %d without a reason", c.now.Sub(epoch), dec.Target)
		}
	}
	for _, r := range dec.Releases {
		i := slices.IndexFunc(c.execs, func(e Executor) bool { return e.ID == r.ID })
		if i < 0 {
			c.t.Fatalf("released unknown executor %s", r.ID)
		}
		if c.execs[i].Running > 0 {
			c.t.Fatalf("released busy executor %s", r.ID)
		}
		c.execs = slices.Delete(c.execs, i, i+1)
		c.removed = append(c.removed, r.ID)
	}
	if missing := dec.Target - len(c.execs); missing > 0 {
		c.grow(missing)
	}
	return dec
}

// run steps every tick until total has passed.
func (c *cluster) run(total, tick time.Duration) {
	for end := c.now.Add(total); c.now.Before(end); {
		c.step(tick)
	}
}

func (c *cluster) setRunning(perExec int) {
	for i := range c.execs {
		c.execs[i].Running = perExec
	}
}

const tick = 100 * time.Millisecond

func TestRampUpDoublesWhileTheBacklogLasts(t *testing.T) {
	c := newCluster(t, DefaultConfig(), 0)
	c.s = State{Pending: 100}
	c.run(900*time.Millisecond, tick)
	if len(c.targets) != 0 {
		t.Fatalf("requested %v before schedulerBacklogTimeout", c.targets)
	}
	c.run(7*time.Second, tick)
	want := []int{1, 3, 7, 15, 31, 63, 100}
	if !slices.Equal(c.targets, want) {
		t.Fatalf("targets %v, want %v (1, 2, 4, ... more each sustained timeout, capped at the 100 needed)", c.targets, want)
	}
}

func TestRampUpStopsAtMaxAndRestartsAfterTheBacklogEmpties(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxExecutors = 10
	c := newCluster(t, cfg, 0)
	c.s = State{Pending: 100}
	c.run(6*time.Second, tick)
	if want := []int{1, 3, 7, 10}; !slices.Equal(c.targets, want) {
		t.Fatalf("targets %v, want %v", c.targets, want)
	}
	// The backlog empties: the 10 executors run 10 tasks, need stays 10.
	c.s = State{Running: 10}
	c.setRunning(1)
	c.run(2*time.Second, tick)
	// A new backlog with more room: the ramp starts at 1 again.
	c.p.cfg.MaxExecutors = 100
	c.s = State{Pending: 100, Running: 10}
	c.targets = nil
	c.run(3500*time.Millisecond, tick)
	if want := []int{11, 13, 17}; !slices.Equal(c.targets, want) {
		t.Fatalf("after the backlog returned: targets %v, want %v", c.targets, want)
	}
}

func TestTargetCountsSpeculativeCopiesAndTaskCPUs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ExecutorCores, cfg.TaskCPUs = 4, 2 // two tasks per executor
	c := newCluster(t, cfg, 0)
	// 3 running, 2 pending, 3 speculative copies: 8 tasks, 4 executors.
	c.s = State{Pending: 2, PendingSpeculative: 3, Running: 3}
	if n := c.p.Needed(c.s); n != 4 {
		t.Fatalf("needed %d executors for 8 tasks at 2 per executor, want 4", n)
	}
	c.run(5*time.Second, tick)
	if got := c.p.Target(); got != 4 {
		t.Fatalf("target %d, want 4 (targets %v)", got, c.targets)
	}
	// The speculative copies alone are a backlog.
	c2 := newCluster(t, DefaultConfig(), 2)
	c2.setRunning(1)
	c2.s = State{PendingSpeculative: 2, Running: 2}
	c2.run(1100*time.Millisecond, tick)
	if got := c2.p.Target(); got != 3 {
		t.Fatalf("with 2 speculative copies waiting: target %d, want 3 (2 running + a first step of 1)", got)
	}
}

func TestAllocationRatioRoundsUp(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		ratio       float64
		tasks, want int
	}{{1, 10, 10}, {0.5, 10, 5}, {0.5, 11, 6}, {0.3, 10, 3}, {0.1, 1, 1}} {
		cfg.AllocationRatio = tc.ratio
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Needed(State{Pending: tc.tasks}); got != tc.want {
			t.Errorf("ratio %v, %d tasks: needed %d, want %d", tc.ratio, tc.tasks, got, tc.want)
		}
	}
}

func TestIdleExecutorsGoAfterTheIdleTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinExecutors, cfg.InitialExecutors = 1, 3
	c := newCluster(t, cfg, 3)
	c.s = State{Running: 3}
	c.setRunning(1)
	c.step(tick)
	c.s = State{}
	c.setRunning(0)
	c.step(tick) // idle from here
	c.run(59*time.Second+900*time.Millisecond, tick)
	if len(c.removed) != 0 {
		t.Fatalf("released %v before executorIdleTimeout", c.removed)
	}
	dec := c.step(tick)
	if want := []string{"e0", "e1"}; !slices.Equal(c.removed, want) {
		t.Fatalf("released %v, want %v (down to minExecutors 1, oldest idle first)", c.removed, want)
	}
	if !strings.Contains(dec.Releases[0].Reason, "idle for 1m0s") {
		t.Errorf("release reason %q does not say how long it was idle", dec.Releases[0].Reason)
	}
	if c.p.Target() != 1 {
		t.Errorf("target %d, want minExecutors 1", c.p.Target())
	}
	c.run(10*time.Minute, time.Second)
	if len(c.execs) != 1 {
		t.Fatalf("%d executors left, want minExecutors 1", len(c.execs))
	}
}

func TestBusyExecutorsAreNeverReleased(t *testing.T) {
	c := newCluster(t, DefaultConfig(), 2)
	c.execs[0].Running = 1
	c.s = State{Running: 1}
	c.run(5*time.Minute, time.Second)
	if !slices.Equal(c.removed, []string{"e1"}) {
		t.Fatalf("released %v, want only the idle e1", c.removed)
	}
}

func TestExecutorsHoldingShuffleDataAreKept(t *testing.T) {
	cfg := DefaultConfig()
	c := newCluster(t, cfg, 3)
	c.execs[0].ShuffleData = true
	c.execs[1].ActiveShuffle = true
	c.s = State{Running: 1}
	c.step(tick)
	c.s = State{}
	c.run(time.Hour, 10*time.Second)
	if !slices.Equal(c.removed, []string{"e2"}) {
		t.Fatalf("with shuffle tracking and no timeout: released %v, want only e2", c.removed)
	}

	// With shuffleTracking.timeout the tracked output holds the executor
	// that long; output an active job reads holds it regardless.
	cfg.ShuffleTrackingTimeout = 5 * time.Minute
	c = newCluster(t, cfg, 3)
	c.execs[0].ShuffleData = true
	c.execs[1].ActiveShuffle = true
	c.s = State{Running: 1}
	c.step(tick)
	c.s = State{}
	c.run(4*time.Minute, 10*time.Second)
	if !slices.Equal(c.removed, []string{"e2"}) {
		t.Fatalf("before shuffleTracking.timeout: released %v, want only e2", c.removed)
	}
	c.run(2*time.Minute, 10*time.Second)
	if !slices.Equal(c.removed, []string{"e2", "e0"}) {
		t.Fatalf("after shuffleTracking.timeout: released %v, want e2 then e0", c.removed)
	}

	// Without shuffle tracking the output does not matter.
	cfg.ShuffleTracking = false
	c = newCluster(t, cfg, 3)
	c.execs[0].ShuffleData = true
	c.execs[1].ActiveShuffle = true
	c.s = State{Running: 1}
	c.step(tick)
	c.s = State{}
	c.run(2*time.Minute, 10*time.Second)
	if len(c.removed) != 3 {
		t.Fatalf("without shuffle tracking: released %v, want all 3", c.removed)
	}
}

func TestCachedExecutorsUseTheirOwnTimeout(t *testing.T) {
	cfg := DefaultConfig()
	c := newCluster(t, cfg, 2)
	c.execs[0].Cached = true
	c.s = State{Running: 1}
	c.step(tick)
	c.s = State{}
	c.run(24*time.Hour, time.Minute)
	if !slices.Equal(c.removed, []string{"e1"}) {
		t.Fatalf("cachedExecutorIdleTimeout unset: released %v, want only e1", c.removed)
	}
	cfg.CachedIdleTimeout = 10 * time.Minute
	c = newCluster(t, cfg, 2)
	c.execs[0].Cached = true
	c.s = State{Running: 1}
	c.step(tick)
	c.s = State{}
	c.run(9*time.Minute, time.Second)
	if !slices.Equal(c.removed, []string{"e1"}) {
		t.Fatalf("before cachedExecutorIdleTimeout: released %v", c.removed)
	}
	dec := c.step(time.Minute)
	if !slices.Equal(c.removed, []string{"e1", "e0"}) || !strings.Contains(dec.Releases[0].Reason, "cached") {
		t.Fatalf("after cachedExecutorIdleTimeout: released %v (%+v)", c.removed, dec.Releases)
	}
}

func TestExecutorsLocalToPendingTasksGoLast(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinExecutors, cfg.InitialExecutors = 1, 1
	c := newCluster(t, cfg, 3)
	// e0 is idle longest but a pending task waits for its host.
	c.execs[0].LocalPending = 1
	c.s = State{Running: 1}
	c.step(tick)
	c.s = State{}
	c.run(2*time.Minute, time.Second)
	if !slices.Equal(c.removed, []string{"e1", "e2"}) {
		t.Fatalf("released %v, want e1 and e2 (e0 has local pending work)", c.removed)
	}
}

func TestMinAndMaxAreRespected(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinExecutors, cfg.InitialExecutors, cfg.MaxExecutors = 2, 2, 5
	c := newCluster(t, cfg, 2)
	c.s = State{Pending: 1000}
	c.run(time.Minute, tick)
	if c.p.Target() != 5 || len(c.execs) != 5 {
		t.Fatalf("target %d with %d executors, want maxExecutors 5", c.p.Target(), len(c.execs))
	}
	c.s = State{}
	c.run(time.Hour, time.Second)
	if c.p.Target() != 2 || len(c.execs) != 2 {
		t.Fatalf("target %d with %d executors, want minExecutors 2", c.p.Target(), len(c.execs))
	}
	// step checks every decision lies in [min, max].
}

func TestTargetStaysInitialUntilTheFirstTask(t *testing.T) {
	cfg := DefaultConfig()
	cfg.InitialExecutors = 4
	c := newCluster(t, cfg, 4)
	c.run(59*time.Second, time.Second)
	if len(c.targets) != 0 || len(c.removed) != 0 || c.p.Target() != 4 {
		t.Fatalf("before any task: targets %v, released %v", c.targets, c.removed)
	}
	// Idle past the timeout ends the initial period: all go.
	c.run(2*time.Second, time.Second)
	if len(c.execs) != 0 || c.p.Target() != 0 {
		t.Fatalf("after the idle timeout: %d executors, target %d, want 0", len(c.execs), c.p.Target())
	}
}

func TestAFlappingBacklogDoesNotChurn(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ExecutorIdleTimeout = 5 * time.Second
	c := newCluster(t, cfg, 0)
	// Short flaps (shorter than schedulerBacklogTimeout) ask for nothing.
	for range 50 {
		c.s = State{Pending: 20}
		c.run(800*time.Millisecond, tick)
		c.s = State{}
		c.run(300*time.Millisecond, tick)
	}
	if len(c.targets) != 0 || len(c.execs) != 0 {
		t.Fatalf("sub-timeout flaps: targets %v, executors %d, want nothing", c.targets, len(c.execs))
	}
	// Longer flaps: the executors got in the first burst serve the
	// later ones; quiet spells shorter than the idle timeout release
	// nothing and no executor is asked for twice.
	c.auto = true
	for range 20 {
		c.demand = 8
		c.run(6*time.Second, tick)
		c.demand = 0
		c.run(3*time.Second, tick)
	}
	if len(c.removed) != 0 {
		t.Fatalf("released %v during quiet spells shorter than the idle timeout", c.removed)
	}
	if c.next != 8 {
		t.Fatalf("%d executors were started for a backlog that never needs more than 8", c.next)
	}
	c.run(10*time.Second, tick)
	if len(c.execs) != 0 {
		t.Fatalf("after a long quiet spell %d executors remain, want 0", len(c.execs))
	}
}

func TestReleaseFailedMakesTheExecutorCountAgain(t *testing.T) {
	c := newCluster(t, DefaultConfig(), 1)
	c.s = State{Running: 1}
	c.step(tick)
	c.s = State{}
	c.now = c.now.Add(2 * time.Minute)
	s := State{Executors: c.execs}
	if d := c.p.Update(s, c.now); len(d.Releases) != 1 {
		t.Fatalf("releases %v, want e0", d.Releases)
	}
	if d := c.p.Update(s, c.now.Add(tick)); len(d.Releases) != 0 {
		t.Fatalf("released e0 twice: %v", d.Releases)
	}
	c.p.ReleaseFailed("e0")
	if d := c.p.Update(s, c.now.Add(2*tick)); len(d.Releases) != 1 {
		t.Fatalf("after ReleaseFailed: releases %v, want e0 again", d.Releases)
	}
}

func TestBadConfigIsRefused(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.MinExecutors, c.MaxExecutors, c.InitialExecutors = 5, 3, 5 }, "minExecutors (5) must not be greater than stoke.dynamicAllocation.maxExecutors (3)"},
		{func(c *Config) { c.MinExecutors, c.InitialExecutors = 2, 1 }, "initialExecutors (1) must be between"},
		{func(c *Config) { c.MaxExecutors, c.InitialExecutors = 3, 4 }, "initialExecutors (4) must be between"},
		{func(c *Config) { c.MinExecutors = -1 }, "minExecutors must be at least 0, got -1"},
		{func(c *Config) { c.MaxExecutors = 0 }, "maxExecutors must be at least 1, got 0"},
		{func(c *Config) { c.AllocationRatio = 0 }, "executorAllocationRatio must be in (0, 1], got 0"},
		{func(c *Config) { c.AllocationRatio = 1.5 }, "executorAllocationRatio must be in (0, 1], got 1.5"},
		{func(c *Config) { c.SchedulerBacklogTimeout = 0 }, "schedulerBacklogTimeout must be greater than 0, got 0s"},
		{func(c *Config) { c.SustainedSchedulerBacklogTimeout = -time.Second }, "sustainedSchedulerBacklogTimeout must be greater than 0, got -1s"},
		{func(c *Config) { c.ExecutorIdleTimeout = -time.Second }, "executorIdleTimeout must be at least 0, got -1s"},
		{func(c *Config) { c.CachedIdleTimeout = -time.Second }, "cachedExecutorIdleTimeout must be at least 0, got -1s"},
		{func(c *Config) { c.ShuffleTrackingTimeout = -time.Second }, "shuffleTracking.timeout must be at least 0, got -1s"},
		{func(c *Config) { c.ExecutorCores, c.TaskCPUs = 1, 2 }, "stoke.executor.cores (1) must be at least stoke.task.cpus (2)"},
		{func(c *Config) { c.TaskCPUs = 0 }, "stoke.task.cpus must be at least 1, got 0"},
	} {
		cfg := DefaultConfig()
		tc.mod(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %+v: error %v, want one containing %q", cfg, err, tc.want)
		}
	}
	if _, err := New(DefaultConfig()); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
}

// With decommission, executors holding shuffle output (even output an
// active job reads) go after the idle timeout like the others, their
// output moving to one that stays; the last one is kept by shuffle
// tracking, since its output would have nowhere to go.
func TestDecommissionReleasesShuffleHoldersButTheLast(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Decommission = true
	c := newCluster(t, cfg, 3)
	c.execs[0].ShuffleData = true
	c.execs[1].ShuffleData, c.execs[1].ActiveShuffle = true, true
	c.execs[2].ShuffleData = true
	c.s = State{Running: 1}
	c.step(tick)
	c.s = State{}
	var moved []string
	var first time.Duration
	for end := c.now.Add(10 * time.Minute); c.now.Before(end); {
		d := c.step(10 * time.Second)
		if len(d.Releases) > 0 && first == 0 {
			first = c.now.Sub(epoch)
		}
		for _, r := range d.Releases {
			if !r.Decommission {
				t.Fatalf("%s holds shuffle output but is released without decommission", r.ID)
			}
			moved = append(moved, r.ID)
			// Its output moved to the executors left.
			for i := range c.execs {
				c.execs[i].ShuffleData = true
			}
		}
	}
	if len(moved) != 2 || len(c.execs) != 1 {
		t.Fatalf("released %v, left %v: want two decommissioned and one kept", moved, c.execs)
	}
	if first < time.Minute || first > time.Minute+10*time.Second {
		t.Fatalf("first release after %v, want the 60s idle timeout", first)
	}

	// The last holder goes too once shuffleTracking.timeout passes, and
	// without tracking at the idle timeout: its output is then recomputed.
	for _, tc := range []struct {
		tracking bool
		timeout  time.Duration
		after    time.Duration
	}{{true, 5 * time.Minute, 5 * time.Minute}, {false, Forever, time.Minute}} {
		cfg.ShuffleTracking, cfg.ShuffleTrackingTimeout = tc.tracking, tc.timeout
		c = newCluster(t, cfg, 1)
		c.execs[0].ShuffleData = true
		c.s = State{Running: 1}
		c.step(tick)
		c.s = State{}
		c.run(tc.after-20*time.Second, 10*time.Second)
		if len(c.removed) != 0 {
			t.Fatalf("tracking %v: the only holder went after %v", tc.tracking, c.now.Sub(epoch))
		}
		var last Decision
		for end := c.now.Add(time.Minute); c.now.Before(end) && len(c.removed) == 0; {
			last = c.step(10 * time.Second)
		}
		if len(c.removed) != 1 || last.Releases[0].Decommission {
			t.Fatalf("tracking %v: released %v (%v), want the holder without decommission", tc.tracking, c.removed, last.Releases)
		}
	}
}

// With a shuffle service, output holds nothing and moves nowhere.
func TestShuffleServiceReleasesShuffleHoldersAtTheIdleTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Decommission = true
	c := newCluster(t, cfg, 2)
	c.execs[0].ShuffleData, c.execs[0].ActiveShuffle, c.execs[0].ShuffleServed = true, true, true
	c.execs[1].ShuffleData, c.execs[1].ShuffleServed = true, true
	c.s = State{Running: 1}
	c.step(tick)
	c.s = State{}
	for end := c.now.Add(61 * time.Second); c.now.Before(end); {
		for _, r := range c.step(10 * time.Second).Releases {
			if r.Decommission {
				t.Fatalf("%s: decommission with a shuffle service", r.ID)
			}
		}
	}
	if len(c.removed) != 2 {
		t.Fatalf("released %v, want both at the idle timeout", c.removed)
	}
}

// While an executor's shuffle output moves, the executor taking it is not
// released, even when idle and above minExecutors: in the same decision
// or in later ones until the mover is gone.
func TestAnExecutorStaysWhileShuffleOutputMoves(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Decommission = true
	cfg.ExecutorIdleTimeout = 5 * time.Second
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := epoch
	execs := []Executor{{ID: "a", ShuffleData: true}, {ID: "b"}, {ID: "c"}}
	p.Update(State{Running: 1, Executors: execs}, now) // leaves the initial state
	var d Decision
	for i := 0; i < 60 && len(d.Releases) == 0; i++ {
		now = now.Add(tick)
		d = p.Update(State{Executors: execs}, now)
	}
	got := map[string]bool{}
	for _, r := range d.Releases {
		got[r.ID] = r.Decommission
	}
	if len(got) != 2 || !got["a"] {
		t.Fatalf("releases %v: want a (decommissioned) and one other, one staying", d.Releases)
	}
	// a is still moving (in the snapshot); the one left stays.
	left := execs[1]
	if _, gone := got["b"]; gone {
		left = execs[2]
	}
	for range 100 {
		now = now.Add(time.Second)
		if d := p.Update(State{Executors: []Executor{execs[0], left}}, now); len(d.Releases) != 0 {
			t.Fatalf("released %v while a's output moves to it", d.Releases)
		}
	}
	// Once a is gone, the one left (now holding the output) is the last.
	left.ShuffleData = true
	for range 100 {
		now = now.Add(time.Second)
		if d := p.Update(State{Executors: []Executor{left}}, now); len(d.Releases) != 0 {
			t.Fatalf("released the last holder %v", d.Releases)
		}
	}
}

// An executor whose output could not move is kept, and tried again only
// after another idle timeout, not at every decision.
func TestAKeptExecutorWaitsAnotherIdleTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Decommission = true
	cfg.ExecutorIdleTimeout = 5 * time.Second
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := epoch
	execs := []Executor{{ID: "a", ShuffleData: true}, {ID: "b", Running: 1}}
	p.Update(State{Running: 1, Executors: execs}, now)
	released := func() []Release {
		now = now.Add(tick)
		return p.Update(State{Running: 1, Executors: execs}, now).Releases
	}
	var first time.Time
	for i := 0; i < 100 && first.IsZero(); i++ {
		if len(released()) > 0 {
			first = now
		}
	}
	if first.IsZero() {
		t.Fatal("a was never released")
	}
	p.KeptAt("a", now)
	for now.Sub(first) < 5*time.Second-tick {
		if r := released(); len(r) > 0 {
			t.Fatalf("released %v again %v after it was kept", r, now.Sub(first))
		}
	}
	for i := 0; i < 3; i++ {
		if r := released(); len(r) == 1 && r[0].ID == "a" && r[0].Decommission {
			return
		}
	}
	t.Fatal("a was not tried again after another idle timeout")
}

// An executor shuffle output is being copied to is busy: it is not
// released while the copy runs, and its idle time starts when it ends.
func TestAnExecutorReceivingShuffleOutputIsBusy(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Decommission = true
	cfg.ExecutorIdleTimeout = 5 * time.Second
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := epoch
	execs := []Executor{{ID: "a", Receiving: true}, {ID: "b", Running: 1}}
	p.Update(State{Running: 1, Executors: execs}, now)
	for range 100 {
		now = now.Add(time.Second)
		if d := p.Update(State{Running: 1, Executors: execs}, now); len(d.Releases) != 0 {
			t.Fatalf("released %v while it receives shuffle output", d.Releases)
		}
	}
	execs[0].Receiving = false
	ended := now
	for now.Sub(ended) < time.Minute {
		now = now.Add(tick)
		if d := p.Update(State{Running: 1, Executors: execs}, now); len(d.Releases) > 0 {
			if idle := now.Sub(ended); d.Releases[0].ID != "a" || idle < 5*time.Second {
				t.Fatalf("released %v %v after the copy ended", d.Releases, idle)
			}
			return
		}
	}
	t.Fatal("never released once the copy ended")
}
