package mesostest

import (
	"bytes"
	"net/http"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	execpb "github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// handleExecutor serves POST /api/v1/executor: SUBSCRIBE gets a RecordIO
// stream (SUBSCRIBED, then LAUNCH for each waiting task), UPDATE and
// MESSAGE get 202. Status updates keep their uuid; the agent forwards them
// and sends ACKNOWLEDGED once the framework acknowledges.
func (a *Agent) handleExecutor(w http.ResponseWriter, r *http.Request) {
	c := a.c
	format, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var call execpb.Call
	if err := decodeBody(r, &call, "executor::Call"); err != nil {
		writeError(w, err)
		return
	}
	bad := func(format string, args ...any) {
		writeError(w, errorf(http.StatusBadRequest, "Failed to validate executor::Call: "+format, args...))
	}
	switch {
	case call.Type == execpb.Call_UNKNOWN:
		bad("Expecting 'type' to be present")
		return
	case call.FrameworkID.Value == "" || call.ExecutorID.Value == "":
		bad("Expecting 'framework_id' and 'executor_id' to be present")
		return
	case call.Type == execpb.Call_SUBSCRIBE && call.Subscribe == nil:
		bad("Expecting 'subscribe' to be present")
		return
	case call.Type == execpb.Call_UPDATE && call.Update == nil:
		bad("Expecting 'update' to be present")
		return
	case call.Type == execpb.Call_UPDATE && len(call.Update.Status.UUID) != 16:
		bad("'uuid' must be present and be a valid UUID")
		return
	case call.Type == execpb.Call_MESSAGE && call.Message == nil:
		bad("Expecting 'message' to be present")
		return
	}
	c.mu.Lock()
	if a.removed {
		c.mu.Unlock()
		writeError(w, errorf(http.StatusServiceUnavailable, "Agent has been removed"))
		return
	}
	if _, ok := a.frameworks[call.FrameworkID.Value]; !ok {
		c.mu.Unlock()
		writeError(w, errorf(http.StatusBadRequest, "Framework '%s' cannot be found", call.FrameworkID.Value))
		return
	}
	e := a.executorLocked(call.FrameworkID.Value, call.ExecutorID.Value)
	if e == nil || e.command {
		c.mu.Unlock()
		writeError(w, errorf(http.StatusBadRequest, "Executor '%s' of framework '%s' cannot be found", call.ExecutorID.Value, call.FrameworkID.Value))
		return
	}
	if call.Type == execpb.Call_SUBSCRIBE {
		stream := a.subscribeExecutorLocked(e, call.Subscribe, format)
		c.mu.Unlock()
		gone := stream.serve(w, r)
		c.mu.Lock()
		if gone && e.stream == stream {
			e.stream = nil
		}
		c.mu.Unlock()
		if stream.aborted() {
			panic(http.ErrAbortHandler)
		}
		return
	}
	defer c.mu.Unlock()
	if e.stream == nil {
		writeError(w, errorf(http.StatusForbidden, "Executor is not subscribed"))
		return
	}
	switch call.Type {
	case execpb.Call_UPDATE:
		st := call.Update.Status
		if st.GetState() == mesos.TASK_STAGING {
			bad("'TASK_STAGING' is not a valid state for an executor's status update")
			return
		}
		a.executorUpdateLocked(e, st)
	case execpb.Call_MESSAGE:
		a.c.leader.sendLocked(e.fwID, &scheduler.Event{Type: scheduler.Event_MESSAGE, Message: &scheduler.Event_Message{
			AgentID: mesos.AgentID{Value: a.id}, ExecutorID: mesos.ExecutorID{Value: e.id}, Data: call.Message.Data}})
	case execpb.Call_HEARTBEAT:
	}
	w.WriteHeader(http.StatusAccepted)
}

func (a *Agent) subscribeExecutorLocked(e *executor, sub *execpb.Call_Subscribe, format responseFormat) *eventStream {
	if e.stream != nil {
		e.stream.close(false) // a newer subscription replaces the old one
	}
	stream := newEventStream(uuidString(newUUID()), format)
	e.stream, e.everSubscribed = stream, true
	stream.send(&execpb.Event{Type: execpb.Event_SUBSCRIBED, Subscribed: &execpb.Event_Subscribed{
		ExecutorInfo:  *e.info,
		FrameworkInfo: a.frameworks[e.fwID],
		AgentInfo:     a.agentInfo(),
		ContainerID:   &mesos.ContainerID{Value: e.containerID},
	}})
	// updates the executor still holds and the agent does not know yet
	for _, u := range sub.UnacknowledgedUpdates {
		a.executorUpdateLocked(e, u.Status)
	}
	for _, id := range e.queued {
		if t := e.tasks[id]; t != nil && !t.terminal() {
			e.sendLaunch(t)
		}
	}
	e.queued = nil
	a.c.logf("agent %s: executor %s of framework %s subscribed", a.id, e.id, e.fwID)
	return stream
}

// executorUpdateLocked takes one UPDATE from an executor; a retry of an
// update already queued (same uuid) is ignored.
func (a *Agent) executorUpdateLocked(e *executor, st mesos.TaskStatus) {
	t := e.tasks[st.TaskID.Value]
	if t == nil {
		t = a.completed[key(e.fwID, st.TaskID.Value)]
	}
	if t == nil {
		a.c.logf("agent %s: executor %s sent an update for unknown task %s; ignored", a.id, e.id, st.TaskID.Value)
		return
	}
	if t.seen[string(st.UUID)] {
		a.c.stats.duplicateUpdates++
		// a retry after the ack raced with ACKNOWLEDGED: acknowledge again
		if !queued(t, st.UUID) {
			e.stream.send(&execpb.Event{Type: execpb.Event_ACKNOWLEDGED,
				Acknowledged: &execpb.Event_Acknowledged{TaskID: t.info.TaskID, UUID: st.UUID}})
		}
		return
	}
	if t.seen == nil {
		t.seen = map[string]bool{}
	}
	t.seen[string(st.UUID)] = true
	if t.terminal() {
		a.c.logf("agent %s: update %v for terminal task %s ignored", a.id, st.GetState(), t.info.TaskID.Value)
		return
	}
	st.Source = mesos.SOURCE_EXECUTOR.Enum()
	a.statusUpdateLocked(t, st, true)
}

func queued(t *task, uuid []byte) bool {
	for _, u := range t.updates {
		if bytes.Equal(u.status.UUID, uuid) {
			return true
		}
	}
	return false
}
