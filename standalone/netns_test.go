package standalone_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/standalone"
)

// netnsWorld is network namespaces made by a test, each joined to the
// host by a veth pair: the host side has 10.213.N.1, the namespace side
// 10.213.N.2, with a default route through the host (which forwards
// between namespaces).
type netnsWorld struct {
	names []string
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func newNetnsWorld(t *testing.T, n int) *netnsWorld {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed: run scripts/install-test-deps.sh")
	}
	const fwd = "/proc/sys/net/ipv4/ip_forward"
	old, err := os.ReadFile(fwd)
	if err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(fwd, []byte("1"), 0o644); err != nil {
		t.Skipf("cannot enable IP forwarding: %v", err)
	}
	w := &netnsWorld{}
	t.Cleanup(func() {
		for _, name := range w.names {
			exec.Command("ip", "netns", "del", name).Run() // removes its veth pair too
		}
		os.WriteFile(fwd, old, 0o644)
	})
	tag := strconv.Itoa(os.Getpid() % 100000)
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("stk%s-%d", tag, i)
		host, peer := fmt.Sprintf("vh%s%d", tag, i), fmt.Sprintf("vp%s%d", tag, i)
		ipCmd(t, "netns", "add", name)
		w.names = append(w.names, name)
		ipCmd(t, "link", "add", host, "type", "veth", "peer", "name", peer)
		ipCmd(t, "link", "set", peer, "netns", name)
		ipCmd(t, "addr", "add", w.hostIP(i)+"/24", "dev", host)
		ipCmd(t, "link", "set", host, "up")
		ipCmd(t, "netns", "exec", name, "ip", "addr", "add", w.nsIP(i)+"/24", "dev", peer)
		ipCmd(t, "netns", "exec", name, "ip", "link", "set", peer, "up")
		ipCmd(t, "netns", "exec", name, "ip", "link", "set", "lo", "up")
		ipCmd(t, "netns", "exec", name, "ip", "route", "add", "default", "via", w.hostIP(i))
	}
	return w
}

func (w *netnsWorld) hostIP(i int) string { return fmt.Sprintf("10.213.%d.1", i) }
func (w *netnsWorld) nsIP(i int) string   { return fmt.Sprintf("10.213.%d.2", i) }
func (w *netnsWorld) exec(i int) []string { return []string{"ip", "netns", "exec", w.names[i-1]} }

// Workers in their own network namespaces with their own addresses: the
// master, the driver, the workers and the executors (which fetch shuffle
// blocks from each other across namespaces) talk over routed addresses,
// never loopback.
func TestWorkersInNetworkNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	world := newNetnsWorld(t, 2)
	// Beyond loopback with no secret given, the master creates the default
	// secret file; the workers and the driver find it there.
	confDir := t.TempDir()
	t.Setenv("STOKE_CONF_DIR", confDir)
	port, ui := freePort(t), freePort(t)
	masterAddr := world.hostIP(1) + ":" + strconv.Itoa(port)
	pc := &processCluster{addr: masterAddr, confArgs: []string{"--conf", "stoke.worker.timeout=5s"}}
	pc.master = startDaemon(t, nil, append([]string{"master", "--host", world.hostIP(1), "--port", strconv.Itoa(port), "--webui-port", strconv.Itoa(ui)}, pc.confArgs...)...)
	waitState(t, masterAddr, 30*time.Second, "the master to lead", func(s standalone.MasterState) bool { return s.Status == "ALIVE" })
	for i := 1; i <= 2; i++ {
		pc.addWorker(t, "stoke://"+masterAddr, 2, 1024, world.exec(i), world.nsIP(i))
	}
	s := waitState(t, masterAddr, 30*time.Second, "2 workers", func(s standalone.MasterState) bool { return aliveWorkers(s) == 2 })
	if fi, err := os.Stat(filepath.Join(confDir, standalone.SecretFileName)); err != nil || fi.Mode().Perm() != 0o600 || s.Insecure {
		t.Fatalf("default secret file: %v, %v; master insecure %v", fi, err, s.Insecure)
	}
	hosts := map[string]bool{}
	for _, w := range s.Workers {
		hosts[w.Host] = true
	}
	if !hosts[world.nsIP(1)] || !hosts[world.nsIP(2)] {
		t.Fatalf("worker addresses %v; want %s and %s", hosts, world.nsIP(1), world.nsIP(2))
	}
	sc, _ := runApp(t, "stoke://"+masterAddr, 2, nil)
	for _, e := range sc.Driver().Executors() {
		if strings.HasPrefix(e.Host, "127.") || strings.HasPrefix(e.Address, "127.") {
			t.Errorf("executor %s on loopback: host %s, block service %s", e.ID, e.Host, e.Address)
		}
	}
	const n = 40
	done, got := slowSumJob(t, sc, n)
	if err := <-done; err != nil {
		t.Fatalf("job across namespaces: %v", err)
	}
	checkSums(t, *got, n)
}
