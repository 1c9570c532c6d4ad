package standalone

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// recoveredState is a recovery store's content, parsed and checked.
type recoveredState struct {
	workers map[string]WorkerRegistration
	apps    map[string]AppDescription
	drivers map[string]persistedDriver
}

// corruptEntry is a recovery entry that does not parse or make sense.
type corruptEntry struct {
	kind, id string
	err      error
}

func storedID(id string) string { return strings.ReplaceAll(id, "/", "_") }

func unmarshalEntry(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("not valid JSON (%d bytes): %w", len(data), err)
	}
	return nil
}

// parseRecovery parses what a persister loaded. Entries of unknown kinds
// are ignored (not the master's); entries of known kinds that do not parse
// or are not valid are returned as corrupt, sorted.
func parseRecovery(state map[string]map[string][]byte) (recoveredState, []corruptEntry) {
	rs := recoveredState{workers: map[string]WorkerRegistration{}, apps: map[string]AppDescription{}, drivers: map[string]persistedDriver{}}
	var bad []corruptEntry
	for id, data := range state["worker"] {
		var reg WorkerRegistration
		err := unmarshalEntry(data, &reg)
		if err == nil {
			err = reg.validate()
		}
		if err == nil && !ValidWorkerID(id) {
			err = fmt.Errorf("%s is not a worker id", quoteID(id))
		}
		if err == nil && (reg.ID == "" || storedID(reg.ID) != id || reg.Cores < 1 || reg.MemoryMiB < 1) {
			err = fmt.Errorf("worker %q with %d cores and %d MiB is not a valid registration for entry %q", reg.ID, reg.Cores, reg.MemoryMiB, id)
		}
		if err != nil {
			bad = append(bad, corruptEntry{"worker", id, err})
			continue
		}
		reg.ID = id
		rs.workers[id] = reg
	}
	for id, data := range state["app"] {
		var d AppDescription
		err := unmarshalEntry(data, &d)
		if err == nil {
			err = d.validate()
		}
		if err == nil && !ValidAppID(id) {
			err = fmt.Errorf("%s is not an application id this master makes", quoteID(id))
		}
		if err == nil && (d.ID == "" || storedID(d.ID) != id) {
			err = fmt.Errorf("application id %q does not match entry %q", d.ID, id)
		}
		if err != nil {
			bad = append(bad, corruptEntry{"app", id, err})
			continue
		}
		d.ID = id
		rs.apps[id] = d
	}
	for id, data := range state["driver"] {
		var s persistedDriver
		err := unmarshalEntry(data, &s)
		if err == nil {
			err = s.Sub.validate()
		}
		if err == nil {
			switch s.State {
			case StateSubmitted, StateRunning, StateRelaunch:
			default:
				err = fmt.Errorf("driver state %q: expected %s, %s or %s", s.State, StateSubmitted, StateRunning, StateRelaunch)
			}
		}
		if err == nil && !ValidDriverID(id) {
			err = fmt.Errorf("%s is not a driver id this master makes", quoteID(id))
		}
		if err == nil && s.Restarts < 0 {
			err = fmt.Errorf("driver restarts %d is negative", s.Restarts)
		}
		if err != nil {
			bad = append(bad, corruptEntry{"driver", id, err})
			continue
		}
		rs.drivers[id] = s
	}
	sort.Slice(bad, func(i, j int) bool {
		if bad[i].kind != bad[j].kind {
			return bad[i].kind < bad[j].kind
		}
		return bad[i].id < bad[j].id
	})
	return rs, bad
}

// checkRecoveryFiles refuses FILESYSTEM recovery state that does not
// parse: starting without it would silently lose workers, applications
// or drivers.
func checkRecoveryFiles(p persister) error {
	fp, ok := p.(fsPersister)
	if !ok {
		return nil
	}
	state, err := fp.load()
	if err != nil {
		return fmt.Errorf("reading the recovery directory %s: %w", fp.dir, err)
	}
	_, bad := parseRecovery(state)
	if len(bad) == 0 {
		return nil
	}
	var errs []error
	for _, b := range bad {
		errs = append(errs, fmt.Errorf("recovery file %s is corrupt: %v; move it aside to start without it", fp.file(b.kind, b.id), b.err))
	}
	return fmt.Errorf("the master does not start with corrupt recovery state in %s (stoke.deploy.recoveryDirectory): %w", filepath.Clean(fp.dir), errors.Join(errs...))
}
