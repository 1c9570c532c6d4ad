package standalone

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/shufflesvc"
	"github.com/stoke-run/stoke/internal/testutil"
)

// An AppFinished command removes only the named application's shuffle
// directory; an id that is not an application's removes nothing, whatever
// path it spells.
func TestAppFinishedRemovesOnlyThatApplicationsShuffleFiles(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "work")
	const a, b = "app-20261204070000-0001", "app-20261204070000-0002"
	for _, dir := range []string{
		filepath.Join(work, a, shufflesvc.DirName),
		filepath.Join(work, a, "0"), // the executor's logs stay
		filepath.Join(work, b, shufflesvc.DirName),
		filepath.Join(root, "outside", shufflesvc.DirName),
	} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	w := &Worker{opts: WorkerOptions{WorkDir: work}, log: log, executors: map[string]*runningExecutor{}}
	w.shuffle = shufflesvc.NewServer(work, ValidAppID)
	w.shuffle.AddApp(a, "secret-a")
	for _, bad := range []string{"../outside", "..", "", "app-20261204070000-0001/..", "/tmp"} {
		w.appFinished(bad)
	}
	w.appFinished(a)
	testutil.Eventually(t, testutil.D(10*time.Second), "a's shuffle directory removed", func() bool {
		_, err := os.Stat(filepath.Join(work, a, shufflesvc.DirName))
		return os.IsNotExist(err)
	})
	for _, keep := range []string{filepath.Join(work, a, "0", "f"), filepath.Join(work, b, shufflesvc.DirName, "f"), filepath.Join(root, "outside", shufflesvc.DirName, "f")} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("%s: %v", keep, err)
		}
	}
	if len(w.shuffle.Apps()) != 0 {
		t.Errorf("still serving %v", w.shuffle.Apps())
	}
}
