package yarn_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/yarn"
)

// BenchmarkSubmitToFirstTask measures, on the minicluster, how long `stoke submit --master
// yarn` takes until the first task runs on an executor container, in client and cluster
// deploy mode, with the breakdown. Run it with
//
//	go test ./yarn -run XXX -bench SubmitToFirstTask -benchtime 5x
func BenchmarkSubmitToFirstTask(b *testing.B) {
	c := hadooptest.StartWith(b, hadooptest.Options{NodeManagers: 2})
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	cfg := yarnConfig(stoke.Config{"stoke.ui.enabled": "false", "stoke.executor.instances": "1"})
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }

	b.Run("client", func(b *testing.B) {
		var staged, submitted, am, exec, task time.Duration
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			sc, err := stoke.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			tm := sc.Backend().(*yarn.Backend).Timings
			for len(sc.Driver().Executors()) == 0 {
				time.Sleep(2 * time.Millisecond)
			}
			te := time.Now()
			nums, _ := stoke.Parallelize(sc, []int{0}, 1)
			got, err := stoke.Collect(context.Background(), stoke.Map(nums, now))
			if err != nil {
				b.Fatal(err)
			}
			staged += tm.Staged.Sub(t0)
			submitted += tm.Submitted.Sub(t0)
			am += tm.AMRegistered.Sub(t0)
			exec += te.Sub(t0)
			task += time.Unix(0, got[0]).Sub(t0)
			b.StopTimer()
			sc.Stop()
			b.StartTimer()
		}
		n := float64(b.N)
		b.ReportMetric(ms(staged)/n, "ms-staged")
		b.ReportMetric(ms(submitted)/n, "ms-submitted")
		b.ReportMetric(ms(am)/n, "ms-AM-registered")
		b.ReportMetric(ms(exec)/n, "ms-executor-registered")
		b.ReportMetric(ms(task)/n, "ms-first-task")
	})

	b.Run("cluster", func(b *testing.B) {
		var submitted, driver, exec, task time.Duration
		fs, err := fsx.For(c.FS + "/")
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			out := fmt.Sprintf("%s/tmp/stoke-bench-%d-%d", c.FS, time.Now().UnixNano(), i)
			t0 := time.Now()
			var ts time.Time
			cc := newConf(b, cfg)
			cs := &yarn.ClusterSubmission{Conf: cc, HandOff: encode(cc), Binary: exe(b), Args: []string{testAppArg, "firsttask", out},
				Out: io.Discard, OnSubmitted: func(string) { ts = time.Now() }}
			code, err := yarn.SubmitCluster(context.Background(), cs)
			if err != nil || code != 0 {
				b.Fatalf("cluster submission: code %d, %v", code, err)
			}
			b.StopTimer()
			r, err := fs.Open(out + "/part-00000")
			if err != nil {
				b.Fatal(err)
			}
			data, _ := io.ReadAll(r)
			r.Close()
			var t1, t2, t3 int64
			if _, err := fmt.Sscanf(string(data), "%d %d %d", &t1, &t2, &t3); err != nil {
				b.Fatalf("timings %q: %v", data, err)
			}
			submitted += ts.Sub(t0)
			driver += time.Unix(0, t1).Sub(t0)
			exec += time.Unix(0, t2).Sub(t0)
			task += time.Unix(0, t3).Sub(t0)
			b.StartTimer()
		}
		n := float64(b.N)
		b.ReportMetric(ms(submitted)/n, "ms-submitted")
		b.ReportMetric(ms(driver)/n, "ms-AM-and-driver-started")
		b.ReportMetric(ms(exec)/n, "ms-executor-registered")
		b.ReportMetric(ms(task)/n, "ms-first-task")
	})
}
