package stoke_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/local"
	"github.com/stoke-run/stoke/standalone"
)

func TestMain(m *testing.M) {
	stoke.RunIfExecutor()
	os.Exit(m.Run())
}

var benchID = stoke.RegisterMap("bench.id", func(n int) int { return n })

func newBenchContext(b *testing.B, cfg stoke.Config) *stoke.Context {
	b.Helper()
	full := stoke.Config{"stoke.ui.enabled": "false", "stoke.log.level": "warn"}
	for k, v := range cfg {
		full[k] = v
	}
	sc, err := stoke.New(full)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sc.Stop() })
	return sc
}

func waitForExecutors(b *testing.B, sc *stoke.Context, n int) {
	deadline := time.Now().Add(time.Minute)
	for len(sc.Driver().Executors()) < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d executors registered, want %d", len(sc.Driver().Executors()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// emptyTasks runs jobs of empty tasks and reports tasks per second.
func emptyTasks(b *testing.B, sc *stoke.Context, tasksPerJob int) {
	ds, err := stoke.Parallelize(sc, []int(nil), tasksPerJob)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// Warm up.
	if _, err := stoke.Count(ctx, ds); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := stoke.Count(ctx, ds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*tasksPerJob)/time.Since(start).Seconds(), "tasks/s")
}

// Empty tasks end to end through the driver, scheduler and in-process
// executor (local[8]).
func BenchmarkEmptyTasksInProcess(b *testing.B) {
	emptyTasks(b, newBenchContext(b, stoke.Config{"stoke.master": "local[8]"}), 10000)
}

// Empty tasks through two executor processes of four slots over loopback.
func BenchmarkEmptyTasksProcesses(b *testing.B) {
	sc := newBenchContext(b, stoke.Config{"stoke.master": "local-cluster[2,4,1024]"})
	waitForExecutors(b, sc, 2)
	emptyTasks(b, sc, 10000)
}

// latency of a one-task job on warm executors: p50 and p99.
func oneTaskLatency(b *testing.B, sc *stoke.Context) {
	ds, err := stoke.Parallelize(sc, []int{1}, 1)
	if err != nil {
		b.Fatal(err)
	}
	job := stoke.Map(ds, benchID)
	ctx := context.Background()
	for range 20 {
		if _, err := stoke.Collect(ctx, job); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := stoke.Collect(ctx, job); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func BenchmarkOneTaskJobInProcess(b *testing.B) {
	oneTaskLatency(b, newBenchContext(b, stoke.Config{"stoke.master": "local[4]"}))
}

func BenchmarkOneTaskJobProcesses(b *testing.B) {
	sc := newBenchContext(b, stoke.Config{"stoke.master": "local-cluster[2,4,1024]"})
	waitForExecutors(b, sc, 2)
	oneTaskLatency(b, sc)
}

// Resident memory of an idle executor process, after it has run a job.
func BenchmarkExecutorIdleRSS(b *testing.B) {
	sc := newBenchContext(b, stoke.Config{"stoke.master": "local-cluster[1,4,1024]"})
	waitForExecutors(b, sc, 1)
	ds, err := stoke.Parallelize(sc, make([]int, 1000), 4)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := stoke.Count(context.Background(), stoke.Map(ds, benchID)); err != nil {
		b.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	var pids []int
	switch be := sc.Backend().(type) {
	case *local.Processes:
		for _, pid := range be.ExecutorPIDs() {
			pids = append(pids, pid)
		}
	case *standalone.LocalCluster: // what local-cluster[N,C,M] is
		for _, w := range be.Workers() {
			for _, pid := range w.ExecutorPIDs() {
				pids = append(pids, pid)
			}
		}
	default:
		b.Fatalf("backend %T runs no executor processes", be)
	}
	if len(pids) == 0 {
		b.Fatal("no executor process found")
	}
	var rss float64
	for i := 0; i < b.N; i++ {
		for _, pid := range pids {
			kb, err := vmRSS(pid)
			if err != nil {
				b.Fatal(err)
			}
			rss = max(rss, float64(kb)/1024)
		}
	}
	b.ReportMetric(rss, "RSS-MiB")
}

func vmRSS(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
