package history_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/history"
	"github.com/stoke-run/stoke/internal/testutil"
)

type apiApp struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	State     string `json:"state"`
	EndReason string `json:"endReason"`
	LogError  string `json:"logError"`
	Jobs      int    `json:"numJobs"`
	UI        string `json:"uiPath"`
	Attempts  []struct {
		User      string `json:"sparkUser"`
		Completed bool   `json:"completed"`
		Duration  int64  `json:"duration"`
		EndTime   string `json:"endTime"`
	} `json:"attempts"`
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func listApps(t *testing.T, base string) map[string]apiApp {
	t.Helper()
	code, body := get(t, base+"/api/v1/applications")
	if code != 200 {
		t.Fatalf("/api/v1/applications: %d %s", code, body)
	}
	var apps []apiApp
	if err := json.Unmarshal([]byte(body), &apps); err != nil {
		t.Fatalf("/api/v1/applications: %v\n%s", err, body)
	}
	out := map[string]apiApp{}
	for _, a := range apps {
		out[a.ID] = a
	}
	return out
}

// fourApps fills dir with the logs of a finished, a failed (compressed log),
// a Ctrl-C'd and a still-running application; the running one's child is
// returned so that it can run more jobs.
func fourApps(t *testing.T, dir string) (finished, failed, interrupted string, running *child) {
	finished = runApp(t, dir, "finished-app", false)
	failed = runApp(t, dir, "failed-app", true, "stoke.eventLog.compress=true")
	interrupted = interruptedApp(t, dir, syscall.SIGINT)
	running = startChild(t, "running", dir)
	waitForJobs(t, filepath.Join(dir, running.id+".jsonl.inprogress"), 1)
	return
}

// waitForJobs waits until the (plain) log at path holds n job ends: the
// writer flushes every second.
func waitForJobs(t *testing.T, path string, n int) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%d JobEnd in %s", n, path), func() bool {
		b, _ := os.ReadFile(path)
		return strings.Count(string(b), `"Event":"JobEnd"`) >= n
	})
}

// checkListing checks the list page, the JSON list and every application's
// jobs page of a history server over the four applications.
func checkListing(t *testing.T, base, finished, failed, interrupted, running string) {
	t.Helper()
	apps := listApps(t, base)
	want := map[string]struct{ name, state, reason string }{
		finished:    {"finished-app", history.StateFinished, ""},
		failed:      {"failed-app", history.StateFailed, ""},
		interrupted: {"interrupt-app", history.StateFailed, "interrupted by SIGINT"},
		running:     {"running-app", history.StateIncomplete, ""},
	}
	if len(apps) != len(want) {
		t.Errorf("listed %d applications, want %d: %+v", len(apps), len(want), apps)
	}
	for id, w := range want {
		a, ok := apps[id]
		if !ok {
			t.Errorf("%s (%s) not listed", id, w.name)
			continue
		}
		if a.Name != w.name || a.State != w.state || a.EndReason != w.reason || a.LogError != "" {
			t.Errorf("%s: name %q state %q reason %q logError %q; want %q %q %q", id, a.Name, a.State, a.EndReason, a.LogError, w.name, w.state, w.reason)
		}
		if len(a.Attempts) != 1 || a.Attempts[0].Completed != (w.state != history.StateIncomplete) || a.Attempts[0].User == "" {
			t.Errorf("%s: attempts %+v", id, a.Attempts)
		}
		if a.Jobs < 1 {
			t.Errorf("%s: %d jobs listed", id, a.Jobs)
		}
		code, page := get(t, base+a.UI)
		if code != 200 || !strings.Contains(page, `href="/history/`+id+`/jobs/job/?id=0"`) {
			t.Errorf("%s: jobs page at %s: %d, no link to job 0 under the app's prefix\n%s", id, a.UI, code, page)
		}
		if strings.Contains(page, `href="/jobs/`) {
			t.Errorf("%s: the jobs page links out of the application (href=\"/jobs/...)", id)
		}
		if code, body := get(t, base+"/api/v1/applications/"+id+"/jobs"); code != 200 || !strings.Contains(body, `"jobId": 0`) {
			t.Errorf("%s: /api/v1/applications/%s/jobs: %d %s", id, id, code, body)
		}
	}
	code, page := get(t, base+"/")
	if code != 200 {
		t.Fatalf("list page: %d", code)
	}
	complete, incomplete, ok := strings.Cut(page, `id="incomplete"`)
	if !ok {
		t.Fatalf("list page has no incomplete section:\n%s", page)
	}
	for _, id := range []string{finished, failed, interrupted} {
		if !strings.Contains(complete, `href="/history/`+id+`/jobs/"`) {
			t.Errorf("list page: %s not among the complete applications", id)
		}
	}
	if !strings.Contains(incomplete, `href="/history/`+running+`/jobs/"`) {
		t.Errorf("list page: %s not among the incomplete applications", running)
	}
	for _, s := range []string{"finished", "failed: interrupted by SIGINT", "incomplete"} {
		if !strings.Contains(page, s) {
			t.Errorf("list page does not show %q", s)
		}
	}
}

