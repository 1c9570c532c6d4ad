package ui

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/events"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// scenario is a small application: one FAIR pool, one job with two stages,
// a failed task retried, a speculative copy killed, an executor lost.
func scenario() []events.Event {
	return []events.Event{
		events.ApplicationStart{AppID: "app-1", AppName: "wordcount", User: "ann", Master: "local[2]", Time: at(0)},
		events.Environment{Properties: [][2]string{{"stoke.app.name", "wordcount"}}, Sources: [][2]string{{"stoke.app.name", "flag"}}},
		events.Pools{Mode: "FAIR", Pools: []events.Pool{{Name: "etl", Mode: "FIFO", Weight: 2, MinShare: 1}}},
		events.ExecutorAdded{ExecutorID: "1", Host: "h1", Cores: 2, Time: at(1)},
		events.ExecutorAdded{ExecutorID: "2", Host: "h2", Cores: 2, Time: at(1)},
		events.JobStart{JobID: 0, Description: "count words", Pool: "etl", StageIDs: []int{0, 1, 2}, Time: at(10)},
		events.StageSubmitted{StageID: 0, JobID: 0, Name: "map", NumTasks: 2, Pool: "etl", Time: at(10)},
		events.TaskStart{StageID: 0, TaskID: 0, Index: 0, ExecutorID: "1", Host: "h1", Locality: "PROCESS_LOCAL", Time: at(11)},
		events.TaskStart{StageID: 0, TaskID: 1, Index: 1, ExecutorID: "2", Host: "h2", Locality: "ANY", Time: at(11)},
		events.TaskEnd{StageID: 0, TaskID: 0, Index: 0, ExecutorID: "1", Status: events.TaskSuccess, Duration: 100 * time.Millisecond, RunTime: 70 * time.Millisecond, RecordsIn: 10, ShuffleWrite: 2708, ResultBytes: 512, Time: at(111)},
		events.TaskEnd{StageID: 0, TaskID: 1, Index: 1, ExecutorID: "2", Status: events.TaskFailed, Reason: "boom", Duration: 50 * time.Millisecond, Time: at(61)},
		events.TaskStart{StageID: 0, TaskID: 2, Index: 1, Attempt: 1, ExecutorID: "1", Host: "h1", Time: at(70)},
		events.TaskStart{StageID: 0, TaskID: 3, Index: 1, Attempt: 2, ExecutorID: "2", Host: "h2", Speculative: true, Time: at(80)},
		events.TaskEnd{StageID: 0, TaskID: 2, Index: 1, ExecutorID: "1", Status: events.TaskSuccess, Duration: 60 * time.Millisecond, RunTime: 55 * time.Millisecond, ResultBytes: 128, ShuffleRead: 4096, Time: at(130)},
		events.TaskEnd{StageID: 0, TaskID: 3, Index: 1, ExecutorID: "2", Status: events.TaskKilled, Reason: "another attempt succeeded", Time: at(131)},
		events.StageCompleted{StageID: 0, Time: at(131)},
		events.StageSubmitted{StageID: 1, JobID: 0, Name: "reduce", NumTasks: 1, ParentIDs: []int{0}, Pool: "etl", Time: at(140)},
		events.TaskStart{StageID: 1, TaskID: 4, Index: 0, ExecutorID: "2", Host: "h2", Time: at(141)},
		events.ExecutorRemoved{ExecutorID: "2", Reason: "heartbeat timed out", Time: at(150)},
		events.TaskEnd{StageID: 1, TaskID: 4, Index: 0, ExecutorID: "2", Status: events.TaskLost, Reason: "executor lost", Time: at(150)},
	}
}

func apply(s *Store, evs []events.Event) {
	for _, e := range evs {
		s.Apply(e)
	}
}

