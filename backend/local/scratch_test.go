package local_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/backend/local"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/spill"
	"github.com/stoke-run/stoke/internal/testutil"
)

// confOf is cfg as the Conf a backend reads.
func confOf(cfg stoke.Config) *conf.Conf {
	c := conf.New()
	for k, v := range cfg {
		c.Set(k, v, conf.SourceCode)
	}
	return c
}

// filesUnder counts the regular files below dir.
func filesUnder(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// cacheOnDisk runs a job that leaves disk-cached partitions on the
// executors, so that their scratch directories hold files.
func cacheOnDisk(t *testing.T, sc *stoke.Context) {
	t.Helper()
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3, 4, 5, 6, 7, 8}, 4)
	if err != nil {
		t.Fatal(err)
	}
	cached := stoke.Map(ds, tlsSquare).Persist(stoke.DiskOnly)
	if n, err := stoke.Count(context.Background(), cached); err != nil || n != 8 {
		t.Fatalf("count = %d, %v", n, err)
	}
}

// An executor's spill and cache files go to a scratch directory that the
// backend removes when the executor process ends, even by SIGKILL, and the
// backend's own temporary directory goes when the application stops.
func TestExecutorScratchGoesWithTheProcess(t *testing.T) {
	cfg := stoke.Config{"stoke.master": "local-cluster[1,2,512]", "stoke.ui.enabled": "false"}
	c := confOf(cfg)
	procs := local.NewProcesses(1, 2, c, nil)
	sc, err := stoke.New(cfg, stoke.WithBackend(procs))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	cacheOnDisk(t, sc)
	work := procs.WorkDir
	scratch := filepath.Join(work, "executor-0.scratch")
	if n := filesUnder(scratch); n == 0 {
		t.Fatalf("no cached partition under %s: the executor did not use the scratch directory", scratch)
	}
	pid := procs.ExecutorPIDs()["0"]
	if pid == 0 {
		t.Fatalf("no executor 0: %v", procs.ExecutorPIDs())
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the killed executor's scratch directory removed", func() bool {
		_, err := os.Stat(scratch)
		return os.IsNotExist(err)
	})
	if err := sc.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Fatalf("the backend's temporary directory %s survived Stop: %v", work, err)
	}
}

// An executor ended by SIGTERM removes its own spill and cache directories
// (here under stoke.local.dir, where nothing else would), then ends by that
// signal.
func TestExecutorRemovesItsDirectoriesOnSIGTERM(t *testing.T) {
	root := t.TempDir()
	cfg := stoke.Config{"stoke.master": "local-cluster[1,2,512]", "stoke.ui.enabled": "false", "stoke.local.dir": root}
	c := confOf(cfg)
	procs := local.NewProcesses(1, 2, c, nil)
	procs.WorkDir = t.TempDir()
	// No scratch from the backend: the executor falls back to stoke.local.dir.
	procs.ExtraEnv = []string{spill.EnvLocalDirs + "="}
	rec := backendtest.NewRecorder()
	sc, err := stoke.New(cfg, stoke.WithBackend(procs), stoke.WithListener(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	cacheOnDisk(t, sc)
	if n := filesUnder(root); n == 0 {
		t.Fatalf("no cached partition under stoke.local.dir %s", root)
	}
	pid := procs.ExecutorPIDs()["0"]
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the executor's directories under stoke.local.dir removed", func() bool {
		ents, _ := os.ReadDir(root)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "stoke-0-") {
				return false
			}
		}
		return true
	})
	log := filepath.Join(procs.WorkDir, "executor-0.log")
	testutil.Eventually(t, 30*time.Second, "the driver told how executor 0 ended", func() bool {
		for _, ev := range rec.Events() {
			if e, ok := ev.(events.ExecutorRemoved); ok && e.ExecutorID == "0" {
				if !strings.Contains(e.Reason, "killed by signal terminated") {
					data, _ := os.ReadFile(log)
					t.Fatalf("executor 0 removed with %q, want the SIGTERM it got; its log:\n%s", e.Reason, data)
				}
				return true
			}
		}
		return false
	})
}
