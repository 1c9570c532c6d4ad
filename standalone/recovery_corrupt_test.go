package standalone_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

// ZOOKEEPER recovery: a corrupt znode does not stop the new leader (the
// other masters' state is there), but it is logged as an ERROR naming the
// znode, shown as a warning in /json, and kept as it is; valid entries
// next to it are recovered.
func TestZooKeeperCorruptRecoveryState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper")
	}
	addr := startZooKeeper(t)
	conn, _, err := zk.Connect([]string{addr}, 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const dir = "/stoke-corrupt"
	bad := dir + "/master_status/app_app-bad"
	for _, n := range []struct {
		path string
		data string
	}{
		{dir, ""}, {dir + "/master_status", ""},
		{bad, `{"id":"app-bad","name":`},
		{dir + "/master_status/worker_worker-20261203000000-h_1", `{"id":"worker-20261203000000-h_1","host":"h","cores":1,"memoryMiB":64}`},
	} {
		if _, err := conn.Create(n.path, []byte(n.data), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("creating %s: %v", n.path, err)
		}
	}
	log, buf := bufferLogger()
	m, err := standalone.StartMaster(standalone.MasterOptions{Host: "127.0.0.1", RecoveryMode: standalone.RecoveryZooKeeper,
		ZooKeeperURL: addr, ZooKeeperDir: dir, ZooKeeperSession: 2 * time.Second, WorkerTimeout: time.Second, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	testutil.Eventually(t, 20*time.Second, "the master to lead and finish recovery", func() bool { return m.State().Status == "ALIVE" })
	logs := buf.String()
	if !strings.Contains(logs, "level=error") || !strings.Contains(logs, "znode "+bad+" is corrupt") {
		t.Fatalf("no ERROR naming %s in the log:\n%s", bad, logs)
	}
	if !strings.Contains(logs, "recovering 1 worker(s)") {
		t.Errorf("the valid worker entry was not recovered:\n%s", logs)
	}
	s := m.State()
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], bad) {
		t.Fatalf("/json warnings = %q; want one naming %s", s.Warnings, bad)
	}
	res, err := http.Get("http://" + m.UIAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "Warning:</b> recovery state znode "+bad) {
		t.Errorf("the master's UI page does not show the warning:\n%s", page)
	}
	data, _, err := conn.Get(bad)
	if err != nil || string(data) != `{"id":"app-bad","name":` {
		t.Fatalf("corrupt znode not kept as it was: %q, %v", data, err)
	}
}
