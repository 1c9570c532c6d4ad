package historytest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// App is an application in /api/v1/applications, as the tests read it.
type App struct {
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

// Get fetches url and returns the status and body.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ListApps reads base/api/v1/applications, by id.
func ListApps(t testing.TB, base string) map[string]App {
	t.Helper()
	code, body := Get(t, base+"/api/v1/applications")
	if code != 200 {
		t.Fatalf("/api/v1/applications: %d %s", code, body)
	}
	var apps []App
	if err := json.Unmarshal([]byte(body), &apps); err != nil {
		t.Fatalf("/api/v1/applications: %v\n%s", err, body)
	}
	out := map[string]App{}
	for _, a := range apps {
		out[a.ID] = a
	}
	return out
}

// CheckListing checks the list page, the JSON list and every application's
// jobs page and jobs API of a history server (at base) over FourApps' logs.
func CheckListing(t testing.TB, base string, apps Apps) {
	t.Helper()
	listed := ListApps(t, base)
	want := map[string]struct{ name, state, reason string }{
		apps.Finished:    {"finished-app", "finished", ""},
		apps.Failed:      {"failed-app", "failed", ""},
		apps.Interrupted: {"interrupt-app", "failed", "interrupted by SIGINT"},
		apps.Running.ID:  {"running-app", "incomplete", ""},
	}
	if len(listed) != len(want) {
		t.Errorf("listed %d applications, want %d: %+v", len(listed), len(want), listed)
	}
	for id, w := range want {
		a, ok := listed[id]
		if !ok {
			t.Errorf("%s (%s) not listed", id, w.name)
			continue
		}
		if a.Name != w.name || a.State != w.state || a.EndReason != w.reason || a.LogError != "" {
			t.Errorf("%s: name %q state %q reason %q logError %q; want %q %q %q", id, a.Name, a.State, a.EndReason, a.LogError, w.name, w.state, w.reason)
		}
		if len(a.Attempts) != 1 || a.Attempts[0].Completed != (w.state != "incomplete") || a.Attempts[0].User == "" {
			t.Errorf("%s: attempts %+v", id, a.Attempts)
		}
		if a.Jobs < 1 {
			t.Errorf("%s: %d jobs listed", id, a.Jobs)
		}
		code, page := Get(t, base+a.UI)
		if code != 200 || !strings.Contains(page, `<base href="../">`) || !strings.Contains(page, `href="jobs/job/?id=0"`) {
			t.Errorf("%s: jobs page at %s: %d, no link to job 0 under the app's prefix\n%s", id, a.UI, code, page)
		}
		if strings.Contains(page, `href="/jobs/`) {
			t.Errorf("%s: the jobs page links out of the application (href=\"/jobs/...)", id)
		}
		if code, body := Get(t, base+"/api/v1/applications/"+id+"/jobs"); code != 200 || !strings.Contains(body, `"jobId": 0`) {
			t.Errorf("%s: /api/v1/applications/%s/jobs: %d %s", id, id, code, body)
		}
	}
	code, page := Get(t, base+"/")
	if code != 200 {
		t.Fatalf("list page: %d", code)
	}
	complete, incomplete, ok := strings.Cut(page, `id="incomplete"`)
	if !ok {
		t.Fatalf("list page has no incomplete section:\n%s", page)
	}
	for _, id := range []string{apps.Finished, apps.Failed, apps.Interrupted} {
		if !strings.Contains(complete, `href="/history/`+id+`/jobs/"`) {
			t.Errorf("list page: %s not among the complete applications", id)
		}
	}
	if !strings.Contains(incomplete, `href="/history/`+apps.Running.ID+`/jobs/"`) {
		t.Errorf("list page: %s not among the incomplete applications", apps.Running.ID)
	}
	for _, s := range []string{"finished", "failed: interrupted by SIGINT", "incomplete"} {
		if !strings.Contains(page, s) {
			t.Errorf("list page does not show %q", s)
		}
	}
}
