package yarn_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/hdfspb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/yarn"
)

// testAppArg makes the test binary run testApp instead of the tests: the binary YARN runs as
// the cluster-mode driver is this one.
const testAppArg = "stoke-yarn-test-app"

var (
	words  = stoke.RegisterFlatMap("yarntest.words", strings.Fields)
	one    = stoke.RegisterMap("yarntest.one", func(w string) stoke.KV[string, int] { return stoke.KV[string, int]{Key: w, Value: 1} })
	sum    = stoke.RegisterReduceByKey[string, int]("yarntest.sum", func(a, b int) int { return a + b })
	slowly = stoke.RegisterMap("yarntest.slowly", func(i int) int { time.Sleep(400 * time.Millisecond); return i * 2 })
	now    = stoke.RegisterMap("yarntest.now", func(int) int64 { return time.Now().UnixNano() })
	// shipped reads what --files and --archives put in the container.
	shipped = stoke.RegisterMap("yarntest.shipped", func(int) string {
		a, err1 := os.ReadFile("lookup.txt")
		b, err2 := os.ReadFile("dict/words.txt")
		if err := errors.Join(err1, err2); err != nil {
			return "error: " + err.Error()
		}
		return strings.TrimSpace(string(a)) + "+" + strings.TrimSpace(string(b)) + "+" + os.Getenv("GREETING")
	})
	boom = stoke.RegisterMap("yarntest.boom", func(i int) int {
		if i == 3 {
			panic("boom-7f3a: the test job's task fails on purpose")
		}
		return i
	})
)

func TestMain(m *testing.M) {
	stoke.RunIfExecutor()
	if len(os.Args) > 1 && os.Args[1] == testAppArg {
		os.Exit(testApp(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// testApp is the driver program of the cluster-mode tests.
func testApp(args []string) int {
	sc, err := stoke.New(stoke.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "test app:", err)
		return 1
	}
	defer sc.Stop()
	ctx := context.Background()
	switch args[0] {
	case "wordcount": // in out [slow]
		if len(args) > 3 {
			// Hold the job for a while so a test can kill the AM mid-job.
			nums, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 4)
			if _, err := stoke.Collect(ctx, stoke.Map(nums, slowly)); err != nil {
				fmt.Fprintln(os.Stderr, "test app:", err)
				return 1
			}
		}
		lines, err := stoke.TextFile(sc, args[1], 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "test app:", err)
			return 1
		}
		counts := stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, words), one), sum, 2)
		if err := stoke.SaveAsTextFile(ctx, counts, args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "test app:", err)
			return 1
		}
		return 0
	case "firsttask": // out: when the driver started, an executor registered, the first task ran
		t0 := time.Now().UnixNano()
		for len(sc.Driver().Executors()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		t1 := time.Now().UnixNano()
		nums, _ := stoke.Parallelize(sc, []int{0}, 1)
		got, err := stoke.Collect(ctx, stoke.Map(nums, now))
		if err != nil {
			fmt.Fprintln(os.Stderr, "test app:", err)
			return 1
		}
		line, _ := stoke.Parallelize(sc, []string{fmt.Sprintf("%d %d %d", t0, t1, got[0])}, 1)
		if err := stoke.SaveAsTextFile(ctx, line, args[1]); err != nil {
			fmt.Fprintln(os.Stderr, "test app:", err)
			return 1
		}
		return 0
	case "outlive": // in seconds: read HDFS in a job every second for that long
		secs, _ := strconv.Atoi(args[2])
		end := time.Now().Add(time.Duration(secs) * time.Second)
		for time.Now().Before(end) {
			lines, err := stoke.TextFile(sc, args[1], 2)
			if err == nil {
				_, err = stoke.Count(ctx, lines)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "test app: reading HDFS:", err)
				return 1
			}
			time.Sleep(time.Second)
		}
		return 0
	case "logmarker":
		return logMarkerApp(sc)
	case "logroll": // flag: the markers, then run until the flag file exists
		return logRollApp(sc, args[1])
	case "fail":
		nums, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 4)
		_, err := stoke.Collect(ctx, stoke.Map(nums, boom))
		fmt.Fprintln(os.Stderr, "test app: job failed:", err)
		return 1
	}
	return 2
}

