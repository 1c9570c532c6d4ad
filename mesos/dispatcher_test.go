package mesos_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

// testAppArg makes the test binary a driver program: the dispatcher runs
// this binary as the driver of a cluster-mode application.
const testAppArg = "stoke-mesos-test-app"

// testApp: "flaky MARKER" fails (exit 3) the first time and then runs a
// job on the cluster; "fail" always fails; "sleep" runs until killed.
func testApp(args []string) int {
	switch args[0] {
	case "flaky":
		if _, err := os.Stat(args[1]); os.IsNotExist(err) {
			os.WriteFile(args[1], nil, 0o644)
			fmt.Fprintln(os.Stderr, "test app: failing on purpose the first time")
			return 3
		}
	case "fail":
		fmt.Fprintln(os.Stderr, "test app: failing on purpose")
		return 4
	case "holdsecrets":
		return holdSecrets(args[1:])
	case "sleep":
		time.Sleep(time.Hour)
		return 0
	case "shipped":
		return shippedApp()
	}
	sc, err := stoke.New(stoke.Config{"stoke.ui.enabled": "false"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "test app:", err)
		return 1
	}
	defer sc.Stop()
	ds, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 2)
	got, err := stoke.Collect(context.Background(), stoke.Map(ds, identity))
	if err != nil || len(got) != 4 {
		fmt.Fprintln(os.Stderr, "test app: job:", got, err)
		return 1
	}
	return 0
}

func startDispatcher(t *testing.T, c *mesostest.Cluster) *mesos.DispatcherClient {
	t.Helper()
	d, err := mesos.StartDispatcher(context.Background(), mesos.DispatcherOptions{
		Master: c.Leader().MesosURL(), Host: "127.0.0.1", WorkDir: t.TempDir(), Secret: "d1sp",
		RetryBackoff: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	return &mesos.DispatcherClient{Addr: d.Address(), Secret: "d1sp"}
}

func handOff() string {
	c := conf.New()
	for k, v := range map[string]string{"stoke.master": "mesos://dispatcher:7077", "stoke.executor.cores": "1", "stoke.cores.max": "1", "stoke.executor.memory": "128m"} {
		c.Set(k, v, conf.SourceSubmit)
	}
	return conf.EncodeSubmit(c.All())
}

func waitDriver(t *testing.T, cl *mesos.DispatcherClient, id string, want ...string) mesos.DriverStatus {
	t.Helper()
	var st mesos.DriverStatus
	testutil.Eventually(t, 60*time.Second, fmt.Sprintf("driver %s in %v", id, want), func() bool {
		var err error
		if st, err = cl.Status(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if st.State == w {
				return true
			}
		}
		return false
	})
	return st
}

// TestDispatcherSupervise: a supervised driver that fails is relaunched
// (with backoff) and its second run, a real job on the cluster, finishes; an
// unsupervised failing driver ends FAILED; a running driver can be killed.
func TestDispatcherSupervise(t *testing.T) {
	if testing.Short() {
		t.Skip("starts driver and executor processes")
	}
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 2, MemMB: 4096}, {CPUs: 2, MemMB: 4096}}})
	cl := startDispatcher(t, c)
	exe, _ := os.Executable()
	ctx := context.Background()

	marker := filepath.Join(t.TempDir(), "ran-once")
	st, err := cl.Submit(ctx, exe, mesos.DriverSubmission{Args: []string{testAppArg, "flaky", marker}, Conf: handOff(), CPUs: 0.5, MemMB: 256, Supervise: true})
	if err != nil {
		t.Fatal(err)
	}
	st = waitDriver(t, cl, st.ID, mesos.DriverFinished, mesos.DriverFailed)
	if st.State != mesos.DriverFinished || st.Restarts != 1 {
		t.Fatalf("supervised flaky driver: %+v, want FINISHED after 1 restart", st)
	}

	st, err = cl.Submit(ctx, exe, mesos.DriverSubmission{Args: []string{testAppArg, "fail"}, Conf: handOff(), CPUs: 0.5, MemMB: 256})
	if err != nil {
		t.Fatal(err)
	}
	st = waitDriver(t, cl, st.ID, mesos.DriverFinished, mesos.DriverFailed)
	if st.State != mesos.DriverFailed || st.Restarts != 0 || !strings.Contains(st.Message, "TASK_FAILED") {
		t.Fatalf("unsupervised failing driver: %+v", st)
	}

	st, err = cl.Submit(ctx, exe, mesos.DriverSubmission{Args: []string{testAppArg, "sleep"}, Conf: handOff(), CPUs: 0.5, MemMB: 256, Supervise: true})
	if err != nil {
		t.Fatal(err)
	}
	waitDriver(t, cl, st.ID, mesos.DriverRunning)
	if _, err := cl.Kill(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	st = waitDriver(t, cl, st.ID, mesos.DriverKilled)
	if st.Restarts != 0 {
		t.Fatalf("a killed supervised driver was relaunched: %+v", st)
	}
}

func TestDispatcherBadInput(t *testing.T) {
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 1, MemMB: 1024}}})
	cl := startDispatcher(t, c)
	exe, _ := os.Executable()
	ctx := context.Background()
	for _, tc := range []struct {
		sub  mesos.DriverSubmission
		want string
	}{
		{mesos.DriverSubmission{Conf: handOff(), CPUs: 0, MemMB: 256}, "cpus > 0"},
		{mesos.DriverSubmission{Conf: "{not json", CPUs: 1, MemMB: 256}, "STOKE_SUBMIT_CONF"},
	} {
		if _, err := cl.Submit(ctx, exe, tc.sub); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("submission %+v: %v, want %q", tc.sub, err, tc.want)
		}
	}
	bad := &mesos.DispatcherClient{Addr: cl.Addr, Secret: "wrong"}
	if _, err := bad.Status(ctx, "driver-x"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := cl.Status(ctx, "driver-x"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown driver: %v", err)
	}
	if _, err := mesos.StartDispatcher(ctx, mesos.DispatcherOptions{Master: "yarn", WorkDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "mesos://") {
		t.Errorf("non-Mesos master: %v", err)
	}
}
