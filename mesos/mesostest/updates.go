package mesostest

import (
	"bytes"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	execpb "github.com/mesos/mesos-go/api/v1/lib/executor"
)

// pendingUpdate is a status update the agent keeps until the framework
// acknowledges it, re-sending it to the leading master meanwhile.
type pendingUpdate struct {
	status       mesos.TaskStatus
	fromExecutor bool // acknowledge it back to the executor
	sentAt       time.Time
	wait         time.Duration // until the next retry
}

// statusUpdateLocked records a task's new status and queues it for the
// framework. Updates of one task are delivered in order: the next one is
// sent only after the previous one is acknowledged.
func (a *Agent) statusUpdateLocked(t *task, st mesos.TaskStatus, fromExecutor bool) {
	st.AgentID = &mesos.AgentID{Value: a.id}
	st.ExecutorID = &mesos.ExecutorID{Value: t.exec.id} // a command task's executor id is its task id
	if st.Timestamp == nil {
		st.Timestamp = ptr(now())
	}
	if len(st.UUID) == 0 {
		st.UUID = newUUID()
	}
	wasTerminal := t.terminal()
	t.latest = st
	if !wasTerminal && t.terminal() {
		a.c.stats.recordUsage(a, t.exec.fwID)
	}
	a.c.stats.statusUpdate(t.exec.fwID, t.info.TaskID.Value, st.GetState())
	if a.goneFrameworks[t.exec.fwID] {
		return // nobody to deliver it to
	}
	t.updates = append(t.updates, &pendingUpdate{status: st, fromExecutor: fromExecutor})
	if len(t.updates) == 1 {
		a.sendHeadLocked(t)
	}
}

func (a *Agent) sendHeadLocked(t *task) {
	if len(t.updates) == 0 || a.removed {
		return
	}
	u := t.updates[0]
	u.sentAt = time.Now()
	if u.wait == 0 {
		u.wait = a.c.opts.StatusUpdateRetry
	}
	if a.c.leader.sendLocked(t.exec.fwID, updateEvent(u.status)) {
		a.c.stats.updatesSent++
	}
}

func (a *Agent) retryLocked(t *task, now time.Time) {
	if len(t.updates) == 0 {
		return
	}
	if u := t.updates[0]; now.Sub(u.sentAt) >= u.wait {
		u.wait = min(2*u.wait, a.c.opts.StatusUpdateRetryMax)
		a.sendHeadLocked(t)
	}
}

// resendUpdatesLocked re-sends a framework's unacknowledged updates at
// once (after it subscribes again).
func (a *Agent) resendUpdatesLocked(fwID string) {
	for _, e := range a.executorsOfLocked(fwID) {
		for _, t := range e.tasks {
			a.sendHeadLocked(t)
		}
	}
	for _, t := range a.completed {
		if t.exec.fwID == fwID {
			a.sendHeadLocked(t)
		}
	}
}

func (a *Agent) findTaskLocked(fwID, taskID string) *task {
	for _, e := range a.executors {
		if e.fwID == fwID {
			if t := e.tasks[taskID]; t != nil {
				return t
			}
		}
	}
	return a.completed[key(fwID, taskID)]
}

// acknowledgeLocked applies ACKNOWLEDGE: an ack of the update at the head
// of the task's queue removes it, tells the executor (ACKNOWLEDGED) when the
// update came from one, and sends the next. Other acks are ignored, as the
// agent ignores duplicates.
func (a *Agent) acknowledgeLocked(fwID, taskID string, uuid []byte) {
	t := a.findTaskLocked(fwID, taskID)
	if t == nil || len(t.updates) == 0 || !bytes.Equal(t.updates[0].status.UUID, uuid) {
		a.c.stats.staleAcks++
		return
	}
	u := t.updates[0]
	t.updates = t.updates[1:]
	a.c.stats.acks++
	if u.fromExecutor && t.exec.stream != nil {
		t.exec.stream.send(&execpb.Event{Type: execpb.Event_ACKNOWLEDGED,
			Acknowledged: &execpb.Event_Acknowledged{TaskID: t.info.TaskID, UUID: uuid}})
	}
	if len(t.updates) > 0 {
		a.sendHeadLocked(t)
		return
	}
	if t.terminal() && !t.exec.exited {
		// a terminal, acknowledged task leaves its executor
		delete(t.exec.tasks, taskID)
		a.completed[key(fwID, taskID)] = t
	}
}

func (c *Cluster) taskLocked(fwID, taskID string) *task {
	for _, a := range c.agents {
		if a.removed {
			continue
		}
		if t := a.findTaskLocked(fwID, taskID); t != nil {
			return t
		}
	}
	return nil
}

func (c *Cluster) tasksOfLocked(fwID string) []*task {
	var out []*task
	for _, a := range c.agents {
		if a.removed {
			continue
		}
		for _, e := range a.executors {
			if e.fwID == fwID {
				for _, t := range e.tasks {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

func (c *Cluster) allocatedCPUsLocked(fwID string) float64 {
	s := 0.0
	for _, a := range c.agents {
		if !a.removed {
			s += a.usedByLocked(fwID).scalar("cpus")
		}
	}
	return s
}
