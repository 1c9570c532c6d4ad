package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/ui"
)

// The history server of a log offers "replay with other settings": a form,
// and the replay as recorded next to the settings submitted.
func TestHistoryReplayPage(t *testing.T) {
	const log = "../../internal/simulate/testdata/shared-app.jsonl"
	store, err := ui.ServeHistory(log)
	if err != nil {
		t.Fatal(err)
	}
	w := historyWorkload(log)
	if w == nil {
		t.Fatal("the log cannot be replayed")
	}
	srv := httptest.NewServer(ui.NewServer(store, ui.WithReplay(replayHandler(w))).Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if _, jobs := get("/jobs/"); !strings.Contains(jobs, `<a href="replay/">Replay with other settings</a>`) {
		t.Errorf("the jobs page does not link to the replay")
	}
	code, page := get("/replay/")
	if code != 200 || !strings.Contains(page, "stoke.simulate.pool.adhoc.weight=1") || strings.Count(page, "<svg xmlns") != 1 {
		t.Errorf("form page: %d, %.300s", code, page)
	}
	code, page = get("/replay/?conf=" + url.QueryEscape("stoke.simulate.pool.adhoc.weight=3\n# a comment\n"))
	if code != 200 || !strings.Contains(page, "with these settings") || strings.Count(page, "<svg xmlns") != 2 {
		t.Errorf("replay: %d, %.300s", code, page)
	}
	for _, c := range []struct{ conf, want string }{
		{"stoke.scheduler.allocation.file=/etc/passwd", "cannot be set from a page"},
		{"no equals sign", "is not key=value"},
		{"stoke.speculaton=true", "did you mean stoke.speculation?"},
		{"stoke.simulate.pool.adhoc.weight=0", "want an integer of at least 1"},
		{"<script>alert(1)</script>=1", "unknown configuration key &lt;script&gt;"},
		{strings.Repeat("a=1\n", 200), "at most 100"},
		{strings.Repeat("x", 9000), "at most 8192"},
	} {
		code, page := get("/replay/?conf=" + url.QueryEscape(c.conf))
		if code != 400 || !strings.Contains(page, c.want) || strings.Contains(page, "<script>") {
			t.Errorf("conf %.40q: %d, want 400 and %q in the page", c.conf, code, c.want)
		}
	}
}

// Without a replay handler (the live UI) there is no link and no page.
func TestNoReplayWithoutHandler(t *testing.T) {
	store, err := ui.ServeHistory("../../internal/simulate/testdata/shared-app.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ui.NewServer(store).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/jobs/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "/replay/") {
		t.Errorf("the live UI links to a replay")
	}
	if resp, _ := http.Get(srv.URL + "/replay/"); resp.StatusCode != 404 {
		t.Errorf("/replay/ answered %d", resp.StatusCode)
	}
}
