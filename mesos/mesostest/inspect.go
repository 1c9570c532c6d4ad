package mesostest

import (
	"sort"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/stoke-run/stoke/internal/testutil"
)

// Usage is what a framework holds: executors' own resources plus its
// running tasks'.
type Usage struct {
	CPUs  float64
	MemMB float64
}

// UsageSample is a change of one framework's usage on one agent.
type UsageSample struct {
	Time        time.Time
	FrameworkID string
	AgentID     string
	Usage
}

// TaskView is a task as the agents know it. A command task's ExecutorID is
// its task id (its command executor's id, as in Mesos).
type TaskView struct {
	FrameworkID, TaskID, AgentID, ExecutorID string
	State                                    mesos.TaskState
	// States is every state the task reported, in order.
	States []mesos.TaskState
	// Sandbox is the executor's sandbox directory.
	Sandbox        string
	CPUs, MemMB    float64
	PendingUpdates int // updates not yet acknowledged
}

// FrameworkView is a framework as the leading master knows it.
type FrameworkView struct {
	ID, Name    string
	Connected   bool
	Subscribes  int
	OfferEvents int
	Offers      int
	OfferedCPUs float64
	Calls       map[string]int // by call type name
	Removed     string         // why it was removed, if it was
	Suppressed  bool           // every role's offers suppressed on the leader now
}

// Counters are cluster-wide counts.
type Counters struct {
	LeaderChanges, AuthFailures           int
	Rescinds, Declines, Accepts, Launched int
	TaskErrors, UpdatesSent, Acks         int
	StaleAcks, DuplicateExecutorUpdates   int
}

// Masters lists the masters; Leader is the current leader (or nil).
func (c *Cluster) Masters() []*Master { return append([]*Master(nil), c.masters...) }

// Leader is the leading master, or nil while none leads.
func (c *Cluster) Leader() *Master {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

// Standby is a master that does not lead, or nil with a single master.
func (c *Cluster) Standby() *Master {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.masters {
		if m != c.leader {
			return m
		}
	}
	return nil
}

// SchedulerURL is the leader's scheduler endpoint.
func (c *Cluster) SchedulerURL() string {
	if m := c.Leader(); m != nil {
		return m.SchedulerURL()
	}
	return ""
}

// MasterURL is the leader's address as a Stoke master URL, mesos://host:port.
func (c *Cluster) MasterURL() string {
	if m := c.Leader(); m != nil {
		return m.MesosURL()
	}
	return ""
}

// Agents lists the agents that have not been removed.
func (c *Cluster) Agents() []*Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Agent
	for _, a := range c.agents {
		if !a.removed {
			out = append(out, a)
		}
	}
	return out
}

func (c *Cluster) viewLocked(t *task) TaskView {
	e := t.exec
	v := TaskView{FrameworkID: e.fwID, TaskID: t.info.TaskID.Value, AgentID: e.agent.id, State: t.state(),
		ExecutorID: e.id, Sandbox: e.dir, CPUs: t.res.scalar("cpus"), MemMB: t.res.scalar("mem"), PendingUpdates: len(t.updates)}
	v.States = append(v.States, c.stats.fw(e.fwID).states[v.TaskID]...)
	return v
}

// Tasks lists every task on agents that have not been removed, running or
// completed.
func (c *Cluster) Tasks() []TaskView {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []TaskView
	seen := map[*task]bool{}
	for _, a := range c.agents {
		if a.removed {
			continue
		}
		for _, e := range a.executors {
			for _, t := range e.tasks {
				seen[t] = true
				out = append(out, c.viewLocked(t))
			}
		}
		for _, t := range a.completed {
			if !seen[t] {
				seen[t] = true
				out = append(out, c.viewLocked(t))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TaskID < out[j].TaskID })
	return out
}

// Task returns one task.
func (c *Cluster) Task(frameworkID, taskID string) (TaskView, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.taskLocked(frameworkID, taskID)
	if t == nil {
		return TaskView{}, false
	}
	return c.viewLocked(t), true
}

// Frameworks lists the frameworks the leader knows, and removed ones.
func (c *Cluster) Frameworks() []FrameworkView {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	var out []FrameworkView
	add := func(id, name string, connected, suppressed bool) {
		seen[id] = true
		s := c.stats.fw(id)
		v := FrameworkView{ID: id, Name: name, Connected: connected, Subscribes: s.subscribes, OfferEvents: s.offerEvents,
			Offers: s.offers, OfferedCPUs: s.offeredCPUs, Calls: map[string]int{}, Removed: s.removed, Suppressed: suppressed}
		for k, n := range s.calls {
			v.Calls[k] = n
		}
		out = append(out, v)
	}
	if c.leader != nil {
		for id, fw := range c.leader.frameworks {
			add(id, fw.info.Name, fw.connected(), fw.offerRole() == "")
		}
	}
	for id := range c.stats.frameworks {
		if !seen[id] {
			add(id, "", false, false)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Framework returns one framework's view.
func (c *Cluster) Framework(id string) (FrameworkView, bool) {
	for _, f := range c.Frameworks() {
		if f.ID == id {
			return f, true
		}
	}
	return FrameworkView{}, false
}

// Used is what a framework holds now on one agent ("" for all agents).
func (c *Cluster) Used(frameworkID, agentID string) Usage {
	c.mu.Lock()
	defer c.mu.Unlock()
	var u Usage
	for _, a := range c.agents {
		if a.removed || (agentID != "" && a.id != agentID) {
			continue
		}
		r := a.usedByLocked(frameworkID)
		u.CPUs = round(u.CPUs + r.scalar("cpus"))
		u.MemMB = round(u.MemMB + r.scalar("mem"))
	}
	return u
}

// Free is what an agent's frameworks do not hold (resources in outstanding
// offers count as free).
func (c *Cluster) Free(agentID string) Usage {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agentLocked(agentID)
	if a == nil {
		return Usage{}
	}
	r := a.freeLocked()
	return Usage{CPUs: r.scalar("cpus"), MemMB: r.scalar("mem")}
}

// UsageHistory is every change of a framework's usage, per agent, in
// order ("" for all frameworks).
func (c *Cluster) UsageHistory(frameworkID string) []UsageSample {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []UsageSample
	for _, s := range c.stats.usage {
		if frameworkID == "" || s.FrameworkID == frameworkID {
			out = append(out, s)
		}
	}
	return out
}

// Counters returns the cluster-wide counters.
func (c *Cluster) Counters() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.stats
	return Counters{LeaderChanges: s.leaderChanges, AuthFailures: s.authFailures, Rescinds: s.rescinds,
		Declines: s.declines, Accepts: s.accepts, Launched: s.launched, TaskErrors: s.taskErrors,
		UpdatesSent: s.updatesSent, Acks: s.acks, StaleAcks: s.staleAcks, DuplicateExecutorUpdates: s.duplicateUpdates}
}

// Eventually polls cond until it holds, failing the test after timeout
// scaled by testutil.Scale (STOKE_TEST_SCALE).
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	testutil.Eventually(tb, timeout, what, cond)
}
