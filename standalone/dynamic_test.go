package standalone_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

func waitExecCount(t *testing.T, sc *stoke.Context, n int) {
	t.Helper()
	deadline := time.Now().Add(testutil.D(30 * time.Second))
	for len(sc.Driver().Executors()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d executors; want %d", len(sc.Driver().Executors()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// KillExecutors releases executors (their end reaches the driver with the
// reason) and lowers the application's total; RequestTotalExecutors
// raises it again, and stoke.cores.max caps what the application gets.
func TestKillAndRequestExecutors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	m := inProcessMaster(t, "")
	inProcessWorker(t, m, 2, 2048, "")
	inProcessWorker(t, m, 2, 2048, "")
	sc, rec := runApp(t, "stoke://"+m.Addr(), 3, stoke.Config{"stoke.executor.cores": "1", "stoke.executor.memory": "512m", "stoke.cores.max": "3"})
	time.Sleep(200 * time.Millisecond)
	waitExecCount(t, sc, 3) // capped at 3 cores though 4 are free
	victim := sc.Driver().Executors()[0].ID
	if err := sc.Backend().KillExecutors([]string{victim}); err != nil {
		t.Fatal(err)
	}
	waitExecCount(t, sc, 2)
	var reason string
	for _, e := range rec.Events() {
		if r, ok := e.(events.ExecutorRemoved); ok && r.ExecutorID == victim {
			reason = r.Reason
		}
	}
	if !strings.Contains(reason, "killed at the driver's request") {
		t.Errorf("loss reason of the killed executor = %q", reason)
	}
	time.Sleep(300 * time.Millisecond)
	waitExecCount(t, sc, 2) // not replaced: the total went down
	if err := sc.Backend().RequestTotalExecutors(3); err != nil {
		t.Fatal(err)
	}
	waitExecCount(t, sc, 3)
	if s := m.State(); s.CoresUsed != 3 {
		t.Errorf("cores in use = %d; want 3", s.CoresUsed)
	}
}

// With dynamic allocation the application starts with the executors the
// driver asks for, not with every core the master could give it, and
// executors have stoke.executor.cores (default 1) cores.
func TestDynamicAllocationStartsWithTheInitialExecutors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	m := inProcessMaster(t, "")
	inProcessWorker(t, m, 2, 2048, "")
	inProcessWorker(t, m, 2, 2048, "")
	sc, _ := runApp(t, "stoke://"+m.Addr(), 1, stoke.Config{
		"stoke.executor.memory":                "512m",
		"stoke.dynamicAllocation.enabled":      "true",
		"stoke.dynamicAllocation.minExecutors": "1",
	})
	waitExecCount(t, sc, 1)
	s := m.State()
	if len(s.Apps) != 1 || s.Apps[0].ExecutorLimit != 1 || s.Apps[0].Cores != 1 || s.CoresUsed != 1 {
		t.Fatalf("master state %+v; want one application limited to one executor of one core", s.Apps)
	}
	if e := sc.Driver().Executors(); len(e) != 1 || e[0].Cores != 1 {
		t.Fatalf("executors %+v; want one of one core", e)
	}
}

// A master that restarts without recovery state takes the application
// back at no executor; its client asks again for the driver's latest total.
func TestDynamicAllocationTotalSurvivesAMasterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	m := inProcessMaster(t, "")
	inProcessWorker(t, m, 2, 2048, "")
	sc, _ := runApp(t, "stoke://"+m.Addr(), 1, stoke.Config{
		"stoke.executor.memory":                "512m",
		"stoke.dynamicAllocation.enabled":      "true",
		"stoke.dynamicAllocation.minExecutors": "1",
	})
	addr := m.Addr()
	_, port, _ := net.SplitHostPort(addr)
	m.Stop()
	p, _ := strconv.Atoi(port)
	m2, err := standalone.StartMaster(standalone.MasterOptions{Host: "127.0.0.1", Port: p, WebUIPort: 0,
		SpreadOut: true, WorkerTimeout: 5 * time.Second, WorkDir: t.TempDir(), Log: logrus.StandardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m2.Stop)
	deadline := time.Now().Add(testutil.D(30 * time.Second))
	for {
		s := m2.State()
		if len(s.Apps) == 1 && s.Apps[0].ID == sc.AppID() && s.Apps[0].ExecutorLimit == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted master never got the driver's total of 1 back: %+v", s.Apps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
