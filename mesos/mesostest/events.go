package mesostest

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func heartbeatEvent() *scheduler.Event { return &scheduler.Event{Type: scheduler.Event_HEARTBEAT} }

func errorEvent(msg string) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: msg}}
}

func updateEvent(st mesos.TaskStatus) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_UPDATE, Update: &scheduler.Event_Update{Status: st}}
}

func rescindEvent(id string) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_RESCIND, Rescind: &scheduler.Event_Rescind{OfferID: mesos.OfferID{Value: id}}}
}

func failureEvent(agentID, executorID string, status *int32) *scheduler.Event {
	f := &scheduler.Event_Failure{AgentID: &mesos.AgentID{Value: agentID}, Status: status}
	if executorID != "" {
		f.ExecutorID = &mesos.ExecutorID{Value: executorID}
	}
	return &scheduler.Event{Type: scheduler.Event_FAILURE, Failure: f}
}
