package stoke_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/backend/local"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/internal/ui"
)

var (
	double = stoke.RegisterMap("test.double", func(n int) int { return 2 * n })
	nap    = stoke.RegisterMap("test.nap", func(n int) int { time.Sleep(time.Duration(n) * time.Millisecond); return n })
	plus   = stoke.RegisterReduceByKey[int, int]("test.plus", func(a, b int) int { return a + b })
	byMod  = stoke.RegisterMap("test.byMod", func(n int) stoke.KV[int, int] { return stoke.KV[int, int]{Key: n % 3, Value: n} })
)

func newContext(t *testing.T, cfg stoke.Config, opts ...stoke.Option) *stoke.Context {
	t.Helper()
	full := stoke.Config{"stoke.master": "local[4]", "stoke.ui.enabled": "false"}
	for k, v := range cfg {
		full[k] = v
	}
	sc, err := stoke.New(full, opts...)
	if err != nil {
		t.Fatalf("stoke.New: %v", err)
	}
	t.Cleanup(func() { sc.Stop() })
	return sc
}

func ints(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestOneContextPerProcess(t *testing.T) {
	newContext(t, nil)
	_, err := stoke.New(stoke.Config{"stoke.master": "local", "stoke.ui.enabled": "false"})
	if err == nil || !strings.Contains(err.Error(), "stoke.driver.allowMultipleContexts") {
		t.Fatalf("second Context: err = %v", err)
	}
	second, err := stoke.New(stoke.Config{"stoke.master": "local", "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true"})
	if err != nil {
		t.Fatalf("second Context with allowMultipleContexts: %v", err)
	}
	second.Stop()
}

func TestBadConfigurationStopsTheContext(t *testing.T) {
	dir := t.TempDir()
	malformed := filepath.Join(dir, "pools.xml")
	os.WriteFile(malformed, []byte("<allocations>\n  <pool name=\"a\">\n    <weight>2</weight>\n  </poo>\n</allocations>\n"), 0o644)
	cases := []struct {
		cfg  stoke.Config
		want string
	}{
		{stoke.Config{"stoke.master": "spark://host:7077"}, `cannot parse master URL "spark://host:7077"`},
		{stoke.Config{"stoke.master": "local[0]"}, "cannot parse master URL"},
		{stoke.Config{"stoke.scheduler.mode": "ROUNDROBIN"}, "ROUNDROBIN"},
		{stoke.Config{"stoke.task.maxFailures": "many"}, `invalid value "many" for stoke.task.maxFailures`},
		{stoke.Config{"stoke.speculation.quantile": "1.5"}, "stoke.speculation.quantile"},
		{stoke.Config{"stoke.scheduler.mode": "FAIR", "stoke.scheduler.allocation.file": filepath.Join(dir, "missing.xml")}, "missing.xml"},
		{stoke.Config{"stoke.scheduler.mode": "FAIR", "stoke.scheduler.allocation.file": malformed}, "pools.xml:4"},
		{stoke.Config{"stoke.master": "yarn"}, "set HADOOP_CONF_DIR"},
		{stoke.Config{"stoke.kerberos.principal": "alice@EXAMPLE.COM"}, "go together"},
		// The data engine's memory and spill settings.
		{stoke.Config{"stoke.memory.fraction": "1.5"}, "stoke.memory.fraction"},
		{stoke.Config{"stoke.memory.fraction": "0"}, "stoke.memory.fraction"},
		{stoke.Config{"stoke.memory.storageFraction": "-0.1"}, "stoke.memory.storageFraction"},
		{stoke.Config{"stoke.memory.storageFraction": "half"}, "stoke.memory.storageFraction"},
		{stoke.Config{"stoke.memory.reserved": "lots"}, "stoke.memory.reserved"},
		{stoke.Config{"stoke.memory.reserved": "2g", "stoke.driver.memory": "1g"}, "stoke.memory.reserved"},
		{stoke.Config{"stoke.io.compression.codec": "lz4"}, "stoke.io.compression.codec"},
		{stoke.Config{"stoke.shuffle.spill.compress": "maybe"}, "stoke.shuffle.spill.compress"},
		{stoke.Config{"stoke.local.dir": filepath.Join(dir, "no-such-dir")}, "no-such-dir"},
		{stoke.Config{"stoke.local.dir": malformed}, "pools.xml"},
	}
	t.Setenv("HADOOP_CONF_DIR", "")
	t.Setenv("YARN_CONF_DIR", "")
	for _, c := range cases {
		cfg := stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "false"}
		for k, v := range c.cfg {
			cfg[k] = v
		}
		sc, err := stoke.New(cfg)
		if err == nil {
			sc.Stop()
			t.Errorf("%v: no error", c.cfg)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %q does not mention %q", c.cfg, err, c.want)
		}
	}
	// Nothing was left running: a good Context still starts.
	newContext(t, nil)
}

