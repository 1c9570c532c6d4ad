package standalone_test

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/standalone"
)

// sleepMS sleeps for its record's milliseconds: a task that holds a slot.
var sleepMS = stoke.RegisterMap("standalone_test.sleepMS", func(ms int) int {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return ms
})

// BenchmarkBurstyDynamicAllocation is the bursty application on a
// four-worker cluster (2 cores each, one-core executors): a burst of 400
// tasks of 100 ms, 30 s idle, another burst. It runs the application with
// static allocation (every core from the start) and then with dynamic
// allocation (executorIdleTimeout 5 s, minExecutors 0), and reports for
// each the executor-seconds held from the first burst's start to the
// second burst's end and both bursts' completion times.
func BenchmarkBurstyDynamicAllocation(b *testing.B) {
	idle := 30 * time.Second
	if v := os.Getenv("STOKE_BENCH_IDLE"); v != "" { // a shorter run while working on it
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("STOKE_BENCH_IDLE: %v", err)
		}
		idle = d
	}
	m := benchCluster(b, false)
	for _, mode := range []struct {
		name string
		conf stoke.Config
	}{
		{"static", nil},
		{"dynamic", stoke.Config{
			"stoke.dynamicAllocation.enabled":             "true",
			"stoke.dynamicAllocation.minExecutors":        "0",
			"stoke.dynamicAllocation.executorIdleTimeout": "5s",
		}},
		// The same with requests every 100 ms instead of every second
		// while tasks wait: the ramp (1, 2, 4, 1 more) takes 0.4 s.
		{"dynamic-fast-ramp", stoke.Config{
			"stoke.dynamicAllocation.enabled":                 "true",
			"stoke.dynamicAllocation.minExecutors":            "0",
			"stoke.dynamicAllocation.executorIdleTimeout":     "5s",
			"stoke.dynamicAllocation.schedulerBacklogTimeout": "100ms",
		}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				burstyApp(b, "stoke://"+m.Addr(), mode.conf, idle)
			}
		})
	}
}

// benchCluster starts an in-process master and four workers of 2 cores
// (running the shuffle service when asked).
func benchCluster(b *testing.B, shuffleService bool) *standalone.Master {
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	m, err := standalone.StartMaster(standalone.MasterOptions{Host: "127.0.0.1", Port: 0, WebUIPort: -1,
		SpreadOut: true, WorkerTimeout: 30 * time.Second, WorkDir: b.TempDir(), Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Stop)
	for range 4 {
		w, err := standalone.StartWorker(standalone.WorkerOptions{Masters: []string{m.Addr()}, Host: "127.0.0.1", Cores: 2, MemoryMiB: 2048,
			WorkDir: workDir(b), WebUIPort: 0, SkipMemoryCheck: true, Log: quiet, ShuffleService: shuffleService})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(w.Stop)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = w.WaitRegistered(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	return m
}

func burstyApp(b *testing.B, master string, extra stoke.Config, idle time.Duration) {
	cfg := stoke.Config{"stoke.master": master, "stoke.ui.enabled": "false", "stoke.log.level": "warn",
		"stoke.driver.allowMultipleContexts": "true", "stoke.executor.cores": "1", "stoke.executor.memory": "256m"}
	for k, v := range extra {
		cfg[k] = v
	}
	rec := backendtest.NewRecorder()
	sc, err := stoke.New(cfg, stoke.WithListener(rec))
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Stop()
	if extra == nil {
		for deadline := time.Now().Add(time.Minute); len(sc.Driver().Executors()) < 8; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("static allocation: %d of 8 executors", len(sc.Driver().Executors()))
			}
		}
	}
	recs := make([]int, 400)
	for i := range recs {
		recs[i] = 100
	}
	ds, err := stoke.Parallelize(sc, recs, len(recs))
	if err != nil {
		b.Fatal(err)
	}
	burst := func() time.Duration {
		t := time.Now()
		if n, err := stoke.Count(context.Background(), stoke.Map(ds, sleepMS)); err != nil || n != 400 {
			b.Fatalf("burst: %d, %v", n, err)
		}
		return time.Since(t)
	}
	start := time.Now()
	d1 := burst()
	time.Sleep(idle)
	d2 := burst()
	end := time.Now()
	b.ReportMetric(executorSeconds(rec, start, end), "executor-s")
	b.ReportMetric(d1.Seconds(), "s-burst1")
	b.ReportMetric(d2.Seconds(), "s-burst2")
}

// executorSeconds sums the time executors were held inside [start, end],
// from their add and remove events.
func executorSeconds(rec *backendtest.Recorder, start, end time.Time) float64 {
	added := map[string]time.Time{}
	var held time.Duration
	hold := func(from, to time.Time) {
		from, to = maxTime(from, start), minTime(to, end)
		if to.After(from) {
			held += to.Sub(from)
		}
	}
	for _, e := range rec.Events() {
		switch e := e.(type) {
		case events.ExecutorAdded:
			added[e.ExecutorID] = e.Time
		case events.ExecutorRemoved:
			if t, ok := added[e.ExecutorID]; ok {
				hold(t, e.Time)
				delete(added, e.ExecutorID)
			}
		}
	}
	for _, t := range added {
		hold(t, end)
	}
	return held.Seconds()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// workDir is a fresh directory, kept after the run when STOKE_BENCH_KEEP is
// set (to read executors' logs).
func workDir(b *testing.B) string {
	if os.Getenv("STOKE_BENCH_KEEP") == "" {
		return b.TempDir()
	}
	d, err := os.MkdirTemp("", "stoke-bench-")
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// sleepKV sleeps 100 ms and keys its record: a shuffle map task that
// holds a slot.
var sleepKV = stoke.RegisterMap("standalone_test.sleepKV", func(i int) stoke.KV[string, int] {
	time.Sleep(100 * time.Millisecond)
	return stoke.KV[string, int]{Key: "k" + strconv.Itoa(i%16), Value: i}
})

// BenchmarkBurstyShuffleDynamicAllocation is the bursty application with
// shuffles, where releasing executors costs shuffle output: a burst of
// 400 map tasks of 100 ms feeding a reduceByKey, 30 s idle, then a second
// such burst and a job reading the first burst's shuffle again. Static
// allocation, dynamic allocation with shuffle tracking (the executors
// holding the first shuffle's output stay through the idle time), with
// graceful decommission (they move it to one executor and go) and with
// the workers' shuffle service (they go; the service serves it). Each
// reports executor-seconds, both bursts' times and how many map tasks ran
// again (must be 0).
func BenchmarkBurstyShuffleDynamicAllocation(b *testing.B) {
	idle := 30 * time.Second
	if v := os.Getenv("STOKE_BENCH_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("STOKE_BENCH_IDLE: %v", err)
		}
		idle = d
	}
	m := benchCluster(b, true)
	dyn := func(kv ...string) stoke.Config {
		c := stoke.Config{
			"stoke.dynamicAllocation.enabled":             "true",
			"stoke.dynamicAllocation.minExecutors":        "0",
			"stoke.dynamicAllocation.executorIdleTimeout": "5s",
		}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i]] = kv[i+1]
		}
		return c
	}
	decom := []string{"stoke.decommission.enabled", "true", "stoke.storage.decommission.enabled", "true"}
	service := []string{"stoke.shuffle.service.enabled", "true"}
	fast := []string{"stoke.dynamicAllocation.schedulerBacklogTimeout", "100ms"}
	for _, mode := range []struct {
		name string
		conf stoke.Config
	}{
		{"static", nil},
		{"tracking", dyn()},
		{"decommission", dyn(decom...)},
		{"shuffle-service", dyn(service...)},
		{"tracking-fast-ramp", dyn(fast...)},
		{"decommission-fast-ramp", dyn(append(decom, fast...)...)},
		{"shuffle-service-fast-ramp", dyn(append(service, fast...)...)},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				burstyShuffleApp(b, "stoke://"+m.Addr(), mode.conf, idle)
			}
		})
	}
}

