package history_test

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

// The test binary doubles as a driver program: with testAppEnv set it runs
// one of the applications below instead of the tests.
const (
	testAppEnv = "STOKE_HISTORY_TEST_APP"  // "interrupt" or "running"
	testDirEnv = "STOKE_HISTORY_TEST_DIR"  // event log directory
	testCfgEnv = "STOKE_HISTORY_TEST_CONF" // extra key=value;key=value
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(testAppEnv); mode != "" {
		os.Exit(runTestApp(mode))
	}
	stoke.RunIfExecutor()
	os.Exit(m.Run())
}

var (
	identity = stoke.RegisterMap("history.test.identity", func(n int) int { return n })
	failing  = stoke.RegisterMap("history.test.fail", func(n int) int {
		if n == 3 {
			panic("element 3 is cursed")
		}
		return n
	})
	// slow announces its first element on stdout, then takes 100 ms per
	// element: a job that runs until it is interrupted.
	slow = stoke.RegisterMap("history.test.slow", func(n int) int {
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

// runApp runs a small application in this process: a job that succeeds,
// then (fail) one that fails. It returns the application id.
func runApp(t *testing.T, dir, name string, fail bool, extra ...string) string {
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
	if s := os.Getenv(testCfgEnv); s != "" {
		extra = strings.Split(s, ";")
	}
	sc, err := stoke.New(appConfig(os.Getenv(testDirEnv), mode+"-app", extra...))
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

// child is a running test application.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	id    string
}

func startChild(t *testing.T, mode, dir string, extra ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), testAppEnv+"="+mode, testDirEnv+"="+dir, testCfgEnv+"="+strings.Join(extra, ";"))
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
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 100)}
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
	line := c.waitFor(t, "APP-ID ")
	c.id = strings.TrimPrefix(line, "APP-ID ")
	return c
}

// waitFor returns the child's next stdout line starting with prefix.
func (c *child) waitFor(t *testing.T, prefix string) string {
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

// interruptedApp runs an application whose job is running when it gets sig
// and checks it ends as the signal handler promises: exit code, log
// renamed, end event with the reason. It returns the application id.
func interruptedApp(t *testing.T, dir string, sig syscall.Signal, extra ...string) string {
	t.Helper()
	c := startChild(t, "interrupt", dir, extra...)
	c.waitFor(t, "TASKS-RUNNING")
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := c.cmd.Wait()
	want := map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143}[sig]
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != want {
		t.Fatalf("after %v the driver exited with %v, want exit code %d", sig, err, want)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, c.id+".jsonl*"))
	if len(matches) != 1 || strings.HasSuffix(matches[0], ".inprogress") {
		t.Fatalf("after %v the logs of %s are %v, want one finished log", sig, c.id, matches)
	}
	return c.id
}
