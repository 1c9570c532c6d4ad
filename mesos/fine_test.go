package mesos_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	mesosproto "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

type heldInt struct {
	N    int
	Hold time.Duration
}

var hold = stoke.RegisterMap("mesos_test.hold", func(r heldInt) int {
	time.Sleep(r.Hold)
	return r.N
})

// TestFineCPUTracksTasks: in fine-grained mode the agent's CPU used by the
// framework is the executor's overhead plus one task's CPUs per running
// task, drops back to the overhead when no task runs, and another framework
// is offered the freed CPUs.
func TestFineCPUTracksTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 4, MemMB: 4096}}})
	cfg := stoke.Config{
		"stoke.master":                     c.Leader().MesosURL(),
		"stoke.ui.enabled":                 "false",
		"stoke.mesos.coarse":               "false",
		"stoke.executor.cores":             "3",
		"stoke.executor.memory":            "256m",
		"stoke.executor.instances":         "1",
		"stoke.mesos.declineOfferDuration": "1s",
	}
	sc, err := stoke.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	fw := sc.Backend().(*mesos.Backend).FrameworkID()
	agent := c.Agents()[0].ID()
	mesostest.Eventually(t, 30*time.Second, "the executor registered", func() bool { return len(sc.Driver().Executors()) == 1 })
	mesostest.Eventually(t, 10*time.Second, "idle usage is the overhead", func() bool { return c.Used(fw, agent).CPUs == 1 })

	// Idle, the framework asks for no offers; work revives them, and the
	// framework suppresses them again once nothing waits.
	mesostest.Eventually(t, 10*time.Second, "offers suppressed while idle", func() bool {
		v, _ := c.Framework(fw)
		return v.Calls["SUPPRESS"] > 0
	})
	before, _ := c.Framework(fw)

	// Three tasks of 1.5 s: three CPUs besides the overhead while they run.
	ds, err := stoke.Parallelize(sc, []heldInt{{1, 1500 * time.Millisecond}, {2, 1500 * time.Millisecond}, {3, 1500 * time.Millisecond}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(time.Minute))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		got, err := stoke.Collect(ctx, stoke.Map(ds, hold))
		if err == nil && len(got) != 3 {
			t.Errorf("results %v", got)
		}
		done <- err
	}()
	mesostest.Eventually(t, 10*time.Second, "usage = overhead + 3 running tasks", func() bool { return c.Used(fw, agent).CPUs == 4 })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mesostest.Eventually(t, 10*time.Second, "usage back to the overhead after the job", func() bool { return c.Used(fw, agent).CPUs == 1 })
	mesostest.Eventually(t, 10*time.Second, "offers revived for the job and suppressed after it", func() bool {
		v, _ := c.Framework(fw)
		return v.Calls["REVIVE"] > before.Calls["REVIVE"] && v.Calls["SUPPRESS"] > before.Calls["SUPPRESS"]
	})
	// The usage never went above overhead + slots, and the other framework
	// gets the three freed CPUs.
	for _, s := range c.UsageHistory(fw) {
		if s.CPUs > 4 {
			t.Fatalf("usage sample %+v above overhead + 3 tasks", s)
		}
	}
	// A framework that subscribes now (mesostest's test framework keeps the
	// offers it gets, so it would have starved the job had it come first).
	other := mesostest.StartFramework(t, c, mesosproto.FrameworkInfo{Name: "other", User: "nobody"})
	if _, err := other.WaitOffer(15*time.Second, func(o mesosproto.Offer) bool {
		return cpusOf(o) >= 3
	}); err != nil {
		t.Fatalf("the other framework was not offered the freed CPUs: %v", err)
	}
}

func fineFaultConfig(c *mesostest.Cluster) stoke.Config {
	cfg := fineConfig(c)
	cfg["stoke.ui.enabled"] = "false"
	cfg["stoke.mesos.failoverTimeout"] = "60s"
	cfg["stoke.task.maxFailures"] = "4"
	return cfg
}

