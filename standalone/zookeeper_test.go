package standalone_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

// zooKeeperJar is Debian's ZooKeeper (package zookeeper, installed by
// scripts/install-test-deps.sh).
const zooKeeperJar = "/usr/share/java/zookeeper.jar"

// startZooKeeper runs a ZooKeeper server of its own on a free port with a
// temporary data directory (not the system service) and returns host:port.
func startZooKeeper(t *testing.T) string {
	t.Helper()
	java, err := exec.LookPath("java")
	if _, serr := os.Stat(zooKeeperJar); serr != nil || err != nil {
		t.Skipf("ZooKeeper is not installed (%s, java): run scripts/install-test-deps.sh", zooKeeperJar)
	}
	port := freePort(t)
	dataDir := t.TempDir()
	logf, err := os.Create(filepath.Join(t.TempDir(), "zookeeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Tick 200 ms: sessions of 1 to 4 s are allowed, so failover is quick.
	cmd := exec.Command(java, "-Dzookeeper.admin.enableServer=false", "-cp", "/etc/zookeeper/conf:"+zooKeeperJar,
		"org.apache.zookeeper.server.ZooKeeperServerMain", strconv.Itoa(port), dataDir, "200")
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
	deadline := time.Now().Add(testutil.D(60 * time.Second))
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			// srvr is the four-letter command ZooKeeper allows by default.
			fmt.Fprint(c, "srvr")
			c.SetReadDeadline(time.Now().Add(testutil.D(2 * time.Second)))
			out, _ := io.ReadAll(c)
			c.Close()
			if strings.Contains(string(out), "Mode:") {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("ZooKeeper did not start on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Two masters electing a leader through a real ZooKeeper: kill -9 the
// leader mid-job; the standby takes over, workers and the application
// re-attach (they were given stoke://m1,m2), and the job finishes with
// every result once.
func TestZooKeeperFailoverMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper and daemons")
	}
	zkAddr := startZooKeeper(t)
	confArgs := []string{"--conf", "stoke.worker.timeout=5s", "--conf", "stoke.deploy.recoveryMode=ZOOKEEPER",
		"--conf", "stoke.deploy.zookeeper.url=" + zkAddr, "--conf", "stoke.deploy.zookeeper.dir=/stoke-test",
		"--conf", "stoke.deploy.zookeeper.sessionTimeout=4s"}
	type mst struct {
		d        *daemon
		addr, ui string
	}
	var ms []mst
	for i := 0; i < 2; i++ {
		port, ui := freePort(t), freePort(t)
		d := startDaemon(t, nil, append([]string{"master", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--webui-port", strconv.Itoa(ui), "--work-dir", t.TempDir()}, confArgs...)...)
		ms = append(ms, mst{d, "127.0.0.1:" + strconv.Itoa(port), "127.0.0.1:" + strconv.Itoa(ui)})
		if i == 0 {
			waitState(t, ms[0].addr, 60*time.Second, "the first master to lead", func(s standalone.MasterState) bool { return s.Status == "ALIVE" })
		}
	}
	waitState(t, ms[1].addr, 30*time.Second, "the second master to stand by", func(s standalone.MasterState) bool { return s.Status == "STANDBY" })
	url := "stoke://" + ms[0].addr + "," + ms[1].addr
	pc := &processCluster{confArgs: confArgs}
	for i := 0; i < 2; i++ {
		// Room for an executor of the default 1 GiB beside the driver.
		pc.addWorker(t, url, 2, 2048, nil, "127.0.0.1")
	}
	waitState(t, ms[0].addr, 30*time.Second, "2 workers", func(s standalone.MasterState) bool { return aliveWorkers(s) == 2 })
	// A supervised cluster-mode driver that keeps failing (its input does
	// not exist), so its relaunches show which master supervises it.
	wc := wordcountBinary(t)
	out, err := stokeCmd(t, "submit", "--master", url, "--deploy-mode", "cluster", "--supervise",
		"--conf", "stoke.ui.enabled=false", "--driver-memory", "256m", wc, "/no/such/input")
	if err != nil {
		t.Fatalf("supervised submission: %v\n%s", err, out)
	}
	sub := submittedRE.FindStringSubmatch(out)
	if sub == nil {
		t.Fatalf("no submission id in %q", out)
	}
	restarts := func(s standalone.MasterState) int {
		for _, d := range s.Drivers {
			if d.DriverID == sub[1] {
				return d.Restarts
			}
		}
		return -1
	}
	before := restarts(waitState(t, ms[0].addr, 60*time.Second, "the driver to be relaunched once", func(s standalone.MasterState) bool { return restarts(s) >= 1 }))
	sc, rec := runApp(t, url, 2, nil)
	const n = 120
	done, got := slowSumJob(t, sc, n)
	waitTaskEnds(t, rec, 4)
	ms[0].d.signal(syscall.SIGKILL)
	<-ms[0].d.done
	t.Log("killed the leading master")
	start := time.Now()
	s := waitState(t, ms[1].addr, 60*time.Second, "the standby to lead with the workers and the application re-attached", func(s standalone.MasterState) bool {
		return s.Status == "ALIVE" && aliveWorkers(s) == 2 && len(s.Apps) == 1 && s.Apps[0].ID == sc.AppID() && len(s.Apps[0].Executors) == 2
	})
	t.Logf("standby took over in %s; %d cores in use", time.Since(start).Round(10*time.Millisecond), s.CoresUsed)
	if err := <-done; err != nil {
		t.Fatalf("job across the failover: %v", err)
	}
	checkSums(t, *got, n)
	// The binary was uploaded to both masters, so the new leader can send it
	// to any worker; it supervises the driver (relaunches it) and --kill on
	// it stops it.
	data, err := os.ReadFile(wc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(fmt.Sprintf("http://%s/v1/binary/%x", ms[1].addr, sha256.Sum256(data)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the new leader does not have the driver's binary: %s", res.Status)
	}
	waitState(t, ms[1].addr, 90*time.Second, "the new leader to relaunch the supervised driver", func(s standalone.MasterState) bool { return restarts(s) > before })
	if out, err := stokeCmd(t, "submit", "--master", url, "--kill", sub[1]); err != nil || !strings.Contains(out, "KILLED") {
		t.Fatalf("--kill after the failover: %v\n%s", err, out)
	}
	if err := sc.Stop(); err != nil {
		t.Fatal(err)
	}
	waitState(t, ms[1].addr, 20*time.Second, "the application to finish on the new leader", func(s standalone.MasterState) bool {
		return len(s.Apps) == 0 && s.CoresUsed == 0
	})
}
