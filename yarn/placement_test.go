package yarn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/testutil"
)

const testLabel = "stokelabel"

// placementOptions lay out the placement minicluster (see TestYARNPlacement).
var placementOptions = hadooptest.Options{NodeManagers: 2, NodeLabel: testLabel, ExtraNodeManager: "127.0.0.2", NodeLocalityDelay: 1 << 20,
	Heartbeat: 500 * time.Millisecond}

// TestYARNPlacement runs the placement tests on one minicluster laid out
// for them: NodeManager 0 carries an exclusive node label, NodeManager 1
// is an ordinary node named after the local hostname, and a third
// NodeManager's node is named 127.0.0.2, like the DataNode, so tasks
// reading HDFS prefer it. The capacity scheduler delays node-local and
// off-switch containers as long as it can (more missed opportunities than
// the cluster's nodes), with NodeManagers heartbeating every 500ms, so a
// container asked for a node goes there unless that node misses a whole
// heartbeat.
func TestYARNPlacement(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts the Hadoop minicluster")
	}
	c := hadooptest.StartWith(t, placementOptions)
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	if c.LabelledNodeHTTP == "" || !strings.HasPrefix(c.ExtraNode, "127.0.0.2:") {
		t.Fatalf("the harness laid out labelled node %q (web %q) and extra node %q", c.LabelledNode, c.LabelledNodeHTTP, c.ExtraNode)
	}
	t.Run("NodeLabels", func(t *testing.T) { testNodeLabels(t, c) })
	t.Run("UnknownNodeLabel", func(t *testing.T) { testUnknownNodeLabel(t) })
	t.Run("UnknownExecutorNodeLabel", func(t *testing.T) { testUnknownExecutorLabel(t) })
	t.Run("LocalityHints", func(t *testing.T) { testLocalityHints(t, c) })
}

// executorWebs are the NodeManager web addresses of the executors' log links.
func executorWebs(sc *stoke.Context) []string {
	var out []string
	for _, e := range sc.Driver().Executors() {
		u := strings.TrimPrefix(e.LogURL, "http://")
		web, _, _ := strings.Cut(u, "/")
		out = append(out, web)
	}
	return out
}

// The AM and the executors run on the labelled node when their label
// expressions name it; without, nothing lands there (the label is
// exclusive).
func testNodeLabels(t *testing.T, c *hadooptest.Cluster) {
	sc, err := stoke.New(yarnConfig(stoke.Config{"stoke.ui.enabled": "false", "stoke.app.name": "stoke-labelled",
		"stoke.yarn.am.nodeLabelExpression": testLabel, "stoke.yarn.executor.nodeLabelExpression": testLabel}))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	testutil.Eventually(t, 60*time.Second, "both executors", func() bool { return len(sc.Driver().Executors()) == 2 })
	for _, web := range executorWebs(sc) {
		if web != c.LabelledNodeHTTP {
			t.Errorf("an executor runs on the node of %s, not the labelled node (%s)", web, c.LabelledNodeHTTP)
		}
	}
	var app struct {
		App struct {
			AMHostHTTPAddress     string `json:"amHostHttpAddress"`
			AMNodeLabelExpression string `json:"amNodeLabelExpression"`
		} `json:"app"`
	}
	res, err := http.Get("http://" + c.RMWebApp + "/ws/v1/cluster/apps/" + sc.AppID())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(b, &app); err != nil {
		t.Fatalf("the RM's report of %s: %v\n%s", sc.AppID(), err, b)
	}
	if app.App.AMHostHTTPAddress != c.LabelledNodeHTTP || app.App.AMNodeLabelExpression != testLabel {
		t.Errorf("the AM runs on %s with label expression %q; want the labelled node %s and %q",
			app.App.AMHostHTTPAddress, app.App.AMNodeLabelExpression, c.LabelledNodeHTTP, testLabel)
	}
	nums, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 4)
	if n, err := stoke.Count(context.Background(), nums); err != nil || n != 4 {
		t.Fatalf("a job on the labelled executors: %d, %v", n, err)
	}
	sc.Stop()

	plain, err := stoke.New(yarnConfig(stoke.Config{"stoke.ui.enabled": "false", "stoke.app.name": "stoke-unlabelled"}))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Stop()
	testutil.Eventually(t, 60*time.Second, "both executors", func() bool { return len(plain.Driver().Executors()) == 2 })
	for _, web := range executorWebs(plain) {
		if web == c.LabelledNodeHTTP {
			t.Errorf("an executor without a label expression runs on the labelled node %s", web)
		}
	}
}

// A label the queue may not use is refused by the ResourceManager at
// submission, and the user reads why.
func testUnknownNodeLabel(t *testing.T) {
	_, err := stoke.New(yarnConfig(stoke.Config{"stoke.ui.enabled": "false", "stoke.yarn.am.nodeLabelExpression": "nosuchlabel"}))
	if err == nil || !strings.Contains(err.Error(), "nosuchlabel") {
		t.Fatalf("a submission asking for an unknown node label: %v", err)
	}
	t.Log(err)
}

