package history_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"net/http/httptest"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/history"
	"github.com/stoke-run/stoke/internal/history/historytest"
)

func TestMain(m *testing.M) {
	historytest.RunIfAsked()
	stoke.RunIfExecutor()
	os.Exit(m.Run())
}

var (
	get      = historytest.Get
	listApps = historytest.ListApps
)

func TestHistoryServerListsFinishedFailedInterruptedAndRunning(t *testing.T) {
	dir := t.TempDir()
	apps := historytest.FourApps(t, dir)
	running := apps.Running
	srv, err := history.New(history.Options{LogDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	historytest.CheckListing(t, ts.URL, apps)

	// The running application runs another job: the next rescan shows it
	// on its (cached) jobs page.
	jobPage := ts.URL + "/history/" + running.ID + "/jobs/"
	if _, page := get(t, jobPage); strings.Contains(page, "?id=1\"") {
		t.Fatal("job 1 shown before it ran")
	}
	fmt.Fprintln(running.Stdin)
	running.WaitFor(t, "JOB-DONE")
	historytest.WaitForJobs(t, filepath.Join(dir, running.ID+".jsonl.inprogress"), 2)
	if _, page := get(t, jobPage); strings.Contains(page, "?id=1\"") {
		t.Fatal("job 1 shown before the rescan")
	}
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	if code, page := get(t, jobPage); code != 200 || !strings.Contains(page, `href="jobs/job/?id=1"`) {
		t.Errorf("after the rescan the running app's jobs page does not show job 1:\n%s", page)
	}
	if a := listApps(t, ts.URL)[running.ID]; a.Jobs != 2 || a.State != history.StateIncomplete {
		t.Errorf("after the rescan the running app is listed with %d jobs, state %s", a.Jobs, a.State)
	}

	// Killed without a chance to end: still incomplete, no log error.
	running.Cmd.Process.Kill()
	running.Cmd.Wait()
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	if a := listApps(t, ts.URL)[running.ID]; a.State != history.StateIncomplete || a.LogError != "" {
		t.Errorf("killed app: state %s, log error %q", a.State, a.LogError)
	}
}

// SIGTERM ends the application as SIGINT does, with exit code 143.
func TestSIGTERMEndsTheApplicationCleanly(t *testing.T) {
	dir := t.TempDir()
	id := historytest.InterruptedApp(t, dir, syscall.SIGTERM, "stoke.eventLog.compress=true")
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
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	if code, page := get(t, ts.URL+"/history/"+id+"/jobs/"); code != 200 || !strings.Contains(page, "(interrupted by SIGTERM)") || !strings.Contains(page, "Failed jobs") {
		t.Errorf("the interrupted application's jobs page (%d) does not say why it ended or shows no failed job:\n%s", code, page)
	}
	if code, body := get(t, ts.URL+"/api/v1/applications/"+id); code != 200 || !strings.Contains(body, `"endReason": "interrupted by SIGTERM"`) {
		t.Errorf("/api/v1/applications/%s: %d %s", id, code, body)
	}
}

// With stoke.driver.handleSignals=false the program keeps the default
// behaviour: SIGINT kills it and the log stays in progress.
func TestHandleSignalsOptOut(t *testing.T) {
	dir := t.TempDir()
	c := historytest.StartChild(t, "interrupt", dir, "stoke.driver.handleSignals=false")
	c.WaitFor(t, "TASKS-RUNNING")
	c.Cmd.Process.Signal(syscall.SIGINT)
	err := c.Cmd.Wait()
	if st, ok := c.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !st.Signaled() || st.Signal() != syscall.SIGINT {
		t.Fatalf("with handleSignals=false the driver ended with %v, want killed by SIGINT", err)
	}
	if _, err := os.Stat(filepath.Join(dir, c.ID+".jsonl.inprogress")); err != nil {
		t.Fatalf("the killed driver's log: %v", err)
	}
}

// Bad event log settings are refused by stoke.New with the key's name.
func TestBadEventLogSettingsRefused(t *testing.T) {
	for kv, key := range map[string]string{
		"stoke.eventLog.rolling.maxFileSize=10k":   "stoke.eventLog.rolling.maxFileSize",
		"stoke.eventLog.rolling.maxFileSize=big":   "stoke.eventLog.rolling.maxFileSize",
		"stoke.eventLog.rolling.enabled=sometimes": "stoke.eventLog.rolling.enabled",
		"stoke.eventLog.compress=zstd":             "stoke.eventLog.compress",
		"stoke.driver.handleSignals=yes please":    "stoke.driver.handleSignals",
	} {
		k, v, _ := strings.Cut(kv, "=")
		sc, err := stoke.New(stoke.Config{"stoke.master": "local[1]", "stoke.ui.enabled": "false", k: v})
		if err == nil {
			sc.Stop()
			t.Errorf("%s accepted", kv)
		} else if !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %q does not name %s", kv, err, key)
		}
	}
	// An event log directory on an unknown file system.
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[1]", "stoke.ui.enabled": "false", "stoke.driver.handleSignals": "false",
		"stoke.eventLog.enabled": "true", "stoke.eventLog.dir": "s3://bucket/logs"})
	if err == nil {
		sc.Stop()
		t.Error("an s3:// event log directory accepted")
	} else if !strings.Contains(err.Error(), `unsupported scheme "s3"`) {
		t.Errorf("s3:// event log directory: %v", err)
	}
}