func startCluster(t *testing.T) *hadooptest.Cluster {
	c := hadooptest.StartWith(t, hadooptest.Options{NodeManagers: 2})
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return c
}

func yarnConfig(extra stoke.Config) stoke.Config {
	cfg := stoke.Config{
		"stoke.master":                       "yarn",
		"stoke.app.name":                     "stoke-yarn-test",
		"stoke.executor.instances":           "2",
		"stoke.executor.cores":               "2",
		"stoke.executor.memory":              "256m",
		"stoke.yarn.executor.memoryOverhead": "128m",
		"stoke.yarn.am.memory":               "256m",
		"stoke.driver.memory":                "256m",
		"stoke.task.maxFailures":             "3",
		"stoke.yarn.tags":                    "stoke-test",
		"stoke.yarn.report.interval":         "200ms",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

func newConf(t testing.TB, cfg stoke.Config) *conf.Conf {
	c := conf.New()
	for k, v := range cfg {
		c.Set(k, v, conf.SourceCode)
	}
	return c
}

// TestYARN runs everything that needs the minicluster on one harness (two NodeManagers).
func TestYARN(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts the Hadoop minicluster")
	}
	c := startCluster(t)
	local := func(t *testing.T) {
		if c.External {
			t.Skip("kills container processes, which only works when the NodeManagers run on this machine (the harness)")
		}
	}
	t.Run("Conformance", func(t *testing.T) { testConformance(t, c.External) })
	t.Run("WordCountClusterMode", func(t *testing.T) { testWordCountCluster(t, c, false) })
	t.Run("ExecutorContainerKilled", func(t *testing.T) { local(t); testExecutorKilled(t) })
	t.Run("AMKilledSecondAttempt", func(t *testing.T) { local(t); testWordCountCluster(t, c, true) })
	t.Run("FailingJob", func(t *testing.T) { testFailingJob(t) })
	t.Run("TrackingURLThroughRMProxy", func(t *testing.T) { testTrackingURL(t, c) })
	t.Run("FilesAndArchives", func(t *testing.T) { testFilesAndArchives(t) })
	t.Run("UnknownQueue", func(t *testing.T) { testUnknownQueue(t) })
	t.Run("KillFromClient", func(t *testing.T) { testKill(t) })
	t.Run("BinaryOverQuota", func(t *testing.T) { local(t); testQuota(t, c) })
	t.Run("LogsWithoutAggregation", func(t *testing.T) { local(t); testLogsDisabled(t) })
	t.Run("ProgressInRMReport", func(t *testing.T) { local(t); testProgress(t) })
}

// testQuota: a binary larger than the staging directory's HDFS space quota fails the start
// with an error naming the quota, and no half-staged files stay behind.
func testQuota(t *testing.T, c *hadooptest.Cluster) {
	base := "/tmp/stoke-quota"
	fs, err := fsx.For(c.FS + base)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.MkdirAll(c.FS + base); err != nil {
		t.Fatal(err)
	}
	nn, err := ipc.NewClient([]string{c.NameNode}, ipc.Config{Protocol: ipc.ClientNamenodeProtocol})
	if err != nil {
		t.Fatal(err)
	}
	defer nn.Close()
	if err := nn.Call(context.Background(), "setQuota", &hdfspb.SetQuotaRequestProto{
		Path: proto.String(base), NamespaceQuota: proto.Uint64(math.MaxInt64), StoragespaceQuota: proto.Uint64(1 << 20),
	}, &hdfspb.SetQuotaResponseProto{}); err != nil {
		t.Fatalf("setQuota: %v", err)
	}
	_, err = stoke.New(yarnConfig(stoke.Config{"stoke.yarn.stagingDir": base, "stoke.ui.enabled": "false"}))
	if err == nil || !strings.Contains(err.Error(), "quota") || !strings.Contains(err.Error(), "application_") {
		t.Fatalf("start with a binary over the staging quota: %v", err)
	}
	t.Log(err)
	left, err := fs.List(c.FS + base + "/.stokeStaging")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("half-staged files left: %+v", left)
	}
}

