package standalone_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

var (
	wcOnce sync.Once
	wcBin  string
	wcErr  error
)

// wordcountBinary builds examples/wordcount once.
func wordcountBinary(t *testing.T) string {
	t.Helper()
	wcOnce.Do(func() {
		wcBin = filepath.Join(filepath.Dir(stokeBinary(t)), "wordcount")
		if out, err := exec.Command("go", "build", "-o", wcBin, "github.com/stoke-run/stoke/examples/wordcount").CombinedOutput(); err != nil {
			wcErr = err
			t.Logf("%s", out)
		}
	})
	if wcErr != nil {
		t.Fatal(wcErr)
	}
	return wcBin
}

func stokeCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(stokeBinary(t), args...).CombinedOutput()
	return string(out), err
}

var submittedRE = regexp.MustCompile(`submitted driver (driver-\S+)`)

func waitDriver(t *testing.T, master, id, secret string, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(testutil.D(90 * time.Second))
	for {
		out, err := stokeCmd(t, "submit", "--master", master, "--conf", "stoke.authenticate.secret="+secret, "--status", id)
		if err == nil && cond(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("driver %s: last status %q, %v", id, out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Cluster deploy mode: the binary is uploaded, the driver runs on a
// worker and finishes; --supervise restarts a failing driver until
// --kill; a wrong secret is refused.
func TestClusterDeployMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts daemons")
	}
	const secret = "cluster-secret"
	pc := startProcessCluster(t, 1, 3, 3072, "--conf", "stoke.authenticate.secret="+secret)
	master := "stoke://" + pc.addr
	wc := wordcountBinary(t)
	sample, err := filepath.Abs("../examples/wordcount/sample.txt")
	if err != nil {
		t.Fatal(err)
	}

	out, err := stokeCmd(t, "submit", "--master", master, "--deploy-mode", "cluster", "--conf", "stoke.authenticate.secret=wrong", wc, sample)
	if err == nil || !strings.Contains(out, "wrong or missing cluster secret") {
		t.Fatalf("submission with a wrong secret: %v\n%s", err, out)
	}

	out, err = stokeCmd(t, "submit", "--master", master, "--deploy-mode", "cluster", "--conf", "stoke.authenticate.secret="+secret,
		"--conf", "stoke.ui.enabled=false", wc, "-top", "3", sample)
	if err != nil {
		t.Fatalf("cluster submission: %v\n%s", err, out)
	}
	m := submittedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no submission id in %q", out)
	}
	st := waitDriver(t, master, m[1], secret, func(s string) bool { return strings.Contains(s, "FINISHED") || strings.Contains(s, "FAILED") })
	if !strings.Contains(st, "FINISHED") || !strings.Contains(st, "exit code 0") {
		t.Fatalf("driver status: %s", st)
	}
	s, err := masterState(pc.addr)
	if err != nil {
		t.Fatal(err)
	}
	logs := httpGet(t, s.Workers[0].WebUIURL+"/log?driver="+m[1]+"&file=stdout")
	if len(strings.TrimSpace(logs)) == 0 {
		t.Errorf("the driver printed nothing; stderr:\n%s", httpGet(t, s.Workers[0].WebUIURL+"/log?driver="+m[1]+"&file=stderr"))
	}
	if len(s.Completed) != 1 || s.Completed[0].State != standalone.StateFinished {
		t.Errorf("the driver's application on the master: %+v", s.Completed)
	}

	// A driver that fails, supervised: restarted until killed.
	out, err = stokeCmd(t, "submit", "--master", master, "--deploy-mode", "cluster", "--supervise", "--conf", "stoke.authenticate.secret="+secret,
		"--conf", "stoke.ui.enabled=false", wc, "/no/such/input")
	if err != nil {
		t.Fatalf("supervised submission: %v\n%s", err, out)
	}
	m = submittedRE.FindStringSubmatch(out)
	waitDriver(t, master, m[1], secret, func(s string) bool { return !strings.Contains(s, "restarts 0,") && !strings.Contains(s, "restarts 1,") })
	out, err = stokeCmd(t, "submit", "--master", master, "--conf", "stoke.authenticate.secret="+secret, "--kill", m[1])
	if err != nil || !strings.Contains(out, "KILLED") {
		t.Fatalf("--kill: %v\n%s", err, out)
	}
	waitState(t, pc.addr, 30*time.Second, "the killed driver to free its worker", func(s standalone.MasterState) bool { return s.CoresUsed == 0 })
}
