package standalone

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Recovery modes (stoke.deploy.recoveryMode).
const (
	RecoveryNone       = "NONE"
	RecoveryFilesystem = "FILESYSTEM"
	RecoveryZooKeeper  = "ZOOKEEPER"
)

var errStopped = errors.New("master stopped")

// persister keeps the master's state where a restarted or standby master
// finds it, and decides who leads.
type persister interface {
	mode() string
	// awaitLeadership returns once this master leads (errStopped if stop
	// closes first).
	awaitLeadership(stop <-chan struct{}) error
	save(kind, id string, data []byte) error
	remove(kind, id string) error
	// load returns kind -> id -> data.
	load() (map[string]map[string][]byte, error)
	// describe names where an entry is kept, for error messages.
	describe(kind, id string) string
	close()
}

func newPersister(o MasterOptions) (persister, error) {
	switch strings.ToUpper(o.RecoveryMode) {
	case "", RecoveryNone:
		return nonePersister{}, nil
	case RecoveryFilesystem:
		if o.RecoveryDir == "" {
			return nil, errors.New("stoke.deploy.recoveryMode=FILESYSTEM needs stoke.deploy.recoveryDirectory")
		}
		if err := os.MkdirAll(o.RecoveryDir, 0o700); err != nil {
			return nil, fmt.Errorf("recovery directory: %w", err)
		}
		return fsPersister{dir: o.RecoveryDir}, nil
	case RecoveryZooKeeper:
		return newZKPersister(o)
	}
	return nil, fmt.Errorf("stoke.deploy.recoveryMode=%q: expected NONE, FILESYSTEM or ZOOKEEPER", o.RecoveryMode)
}

type nonePersister struct{}

func (nonePersister) mode() string                                { return RecoveryNone }
func (nonePersister) awaitLeadership(<-chan struct{}) error       { return nil }
func (nonePersister) save(string, string, []byte) error           { return nil }
func (nonePersister) remove(string, string) error                 { return nil }
func (nonePersister) load() (map[string]map[string][]byte, error) { return nil, nil }
func (nonePersister) close()                                      {}
func (nonePersister) describe(kind, id string) string             { return kind + " " + id }

// fsPersister keeps one file per worker, application and driver.
type fsPersister struct{ dir string }

func (fsPersister) mode() string                          { return RecoveryFilesystem }
func (fsPersister) awaitLeadership(<-chan struct{}) error { return nil }
func (fsPersister) close()                                {}

func (p fsPersister) file(kind, id string) string {
	return filepath.Join(p.dir, kind+"_"+strings.ReplaceAll(id, "/", "_"))
}

func (p fsPersister) describe(kind, id string) string { return "file " + p.file(kind, id) }

func (p fsPersister) save(kind, id string, data []byte) error {
	tmp := p.file(kind, id) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.file(kind, id))
}

func (p fsPersister) remove(kind, id string) error {
	err := os.Remove(p.file(kind, id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (p fsPersister) load() (map[string]map[string][]byte, error) {
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string][]byte{}
	for _, e := range ents {
		kind, id, ok := strings.Cut(e.Name(), "_")
		if !ok || e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(p.dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if out[kind] == nil {
			out[kind] = map[string][]byte{}
		}
		out[kind][id] = data
	}
	return out, nil
}

func (m *Master) persistValue(kind, id string, v any) {
	data, err := json.Marshal(v)
	if err == nil {
		err = m.persist.save(kind, id, data)
	}
	if err != nil {
		m.log.WithError(err).Errorf("saving %s %s for recovery", kind, id)
	}
}

func (m *Master) unpersist(kind, id string) {
	if err := m.persist.remove(kind, id); err != nil {
		m.log.WithError(err).Errorf("removing %s %s from recovery state", kind, id)
	}
}

// recover loads the state a previous leader left; the workers and
// applications found wait (UNKNOWN) for their owners to re-attach. Called
// with m.mu held.
func (m *Master) recover() {
	state, err := m.persist.load()
	if err != nil {
		m.log.WithError(err).Error("reading recovery state; starting empty")
		return
	}
	rs, bad := parseRecovery(state)
	for _, b := range bad {
		msg := fmt.Sprintf("recovery state %s is corrupt and was not recovered (it is kept as is; fix or delete it): %v", m.persist.describe(b.kind, b.id), b.err)
		m.log.Error(msg)
		m.recoveryWarnings = append(m.recoveryWarnings, msg)
	}
	now := m.clock.Now()
	for id, reg := range rs.workers {
		m.workers[id] = &workerInfo{reg: reg, state: StateUnknown, lastSeen: now, executors: map[string]*execInfo{}, drivers: map[string]*driverInfo{}, wake: newBroadcast()}
	}
	for id, d := range rs.apps {
		limit := -1
		if d.DynamicAllocation {
			limit = 0 // no new executor until its driver asks again
		}
		m.apps[id] = &appInfo{desc: d, secretHash: d.SecretHash, state: StateUnknown, submitted: now, lastSeen: now, executors: map[string]*execInfo{}, limit: limit, wake: newBroadcast()}
		m.nextApp++
	}
	for id, s := range rs.drivers {
		m.drivers[id] = &driverInfo{id: id, sub: s.Sub, state: s.State, restarts: s.Restarts, submitted: now}
		m.nextDriver++
	}
	if len(m.workers)+len(m.apps)+len(m.drivers) > 0 {
		m.recovering, m.recoveryStart = true, now
		m.log.Infof("recovering %d worker(s), %d application(s), %d driver(s)", len(m.workers), len(m.apps), len(m.drivers))
	}
}

// persistedDriver is a cluster-mode driver in the recovery state.
type persistedDriver struct {
	Sub      DriverSubmission `json:"sub"`
	State    string           `json:"state"`
	Restarts int              `json:"restarts"`
}

func (m *Master) maybeFinishRecovery() {
	if !m.recovering {
		return
	}
	for _, w := range m.workers {
		if w.state == StateUnknown {
			return
		}
	}
	for _, a := range m.apps {
		if a.state == StateUnknown {
			return
		}
	}
	m.finishRecovery()
}

// finishRecovery forgets what did not re-attach and resumes scheduling.
func (m *Master) finishRecovery() {
	for id, w := range m.workers {
		if w.state == StateUnknown {
			m.log.Warnf("worker %s did not re-attach after recovery", id)
			delete(m.workers, id)
			m.unpersist("worker", id)
		}
	}
	for id, a := range m.apps {
		if a.state == StateUnknown {
			m.log.Warnf("application %s did not re-attach after recovery", id)
			m.removeApp(a, StateFinished) // kills the executors workers reported
		}
	}
	m.orphanDrivers()
	m.recovering = false
	m.log.Info("recovery complete")
	m.schedule()
}
