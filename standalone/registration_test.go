package standalone_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

// A driver started before its master registers once the master is up
// (stoke.standalone.registrationTimeout), as Spark's driver retries its
// registration instead of failing at the first refused connection.
func TestRegistrationWaitsForAMasterThatStartsLate(t *testing.T) {
	port := freePort(t)
	type result struct {
		sc  *stoke.Context
		err error
	}
	done := make(chan result, 1)
	go func() {
		sc, err := stoke.New(stoke.Config{"stoke.master": "stoke://127.0.0.1:" + strconv.Itoa(port), "stoke.ui.enabled": "false",
			"stoke.driver.allowMultipleContexts": "true", "stoke.standalone.registrationTimeout": fmt.Sprintf("%ds", int(testutil.D(60*time.Second).Seconds()))})
		done <- result{sc, err}
	}()
	// The master comes up while the driver is retrying (a real answer
	// before that would have ended the attempts: that is the other test).
	time.Sleep(300 * time.Millisecond)
	m, err := standalone.StartMaster(standalone.MasterOptions{Host: "127.0.0.1", Port: port, WebUIPort: -1, SpreadOut: true,
		WorkerTimeout: 5 * time.Second, WorkDir: t.TempDir(), Log: logrus.StandardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	r := <-done
	if r.err != nil {
		t.Fatalf("the driver did not register with the master that started late: %v", r.err)
	}
	defer r.sc.Stop()
	if !strings.HasPrefix(r.sc.AppID(), "app-") {
		t.Fatalf("application id %q", r.sc.AppID())
	}
}

// A job whose executors all fail at start fails with the cause instead of
// waiting forever: after stoke's (and Spark's) ten failed executors in a
// row with none left, the master removes the application and the driver's
// jobs fail saying why.
func TestJobFailsWhenEveryExecutorFailsAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	bin := filepath.Join(t.TempDir(), "broken-app")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'this build is broken' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := stoke.Config{"stoke.master": "local-cluster[1,1,512]", "stoke.executor.memory": "256m", "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true"}
	m, _ := conf.ParseMaster(cfg["stoke.master"])
	c, _, err := conf.Resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := standalone.NewLocalCluster(m, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	lc.Binary = bin
	sc, err := stoke.New(cfg, stoke.WithBackend(lc))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(120*time.Second))
	defer cancel()
	_, err = stoke.Count(ctx, ds)
	if ctx.Err() != nil {
		t.Fatal("the job still waits for executors that will never come")
	}
	for _, want := range []string{"10 executors of the application failed in a row", "exited with code 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want it to say %q", err, want)
		}
	}
}

// The master's UI and /json link an application to its driver's UI.
func TestMasterLinksTheDriverUI(t *testing.T) {
	m := inProcessMaster(t, "")
	sc, err := stoke.New(stoke.Config{"stoke.master": "stoke://" + m.Addr(), "stoke.ui.port": "0", "stoke.driver.allowMultipleContexts": "true"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	if sc.UIURL() == "" {
		t.Fatal("the driver serves no UI")
	}
	st := waitState(t, m.UIAddr(), testutil.D(10*time.Second), "the application listed", func(s standalone.MasterState) bool { return len(s.Apps) == 1 })
	if got := st.Apps[0].DriverUIURL; got != sc.UIURL() {
		t.Fatalf("the master links application %s to %q, want the driver UI %q", st.Apps[0].ID, got, sc.UIURL())
	}
}

// The driver knows where each executor's logs are (the worker's log page),
// so its UI's Logs column links to them; the page serves the executor's
// stderr.
func TestExecutorsCarryTheirLogURL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	sc, _ := runApp(t, "local-cluster[1,1,512]", 1, stoke.Config{"stoke.executor.memory": "256m", "stoke.task.maxFailures": "1"})
	execs := sc.Driver().Executors()
	u := execs[0].LogURL
	if !strings.HasPrefix(u, "http://") || !strings.Contains(u, "/log?") || !strings.Contains(u, "executor="+execs[0].ID) {
		t.Fatalf("executor %s log URL %q", execs[0].ID, u)
	}
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stoke.Count(context.Background(), stoke.Map(ds, failOnTwo)); err == nil {
		t.Fatal("a job whose task fails succeeded")
	}
	read := func() string {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", u, res.Status)
		}
		return string(body)
	}
	// The executor says at info level that it joined (its stderr page was
	// blank), and as Spark's executors do, each task's start and end; a
	// failure at warn with its cause.
	var body string
	wants := []string{"registered with the driver", "running task ", "finished task ", "failed: panic: two is refused"}
	defer func() {
		if t.Failed() {
			t.Logf("the executor's stderr:\n%s", body)
		}
	}()
	testutil.Eventually(t, 30*time.Second, "the executor's log telling of its tasks", func() bool {
		body = read()
		for _, w := range wants {
			if !strings.Contains(body, w) {
				return false
			}
		}
		return true
	})
}

