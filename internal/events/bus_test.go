package events

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/testutil"
)

type recorder struct {
	mu  sync.Mutex
	got []Event
}

func (r *recorder) OnEvent(e Event) {
	r.mu.Lock()
	r.got = append(r.got, e)
	r.mu.Unlock()
}

func (r *recorder) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.got...)
}

func TestBusDeliversInOrderToEveryListener(t *testing.T) {
	b := NewBus(nil)
	defer b.Close()
	var r1, r2 recorder
	b.Subscribe(&r1)
	b.Subscribe(&r2)
	const n = 10_000
	for i := range n {
		b.Post(JobStart{JobID: i})
	}
	b.Flush()
	for _, r := range []*recorder{&r1, &r2} {
		got := r.events()
		if len(got) != n {
			t.Fatalf("got %d events, want %d", len(got), n)
		}
		for i, e := range got {
			if e.(JobStart).JobID != i {
				t.Fatalf("event %d is job %d: out of order", i, e.(JobStart).JobID)
			}
		}
	}
	if d := b.Dropped(); d != 0 {
		t.Fatalf("dropped %d", d)
	}
}

func TestBusConcurrentPostersAndFlush(t *testing.T) {
	b := NewBus(nil)
	defer b.Close()
	var r recorder
	b.Subscribe(&r)
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				b.Post(TaskStart{StageID: p, TaskID: int64(i)})
			}
		}()
	}
	wg.Wait()
	b.Flush()
	got := r.events()
	if len(got) != 20_000 {
		t.Fatalf("got %d events, want 20000", len(got))
	}
	// Each poster's own events stay in order.
	last := map[int]int64{0: -1, 1: -1, 2: -1, 3: -1}
	for _, e := range got {
		ts := e.(TaskStart)
		if ts.TaskID != last[ts.StageID]+1 {
			t.Fatalf("poster %d: task %d after %d", ts.StageID, ts.TaskID, last[ts.StageID])
		}
		last[ts.StageID] = ts.TaskID
	}
}

// blocker holds the delivery goroutine until released.
type blocker struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	n       int
}

func (b *blocker) OnEvent(Event) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	b.n++
}

func TestBusDropsWhenFullAndWarnsOncePerMinute(t *testing.T) {
	var logs bytes.Buffer
	log := logrus.New()
	log.Out = &logs
	b := NewBus(log, WithCapacity(10))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.mu.Lock()
	b.now = func() time.Time { return now }
	b.mu.Unlock()
	bl := &blocker{entered: make(chan struct{}), release: make(chan struct{})}
	b.Subscribe(bl)

	b.Post(ApplicationEnd{}) // taken by the delivery goroutine, which then blocks
	<-bl.entered
	for range 10 {
		b.Post(ApplicationEnd{}) // fills the queue
	}
	posted := make(chan struct{})
	go func() {
		for range 5 {
			b.Post(ApplicationEnd{}) // dropped, without blocking
		}
		close(posted)
	}()
	// The delivery goroutine stays blocked: a Post that waited for room
	// would never return.
	select {
	case <-posted:
	case <-time.After(testutil.D(10 * time.Second)):
		t.Fatal("Post blocked on a full queue")
	}
	if d := b.Dropped(); d != 5 {
		t.Fatalf("Dropped() = %d, want 5", d)
	}
	if c := strings.Count(logs.String(), "dropping events"); c != 1 {
		t.Fatalf("%d warnings in the first minute, want 1:\n%s", c, logs.String())
	}
	b.mu.Lock()
	now = now.Add(61 * time.Second)
	b.mu.Unlock()
	b.Post(ApplicationEnd{})
	if c := strings.Count(logs.String(), "dropping events"); c != 2 {
		t.Fatalf("%d warnings after a minute, want 2", c)
	}
	close(bl.release)
	b.Flush()
	if bl.n != 11 {
		t.Fatalf("delivered %d, want 11", bl.n)
	}
	b.Close()
}

type panicker struct{}

func (panicker) OnEvent(Event) { panic("boom") }

func TestBusSurvivesPanickingListener(t *testing.T) {
	var logs bytes.Buffer
	log := logrus.New()
	log.Out = &logs
	b := NewBus(log)
	var r recorder
	b.Subscribe(panicker{})
	b.Subscribe(&r)
	b.Post(JobEnd{JobID: 1})
	b.Post(JobEnd{JobID: 2})
	b.Flush()
	if len(r.events()) != 2 {
		t.Fatalf("got %d events after a panic, want 2", len(r.events()))
	}
	if !strings.Contains(logs.String(), "listener panicked") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
	b.Close()
}

func TestBusCloseDrainsAndIsIdempotent(t *testing.T) {
	b := NewBus(nil)
	var r recorder
	b.Subscribe(&r)
	for range 1000 {
		b.Post(ApplicationEnd{})
	}
	b.Close()
	if len(r.events()) != 1000 {
		t.Fatalf("Close delivered %d of 1000", len(r.events()))
	}
	b.Close()
	b.Post(ApplicationEnd{})
	b.Flush() // must not hang
	if b.Dropped() != 1 {
		t.Fatalf("post after close: Dropped() = %d, want 1", b.Dropped())
	}
}

type counter struct{ n int }

func (c *counter) OnEvent(Event) { c.n++ }

// BenchmarkBusPost measures the poster's cost alone (the queue is drained
// concurrently by the delivery goroutine).
func BenchmarkBusPost(b *testing.B) {
	bus := NewBus(nil, WithCapacity(1<<30))
	c := &counter{}
	bus.Subscribe(c)
	var e Event = TaskEnd{StageID: 1, TaskID: 2, Status: TaskSuccess}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bus.Post(e)
	}
	bus.Flush()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	bus.Close()
}

// BenchmarkBusPostParallel has several goroutines posting at once.
func BenchmarkBusPostParallel(b *testing.B) {
	bus := NewBus(nil, WithCapacity(1<<30))
	bus.Subscribe(&counter{})
	var e Event = TaskStart{StageID: 1, TaskID: 2}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bus.Post(e)
		}
	})
	bus.Flush()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	bus.Close()
}
