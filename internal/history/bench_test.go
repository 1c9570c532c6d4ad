package history_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/history"
	"github.com/stoke-run/stoke/internal/ui"
)

// writeBenchLog writes a log of about n events: jobs of one 100-task stage
// on 8 executors.
func writeBenchLog(b *testing.B, dir, id string, n int, compress bool) int {
	b.Helper()
	w, err := eventlog.NewWriterOptions(dir, id, eventlog.WriterOptions{Compress: compress})
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	count := 0
	post := func(e events.Event) { w.OnEvent(e); count++ }
	post(events.ApplicationStart{AppID: id, AppName: "bench", User: "u", Master: "local[8]", Time: t})
	for e := 0; e < 8; e++ {
		post(events.ExecutorAdded{ExecutorID: fmt.Sprint(e), Host: "h", Cores: 4, Time: t})
	}
	var task int64
	for job := 0; count < n; job++ {
		post(events.JobStart{JobID: job, Description: "count", Pool: "default", StageIDs: []int{job}, Time: t})
		post(events.StageSubmitted{StageID: job, JobID: job, Name: "map", NumTasks: 100, Pool: "default", Time: t})
		for i := 0; i < 100; i++ {
			task++
			post(events.TaskStart{StageID: job, TaskID: task, Index: i, Partition: i, ExecutorID: fmt.Sprint(i % 8), Host: "h", Locality: "PROCESS_LOCAL", Time: t})
			post(events.TaskEnd{StageID: job, TaskID: task, Index: i, ExecutorID: fmt.Sprint(i % 8), Status: events.TaskSuccess, Duration: 30 * time.Millisecond, RecordsIn: 1000, Time: t})
		}
		post(events.StageCompleted{StageID: job, Time: t})
		post(events.JobEnd{JobID: job, Succeeded: true, Time: t})
	}
	post(events.ApplicationEnd{Time: t})
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return count
}

// BenchmarkLoadAppUI measures rebuilding an application's UI from its log
// (what the history server does on a first visit), in events per second:
// go test -run '^$' -bench LoadAppUI -benchtime 3x ./internal/history
// (STOKE_BENCH_EVENTS sets the log's size, default 200,000).
func BenchmarkLoadAppUI(b *testing.B) {
	n := 200_000
	if v := os.Getenv("STOKE_BENCH_EVENTS"); v != "" {
		fmt.Sscan(v, &n)
	}
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("zstd=%v", compress), func(b *testing.B) {
			dir := b.TempDir()
			events := writeBenchLog(b, dir, "bench", n, compress)
			name := "bench.jsonl"
			if compress {
				name += ".zst"
			}
			path := filepath.Join(dir, name)
			st, _ := os.Stat(path)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ui.ServeHistory(path); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(st.Size())/float64(events), "bytes/event")
		})
	}
}

// BenchmarkScan measures listing a directory of finished logs (each read
// once for the list).
func BenchmarkScan(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 100; i++ {
		writeBenchLog(b, dir, fmt.Sprintf("app-%03d", i), 2_000, false)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		srv, err := history.New(history.Options{LogDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if len(srv.Apps()) != 100 {
			b.Fatal("not every log listed")
		}
	}
}