// Executors asking for a label the queue may not use: the RM refuses the
// AM's asks (it cannot know the executors' label at submission), and
// asking again cannot help, so the AM fails the application with the
// RM's reason instead of asking forever, and the driver's job fails saying
// so.
func testUnknownExecutorLabel(t *testing.T) {
	sc, err := stoke.New(yarnConfig(stoke.Config{"stoke.ui.enabled": "false", "stoke.yarn.executor.nodeLabelExpression": "nosuchlabel"}))
	if err == nil {
		defer sc.Stop()
		ds, perr := stoke.Parallelize(sc, []int{1, 2, 3}, 3)
		if perr != nil {
			t.Fatal(perr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testutil.D(2*time.Minute))
		defer cancel()
		_, err = stoke.Count(ctx, ds)
	}
	if err == nil || !strings.Contains(err.Error(), "refused the executor containers") || !strings.Contains(err.Error(), "nosuchlabel") {
		t.Fatalf("executors asking for a label the queue may not use: %v", err)
	}
	t.Log(err)
}

// localityRecorder counts task starts by locality.
type localityRecorder struct {
	mu    sync.Mutex
	tasks map[string]int
}

func (r *localityRecorder) OnEvent(e events.Event) {
	if ts, ok := e.(events.TaskStart); ok {
		r.mu.Lock()
		r.tasks[ts.Locality]++
		r.mu.Unlock()
	}
}

// With dynamic allocation the AM asks the ResourceManager for executors
// on the hosts of the pending tasks' HDFS blocks and on their racks. The
// asks are soft, as Spark's: the capacity scheduler gives a container to
// another node after more missed scheduling opportunities than the cluster
// has nodes (this cluster delays off-switch as long as rack-local, as a
// cluster that cares for locality is set up). With hints every executor
// lands on the DataNode's node (127.0.0.2) and every task is node-local;
// without, where containers land is a race of heartbeats, so that run is
// logged, not held to a number (docs/benchmarks.md measures both). The AM's
// asks name 127.0.0.2 with the hints and never without.
func testLocalityHints(t *testing.T, c *hadooptest.Cluster) {
	path := writeLocalityInput(t, c)
	for _, hints := range []bool{true, false} {
		r := localityArm(t, c, path, hints, "256m")
		t.Logf("locality hints %v: %d of %d tasks node-local, executors on %v", hints, r.local, r.total, r.hosts)
		if hints {
			// Every container goes to the DataNode's node: the scheduler holds
			// a container for its node until more opportunities are missed
			// than the cluster has nodes, and a node heartbeating at the
			// same interval as the others is never that late unless stalled
			// for a full interval. Then every task reads its block locally.
			for _, h := range r.hosts {
				if h != "127.0.0.2" {
					t.Errorf("with locality hints an executor ran on %s, not on the DataNode's node 127.0.0.2 (executors on %v)", h, r.hosts)
				}
			}
			if len(r.hosts) > 0 && r.local != r.total {
				t.Errorf("with locality hints %d of %d tasks were node-local, want all", r.local, r.total)
			}
		}
		amLog := amStderr(t, c, r.app)
		named := strings.Contains(amLog, " 127.0.0.2=")
		if hints && !named {
			t.Errorf("with locality hints the AM never asked for the DataNode's node 127.0.0.2:\n%s", amLog)
		}
		if !hints && named {
			t.Errorf("without locality hints the AM asked for 127.0.0.2:\n%s", amLog)
		}
	}

	// Executors larger than any node (the harness's largest container is
	// its NodeManagers' 4 GiB): refused before anything is submitted, as
	// Spark's client does, saying which setting is too large.
	cfg := yarnConfig(stoke.Config{"stoke.ui.enabled": "false", "stoke.executor.memory": "6g"})
	sc, err := stoke.New(cfg)
	if err == nil {
		sc.Stop()
		t.Fatal("an application whose executors fit no node was submitted")
	}
	if !strings.Contains(err.Error(), "an executor needs ") || !strings.Contains(err.Error(), "yarn.scheduler.maximum-allocation-mb") {
		t.Fatalf("an application whose executors fit no node: %v", err)
	}
	t.Log(err)
}

// amStderr is the application master's stderr (its container ..._000001)
// wherever a NodeManager of the harness keeps it.
func amStderr(t *testing.T, c *hadooptest.Cluster, app string) string {
	t.Helper()
	container := "container_" + strings.TrimPrefix(app, "application_") + "_01_000001"
	var out []byte
	filepath.WalkDir(c.WorkDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "stderr" && strings.Contains(p, container) {
			out, _ = os.ReadFile(p)
			return filepath.SkipAll
		}
		return nil
	})
	if out == nil {
		t.Fatalf("no stderr of the AM container %s under %s", container, c.WorkDir)
	}
	return string(out)
}

