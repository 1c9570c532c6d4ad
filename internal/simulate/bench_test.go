package simulate

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// millionSpec is a workload of 1,000,000 tasks in 20 pools: 2,000 jobs of
// two stages (400 tasks then 100), arriving every 500 ms in turn in the
// pools, on 100 executors of 16 cores, with lognormal task durations, a
// straggler executor and a 0.1% failure rate.
func millionSpec(tb tb) *Workload {
	var pools, jobs []string
	for p := range 20 {
		pools = append(pools, fmt.Sprintf(`{"name":"pool%02d","schedulingMode":"%s","weight":%d,"minShare":%d}`, p, map[bool]string{true: "FAIR", false: "FIFO"}[p%2 == 0], 1+p%4, (p%3)*16))
		jobs = append(jobs, fmt.Sprintf(`{"pool":"pool%02d","arrival":"%dms","count":100,"every":"10s","stages":[
			{"tasks":400,"duration":{"dist":"lognormal","median":"800ms","sigma":0.6}},
			{"tasks":100,"duration":{"dist":"uniform","min":"200ms","max":"1s"}}]}`, p, p*500))
	}
	spec := fmt.Sprintf(`{"seed":7,"conf":{"stoke.scheduler.mode":"FAIR"},"pools":[%s],
		"executors":[{"count":99,"cores":16},{"id":"slow","cores":16,"slowdown":3}],
		"taskFailureRate":0.001,"jobs":[%s]}`, strings.Join(pools, ","), strings.Join(jobs, ","))
	s, err := ParseSpec([]byte(spec))
	if err != nil {
		tb.Fatal(err)
	}
	w, err := s.Build("million", nil)
	if err != nil {
		tb.Fatal(err)
	}
	if n := w.Tasks(); n != 1_000_000 {
		tb.Fatalf("%d tasks", n)
	}
	return w
}

// BenchmarkSimulateMillionTasks replays the million-task workload (FAIR,
// 20 pools, speculation on) and reports simulated tasks per second of
// wall time.
func BenchmarkSimulateMillionTasks(b *testing.B) {
	w := millionSpec(b)
	cfg := mustConfig(b, w, "bench", "stoke.speculation", "true")
	b.ReportAllocs()
	b.ResetTimer()
	var r *Result
	for b.Loop() {
		var err error
		if r, err = Run(w, cfg, Options{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if r.Unfinished != 0 || r.Tasks.Succeeded != 1_000_000 {
		b.Fatalf("unfinished %d, succeeded %d", r.Unfinished, r.Tasks.Succeeded)
	}
	b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "tasks/s")
	b.ReportMetric(float64(r.Tasks.Launched), "attempts")
	b.ReportMetric(time.Duration(r.Makespan).Seconds(), "virtual-s")
}
