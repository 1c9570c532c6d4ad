package standalone_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

var (
	buildOnce sync.Once
	stokeBin  string
	buildErr  error
)

// stokeBinary builds ./cmd/stoke once per test run.
func stokeBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stoke-bin-")
		if err != nil {
			buildErr = err
			return
		}
		stokeBin = filepath.Join(dir, "stoke")
		out, err := exec.Command("go", "build", "-o", stokeBin, "github.com/stoke-run/stoke/cmd/stoke").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/stoke: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return stokeBin
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// daemon is a `stoke master` or `stoke worker` process started by a test.
type daemon struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startDaemon runs stoke with args (optionally inside a network namespace
// via prefix, e.g. ip netns exec NAME) and stops it at cleanup.
func startDaemon(t testing.TB, prefix []string, args ...string) *daemon {
	t.Helper()
	bin := stokeBinary(t)
	logPath := filepath.Join(t.TempDir(), args[0]+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append(append([]string{}, prefix...), bin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(d.done) }()
	t.Cleanup(func() {
		d.signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(testutil.D(10 * time.Second)):
			d.signal(syscall.SIGKILL)
			<-d.done
		}
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("log of stoke %v:\n%s", args, tail(data, 4000))
		}
	})
	return d
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// signal sends sig to the daemon's process group: with SIGKILL the
// daemon and its children die at once (kill -9).
func (d *daemon) signal(sig syscall.Signal) { _ = syscall.Kill(-d.cmd.Process.Pid, sig) }

// killOnly kills the daemon's own process (its children are left to
// notice).
func (d *daemon) killOnly() { _ = syscall.Kill(d.cmd.Process.Pid, syscall.SIGKILL) }

// masterState reads a master's /json.
func masterState(addr string) (standalone.MasterState, error) {
	var s standalone.MasterState
	res, err := http.Get("http://" + addr + "/json")
	if err != nil {
		return s, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /json: %s", res.Status)
	}
	return s, json.NewDecoder(res.Body).Decode(&s)
}

// waitState polls a master's /json until cond holds.
func waitState(t testing.TB, addr string, timeout time.Duration, what string, cond func(standalone.MasterState) bool) standalone.MasterState {
	t.Helper()
	deadline := time.Now().Add(testutil.D(timeout))
	for {
		s, err := masterState(addr)
		if err == nil && cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s on master %s: last state %+v, %v", what, addr, s, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func aliveWorkers(s standalone.MasterState) int {
	n := 0
	for _, w := range s.Workers {
		if w.State == standalone.StateAlive {
			n++
		}
	}
	return n
}

// processCluster is a master and workers as separate processes.
type processCluster struct {
	master   *daemon
	addr     string // host:port of the master API
	uiAddr   string
	workers  []*daemon
	confArgs []string
}

// startProcessCluster starts `stoke master` and n `stoke worker`s of
// cores and memMiB on loopback, with a short worker timeout.
func startProcessCluster(t testing.TB, n, cores, memMiB int, extra ...string) *processCluster {
	t.Helper()
	port, ui := freePort(t), freePort(t)
	pc := &processCluster{addr: "127.0.0.1:" + strconv.Itoa(port), uiAddr: "127.0.0.1:" + strconv.Itoa(ui),
		confArgs: append([]string{"--conf", "stoke.worker.timeout=5s"}, extra...)}
	pc.master = startDaemon(t, nil, append([]string{"master", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--webui-port", strconv.Itoa(ui)}, pc.confArgs...)...)
	waitState(t, pc.addr, 30*time.Second, "the master to lead", func(s standalone.MasterState) bool { return s.Status == "ALIVE" })
	for i := 0; i < n; i++ {
		pc.addWorker(t, "stoke://"+pc.addr, cores, memMiB, nil, "127.0.0.1")
	}
	waitState(t, pc.addr, 30*time.Second, fmt.Sprintf("%d workers", n), func(s standalone.MasterState) bool { return aliveWorkers(s) == n })
	return pc
}

func (pc *processCluster) addWorker(t testing.TB, masterURL string, cores, memMiB int, prefix []string, host string) *daemon {
	w := startDaemon(t, prefix, append([]string{"worker", masterURL, "--host", host, "--cores", strconv.Itoa(cores),
		"--memory", strconv.Itoa(memMiB), "--work-dir", t.TempDir(), "--webui-port", "0"}, pc.confArgs...)...)
	pc.workers = append(pc.workers, w)
	return w
}

// executorPID finds an executor's process through the master's /json.
func executorPID(t *testing.T, addr, appID, execID string) int {
	t.Helper()
	var last standalone.MasterState
	for i := 0; i < 100; i++ {
		s, err := masterState(addr)
		if err == nil {
			last = s
			for _, a := range s.Apps {
				for _, e := range a.Executors {
					if a.ID == appID && e.ID == execID && e.PID > 0 {
						return e.PID
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pid for executor %s of %s in %+v", execID, appID, last)
	return 0
}