func testConformance(t *testing.T, external bool) {
	cfg := yarnConfig(nil)
	kill := func(t *testing.T, sc *stoke.Context, id string) { killExecutor(t, sc, id) }
	if external {
		kill = nil // the suite says why it skips the executor-loss case
	}
	backendtest.Run(t, backendtest.Harness{
		Config:            cfg,
		Executors:         2,
		CoresPerExecutor:  2,
		Timeout:           3 * time.Minute,
		DynamicAllocation: true,
		NewBackend: func(t *testing.T) backend.Backend {
			m, _ := conf.ParseMaster("yarn")
			b, err := yarn.New(m, newConf(t, cfg), nil)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		KillExecutor: kill,
	})
}

// killExecutor kills the process of one executor container with SIGKILL.
func killExecutor(t *testing.T, sc *stoke.Context, id string) {
	t.Helper()
	pids := findProcs(t, "STOKE_EXECUTOR_ID="+id+"\n", "CONTAINER_ID=container_"+appIDPart(sc.AppID()))
	var mine []int
	for _, p := range pids {
		if strings.Contains(environ(p), "STOKE_APP_SECRET=") {
			t.Fatalf("executor %s's container environment carries the driver's secret", id)
		}
		mine = append(mine, p)
	}
	if len(mine) != 1 {
		t.Fatalf("executor %s of %s: found processes %v", id, sc.AppID(), mine)
	}
	if err := syscall.Kill(mine[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// appIDPart is the part of application_<ts>_<n> that container ids repeat: <ts>_<n>.
func appIDPart(appID string) string { return strings.TrimPrefix(appID, "application_") + "_" }

func environ(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{'\n'})) + "\n"
}

// findProcs lists the Stoke processes YARN started (command name stoke-app, not the
// container's launch shell) whose environment has a line starting with each of want.
func findProcs(t *testing.T, want ...string) []int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []int
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		comm, _ := os.ReadFile(d + "/comm")
		if strings.TrimSpace(string(comm)) != "stoke-app" {
			continue
		}
		env := "\n" + environ(pid)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(env, "\n"+w)
		}
		if ok {
			out = append(out, pid)
		}
	}
	sort.Ints(out)
	return out
}

