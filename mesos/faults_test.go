package mesos_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

type slowInt struct{ N int }

var slowSquare = stoke.RegisterMap("mesos_test.slowSquare", func(r slowInt) int {
	time.Sleep(40 * time.Millisecond)
	return r.N * r.N
})

// runWithFault runs a job of 64 slow records on the cluster and calls
// inject once it is under way; every partition's result must arrive once.
func runWithFault(t *testing.T, c *mesostest.Cluster, inject func(t *testing.T, b *mesos.Backend)) *mesos.Backend {
	t.Helper()
	return runWithFaultCfg(t, c, coarseConfig(c), inject)
}

func runWithFaultCfg(t *testing.T, c *mesostest.Cluster, cfg stoke.Config, inject func(t *testing.T, b *mesos.Backend)) *mesos.Backend {
	t.Helper()
	cfg["stoke.ui.enabled"] = "false"
	cfg["stoke.mesos.failoverTimeout"] = "60s"
	cfg["stoke.task.maxFailures"] = "4"
	sc, err := stoke.New(cfg) // through backendFor: mesos:// makes this backend
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Stop() })
	b := sc.Backend().(*mesos.Backend)
	mesostest.Eventually(t, 30*time.Second, "two executors registered", func() bool { return len(sc.Driver().Executors()) == 2 })
	var in []slowInt
	var want []int
	for i := range 64 {
		in = append(in, slowInt{i})
		want = append(want, i*i)
	}
	ds, err := stoke.Parallelize(sc, in, 16)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(2*time.Minute))
	defer cancel()
	type result struct {
		got []int
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := stoke.Collect(ctx, stoke.Map(ds, slowSquare))
		done <- result{got, err}
	}()
	time.Sleep(250 * time.Millisecond)
	inject(t, b)
	r := <-done
	if r.err != nil {
		t.Fatalf("job: %v", r.err)
	}
	slices.Sort(r.got)
	if !slices.Equal(r.got, want) {
		t.Fatalf("results %v, want each of %v once", r.got, want)
	}
	return b
}

func TestFaultExecutorKilled(t *testing.T) {
	c := testCluster(t)
	runWithFault(t, c, func(t *testing.T, b *mesos.Backend) {
		if err := c.KillTask(b.FrameworkID(), "0"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFaultAgentRemoved(t *testing.T) {
	c := testCluster(t)
	runWithFault(t, c, func(t *testing.T, b *mesos.Backend) {
		v, ok := c.Task(b.FrameworkID(), "0")
		if !ok {
			t.Fatal("no task 0")
		}
		if err := c.RemoveAgent(v.AgentID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFaultMasterFailover(t *testing.T) {
	c := testCluster(t)
	var id string
	b := runWithFault(t, c, func(t *testing.T, b *mesos.Backend) {
		id = b.FrameworkID()
		c.FailoverMaster()
	})
	mesostest.Eventually(t, 30*time.Second, "framework re-subscribed to the new leader", func() bool {
		fw, ok := c.Framework(id)
		return ok && fw.Connected
	})
	if b.FrameworkID() != id {
		t.Fatalf("framework id changed from %s to %s", id, b.FrameworkID())
	}
}

func TestFaultStreamDropped(t *testing.T) {
	c := testCluster(t)
	var id string
	runWithFault(t, c, func(t *testing.T, b *mesos.Backend) {
		id = b.FrameworkID()
		if err := c.DropStream(id); err != nil {
			t.Fatal(err)
		}
	})
	mesostest.Eventually(t, 30*time.Second, "framework subscribed again", func() bool {
		fw, ok := c.Framework(id)
		return ok && fw.Connected && fw.Subscribes >= 2
	})
}
