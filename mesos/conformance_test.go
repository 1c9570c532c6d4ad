package mesos_test

import (
	"os"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

func TestMain(m *testing.M) {
	stoke.RunIfExecutor()
	if len(os.Args) > 1 && os.Args[1] == testAppArg {
		os.Exit(testApp(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// testCluster is two masters (the scheduler is pointed at the standby)
// and two agents of 2 cpus.
func testCluster(t *testing.T) *mesostest.Cluster {
	return noWarnings(t, mesostest.Start(t, mesostest.Options{
		Masters:           2,
		HeartbeatInterval: time.Second,
		Agents:            []mesostest.AgentSpec{{CPUs: 2, MemMB: 2048}, {CPUs: 2, MemMB: 2048}},
	}))
}

// noWarnings fails the test if the master logged a warning about what the
// framework launched (Mesos warns, for example, about an executor below
// 32 MB): what a real master would complain about is a defect here.
func noWarnings(t testing.TB, c *mesostest.Cluster) *mesostest.Cluster {
	t.Cleanup(func() {
		if w := c.Warnings(); len(w) > 0 {
			t.Errorf("the Mesos master warned about the framework's tasks: %q", w)
		}
	})
	return c
}

// coarseConfig points the scheduler at a standby master when there is one.
func coarseConfig(c *mesostest.Cluster) stoke.Config {
	m := c.Standby()
	if m == nil {
		m = c.Leader()
	}
	return stoke.Config{
		"stoke.master":                     m.MesosURL(),
		"stoke.executor.cores":             "2",
		"stoke.executor.memory":            "256m",
		"stoke.cores.max":                  "4",
		"stoke.task.maxFailures":           "3",
		"stoke.mesos.declineOfferDuration": "1s",
	}
}

func newBackend(t *testing.T, cfg stoke.Config) *mesos.Backend { return newBackendTB(t, cfg) }

func newBackendTB(t testing.TB, cfg stoke.Config) *mesos.Backend {
	t.Helper()
	c := conf.New()
	for k, v := range cfg {
		c.Set(k, v, conf.SourceCode)
	}
	m, err := conf.ParseMaster(cfg["stoke.master"])
	if err != nil {
		t.Fatal(err)
	}
	b, err := mesos.New(m, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformanceCoarse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	c := testCluster(t)
	cfg := coarseConfig(c)
	backendtest.Run(t, backendtest.Harness{
		Config:            cfg,
		Executors:         2,
		CoresPerExecutor:  2,
		DynamicAllocation: true,
		NewBackend:        func(t *testing.T) backend.Backend { return newBackend(t, cfg) },
		KillExecutor: func(t *testing.T, sc *stoke.Context, id string) {
			fw := sc.Backend().(*backendtest.Gate).Backend.(*mesos.Backend).FrameworkID()
			if err := c.KillTask(fw, id); err != nil {
				t.Fatal(err)
			}
			t.Logf("killed executor %s of framework %s", id, fw)
		},
	})
}

// fineCluster is two masters and two agents of 3 cpus: the per-agent
// executor's overhead (1 cpu) and two task slots each.
func fineCluster(t testing.TB) *mesostest.Cluster {
	return noWarnings(t, mesostest.Start(t, mesostest.Options{
		Masters:           2,
		HeartbeatInterval: time.Second,
		Agents:            []mesostest.AgentSpec{{CPUs: 3, MemMB: 2048}, {CPUs: 3, MemMB: 2048}},
	}))
}

// fineConfig is fine-grained mode pointed at the standby master.
func fineConfig(c *mesostest.Cluster) stoke.Config {
	cfg := coarseConfig(c)
	delete(cfg, "stoke.cores.max")
	cfg["stoke.mesos.coarse"] = "false"
	cfg["stoke.executor.instances"] = "2"
	cfg["stoke.mesos.mesosExecutor.cores"] = "1"
	return cfg
}

func TestConformanceFine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	c := fineCluster(t)
	cfg := fineConfig(c)
	backendtest.Run(t, backendtest.Harness{
		Config:           cfg,
		Executors:        2,
		CoresPerExecutor: 2,
		NewBackend: func(t *testing.T) backend.Backend {
			// Each case starts on idle agents: a fine-grained task waits for
			// CPUs, and the previous case's executors may still be exiting.
			mesostest.Eventually(t, 30*time.Second, "agents free of earlier frameworks", func() bool {
				for _, a := range c.Agents() {
					if c.Free(a.ID()).CPUs < 3 {
						return false
					}
				}
				return true
			})
			return newBackend(t, cfg)
		},
		KillExecutor: func(t *testing.T, sc *stoke.Context, id string) {
			fw := sc.Backend().(*backendtest.Gate).Backend.(*mesos.Backend).FrameworkID()
			if err := c.KillExecutor(fw, "stoke-"+id); err != nil {
				t.Fatal(err)
			}
			t.Logf("killed fine-grained executor %s of framework %s", id, fw)
		},
	})
}
