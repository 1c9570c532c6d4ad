package history_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"pgregory.net/rapid"

	"github.com/stoke-run/stoke/internal/history"
	"github.com/stoke-run/stoke/internal/history/historytest"
	"github.com/stoke-run/stoke/internal/testutil"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// logLines is a small finished log of application id.
func logLines(id string, jobs int, end bool) string {
	s := `{"Event":"ApplicationStart","appId":"` + id + `","appName":"n-` + id + `","user":"ann","master":"local[2]","time":"2026-12-01T10:00:00Z"}` + "\n"
	for j := 0; j < jobs; j++ {
		s += `{"Event":"JobStart","jobId":` + string(rune('0'+j)) + `,"description":"count","pool":"default","stageIds":[],"time":"2026-12-01T10:00:01Z"}` + "\n"
		s += `{"Event":"JobEnd","jobId":` + string(rune('0'+j)) + `,"succeeded":true,"time":"2026-12-01T10:00:02Z"}` + "\n"
	}
	if end {
		s += `{"Event":"ApplicationEnd","time":"2026-12-01T10:00:03Z"}` + "\n"
	}
	return s
}

func writeLog(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newServer(t *testing.T, o history.Options) (*history.Server, string) {
	t.Helper()
	srv, err := history.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

// Application ids in URLs never reach the file system: traversal, encoded
// slashes, odd characters and very long ids are refused; a log outside the
// directory is never served.
func TestAppIDsInURLsAreValidated(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	os.Mkdir(dir, 0o755)
	writeLog(t, dir, "app-1.jsonl", logLines("app-1", 1, true))
	writeLog(t, root, "secret.jsonl", logLines("secret", 1, true))
	_, base := newServer(t, history.Options{LogDir: dir})

	if code, _ := get(t, base+"/history/app-1/jobs/"); code != 200 {
		t.Fatalf("a valid app: %d", code)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{
		"/history/..%2Fsecret/jobs/",
		"/history/..%2f..%2fsecret/jobs/",
		"/history/%2E%2E/jobs/",
		"/history/../secret/jobs/",
		"/history/..%5Csecret/jobs/",
		"/history/secret/jobs/",
		"/history/app-1%00/jobs/",
		"/history/" + strings.Repeat("a", 5000) + "/jobs/",
		"/history/app 1/jobs/",
		"/api/v1/applications/..%2Fsecret/jobs",
		"/api/v1/applications/secret",
		"/api/v1/applications/" + strings.Repeat("x", 300),
		"/api/v1/applications/%2E%2E",
	} {
		req, _ := http.NewRequest("GET", base+p, nil)
		req.URL.Opaque = "" // send the path as written
		req.URL.RawPath = p
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		body := make([]byte, 4096)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 200:
			t.Errorf("%s answered 200: %s", p, body[:n])
		case resp.StatusCode >= 300 && resp.StatusCode < 400 && strings.Contains(resp.Header.Get("Location"), "secret") &&
			!strings.HasPrefix(resp.Header.Get("Location"), "/history/secret/") && !strings.HasPrefix(resp.Header.Get("Location"), "/secret/"):
			t.Errorf("%s redirected to %s", p, resp.Header.Get("Location"))
		case resp.StatusCode >= 500:
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
		if strings.Contains(string(body[:n]), "n-secret") {
			t.Errorf("%s served the log outside the directory", p)
		}
	}
	for _, bad := range []string{"/history/" + strings.Repeat("a", 201) + "/jobs/", "/history/a%2Fb/jobs/", "/api/v1/applications/a%2Fb/jobs"} {
		req, _ := http.NewRequest("GET", base+bad, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400 (invalid id)", bad, resp.StatusCode)
		}
	}
}

// The cleaner deletes the logs not written for longer than maxAge (clock
// injected), keeps the others, and the list forgets the deleted ones.
func TestCleanerDeletesOldLogs(t *testing.T) {
	dir := t.TempDir()
	now := t0.Add(30 * 24 * time.Hour)
	old := writeLog(t, dir, "old.jsonl", logLines("old", 1, true))
	oldRunning := writeLog(t, dir, "stale.jsonl.inprogress", logLines("stale", 1, false))
	young := writeLog(t, dir, "young.jsonl", logLines("young", 1, true))
	os.Chtimes(old, now.Add(-8*24*time.Hour), now.Add(-8*24*time.Hour))
	os.Chtimes(oldRunning, now.Add(-9*24*time.Hour), now.Add(-9*24*time.Hour))
	os.Chtimes(young, now.Add(-6*24*time.Hour), now.Add(-6*24*time.Hour))
	srv, _ := newServer(t, history.Options{LogDir: dir, CleanerEnabled: true, CleanerMaxAge: 7 * 24 * time.Hour, Now: func() time.Time { return now }})
	if n := len(srv.Apps()); n != 3 {
		t.Fatalf("%d apps before cleaning", n)
	}
	removed, err := srv.Clean()
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Errorf("removed %v, want old and stale", removed)
	}
	for _, p := range []string{old, oldRunning} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s not deleted: %v", p, err)
		}
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("the young log was deleted: %v", err)
	}
	if apps := srv.Apps(); len(apps) != 1 || apps[0].ID != "young" {
		t.Errorf("listed after cleaning: %+v", apps)
	}
}

