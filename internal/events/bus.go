package events

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Listener consumes events. OnEvent is called from the bus's single delivery
// goroutine, in posting order; it must not call Bus.Flush or Bus.Close.
type Listener interface{ OnEvent(Event) }

// ListenerFunc adapts a function to Listener.
type ListenerFunc func(Event)

// OnEvent calls f(e).
func (f ListenerFunc) OnEvent(e Event) { f(e) }

// DefaultBusCapacity is how many undelivered events a bus holds before it
// starts dropping new ones.
const DefaultBusCapacity = 100_000

// dropWarnEvery bounds how often a bus logs that it is dropping events.
const dropWarnEvery = time.Minute

// BusOption configures a Bus.
type BusOption func(*Bus)

// WithCapacity sets how many undelivered events the bus holds (n > 0).
func WithCapacity(n int) BusOption {
	return func(b *Bus) {
		if n > 0 {
			b.capacity = n
		}
	}
}

// Bus delivers posted events to every subscribed listener, in order, from one
// goroutine. Post never blocks: events wait in a bounded queue and are
// dropped (and counted) when the listeners fall too far behind.
type Bus struct {
	log      logrus.FieldLogger
	capacity int
	now      func() time.Time // read only when dropping

	mu        sync.Mutex
	queue     []Event // posted, not yet taken by the delivery goroutine
	listeners []Listener
	posted    uint64 // events accepted into the queue, ever
	closed    bool
	lastWarn  time.Time
	warnDrops int64 // drops at the last warning

	wake chan struct{} // capacity 1: "the queue is not empty" or "closed"
	done chan struct{} // closed when the delivery goroutine exits

	dropped atomic.Int64

	dmu       sync.Mutex
	delivered uint64 // events handed to every listener, ever
	dcond     *sync.Cond
}

// NewBus starts a bus; log receives drop warnings and listener panics.
func NewBus(log logrus.FieldLogger, opts ...BusOption) *Bus {
	if log == nil {
		l := logrus.New()
		l.Out = discard{}
		log = l
	}
	b := &Bus{
		log:      log,
		capacity: DefaultBusCapacity,
		now:      time.Now,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(b)
	}
	b.queue = make([]Event, 0, min(b.capacity, 1024))
	b.dcond = sync.NewCond(&b.dmu)
	go b.run()
	return b
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Subscribe adds a listener. It receives the events posted after it was
// added (events already queued may or may not reach it).
func (b *Bus) Subscribe(l Listener) {
	b.mu.Lock()
	// Copy on write: the delivery goroutine may be ranging over the old slice.
	ls := make([]Listener, len(b.listeners), len(b.listeners)+1)
	copy(ls, b.listeners)
	b.listeners = append(ls, l)
	b.mu.Unlock()
}

// Post queues e for delivery and returns at once. When the queue is full or
// the bus is closed the event is dropped and counted.
func (b *Bus) Post(e Event) {
	b.mu.Lock()
	if b.closed || len(b.queue) >= b.capacity {
		b.drop()
		b.mu.Unlock()
		return
	}
	b.queue = append(b.queue, e)
	b.posted++
	first := len(b.queue) == 1
	b.mu.Unlock()
	if first {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

// drop counts a dropped event and warns at most once per dropWarnEvery.
// Called with b.mu held.
func (b *Bus) drop() {
	n := b.dropped.Add(1)
	now := b.now()
	if !b.lastWarn.IsZero() && now.Sub(b.lastWarn) < dropWarnEvery {
		return
	}
	since := n - b.warnDrops
	b.lastWarn, b.warnDrops = now, n
	if b.closed {
		b.log.WithField("dropped", n).Warn("events: event posted after the bus was closed; dropped")
		return
	}
	b.log.WithFields(logrus.Fields{"capacity": b.capacity, "droppedSinceLastWarning": since, "droppedTotal": n}).
		Warn("events: listeners are falling behind, dropping events (the UI, metrics and event log will be incomplete)")
}

// Dropped reports how many events were dropped because the queue was full
// or the bus closed.
func (b *Bus) Dropped() int64 { return b.dropped.Load() }

// Flush waits until every event posted before the call has been delivered to
// every listener. It returns at once after Close.
func (b *Bus) Flush() {
	b.mu.Lock()
	target := b.posted
	b.mu.Unlock()
	b.dmu.Lock()
	for b.delivered < target {
		select {
		case <-b.done:
			b.dmu.Unlock()
			return
		default:
		}
		b.dcond.Wait()
	}
	b.dmu.Unlock()
}

// Close delivers what is queued, stops the delivery goroutine and drops
// anything posted afterwards. It is safe to call more than once.
func (b *Bus) Close() {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if !already {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	<-b.done
}

func (b *Bus) run() {
	defer func() {
		close(b.done)
		b.dmu.Lock()
		b.dcond.Broadcast()
		b.dmu.Unlock()
	}()
	var batch []Event
	for {
		b.mu.Lock()
		for len(b.queue) == 0 && !b.closed {
			b.mu.Unlock()
			<-b.wake
			b.mu.Lock()
		}
		if len(b.queue) == 0 && b.closed {
			b.mu.Unlock()
			return
		}
		// Swap: the poster appends to the spare slice while we deliver.
		batch, b.queue = b.queue, batch[:0]
		ls := b.listeners
		b.mu.Unlock()

		for i, e := range batch {
			for _, l := range ls {
				b.deliver(l, e)
			}
			batch[i] = nil // let the event be collected
		}
		b.dmu.Lock()
		b.delivered += uint64(len(batch))
		b.dcond.Broadcast()
		b.dmu.Unlock()
	}
}

// deliver calls one listener, turning a panic into a logged error so one bad
// listener cannot take the driver down or starve the others.
func (b *Bus) deliver(l Listener, e Event) {
	defer func() {
		if r := recover(); r != nil {
			b.log.WithFields(logrus.Fields{"listener": fmt.Sprintf("%T", l), "event": e.Kind()}).
				Errorf("events: listener panicked: %v", r)
		}
	}()
	l.OnEvent(e)
}
