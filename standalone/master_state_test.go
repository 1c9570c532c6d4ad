package standalone

import (
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/clock"
)

// newTestMaster is a leading master with no sockets, driven by a fake clock.
func newTestMaster(c clock.Clock) *Master {
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	return &Master{opts: MasterOptions{SpreadOut: true, WorkerTimeout: time.Minute}, clock: c, log: log, persist: nonePersister{},
		leader: true, workers: map[string]*workerInfo{}, apps: map[string]*appInfo{}, drivers: map[string]*driverInfo{}}
}

func (m *Master) addTestApp(id string, cores, mem int) *appInfo {
	a := &appInfo{desc: AppDescription{ID: id, Name: id, CoresPerExecutor: cores, MemPerExecutor: mem, DriverAddress: "d:1"},
		state: StateWaiting, submitted: m.clock.Now(), lastSeen: m.clock.Now(), executors: map[string]*execInfo{}, limit: -1, wake: newBroadcast()}
	m.apps[id] = a
	return a
}

// The master's state machine without sockets: allocation queues launch
// commands and events; a silent worker is declared dead after
// stoke.worker.timeout and its executors are reported lost; a finished
// application frees its cores for the next one.
func TestMasterStateMachine(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := newTestMaster(clk)
	m.registerWorker(WorkerRegistration{ID: "w1", Host: "h1", Cores: 4, MemoryMiB: 4096})
	m.registerWorker(WorkerRegistration{ID: "w2", Host: "h2", Cores: 4, MemoryMiB: 4096})
	a := m.addTestApp("app-1", 2, 1024)
	b := m.addTestApp("app-2", 4, 1024)
	b.submitted = b.submitted.Add(time.Second)
	m.schedule()
	if len(a.executors) != 4 || a.state != StateRunning {
		t.Fatalf("app-1 executors = %d (state %s); want 4 spread over both workers", len(a.executors), a.state)
	}
	if len(b.executors) != 0 || b.warning == "" {
		t.Fatalf("app-2 should wait with a warning: %d executors, warning %q", len(b.executors), b.warning)
	}
	if n := len(m.workers["w1"].cmds); n != 2 || m.workers["w1"].cmds[0].LaunchExecutor == nil {
		t.Fatalf("w1 commands = %+v", m.workers["w1"].cmds)
	}

	// w2 keeps polling, w1 goes silent.
	clk.Advance(45 * time.Second)
	m.workers["w2"].lastSeen = clk.Now()
	a.lastSeen, b.lastSeen = clk.Now(), clk.Now()
	clk.Advance(30 * time.Second)
	m.checkTimeouts(clk.Now())
	if m.workers["w1"].state != StateDead || m.workers["w2"].state != StateAlive {
		t.Fatalf("worker states: w1 %s, w2 %s", m.workers["w1"].state, m.workers["w2"].state)
	}
	lost := 0
	for _, ev := range a.events {
		if ev.Kind == "exited" && strings.Contains(ev.Message, "worker w1 (h1) lost: no heartbeat for more than 1m0s") {
			lost++
		}
	}
	if lost != 2 || len(a.executors) != 2 {
		t.Fatalf("app-1 after losing w1: %d lost events, %d executors; events %+v", lost, len(a.executors), a.events)
	}

	// app-1 finishes: app-2 gets w2.
	m.removeApp(a, StateFinished)
	m.schedule()
	if len(b.executors) != 1 || m.workers["w2"].usedCores != 4 {
		t.Fatalf("app-2 after app-1 finished: %d executors, w2 uses %d cores", len(b.executors), m.workers["w2"].usedCores)
	}
	kills := 0
	for _, c := range m.workers["w2"].cmds {
		if c.KillExecutor != nil && c.KillExecutor.AppID == "app-1" {
			kills++
		}
	}
	if kills != 2 {
		t.Errorf("w2 was asked to kill %d executors of the finished app-1; want 2", kills)
	}
	// Commands are re-sent until acknowledged.
	w2 := m.workers["w2"]
	last := w2.cmds[len(w2.cmds)-1].Seq
	w2.ack(last - 1)
	if len(w2.cmds) != 1 || w2.cmds[0].Seq != last {
		t.Errorf("after ack %d: %+v", last-1, w2.cmds)
	}
}

