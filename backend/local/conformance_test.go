package local_test

import (
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/backend/local"
)

func TestMain(m *testing.M) {
	stoke.RunIfExecutor()
	os.Exit(m.Run())
}

// local[4]: one in-process executor, no retries.
func TestConformanceLocal(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{
		Config:           stoke.Config{"stoke.master": "local[4]"},
		Executors:        1,
		CoresPerExecutor: 4,
		NewBackend:       func(*testing.T) backend.Backend { return local.NewInProcess(4) },
	})
}

// Two in-process executors of six slots: the seed's example, and executor
// loss without processes.
func TestConformanceInProcessExecutors(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{
		Config:           stoke.Config{"stoke.master": "local[12,4]"},
		Executors:        2,
		CoresPerExecutor: 6,
		NewBackend:       func(*testing.T) backend.Backend { return local.NewInProcessExecutors(2, 6) },
		KillExecutor: func(t *testing.T, sc *stoke.Context, id string) {
			if err := sc.Backend().(*backendtest.Gate).Backend.(*local.InProcess).LoseExecutor(id, "lost by the test"); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// Executor processes (this test binary re-executed), as local-cluster runs
// them until the standalone cluster provides its own.
func TestConformanceProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	cfg := stoke.Config{"stoke.master": "local-cluster[2,2,1024]", "stoke.task.maxFailures": "3"}
	backendtest.Run(t, backendtest.Harness{
		Config:           cfg,
		Executors:        2,
		CoresPerExecutor: 2,
		NewBackend: func(t *testing.T) backend.Backend {
			c := confOf(cfg)
			return local.NewProcesses(2, 2, c, nil)
		},
		KillExecutor: func(t *testing.T, sc *stoke.Context, id string) {
			procs := sc.Backend().(*backendtest.Gate).Backend.(*local.Processes)
			pid, ok := procs.ExecutorPIDs()[id]
			if !ok {
				t.Fatalf("no process for executor %s", id)
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill -9 %d: %v", pid, err)
			}
			t.Logf("killed executor %s (pid %s)", id, strconv.Itoa(pid))
		},
	})
}