// Run rescans and cleans on its own schedule.
func TestRunRescansAndCleans(t *testing.T) {
	dir := t.TempDir()
	old := writeLog(t, dir, "old.jsonl", logLines("old", 1, true))
	os.Chtimes(old, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	srv, _ := newServer(t, history.Options{LogDir: dir, UpdateInterval: 10 * time.Millisecond,
		CleanerEnabled: true, CleanerMaxAge: time.Minute, CleanerInterval: 10 * time.Millisecond})
	srv.Run()
	writeLog(t, dir, "new.jsonl.inprogress", logLines("new", 1, false))
	testutil.Eventually(t, 10*time.Second, "the new log listed and the old one deleted", func() bool {
		apps := srv.Apps()
		_, err := os.Stat(old)
		return len(apps) == 1 && apps[0].ID == "new" && os.IsNotExist(err)
	})
}

// At most RetainedApps UIs stay in memory; a dropped one is rebuilt.
func TestAppUIsCachedLRU(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"a", "b", "c"} {
		writeLog(t, dir, id+".jsonl", logLines(id, 1, true))
	}
	srv, base := newServer(t, history.Options{LogDir: dir, RetainedApps: 2})
	for _, id := range []string{"a", "b", "c", "a"} {
		if code, body := get(t, base+"/history/"+id+"/jobs/"); code != 200 || !strings.Contains(body, "n-"+id) && !strings.Contains(body, "?id=0") {
			t.Fatalf("%s: %d %s", id, code, body)
		}
		if n := srv.Cached(); n > 2 {
			t.Fatalf("%d UIs cached, limit 2", n)
		}
	}
	if n := srv.Cached(); n != 2 {
		t.Errorf("%d UIs cached, want 2", n)
	}
}

// Damaged logs are listed with what they hold and a clear error: a bad
// line in the middle, a cut compressed stream, an empty file.
func TestDamagedLogsListed(t *testing.T) {
	dir := t.TempDir()
	text := logLines("cut", 3, true)
	var zbuf strings.Builder
	enc, _ := zstd.NewWriter(&zbuf)
	enc.Write([]byte(text))
	enc.Close()
	z := zbuf.String()
	writeLog(t, dir, "cut.jsonl.zst", z[:len(z)-8])
	writeLog(t, dir, "bad.jsonl", logLines("bad", 1, false)+"not json\n"+`{"Event":"ApplicationEnd","time":"2026-12-01T10:00:03Z"}`+"\n")
	writeLog(t, dir, "empty.jsonl", "")
	writeLog(t, dir, "notalog.txt", "hello")
	_, base := newServer(t, history.Options{LogDir: dir})
	apps := listApps(t, base)
	if len(apps) != 3 {
		t.Fatalf("listed %d apps, want cut, bad and empty: %+v", len(apps), apps)
	}
	if a := apps["cut"]; a.State != history.StateIncomplete || !strings.Contains(a.LogError, "truncated or corrupt") {
		t.Errorf("cut compressed log: %+v", a)
	}
	if a := apps["bad"]; a.State != history.StateIncomplete || !strings.Contains(a.LogError, "line 4") || a.Name != "n-bad" {
		t.Errorf("log with a bad line: %+v", a)
	}
	if a := apps["empty"]; a.State != history.StateIncomplete {
		t.Errorf("empty log: %+v", a)
	}
	if code, _ := get(t, base+"/history/cut/jobs/"); code != 200 {
		t.Errorf("the cut log's UI: %d", code)
	}
}

func TestNewRefusesBadDirectories(t *testing.T) {
	file := writeLog(t, t.TempDir(), "a.jsonl", "")
	for dir, want := range map[string]string{
		"":                      "must name a directory",
		"/no/such/dir":          "no such file",
		file:                    "is a file, not a directory",
		"s3://bucket/logs":      `unsupported scheme "s3"`,
		"ftp://host/stoke-logs": `unsupported scheme "ftp"`,
	} {
		_, err := history.New(history.Options{LogDir: dir})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), history.KeyLogDirectory) {
			t.Errorf("LogDir %q: %v, want an error naming %s and saying %q", dir, err, history.KeyLogDirectory, want)
		}
	}
}

