package standalone

import (
	"fmt"
	"net/http"
	"sort"
	"time"
)

func (m *Master) handleDriverSubmit(w http.ResponseWriter, r *http.Request) {
	var sub DriverSubmission
	if !readJSON(w, r, &sub) {
		return
	}
	if !m.binaries.has(sub.SHA256) {
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("no uploaded binary with SHA-256 %q: upload it to %s first", sub.SHA256, pathBinary+sub.SHA256)})
		return
	}
	sub.Cores, sub.MemoryMiB = max(sub.Cores, 1), max(sub.MemoryMiB, 1)
	// Defense in depth: a submitter strips secrets itself; whatever is left
	// would reach the recovery state and the worker.
	env, removed, err := StripSecrets(sub.SubmitEnv)
	if err != nil {
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("driver submission: %v", err)})
		return
	}
	if len(removed) > 0 {
		m.log.Warnf("driver submission carried secret configuration %v; dropped (the worker hands the driver the cluster secret itself)", removed)
	}
	sub.SubmitEnv = env
	if !m.lockLeader(w) {
		return
	}
	defer m.mu.Unlock()
	now := m.clock.Now()
	m.nextDriver++
	d := &driverInfo{id: newDriverID(now, m.nextDriver), sub: sub, state: StateSubmitted, submitted: now}
	m.drivers[d.id] = d
	m.saveDriver(d)
	m.log.Infof("driver %s submitted (%d core(s), %d MiB, supervise=%v)", d.id, sub.Cores, sub.MemoryMiB, sub.Supervise)
	m.schedule()
	writeJSON(w, d.status())
}

func (d *driverInfo) status() DriverStatus {
	return DriverStatus{DriverID: d.id, State: d.state, WorkerID: d.workerID, ExitCode: d.exitCode, Reason: d.reason, Restarts: d.restarts}
}

func (m *Master) saveDriver(d *driverInfo) {
	m.persistValue("driver", d.id, persistedDriver{Sub: d.sub, State: d.state, Restarts: d.restarts})
}

func (m *Master) handleDriverStatus(w http.ResponseWriter, r *http.Request) {
	var ref DriverRef
	if !readJSON(w, r, &ref) || !m.lockLeader(w) {
		return
	}
	defer m.mu.Unlock()
	d := m.drivers[ref.DriverID]
	if d == nil {
		writeError(w, http.StatusNotFound, errorReply{Error: fmt.Sprintf("no driver %s on this cluster", quoteID(ref.DriverID))})
		return
	}
	writeJSON(w, d.status())
}

func (m *Master) handleDriverKill(w http.ResponseWriter, r *http.Request) {
	var ref DriverRef
	if !readJSON(w, r, &ref) || !m.lockLeader(w) {
		return
	}
	defer m.mu.Unlock()
	d := m.drivers[ref.DriverID]
	if d == nil {
		writeError(w, http.StatusNotFound, errorReply{Error: fmt.Sprintf("no driver %s on this cluster", quoteID(ref.DriverID))})
		return
	}
	switch d.state {
	case StateRunning:
		if wk := m.workers[d.workerID]; wk != nil {
			wk.push(WorkerCommand{KillDriver: d.id})
		}
		d.state = StateKilled
	case StateSubmitted, StateRelaunch:
		d.state = StateKilled
	}
	m.unpersist("driver", d.id)
	writeJSON(w, d.status())
}

