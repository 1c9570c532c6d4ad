package standalone

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/stoke-run/stoke/standalone/placement"
)

// States of workers, applications, executors and drivers.
const (
	StateAlive     = "ALIVE"
	StateDead      = "DEAD"
	StateUnknown   = "UNKNOWN" // recovered from storage, not re-attached yet
	StateWaiting   = "WAITING"
	StateRunning   = "RUNNING"
	StateFinished  = "FINISHED"
	StateKilled    = "KILLED"
	StateFailed    = "FAILED"
	StateExited    = "EXITED"
	StateSubmitted = "SUBMITTED"
	StateRelaunch  = "RELAUNCHING"
)

// broadcast is a channel closed (and replaced) whenever something is queued.
type broadcast struct{ ch chan struct{} }

func newBroadcast() broadcast { return broadcast{ch: make(chan struct{})} }

func (b *broadcast) fire() {
	close(b.ch)
	b.ch = make(chan struct{})
}

type workerInfo struct {
	reg       WorkerRegistration
	state     string
	lastSeen  time.Time
	usedCores int
	usedMem   int
	executors map[string]*execInfo // key appID/executorID
	drivers   map[string]*driverInfo
	cmds      []WorkerCommand
	seq       int64
	wake      broadcast
}

type execInfo struct {
	appID, id, workerID string
	cores, mem          int
	state               string
	pid                 int
	logPath             string
	launched            time.Time
}

// healthyRun is how long an executor must have lived for its failure not
// to count towards maxExecutorFailures in a row.
const healthyRun = 30 * time.Second

func (e *execInfo) key() string { return e.appID + "/" + e.id }

type appInfo struct {
	desc      AppDescription
	state     string
	submitted time.Time
	lastSeen  time.Time
	executors map[string]*execInfo
	nextExec  int
	limit     int // RequestTotalExecutors; -1 none
	events    []AppEvent
	seq       int64
	wake      broadcast
	warning   string
	failures  int // consecutive executor failures
	ended     time.Time
	// endReason says why the master ended the application itself (its
	// executors kept failing), for the driver that asks to re-attach.
	endReason string
	// secret is the application's own secret, only in memory: it goes to
	// the application's executors. secretHash is what is persisted and
	// checked when a driver re-attaches.
	secret, secretHash string
	// polls counts open long polls; idleSince is when the last one ended
	// (or the driver registered) while none is open: a driver polls again
	// at once, so a long idle means its process is gone.
	polls     int
	idleSince time.Time
	// tracked: the driver registered over the API (its polls are watched);
	// awaitPoll: an executor ended, so no relaunch until the driver polls
	// again and so shows it is alive.
	tracked, awaitPoll bool
}

// paused says whether an application waits for its driver to poll again
// before it gets executors: a dead driver's executors are not relaunched
// while the master makes sure it is gone.
func (a *appInfo) paused() bool { return a.tracked && (a.polls == 0 || a.awaitPoll) }

// driverGone says whether an application's driver has had no poll open
// for longer than grace.
func (a *appInfo) driverGone(now time.Time, grace time.Duration) bool {
	return a.tracked && a.polls == 0 && !a.idleSince.IsZero() && now.Sub(a.idleSince) > grace
}

func (a *appInfo) grantedCores() int {
	n := 0
	for _, e := range a.executors {
		n += e.cores
	}
	return n
}

type driverInfo struct {
	id        string
	sub       DriverSubmission
	state     string
	workerID  string
	exitCode  int
	reason    string
	restarts  int
	submitted time.Time
}

// maxExecutorFailures stops relaunching executors of an application whose
// executors keep failing one after another (a broken binary, say).
const maxExecutorFailures = 10

func (w *workerInfo) push(c WorkerCommand) {
	w.seq++
	c.Seq = w.seq
	w.cmds = append(w.cmds, c)
	w.wake.fire()
}

// ack drops commands the worker has carried out.
func (w *workerInfo) ack(seq int64) {
	i := 0
	for i < len(w.cmds) && w.cmds[i].Seq <= seq {
		i++
	}
	w.cmds = w.cmds[i:]
}

func (a *appInfo) push(e AppEvent) {
	a.seq++
	e.Seq = a.seq
	a.events = append(a.events, e)
	a.wake.fire()
}

