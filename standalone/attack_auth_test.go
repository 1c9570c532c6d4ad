package standalone_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

// runSecureApp runs an application on a secure cluster with n executors.
func runSecureApp(t *testing.T, sc *secureCluster, n int) *stoke.Context {
	t.Helper()
	ctx, _ := runApp(t, "stoke://"+sc.addr, n, stoke.Config{standalone.KeySecretFile: sc.secretFile,
		"stoke.executor.memory": "256m", "stoke.executor.cores": "1", "stoke.cores.max": fmt.Sprint(n)})
	return ctx
}

// Issue 11 item 1: without the cluster secret nothing is accepted — no
// application (with a binary of the caller's choice), no fake worker, no
// unregister of a running application, no driver submission, no binary —
// and the master refuses before reading the body.
func TestAttackUnauthenticatedCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	sc := startSecureCluster(t, 2, 1, 512)
	app := runSecureApp(t, sc, 2)
	before, err := masterState(sc.addr)
	if err != nil {
		t.Fatal(err)
	}
	var workerID string
	for _, w := range before.Workers {
		workerID = w.ID
	}
	evil := `{"name":"evil","memPerExecutorMiB":64,"driverAddress":"127.0.0.1:1","binary":{"url":"http://127.0.0.1:1/evil","sha256":"` + strings.Repeat("a", 64) + `"},"secret":"x"}`
	calls := []struct{ path, body string }{
		{"/v1/app/register", evil},
		{"/v1/app/unregister", `{"id":"` + app.AppID() + `"}`},
		{"/v1/app/kill-executors", `{"id":"` + app.AppID() + `","executorIds":["0","1"]}`},
		{"/v1/app/request", `{"id":"` + app.AppID() + `","total":0}`},
		{"/v1/app/poll", `{"id":"` + app.AppID() + `"}`},
		{"/v1/worker/register", `{"id":"worker-20260101000000-fake-1","host":"127.0.0.1","cores":64,"memoryMiB":65536}`},
		{"/v1/worker/poll", `{"id":"` + workerID + `"}`},
		{"/v1/worker/event", `{"workerId":"` + workerID + `"}`},
		{"/v1/driver/submit", `{"sha256":"` + strings.Repeat("b", 64) + `"}`},
		{"/v1/driver/status", `{"driverId":"driver-20260101000000-0001"}`},
		{"/v1/driver/kill", `{"driverId":"driver-20260101000000-0001"}`},
	}
	for _, secret := range []string{"", "wrong-" + sc.secret} {
		for _, c := range calls {
			if code, body := post(t, sc.addr, c.path, secret, c.body); code != http.StatusUnauthorized || !strings.Contains(body, "cluster secret") {
				t.Errorf("POST %s with a secret %v: %d %s, want 401 naming the cluster secret", c.path, secret != "", code, body)
			}
		}
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			req, _ := http.NewRequest(method, "http://"+sc.addr+"/v1/binary/"+strings.Repeat("c", 64), strings.NewReader("x"))
			if secret != "" {
				req.Header.Set(standalone.SecretHeader, secret)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s binary without the secret: %s", method, res.Status)
			}
		}
	}
	// The refusal comes before the body: a request announcing 1 GB and
	// sending none is answered at once.
	conn, err := net.Dial("tcp", sc.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/app/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{")
	conn.SetReadDeadline(time.Now().Add(testutil.D(10 * time.Second)))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a request without the secret and with a body not yet sent: %v, %v; want 401 at once", res, err)
	}

	after, err := masterState(sc.addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Apps) != 1 || after.Apps[0].ID != app.AppID() || after.Apps[0].State != standalone.StateRunning || len(after.Apps[0].Executors) != 2 {
		t.Errorf("running applications after the attack: %+v", after.Apps)
	}
	if len(after.Workers) != 2 || len(after.Drivers) != 0 || len(after.Completed) != 0 {
		t.Errorf("workers %d, drivers %v, completed %v after the attack", len(after.Workers), after.Drivers, after.Completed)
	}
	if after.Insecure {
		t.Error("/json says insecure on a master with a secret")
	}
	// The application still works.
	ds, err := stoke.Parallelize(app, []int{1, 2, 3, 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := stoke.Count(context.Background(), ds); err != nil || n != 4 {
		t.Fatalf("count after the attack = %d, %v", n, err)
	}
	assertNoSecret(t, sc.secret, secretScan{dirs: []string{sc.root()}, urls: sc.pages(t), pids: sc.pids(t)})
}

// fakeMaster is an HTTP server that speaks the master's worker API and
// sends the commands given.
type fakeMaster struct {
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	cmds   []standalone.WorkerCommand
	events []standalone.WorkerEvent
	noAuth int
}

func newFakeMaster(t *testing.T, secret string, cmds ...standalone.WorkerCommand) *fakeMaster {
	f := &fakeMaster{secret: secret, cmds: cmds}
	for i := range f.cmds {
		f.cmds[i].Seq = int64(i + 1)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Header.Get(standalone.SecretHeader) != f.secret {
			f.noAuth++
			http.Error(w, `{"error":"wrong cluster secret"}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v1/worker/register":
			io.WriteString(w, "{}")
		case "/v1/worker/poll":
			var p standalone.WorkerPoll
			json.NewDecoder(r.Body).Decode(&p)
			var out []standalone.WorkerCommand
			for _, c := range f.cmds {
				if c.Seq > p.Ack {
					out = append(out, c)
				}
			}
			if len(out) == 0 {
				f.mu.Unlock()
				time.Sleep(100 * time.Millisecond)
				f.mu.Lock()
			}
			json.NewEncoder(w).Encode(standalone.WorkerPollReply{Commands: out})
		case "/v1/worker/event":
			var ev standalone.WorkerEvent
			json.NewDecoder(r.Body).Decode(&ev)
			f.events = append(f.events, ev)
			io.WriteString(w, "{}")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMaster) failedWith(substr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range f.events {
		if ev.Executor != nil && ev.Executor.State == standalone.StateFailed && strings.Contains(ev.Executor.Reason, substr) {
			return true
		}
		if ev.Driver != nil && ev.Driver.State == standalone.StateFailed && strings.Contains(ev.Driver.Reason, substr) {
			return true
		}
	}
	return false
}

// Issue 11 item 2: an application id with "../" is refused by the master,
// and a worker given traversal ids (by a master that went rogue) refuses
// them before making any path: nothing appears outside its work dir and
// no binary is fetched. The worker's log page refuses them too.
func TestAttackTraversalIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	sc := startSecureCluster(t, 1, 1, 512)
	outside := t.TempDir()
	traversal := "../../../../../../../../.." + outside + "/x/app"
	body := `{"id":"` + traversal + `","name":"evil","memPerExecutorMiB":64,"driverAddress":"127.0.0.1:1","binary":{"url":"http://127.0.0.1:1/evil","sha256":"` + strings.Repeat("a", 64) + `"},"secret":"x"}`
	code, reply := post(t, sc.addr, "/v1/app/register", sc.secret, body)
	if code != http.StatusBadRequest || !strings.Contains(reply, "not one this master makes") {
		t.Errorf("registering application id %q: %d %s", traversal, code, reply)
	}
	if s, _ := masterState(sc.addr); len(s.Apps)+len(s.Completed) != 0 {
		t.Errorf("applications after a traversal id: %+v", s.Apps)
	}

	// A worker under a master that sends traversal ids.
	var fetches int
	var fmu sync.Mutex
	binSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmu.Lock()
		fetches++
		fmu.Unlock()
		io.WriteString(w, "#!/bin/sh\ntouch "+outside+"/ran\n")
	}))
	defer binSrv.Close()
	sum := sha256.Sum256([]byte("#!/bin/sh\ntouch " + outside + "/ran\n"))
	bin := standalone.BinarySource{URL: binSrv.URL + "/bin", SHA256: hex.EncodeToString(sum[:])}
	fm := newFakeMaster(t, sc.secret,
		standalone.WorkerCommand{LaunchExecutor: &standalone.LaunchExecutor{ExecutorRef: standalone.ExecutorRef{AppID: traversal, ExecutorID: "1"}, Cores: 1, MemoryMiB: 64, Binary: bin}},
		standalone.WorkerCommand{LaunchExecutor: &standalone.LaunchExecutor{ExecutorRef: standalone.ExecutorRef{AppID: "app-20260101000000-0001", ExecutorID: "../../../x\x00"}, Cores: 1, MemoryMiB: 64, Binary: bin}},
		standalone.WorkerCommand{LaunchDriver: &standalone.LaunchDriver{DriverID: "../../" + outside + "/drv", Binary: bin}},
	)
	workDir := t.TempDir()
	startDaemon(t, nil, "worker", "stoke://"+strings.TrimPrefix(fm.srv.URL, "http://"), "--host", "127.0.0.1", "--cores", "1", "--memory", "512",
		"--work-dir", workDir, "--webui-port", "0", "--secret-file", sc.secretFile)
	testutil.Eventually(t, 30*time.Second, "the worker to refuse the traversal ids", func() bool {
		return fm.failedWith(quote(traversal)) && fm.failedWith(`"../../../x\x00"`) && fm.failedWith("refuses to launch driver")
	})
	if fm.noAuth != 0 {
		t.Errorf("the worker called its master %d times without the cluster secret", fm.noAuth)
	}
	ents, _ := os.ReadDir(outside)
	if len(ents) != 0 || fetches != 0 {
		t.Errorf("outside the work dir: %v; binary fetched %d times", ents, fetches)
	}

	// The worker UI's log page.
	s, _ := masterState(sc.addr)
	for _, q := range []string{"app=..&executor=..", "app=" + traversal + "&executor=1", "driver=../../etc/passwd", "app=app-20260101000000-0001&executor=%2e%2e"} {
		res, err := http.Get(s.Workers[0].WebUIURL + "/log?" + q + "&file=stderr")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("/log?%s: %s %s", q, res.Status, b)
		}
	}
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// Issue 11 item 3: a cluster-mode submission carrying secrets (given on
// the command line, as an attacker found them) leaves none in the
// recovery directory, work dirs, logs, pages or process arguments; the
// driver still registers its application with a secret file the worker
// wrote (mode 0600).
func TestAttackSecretsAtRest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts daemons")
	}
	recovery := t.TempDir()
	sc := startSecureCluster(t, 1, 3, 3072, "--conf", "stoke.deploy.recoveryMode=FILESYSTEM", "--conf", "stoke.deploy.recoveryDirectory="+recovery)
	master := "stoke://" + sc.addr
	wc := wordcountBinary(t)
	sample, _ := filepath.Abs("../examples/wordcount/sample.txt")
	mesosSecret := randomSecret(t)
	submit := func(extra ...string) string {
		args := append([]string{"submit", "--master", master, "--deploy-mode", "cluster", "--conf", standalone.KeySecret + "=" + sc.secret,
			"--conf", "stoke.mesos.secret=" + mesosSecret, "--conf", "stoke.ui.enabled=false"}, extra...)
		out, err := stokeCmd(t, append(args, wc, "-top", "3", sample)...)
		if err != nil {
			t.Fatalf("cluster submission: %v\n%s", err, out)
		}
		m := submittedRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no submission id in %q", out)
		}
		return m[1]
	}
	// One driver too big for the worker stays SUBMITTED in the recovery state.
	waiting := submit("--conf", "stoke.driver.cores=64")
	done := submit()
	st := waitDriver(t, master, done, sc.secret, func(s string) bool { return strings.Contains(s, "FINISHED") || strings.Contains(s, "FAILED") })
	if !strings.Contains(st, "FINISHED") {
		t.Fatalf("driver status: %s", st)
	}
	if _, err := os.Stat(filepath.Join(recovery, "driver_"+waiting)); err != nil {
		t.Fatalf("the waiting driver is not in the recovery state: %v", err)
	}
	s, _ := masterState(sc.addr)
	if len(s.Completed) != 1 || s.Completed[0].State != standalone.StateFinished {
		t.Errorf("the cluster-mode driver's application: %+v", s.Completed)
	}
	var secretFiles []string
	filepath.WalkDir(sc.root(), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == standalone.SecretFileName && strings.Contains(p, done) {
			secretFiles = append(secretFiles, p)
		}
		return nil
	})
	if len(secretFiles) != 1 {
		t.Errorf("secret files of driver %s: %v", done, secretFiles)
	} else if fi, _ := os.Stat(secretFiles[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v", secretFiles[0], fi.Mode().Perm())
	}
	scan := secretScan{dirs: []string{sc.root(), recovery}, urls: sc.pages(t), pids: sc.pids(t)}
	assertNoSecret(t, sc.secret, scan)
	assertNoSecret(t, mesosSecret, scan)
}

// Issue 11 item 4: each application has its own secret; an executor
// process given application A's secret (read from A's executor's
// environment) cannot join application B's driver. Neither secret is in
// the master's recovery state, pages or logs.
func TestAttackCrossApplicationExecutor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	recovery := t.TempDir()
	sc := startSecureCluster(t, 2, 1, 512, "--conf", "stoke.deploy.recoveryMode=FILESYSTEM", "--conf", "stoke.deploy.recoveryDirectory="+recovery)
	a := runSecureApp(t, sc, 1)
	b := runSecureApp(t, sc, 1)
	pidOf := func(app string) int { return executorPID(t, sc.addr, app, "0") }
	secretA := procEnv(t, pidOf(a.AppID()), "STOKE_APP_SECRET")
	secretB := procEnv(t, pidOf(b.AppID()), "STOKE_APP_SECRET")
	driverB := procEnv(t, pidOf(b.AppID()), "STOKE_DRIVER_ADDRESS")
	if secretA == secretB || secretA == sc.secret || secretB == sc.secret {
		t.Fatalf("applications share a secret (A==B %v, A==cluster %v)", secretA == secretB, secretA == sc.secret)
	}
	exe, _ := os.Executable()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(60*time.Second))
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), "STOKE_DRIVER_ADDRESS="+driverB, "STOKE_APP_SECRET="+secretA, "STOKE_EXECUTOR_ID=999",
		"STOKE_EXECUTOR_CORES=1", "STOKE_EXECUTOR_HOST=127.0.0.1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ctx.Err() != nil {
		t.Fatalf("the impostor executor: %v (context %v)\n%s", err, ctx.Err(), out)
	}
	if !strings.Contains(strings.ToLower(string(out)), "refused") && !strings.Contains(strings.ToLower(string(out)), "unauthenticated") {
		t.Errorf("the impostor's refusal does not say why:\n%s", out)
	}
	for _, e := range b.Driver().Executors() {
		if e.ID == "999" {
			t.Fatal("application B accepted an executor with application A's secret")
		}
	}
	scan := secretScan{dirs: []string{sc.root(), recovery}, urls: sc.pages(t), pids: []int{sc.master.cmd.Process.Pid, sc.workers[0].cmd.Process.Pid, sc.workers[1].cmd.Process.Pid,
		pidOf(a.AppID()), pidOf(b.AppID())}}
	assertNoSecret(t, secretA, scan)
	assertNoSecret(t, secretB, scan)
	assertNoSecret(t, sc.secret, scan)
}

// Issue 11 item 7: a driver whose application the master removed (here
// an operator unregisters it) learns it within seconds: the running job
// and new jobs fail with a clear error instead of hanging.
func TestAttackRemovedApplicationFailsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	sc := startSecureCluster(t, 2, 1, 512)
	app := runSecureApp(t, sc, 2)
	done, _ := slowSumJob(t, app, 400)
	if code, body := post(t, sc.addr, "/v1/app/unregister", sc.secret, `{"id":"`+app.AppID()+`"}`); code != http.StatusOK {
		t.Fatalf("unregister: %d %s", code, body)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "removed application") {
			t.Fatalf("the running job ended with %v, want the removal", err)
		}
	case <-time.After(testutil.D(20 * time.Second)):
		t.Fatal("the running job did not fail after its application was removed")
	}
	ds, _ := stoke.Parallelize(app, []int{1}, 1)
	if _, err := stoke.Count(context.Background(), ds); err == nil || !strings.Contains(err.Error(), "removed application") {
		t.Errorf("a new job: %v", err)
	}
	// A re-registration with the id but another application secret is
	// refused too (403), whatever the application's state.
	body := `{"id":"` + app.AppID() + `","name":"x","memPerExecutorMiB":64,"driverAddress":"127.0.0.1:1","binary":{"url":"http://127.0.0.1:1/x","sha256":"` + strings.Repeat("a", 64) + `"},"secret":"another"}`
	if code, reply := post(t, sc.addr, "/v1/app/register", sc.secret, body); code != http.StatusForbidden || !strings.Contains(reply, "another application secret") {
		t.Errorf("re-attach with another app secret: %d %s", code, reply)
	}
}

// Issue 11 item 11: a client-mode driver killed with SIGKILL is noticed
// within seconds (it polls no more): the application leaves RUNNING and
// its executors are not relaunched meanwhile.
func TestAttackKilledDriverNoticed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	// A worker timeout far beyond the test's waits: only the driver's
	// missing poll can end the application in time.
	sc := startSecureCluster(t, 2, 1, 512, "--conf", "stoke.worker.timeout=600s", "--conf", "stoke.deploy.driverDisconnectGrace=2s")
	drv, id := startTestDriver(t, sc)
	launches := func() int {
		data, _ := os.ReadFile(sc.master.log)
		return strings.Count(string(data), "launching executor")
	}
	before := launches()
	if err := drv.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	s := waitState(t, sc.addr, testutil.D(20*time.Second), "the killed driver's application to end", func(s standalone.MasterState) bool {
		for _, a := range s.Completed {
			if a.ID == id {
				return true
			}
		}
		return false
	})
	t.Logf("application ended %s after its driver was killed", time.Since(killed).Round(time.Millisecond))
	for _, a := range s.Completed {
		if a.ID == id && a.State != standalone.StateFailed {
			t.Errorf("application state %s, want FAILED", a.State)
		}
	}
	waitState(t, sc.addr, testutil.D(20*time.Second), "the executors to be freed", func(s standalone.MasterState) bool { return s.CoresUsed == 0 })
	if n := launches() - before; n != 0 {
		t.Errorf("the master launched %d executors after the application's driver died (relaunches)", n)
	}
}

// Issue 11 item 9: a worker with a wrong secret says so at ERROR level,
// naming what to do, once rather than every 200 ms.
func TestAttackWrongSecretWorkerLogsError(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	sc := startSecureCluster(t, 0, 1, 512)
	_, wrong := writeSecretFile(t)
	w := startDaemon(t, nil, "worker", "stoke://"+sc.addr, "--host", "127.0.0.1", "--cores", "1", "--memory", "512", "--work-dir", t.TempDir(), "--webui-port", "0", "--secret-file", wrong)
	var data []byte
	testutil.Eventually(t, 20*time.Second, "the worker to log the refusal", func() bool {
		data, _ = os.ReadFile(w.log)
		return strings.Contains(string(data), "refuses this worker's cluster secret")
	})
	start := time.Now()
	for time.Since(start) < 2*time.Second { // let it retry a few times
		time.Sleep(100 * time.Millisecond)
	}
	data, _ = os.ReadFile(w.log)
	if n := strings.Count(string(data), "refuses this worker's cluster secret"); n != 1 {
		t.Errorf("the refusal was logged %d times in 2 s, want once:\n%s", n, data)
	}
	if !strings.Contains(string(data), "level=error") || !strings.Contains(string(data), "--secret-file") {
		t.Errorf("the refusal is not an error naming --secret-file:\n%s", data)
	}
	if s, _ := masterState(sc.addr); len(s.Workers) != 0 {
		t.Errorf("a worker with a wrong secret registered: %+v", s.Workers)
	}
}

// local-cluster makes its own cluster secret in memory: its master
// refuses callers without it, and says it is not insecure.
func TestAttackLocalClusterHasItsOwnSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	sc, _ := runApp(t, "local-cluster[1,1,512]", 1, stoke.Config{"stoke.executor.memory": "256m"})
	lc, ok := sc.Backend().(*standalone.LocalCluster)
	if !ok {
		t.Fatalf("backend %T", sc.Backend())
	}
	if lc.Master().State().Insecure {
		t.Error("local-cluster's master runs without a secret")
	}
	if code, body := post(t, lc.Master().Addr(), "/v1/app/unregister", "", `{"id":"`+sc.AppID()+`"}`); code != http.StatusUnauthorized {
		t.Errorf("unregister without local-cluster's secret: %d %s", code, body)
	}
	if code, body := post(t, lc.Master().Addr(), "/v1/app/unregister", randomSecret(t), `{"id":"`+sc.AppID()+`"}`); code != http.StatusUnauthorized {
		t.Errorf("unregister with a made-up secret: %d %s", code, body)
	}
}
