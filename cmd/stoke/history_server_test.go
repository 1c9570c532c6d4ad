package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/stoke-run/stoke/internal/history"
)

// Bad settings of the history server are refused with the key and the
// reason, before it serves anything.
func TestHistoryServerRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--conf", "stoke.history.fs.update.interval=0s", dir}, "stoke.history.fs.update.interval"},
		{[]string{"--conf", "stoke.history.fs.update.interval=-5s", dir}, "stoke.history.fs.update.interval"},
		{[]string{"--conf", "stoke.history.fs.cleaner.maxAge=soon", dir}, "stoke.history.fs.cleaner.maxAge"},
		{[]string{"--conf", "stoke.history.fs.cleaner.maxAge=0", dir}, "stoke.history.fs.cleaner.maxAge"},
		{[]string{"--conf", "stoke.history.fs.cleaner.interval=1.5d", dir}, "stoke.history.fs.cleaner.interval"},
		{[]string{"--conf", "stoke.history.fs.cleaner.enabled=perhaps", dir}, "stoke.history.fs.cleaner.enabled"},
		{[]string{"--conf", "stoke.history.ui.port=70000", dir}, "stoke.history.ui.port"},
		{[]string{"--conf", "stoke.history.ui.port=http", dir}, "stoke.history.ui.port"},
		{[]string{"--conf", "stoke.history.retainedApplications=0", dir}, "stoke.history.retainedApplications"},
		{[]string{"--conf", "stoke.history.fs.logDirectory=s3://bucket/logs"}, `unsupported scheme "s3"`},
		{[]string{"/no/such/directory"}, "no such file or directory"},
		{[]string{"--conf", "stoke.kerberos.principal=hist@EXAMPLE.COM", dir}, "stoke.kerberos.keytab go together"},
		{[]string{"--port", "-3", dir}, "port"},
	} {
		var out, errb bytes.Buffer
		code := Execute(append([]string{"history-server"}, c.args...), nil, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("history-server %v: code %d, stderr %q; want an error mentioning %q", c.args, code, errb.String(), c.want)
		}
	}
}

// The history server offers each application's "replay with other
// settings" page under the application's prefix, for plain and compressed
// logs, its form and links staying under that prefix.
func TestHistoryServerReplayPage(t *testing.T) {
	src, err := os.ReadFile("../../internal/simulate/testdata/shared-app.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const id = "app-20261204031419-0001"
	os.WriteFile(filepath.Join(dir, id+".jsonl"), src, 0o644)
	var z bytes.Buffer
	enc, _ := zstd.NewWriter(&z)
	enc.Write(bytes.ReplaceAll(src, []byte(id), []byte("app-z")))
	enc.Close()
	os.WriteFile(filepath.Join(dir, "app-z.jsonl.zst"), z.Bytes(), 0o644)

	srv, err := history.New(history.Options{LogDir: dir, Replay: historyReplay})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, app := range []string{id, "app-z"} {
		resp, err := http.Get(ts.URL + "/history/" + app + "/replay/?conf=stoke.scheduler.mode%3DFIFO")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		if resp.StatusCode != 200 || !strings.Contains(page, `action="./"`) || !strings.Contains(page, "with these settings") {
			t.Errorf("%s: replay page %d:\n%.2000s", app, resp.StatusCode, page)
		}
		if strings.Contains(page, `href="/jobs/`) || strings.Contains(page, `action="/replay/`) {
			t.Errorf("%s: the replay page links out of the application", app)
		}
		resp, err = http.Get(ts.URL + "/history/" + app + "/jobs/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `href="replay/"`) {
			t.Errorf("%s: the jobs page does not link to the replay page", app)
		}
	}
}

// stoke simulate replays a compressed log as it replays the plain one, and
// a cut compressed log up to the cut with a warning.
func TestSimulateCompressedLog(t *testing.T) {
	src, err := os.ReadFile("../../internal/simulate/testdata/shared-app.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var z bytes.Buffer
	enc, _ := zstd.NewWriter(&z, zstd.WithWindowSize(4096)) // small blocks: a cut keeps some
	enc.Write(src)
	enc.Close()
	full := filepath.Join(dir, "app.jsonl.zst")
	os.WriteFile(full, z.Bytes(), 0o644)
	cut := filepath.Join(dir, "cut.jsonl.zst")
	os.WriteFile(cut, z.Bytes()[:z.Len()*3/4], 0o644)
	_, plain, _ := simulateCmd(t, "../../internal/simulate/testdata/shared-app.jsonl")
	code, out, errs := simulateCmd(t, full)
	_, plainBody, _ := strings.Cut(plain, "\n")
	_, body, _ := strings.Cut(out, "\n") // the first line names the file
	if code != 0 || body != plainBody || plainBody == "" {
		t.Errorf("compressed log: code %d, stderr %s; report differs from the plain log's:\n%s\n---\n%s", code, errs, out, plain)
	}
	code, _, errs = simulateCmd(t, cut)
	if code != 0 || !strings.Contains(errs, "truncated or corrupt") {
		t.Errorf("cut compressed log: code %d, stderr %q; want a warning and the events before the cut replayed", code, errs)
	}
}
