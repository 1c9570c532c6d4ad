package standalone

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

var fuzzPaths = []string{pathWorkerRegister, pathWorkerPoll, pathWorkerEvent, pathAppRegister, pathAppPoll, pathAppRequest,
	pathAppKill, pathAppUnregister, pathDriverSubmit, pathDriverStatus, pathDriverKill, pathBinary}

var fuzzBinary = []byte("#!/bin/true\n")

func fuzzSHA() string { s := sha256.Sum256(fuzzBinary); return hex.EncodeToString(s[:]) }

// fuzzMaster is a leading master with a worker, a running application with
// an executor on it, a running driver and an uploaded binary.
func fuzzMaster(t *testing.T) *Master {
	m := testAPIMaster(t)
	if err := os.WriteFile(filepath.Join(m.binaries.dir, fuzzSHA()), fuzzBinary, 0o755); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registerWorker(WorkerRegistration{ID: "w1", Host: "h1", Cores: 4, MemoryMiB: 4096})
	a := m.addTestApp("app-1", 1, 100)
	a.desc.Binary = BinarySource{URL: "http://d/b", SHA256: fuzzSHA()}
	a.limit = 1
	d := &driverInfo{id: "driver-1", sub: DriverSubmission{SHA256: fuzzSHA(), Cores: 1, MemoryMiB: 100}, state: StateSubmitted, submitted: m.clock.Now()}
	m.drivers[d.id] = d
	m.schedule()
	return m
}

// checkMasterConsistent checks the master's bookkeeping: each worker's
// used cores and memory are what its executors and drivers hold, and
// executors are known to both their worker and their application.
func checkMasterConsistent(t *testing.T, m *Master) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, w := range m.workers {
		if w.reg.ID != id {
			t.Fatalf("worker %q registered under %q", w.reg.ID, id)
		}
		cores, mem := 0, 0
		for key, e := range w.executors {
			cores += e.cores
			mem += e.mem
			if key != e.key() || e.workerID != id {
				t.Fatalf("worker %s holds executor %s under %s", id, e.key(), key)
			}
			if a := m.apps[e.appID]; a == nil || a.executors[e.id] != e {
				t.Fatalf("executor %s on worker %s unknown to its application", e.key(), id)
			}
		}
		for did, d := range w.drivers {
			cores += d.sub.Cores
			mem += d.sub.MemoryMiB
			if m.drivers[did] != d || d.workerID != id {
				t.Fatalf("driver %s on worker %s unknown to the master", did, id)
			}
		}
		if cores != w.usedCores || mem != w.usedMem {
			t.Fatalf("worker %s counts %d cores, %d MiB in use; its executors and drivers hold %d, %d", id, w.usedCores, w.usedMem, cores, mem)
		}
	}
	for id, a := range m.apps {
		for eid, e := range a.executors {
			if w := m.workers[e.workerID]; e.appID != id || eid != e.id || w == nil || w.executors[e.key()] != e {
				t.Fatalf("executor %s of application %s not on its worker %s", eid, id, e.workerID)
			}
		}
	}
}

