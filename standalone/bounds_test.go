package standalone

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stoke-run/stoke/internal/clock"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/testutil"
)

// Every request type refuses an oversized field, a too long list or a
// negative number, naming the field and its limit; a well-formed request
// passes.
func TestRequestValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	ok := []validator{
		WorkerRegistration{ID: "w1", Host: "h", Cores: 1, MemoryMiB: 1, Executors: []ExecutorReport{{AppID: "a", ExecutorID: "1", State: StateRunning}}},
		WorkerPoll{ID: "w1", Ack: 3},
		WorkerEvent{WorkerID: "w1", Driver: &DriverReport{DriverID: "d", State: StateFinished, ExitCode: -1}},
		AppDescription{Name: "n", MemPerExecutor: 1, DriverAddress: "h:1", Binary: BinarySource{URL: "http://h/b", SHA256: strings.Repeat("a", 64)}},
		AppPoll{ID: "a"}, AppRequest{ID: "a", Total: 2}, AppKill{ID: "a", ExecutorIDs: []string{"1"}},
		DriverSubmission{SHA256: strings.Repeat("a", 64), Args: []string{"x"}, SubmitEnv: "k=v"},
		DriverRef{DriverID: "d"},
	}
	for _, v := range ok {
		if err := v.validate(); err != nil {
			t.Errorf("%T %+v refused: %v", v, v, err)
		}
	}
	bad := []struct {
		v    validator
		want string
	}{
		{WorkerRegistration{ID: long(15 << 20), Cores: 1, MemoryMiB: 1}, "id is 15728640 bytes long, longer than the limit of 256"},
		{WorkerRegistration{ID: "w", Host: long(300)}, "host is 300 bytes"},
		{WorkerRegistration{ID: "w", WebUIURL: long(3000)}, "webUIURL"},
		{WorkerRegistration{ID: "w", Cores: -1}, "cores is -1; it cannot be negative"},
		{WorkerRegistration{ID: "w", Executors: make([]ExecutorReport, maxListLen+1)}, "executors has 4097 entries, more than the limit of 4096"},
		{WorkerRegistration{ID: "w", Executors: []ExecutorReport{{Reason: long(9000)}}}, "executors[0]: reason is 9000 bytes"},
		{WorkerRegistration{ID: "w", Drivers: []DriverReport{{DriverID: long(257)}}}, "drivers[0]: driverId"},
		{WorkerPoll{ID: "w", Ack: -5}, "ack is -5"},
		{WorkerEvent{WorkerID: "w", Executor: &ExecutorReport{LogPath: long(9000)}}, "executor: logPath"},
		{WorkerEvent{WorkerID: long(257)}, "workerId"},
		{AppDescription{Name: long(2000)}, "name is 2000 bytes long, longer than the limit of 1024"},
		{AppDescription{Binary: BinarySource{SHA256: long(65)}}, "binary.sha256"},
		{AppDescription{Secret: long(2000)}, "secret is 2000"},
		{AppDescription{MemPerExecutor: -1}, "memPerExecutorMiB is -1"},
		// Files a worker would write into executors' directories.
		{AppDescription{Files: []FileSource{{Name: "../../etc/cron.d/x", BinarySource: BinarySource{SHA256: strings.Repeat("a", 64)}}}}, "not a plain file name"},
		{AppDescription{Files: []FileSource{{Name: "/abs", BinarySource: BinarySource{SHA256: strings.Repeat("a", 64)}}}}, "not a plain file name"},
		{AppDescription{Files: []FileSource{{Name: "..", BinarySource: BinarySource{SHA256: strings.Repeat("a", 64)}}}}, "not a plain file name"},
		{AppDescription{Files: []FileSource{{Name: "stderr", BinarySource: BinarySource{SHA256: strings.Repeat("a", 64)}}}}, "not a plain file name of its own"},
		{AppDescription{Files: []FileSource{{Name: "a", BinarySource: BinarySource{SHA256: strings.Repeat("a", 64)}}, {Name: "a", BinarySource: BinarySource{SHA256: strings.Repeat("b", 64)}}}}, "files[1]"},
		{AppDescription{Files: []FileSource{{Name: "a", Format: ".exe", BinarySource: BinarySource{SHA256: strings.Repeat("a", 64)}}}}, "archive format"},
		{AppDescription{Files: []FileSource{{Name: "a", BinarySource: BinarySource{SHA256: "../x"}}}}, "not a SHA-256"},
		{AppDescription{Files: make([]FileSource, maxFiles+1)}, "at most 100"},
		{AppPoll{ID: long(300)}, "id is 300"},
		{AppRequest{ID: "a", Total: -1}, "total is -1"},
		{AppKill{ID: "a", ExecutorIDs: make([]string, maxListLen+1)}, "executorIds has 4097 entries"},
		{AppKill{ID: "a", ExecutorIDs: []string{"1", long(300)}}, "executorIds[1] is 300 bytes"},
		{DriverSubmission{Args: make([]string, maxArgs+1)}, "args has 4097 entries"},
		{DriverSubmission{Args: []string{long(200 << 10), long(100 << 10)}}, "args total 307200 bytes, more than the limit of 262144"},
		{DriverSubmission{SubmitEnv: long(200 << 10)}, "submitEnv is 204800 bytes long, longer than the limit of 131072"},
		{DriverSubmission{Cores: -2}, "cores is -2"},
		{DriverRef{DriverID: long(1000)}, "driverId is 1000"},
	}
	for _, c := range bad {
		err := c.v.validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%T: got %v; want an error containing %q", c.v, err, c.want)
		}
	}
}