var slowLine = stoke.RegisterMap("yarn_test.slowLine", func(s string) string {
	if strings.HasSuffix(s, "0 of the locality test") {
		time.Sleep(time.Millisecond)
	}
	return s
})

// writeLocalityInput writes the locality runs' input to the minicluster's
// HDFS, whose one DataNode is named 127.0.0.2.
func writeLocalityInput(tb testing.TB, c *hadooptest.Cluster) string {
	tb.Helper()
	path := c.FS + "/tmp/stoke-locality/input.txt"
	fs, err := fsx.For(path)
	if err != nil {
		tb.Fatal(err)
	}
	fs.RemoveAll(c.FS + "/tmp/stoke-locality")
	fs.MkdirAll(c.FS + "/tmp/stoke-locality")
	w, err := fs.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range 4000 {
		fmt.Fprintf(w, "line %d of the locality test\n", i)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// startLocality starts an application whose executors come from dynamic
// allocation (at most 2 of 1 core), with or without locality hints.
func startLocality(tb testing.TB, hints bool, memory string, rec *localityRecorder) *stoke.Context {
	tb.Helper()
	cfg := yarnConfig(stoke.Config{"stoke.ui.enabled": "false", "stoke.app.name": fmt.Sprintf("stoke-locality-%v", hints),
		"stoke.dynamicAllocation.enabled": "true", "stoke.dynamicAllocation.minExecutors": "0", "stoke.dynamicAllocation.initialExecutors": "0",
		"stoke.dynamicAllocation.maxExecutors": "2", "stoke.dynamicAllocation.schedulerBacklogTimeout": "100ms",
		"stoke.dynamicAllocation.sustainedSchedulerBacklogTimeout": "100ms", "stoke.executor.cores": "1", "stoke.executor.memory": memory,
		"stoke.yarn.executor.localityHints": fmt.Sprint(hints)})
	delete(cfg, "stoke.executor.instances") // dynamic allocation decides
	sc, err := stoke.New(cfg, stoke.WithListener(rec))
	if err != nil {
		tb.Fatal(err)
	}
	return sc
}

// localityResult is one locality run: node-local and all task starts, the
// executors' hosts at the end, the application's id.
type localityResult struct {
	local, total int
	hosts        []string
	app          string
}

// localityArm counts the lines of the input (8 splits) in a new
// application and says where its tasks and executors ran.
func localityArm(tb testing.TB, c *hadooptest.Cluster, path string, hints bool, memory string) localityResult {
	tb.Helper()
	rec := &localityRecorder{tasks: map[string]int{}}
	sc := startLocality(tb, hints, memory, rec)
	lines, err := stoke.TextFile(sc, path, 8)
	if err != nil {
		sc.Stop()
		tb.Fatal(err)
	}
	n, err := stoke.Count(context.Background(), stoke.Map(lines, slowLine))
	if err != nil || n != 4000 {
		sc.Stop()
		tb.Fatalf("count %d, %v", n, err)
	}
	var r localityResult
	for _, e := range sc.Driver().Executors() {
		r.hosts = append(r.hosts, e.Host)
	}
	r.app = sc.AppID()
	sc.Stop()
	rec.mu.Lock()
	r.local = rec.tasks["NODE_LOCAL"] + rec.tasks["PROCESS_LOCAL"]
	for _, n := range rec.tasks {
		r.total += n
	}
	rec.mu.Unlock()
	return r
}

// BenchmarkYARNLocalityHints measures what locality hints do on the
// placement minicluster, where without them containers land wherever a
// heartbeat comes first: b.N applications with hints and b.N without,
// alternating, reporting the share of node-local tasks and of executors on
// the DataNode's node for each. Run with -benchtime=Nx (see
// docs/benchmarks.md).
func BenchmarkYARNLocalityHints(b *testing.B) {
	c := hadooptest.StartWith(b, placementOptions)
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	path := writeLocalityInput(b, c)
	var local, total, onData, execs [2]int
	for i := 0; i < b.N; i++ {
		for arm, hints := range []bool{true, false} {
			r := localityArm(b, c, path, hints, "256m")
			local[arm] += r.local
			total[arm] += r.total
			execs[arm] += len(r.hosts)
			for _, h := range r.hosts {
				if h == "127.0.0.2" {
					onData[arm]++
				}
			}
			b.Logf("run %d, hints %v: %d of %d tasks node-local, executors on %v", i, hints, r.local, r.total, r.hosts)
		}
	}
	pct := func(n, of int) float64 {
		if of == 0 {
			return 0
		}
		return 100 * float64(n) / float64(of)
	}
	b.ReportMetric(pct(local[0], total[0]), "%local-tasks-hints")
	b.ReportMetric(pct(local[1], total[1]), "%local-tasks-nohints")
	b.ReportMetric(pct(onData[0], execs[0]), "%execs-on-data-hints")
	b.ReportMetric(pct(onData[1], execs[1]), "%execs-on-data-nohints")
	b.ReportMetric(0, "ns/op")
}