// A worker that registers again reports what it runs: executors the
// master does not know of an unknown application are killed, executors it
// no longer runs are reported lost.
func TestWorkerReRegistrationReconciles(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := newTestMaster(clk)
	m.registerWorker(WorkerRegistration{ID: "w1", Host: "h1", Cores: 4, MemoryMiB: 4096})
	a := m.addTestApp("app-1", 1, 512)
	a.limit = 2
	m.schedule()
	if len(a.executors) != 2 {
		t.Fatalf("executors = %d", len(a.executors))
	}
	m.registerWorker(WorkerRegistration{ID: "w1", Host: "h1", Cores: 4, MemoryMiB: 4096, Executors: []ExecutorReport{
		{AppID: "app-1", ExecutorID: "0", Cores: 1, MemoryMiB: 512, State: StateRunning},
		{AppID: "ghost", ExecutorID: "7", Cores: 1, MemoryMiB: 512, State: StateRunning},
	}})
	w := m.workers["w1"]
	if _, ok := a.executors["1"]; ok {
		t.Error("executor 1, not reported by the worker, is still counted")
	}
	var killedGhost bool
	for _, c := range w.cmds {
		killedGhost = killedGhost || (c.KillExecutor != nil && c.KillExecutor.AppID == "ghost")
	}
	if !killedGhost {
		t.Errorf("the unknown application's executor was not killed: %+v", w.cmds)
	}
	// The lost executor is replaced (limit 2): executor 2 on w1.
	if _, ok := a.executors["2"]; !ok || w.usedCores != 2 {
		t.Errorf("executors %v, used cores %d", a.executors, w.usedCores)
	}
}

// Cluster-mode drivers: placed on a worker with room, re-attached when
// their worker registers again after a master restart, relaunched when
// their worker is lost and they are supervised.
func TestDriversReattachAndRelaunch(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := newTestMaster(clk)
	m.registerWorker(WorkerRegistration{ID: "w1", Host: "h1", Cores: 2, MemoryMiB: 2048})
	m.registerWorker(WorkerRegistration{ID: "w2", Host: "h2", Cores: 1, MemoryMiB: 1024})
	d := &driverInfo{id: "driver-1", sub: DriverSubmission{Cores: 1, MemoryMiB: 1024, Supervise: true}, state: StateSubmitted}
	m.drivers[d.id] = d
	m.schedule()
	if d.state != StateRunning || d.workerID != "w1" {
		t.Fatalf("driver %s on %q; want RUNNING on w1 (most free cores)", d.state, d.workerID)
	}
	// The same worker registers again (say, after a master failover) and
	// still runs it: nothing changes, nothing is counted twice.
	m.registerWorker(WorkerRegistration{ID: "w1", Host: "h1", Cores: 2, MemoryMiB: 2048,
		Drivers: []DriverReport{{DriverID: "driver-1", State: StateRunning, Restarts: 2}}})
	if w := m.workers["w1"]; w.usedCores != 1 || d.restarts != 2 || d.state != StateRunning {
		t.Fatalf("after re-registration: w1 uses %d cores, driver %s with %d restarts", w.usedCores, d.state, d.restarts)
	}
	// w1 dies: the supervised driver is relaunched on w2.
	clk.Advance(2 * time.Minute)
	m.workers["w2"].lastSeen = clk.Now()
	m.checkTimeouts(clk.Now())
	if d.state != StateRunning || d.workerID != "w2" || d.restarts != 3 {
		t.Fatalf("after losing w1: driver %s on %q, %d restarts; want RUNNING on w2", d.state, d.workerID, d.restarts)
	}
}