// testAPIMaster is a leading master with its API handler and a binary
// store, without sockets.
func testAPIMaster(t testing.TB) *Master {
	m := newTestMaster(clock.Real{})
	m.opts.WorkerTimeout = 80 * time.Millisecond // 20 ms long polls
	m.stop = make(chan struct{})
	bs, err := newBinaryStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bs.maxSize = 1 << 20
	m.binaries = bs
	// State (for /json) names the API address.
	if m.api, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	m.api.Close()
	return m
}

func post(h http.Handler, path string, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
	return rec
}

// readJSON answers 413 naming the limit for a body above maxRequestBytes
// and 400 naming the field for an oversized field; neither registers.
func TestReadJSONBounds(t *testing.T) {
	m := testAPIMaster(t)
	h := m.apiHandler()
	big := []byte(`{"id":"` + strings.Repeat("x", 16<<20) + `","cores":1,"memoryMiB":1}`)
	rec := post(h, pathWorkerRegister, big)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "larger than the limit of 1048576 bytes") {
		t.Fatalf("16 MiB registration: %d %s", rec.Code, rec.Body)
	}
	field := []byte(`{"id":"` + strings.Repeat("x", 1000) + `","cores":1,"memoryMiB":1}`)
	rec = post(h, pathWorkerRegister, field)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "id is 1000 bytes long, longer than the limit of 256") {
		t.Fatalf("1000-byte id: %d %s", rec.Code, rec.Body)
	}
	if len(m.workers) != 0 {
		t.Fatalf("refused registrations left %d workers", len(m.workers))
	}
	rec = post(h, pathWorkerRegister, []byte(`{"id":"worker-20261203000000-h_1","cores":1,"memoryMiB":1}`))
	if rec.Code != http.StatusOK || len(m.workers) != 1 {
		t.Fatalf("valid registration: %d %s", rec.Code, rec.Body)
	}
}

