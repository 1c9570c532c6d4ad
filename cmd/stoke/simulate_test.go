package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const seedSpec = `{"executors":[{"count":2,"cores":6}],"jobs":[
  {"stages":[{"tasks":15,"duration":{"dist":"fixed","value":"1s"}}]},
  {"stages":[{"tasks":6,"duration":{"dist":"fixed","value":"1s"}}]}]}`

func simulateCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(append([]string{"simulate"}, args...), nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSimulateCommand(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "seed.json")
	os.WriteFile(spec, []byte(seedSpec), 0o644)
	fair := filepath.Join(dir, "fair.conf")
	os.WriteFile(fair, []byte("stoke.scheduler.mode FAIR\n"), 0o644)

	code, out, errs := simulateCmd(t, spec, "--config", fair, "--conf", "executors=4")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	for _, want := range []string{"as specified", "fair.conf", "executors=4", "job 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = simulateCmd(t, spec, "--conf", "stoke.scheduler.mode=FAIR", "--format", "json")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	var rep struct {
		Results []struct {
			Config string
			Jobs   []struct{ Duration float64 }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	// FIFO: the small job waits (2s); FAIR: it runs at once (1s).
	if len(rep.Results) != 2 || rep.Results[0].Jobs[1].Duration != 2 || rep.Results[1].Jobs[1].Duration != 1 {
		t.Errorf("results %+v", rep.Results)
	}

	html := filepath.Join(dir, "r.html")
	if code, _, errs = simulateCmd(t, spec, "--format", "html", "-o", html); code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(html); !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("html report has no plot")
	}
}

func TestSimulateRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "seed.json")
	os.WriteFile(spec, []byte(seedSpec), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"executors":[{"cores":0}],"jobs":[]}`), 0o644)
	badConf := filepath.Join(dir, "bad.conf")
	os.WriteFile(badConf, []byte("stoke.speculation\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{spec, "--format", "pdf"}, 2, "--format must be text, json or html"},
		{[]string{spec, "--conf", "novalue"}, 2, `--conf "novalue": want key=value`},
		{[]string{spec, "--conf", "stoke.speculaton=true"}, 1, "did you mean stoke.speculation?"},
		{[]string{spec, "--config", filepath.Join(dir, "none.conf")}, 1, "none.conf"},
		{[]string{spec, "--config", badConf}, 1, "bad.conf:1"},
		{[]string{bad}, 1, "executors[0].cores: must be at least 1"},
		{[]string{filepath.Join(dir, "missing.jsonl")}, 1, "missing.jsonl"},
		{[]string{}, 1, "accepts 1 arg"},
	} {
		code, _, errs := simulateCmd(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("simulate %q: code %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

func TestSimulateChainJobs(t *testing.T) {
	code, out, errs := simulateCmd(t, "../../internal/simulate/testdata/shared-app.jsonl", "--chain-jobs", "30ms", "--conf", "executors=4")
	if code != 0 || !strings.Contains(errs, "jobs wait for the job that ended at most 30ms before") || !strings.Contains(out, "executors=4") {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	if code, _, errs := simulateCmd(t, "../../internal/simulate/testdata/shared-app.jsonl", "--chain-jobs", "soon"); code != 2 || !strings.Contains(errs, "chain-jobs") {
		t.Fatalf("--chain-jobs soon: code %d, stderr %q", code, errs)
	}
}
