package standalone_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

// boundsMaster is a `stoke master` process on loopback with extra
// arguments (--conf key=value). All the attack tests below start their
// daemons here and in boundsWorker: when the master requires a cluster
// secret, this is the one place to add it.
func boundsMaster(t *testing.T, extra ...string) (d *daemon, addr string) {
	t.Helper()
	port := freePort(t)
	addr = "127.0.0.1:" + strconv.Itoa(port)
	d = startDaemon(t, nil, append([]string{"master", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--webui-port", "-1"}, extra...)...)
	waitState(t, addr, testutil.D(30*time.Second), "the master to lead", func(s standalone.MasterState) bool { return s.Status == "ALIVE" })
	return d, addr
}

// boundsWorker is a `stoke worker` process of that master.
func boundsWorker(t *testing.T, masterAddr, workDir string, extra ...string) *daemon {
	t.Helper()
	return startDaemon(t, nil, append([]string{"worker", "stoke://" + masterAddr, "--host", "127.0.0.1", "--cores", "1",
		"--memory", "256", "--work-dir", workDir, "--webui-port", "0"}, extra...)...)
}

// vmRSS is a process's resident memory in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// postRaw posts body to the master and returns the status (0 when the
// connection broke first: the server stops reading an oversized body).
func postRaw(addr, path string, body []byte) (int, string, error) {
	hc := &http.Client{Timeout: testutil.D(30 * time.Second)}
	res, err := hc.Post("http://"+addr+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(b), nil
}

// 20 worker registrations with 15 MB ids and a 16 MiB body are refused
// (413), an over-long id in a small body too (400); the master's memory
// stays within 100 MB of where it was and /json stays small.
func TestAttackBoundsLargeBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	m, addr := boundsMaster(t)
	before := vmRSS(t, m.cmd.Process.Pid)
	id := strings.Repeat("w", 15<<20)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(standalone.WorkerRegistration{ID: id, Host: "h", Cores: 1, MemoryMiB: 1})
			code, _, _ := postRaw(addr, "/v1/worker/register", body)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	code, msg, err := postRaw(addr, "/v1/app/register", bytes.Repeat([]byte(" "), 16<<20))
	t.Logf("answers to 20 registrations with 15 MB ids: %v; to a 16 MiB body: %d %s %v", codes, code, msg, err)
	if codes[http.StatusOK] > 0 || codes[http.StatusRequestEntityTooLarge] == 0 || code == http.StatusOK {
		t.Fatalf("oversized requests not refused with 413: %v, %d", codes, code)
	}
	for c := range codes {
		if c != 0 && c != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized registration answered %d", c)
		}
	}
	code, msg, err = postRaw(addr, "/v1/worker/register", []byte(`{"id":"`+strings.Repeat("w", 5000)+`","host":"h","cores":1,"memoryMiB":1}`))
	if err != nil || code != http.StatusBadRequest || !strings.Contains(msg, "id is 5000 bytes long, longer than the limit of 256") {
		t.Fatalf("5000-byte worker id: %d %s %v", code, msg, err)
	}
	after := vmRSS(t, m.cmd.Process.Pid)
	t.Logf("master RSS %d MB before, %d MB after", before>>20, after>>20)
	if after > before+100<<20 {
		t.Fatalf("master RSS grew from %d MB to %d MB", before>>20, after>>20)
	}
	res, err := http.Get("http://" + addr + "/json")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if len(data) > 16<<10 {
		t.Fatalf("/json is %d bytes", len(data))
	}
}

// A binary upload above stoke.deploy.maxBinarySize is refused (413) and
// leaves no file in the master's work dir.
func TestAttackBoundsUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	work := t.TempDir()
	_, addr := boundsMaster(t, "--work-dir", work, "--conf", "stoke.deploy.maxBinarySize=1m")
	data := bytes.Repeat([]byte("b"), 3<<20)
	sum := sha256.Sum256(data)
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(data)
		if chunked {
			body = io.MultiReader(body)
		}
		req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/v1/binary/"+hex.EncodeToString(sum[:]), body)
		res, err := (&http.Client{Timeout: testutil.D(30 * time.Second)}).Do(req)
		if err != nil {
			t.Logf("3 MiB upload (chunked %v): connection closed before the answer: %v", chunked, err)
		} else {
			msg, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(msg), "larger than the limit of 1048576 bytes") {
				t.Fatalf("3 MiB upload (chunked %v) with a 1 MiB limit: %s %s", chunked, res.Status, msg)
			}
		}
		testutil.Eventually(t, 10*time.Second, "no upload left in the master's binary store", func() bool {
			ents, err := os.ReadDir(filepath.Join(work, "binaries"))
			return err == nil && len(ents) == 0
		})
	}
}