func TestHistoryServerListsFinishedFailedInterruptedAndRunning(t *testing.T) {
	dir := t.TempDir()
	finished, failed, interrupted, running := fourApps(t, dir)
	srv, err := history.New(history.Options{LogDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	checkListing(t, ts.URL, finished, failed, interrupted, running.id)

	// The running application runs another job: the next rescan shows it
	// on its (cached) jobs page.
	jobPage := ts.URL + "/history/" + running.id + "/jobs/"
	if _, page := get(t, jobPage); strings.Contains(page, "?id=1\"") {
		t.Fatal("job 1 shown before it ran")
	}
	fmt.Fprintln(running.stdin)
	running.waitFor(t, "JOB-DONE")
	waitForJobs(t, filepath.Join(dir, running.id+".jsonl.inprogress"), 2)
	if _, page := get(t, jobPage); strings.Contains(page, "?id=1\"") {
		t.Fatal("job 1 shown before the rescan")
	}
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	if code, page := get(t, jobPage); code != 200 || !strings.Contains(page, `href="/history/`+running.id+`/jobs/job/?id=1"`) {
		t.Errorf("after the rescan the running app's jobs page does not show job 1:\n%s", page)
	}
	if a := listApps(t, ts.URL)[running.id]; a.Jobs != 2 || a.State != history.StateIncomplete {
		t.Errorf("after the rescan the running app is listed with %d jobs, state %s", a.Jobs, a.State)
	}

	// Killed without a chance to end: still incomplete, no log error.
	running.cmd.Process.Kill()
	running.cmd.Wait()
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	if a := listApps(t, ts.URL)[running.id]; a.State != history.StateIncomplete || a.LogError != "" {
		t.Errorf("killed app: state %s, log error %q", a.State, a.LogError)
	}
}

// SIGTERM ends the application as SIGINT does, with exit code 143.
func TestSIGTERMEndsTheApplicationCleanly(t *testing.T) {
	dir := t.TempDir()
	id := interruptedApp(t, dir, syscall.SIGTERM, "stoke.eventLog.compress=true")
	srv, err := history.New(history.Options{LogDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	apps := srv.Apps()
	if len(apps) != 1 || apps[0].ID != id || apps[0].State != history.StateFailed || apps[0].EndReason != "interrupted by SIGTERM" || !apps[0].Compressed {
		t.Fatalf("apps %+v", apps)
	}
	if apps[0].FailedJobs != 1 {
		t.Errorf("the interrupted job is not listed as failed: %d failed jobs", apps[0].FailedJobs)
	}
}

// With stoke.driver.handleSignals=false the program keeps the default
// behaviour: SIGINT kills it and the log stays in progress.
func TestHandleSignalsOptOut(t *testing.T) {
	dir := t.TempDir()
	c := startChild(t, "interrupt", dir, "stoke.driver.handleSignals=false")
	c.waitFor(t, "TASKS-RUNNING")
	c.cmd.Process.Signal(syscall.SIGINT)
	err := c.cmd.Wait()
	if st, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !st.Signaled() || st.Signal() != syscall.SIGINT {
		t.Fatalf("with handleSignals=false the driver ended with %v, want killed by SIGINT", err)
	}
	if _, err := os.Stat(filepath.Join(dir, c.id+".jsonl.inprogress")); err != nil {
		t.Fatalf("the killed driver's log: %v", err)
	}
}
