package mesos_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

const zooKeeperJar = "/usr/share/java/zookeeper.jar"

// zooKeeper runs a private ZooKeeper server and returns host:port.
func zooKeeper(t *testing.T) string {
	t.Helper()
	java, err := exec.LookPath("java")
	if _, serr := os.Stat(zooKeeperJar); serr != nil || err != nil {
		t.Skipf("ZooKeeper is not installed (%s, java): run scripts/install-test-deps.sh", zooKeeperJar)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logf, err := os.Create(filepath.Join(t.TempDir(), "zookeeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(java, "-Dzookeeper.admin.enableServer=false", "-cp", "/etc/zookeeper/conf:"+zooKeeperJar,
		"org.apache.zookeeper.server.ZooKeeperServerMain", strconv.Itoa(port), t.TempDir(), "200")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		logf.Close()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	mesostest.Eventually(t, 60*time.Second, "ZooKeeper serving", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		fmt.Fprint(c, "srvr")
		c.SetReadDeadline(time.Now().Add(testutil.D(2 * time.Second)))
		out, _ := io.ReadAll(c)
		return strings.Contains(string(out), "Mode:")
	})
	return addr
}

// publish writes a master's MasterInfo (JSON) as Mesos does: a sequential
// json.info_ node under /mesos.
func publish(t *testing.T, c *zk.Conn, addr string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	if _, err := c.Create("/mesos", nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
		t.Fatal(err)
	}
	info := fmt.Sprintf(`{"id":"m","ip":0,"port":%s,"hostname":%q,"address":{"hostname":%q,"ip":%q,"port":%s}}`, port, host, host, host, port)
	if _, err := c.Create("/mesos/json.info_", []byte(info), zk.FlagSequence|zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
}

// mesos://zk://… finds the leader from ZooKeeper and subscribes to it.
func TestZooKeeperLeaderDetection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper")
	}
	addr := zooKeeper(t)
	c := testCluster(t)
	conn, _, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	publish(t, conn, c.Leader().Addr())
	cfg := coarseConfig(c)
	cfg["stoke.master"] = "mesos://zk://" + addr + "/mesos"
	b := newBackend(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(30*time.Second))
	defer cancel()
	if err := b.Start(ctx, nopDriver{}); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(context.Background())
	if fw, ok := c.Framework(b.FrameworkID()); !ok || !fw.Connected {
		t.Fatalf("framework %s not connected: %+v", b.FrameworkID(), fw)
	}
}