func writeInput(t *testing.T, c *hadooptest.Cluster, dir string) map[string]int {
	t.Helper()
	fs, err := fsx.For(c.FS + dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.MkdirAll(c.FS + dir); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	want := map[string]int{}
	for i := 0; i < 3000; i++ {
		w := fmt.Sprintf("w%d", i%37)
		text.WriteString(w + " common\n")
		want[w]++
		want["common"]++
	}
	wr, err := fs.Create(c.FS + dir + "/input.txt")
	if err != nil {
		t.Fatal(err)
	}
	wr.Write([]byte(text.String()))
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

func readCounts(t *testing.T, c *hadooptest.Cluster, dir string) map[string]int {
	t.Helper()
	fs, err := fsx.For(c.FS + dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.List(c.FS + dir)
	if err != nil {
		t.Fatalf("listing the output: %v", err)
	}
	got := map[string]int{}
	for _, f := range files {
		r, err := fs.Open(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if l == "" {
				continue
			}
			var k string
			var v int
			if _, err := fmt.Sscanf(strings.Trim(l, "{}"), "%s %d", &k, &v); err != nil {
				t.Fatalf("output line %q: %v", l, err)
			}
			got[k] += v
		}
	}
	if _, err := fs.Stat(c.FS + dir + "/_SUCCESS"); err != nil {
		t.Errorf("no _SUCCESS marker: %v", err)
	}
	return got
}

func exe(t testing.TB) string {
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func encode(c *conf.Conf) string { return conf.EncodeSubmit(c.All()) }

func submitCluster(t *testing.T, cfg stoke.Config, args ...string) (string, chan error, *syncWriter) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := newConf(t, cfg)
	out := &syncWriter{b: &bytes.Buffer{}}
	cs := &yarn.ClusterSubmission{Conf: c, HandOff: conf.EncodeSubmit(c.All()), Binary: exe, Args: append([]string{testAppArg}, args...), Out: out}
	done := make(chan error, 1)
	ids := make(chan string, 1)
	cs.OnSubmitted = func(id string) { ids <- id }
	go func() {
		code, err := yarn.SubmitCluster(context.Background(), cs)
		if err == nil && code != 0 {
			err = fmt.Errorf("exit code %d", code)
		}
		done <- err
	}()
	select {
	case id := <-ids:
		return id, done, out
	case err := <-done:
		t.Fatalf("cluster-mode submission: %v", err)
	}
	return "", nil, nil
}

type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func yarnClient(t *testing.T) *yarn.Client {
	t.Helper()
	yc, err := yarn.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { yc.Close() })
	return yc
}

// testWordCountCluster runs the word count with the driver in the AM, reading and writing
// HDFS. With killAM the first AM process is killed mid-job and the second attempt must run
// the job to the same result.
func testWordCountCluster(t *testing.T, c *hadooptest.Cluster, killAM bool) {
	dir := fmt.Sprintf("/tmp/stoke-yarn-wc-%v", killAM)
	want := writeInput(t, c, dir)
	args := []string{"wordcount", c.FS + dir + "/input.txt", c.FS + dir + "/out"}
	name := "stoke-wordcount-cluster"
	if killAM {
		args = append(args, "slow")
		name += "-am-killed"
	}
	appID, done, out := submitCluster(t, yarnConfig(stoke.Config{"stoke.app.name": name, "stoke.yarn.maxAppAttempts": "2"}), args...)
	yc := yarnClient(t)
	if killAM {
		// Wait for the first attempt's executors, then kill its AM (and with it the driver).
		deadline := time.Now().Add(testutil.D(2 * time.Minute))
		for len(findProcs(t, "STOKE_EXECUTOR_ID=", "CONTAINER_ID=container_"+appIDPart(appID)+"01_")) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no executor of %s started", appID)
			}
			time.Sleep(100 * time.Millisecond)
		}
		ams := findProcs(t, "STOKE_YARN_AM=cluster\n", "CONTAINER_ID=")
		var mine []int
		for _, p := range ams {
			if strings.Contains(environ(p), appIDPart(appID)+"01_000001") {
				mine = append(mine, p)
			}
		}
		if len(mine) != 1 {
			t.Fatalf("AM processes of %s: %v", appID, mine)
		}
		if err := syscall.Kill(mine[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			r, _ := yc.Report(context.Background(), appID)
			t.Fatalf("%v\n%s\nreport: %v", err, out, r)
		}
	case <-time.After(testutil.D(4 * time.Minute)):
		t.Fatalf("%s did not end\n%s", appID, out)
	}
	r, err := yc.Report(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	if r.GetYarnApplicationState() != yarnpb.YarnApplicationState_FINISHED || r.GetFinalApplicationStatus() != yarnpb.FinalApplicationStatus_APP_SUCCEEDED {
		t.Fatalf("report: %s", yarn.Describe(r))
	}
	if r.GetName() != name || !strings.HasSuffix(r.GetQueue(), "default") || r.GetApplicationType() != "STOKE" || len(r.GetApplicationTags()) != 1 || r.GetApplicationTags()[0] != "stoke-test" {
		t.Fatalf("name %q queue %q type %q tags %v", r.GetName(), r.GetQueue(), r.GetApplicationType(), r.GetApplicationTags())
	}
	wantAttempt := int32(1)
	if killAM {
		wantAttempt = 2
	}
	if got := r.GetCurrentApplicationAttemptId().GetAttemptId(); got != wantAttempt {
		t.Fatalf("the application ended in attempt %d, want %d", got, wantAttempt)
	}
	got := readCounts(t, c, dir+"/out")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}
	for _, s := range []string{"ACCEPTED", "RUNNING", "FINISHED", "final status SUCCEEDED"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("stoke submit's output lacks %q:\n%s", s, out)
		}
	}
	assertStagingGone(t, c, appID)
}

func assertStagingGone(t *testing.T, c *hadooptest.Cluster, appID string) {
	t.Helper()
	fs, err := fsx.For(c.FS + "/")
	if err != nil {
		t.Fatal(err)
	}
	p := c.FS + "/user/" + fsx.HadoopUser() + "/.stokeStaging/" + appID
	if _, err := fs.Stat(p); err == nil {
		t.Errorf("the staging directory %s is still there", p)
	}
}

