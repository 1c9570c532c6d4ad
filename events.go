package stoke

import "github.com/stoke-run/stoke/internal/events"

// Listener receives the events of a run (pass it with WithListener). Calls
// come from one goroutine, in order, shortly after the fact.
type Listener = events.Listener

// The events a Listener receives.
type (
	Event            = events.Event
	ApplicationStart = events.ApplicationStart
	ApplicationEnd   = events.ApplicationEnd
	JobStart         = events.JobStart
	JobEnd           = events.JobEnd
	StageSubmitted   = events.StageSubmitted
	StageCompleted   = events.StageCompleted
	TaskStart        = events.TaskStart
	TaskEnd          = events.TaskEnd
	ExecutorAdded    = events.ExecutorAdded
	ExecutorRemoved  = events.ExecutorRemoved
	ExecutorExcluded = events.ExecutorExcluded
	ExecutorTarget   = events.ExecutorTarget
	RDDPersisted     = events.RDDPersisted
	RDDUnpersisted   = events.RDDUnpersisted
	BlockUpdated     = events.BlockUpdated
)