// 1,500 connections that send headers and then a body too slowly: with
// 1,000 connections served at once and a 2 s read timeout, a legitimate
// call is still served and every slow connection is closed by the server.
func TestAttackBoundsSlowBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	var lim unix.Rlimit
	n := 1500
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur < uint64(n)+200 {
		n = int(lim.Cur) - 200
	}
	_, addr := boundsMaster(t, "--conf", "stoke.deploy.http.readHeaderTimeout=1s", "--conf", "stoke.deploy.http.readTimeout=2s",
		"--conf", "stoke.deploy.http.maxConnections=1000")
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /v1/worker/register HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"id\":\"")
	}
	t.Logf("%d slow connections open", n)
	start := time.Now()
	code, msg, err := postRaw(addr, "/v1/worker/register", []byte(`{"id":"worker-20261203000000-legit","host":"h","cores":1,"memoryMiB":64}`))
	if err != nil || code != http.StatusOK {
		t.Fatalf("legitimate registration behind %d slow connections: %d %s %v", n, code, msg, err)
	}
	t.Logf("legitimate call served after %s", time.Since(start))
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(testutil.D(20 * time.Second)))
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("slow connection %d is still open", i)
		}
	}
	s, err := masterState(addr)
	if err != nil || len(s.Workers) != 1 {
		t.Fatalf("master after the slow connections: %+v, %v", s.Workers, err)
	}
}

// More than stoke.deploy.retainedApplications ended applications leave
// only the most recent ones in /json.
func TestAttackBoundsRetainedApps(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	_, addr := boundsMaster(t, "--conf", "stoke.deploy.retainedApplications=5")
	var ids []string
	for i := range 12 {
		body, _ := json.Marshal(standalone.AppDescription{Name: fmt.Sprintf("a%d", i), MemPerExecutor: 64, DriverAddress: "127.0.0.1:1",
			Binary: standalone.BinarySource{URL: "http://127.0.0.1:1/b", SHA256: strings.Repeat("a", 64)}, Secret: fmt.Sprintf("app-secret-%d", i)})
		code, msg, err := postRaw(addr, "/v1/app/register", body)
		if err != nil || code != http.StatusOK {
			t.Fatalf("registering application %d: %d %s %v", i, code, msg, err)
		}
		var reg standalone.AppRegistered
		if err := json.Unmarshal([]byte(msg), &reg); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, reg.ID)
		if code, msg, err := postRaw(addr, "/v1/app/unregister", []byte(`{"id":"`+reg.ID+`"}`)); err != nil || code != http.StatusOK {
			t.Fatalf("unregistering %s: %d %s %v", reg.ID, code, msg, err)
		}
	}
	s, err := masterState(addr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range s.Completed {
		got = append(got, a.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(ids[7:]) {
		t.Fatalf("completed applications in /json: %v; want the last 5 of %v", got, ids)
	}
}

// A worker removes an application directory untouched for longer than
// stoke.worker.cleanup.appDataTtl, but not a recent one, nor a file a
// symbolic link in the old directory points to.
func TestAttackBoundsWorkerCleanup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	_, addr := boundsMaster(t)
	work, outside := t.TempDir(), t.TempDir()
	precious := filepath.Join(outside, "precious")
	for _, p := range []string{precious, filepath.Join(work, "app-old", "0", "stderr"), filepath.Join(work, "app-new", "0", "stderr")} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(work, "app-old", "0", "link")); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-3 * time.Hour)
	tv := []unix.Timeval{unix.NsecToTimeval(past.UnixNano()), unix.NsecToTimeval(past.UnixNano())}
	filepath.Walk(filepath.Join(work, "app-old"), func(p string, _ os.FileInfo, _ error) error { return unix.Lutimes(p, tv) })
	boundsWorker(t, addr, work, "--conf", "stoke.worker.cleanup.interval=1s", "--conf", "stoke.worker.cleanup.appDataTtl=3600")
	testutil.Eventually(t, 20*time.Second, "the worker to remove app-old", func() bool {
		_, err := os.Lstat(filepath.Join(work, "app-old"))
		return os.IsNotExist(err)
	})
	for _, p := range []string{precious, filepath.Join(work, "app-new", "0", "stderr")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("cleanup removed %s: %v", p, err)
		}
	}
}