func (a *appInfo) ack(seq int64) {
	i := 0
	for i < len(a.events) && a.events[i].Seq <= seq {
		i++
	}
	a.events = a.events[i:]
}

// appOrder is the applications in submission order.
func (m *Master) appOrder() []*appInfo {
	out := make([]*appInfo, 0, len(m.apps))
	for _, a := range m.apps {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].submitted.Equal(out[j].submitted) {
			return out[i].submitted.Before(out[j].submitted)
		}
		return out[i].desc.ID < out[j].desc.ID
	})
	return out
}

// schedule places waiting drivers, then executors, and queues the
// commands. Called with m.mu held.
func (m *Master) schedule() {
	if !m.leader || m.recovering {
		return
	}
	m.trimRetained()
	m.scheduleDrivers()
	var ws []placement.WorkerFree
	for _, w := range m.workers {
		if w.state != StateAlive {
			continue
		}
		ws = append(ws, placement.WorkerFree{ID: w.reg.ID, Cores: w.reg.Cores, MemoryMiB: w.reg.MemoryMiB,
			FreeCores: w.reg.Cores - w.usedCores, FreeMemMiB: w.reg.MemoryMiB - w.usedMem})
	}
	var demands []placement.AppDemand
	for _, a := range m.appOrder() {
		if (a.state != StateWaiting && a.state != StateRunning) || a.failures >= maxExecutorFailures || a.paused() {
			continue
		}
		on := map[string]int{}
		for _, e := range a.executors {
			on[e.workerID]++
		}
		demands = append(demands, placement.AppDemand{ID: a.desc.ID, CoresPerExecutor: a.desc.CoresPerExecutor,
			MemPerExecutor: a.desc.MemPerExecutor, MaxCores: a.desc.MaxCores, ExecutorLimit: a.limit,
			GrantedCores: a.grantedCores(), Executors: len(a.executors), OnWorker: on})
	}
	plan := placement.Allocate(ws, demands, m.opts.SpreadOut)
	for _, l := range plan.Launches {
		m.launchExecutor(l)
	}
	for _, wt := range plan.Waiting {
		a := m.apps[wt.AppID]
		if a.warning != wt.Reason {
			a.warning = wt.Reason
			m.log.WithField("app", a.desc.ID).Warn(wt.Reason)
			a.push(AppEvent{Kind: "warning", Message: wt.Reason})
		}
	}
}

func (m *Master) launchExecutor(l placement.Launch) {
	a, w := m.apps[l.AppID], m.workers[l.WorkerID]
	id := strconv.Itoa(a.nextExec)
	a.nextExec++
	e := &execInfo{appID: a.desc.ID, id: id, workerID: w.reg.ID, cores: l.Cores, mem: l.MemoryMiB, state: StateRunning, launched: m.clock.Now()}
	a.executors[id] = e
	a.state, a.warning = StateRunning, ""
	w.executors[e.key()] = e
	w.usedCores += l.Cores
	w.usedMem += l.MemoryMiB
	m.log.WithField("app", a.desc.ID).Infof("launching executor %s on worker %s (%s) with %d core(s), %d MiB", id, w.reg.ID, w.reg.Host, l.Cores, l.MemoryMiB)
	w.push(WorkerCommand{LaunchExecutor: &LaunchExecutor{
		ExecutorRef: ExecutorRef{AppID: a.desc.ID, ExecutorID: id}, Cores: l.Cores, MemoryMiB: l.MemoryMiB,
		DriverAddress: a.desc.DriverAddress, Binary: a.desc.Binary, Secret: a.secret, LogLevel: a.desc.LogLevel, Files: a.desc.Files,
	}})
	a.push(AppEvent{Kind: "added", ExecutorID: id, WorkerID: w.reg.ID, Host: w.reg.Host, Cores: l.Cores})
}

