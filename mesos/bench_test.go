package mesos_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

// addedDriver signals each registered executor.
type addedDriver struct {
	nopDriver
	added chan struct{}
}

func (d addedDriver) ExecutorAdded(backend.ExecutorInfo) { d.added <- struct{}{} }

// BenchmarkSubscribeToFirstExecutor measures Start (find the leader from a
// standby, SUBSCRIBE) until the first executor has registered with the
// driver: an offer, ACCEPT, the agent's fetch of the binary over HTTP, the
// process start and its gRPC registration.
func BenchmarkSubscribeToFirstExecutor(b *testing.B) {
	c := mesostest.Start(b, mesostest.Options{Masters: 2, Agents: []mesostest.AgentSpec{{CPUs: 2, MemMB: 2048}}})
	cfg := coarseConfig(c)
	cfg["stoke.cores.max"] = "2"
	var subscribe, first time.Duration
	for b.Loop() {
		be := newBackendTB(b, cfg)
		d := addedDriver{added: make(chan struct{}, 4)}
		start := time.Now()
		if err := be.Start(context.Background(), d); err != nil {
			b.Fatal(err)
		}
		subscribe += time.Since(start)
		select {
		case <-d.added:
		case <-time.After(30 * time.Second):
			b.Fatal("no executor registered in 30s")
		}
		first += time.Since(start)
		be.Stop(context.Background())
	}
	b.ReportMetric(float64(subscribe.Milliseconds())/float64(b.N), "ms-to-subscribed")
	b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "ms-to-first-executor")
}

var identity = stoke.RegisterMap("mesos_test.identity", func(n int) int { return n })

// BenchmarkTaskOverhead runs the same job, 64 one-record tasks on two
// executors of 2 task slots each, in coarse- and fine-grained mode, with
// the master offering every second (Mesos's default allocation interval)
// and every 50 ms: the per-task cost once executors run. Coarse-grained,
// Mesos is not involved per task (scheduling, a gRPC launch and the
// result). Fine-grained, every task also waits for an offer of its agent,
// an ACCEPT with a LAUNCH, the agent's LAUNCH to the executor and the
// executor's status updates; CPUs a task gives back are offered again only
// at the next allocation, so the interval dominates.
func BenchmarkTaskOverhead(b *testing.B) {
	for _, mode := range []string{"coarse", "fine"} {
		for _, every := range []time.Duration{time.Second, 50 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/allocation=%v", mode, every), func(b *testing.B) {
				agents := []mesostest.AgentSpec{{CPUs: 2, MemMB: 2048}, {CPUs: 2, MemMB: 2048}}
				if mode == "fine" {
					agents = []mesostest.AgentSpec{{CPUs: 3, MemMB: 2048}, {CPUs: 3, MemMB: 2048}}
				}
				c := mesostest.Start(b, mesostest.Options{Masters: 2, HeartbeatInterval: time.Second, AllocationInterval: every, Agents: agents})
				cfg := coarseConfig(c)
				if mode == "fine" {
					cfg = fineConfig(c)
				}
				cfg["stoke.ui.enabled"] = "false"
				sc, err := stoke.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer sc.Stop()
				mesostest.Eventually(b, 30*time.Second, "executors", func() bool { return len(sc.Driver().Executors()) == 2 })
				in := make([]int, 64)
				for i := range in {
					in[i] = i
				}
				ds, err := stoke.Parallelize(sc, in, 64)
				if err != nil {
					b.Fatal(err)
				}
				tasks := 0
				for b.Loop() {
					if _, err := stoke.Collect(context.Background(), stoke.Map(ds, identity)); err != nil {
						b.Fatal(err)
					}
					tasks += 64
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(tasks), "µs/task")
			})
		}
	}
}