func TestStoreScenario(t *testing.T) {
	s := NewStore()
	apply(s, scenario())

	if a := s.App(); a.ID != "app-1" || a.Name != "wordcount" || a.Completed {
		t.Fatalf("app %+v", a)
	}
	j, ok := s.Job(0)
	if !ok || j.Status != StatusRunning || j.Pool != "etl" || j.ActiveStages != 1 || j.CompletedStages != 1 {
		t.Fatalf("job %+v", j)
	}
	want := TaskCounts{Total: 3, Completed: 2, Failed: 2, Killed: 1}
	if j.Tasks != want {
		t.Fatalf("job tasks %+v, want %+v", j.Tasks, want)
	}
	st, _ := s.Stage(0, 0)
	if st.Status != StatusComplete || st.Tasks != (TaskCounts{Total: 2, Completed: 2, Failed: 1, Killed: 1}) || st.RecordsIn != 10 {
		t.Fatalf("stage 0 %+v", st)
	}
	rows, _ := s.Tasks(0, 0, 0, 100)
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	if r := rows[3]; r.TaskID != 3 || !r.Speculative || r.Status != events.TaskKilled || r.Attempt != 2 || r.Reason == "" {
		t.Fatalf("speculative row %+v", r)
	}
	if r := rows[0]; r.Host != "h1" || r.Locality != "PROCESS_LOCAL" || r.Duration != 100*time.Millisecond {
		t.Fatalf("row 0 %+v", r)
	}
	mode, pools := s.Pools()
	if mode != "FAIR" || len(pools) != 2 || pools[1].Name != "etl" || pools[1].ActiveStages != 1 || pools[1].RunningTasks != 0 || !pools[0].Declared {
		t.Fatalf("pools %s %+v", mode, pools)
	}
	execs := s.Executors(false)
	if len(execs) != 1 || execs[0].ID != "1" || execs[0].CompletedTasks != 2 {
		t.Fatalf("active executors %+v", execs)
	}
	all := s.Executors(true)
	if len(all) != 2 || all[1].Active || all[1].RemoveReason != "heartbeat timed out" || all[1].FailedTasks != 2 || all[1].KilledTasks != 1 {
		t.Fatalf("all executors %+v", all)
	}
	tot := s.Totals()
	if tot.JobsActive != 1 || tot.StagesActive != 1 || tot.TasksRunning != 0 || tot.ExecutorsActive != 1 || tot.ExecutorRemovals != 1 ||
		tot.TasksEnded[events.TaskSuccess] != 2 || tot.TasksEnded[events.TaskLost] != 1 {
		t.Fatalf("totals %+v", tot)
	}

	s.Apply(events.StageCompleted{StageID: 1, Failure: "executor lost", Time: at(160)})
	s.Apply(events.JobEnd{JobID: 0, Succeeded: false, Error: "stage 1 failed", Time: at(170)})
	s.Apply(events.ApplicationEnd{Time: at(200)})
	j, _ = s.Job(0)
	if j.Status != StatusFailed || j.SkippedStages != 1 || j.FailedStages != 1 || j.Duration(time.Time{}) != 160*time.Millisecond {
		t.Fatalf("ended job %+v", j)
	}
	if tot := s.Totals(); tot.JobsFailed != 1 || tot.JobsActive != 0 || tot.StagesActive != 0 {
		t.Fatalf("totals after end %+v", tot)
	}
	if !s.App().Completed {
		t.Fatal("app not completed")
	}
}

func TestStoreRunningTasksPerPool(t *testing.T) {
	s := NewStore()
	s.Apply(events.JobStart{JobID: 0, Pool: "a", StageIDs: []int{0}})
	s.Apply(events.JobStart{JobID: 1, StageIDs: []int{1}})
	s.Apply(events.StageSubmitted{StageID: 0, JobID: 0, NumTasks: 5}) // pool from the job
	s.Apply(events.StageSubmitted{StageID: 1, JobID: 1, NumTasks: 5, Pool: ""})
	for i := range 3 {
		s.Apply(events.TaskStart{StageID: 0, TaskID: int64(i)})
	}
	s.Apply(events.TaskStart{StageID: 1, TaskID: 10})
	s.Apply(events.TaskEnd{StageID: 0, TaskID: 0, Status: events.TaskSuccess})
	_, pools := s.Pools()
	got := map[string]int{}
	for _, p := range pools {
		got[p.Name] = p.RunningTasks
		if p.Declared {
			t.Fatalf("pool %q declared without a Pools event", p.Name)
		}
	}
	if got["a"] != 2 || got["default"] != 1 || len(got) != 2 {
		t.Fatalf("running per pool %v", got)
	}
}