// Rolling logs (directories of parts) are listed and served: one written
// by an application with stoke.eventLog.rolling.enabled, one still in
// progress with many parts and a stray file among them.
func TestRollingLogsServed(t *testing.T) {
	dir := t.TempDir()
	id := historytest.RunApp(t, dir, "rolling-app", true, "stoke.eventLog.rolling.enabled=true", "stoke.eventLog.rolling.maxFileSize=1m", "stoke.eventLog.compress=true")
	if _, err := os.Stat(filepath.Join(dir, id+".rolling", "events-00001.jsonl.zst")); err != nil {
		t.Fatalf("the application's rolling log: %v", err)
	}
	parts := filepath.Join(dir, "many.rolling.inprogress")
	os.Mkdir(parts, 0o755)
	lines := strings.SplitAfter(logLines("many", 5, false), "\n")
	for i, l := range lines[:len(lines)-1] {
		writeLog(t, parts, fmt.Sprintf("events-%05d.jsonl", i+1), l)
	}
	writeLog(t, parts, "README", "not a part\n")
	writeLog(t, parts, "events-1.jsonl", "not json\n")
	os.Mkdir(filepath.Join(dir, "other.dir"), 0o755)

	srv, base := newServer(t, history.Options{LogDir: dir})
	apps := listApps(t, base)
	if len(apps) != 2 {
		t.Fatalf("listed %+v, want the two rolling logs", apps)
	}
	if a := apps[id]; a.Name != "rolling-app" || a.State != history.StateFailed || a.Jobs != 2 || a.LogError != "" {
		t.Errorf("the application's rolling log: %+v", a)
	}
	if a := apps["many"]; a.State != history.StateIncomplete || a.Jobs != 5 || a.LogError != "" {
		t.Errorf("the in-progress rolling log: %+v", a)
	}
	for _, app := range []string{id, "many"} {
		if code, body := get(t, base+"/history/"+app+"/jobs/"); code != 200 || !strings.Contains(body, "?id=1\"") {
			t.Errorf("%s: jobs page %d\n%s", app, code, body)
		}
	}
	// A new part is a change: the next rescan re-reads the log.
	writeLog(t, parts, fmt.Sprintf("events-%05d.jsonl", len(lines)), `{"Event":"ApplicationEnd","time":"2026-12-01T10:00:09Z"}`+"\n")
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	if a := listApps(t, base)["many"]; a.State != history.StateFinished {
		t.Errorf("after its end part, the rolling log is %s", a.State)
	}
}

// Random ids in URLs: only the listed applications answer 200, nothing
// answers 5xx, and nothing outside the directory is served.
func TestRandomAppIDsInURLs(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	os.Mkdir(dir, 0o755)
	writeLog(t, dir, "app-1.jsonl", logLines("app-1", 1, true))
	writeLog(t, root, "secret.jsonl", logLines("secret", 1, true))
	_, base := newServer(t, history.Options{LogDir: dir})
	rapid.Check(t, func(rt *rapid.T) {
		id := rapid.OneOf(
			rapid.String(),
			rapid.StringMatching(`[./%a-z0-9\\-]{0,12}`),
			rapid.SampledFrom([]string{"..", ".", "app-1", "../logs/app-1", "%2e%2e", "secret", "..%2fsecret"}),
		).Draw(rt, "id")
		for _, p := range []string{"/history/" + id + "/jobs/", "/api/v1/applications/" + id + "/jobs"} {
			req, err := http.NewRequest("GET", base+p, nil)
			if err != nil {
				return // not a URL at all
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				rt.Fatalf("%q: %v", p, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				rt.Fatalf("%q: %d", p, resp.StatusCode)
			}
			if strings.Contains(string(body), "n-secret") {
				rt.Fatalf("%q served the log outside the directory", p)
			}
			if resp.StatusCode == 200 && req.URL.Path != "/history/app-1/jobs/" && req.URL.Path != "/api/v1/applications/app-1/jobs" {
				rt.Fatalf("%q (path %q) answered 200", p, req.URL.Path)
			}
		}
	})
}

// A running application's plain log is read on from where the last rescan
// stopped, even when that was mid-line.
func TestGrowingLogReadOn(t *testing.T) {
	dir := t.TempDir()
	full := logLines("grow", 3, true)
	cut := strings.Index(full, `"jobId":1,"succeeded"`) // inside job 1's end
	p := writeLog(t, dir, "grow.jsonl.inprogress", full[:cut])
	srv, base := newServer(t, history.Options{LogDir: dir})
	if a := listApps(t, base)["grow"]; a.Jobs != 1 || a.State != history.StateIncomplete || a.LogError != "" {
		t.Fatalf("before it grew: %+v", a)
	}
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(full[cut:])
	f.Close()
	os.Chtimes(p, time.Now().Add(time.Second), time.Now().Add(time.Second))
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	if a := listApps(t, base)["grow"]; a.Jobs != 3 || a.State != history.StateFinished || a.LogError != "" || a.Name != "n-grow" {
		t.Fatalf("after it grew: %+v", a)
	}
	// A bad line past the first read is reported with its line number in the whole log.
	f, _ = os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("garbage\n")
	f.Close()
	os.Chtimes(p, time.Now().Add(2*time.Second), time.Now().Add(2*time.Second))
	srv.Rescan()
	want := fmt.Sprintf("line %d", strings.Count(full, "\n")+1)
	if a := listApps(t, base)["grow"]; !strings.Contains(a.LogError, want) {
		t.Errorf("a bad appended line: log error %q, want it to name %s", a.LogError, want)
	}
}
