package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

// TestMesosDispatcherSupervise runs `stoke mesos-dispatcher` as a process
// against a mesostest cluster and submits an application in cluster deploy
// mode with --supervise through `stoke submit`: its first run fails, the
// dispatcher launches it again, and the second run counts words on the
// cluster (its executors a framework of its own) and finishes. --status
// follows it; --kill and --status of an unknown driver are refused.
func TestMesosDispatcherSupervise(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dispatcher, driver and executor processes")
	}
	needBinaries(t)
	isolate(t)
	dir := t.TempDir()
	app := filepath.Join(dir, "flakyapp")
	if err := goBuild(app, "./testdata/flakyapp"); err != nil {
		t.Fatal(err)
	}
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 2, MemMB: 4096}, {CPUs: 2, MemMB: 4096}}})

	disp := exec.Command(stokeBin, "mesos-dispatcher", "--master", c.Leader().MesosURL(), "--host", "127.0.0.1",
		"--port", "0", "--work-dir", filepath.Join(dir, "dispatcher"), "--retry-backoff", "200ms")
	stdout, err := disp.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var dispErr bytes.Buffer
	disp.Stderr = &dispErr
	if err := disp.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { disp.Wait(); close(exited) }()
	t.Cleanup(func() {
		disp.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(testutil.D(10 * time.Second)):
			disp.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("dispatcher stderr:\n%s", dispErr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	var addr string
	select {
	case l := <-lines:
		m := regexp.MustCompile(`^stoke mesos-dispatcher at (mesos://\S+) \(framework \S+ on `).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("dispatcher announced %q", l)
		}
		addr = m[1]
	case <-exited:
		t.Fatalf("the dispatcher exited: %s", dispErr.String())
	case <-time.After(testutil.D(60 * time.Second)):
		t.Fatal("the dispatcher did not start")
	}

	input := filepath.Join(dir, "input.txt")
	writeFile(t, input, "b a c\na b\nb\n", 0o644)
	output := filepath.Join(dir, "counts.txt")
	marker := filepath.Join(dir, "ran-once")
	var out, errb bytes.Buffer
	code := Execute([]string{"submit", "--master", addr, "--deploy-mode", "cluster", "--supervise",
		"--conf", "stoke.executor.cores=1", "--conf", "stoke.cores.max=2", "--conf", "stoke.executor.memory=128m",
		"--conf", "stoke.driver.memory=256m", app, marker, input, output}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("submit: exit %d, stderr %s", code, errb.String())
	}
	m := regexp.MustCompile(`submitted driver (driver-\S+) \(state QUEUED\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("submit printed %q", out.String())
	}
	id := m[1]

	status := func(id string) (string, int) {
		var out, errb bytes.Buffer
		code := Execute([]string{"submit", "--master", addr, "--status", id}, nil, &out, &errb)
		return out.String() + errb.String(), code
	}
	var last string
	mesostest.Eventually(t, 2*time.Minute, "the supervised driver finished", func() bool {
		var code int
		last, code = status(id)
		if code != 0 {
			t.Fatalf("--status: exit %d: %s", code, last)
		}
		return strings.Contains(last, ": FINISHED") || strings.Contains(last, ": FAILED")
	})
	if !strings.Contains(last, "driver "+id+": FINISHED, restarts 1") {
		t.Fatalf("--status: %q, want FINISHED after one restart", last)
	}
	got, err := os.ReadFile(output)
	if err != nil {
		t.Fatalf("the relaunched driver wrote no counts: %v", err)
	}
	if string(got) != "a 2\nb 3\nc 1\n" {
		t.Fatalf("counts %q", got)
	}

	for _, argv := range [][]string{
		{"submit", "--master", addr, "--status", "driver-unknown"},
		{"submit", "--master", addr, "--kill", "driver-unknown"},
	} {
		var out, errb bytes.Buffer
		code := Execute(argv, nil, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), "no driver driver-unknown") {
			t.Errorf("%q: exit %d, stderr %q", argv, code, errb.String())
		}
	}
}