func TestJobsNameTheirPool(t *testing.T) {
	alloc := filepath.Join(t.TempDir(), "pools.xml")
	os.WriteFile(alloc, []byte(`<allocations><pool name="production"><schedulingMode>fair</schedulingMode><weight>2</weight></pool></allocations>`), 0o644)
	rec := backendtest.NewRecorder()
	sc := newContext(t, stoke.Config{"stoke.scheduler.mode": "FAIR", "stoke.scheduler.allocation.file": alloc}, stoke.WithListener(rec))
	ds, _ := stoke.Parallelize(sc, ints(10), 2)
	ctx := context.Background()
	if _, err := stoke.Count(stoke.WithPool(ctx, "production"), ds); err != nil {
		t.Fatal(err)
	}
	if _, err := stoke.Count(ctx, ds, stoke.InPool("adhoc")); err != nil {
		t.Fatal(err)
	}
	if _, err := stoke.Count(ctx, ds); err != nil {
		t.Fatal(err)
	}
	rec.Wait(ctx.Done(), func(es []stoke.Event) bool { return len(jobStarts(es)) == 3 })
	pools := jobStarts(rec.Events())
	if strings.Join(pools, ",") != "production,adhoc,default" {
		t.Fatalf("job pools = %v", pools)
	}
}

func jobStarts(es []stoke.Event) []string {
	var out []string
	for _, e := range es {
		if js, ok := e.(stoke.JobStart); ok {
			out = append(out, js.Pool)
		}
	}
	return out
}

