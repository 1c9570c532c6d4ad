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

// TestYARNPlacement runs the placement tests on one minicluster laid out
// for them: NodeManager 0 carries an exclusive node label, NodeManager 1
// is an ordinary node named after the local hostname, and a third
// NodeManager's node is named 127.0.0.2, like the DataNode, so tasks
// reading HDFS prefer it. The capacity scheduler waits (almost)
// forever for a node-local container, so where containers land is decided
// by the requests, never by a race of heartbeats.
func TestYARNPlacement(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts the Hadoop minicluster")
	}
	c := hadooptest.StartWith(t, hadooptest.Options{NodeManagers: 2, NodeLabel: testLabel, ExtraNodeManager: "127.0.0.2", NodeLocalityDelay: 1 << 20})
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	if c.LabelledNodeHTTP == "" || !strings.HasPrefix(c.ExtraNode, "127.0.0.2:") {
		t.Fatalf("the harness laid out labelled node %q (web %q) and extra node %q", c.LabelledNode, c.LabelledNodeHTTP, c.ExtraNode)
	}
	t.Run("NodeLabels", func(t *testing.T) { testNodeLabels(t, c) })
	t.Run("UnknownNodeLabel", func(t *testing.T) { testUnknownNodeLabel(t) })
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
// on the hosts of the pending tasks' HDFS blocks. The asks are soft, as
// Spark's: the capacity scheduler gives a container to another node after
// a few missed scheduling opportunities (at most the cluster's size), so
// on a three-node minicluster where each lands is a race of heartbeats
// and the test does not hold the node-local count to a number (it logs
// it). It holds what is certain: the job is exact both ways, and the AM's
// asks to the RM name the DataNode's node (127.0.0.2) with the hints and
// never without; the RM took them (the application ran).
func testLocalityHints(t *testing.T, c *hadooptest.Cluster) {
	path := c.FS + "/tmp/stoke-locality/input.txt"
	fs, err := fsx.For(path)
	if err != nil {
		t.Fatal(err)
	}
	fs.RemoveAll(c.FS + "/tmp/stoke-locality")
	fs.MkdirAll(c.FS + "/tmp/stoke-locality")
	w, err := fs.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4000 {
		fmt.Fprintf(w, "line %d of the locality test\n", i)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	start := func(hints bool, memory string, rec *localityRecorder) *stoke.Context {
		cfg := yarnConfig(stoke.Config{"stoke.ui.enabled": "false", "stoke.app.name": fmt.Sprintf("stoke-locality-%v", hints),
			"stoke.dynamicAllocation.enabled": "true", "stoke.dynamicAllocation.minExecutors": "0", "stoke.dynamicAllocation.initialExecutors": "0",
			"stoke.dynamicAllocation.maxExecutors": "2", "stoke.dynamicAllocation.schedulerBacklogTimeout": "100ms",
			"stoke.dynamicAllocation.sustainedSchedulerBacklogTimeout": "100ms", "stoke.executor.cores": "1", "stoke.executor.memory": memory,
			"stoke.yarn.executor.localityHints": fmt.Sprint(hints)})
		delete(cfg, "stoke.executor.instances") // dynamic allocation decides
		sc, err := stoke.New(cfg, stoke.WithListener(rec))
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	for _, hints := range []bool{true, false} {
		rec := &localityRecorder{tasks: map[string]int{}}
		sc := start(hints, "256m", rec)
		lines, err := stoke.TextFile(sc, path, 8)
		if err != nil {
			t.Fatal(err)
		}
		n, err := stoke.Count(context.Background(), stoke.Map(lines, slowLine))
		if err != nil || n != 4000 {
			t.Fatalf("count %d, %v", n, err)
		}
		var hosts []string
		for _, e := range sc.Driver().Executors() {
			hosts = append(hosts, e.Host)
		}
		app := sc.AppID()
		sc.Stop()
		rec.mu.Lock()
		local, total := rec.tasks["NODE_LOCAL"]+rec.tasks["PROCESS_LOCAL"], 0
		for _, n := range rec.tasks {
			total += n
		}
		rec.mu.Unlock()
		t.Logf("locality hints %v: %d of %d tasks node-local, executors on %v", hints, local, total, hosts)
		amLog := amStderr(t, c, app)
		named := strings.Contains(amLog, " 127.0.0.2=")
		if hints && !named {
			t.Errorf("with locality hints the AM never asked for the DataNode's node 127.0.0.2:\n%s", amLog)
		}
		if !hints && named {
			t.Errorf("without locality hints the AM asked for 127.0.0.2:\n%s", amLog)
		}
	}

	// Executors larger than any node: the RM refuses the asks, the AM
	// fails the application with its reason instead of asking again
	// forever, and the driver's job fails saying so.
	sc := start(true, "6g", &localityRecorder{tasks: map[string]int{}})
	defer sc.Stop()
	lines, err := stoke.TextFile(sc, path, 8)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(2*time.Minute))
	defer cancel()
	_, err = stoke.Count(ctx, lines)
	if err == nil || !strings.Contains(err.Error(), "maximum allowed allocation") {
		t.Fatalf("a job whose executors fit no node: %v", err)
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
