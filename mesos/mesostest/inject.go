package mesostest

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// KillTask kills a command task's process with SIGKILL, as if it crashed:
// the task fails (TASK_FAILED). Tasks of custom executors have no process
// of their own; use KillExecutor.
func (c *Cluster) KillTask(frameworkID, taskID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.taskLocked(frameworkID, taskID)
	switch {
	case t == nil:
		return apiErr("task %s of framework %s not found", taskID, frameworkID)
	case !t.exec.command:
		return apiErr("task %s runs in custom executor %s; kill the executor instead", taskID, t.exec.id)
	case t.exec.proc == nil || t.exec.exited:
		return apiErr("task %s has no running process", taskID)
	}
	t.exec.signal(sigKill)
	return nil
}

// KillExecutor kills a custom executor's process group with SIGKILL: its
// tasks fail and the framework gets a FAILURE event.
func (c *Cluster) KillExecutor(frameworkID, executorID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.agents {
		if a.removed {
			continue
		}
		if e := a.executorLocked(frameworkID, executorID); e != nil {
			if e.proc == nil {
				return apiErr("executor %s has not started yet", executorID)
			}
			e.signal(sigKill)
			return nil
		}
	}
	return apiErr("executor %s of framework %s not found", executorID, frameworkID)
}

// RemoveAgent removes an agent as the master does when it is lost: its
// processes die, its offers are rescinded, every framework gets FAILURE for
// it and each of its tasks goes TASK_LOST (TASK_GONE when partition-aware).
func (c *Cluster) RemoveAgent(agentID string) error {
	c.mu.Lock()
	a := c.agentLocked(agentID)
	if a == nil {
		c.mu.Unlock()
		return apiErr("agent %s not found", agentID)
	}
	a.removed = true
	a.shutdownAllLocked()
	if m := c.leader; m != nil {
		for _, o := range m.offers {
			if o.agentID == a.id {
				m.rescindLocked(o)
			}
		}
		for _, e := range a.executors {
			for _, t := range e.tasks {
				if t.terminal() {
					continue
				}
				fw := m.frameworks[e.fwID]
				st := masterStatus(t.info.TaskID.Value, a.id, fw.lossState(), mesos.REASON_AGENT_REMOVED, "Agent "+a.id+" removed")
				st.ExecutorID = &mesos.ExecutorID{Value: e.id}
				t.latest = st
				c.stats.statusUpdate(e.fwID, t.info.TaskID.Value, st.GetState())
				m.sendLocked(e.fwID, updateEvent(st))
			}
		}
		for id, fw := range m.frameworks {
			if fw.connected() {
				m.sendLocked(id, failureEvent(a.id, "", nil))
			}
		}
	}
	for _, e := range a.executors {
		for _, t := range e.tasks {
			t.updates = nil
		}
	}
	c.logf("agent %s removed", a.id)
	c.mu.Unlock()
	go a.close()
	return nil
}

// FailoverMaster moves leadership to the next master: the old leader drops
// every stream and from then on answers 307; the new one rebuilds its state
// from the agents (tasks keep running) and frameworks must subscribe again
// with their ids. It returns the new leader.
func (c *Cluster) FailoverMaster() *Master {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.masters) == 0 {
		return nil
	}
	next := c.masters[0]
	if c.leader != nil {
		c.leader.demoteLocked()
		next = c.masters[(c.leader.index+1)%len(c.masters)]
	}
	c.leader = next
	next.promoteLocked()
	c.logf("master %s is the new leader", next.addr)
	return next
}

// LoseLeadership leaves the cluster without a leader (every master answers
// 503 / redirects nowhere) until FailoverMaster is called.
func (c *Cluster) LoseLeadership() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader != nil {
		c.leader.demoteLocked()
		c.leader = nil
	}
}

// DropStream cuts a framework's event stream mid-response (the TCP
// connection is dropped). The framework is then disconnected and must
// subscribe again within its failover timeout.
func (c *Cluster) DropStream(frameworkID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader == nil {
		return apiErr("no leading master")
	}
	fw := c.leader.frameworks[frameworkID]
	if fw == nil || !fw.connected() {
		return apiErr("framework %s has no event stream", frameworkID)
	}
	fw.stream.close(true)
	return nil
}

// RescindOffers rescinds every outstanding offer of a framework.
func (c *Cluster) RescindOffers(frameworkID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	if m := c.leader; m != nil {
		for _, o := range m.offers {
			if o.frameworkID == frameworkID {
				m.rescindLocked(o)
				n++
			}
		}
	}
	return n
}