func TestConcurrentJobsFromManyGoroutines(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.scheduler.mode": "FAIR"})
	ds, _ := stoke.Parallelize(sc, ints(100), 8)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := stoke.Collect(context.Background(), stoke.ReduceByKey(stoke.Map(stoke.Map(ds, double), byMod), plus, 3))
			if err == nil && len(got) != 3 {
				err = errors.New("wrong number of keys")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestCancellingTheContextCancelsTheJob(t *testing.T) {
	sc := newContext(t, nil)
	ds, _ := stoke.Parallelize(sc, []int{3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000}, 8)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := stoke.Collect(ctx, stoke.Map(ds, nap))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The slots were freed: a new job runs.
	small, _ := stoke.Parallelize(sc, ints(4), 4)
	if n, err := stoke.Count(context.Background(), stoke.Map(small, double)); err != nil || n != 4 {
		t.Fatalf("count after cancel = %d, %v", n, err)
	}
}

func TestShuffleOutputIsReusedAcrossJobs(t *testing.T) {
	rec := backendtest.NewRecorder()
	sc := newContext(t, nil, stoke.WithListener(rec))
	reduced := stoke.ReduceByKey(stoke.Map(must(stoke.Parallelize(sc, ints(30), 3)), byMod), plus, 2)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := stoke.Collect(ctx, reduced); err != nil {
			t.Fatal(err)
		}
	}
	rec.Wait(ctx.Done(), func(es []stoke.Event) bool { return len(jobStarts(es)) == 2 && countEnds(es) == 2 })
	tasks := len(rec.TaskStarts())
	if tasks != 3+2+2 {
		t.Fatalf("%d tasks ran; want 3 map + 2 reduce, then 2 reduce (the map output reused)", tasks)
	}
}

func countEnds(es []stoke.Event) int {
	n := 0
	for _, e := range es {
		if _, ok := e.(stoke.JobEnd); ok {
			n++
		}
	}
	return n
}

func TestUIAndEventLogOverRealHTTP(t *testing.T) {
	logDir := t.TempDir()
	sc := newContext(t, stoke.Config{"stoke.ui.enabled": "true", "stoke.ui.port": "0", "stoke.eventLog.enabled": "true", "stoke.eventLog.dir": logDir})
	ds, _ := stoke.Parallelize(sc, ints(10), 2)
	if _, err := stoke.Count(context.Background(), stoke.Map(ds, double), stoke.Describe("doubling")); err != nil {
		t.Fatal(err)
	}
	base := sc.UIURL()
	if base == "" {
		t.Fatal("no UI URL")
	}
	// The UI learns of the job's end asynchronously: poll until it has.
	var jobs []map[string]any
	succeeded := func() bool {
		return len(jobs) == 1 && strings.EqualFold(fmt.Sprint(jobs[0]["status"]), "succeeded")
	}
	deadline := time.Now().Add(testutil.D(10 * time.Second))
	for !succeeded() && time.Now().Before(deadline) {
		getJSON(t, base+"/api/v1/applications/"+sc.AppID()+"/jobs", &jobs)
		if !succeeded() {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !succeeded() {
		t.Fatalf("jobs = %v", jobs)
	}
	metrics := get(t, base+"/metrics")
	if !strings.Contains(metrics, "stoke_tasks_completed_total") {
		t.Fatalf("metrics lack task counters:\n%.500s", metrics)
	}
	if page := get(t, base+"/jobs/"); !strings.Contains(page, "doubling") {
		t.Fatalf("jobs page lacks the job description")
	}
	appID := sc.AppID()
	sc.Stop()
	store, err := ui.ServeHistory(filepath.Join(logDir, appID+".jsonl"))
	if err != nil {
		t.Fatalf("replaying the event log: %v", err)
	}
	if js := store.Jobs(); len(js) != 1 {
		t.Fatalf("replayed %d jobs", len(js))
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// An executor whose binary registers other functions is refused, and the
// refusal names them.
func TestMismatchedExecutorBinaryIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an example binary")
	}
	bin := filepath.Join(t.TempDir(), "wordcount")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/wordcount").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c := conf.New()
	c.Set("stoke.master", "local-cluster[1,1,512]", conf.SourceCode)
	procs := local.NewProcesses(1, 1, c, nil)
	procs.Binary = bin
	procs.WorkDir = t.TempDir()
	sc := newContext(t, stoke.Config{"stoke.master": "local-cluster[1,1,512]"}, stoke.WithBackend(procs))
	logPath := filepath.Join(procs.WorkDir, "executor-0.log")
	deadline := time.Now().Add(testutil.D(60 * time.Second))
	for {
		data, _ := os.ReadFile(logPath)
		if strings.Contains(string(data), "functions missing on the executor") {
			if !strings.Contains(string(data), "test.double") || !strings.Contains(string(data), "wordcount.tokenize") {
				t.Fatalf("refusal does not name the functions:\n%s", data)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("executor not refused; its log:\n%s", data)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(sc.Driver().Executors()); n != 0 {
		t.Fatalf("%d executors registered", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestParallelizeRefusesPartitionsTooLargeForATask(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.rpc.message.maxSize": "128k"})
	big := make([]string, 4)
	for i := range big {
		big[i] = strings.Repeat("x", 100<<10)
	}
	_, err := stoke.Parallelize(sc, big, 1)
	if err == nil || !strings.Contains(err.Error(), "stoke.rpc.message.maxSize") {
		t.Fatalf("err = %v", err)
	}
	if _, err := stoke.Parallelize(sc, big[:1], 1); err != nil {
		t.Fatalf("a partition under the limit: %v", err)
	}
}
