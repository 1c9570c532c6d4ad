package backendtest

import (
	"sync"

	"github.com/stoke-run/stoke/internal/events"
)

// Recorder keeps every event of a run, for assertions.
type Recorder struct {
	mu     sync.Mutex
	events []events.Event
	notify chan struct{}
}

func NewRecorder() *Recorder { return &Recorder{notify: make(chan struct{}, 1)} }

func (r *Recorder) OnEvent(e events.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Events returns a copy of what was recorded.
func (r *Recorder) Events() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Event(nil), r.events...)
}

// TaskStarts returns the recorded task launches.
func (r *Recorder) TaskStarts() []events.TaskStart {
	var out []events.TaskStart
	for _, e := range r.Events() {
		if ts, ok := e.(events.TaskStart); ok {
			out = append(out, ts)
		}
	}
	return out
}

// TaskEnds returns the recorded task ends.
func (r *Recorder) TaskEnds() []events.TaskEnd {
	var out []events.TaskEnd
	for _, e := range r.Events() {
		if te, ok := e.(events.TaskEnd); ok {
			out = append(out, te)
		}
	}
	return out
}

// StageJobs maps stage ids to the job that submitted them.
func (r *Recorder) StageJobs() map[int]int {
	out := map[int]int{}
	for _, e := range r.Events() {
		if s, ok := e.(events.StageSubmitted); ok {
			out[s.StageID] = s.JobID
		}
	}
	return out
}

// Wait blocks until cond holds over the recorded events (checked on every
// new event) or done is closed.
func (r *Recorder) Wait(done <-chan struct{}, cond func([]events.Event) bool) bool {
	for {
		if cond(r.Events()) {
			return true
		}
		select {
		case <-r.notify:
		case <-done:
			return cond(r.Events())
		}
	}
}
