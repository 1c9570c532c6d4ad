package ui

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/events"
)

// TestReadersDuringApply serves pages and JSON while events stream in
// through a bus (run with -race).
func TestReadersDuringApply(t *testing.T) {
	s := NewStoreWithLimits(Limits{FinishedJobs: 5, FinishedStages: 5, TasksPerStage: 50, TotalTasks: 200})
	bus := events.NewBus(quietLog())
	bus.Subscribe(s)
	srv := startServer(t, s)
	bus.Post(events.ApplicationStart{AppID: "a"})

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, path := range []string{"/jobs/", "/stages/", "/stages/stage/?id=1", "/executors/", "/pools/", "/metrics", "/api/v1/applications/a/stages", "/api/v1/applications/a/stages/1/0/taskList?length=1000"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code, _, body := get(t, srv.URL()+path); code != 200 && code != 404 {
					t.Errorf("%s: %d %s", path, code, body)
					return
				}
			}
		}()
	}
	task := int64(0)
	for j := range 20 {
		bus.Post(events.JobStart{JobID: j, StageIDs: []int{j}})
		bus.Post(events.StageSubmitted{StageID: j, JobID: j, NumTasks: 100})
		bus.Post(events.ExecutorAdded{ExecutorID: fmt.Sprint(j)})
		for range 100 {
			bus.Post(events.TaskStart{StageID: j, TaskID: task, ExecutorID: fmt.Sprint(j)})
			bus.Post(events.TaskEnd{StageID: j, TaskID: task, ExecutorID: fmt.Sprint(j), Status: events.TaskSuccess})
			task++
		}
		bus.Post(events.StageCompleted{StageID: j})
		bus.Post(events.JobEnd{JobID: j, Succeeded: true})
		bus.Post(events.ExecutorRemoved{ExecutorID: fmt.Sprint(j)})
		time.Sleep(time.Millisecond) // let readers interleave
	}
	bus.Close()
	close(stop)
	wg.Wait()
	if tot := s.Totals(); tot.JobsSucceeded != 20 || tot.TasksEnded[events.TaskSuccess] != 2000 || tot.TasksRunning != 0 {
		t.Fatalf("totals %+v", tot)
	}
}

// BenchmarkPipeline posts TaskStart/TaskEnd pairs through a bus to a Store
// and an event log writer, the way the driver runs with the event log on;
// events/s is end to end: posting in rounds of 50,000 events, each waited
// for with Flush, so the queue never overflows and nothing is dropped (a
// lower bound: posting and delivery overlap only within a round).
func BenchmarkPipeline(b *testing.B) {
	for _, withLog := range []bool{false, true} {
		b.Run(fmt.Sprintf("eventlog=%v", withLog), func(b *testing.B) {
			bus := events.NewBus(quietLog())
			s := NewStore()
			bus.Subscribe(s)
			if withLog {
				w, err := eventlog.NewWriter(b.TempDir(), "bench")
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				bus.Subscribe(w)
			}
			bus.Post(events.JobStart{JobID: 0, StageIDs: []int{0}})
			bus.Post(events.StageSubmitted{StageID: 0, JobID: 0, NumTasks: 1 << 30})
			bus.Post(events.ExecutorAdded{ExecutorID: "1", Cores: 8})
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += 2 {
				id := int64(i / 2)
				bus.Post(events.TaskStart{TaskID: id, Index: int(id), ExecutorID: "1", Host: "h1", Locality: "ANY", Time: now})
				bus.Post(events.TaskEnd{TaskID: id, Index: int(id), ExecutorID: "1", Status: events.TaskSuccess, Duration: time.Millisecond, Time: now})
				if i%50_000 == 0 {
					bus.Flush()
				}
			}
			bus.Flush()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			if d := bus.Dropped(); d > 0 {
				b.Fatalf("dropped %d events", d)
			}
			bus.Close()
		})
	}
}