// An upload above maxBinarySize is refused with 413, whether it announces
// its length or not, and leaves no file behind; one at the limit passes.
func TestBinaryUploadBound(t *testing.T) {
	m := testAPIMaster(t)
	m.binaries.maxSize = 1000
	h := m.apiHandler()
	put := func(data []byte, chunked bool) *httptest.ResponseRecorder {
		sha := fmt.Sprintf("%x", sha256Sum(data))
		var body io.Reader = bytes.NewReader(data)
		if chunked {
			body = io.MultiReader(body) // hides the length
		}
		r := httptest.NewRequest(http.MethodPut, pathBinary+sha, body)
		if chunked {
			r.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	for _, chunked := range []bool{false, true} {
		rec := put(bytes.Repeat([]byte{1}, 1001), chunked)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "larger than the limit of 1000 bytes") {
			t.Fatalf("1001-byte upload (chunked %v): %d %s", chunked, rec.Code, rec.Body)
		}
		if ents, _ := os.ReadDir(m.binaries.dir); len(ents) != 0 {
			t.Fatalf("refused upload left %d file(s) in %s", len(ents), m.binaries.dir)
		}
	}
	if rec := put(bytes.Repeat([]byte{2}, 1000), true); rec.Code != http.StatusOK {
		t.Fatalf("1000-byte upload: %d %s", rec.Code, rec.Body)
	}
}

// The worker's download stops at the bound too.
func TestBinaryDownloadBound(t *testing.T) {
	data := bytes.Repeat([]byte{7}, 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") != "" {
			w.Write(data[:10])
			w.(http.Flusher).Flush()
			w.Write(data[10:])
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	c, err := newBinaryCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.maxSize = 4999
	sha := fmt.Sprintf("%x", sha256Sum(data))
	for _, q := range []string{"", "?chunked=1"} {
		_, err := c.get(t.Context(), BinarySource{URL: srv.URL + q, SHA256: sha})
		if err == nil || !strings.Contains(err.Error(), "limit of 4999") {
			t.Fatalf("download of 5000 bytes with a 4999 limit (%s): %v", q, err)
		}
	}
	if ents, _ := os.ReadDir(c.dir); len(ents) != 0 {
		t.Fatalf("refused download left %d file(s)", len(ents))
	}
	c.maxSize = 5000
	if _, err := c.get(t.Context(), BinarySource{URL: srv.URL, SHA256: sha}); err != nil {
		t.Fatal(err)
	}
}

// Slow-body connections are closed after the read timeout and never keep
// a legitimate call from being served, even beyond MaxConnections.
func TestHTTPLimitsSlowBodies(t *testing.T) {
	l := HTTPLimits{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, IdleTimeout: time.Second, MaxConnections: 50}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := l.serve(lis, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var conns []net.Conn
	for range 200 {
		c, err := net.Dial("tcp", lis.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
		conns = append(conns, c)
	}
	hc := &http.Client{Timeout: testutil.D(10 * time.Second)}
	res, err := hc.Post("http://"+lis.Addr().String()+"/", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatalf("legitimate call behind 200 slow bodies: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("legitimate call: %s", res.Status)
	}
	// Every slow connection is closed by the server.
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(testutil.D(10 * time.Second)))
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("slow connection %d still open", i)
		}
	}
}

// Beyond the retained limits the oldest ended applications and drivers
// are forgotten; running ones and drivers still placed on a worker stay.
func TestRetainedAppsAndDrivers(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := newTestMaster(clk)
	m.opts.RetainedApps, m.opts.RetainedDrivers = 3, 2
	m.registerWorker(WorkerRegistration{ID: "w1", Host: "h1", Cores: 100, MemoryMiB: 100000})
	running := m.addTestApp("app-running", 1, 10)
	for i := range 6 {
		a := m.addTestApp(fmt.Sprintf("app-%d", i), 1, 10)
		clk.Advance(time.Second)
		m.removeApp(a, StateFinished)
	}
	for i := range 5 {
		m.drivers[fmt.Sprintf("driver-%d", i)] = &driverInfo{id: fmt.Sprintf("driver-%d", i), state: StateFinished, submitted: clk.Now().Add(time.Duration(i) * time.Second)}
	}
	placed := &driverInfo{id: "driver-placed", state: StateKilled, workerID: "w1", submitted: clk.Now().Add(-time.Hour)}
	m.drivers[placed.id] = placed
	m.workers["w1"].drivers[placed.id] = placed
	m.drivers["driver-live"] = &driverInfo{id: "driver-live", state: StateSubmitted, submitted: clk.Now().Add(-2 * time.Hour), sub: DriverSubmission{Cores: 1000}}
	m.schedule()
	var apps, drivers []string
	for id := range m.apps {
		apps = append(apps, id)
	}
	for id := range m.drivers {
		drivers = append(drivers, id)
	}
	for _, want := range []string{"app-running", "app-3", "app-4", "app-5"} {
		if m.apps[want] == nil {
			t.Errorf("application %s forgotten; left %v", want, apps)
		}
	}
	if len(m.apps) != 4 || running.state != StateRunning {
		t.Errorf("applications left %v (want the running one and the 3 last ended)", apps)
	}
	for _, want := range []string{"driver-3", "driver-4", "driver-placed", "driver-live"} {
		if m.drivers[want] == nil {
			t.Errorf("driver %s forgotten; left %v", want, drivers)
		}
	}
	if len(m.drivers) != 4 {
		t.Errorf("drivers left %v", drivers)
	}
}

// The cleanup decision: only old top-level directories of what no longer
// runs, and old unused cached binaries.
func TestCleanupDecision(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	ttl := 24 * time.Hour
	old, fresh := now.Add(-25*time.Hour), now.Add(-time.Hour)
	top := []workEntry{
		{Name: "app-old", Dir: true, Newest: old},
		{Name: "app-fresh", Dir: true, Newest: fresh},
		{Name: "app-running", Dir: true, Newest: old},
		{Name: "driver-old", Dir: true, Newest: old},
		{Name: "cache", Dir: true, Newest: old},
		{Name: "stray-file", Dir: false, Newest: old},
		{Name: "operator-notes", Dir: true, Newest: old}, // not an application's or a driver's
		{Name: "link-to-dir", Dir: false, Newest: old},   // a symbolic link
	}
	cache := []workEntry{
		{Name: "aaa", Newest: old}, {Name: "bbb", Newest: old}, {Name: "ccc", Newest: fresh}, {Name: "sub", Dir: true, Newest: old},
	}
	got := cleanupDecision(top, cache, map[string]bool{"app-running": true}, map[string]bool{"bbb": true}, now, ttl)
	want := []string{"app-old", "driver-old", filepath.Join("cache", "aaa")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("cleanup decision = %v; want %v", got, want)
	}
	if got := cleanupDecision(top, cache, nil, nil, old.Add(-time.Minute), ttl); len(got) != 0 {
		t.Fatalf("nothing is older than the ttl yet, but %v would be removed", got)
	}
}

// A real work dir: an old application dir is removed, but not what a
// symbolic link inside it points to, nor a running application's dir, nor
// the binary a running executor uses.
func TestWorkerCleanupOnce(t *testing.T) {
	work, outside := t.TempDir(), t.TempDir()
	keep := filepath.Join(outside, "precious")
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk(keep)
	mk(filepath.Join(work, "app-old", "0", "stderr"))
	mk(filepath.Join(work, "app-run", "0", "stderr"))
	mk(filepath.Join(work, "cache", "sha-used"))
	mk(filepath.Join(work, "cache", "sha-unused"))
	if err := os.Symlink(outside, filepath.Join(work, "app-old", "0", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(work, "toplink")); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-48 * time.Hour)
	tv := []unix.Timeval{unix.NsecToTimeval(past.UnixNano()), unix.NsecToTimeval(past.UnixNano())}
	filepath.Walk(work, func(p string, _ os.FileInfo, _ error) error { return unix.Lutimes(p, tv) })
	w := &Worker{opts: WorkerOptions{WorkDir: work, Cleanup: CleanupOptions{TTL: 24 * time.Hour}}, log: newTestMaster(clock.Real{}).log,
		executors: map[string]*runningExecutor{"app-run/0": {spec: LaunchExecutor{ExecutorRef: ExecutorRef{AppID: "app-run", ExecutorID: "0"}, Binary: BinarySource{SHA256: "sha-used"}}}},
		drivers:   map[string]*runningDriver{}}
	w.cleanupOnce(time.Now())
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }
	if exists(filepath.Join(work, "app-old")) || exists(filepath.Join(work, "cache", "sha-unused")) {
		t.Fatal("old application dir or unused cached binary not removed")
	}
	for _, p := range []string{keep, filepath.Join(work, "app-run", "0", "stderr"), filepath.Join(work, "cache", "sha-used"), filepath.Join(work, "toplink")} {
		if !exists(p) {
			t.Fatalf("%s was removed", p)
		}
	}
}

// FILESYSTEM recovery: a corrupt file keeps the master from starting, with
// an error naming the file, what is wrong and what to do; the file stays.
func TestCorruptRecoveryFileRefused(t *testing.T) {
	for name, content := range map[string]string{
		"app_app-1":       `{"id":"app-1","name":`,
		"app_..":          `{"id":"..","name":"x","memPerExecutorMiB":1,"driverAddress":"d:1","binary":{"url":"u","sha256":"s"}}`,
		"worker_w1":       `{"id":"w1","cores":-3,"memoryMiB":10}`,
		"driver_driver-1": `{"sub":{},"state":"BOGUS"}`,
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := StartMaster(MasterOptions{Host: "127.0.0.1", WebUIPort: -1, RecoveryMode: RecoveryFilesystem, RecoveryDir: dir})
		if err == nil {
			m.Stop()
			t.Fatalf("master started with corrupt %s", name)
		}
		for _, want := range []string{"recovery file " + path + " is corrupt", "move it aside to start without it"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if _, serr := os.Stat(path); serr != nil {
			t.Errorf("corrupt file gone: %v", serr)
		}
		t.Logf("%s: %v", name, err)
	}
	// Valid state next to the master's binaries directory starts.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "worker_worker-20261203000000-h_1"), []byte(`{"id":"worker-20261203000000-h_1","host":"h","cores":1,"memoryMiB":10}`), 0o600)
	m, err := StartMaster(MasterOptions{Host: "127.0.0.1", WebUIPort: -1, RecoveryMode: RecoveryFilesystem, RecoveryDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m.Stop()
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// The leader removes uploaded binaries no driver refers to once they are
// older than the grace period; uploads in progress are left alone.
func TestBinaryStoreGC(t *testing.T) {
	m := testAPIMaster(t)
	dir := m.binaries.dir
	shaOf := func(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }
	old := time.Now().Add(-2 * binaryGrace)
	files := map[string]time.Time{shaOf("used"): old, shaOf("unused"): old, shaOf("recent"): time.Now(), "upload-123": old}
	for name, mod := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mod, mod)
	}
	m.drivers["driver-1"] = &driverInfo{id: "driver-1", state: StateFinished, sub: DriverSubmission{SHA256: shaOf("used")}}
	m.mu.Lock()
	m.collectBinaries(time.Now())
	m.mu.Unlock()
	for name := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := err != nil; gone != (name == shaOf("unused")) {
			t.Errorf("%s: removed %v", name, gone)
		}
	}
}

// A large upload slower than the read timeout but faster than the minimum
// rate gets through: its deadline is sized from its length.
func TestBinaryUploadDeadlineBySize(t *testing.T) {
	m := testAPIMaster(t)
	m.binaries.maxSize = 4 << 20
	m.binaries.limits = HTTPLimits{ReadTimeout: 300 * time.Millisecond, MinRate: 1 << 20}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := m.binaries.limits.serve(lis, m.apiHandler())
	defer srv.Close()
	data := bytes.Repeat([]byte("z"), 2<<20) // 2 s allowed at 1 MiB/s, plus 0.3 s
	// Sent in 8 pieces over about 0.8 s: longer than the read timeout.
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 8; i++ {
			pw.Write(data[i*len(data)/8 : (i+1)*len(data)/8])
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPut, "http://"+lis.Addr().String()+pathBinary+fmt.Sprintf("%x", sha256.Sum256(data)), pr)
	req.ContentLength = int64(len(data))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("slow 2 MiB upload: %s %s", res.Status, body)
	}
}

// `stoke submit` of a binary above the master's limit fails with the
// master's reason, and the master stores nothing.
func TestSubmitOversizedBinary(t *testing.T) {
	m, err := StartMaster(MasterOptions{Host: "127.0.0.1", WebUIPort: -1, MaxBinarySize: 1000, WorkDir: t.TempDir(), Log: newTestMaster(clock.Real{}).log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, bytes.Repeat([]byte("y"), 5000), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = NewSubmitClient([]string{m.Addr()}, "").Submit(t.Context(), bin, DriverSubmission{})
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 1000 bytes") {
		t.Fatalf("submitting a 5000-byte binary to a master with a 1000-byte limit: %v", err)
	}
	if ents, _ := os.ReadDir(m.binaries.dir); len(ents) != 0 {
		t.Fatalf("master kept %d file(s)", len(ents))
	}
}

// The stoke.* keys reach the master's and the worker's options, and the
// master's API answers for longer than its long-poll wait.
func TestBoundsFromConf(t *testing.T) {
	c := conf.New()
	for k, v := range map[string]string{
		"stoke.deploy.maxBinarySize": "5m", "stoke.deploy.retainedApplications": "7", "stoke.deploy.retainedDrivers": "8",
		"stoke.deploy.http.readHeaderTimeout": "2", "stoke.deploy.http.readTimeout": "3s", "stoke.deploy.http.idleTimeout": "4s",
		"stoke.deploy.http.maxConnections": "9", "stoke.worker.cleanup.enabled": "false", "stoke.worker.cleanup.interval": "60",
		"stoke.worker.cleanup.appDataTtl": "3600", "stoke.worker.timeout": "400s",
	} {
		c.Set(k, v, conf.SourceCode)
	}
	mo, err := MasterOptionsFromConf(c)
	if err != nil {
		t.Fatal(err)
	}
	want := HTTPLimits{ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second, MaxConnections: 9}
	if mo.MaxBinarySize != 5<<20 || mo.RetainedApps != 7 || mo.RetainedDrivers != 8 || mo.HTTP != want {
		t.Fatalf("master options from conf: %+v", mo)
	}
	var wo WorkerOptions
	if err := WorkerBoundsFromConf(c, &wo); err != nil {
		t.Fatal(err)
	}
	if wo.MaxBinarySize != 5<<20 || wo.HTTP != want || wo.Cleanup != (CleanupOptions{Disabled: true, Interval: time.Minute, TTL: time.Hour}) {
		t.Fatalf("worker options from conf: %+v", wo)
	}
	c.Set("stoke.deploy.retainedApplications", "0", conf.SourceCode)
	if _, err := MasterOptionsFromConf(c); err == nil || !strings.Contains(err.Error(), "stoke.deploy.retainedApplications") {
		t.Fatalf("retainedApplications=0: %v", err)
	}
	mo.Host, mo.WebUIPort, mo.RetainedApps = "127.0.0.1", -1, 7
	m, err := StartMaster(mo)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	// Long polls are capped at 20 s whatever the worker timeout.
	if m.pollWait() != 20*time.Second || m.apiSrv.WriteTimeout <= m.pollWait()+mo.HTTP.ReadTimeout || m.apiSrv.ReadTimeout != 3*time.Second || m.apiSrv.IdleTimeout != 4*time.Second {
		t.Fatalf("API server: poll wait %s, write timeout %s, read timeout %s, idle %s", m.pollWait(), m.apiSrv.WriteTimeout, m.apiSrv.ReadTimeout, m.apiSrv.IdleTimeout)
	}
}