var failOnTwo = stoke.RegisterMap("standalone_test.failOnTwo", func(x int) int {
	if x == 2 {
		panic("two is refused")
	}
	return x
})

// The master and every worker serve Prometheus metrics beside their UIs,
// with lower-case label values like the driver's.
func TestDaemonMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	m := inProcessMaster(t, "")
	w := inProcessWorker(t, m, 2, 1024, "")
	sc, err := stoke.New(stoke.Config{"stoke.master": "stoke://" + m.Addr(), "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true",
		"stoke.executor.memory": "256m", "stoke.executor.cores": "1", "stoke.cores.max": "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	testutil.Eventually(t, 30*time.Second, "an executor registered", func() bool { return len(sc.Driver().Executors()) == 1 })
	scrape := func(addr string) string {
		t.Helper()
		res, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s/metrics: %s", addr, res.Status)
		}
		return string(b)
	}
	master := scrape(m.UIAddr())
	for _, want := range []string{`stoke_master_workers{state="alive"} 1`, `stoke_master_applications{state="running"} 1`,
		`stoke_master_cores{kind="total"} 2`, `stoke_master_cores{kind="used"} 1`, `stoke_master_memory_bytes{kind="used"} 2.68435456e+08`,
		"stoke_master_executors 1", "stoke_master_leader 1", "go_goroutines"} {
		if !strings.Contains(master, want) {
			t.Errorf("the master's /metrics lacks %q", want)
		}
	}
	worker := scrape(w.UIAddr())
	for _, want := range []string{`stoke_worker_cores{kind="total"} 2`, `stoke_worker_cores{kind="used"} 1`, `stoke_worker_executors{state="running"} 1`,
		`stoke_worker_memory_bytes{kind="total"} 1.073741824e+09`} {
		if !strings.Contains(worker, want) {
			t.Errorf("the worker's /metrics lacks %q:\n%s", want, worker)
		}
	}
}

