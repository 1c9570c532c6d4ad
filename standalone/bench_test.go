package standalone_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/internal/events"
)

// startToFirstTask creates an application on master, submits a one-task
// job at once, and returns the time from stoke.New to that task running.
func startToFirstTask(b *testing.B, master string) time.Duration {
	b.Helper()
	rec := backendtest.NewRecorder()
	start := time.Now()
	sc, err := stoke.New(stoke.Config{"stoke.master": master, "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true",
		"stoke.log.level": "warn"}, stoke.WithListener(rec))
	if err != nil {
		b.Fatal(err)
	}
	ds, err := stoke.Parallelize(sc, []int{1}, 1)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go stoke.Count(ctx, ds)
	if !rec.Wait(ctx.Done(), func(es []events.Event) bool {
		for _, e := range es {
			if _, ok := e.(events.TaskStart); ok {
				return true
			}
		}
		return false
	}) {
		b.Fatal("no task started")
	}
	d := time.Since(start)
	sc.Stop()
	return d
}

func reportMedian(b *testing.B, ds []time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, "ms-max")
}

// BenchmarkAppStartWarmCluster: stoke.New on a running cluster of
// separate master and worker processes (binary already cached by the
// workers) until the first task runs on a new executor process.
func BenchmarkAppStartWarmCluster(b *testing.B) {
	pc := startProcessCluster(b, 2, 2, 1024)
	master := "stoke://" + pc.addr
	startToFirstTask(b, master) // warm: the workers cache the binary
	var ds []time.Duration
	for b.Loop() {
		ds = append(ds, startToFirstTask(b, master))
	}
	reportMedian(b, ds)
}

// BenchmarkLocalClusterStart: local-cluster[2,2,1024] from stoke.New (a
// master, two workers, binary download, executor processes) to the first
// task running.
func BenchmarkLocalClusterStart(b *testing.B) {
	var ds []time.Duration
	for b.Loop() {
		ds = append(ds, startToFirstTask(b, "local-cluster[2,2,1024]"))
	}
	reportMedian(b, ds)
}
