package standalone

import (
	"crypto/hmac"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (m *Master) apiHandler() http.Handler {
	mux := http.NewServeMux()
	post := func(path string, h http.HandlerFunc) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			if m.authorized(w, r) {
				h(w, r)
			}
		})
	}
	post(pathWorkerRegister, m.handleWorkerRegister)
	post(pathWorkerPoll, m.handleWorkerPoll)
	post(pathWorkerEvent, m.handleWorkerEvent)
	post(pathAppRegister, m.handleAppRegister)
	post(pathAppPoll, m.handleAppPoll)
	post(pathAppRequest, m.handleAppRequest)
	post(pathAppKill, m.handleAppKill)
	post(pathAppUnregister, m.handleAppUnregister)
	post(pathDriverSubmit, m.handleDriverSubmit)
	post(pathDriverStatus, m.handleDriverStatus)
	post(pathDriverKill, m.handleDriverKill)
	// Standbys take binaries too: the client uploads to every master, so
	// whichever leads after a failover can relaunch supervised drivers.
	mux.HandleFunc("PUT "+pathBinary+"{sha}", func(w http.ResponseWriter, r *http.Request) {
		if m.authorized(w, r) {
			m.binaries.handlePut(w, r)
		}
	})
	mux.HandleFunc("GET "+pathBinary+"{sha}", func(w http.ResponseWriter, r *http.Request) {
		if m.authorized(w, r) {
			m.binaries.handleGet(w, r)
		}
	})
	mux.HandleFunc("GET "+pathJSON, m.handleJSON)
	return mux
}

// pollWait bounds a long poll well under the callers' one-minute timeout.
func (m *Master) pollWait() time.Duration {
	return min(max(m.opts.WorkerTimeout/4, 20*time.Millisecond), 20*time.Second)
}

func (m *Master) handleWorkerRegister(w http.ResponseWriter, r *http.Request) {
	var reg WorkerRegistration
	if !readJSON(w, r, &reg) {
		return
	}
	if !ValidWorkerID(reg.ID) {
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("worker id %s is not a worker id (worker-<start time>-<host>-<port>)", quoteID(reg.ID))})
		return
	}
	for _, e := range reg.Executors {
		if !ValidAppID(e.AppID) || !ValidExecutorID(e.ExecutorID) {
			writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("worker %s reports executor %s of application %s: not ids this master makes", reg.ID, quoteID(e.ExecutorID), quoteID(e.AppID))})
			return
		}
	}
	for _, d := range reg.Drivers {
		if !ValidDriverID(d.DriverID) {
			writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("worker %s reports driver %s: not an id this master makes", reg.ID, quoteID(d.DriverID))})
			return
		}
	}
	if reg.Cores < 1 || reg.MemoryMiB < 1 {
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("worker registration %q with %d cores and %d MiB is not valid", reg.ID, reg.Cores, reg.MemoryMiB)})
		return
	}
	if !m.lockLeader(w) {
		return
	}
	defer m.mu.Unlock()
	m.registerWorker(reg)
	writeJSON(w, struct{}{})
}

// registerWorker adds a worker or re-attaches one, reconciling the
// executors and drivers it reports with what the master knew.
func (m *Master) registerWorker(reg WorkerRegistration) {
	now := m.clock.Now()
	wk := m.workers[reg.ID]
	if wk == nil || wk.state == StateDead {
		wk = &workerInfo{executors: map[string]*execInfo{}, drivers: map[string]*driverInfo{}, wake: newBroadcast()}
		m.workers[reg.ID] = wk
	}
	reports, dreports := reg.Executors, reg.Drivers
	reg.Executors, reg.Drivers = nil, nil
	wk.reg, wk.state, wk.lastSeen = reg, StateAlive, now
	wk.cmds, wk.seq = nil, 0
	wk.wake.fire()
	running := map[string]ExecutorReport{}
	for _, e := range reports {
		if e.State == StateRunning {
			running[e.AppID+"/"+e.ExecutorID] = e
		}
	}
	for key, e := range wk.executors {
		if _, ok := running[key]; !ok {
			m.executorGone(e, fmt.Sprintf("executor not running on worker %s after it registered again", reg.ID), false)
		}
	}
	for key, rep := range running {
		if _, ok := wk.executors[key]; ok {
			continue
		}
		a := m.apps[rep.AppID]
		if a == nil || (a.state != StateRunning && a.state != StateWaiting && a.state != StateUnknown) {
			wk.push(WorkerCommand{KillExecutor: &ExecutorRef{AppID: rep.AppID, ExecutorID: rep.ExecutorID}})
			continue
		}
		if other := a.executors[rep.ExecutorID]; other != nil && other.workerID != reg.ID {
			// The id already runs on another worker: this copy goes.
			wk.push(WorkerCommand{KillExecutor: &ExecutorRef{AppID: rep.AppID, ExecutorID: rep.ExecutorID}})
			continue
		}
		e := &execInfo{appID: rep.AppID, id: rep.ExecutorID, workerID: reg.ID, cores: rep.Cores, mem: rep.MemoryMiB, state: StateRunning, pid: rep.PID, logPath: rep.LogPath}
		a.executors[rep.ExecutorID] = e
		if n, err := strconv.Atoi(rep.ExecutorID); err == nil && n >= a.nextExec {
			a.nextExec = n + 1
		}
		wk.executors[key] = e
		wk.usedCores += e.cores
		wk.usedMem += e.mem
	}
	m.reconcileDrivers(wk, dreports, now)
	m.persistValue("worker", reg.ID, reg)
	m.log.Infof("worker %s registered: %s, %d cores, %d MiB, %d running executor(s)", reg.ID, reg.Host, reg.Cores, reg.MemoryMiB, len(running))
	m.maybeFinishRecovery()
	m.schedule()
}