func burstyShuffleApp(b *testing.B, master string, extra stoke.Config, idle time.Duration) {
	cfg := stoke.Config{"stoke.master": master, "stoke.ui.enabled": "false", "stoke.log.level": "warn",
		"stoke.driver.allowMultipleContexts": "true", "stoke.executor.cores": "1", "stoke.executor.memory": "256m"}
	for k, v := range extra {
		cfg[k] = v
	}
	rec := backendtest.NewRecorder()
	sc, err := stoke.New(cfg, stoke.WithListener(rec))
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Stop()
	if extra == nil {
		for deadline := time.Now().Add(time.Minute); len(sc.Driver().Executors()) < 8; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("static allocation: %d of 8 executors", len(sc.Driver().Executors()))
			}
		}
	}
	shuffled := func() stoke.Dataset[stoke.KV[string, int]] {
		recs := make([]int, 400)
		for i := range recs {
			recs[i] = i
		}
		ds, err := stoke.Parallelize(sc, recs, len(recs))
		if err != nil {
			b.Fatal(err)
		}
		return stoke.ReduceByKey(stoke.Map(ds, sleepKV), sumInt, 8)
	}
	collect := func(ds stoke.Dataset[stoke.KV[string, int]]) {
		got, err := stoke.Collect(context.Background(), ds)
		if err != nil || len(got) != 16 {
			b.Fatalf("shuffle job: %d keys, %v", len(got), err)
		}
		sum := 0
		for _, kv := range got {
			sum += kv.Value
		}
		if sum != 399*400/2 {
			b.Fatalf("shuffle job: sum %d, want %d", sum, 399*400/2)
		}
	}
	first, second := shuffled(), shuffled()
	start := time.Now()
	collect(first)
	d1 := time.Since(start)
	time.Sleep(idle)
	t2 := time.Now()
	before := len(rec.Events())
	collect(second)
	collect(first) // reads the first burst's shuffle again
	end := time.Now()
	d2 := end.Sub(t2)
	// Events reach the recorder through the asynchronous bus: wait for
	// both jobs' ends (posted after their tasks').
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ends := 0
		for _, e := range rec.Events()[before:] {
			if _, ok := e.(events.JobEnd); ok {
				ends++
			}
		}
		if ends == 2 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of 2 JobEnd events", ends)
		}
	}
	rerun := 0
	for _, e := range rec.Events()[before:] {
		if s, ok := e.(events.TaskEnd); ok && s.Status == events.TaskSuccess {
			rerun++
		}
	}
	// The second burst's map and reduce tasks (400 + 8) and the re-read's
	// reduce tasks (8) ran; anything beyond is the first map stage again.
	rerun -= 400 + 8 + 8
	b.ReportMetric(executorSeconds(rec, start, end), "executor-s")
	b.ReportMetric(d1.Seconds(), "s-burst1")
	b.ReportMetric(d2.Seconds(), "s-burst2")
	b.ReportMetric(float64(rerun), "map-reruns")
}
