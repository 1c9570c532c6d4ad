package standalone

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An executor runs application code as the worker's user: it can replace
// its stderr with a link to any file that user may read. The worker's UI
// serves the real log and refuses the link.
func TestAttackWorkerLogSymlinkRefused(t *testing.T) {
	work := t.TempDir()
	app := newAppID(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), 1)
	dir := filepath.Join(work, app, "0")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "stdout"), []byte("the real log\n"), 0o600)
	private := filepath.Join(t.TempDir(), "private")
	os.WriteFile(private, []byte("worker-only content\n"), 0o600)
	if err := os.Symlink(private, filepath.Join(dir, "stderr")); err != nil {
		t.Fatal(err)
	}
	w := &Worker{opts: WorkerOptions{WorkDir: work}}
	get := func(file string) (int, string) {
		rec := httptest.NewRecorder()
		w.handleLog(rec, httptest.NewRequest(http.MethodGet, "/log?app="+app+"&executor=0&file="+file, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("stdout"); code != http.StatusOK || body != "the real log\n" {
		t.Fatalf("the executor's own log: %d %q", code, body)
	}
	code, body := get("stderr")
	if code == http.StatusOK || strings.Contains(body, "worker-only") || !strings.Contains(body, "symbolic link") {
		t.Fatalf("a log linked elsewhere: %d %q", code, body)
	}
}

// Application binaries in a worker's cache are readable by the worker's
// user only.
func TestBinaryCacheIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	if _, err := newBinaryCache(dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("binary cache %s: %v, %v", dir, fi.Mode(), err)
	}
}