func (m *Master) handleWorkerPoll(w http.ResponseWriter, r *http.Request) {
	var p WorkerPoll
	if !readJSON(w, r, &p) || !m.lockLeader(w) {
		return
	}
	wk := m.workers[p.ID]
	if wk == nil || wk.state != StateAlive {
		m.mu.Unlock()
		writeError(w, http.StatusNotFound, errorReply{Error: fmt.Sprintf("worker %s is not registered with this master", p.ID), Unknown: true})
		return
	}
	wk.lastSeen = m.clock.Now()
	wk.ack(p.Ack)
	if len(wk.cmds) == 0 {
		m.awaitWake(r, wk.wake.ch)
	}
	reply := WorkerPollReply{Commands: append([]WorkerCommand(nil), wk.cmds...)}
	m.mu.Unlock()
	writeJSON(w, reply)
}

func (m *Master) handleWorkerEvent(w http.ResponseWriter, r *http.Request) {
	var ev WorkerEvent
	if !readJSON(w, r, &ev) || !m.lockLeader(w) {
		return
	}
	defer m.mu.Unlock()
	wk := m.workers[ev.WorkerID]
	if wk == nil || wk.state != StateAlive {
		writeError(w, http.StatusNotFound, errorReply{Error: fmt.Sprintf("worker %s is not registered with this master", ev.WorkerID), Unknown: true})
		return
	}
	if rep := ev.Executor; rep != nil {
		if e := wk.executors[rep.AppID+"/"+rep.ExecutorID]; e != nil {
			switch rep.State {
			case StateRunning:
				e.pid, e.logPath = rep.PID, rep.LogPath
			case StateExited, StateFailed:
				m.executorGone(e, rep.Reason, rep.State == StateFailed)
			}
		}
	}
	if rep := ev.Driver; rep != nil {
		m.driverReported(wk, *rep)
	}
	m.schedule()
	writeJSON(w, struct{}{})
}

func (m *Master) handleAppRegister(w http.ResponseWriter, r *http.Request) {
	var d AppDescription
	if !readJSON(w, r, &d) {
		return
	}
	if d.MemPerExecutor < 1 || d.CoresPerExecutor < 0 || d.DriverAddress == "" || d.Binary.URL == "" || d.Binary.SHA256 == "" {
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("application registration %q is incomplete (memory %d MiB, driver %q, binary %q)", d.Name, d.MemPerExecutor, d.DriverAddress, d.Binary.URL)})
		return
	}
	if !m.lockLeader(w) {
		return
	}
	defer m.mu.Unlock()
	now := m.clock.Now()
	if d.Secret == "" {
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("application registration %q carries no application secret", d.Name)})
		return
	}
	hash := appSecretHash(m.opts.Secret, d.Secret)
	if d.ID == "" {
		m.nextApp++
		d.ID = newAppID(now, m.nextApp)
	} else if !ValidAppID(d.ID) {
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("application id %s is not one this master makes (app-<time>-<number>); register without an id", quoteID(d.ID))})
		return
	}
	a := m.apps[d.ID]
	if a != nil && a.secretHash != "" && !hmac.Equal([]byte(a.secretHash), []byte(hash)) {
		writeError(w, http.StatusForbidden, errorReply{Error: fmt.Sprintf("application %s was registered with another application secret: only its own driver can re-attach", d.ID)})
		return
	}
	if a != nil && (a.state == StateFinished || a.state == StateKilled || a.state == StateFailed) {
		why := ""
		if a.endReason != "" {
			why = ": " + a.endReason
		}
		writeError(w, http.StatusConflict, errorReply{Error: fmt.Sprintf("application %s has already ended (%s): the master removed it%s", d.ID, strings.ToLower(a.state), why)})
		return
	}
	if a == nil {
		limit := -1
		if d.DynamicAllocation {
			limit = 0 // the driver asks for its initial executors
		}
		a = &appInfo{state: StateWaiting, submitted: now, executors: map[string]*execInfo{}, limit: limit, wake: newBroadcast()}
		m.apps[d.ID] = a
	}
	if a.state == StateUnknown {
		a.state = StateWaiting
	}
	if len(a.executors) > 0 {
		a.state = StateRunning
	}
	a.secret, a.secretHash = d.Secret, hash
	d.Secret, d.SecretHash = "", ""
	a.desc, a.lastSeen, a.tracked = d, now, true
	if a.polls == 0 {
		a.idleSince = now // its first poll follows at once
	}
	a.events, a.seq, a.warning = nil, 0, ""
	a.wake.fire()
	// The recovery state keeps only the secret's hash: a re-attaching
	// driver sends the secret again and must match it.
	stored := d
	stored.Binary.Secret, stored.SecretHash = "", hash
	m.persistValue("app", d.ID, stored)
	m.log.WithField("app", d.ID).Infof("application %q registered (driver %s)", d.Name, d.DriverAddress)
	m.maybeFinishRecovery()
	m.schedule()
	writeJSON(w, AppRegistered{ID: d.ID})
}