func TestFineFaultExecutorKilled(t *testing.T) {
	c := fineCluster(t)
	runWithFaultCfg(t, c, fineFaultConfig(c), func(t *testing.T, b *mesos.Backend) {
		if err := c.KillExecutor(b.FrameworkID(), "stoke-0"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFineFaultAgentRemoved(t *testing.T) {
	c := fineCluster(t)
	runWithFaultCfg(t, c, fineFaultConfig(c), func(t *testing.T, b *mesos.Backend) {
		v, ok := c.Task(b.FrameworkID(), "0")
		if !ok {
			t.Fatal("no holder task 0")
		}
		if err := c.RemoveAgent(v.AgentID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFineFaultMasterFailover(t *testing.T) {
	c := fineCluster(t)
	runWithFaultCfg(t, c, fineFaultConfig(c), func(t *testing.T, b *mesos.Backend) {
		c.FailoverMaster()
	})
}

func TestFineFaultStreamDropped(t *testing.T) {
	c := fineCluster(t)
	runWithFaultCfg(t, c, fineFaultConfig(c), func(t *testing.T, b *mesos.Backend) {
		if err := c.DropStream(b.FrameworkID()); err != nil {
			t.Fatal(err)
		}
	})
}

func cpusOf(o mesosproto.Offer) float64 {
	n := 0.0
	for _, r := range o.Resources {
		if r.Name == "cpus" && r.Scalar != nil {
			n += r.Scalar.Value
		}
	}
	return n
}

// A process marked as a fine-grained executor but started outside a Mesos
// agent (no MESOS_* environment) refuses to run, naming what is missing.
func TestFineExecutorNeedsMesosEnvironment(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MESOS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, mesos.EnvFine+"=1", executor.EnvExecutorID+"=0", executor.EnvDriver+"=127.0.0.1:1",
		executor.EnvSecret+"=s", executor.EnvCores+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "MESOS_") {
		t.Fatalf("exit %v, output %q; want exit 2 naming the MESOS_* environment", err, out)
	}
}

// TestFineKillExecutors: the driver's KillExecutors kills a per-agent
// executor's holder task; the executor process stops, its agent holds
// nothing of the framework any more, the driver forgets the executor, and
// jobs run on the other one.
func TestFineKillExecutors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	c := fineCluster(t)
	cfg := fineConfig(c)
	cfg["stoke.ui.enabled"] = "false"
	sc, err := stoke.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	b := sc.Backend().(*mesos.Backend)
	fw := b.FrameworkID()
	mesostest.Eventually(t, 30*time.Second, "two executors registered", func() bool { return len(sc.Driver().Executors()) == 2 })
	holder, ok := c.Task(fw, "0")
	if !ok {
		t.Fatal("no holder task 0")
	}
	if err := b.KillExecutors([]string{"0"}); err != nil {
		t.Fatal(err)
	}
	mesostest.Eventually(t, 30*time.Second, "holder task 0 killed", func() bool {
		v, ok := c.Task(fw, "0")
		return ok && v.State == mesosproto.TASK_KILLED
	})
	mesostest.Eventually(t, 30*time.Second, "nothing of the framework on the executor's agent", func() bool {
		u := c.Used(fw, holder.AgentID)
		return u.CPUs == 0 && u.MemMB == 0
	})
	mesostest.Eventually(t, 30*time.Second, "the driver has one executor", func() bool { return len(sc.Driver().Executors()) == 1 })
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(time.Minute))
	defer cancel()
	got, err := stoke.Collect(ctx, stoke.Map(ds, identity))
	if err != nil || len(got) != 4 {
		t.Fatalf("job after the kill: %v, %v", got, err)
	}
}

// Fine-grained settings that cannot work are refused by New, naming the key.
func TestFineBadSettings(t *testing.T) {
	m, err := conf.ParseMaster("mesos://127.0.0.1:5050")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, value string }{
		{"stoke.mesos.coarse", "sometimes"},
		{"stoke.mesos.mesosExecutor.cores", "-1"},
		{"stoke.mesos.mesosExecutor.cores", "one"},
		{"stoke.task.cpus", "0"},
	} {
		c := conf.New()
		c.Set("stoke.mesos.coarse", "false", conf.SourceCode)
		c.Set(tc.key, tc.value, conf.SourceCode)
		if _, err := mesos.New(m, c, nil); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s=%s: New = %v, want an error naming %s", tc.key, tc.value, err, tc.key)
		}
	}
}

// Dynamic allocation needs coarse-grained mode.
func TestDynamicAllocationNeedsCoarseMode(t *testing.T) {
	m, err := conf.ParseMaster("mesos://127.0.0.1:5050")
	if err != nil {
		t.Fatal(err)
	}
	c := conf.New()
	c.Set("stoke.mesos.coarse", "false", conf.SourceCode)
	c.Set("stoke.dynamicAllocation.enabled", "true", conf.SourceCode)
	if _, err := mesos.New(m, c, nil); err == nil || !strings.Contains(err.Error(), "needs coarse-grained mode (stoke.mesos.coarse=true)") {
		t.Fatalf("fine-grained with dynamic allocation: New = %v", err)
	}
	c.Set("stoke.mesos.coarse", "true", conf.SourceCode)
	if _, err := mesos.New(m, c, nil); err != nil {
		t.Fatalf("coarse-grained with dynamic allocation: %v", err)
	}
}
