package standalone_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/standalone"
)

func httpGet(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, res.Status, body)
	}
	return string(body)
}

// The master's UI and /json over real HTTP: workers, applications with
// their executors and resources, links to executor logs that work.
func TestMasterUIAndJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	m := inProcessMaster(t, "")
	w := inProcessWorker(t, m, 2, 1024, "")
	sc, _ := runApp(t, "stoke://"+m.Addr(), 1, stoke.Config{"stoke.app.name": "ui-test-app"})

	var s standalone.MasterState
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+m.UIAddr()+"/json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Status != "ALIVE" || len(s.Workers) != 1 || s.Workers[0].ID != w.ID() || s.Cores != 2 || s.CoresUsed != 2 || s.MemoryUsed != 1024 {
		t.Errorf("master state: %+v", s)
	}
	if len(s.Apps) != 1 || s.Apps[0].ID != sc.AppID() || s.Apps[0].Name != "ui-test-app" || len(s.Apps[0].Executors) != 1 {
		t.Fatalf("applications: %+v", s.Apps)
	}
	ex := s.Apps[0].Executors[0]
	if ex.LogURL == "" || ex.PID == 0 || ex.WorkerID != w.ID() {
		t.Errorf("executor: %+v", ex)
	}
	// The same document on the API port.
	if api := httpGet(t, "http://"+m.Addr()+"/json"); !strings.Contains(api, sc.AppID()) {
		t.Errorf("/json on the API port lacks the application: %s", api)
	}

	page := httpGet(t, "http://"+m.UIAddr()+"/")
	for _, want := range []string{w.ID(), sc.AppID(), "ui-test-app", "Cores in use:</b> 2 of 2", "ALIVE", "stderr", "Drivers"} {
		if !strings.Contains(page, want) {
			t.Errorf("master page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("the master page uses script; it must be tested in a browser then")
	}
	// The executor's log link serves its stderr.
	httpGet(t, ex.LogURL+"&file=stderr")
	// The worker's own page and /json.
	if wp := httpGet(t, "http://"+w.UIAddr()+"/"); !strings.Contains(wp, sc.AppID()) {
		t.Errorf("worker page lacks the application: %s", wp)
	}
	if wj := httpGet(t, "http://"+w.UIAddr()+"/json"); !strings.Contains(wj, `"state":"RUNNING"`) {
		t.Errorf("worker /json: %s", wj)
	}
	res, err := http.Get(ex.LogURL + "&file=../../etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("log request for another file: %s; want 400", res.Status)
	}
}