func TestStoreBoundsFinishedJobsAndStages(t *testing.T) {
	s := NewStoreWithLimits(Limits{FinishedJobs: 3, FinishedStages: 4})
	for i := range 10 {
		s.Apply(events.JobStart{JobID: i, StageIDs: []int{i}})
		s.Apply(events.StageSubmitted{StageID: i, JobID: i, NumTasks: 1})
		s.Apply(events.StageCompleted{StageID: i})
		s.Apply(events.JobEnd{JobID: i, Succeeded: true})
	}
	s.Apply(events.JobStart{JobID: 10, StageIDs: []int{10}})
	s.Apply(events.StageSubmitted{StageID: 10, JobID: 10, NumTasks: 1})
	if n := len(s.Jobs()); n != 4 { // 3 finished + 1 running
		t.Fatalf("%d jobs retained", n)
	}
	if _, ok := s.Job(6); ok {
		t.Fatal("job 6 should have been discarded")
	}
	if _, ok := s.Job(7); !ok {
		t.Fatal("job 7 should be kept")
	}
	if n := len(s.Stages()); n != 5 {
		t.Fatalf("%d stages retained", n)
	}
	if len(s.StageAttempts(5)) != 0 || len(s.StageAttempts(6)) != 1 {
		t.Fatal("wrong stages discarded")
	}
	if tot := s.Totals(); tot.JobsSucceeded != 10 || tot.StagesCompleted != 10 {
		t.Fatalf("counters must not be trimmed: %+v", tot)
	}
}

func TestStoreBoundsTaskRows(t *testing.T) {
	s := NewStoreWithLimits(Limits{TasksPerStage: 10, TotalTasks: 25})
	s.Apply(events.JobStart{JobID: 0, StageIDs: []int{0, 1, 2}})
	s.Apply(events.StageSubmitted{StageID: 0, JobID: 0, NumTasks: 100})
	s.Apply(events.TaskStart{StageID: 0, TaskID: 1000}) // stays running throughout
	for i := range 40 {
		s.Apply(events.TaskStart{StageID: 0, TaskID: int64(i)})
		s.Apply(events.TaskEnd{StageID: 0, TaskID: int64(i), Status: events.TaskSuccess})
	}
	st, _ := s.Stage(0, 0)
	if st.TaskRows > 10 || st.TaskRows+st.DroppedTaskRows != 41 || st.Tasks.Completed != 40 || st.Tasks.Active != 1 {
		t.Fatalf("stage after compaction %+v", st)
	}
	rows, _ := s.Tasks(0, 0, 0, 100)
	if rows[0].TaskID != 1000 || rows[len(rows)-1].TaskID != 39 {
		t.Fatalf("kept rows %v ... %v", rows[0], rows[len(rows)-1])
	}
	s.Apply(events.TaskEnd{StageID: 0, TaskID: 1000, Status: events.TaskSuccess})
	if st, _ := s.Stage(0, 0); st.Tasks.Active != 0 || st.Tasks.Completed != 41 {
		t.Fatalf("running row lost by compaction: %+v", st.Tasks)
	}
	s.Apply(events.StageCompleted{StageID: 0})
	// Two more stages push the total over 25: stage 0's rows go first.
	for sid := 1; sid <= 2; sid++ {
		s.Apply(events.StageSubmitted{StageID: sid, JobID: 0, NumTasks: 10})
		for i := range 10 {
			s.Apply(events.TaskStart{StageID: sid, TaskID: int64(100*sid + i)})
		}
	}
	st, _ = s.Stage(0, 0)
	if st.TaskRows != 0 || st.Tasks.Completed != 41 {
		t.Fatalf("finished stage rows not dropped: %+v", st)
	}
	if st, _ := s.Stage(2, 0); st.TaskRows != 10 {
		t.Fatalf("running stage lost rows: %+v", st)
	}
}

