package standalone_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/standalone"
)

func TestMain(m *testing.M) {
	stoke.RunIfExecutor()
	runTestDriverIfAsked()
	// Daemons and drivers started here never read or create the user's
	// ~/.stoke/cluster.secret.
	confDir, err := os.MkdirTemp("", "stoke-conf-")
	if err != nil {
		panic(err)
	}
	os.Setenv("STOKE_CONF_DIR", confDir)
	code := m.Run()
	os.RemoveAll(confDir)
	if stokeBin != "" {
		os.RemoveAll(filepath.Dir(stokeBin)) // the binaries the tests built
	}
	os.Exit(code)
}

func confOf(cfg stoke.Config) *conf.Conf {
	c, _, err := conf.Resolve(cfg)
	if err != nil {
		panic(err)
	}
	return c
}

// local-cluster[2,2,1024]: an in-process master and two workers, executor
// processes (this test binary re-executed by the workers).
func TestConformanceLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	cfg := stoke.Config{"stoke.master": "local-cluster[2,2,1024]", "stoke.task.maxFailures": "3"}
	backendtest.Run(t, backendtest.Harness{
		Config:            cfg,
		Executors:         2,
		CoresPerExecutor:  2,
		DynamicAllocation: true,
		ShuffleService:    true,
		NewBackend: func(t *testing.T) backend.Backend {
			m, _ := conf.ParseMaster(cfg["stoke.master"])
			lc, err := standalone.NewLocalCluster(m, confOf(cfg), nil)
			if err != nil {
				t.Fatal(err)
			}
			return lc
		},
		KillExecutor: func(t *testing.T, sc *stoke.Context, id string) {
			lc := sc.Backend().(*backendtest.Gate).Backend.(*standalone.LocalCluster)
			pid, ok := lc.ExecutorPID(id)
			if !ok {
				t.Fatalf("no process for executor %s", id)
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill -9 %d: %v", pid, err)
			}
			t.Logf("killed executor %s (pid %d)", id, pid)
		},
	})
}