// executorGone frees an executor and tells its application why.
func (m *Master) executorGone(e *execInfo, reason string, failed bool) {
	if w := m.workers[e.workerID]; w != nil {
		if _, ok := w.executors[e.key()]; ok {
			delete(w.executors, e.key())
			w.usedCores -= e.cores
			w.usedMem -= e.mem
		}
	}
	a := m.apps[e.appID]
	if a == nil {
		return
	}
	if _, ok := a.executors[e.id]; !ok {
		return
	}
	delete(a.executors, e.id)
	a.awaitPoll = true
	if failed && m.clock.Now().Sub(e.launched) >= healthyRun {
		a.failures = 0 // it ran for a while: not a crash loop
	}
	if failed {
		a.failures++
		if a.failures == maxExecutorFailures {
			a.endReason = fmt.Sprintf("%d executors of the application failed in a row (last: %s)", maxExecutorFailures, reason)
			msg := a.endReason + "; the master starts no more"
			m.log.WithField("app", a.desc.ID).Error(msg)
			a.push(AppEvent{Kind: "warning", Message: msg})
		}
	}
	a.push(AppEvent{Kind: "exited", ExecutorID: e.id, WorkerID: e.workerID, Message: reason})
	// As Spark's master: an application whose executors keep failing and
	// that has none left will never run anything; it fails, and its driver
	// learns why (its jobs fail instead of waiting forever).
	if a.failures >= maxExecutorFailures && len(a.executors) == 0 {
		m.log.WithField("app", a.desc.ID).Errorf("removing application %s: %s and none is left", a.desc.ID, a.endReason)
		m.removeApp(a, StateFailed)
	}
}

// removeApp ends an application and kills its executors.
func (m *Master) removeApp(a *appInfo, state string) {
	if a.state == StateFinished || a.state == StateKilled || a.state == StateFailed {
		return
	}
	a.state = state
	a.ended = m.clock.Now()
	for _, e := range a.executors {
		if w := m.workers[e.workerID]; w != nil {
			w.push(WorkerCommand{KillExecutor: &ExecutorRef{AppID: e.appID, ExecutorID: e.id}})
			delete(w.executors, e.key())
			w.usedCores -= e.cores
			w.usedMem -= e.mem
		}
	}
	a.executors = map[string]*execInfo{}
	// Workers drop what they keep for it (shuffle service files).
	for _, w := range m.workers {
		if w.state != StateDead {
			w.push(WorkerCommand{AppFinished: a.desc.ID})
		}
	}
	a.wake.fire()
	m.unpersist("app", a.desc.ID)
	m.log.WithField("app", a.desc.ID).Infof("application %s %s", a.desc.Name, state)
}

// removeWorker marks a worker dead and its executors lost.
func (m *Master) removeWorker(w *workerInfo, reason string) {
	w.state = StateDead
	m.log.Warnf("worker %s (%s) is dead: %s", w.reg.ID, w.reg.Host, reason)
	for _, e := range w.executors {
		m.executorGone(e, fmt.Sprintf("worker %s (%s) lost: %s", w.reg.ID, w.reg.Host, reason), false)
	}
	for _, d := range w.drivers {
		m.driverWorkerLost(d)
	}
	w.drivers = map[string]*driverInfo{}
	m.unpersist("worker", w.reg.ID)
}

// checkTimeouts finds silent workers and drivers; it also ends recovery.
func (m *Master) checkTimeouts(now time.Time) {
	if !m.leader {
		return
	}
	timeout := m.opts.WorkerTimeout
	if m.recovering && now.Sub(m.recoveryStart) > timeout {
		m.finishRecovery()
	}
	for _, w := range m.workers {
		if w.state == StateAlive && now.Sub(w.lastSeen) > timeout {
			m.removeWorker(w, fmt.Sprintf("no heartbeat for more than %s", timeout))
		}
	}
	for _, a := range m.apps {
		if a.state != StateRunning && a.state != StateWaiting {
			continue
		}
		if now.Sub(a.lastSeen) > timeout {
			m.log.WithField("app", a.desc.ID).Warnf("driver silent for more than %s", timeout)
			m.removeApp(a, StateFailed)
		} else if a.driverGone(now, m.opts.DriverGrace) {
			m.log.WithField("app", a.desc.ID).Warnf("the driver has not polled for more than %s (stoke.deploy.driverDisconnectGrace): its process is gone", m.opts.DriverGrace)
			m.removeApp(a, StateFailed)
		}
	}
	// Forget dead workers and ended applications after a while.
	for id, w := range m.workers {
		if w.state == StateDead && now.Sub(w.lastSeen) > 10*timeout {
			delete(m.workers, id)
		}
	}
	m.schedule()
}
