package sched

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkScheduleFair measures placements per second: 1,000 executors × 8
// slots, 200 task sets of 40 tasks spread over 20 FAIR pools (half of them
// FAIR inside, half FIFO, weights 1-4, some minShares); each iteration
// builds a fresh scheduler (not timed) and fills all 8,000 slots with one
// Schedule call, the order being re-evaluated after every slot.
func BenchmarkScheduleFair(b *testing.B) {
	const (
		execs, slots = 1000, 8
		pools, sets  = 20, 200
		tasks        = execs * slots / sets
	)
	var cfg Config
	cfg.Mode = FAIR
	for p := range pools {
		mode := FIFO
		if p%2 == 0 {
			mode = FAIR
		}
		cfg.Pools = append(cfg.Pools, PoolConfig{Name: fmt.Sprintf("pool%02d", p), Mode: mode, Weight: 1 + p%4, MinShare: (p % 3) * 50})
	}
	ts := make([]TaskSet, sets)
	for i := range ts {
		ts[i] = TaskSet{ID: TaskSetID{StageID: i}, JobID: i, Pool: fmt.Sprintf("pool%02d", i%pools), Tasks: make([]Task, tasks)}
		for j := range ts[i].Tasks {
			ts[i].Tasks[j].Partition = j
		}
	}
	execIDs := make([]string, execs)
	hosts := make([]string, execs)
	for i := range execIDs {
		execIDs[i] = fmt.Sprintf("exec-%04d", i)
		hosts[i] = fmt.Sprintf("host-%03d", i/4)
	}
	setup := func() *Scheduler {
		s, _, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		for i, id := range execIDs {
			s.AddExecutor(id, hosts[i], slots, epoch)
		}
		for _, t := range ts {
			s.Submit(t, epoch)
		}
		runtime.GC() // collect the previous iteration's garbage outside the timed part
		return s
	}
	// One untimed round first, so that -benchtime 2x does not measure a
	// cold heap (first page faults).
	dst := setup().Schedule(epoch, make([]Launch, 0, execs*slots))
	placements := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		s := setup()
		b.StartTimer()
		dst = s.Schedule(epoch, dst[:0])
		placements += len(dst)
	}
	b.StopTimer()
	if placements != b.N*execs*slots {
		b.Fatalf("placed %d, want %d", placements, b.N*execs*slots)
	}
	b.ReportMetric(float64(placements)/b.Elapsed().Seconds(), "placements/s")
	b.ReportMetric(0, "ns/op")
}