func TestStoreStageAttemptsAndReRegisteredExecutor(t *testing.T) {
	s := NewStore()
	s.Apply(events.JobStart{JobID: 0, StageIDs: []int{0}})
	s.Apply(events.StageSubmitted{StageID: 0, Attempt: 0, JobID: 0, NumTasks: 2})
	s.Apply(events.StageCompleted{StageID: 0, Attempt: 0, Failure: "fetch failed"})
	s.Apply(events.StageSubmitted{StageID: 0, Attempt: 1, JobID: 0, NumTasks: 2})
	as := s.StageAttempts(0)
	if len(as) != 2 || as[0].Status != StatusFailed || as[1].Status != StatusRunning {
		t.Fatalf("attempts %+v", as)
	}
	if j, _ := s.Job(0); j.Tasks.Total != 2 {
		t.Fatalf("a retried stage counted twice in the job: %+v", j.Tasks)
	}
	s.Apply(events.ExecutorAdded{ExecutorID: "1", Cores: 1})
	s.Apply(events.ExecutorRemoved{ExecutorID: "1", Reason: "lost"})
	s.Apply(events.ExecutorAdded{ExecutorID: "1", Cores: 4})
	if x := s.Executors(false); len(x) != 1 || x[0].Cores != 4 || !x[0].Active {
		t.Fatalf("re-registered executor %+v", x)
	}
	if tot := s.Totals(); tot.ExecutorsActive != 1 || tot.ExecutorRemovals != 1 {
		t.Fatalf("totals %+v", tot)
	}
}

func TestExecutorsSortNumerically(t *testing.T) {
	s := NewStore()
	for _, id := range []string{"10", "2", "driver", "1"} {
		s.Apply(events.ExecutorAdded{ExecutorID: id})
	}
	var got []string
	for _, x := range s.Executors(true) {
		got = append(got, x.ID)
	}
	if fmt.Sprint(got) != "[1 2 10 driver]" {
		t.Fatalf("order %v", got)
	}
}

// BenchmarkStoreApplyTasks applies TaskStart/TaskEnd pairs the way a busy
// scheduler produces them (several stages, executors, a pool).
func BenchmarkStoreApplyTasks(b *testing.B) {
	s := NewStore()
	s.Apply(events.Pools{Mode: "FAIR", Pools: []events.Pool{{Name: "p"}}})
	s.Apply(events.JobStart{JobID: 0, Pool: "p", StageIDs: []int{0}})
	s.Apply(events.StageSubmitted{StageID: 0, JobID: 0, NumTasks: 1 << 30, Pool: "p"})
	execs := []string{"1", "2", "3", "4"}
	for _, id := range execs {
		s.Apply(events.ExecutorAdded{ExecutorID: id, Cores: 8})
	}
	// Boxed once, outside the timing, as the bus hands them over already
	// boxed; task ids repeat every 1024 pairs, which the store tolerates
	// since each task has ended before its id comes round again.
	starts := make([]events.Event, 1024)
	ends := make([]events.Event, 1024)
	for j := range starts {
		id := int64(j)
		starts[j] = events.TaskStart{TaskID: id, Index: j, ExecutorID: execs[j%4], Host: "h", Locality: "ANY"}
		ends[j] = events.TaskEnd{TaskID: id, Index: j, ExecutorID: execs[j%4], Status: events.TaskSuccess, Duration: time.Millisecond}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 2 {
		k := i / 2 % 1024
		s.Apply(starts[k])
		s.Apply(ends[k])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkStoreMemory100kTasks: the UI store's memory for an application
// of 100,000 tasks (100 stages of 1,000), every row retained.
func BenchmarkStoreMemory100kTasks(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := NewStore()
		s.Apply(events.JobStart{JobID: 0, StageIDs: []int{0}})
		for e := 0; e < 8; e++ {
			s.Apply(events.ExecutorAdded{ExecutorID: strconv.Itoa(e), Cores: 8, Host: "host" + strconv.Itoa(e)})
		}
		id := int64(0)
		for st := 0; st < 100; st++ {
			s.Apply(events.StageSubmitted{StageID: st, JobID: 0, NumTasks: 1000, Name: "map at stage " + strconv.Itoa(st)})
			for i := 0; i < 1000; i++ {
				ex := strconv.Itoa(i % 8)
				s.Apply(events.TaskStart{StageID: st, TaskID: id, Index: i, ExecutorID: ex, Host: "host" + ex, Locality: "PROCESS_LOCAL"})
				s.Apply(events.TaskEnd{StageID: st, TaskID: id, Index: i, ExecutorID: ex, Status: events.TaskSuccess, Duration: time.Duration(i) * time.Millisecond, RecordsIn: 100, ShuffleWrite: 4096})
				id++
			}
			s.Apply(events.StageCompleted{StageID: st})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(s)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB")
	}
}
