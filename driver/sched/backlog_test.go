package sched

import (
	"testing"
	"time"
)

func TestBacklogCountsPendingRunningAndLocality(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, _, err := New(Config{Speculation: SpeculationConfig{Enabled: true, Interval: time.Second, Quantile: 0.5, Multiplier: 1.5, MinTaskRuntime: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if b := s.Backlog(); b.Pending != 0 || b.Running != 0 || b.Speculative != 0 {
		t.Fatalf("empty scheduler: %+v", b)
	}
	s.AddExecutor("e1", "h1", 2, now)
	s.Submit(TaskSet{ID: TaskSetID{StageID: 1}, Tasks: []Task{
		{Partition: 0}, {Partition: 1},
		{Partition: 2, Preferred: []Location{{Host: "h2"}}},
		{Partition: 3, Preferred: []Location{{Host: "h2", ExecutorID: "e9"}}},
	}}, now)
	ls := s.Schedule(now, nil)
	if len(ls) != 2 {
		t.Fatalf("launched %d on 2 free cores", len(ls))
	}
	b := s.Backlog()
	if b.Pending != 2 || b.Running != 2 || b.RunningOn["e1"] != 2 || b.Speculative != 0 {
		t.Fatalf("after 2 launches: %+v", b)
	}
	if b.LocalHosts["h2"] != 2 || b.LocalExecutors["e9"] != 1 || len(b.LocalHosts) != 1 {
		t.Fatalf("locality of the pending tasks: hosts %v executors %v", b.LocalHosts, b.LocalExecutors)
	}
	// Another task set whose two tasks run; one finishes fast, the other
	// runs long: it becomes speculatable and its copy waits.
	s.AddExecutor("e2", "h3", 2, now)
	s.Submit(TaskSet{ID: TaskSetID{StageID: 2}, JobID: -1, Tasks: []Task{{Partition: 0}, {Partition: 1}}}, now)
	ls = s.Schedule(now, nil)
	var mine []Launch
	for _, l := range ls {
		if l.TaskSet.StageID == 2 {
			mine = append(mine, l)
		}
	}
	if len(mine) != 2 {
		t.Fatalf("launches %+v, want both tasks of stage 2", ls)
	}
	s.Update(TaskUpdate{TaskID: mine[0].TaskID, State: TaskSucceeded}, now.Add(time.Millisecond))
	s.Tick(now.Add(time.Minute))
	b = s.Backlog()
	if b.Speculative != 1 || b.Running != 2+len(ls)-1 {
		t.Fatalf("with a slow task: %+v, want 1 speculative copy waiting", b)
	}
}