// scheduleDrivers places submitted drivers on the alive worker with the
// most free cores that can hold them.
func (m *Master) scheduleDrivers() {
	var waiting []*driverInfo
	for _, d := range m.drivers {
		if d.state == StateSubmitted || d.state == StateRelaunch {
			waiting = append(waiting, d)
		}
	}
	sort.Slice(waiting, func(i, j int) bool { return waiting[i].id < waiting[j].id })
	for _, d := range waiting {
		var best *workerInfo
		for _, w := range m.workers {
			if w.state != StateAlive || w.reg.Cores-w.usedCores < d.sub.Cores || w.reg.MemoryMiB-w.usedMem < d.sub.MemoryMiB {
				continue
			}
			if best == nil || w.reg.Cores-w.usedCores > best.reg.Cores-best.usedCores || (w.reg.Cores-w.usedCores == best.reg.Cores-best.usedCores && w.reg.ID < best.reg.ID) {
				best = w
			}
		}
		if best == nil {
			continue
		}
		d.state, d.workerID = StateRunning, best.reg.ID
		best.drivers[d.id] = d
		best.usedCores += d.sub.Cores
		best.usedMem += d.sub.MemoryMiB
		best.push(WorkerCommand{LaunchDriver: &LaunchDriver{DriverID: d.id,
			Binary: BinarySource{URL: pathBinary + d.sub.SHA256, SHA256: d.sub.SHA256}, // the worker presents its own secret
			Args:   d.sub.Args, SubmitEnv: d.sub.SubmitEnv, Supervise: d.sub.Supervise}})
		m.saveDriver(d)
		m.log.Infof("launching driver %s on worker %s", d.id, best.reg.ID)
	}
}

// driverReported applies a worker's report on one of its drivers.
func (m *Master) driverReported(wk *workerInfo, rep DriverReport) {
	d := m.drivers[rep.DriverID]
	if d == nil {
		return
	}
	d.restarts = max(d.restarts, rep.Restarts)
	d.exitCode, d.reason = rep.ExitCode, rep.Reason
	if rep.State == StateRunning {
		if d.state != StateKilled {
			d.state = StateRunning
		}
		return
	}
	if _, ok := wk.drivers[d.id]; ok {
		delete(wk.drivers, d.id)
		wk.usedCores -= d.sub.Cores
		wk.usedMem -= d.sub.MemoryMiB
	}
	if d.state != StateKilled {
		d.state = rep.State
	}
	m.unpersist("driver", d.id)
	m.log.Infof("driver %s ended: %s (exit code %d) %s", d.id, d.state, d.exitCode, d.reason)
}

// driverWorkerLost handles a driver whose worker died.
func (m *Master) driverWorkerLost(d *driverInfo) {
	if d.state != StateRunning {
		return
	}
	if d.sub.Supervise {
		d.state, d.workerID = StateRelaunch, ""
		d.restarts++
		m.saveDriver(d)
		return
	}
	d.state, d.reason = StateFailed, "its worker was lost"
	m.unpersist("driver", d.id)
}

// reconcileDrivers re-attaches the drivers a (re-)registering worker runs;
// drivers the master placed there that it no longer runs are handled as
// lost with their worker (relaunched when supervised).
func (m *Master) reconcileDrivers(wk *workerInfo, reports []DriverReport, now time.Time) {
	running := map[string]DriverReport{}
	for _, dr := range reports {
		if dr.State == StateRunning {
			running[dr.DriverID] = dr
		}
	}
	for id, d := range wk.drivers {
		if _, ok := running[id]; !ok {
			delete(wk.drivers, id)
			wk.usedCores -= d.sub.Cores
			wk.usedMem -= d.sub.MemoryMiB
			m.driverWorkerLost(d)
		}
	}
	for id, dr := range running {
		if d, ok := wk.drivers[id]; ok {
			d.restarts = max(d.restarts, dr.Restarts)
			continue
		}
		d := m.drivers[id]
		if d == nil {
			d = &driverInfo{id: id, submitted: now}
			m.drivers[id] = d
		}
		if d.state == StateKilled {
			wk.push(WorkerCommand{KillDriver: id})
			continue
		}
		if w := m.workers[d.workerID]; w != nil && w != wk && w.drivers[id] == d {
			// It already runs on another worker: this copy goes.
			wk.push(WorkerCommand{KillDriver: id})
			continue
		}
		d.state, d.workerID, d.restarts = StateRunning, wk.reg.ID, max(d.restarts, dr.Restarts)
		wk.drivers[id] = d
		wk.usedCores += d.sub.Cores
		wk.usedMem += d.sub.MemoryMiB
	}
}

// orphanDrivers handles, at the end of recovery, drivers recorded as
// running that no worker reported.
func (m *Master) orphanDrivers() {
	placed := map[string]bool{}
	for _, w := range m.workers {
		for id := range w.drivers {
			placed[id] = true
		}
	}
	for id, d := range m.drivers {
		if d.state == StateRunning && !placed[id] {
			m.driverWorkerLost(d)
		}
	}
}
