package standalone_test

import (
	"syscall"
	"testing"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/standalone"
)

// The conformance suite on a cluster of separate `stoke master` and
// `stoke worker` processes; each subtest is a new application on it.
func TestConformanceProcessCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/stoke and starts daemons")
	}
	// The workers run the shuffle service (applications use it only when
	// they set stoke.shuffle.service.enabled).
	pc := startProcessCluster(t, 2, 2, 1024, "--conf", "stoke.shuffle.service.enabled=true", "--conf", "stoke.shuffle.service.port=0")
	cfg := stoke.Config{"stoke.master": "stoke://" + pc.addr, "stoke.task.maxFailures": "3"}
	backendtest.Run(t, backendtest.Harness{
		Config:            cfg,
		Executors:         2,
		CoresPerExecutor:  2,
		DynamicAllocation: true,
		ShuffleService:    true,
		NewBackend: func(t *testing.T) backend.Backend {
			m, err := conf.ParseMaster(cfg["stoke.master"])
			if err != nil {
				t.Fatal(err)
			}
			c, err := standalone.NewClient(m, confOf(cfg), nil)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		KillExecutor: func(t *testing.T, sc *stoke.Context, id string) {
			pid := executorPID(t, pc.addr, sc.AppID(), id)
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill -9 %d: %v", pid, err)
			}
			t.Logf("killed executor %s (pid %d)", id, pid)
		},
	})
}