// FuzzMasterAPI sends arbitrary bodies to every path of the master's API:
// no panic, no 5xx, the bookkeeping stays consistent and /json encodes.
func FuzzMasterAPI(f *testing.F) {
	sha := fuzzSHA()
	seeds := map[string]string{
		pathWorkerRegister: `{"id":"w2","host":"h2","cores":2,"memoryMiB":512,"executors":[{"appId":"app-1","executorId":"7","cores":1,"memoryMiB":100,"state":"RUNNING"}],"drivers":[{"driverId":"driver-9","state":"RUNNING"}]}`,
		pathWorkerPoll:     `{"id":"w1","ack":1}`,
		pathWorkerEvent:    `{"workerId":"w1","executor":{"appId":"app-1","executorId":"0","state":"FAILED"},"driver":{"driverId":"driver-1","state":"FINISHED"}}`,
		pathAppRegister:    `{"name":"x","memPerExecutorMiB":100,"driverAddress":"h:1","binary":{"url":"http://h/b","sha256":"` + sha + `"}}`,
		pathAppPoll:        `{"id":"app-1","ack":2}`,
		pathAppRequest:     `{"id":"app-1","total":3}`,
		pathAppKill:        `{"id":"app-1","executorIds":["0","0","1"]}`,
		pathAppUnregister:  `{"id":"app-1"}`,
		pathDriverSubmit:   `{"sha256":"` + sha + `","args":["a"],"cores":1,"memoryMiB":10,"supervise":true}`,
		pathDriverStatus:   `{"driverId":"driver-1"}`,
		pathDriverKill:     `{"driverId":"driver-1"}`,
		pathBinary:         string(fuzzBinary),
	}
	for i, p := range fuzzPaths {
		f.Add(uint8(i), []byte(seeds[p]))
	}
	f.Add(uint8(0), []byte(`{"id":"w1","cores":-1,"memoryMiB":1}`))
	f.Add(uint8(0), []byte(`{"id":"w1","host":"h","cores":1,"memoryMiB":1,"drivers":[{"driverId":"driver-1","state":"RUNNING"}]}`))
	f.Add(uint8(2), []byte(`{"workerId":"w1","executor":{"appId":"app-1","executorId":"0","state":"RUNNING","pid":-4}}`))
	f.Add(uint8(3), []byte(`{"id":"app-1","memPerExecutorMiB":1,"driverAddress":"h","binary":{"url":"u","sha256":"s"}}`))
	f.Add(uint8(5), []byte(`{"id":"app-1","total":-9223372036854775808}`))
	f.Add(uint8(1), []byte(`[1,2,3]`))
	// Found with this target's consistency check: a worker reporting an
	// executor (or driver) that runs on another worker took it over.
	f.Add(uint8(0), []byte(`{"id":"w2","host":"h2","cores":2,"memoryMiB":512,"executors":[{"appId":"app-1","executorId":"0","cores":1,"memoryMiB":100,"state":"RUNNING"}]}`))
	f.Add(uint8(0), []byte(`{"id":"w2","host":"h2","cores":2,"memoryMiB":512,"drivers":[{"driverId":"driver-1","state":"RUNNING"}]}`))
	f.Add(uint8(8), []byte(`{"sha256":"`+sha+`","cores":1000000,"memoryMiB":-5}`))
	// Several requests in one input: the body is split at NUL bytes, and
	// the n-th part goes to the path of the n-th byte of paths.
	f.Add(uint8(0), []byte(seeds[pathWorkerRegister]+"\x00"+seeds[pathWorkerEvent]+"\x00"+seeds[pathAppKill]+"\x00"+seeds[pathWorkerRegister]))
	f.Fuzz(func(t *testing.T, pi uint8, body []byte) {
		m := fuzzMaster(t)
		h := m.apiHandler()
		for i, part := range bytes.SplitN(body, []byte{0}, 6) {
			path := fuzzPaths[(int(pi)+i*int(pi/16+1))%len(fuzzPaths)]
			var r *http.Request
			if path == pathBinary {
				s := sha256.Sum256(part)
				r = httptest.NewRequest(http.MethodPut, path+hex.EncodeToString(s[:]), bytes.NewReader(part))
			} else {
				r = httptest.NewRequest(http.MethodPost, path, bytes.NewReader(part))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code >= 500 {
				t.Fatalf("%s %q: %d %s", path, part, rec.Code, rec.Body)
			}
			if rec.Code != http.StatusOK && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s: error answer is not JSON: %q", path, rec.Body)
			}
			checkMasterConsistent(t, m)
		}
		// The cluster goes on: the worker polls, state is checked again.
		post(h, pathWorkerPoll, []byte(`{"id":"w1","ack":0}`))
		m.mu.Lock()
		m.checkTimeouts(m.clock.Now())
		m.mu.Unlock()
		checkMasterConsistent(t, m)
		if _, err := json.Marshal(m.State()); err != nil {
			t.Fatalf("/json after %q: %v", body, err)
		}
	})
}

var recoveryKinds = []string{"worker", "app", "driver"}

// FuzzRecoveryState puts arbitrary bytes in a FILESYSTEM recovery file:
// the master either refuses it with an error naming the file, or starts
// with every entry recovered and consistent state; never a panic.
func FuzzRecoveryState(f *testing.F) {
	f.Add(uint8(0), []byte(`{"id":"e1","host":"h","cores":2,"memoryMiB":100}`))
	f.Add(uint8(1), []byte(`{"id":"e1","name":"n","memPerExecutorMiB":10,"driverAddress":"h:1","binary":{"url":"u","sha256":"s"}}`))
	f.Add(uint8(2), []byte(`{"sub":{"sha256":"`+fuzzSHA()+`","cores":1,"memoryMiB":1},"state":"RUNNING","restarts":2}`))
	f.Add(uint8(2), []byte(`{"sub":{"cores":-1},"state":"SUBMITTED"}`))
	f.Add(uint8(0), []byte(`{"id":"other","cores":2,"memoryMiB":100}`))
	f.Add(uint8(1), []byte(`{"id":"e1"`))
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte(`null`))
	f.Fuzz(func(t *testing.T, ki uint8, data []byte) {
		dir := t.TempDir()
		kind := recoveryKinds[int(ki)%len(recoveryKinds)]
		name := filepath.Join(dir, kind+"_e1")
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p := fsPersister{dir: dir}
		if err := checkRecoveryFiles(p); err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte(name)) {
				t.Fatalf("error does not name %s: %v", name, err)
			}
			return
		}
		m := testAPIMaster(t)
		m.persist = p
		m.mu.Lock()
		m.recover()
		n := len(m.workers) + len(m.apps) + len(m.drivers)
		warnings := len(m.recoveryWarnings)
		m.mu.Unlock()
		if n != 1 || warnings != 0 {
			t.Fatalf("accepted %s_e1 %q, but recovered %d entries with %d warnings", kind, data, n, warnings)
		}
		checkMasterConsistent(t, m)
		m.mu.Lock()
		m.finishRecovery()
		m.mu.Unlock()
		checkMasterConsistent(t, m)
		if _, err := json.Marshal(m.State()); err != nil {
			t.Fatal(err)
		}
	})
}