// Executors' heartbeats carry their process's metrics (memory, CPU time,
// GC, goroutines, block store bytes): the driver's executors page, its
// REST API and its /metrics serve every executor's, with the per-executor
// task and shuffle counts it keeps itself (issue 14).
func TestExecutorMetricsReachTheDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	sc, _ := runApp(t, "local-cluster[1,1,512]", 1, stoke.Config{"stoke.executor.memory": "256m", "stoke.ui.enabled": "true", "stoke.ui.port": "0",
		"stoke.executor.heartbeatInterval": "100ms"})
	// A cached dataset and a shuffle: the executor holds both afterwards.
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3, 4, 5, 6, 7}, 2)
	if err != nil {
		t.Fatal(err)
	}
	cached := stoke.ReduceByKey(stoke.Map(ds, keyOf), sumInt, 2).Cache()
	if n, err := stoke.Count(context.Background(), cached); err != nil || n != 7 {
		t.Fatalf("count %d, %v", n, err)
	}
	api := sc.UIURL() + "/api/v1/applications/" + sc.AppID() + "/executors"
	var execs []struct {
		ID           string `json:"id"`
		RSS          int64  `json:"rssBytes"`
		Heap         int64  `json:"heapBytes"`
		MemoryLimit  int64  `json:"memoryLimitBytes"`
		MemoryUsed   int64  `json:"memoryUsed"`
		Goroutines   int    `json:"goroutines"`
		GCCycles     int64  `json:"gcCycles"`
		ShuffleWrite int64  `json:"totalShuffleWrite"`
		ShuffleRead  int64  `json:"totalShuffleRead"`
	}
	// Heartbeats come every 100 ms: wait for one sent after the job.
	testutil.Eventually(t, 20*time.Second, "a heartbeat's metrics in the REST API", func() bool {
		res, err := http.Get(api)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		return json.NewDecoder(res.Body).Decode(&execs) == nil && len(execs) == 1 && execs[0].RSS > 0 && execs[0].MemoryUsed > 0
	})
	if e := execs[0]; e.Heap <= 0 || e.MemoryLimit != 256<<20 || e.RSS < e.Heap/2 || e.Goroutines <= 0 || e.ShuffleWrite <= 0 || e.ShuffleRead <= 0 {
		t.Fatalf("executor metrics %+v", e)
	}
	res, err := http.Get(sc.UIURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	id := `executor_id="` + execs[0].ID + `"`
	for _, want := range []string{`stoke_executor_memory_bytes{` + id + `,kind="rss"}`, `kind="limit"} 2.68435456e+08`,
		`stoke_executor_goroutines{` + id + `}`, `stoke_executor_cpu_seconds_total{` + id + `}`, `stoke_executor_gc_cycles_total{` + id + `}`,
		`stoke_executor_gc_pause_seconds_total{` + id + `}`, `stoke_executor_storage_bytes{` + id + `,kind="cache_memory"}`,
		`stoke_executor_storage_bytes{` + id + `,kind="shuffle_memory"}`, `stoke_executor_active_tasks{` + id + `} 0`,
		`stoke_executor_tasks_total{` + id + `,status="succeeded"} 4`, `stoke_executor_task_seconds_total{` + id + `}`,
		`stoke_executor_shuffle_bytes_total{direction="write",` + id + `}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Counters that must have moved: CPU time, and the cached bytes.
	for _, series := range []string{`stoke_executor_cpu_seconds_total{` + id + `} `, `stoke_executor_storage_bytes{` + id + `,kind="cache_memory"} `} {
		_, rest, ok := strings.Cut(string(b), series)
		v, _, _ := strings.Cut(rest, "\n")
		if f, err := strconv.ParseFloat(v, 64); !ok || err != nil || f <= 0 {
			t.Errorf("%s is %q, want > 0", series, v)
		}
	}
}

var keyOf = stoke.RegisterMap("standalone_test.keyOf", func(x int) stoke.KV[string, int] {
	return stoke.KV[string, int]{Key: "k" + strconv.Itoa(x), Value: x}
})

// stoke.ui.reverseProxy: the master serves a running application's driver
// UI under /proxy/<application>/ (read-only), its pages' relative links
// staying under that prefix; unknown or malformed ids and writes are
// refused, and without the setting there is no proxy.
func TestMasterReverseProxy(t *testing.T) {
	for _, on := range []bool{true, false} {
		m, err := standalone.StartMaster(standalone.MasterOptions{Host: "127.0.0.1", Port: 0, WebUIPort: 0, SpreadOut: true, ReverseProxy: on,
			WorkerTimeout: 5 * time.Second, WorkDir: t.TempDir(), Log: logrus.StandardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Stop()
		sc, err := stoke.New(stoke.Config{"stoke.master": "stoke://" + m.Addr(), "stoke.ui.port": "0", "stoke.app.name": "proxied app",
			"stoke.driver.allowMultipleContexts": "true"})
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Stop()
		base := "http://" + m.UIAddr() + "/proxy/" + sc.AppID() + "/"
		res, err := http.Get(base)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !on {
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("without stoke.ui.reverseProxy: %s", res.Status)
			}
			continue
		}
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "proxied app") || !strings.HasSuffix(res.Request.URL.Path, "/proxy/"+sc.AppID()+"/jobs/") {
			t.Fatalf("GET %s: %s at %s:\n%.500s", base, res.Status, res.Request.URL, body)
		}
		_, _, page := getPage(t, "http://"+m.UIAddr()+"/")
		if !strings.Contains(page, `href="proxy/`+sc.AppID()+`/"`) {
			t.Errorf("the master's page does not link the application through the proxy")
		}
		for path, want := range map[string]int{
			"/proxy/app-20200101000000-9999/": http.StatusNotFound,
			"/proxy/..%2f..%2fetc/":           http.StatusBadRequest,
			"/proxy/not-an-app/jobs/":         http.StatusBadRequest,
		} {
			if code, _, _ := getPage(t, "http://"+m.UIAddr()+path); code != want {
				t.Errorf("GET %s: %d, want %d", path, code, want)
			}
		}
		res, err = http.PostForm(base+"jobs/kill/", url.Values{"id": {"0"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("a POST through the proxy: %s, want 405", res.Status)
		}
	}
}

func getPage(t *testing.T, u string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// stoke.deploy.historyServer.address: the master links completed
// applications to their page on the history server; a malformed address is
// refused with the key.
func TestMasterLinksCompletedAppsToHistory(t *testing.T) {
	c := conf.New()
	c.Set("stoke.deploy.historyServer.address", "history.example:18080", conf.SourceConfFlag)
	opts, err := standalone.MasterOptionsFromConf(c)
	if err != nil || opts.HistoryURL != "http://history.example:18080" {
		t.Fatalf("options %q, %v", opts.HistoryURL, err)
	}
	opts.Host, opts.WorkDir, opts.Log, opts.WebUIPort = "127.0.0.1", t.TempDir(), logrus.StandardLogger(), 0
	m, err := standalone.StartMaster(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	sc, err := stoke.New(stoke.Config{"stoke.master": "stoke://" + m.Addr(), "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true"})
	if err != nil {
		t.Fatal(err)
	}
	id := sc.AppID()
	sc.Stop()
	waitState(t, m.UIAddr(), testutil.D(10*time.Second), "the application completed", func(s standalone.MasterState) bool { return len(s.Completed) == 1 })
	if _, _, page := getPage(t, "http://"+m.UIAddr()+"/"); !strings.Contains(page, `href="http://history.example:18080/history/`+id+`/"`) {
		t.Errorf("the completed application does not link to the history server:\n%s", page)
	}
	bad := conf.New()
	bad.Set("stoke.deploy.historyServer.address", "ftp://h:1", conf.SourceConfFlag)
	if _, err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "stoke.deploy.historyServer.address") {
		t.Errorf("a malformed address: %v", err)
	}
}

// The executors page links each active executor to its goroutine stacks,
// fetched from the executor process over its connection to the driver.
func TestExecutorStacks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	sc, _ := runApp(t, "local-cluster[1,1,512]", 1, stoke.Config{"stoke.executor.memory": "256m", "stoke.ui.enabled": "true", "stoke.ui.port": "0"})
	id := sc.Driver().Executors()[0].ID
	_, _, page := getPage(t, sc.UIURL()+"/executors/")
	if !strings.Contains(page, `href="executors/stack/?id=`+id+`"`) {
		t.Fatalf("no stacks link on the executors page")
	}
	code, h, text := getPage(t, sc.UIURL()+"/executors/stack/?id="+id)
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || !strings.Contains(text, "goroutine ") ||
		!strings.Contains(text, "stoke/executor.") {
		t.Fatalf("stacks of executor %s: %d %q\n%.800s", id, code, h.Get("Content-Type"), text)
	}
	for path, want := range map[string]int{"/executors/stack/?id=nope": 404, "/executors/stack/": 400} {
		if code, _, _ := getPage(t, sc.UIURL()+path); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
}
