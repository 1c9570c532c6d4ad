// Package historytest runs small real applications that write event logs
// (finished, failed, interrupted by a signal, still running) and checks what
// a history server shows of them. The history server's tests on local disk
// and on HDFS share it.
//
// The test binary doubles as the driver program of the interrupted and
// running applications: its TestMain must call RunIfAsked first.
package historytest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/testutil"
)

const (
	appEnv = "STOKE_HISTORY_TEST_APP"  // "interrupt" or "running"
	dirEnv = "STOKE_HISTORY_TEST_DIR"  // event log directory
	cfgEnv = "STOKE_HISTORY_TEST_CONF" // extra key=value;key=value
)

// RunIfAsked runs the requested test application and exits when this
// process was started as one by StartChild; otherwise it returns at once.
func RunIfAsked() {
	if mode := os.Getenv(appEnv); mode != "" {
		os.Exit(runTestApp(mode))
	}
}

var (
	identity = stoke.RegisterMap("historytest.identity", func(n int) int { return n })
	failing  = stoke.RegisterMap("historytest.fail", func(n int) int {
		if n == 3 {
			panic("element 3 is cursed")
		}
		return n
	})
	// slow announces its first element on stdout, then takes 100 ms per
	// element: a job that runs until it is interrupted.
	slow = stoke.RegisterMap("historytest.slow", func(n int) int {
		if n == 0 {
			fmt.Println("TASKS-RUNNING")
		}
		time.Sleep(100 * time.Millisecond)
		return n
	})
)

func appConfig(dir, name string, extra ...string) stoke.Config {
	cfg := stoke.Config{
		"stoke.master":                 "local[2]",
		"stoke.app.name":               name,
		"stoke.ui.enabled":             "false",
		"stoke.ui.showConsoleProgress": "false",
		"stoke.log.level":              "warn",
		"stoke.eventLog.enabled":       "true",
		"stoke.eventLog.dir":           dir,
		"stoke.task.maxFailures":       "1",
	}
	for _, kv := range extra {
		if k, v, ok := strings.Cut(kv, "="); ok {
			cfg[k] = v
		}
	}
	return cfg
}

func count(sc *stoke.Context, f stoke.MapFunc[int, int], n int) (int64, error) {
	data := make([]int, n)
	for i := range data {
		data[i] = i
	}
	d, err := stoke.Parallelize(sc, data, 2)
	if err != nil {
		return 0, err
	}
	return stoke.Count(context.Background(), stoke.Map(d, f))
}

// RunApp runs a small application in this process, logging into dir: a job
// that succeeds, then (fail) one that fails. extra are key=value settings.
// It returns the application id.
func RunApp(t testing.TB, dir, name string, fail bool, extra ...string) string {
	t.Helper()
	sc, err := stoke.New(appConfig(dir, name, append([]string{"stoke.driver.handleSignals=false"}, extra...)...))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	if n, err := count(sc, identity, 10); err != nil || n != 10 {
		t.Fatalf("%s: count = %d, %v", name, n, err)
	}
	if fail {
		if _, err := count(sc, failing, 10); err == nil {
			t.Fatalf("%s: the failing job succeeded", name)
		}
	}
	id := sc.AppID()
	if err := sc.Stop(); err != nil {
		t.Fatal(err)
	}
	return id
}

// runTestApp is the child program.
func runTestApp(mode string) int {
	var extra []string
	if s := os.Getenv(cfgEnv); s != "" {
		extra = strings.Split(s, ";")
	}
	sc, err := stoke.New(appConfig(os.Getenv(dirEnv), mode+"-app", extra...))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	fmt.Println("APP-ID", sc.AppID())
	if _, err := count(sc, identity, 10); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	switch mode {
	case "interrupt":
		// Runs until SIGINT or SIGTERM ends the application.
		_, err := count(sc, slow, 100_000)
		fmt.Fprintln(os.Stderr, "the interrupted job returned:", err)
		return 5 // not reached: the handler exits with 130 or 143
	case "running":
		// One more job per line on stdin; killed by the test.
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if _, err := count(sc, identity, 10); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 4
			}
			fmt.Println("JOB-DONE")
		}
		select {}
	}
	return 2
}

// Child is a test application running in a child process.
type Child struct {
	Cmd   *exec.Cmd
	Stdin io.WriteCloser // a line runs one more job ("running")
	ID    string         // its application id
	lines chan string
}

// StartChild starts the test binary as the driver of a test application:
// mode "interrupt" runs a job until it gets a signal, "running" runs one
// job, then one more per line on Stdin. It is killed at the end of the test.
func StartChild(t testing.TB, mode, dir string, extra ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), appEnv+"="+mode, dirEnv+"="+dir, cfgEnv+"="+strings.Join(extra, ";"))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Child{Cmd: cmd, Stdin: stdin, lines: make(chan string, 100)}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	line := c.WaitFor(t, "APP-ID ")
	c.ID = strings.TrimPrefix(line, "APP-ID ")
	return c
}

// WaitFor returns the child's next stdout line starting with prefix.
func (c *Child) WaitFor(t testing.TB, prefix string) string {
	t.Helper()
	timeout := time.After(testutil.D(60 * time.Second))
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("the child exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("the child printed no %q", prefix)
		}
	}
}

// InterruptedApp runs an application whose job is running when it gets sig
// and checks it ends as the driver's signal handler promises: exit code 130
// or 143, one log, not in progress. It returns the application id.
func InterruptedApp(t testing.TB, dir string, sig syscall.Signal, extra ...string) string {
	t.Helper()
	c := StartChild(t, "interrupt", dir, extra...)
	c.WaitFor(t, "TASKS-RUNNING")
	if err := c.Cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := c.Cmd.Wait()
	want := map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143}[sig]
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != want {
		t.Fatalf("after %v the driver exited with %v, want exit code %d", sig, err, want)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, c.ID+".jsonl*"))
	if len(matches) != 1 || strings.HasSuffix(matches[0], ".inprogress") {
		t.Fatalf("after %v the logs of %s are %v, want one finished log", sig, c.ID, matches)
	}
	return c.ID
}

// WaitForJobs waits until the plain log at path holds n job ends (the
// writer flushes every second).
func WaitForJobs(t testing.TB, path string, n int) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%d JobEnd in %s", n, path), func() bool {
		b, _ := os.ReadFile(path)
		return strings.Count(string(b), `"Event":"JobEnd"`) >= n
	})
}

// Apps are the four applications of FourApps.
type Apps struct {
	Finished    string // one successful job
	Failed      string // a successful job then a failed one; compressed log
	Interrupted string // Ctrl-C (SIGINT) while a job ran
	Running     *Child // one job done, still running (plain log)
}

// FourApps fills dir with the logs of a finished, a failed, a Ctrl-C'd and
// a still-running application.
func FourApps(t testing.TB, dir string) Apps {
	t.Helper()
	var a Apps
	a.Finished = RunApp(t, dir, "finished-app", false)
	a.Failed = RunApp(t, dir, "failed-app", true, "stoke.eventLog.compress=true")
	a.Interrupted = InterruptedApp(t, dir, syscall.SIGINT)
	a.Running = StartChild(t, "running", dir)
	WaitForJobs(t, filepath.Join(dir, a.Running.ID+".jsonl.inprogress"), 1)
	return a
}