// testExecutorKilled kills an executor container's process mid-job in client mode: the job
// completes and YARN gives the AM a replacement container.
func testExecutorKilled(t *testing.T) {
	sc, err := stoke.New(yarnConfig(stoke.Config{"stoke.ui.enabled": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	waitExecutors(t, sc, 2)
	data := make([]int, 40)
	for i := range data {
		data[i] = i
	}
	done := make(chan error, 1)
	var res []int
	go func() {
		var err error
		nums, err := stoke.Parallelize(sc, data, 20)
		if err == nil {
			res, err = stoke.Collect(context.Background(), stoke.Map(nums, slowly))
		}
		done <- err
	}()
	time.Sleep(time.Second)
	killExecutor(t, sc, "1")
	if err := <-done; err != nil {
		t.Fatalf("job after the executor container died: %v", err)
	}
	if len(res) != 40 || res[39] != 78 {
		t.Fatalf("results %v", res)
	}
	// The AM asked for a replacement: executor 3 registers.
	deadline := time.Now().Add(testutil.D(2 * time.Minute))
	for {
		ids := map[string]bool{}
		for _, e := range sc.Driver().Executors() {
			ids[e.ID] = true
		}
		if ids["3"] && !ids["1"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replacement executor: %v", ids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitExecutors(t *testing.T, sc *stoke.Context, n int) {
	t.Helper()
	deadline := time.Now().Add(testutil.D(2 * time.Minute))
	for len(sc.Driver().Executors()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d executors registered", len(sc.Driver().Executors()), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testFailingJob: a driver whose job fails ends the application FAILED, with the task's
// error in the diagnostics.
func testFailingJob(t *testing.T) {
	appID, done, out := submitCluster(t, yarnConfig(stoke.Config{"stoke.app.name": "stoke-failing", "stoke.yarn.maxAppAttempts": "1"}), "fail")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "exit code 1") {
			t.Fatalf("submission of a failing job: %v\n%s", err, out)
		}
	case <-time.After(testutil.D(4 * time.Minute)):
		t.Fatalf("%s did not end", appID)
	}
	r, err := yarnClient(t).Report(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	if r.GetFinalApplicationStatus() != yarnpb.FinalApplicationStatus_APP_FAILED || !strings.Contains(r.GetDiagnostics(), "boom-7f3a") {
		t.Fatalf("report: %s", yarn.Describe(r))
	}
	if !strings.Contains(out.String(), "boom-7f3a") {
		t.Errorf("stoke submit did not print the diagnostics:\n%s", out)
	}
}

// testUnknownQueue: the RM rejects the application; the client says so and leaves nothing
// staged.
func testUnknownQueue(t *testing.T) {
	appID, done, out := submitCluster(t, yarnConfig(stoke.Config{"stoke.yarn.queue": "no-such-queue"}), "wordcount", "x", "y")
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("submission to an unknown queue succeeded")
		}
	case <-time.After(testutil.D(2 * time.Minute)):
		t.Fatal("no answer")
	}
	if !strings.Contains(out.String(), "no-such-queue") || !strings.Contains(out.String(), "FAILED") {
		t.Fatalf("output does not name the queue:\n%s", out)
	}
	_ = appID
}

// testKill: stoke submit --kill's path ends a running application KILLED.
func testKill(t *testing.T) {
	appID, done, out := submitCluster(t, yarnConfig(stoke.Config{"stoke.app.name": "stoke-killed"}), "wordcount", "/nonexistent", "/x", "slow")
	yc := yarnClient(t)
	if _, err := yc.Wait(context.Background(), appID, 100*time.Millisecond, func(r *yarnpb.ApplicationReport) bool {
		return r.GetYarnApplicationState() == yarnpb.YarnApplicationState_RUNNING
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := yc.Kill(context.Background(), appID, "killed by the test"); err != nil {
		t.Fatal(err)
	}
	<-done
	r, err := yc.Report(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	if r.GetYarnApplicationState() != yarnpb.YarnApplicationState_KILLED {
		t.Fatalf("after kill: %s\n%s", yarn.Describe(r), out)
	}
	if err := yc.Kill(context.Background(), "application_1_99999", ""); err == nil || !strings.Contains(err.Error(), "does not know") {
		t.Fatalf("killing an unknown application: %v", err)
	}
}

// testTrackingURL: the application's tracking URL, the ResourceManager's
// proxy (/proxy/<application>/), shows the driver's UI, and its pages'
// relative links work through the proxy.
func testTrackingURL(t *testing.T, c *hadooptest.Cluster) {
	// The submission carries an attempt-failure validity interval (field 13
	// of the submission context); the RM accepts it.
	sc, err := stoke.New(yarnConfig(stoke.Config{"stoke.app.name": "stoke-tracked", "stoke.ui.port": "0", "stoke.yarn.priority": "3",
		"stoke.yarn.am.attemptFailuresValidityInterval": "1h"}))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := stoke.Count(context.Background(), ds); err != nil || n != 4 {
		t.Fatalf("count = %d, %v", n, err)
	}
	r, err := yarnClient(t).Report(context.Background(), sc.AppID())
	if err != nil {
		t.Fatal(err)
	}
	// The minicluster's maximum application priority is 0: the RM caps the
	// 3 asked, and Stoke says so (the report's priority field is read).
	if w := yarn.PriorityCapped(3, r); !strings.Contains(w, "priority 0, not the 3 asked") {
		t.Errorf("the capped priority: %q (report priority %v)", w, r.GetPriority())
	}
	tracking := r.GetTrackingUrl()
	if !strings.Contains(tracking, "/proxy/"+sc.AppID()) {
		t.Fatalf("tracking URL %q is not the RM's proxy of %s", tracking, sc.AppID())
	}
	if !strings.HasSuffix(tracking, "/") {
		tracking += "/"
	}
	// MiniYARNCluster configures the RM's web address as host:0, and the RM
	// builds tracking URLs from its configuration, not from the port it
	// bound: use the bound one (a real RM has a fixed port).
	if u, err := url.Parse(tracking); err == nil && u.Port() == "0" && c.RMWebApp != "" {
		u.Host = c.RMWebApp
		tracking = u.String()
	}
	hc := &http.Client{Timeout: testutil.D(30 * time.Second)}
	for path, want := range map[string]string{
		"":               "stoke-tracked", // redirected to jobs/, still under the proxy
		"jobs/":          "Completed jobs",
		"jobs/job/?id=0": "Job 0",
		"stages/":        "Stages",
		"executors/":     "Executors",
		"environment/":   "stoke.app.name",
	} {
		resp, err := hc.Get(tracking + path)
		if err != nil {
			t.Fatalf("GET %s%s: %v", tracking, path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s%s through the RM proxy: %s, want %q in:\n%.600s", tracking, path, resp.Status, want, body)
		}
		if final := resp.Request.URL.Path; !strings.Contains(final, "/proxy/"+sc.AppID()) {
			t.Errorf("GET %s%s ended outside the proxy at %s", tracking, path, resp.Request.URL)
		}
	}
}

// testFilesAndArchives: --files and --archives (stoke.files, stoke.archives)
// put a lookup file and an unpacked archive in every executor container's
// working directory, under their names; stoke.executorEnv.* sets the
// executors' environment.
func testFilesAndArchives(t *testing.T) {
	dir := t.TempDir()
	lookup := filepath.Join(dir, "lookup.txt")
	if err := os.WriteFile(lookup, []byte("from-files\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	arch := filepath.Join(dir, "dictionary.tar.gz")
	if err := writeTarGz(arch, "words.txt", "from-archive\n"); err != nil {
		t.Fatal(err)
	}
	sc, err := stoke.New(yarnConfig(stoke.Config{"stoke.app.name": "stoke-shipped", "stoke.ui.enabled": "false",
		"stoke.files": lookup, "stoke.archives": arch + "#dict", "stoke.executorEnv.GREETING": "hello"}))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stoke.Collect(context.Background(), stoke.Map(ds, shipped))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if g != "from-files+from-archive+hello" {
			t.Fatalf("a task read %q in its container", g)
		}
	}
}

func writeTarGz(path, name, content string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		return err
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
