package mesostest

import (
	"net/http"
	"sync"
	"time"

	"github.com/stoke-run/stoke/mesos/internal/recordio"
)

// eventStream is one long-lived RecordIO response (a scheduler's or an
// executor's subscription). Events are queued without blocking the cluster;
// a stream whose reader falls too far behind is dropped.
type eventStream struct {
	id       string
	format   responseFormat
	ch       chan []byte
	done     chan struct{}
	once     sync.Once
	abort    bool // drop the connection instead of ending the response
	lastBeat time.Time
}

func newEventStream(id string, f responseFormat) *eventStream {
	return &eventStream{id: id, format: f, ch: make(chan []byte, 4096), done: make(chan struct{}), lastBeat: time.Now()}
}

// send queues one event; it reports false when the stream is closed or full.
func (s *eventStream) send(m message) bool {
	if s == nil {
		return false
	}
	b, err := encode(s.format.message, m)
	if err != nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.ch <- recordio.Frame(b):
		return true
	default:
		s.close(true)
		return false
	}
}

// heartbeat sends ev when interval has passed since the last one; like
// Mesos' heartbeater it ticks regardless of other traffic.
func (s *eventStream) heartbeat(ev message, interval time.Duration, now time.Time) {
	if now.Sub(s.lastBeat) >= interval {
		s.lastBeat = now
		s.send(ev)
	}
}

// close ends the stream; abort drops the TCP connection mid-stream.
func (s *eventStream) close(abort bool) {
	if s == nil {
		return
	}
	s.once.Do(func() {
		s.abort = abort
		close(s.done)
	})
}

// aborted reports whether the stream was closed with abort; it is safe to
// call from any goroutine.
func (s *eventStream) aborted() bool { return s.closed() && s.abort }

func (s *eventStream) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// serve writes the 200 response and then frames until the stream is closed
// or the client goes away. It reports whether the client went away or the
// stream was aborted; after an abort the caller must panic with
// http.ErrAbortHandler (once its bookkeeping is done) to drop the
// connection.
func (s *eventStream) serve(w http.ResponseWriter, r *http.Request) (clientGone bool) {
	s.format.headers(w.Header())
	w.Header().Set(headerStreamID, s.id)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for {
		select {
		case b := <-s.ch:
			if _, err := w.Write(b); err != nil {
				return true
			}
			// drain whatever else is queued before flushing
			for more := true; more; {
				select {
				case b = <-s.ch:
					if _, err := w.Write(b); err != nil {
						return true
					}
				default:
					more = false
				}
			}
			if err := rc.Flush(); err != nil {
				return true
			}
		case <-s.done:
			if s.abort {
				return true
			}
			for {
				select {
				case b := <-s.ch:
					if _, err := w.Write(b); err != nil {
						return true
					}
				default:
					_ = rc.Flush()
					return false
				}
			}
		case <-r.Context().Done():
			return true
		}
	}
}
