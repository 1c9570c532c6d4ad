package driver

import (
	"fmt"
	"sort"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/driver/alloc"
	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/clock"
	"github.com/stoke-run/stoke/internal/events"
)

// dynAlloc feeds the dynamic allocation policy (driver/alloc) the
// scheduler's backlog and the executors on a timer, and carries its
// decisions to the backend: RequestTotalExecutors when the target
// changes, KillExecutors for the idle executors it releases.
type dynAlloc struct {
	policy *alloc.Policy
	timer  clock.Timer
	// growReason is why the target last grew; executors that register
	// while the application is below it carry it in ExecutorAdded.
	growReason string
}

// startDynamicAllocation asks for the initial executors and starts the
// timer; c.mu is not held.
func (c *Context) startDynamicAllocation() error {
	p, err := alloc.New(c.settings.dyn)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.dyn = &dynAlloc{policy: p, growReason: "dynamic allocation: initial executors"}
	target := p.Target()
	c.mu.Unlock()
	c.post(events.ExecutorTarget{Target: target, Reason: "initial executors", Time: c.clock.Now()})
	if err := c.be.RequestTotalExecutors(target); err != nil {
		c.log.WithError(err).Warnf("dynamic allocation: asking for the %d initial executors", target)
	}
	c.mu.Lock()
	c.armDynamicAllocation()
	c.mu.Unlock()
	return nil
}

// armDynamicAllocation schedules the next decision; c.mu is held.
func (c *Context) armDynamicAllocation() {
	if c.dyn != nil && !c.stopped {
		c.dyn.timer = c.clock.AfterFunc(c.settings.dynInterval, c.dynamicAllocationTick)
	}
}

// dynamicAllocationTick takes one decision and carries it out. The next
// tick is armed only after the backend calls return, so calls of two
// decisions never overlap or reorder.
func (c *Context) dynamicAllocationTick() {
	c.mu.Lock()
	if c.stopped || c.dyn == nil {
		c.mu.Unlock()
		return
	}
	now := c.clock.Now()
	prev := c.dyn.policy.Target()
	// One walk of the pending tasks serves the policy and the hints.
	b := c.core.Backlog()
	d := c.dyn.policy.Update(c.allocStateOf(b), now)
	hints := backend.LocalityHints{Tasks: b.HostAware, Hosts: b.LocalHosts}
	a := &actions{}
	rels := make([]release, len(d.Releases))
	for i, r := range d.Releases {
		rels[i] = release{id: r.ID, reason: r.Reason, decommission: r.Decommission}
	}
	kill, decom := c.releaseLocked(rels, a)
	if d.Changed {
		if d.Target > prev {
			c.dyn.growReason = "dynamic allocation: " + d.Reason
		}
		c.log.Infof("dynamic allocation: target %d executors (%s)", d.Target, d.Reason)
	}
	c.mu.Unlock()
	c.apply(a)
	if d.Changed {
		c.post(events.ExecutorTarget{Target: d.Target, Reason: d.Reason, Time: now})
	}
	c.sendDecommissions(decom)
	c.killReleased(kill)
	// Releases lower the backend's total by as many; the target says
	// what is wanted after them.
	if d.Changed || len(kill) > 0 {
		if err := c.requestTotal(d.Target, hints); err != nil {
			c.log.WithError(err).Warnf("dynamic allocation: asking for %d executors", d.Target)
		}
	}
	c.mu.Lock()
	c.armDynamicAllocation()
	c.mu.Unlock()
}

// requestTotal asks the backend for n executors, near the pending tasks'
// data when it can place them.
func (c *Context) requestTotal(n int, hints backend.LocalityHints) error {
	if la, ok := c.be.(backend.LocalityAware); ok {
		return la.RequestTotalExecutorsNear(n, hints)
	}
	return c.be.RequestTotalExecutors(n)
}

// allocState is the policy's view of the application; c.mu is held.
func (c *Context) allocState() alloc.State { return c.allocStateOf(c.core.Backlog()) }

// allocStateOf is allocState from a backlog already taken; c.mu is held.
func (c *Context) allocStateOf(b sched.Backlog) alloc.State {
	st := alloc.State{Pending: b.Pending, PendingSpeculative: b.Speculative, Running: b.Running}
	// Shuffles a running job reads: those of its stages.
	active := map[int32]bool{}
	for _, j := range c.jobs {
		for _, s := range ancestors(j.final, map[int]bool{}, nil) {
			if s.shuffle != nil {
				active[s.shuffle.id] = true
			}
		}
	}
	shuffle := map[string]bool{}
	activeShuffle := map[string]bool{}
	for id, s := range c.shuffles {
		for _, o := range s.shuffle.outputs {
			if o != nil {
				shuffle[o.execID] = true
				if active[id] {
					activeShuffle[o.execID] = true
				}
			}
		}
	}
	cached := map[string]bool{}
	for _, r := range c.cached {
		for _, execs := range r.locs {
			for id := range execs {
				cached[id] = true
			}
		}
	}
	receiving := c.receiving()
	for id, info := range c.executors {
		st.Executors = append(st.Executors, alloc.Executor{
			ID:            id,
			Host:          info.Host,
			Running:       b.RunningOn[id],
			LocalPending:  b.LocalExecutors[id] + b.LocalHosts[info.Host],
			Cached:        cached[id],
			ShuffleData:   shuffle[id],
			ShuffleServed: c.shuffleServed(info),
			Receiving:     receiving[id],
			ActiveShuffle: activeShuffle[id],
		})
	}
	sort.Slice(st.Executors, func(i, j int) bool { return st.Executors[i].ID < st.Executors[j].ID })
	return st
}

// dynAddReason is why a newly registered executor came; c.mu is held.
func (c *Context) dynAddReason() string {
	if c.dyn == nil || len(c.executors) > c.dyn.policy.Target() {
		return ""
	}
	return c.dyn.growReason
}

// releasedReason replaces a backend's reason for a lost executor that
// the driver released; c.mu is held.
func (c *Context) releasedReason(id, reason string) (string, bool) {
	r, ok := c.releaseReasons[id]
	if !ok {
		return reason, false
	}
	delete(c.releaseReasons, id)
	return fmt.Sprintf("%s (%s)", r, reason), true
}