// liveApp finds a running application, answering 404 itself.
func (m *Master) liveApp(w http.ResponseWriter, id string) *appInfo {
	a := m.apps[id]
	if a == nil || (a.state != StateRunning && a.state != StateWaiting) {
		writeError(w, http.StatusNotFound, errorReply{Error: fmt.Sprintf("application %s is not registered with this master", id), Unknown: true})
		return nil
	}
	return a
}

func (m *Master) handleAppPoll(w http.ResponseWriter, r *http.Request) {
	var p AppPoll
	if !readJSON(w, r, &p) || !m.lockLeader(w) {
		return
	}
	a := m.liveApp(w, p.ID)
	if a == nil {
		m.mu.Unlock()
		return
	}
	a.lastSeen = m.clock.Now()
	a.ack(p.Ack)
	wasPaused := a.paused()
	a.polls++
	a.idleSince, a.awaitPoll = time.Time{}, false
	if wasPaused {
		m.schedule()
	}
	if len(a.events) == 0 {
		m.awaitWake(r, a.wake.ch)
	}
	// Unless the driver polls again within the grace (it does at once), its
	// process is gone (killed) and its application fails.
	if a.polls--; a.polls == 0 {
		a.idleSince = m.clock.Now()
	}
	reply := AppPollReply{Events: append([]AppEvent(nil), a.events...)}
	m.mu.Unlock()
	writeJSON(w, reply)
}

func (m *Master) handleAppRequest(w http.ResponseWriter, r *http.Request) {
	var req AppRequest
	if !readJSON(w, r, &req) || !m.lockLeader(w) {
		return
	}
	defer m.mu.Unlock()
	a := m.liveApp(w, req.ID)
	if a == nil {
		return
	}
	a.limit = max(req.Total, 0)
	m.schedule()
	writeJSON(w, struct{}{})
}

func (m *Master) handleAppKill(w http.ResponseWriter, r *http.Request) {
	var req AppKill
	if !readJSON(w, r, &req) || !m.lockLeader(w) {
		return
	}
	defer m.mu.Unlock()
	a := m.liveApp(w, req.ID)
	if a == nil {
		return
	}
	before := len(a.executors)
	killed := 0
	for _, id := range req.ExecutorIDs {
		e := a.executors[id]
		if e == nil {
			continue
		}
		if wk := m.workers[e.workerID]; wk != nil {
			wk.push(WorkerCommand{KillExecutor: &ExecutorRef{AppID: e.appID, ExecutorID: e.id}})
		}
		m.executorGone(e, "killed at the driver's request", false)
		killed++
	}
	if a.limit < 0 {
		a.limit = before
	}
	a.limit = max(0, a.limit-killed)
	m.schedule()
	writeJSON(w, struct{}{})
}

func (m *Master) handleAppUnregister(w http.ResponseWriter, r *http.Request) {
	var p AppPoll
	if !readJSON(w, r, &p) || !m.lockLeader(w) {
		return
	}
	defer m.mu.Unlock()
	if a := m.apps[p.ID]; a != nil {
		m.removeApp(a, StateFinished)
		m.schedule()
	}
	writeJSON(w, struct{}{})
}

// awaitWake holds a long poll: it releases m.mu until there is news (ch is
// closed), the poll times out, the poller leaves or the master stops, then
// takes the lock again.
func (m *Master) awaitWake(r *http.Request, ch <-chan struct{}) {
	m.mu.Unlock()
	t := time.NewTimer(m.pollWait())
	select {
	case <-ch:
	case <-t.C:
	case <-r.Context().Done():
	case <-m.stop:
	}
	t.Stop()
	m.mu.Lock()
}
