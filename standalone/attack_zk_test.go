package standalone_test

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

// zkDial connects a plain ZooKeeper client (no auth unless given).
func zkDial(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	deadline := time.After(testutil.D(20 * time.Second))
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn
			}
		case <-deadline:
			t.Fatalf("no ZooKeeper session with %s", addr)
		}
	}
}

// Issue 11 item 3 (ZooKeeper): the masters' state nodes are under a digest
// ACL derived from the cluster secret; a client without it can neither
// read nor write them, and with it finds no secret inside.
func TestAttackZooKeeperStateUnderACL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper and daemons")
	}
	zkAddr := startZooKeeper(t)
	sc := startSecureCluster(t, 1, 1, 512, "--conf", "stoke.deploy.recoveryMode=ZOOKEEPER", "--conf", "stoke.deploy.zookeeper.url="+zkAddr,
		"--conf", "stoke.deploy.zookeeper.dir=/stoke-acl", "--conf", "stoke.deploy.zookeeper.sessionTimeout=4s")
	app := runSecureApp(t, sc, 1)
	intruder := zkDial(t, zkAddr)
	for _, node := range []string{"/stoke-acl", "/stoke-acl/master_status", "/stoke-acl/leader_election"} {
		if _, _, err := intruder.Children(node); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("listing %s without the auth: %v, want ErrNoAuth", node, err)
		}
		if _, err := intruder.Create(node+"/evil", []byte("x"), 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("creating under %s without the auth: %v, want ErrNoAuth", node, err)
		}
	}
	for _, kind := range []string{"app_" + app.AppID()} {
		node := "/stoke-acl/master_status/" + kind
		if _, _, err := intruder.Get(node); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("reading %s without the auth: %v", node, err)
		}
		if _, err := intruder.Set(node, []byte("{}"), -1); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("writing %s without the auth: %v", node, err)
		}
		if err := intruder.Delete(node, -1); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("deleting %s without the auth: %v", node, err)
		}
	}
	// With the derived password: the state is there and holds no secret.
	owner := zkDial(t, zkAddr)
	if err := owner.AddAuth("digest", []byte("stoke-master:"+standalone.ZooKeeperPassword(sc.secret))); err != nil {
		t.Fatal(err)
	}
	kids, _, err := owner.Children("/stoke-acl/master_status")
	if err != nil || len(kids) < 2 {
		t.Fatalf("state nodes with the auth: %v, %v", kids, err)
	}
	secretA := procEnv(t, executorPID(t, sc.addr, app.AppID(), "0"), "STOKE_APP_SECRET")
	for _, k := range kids {
		data, _, err := owner.Get("/stoke-acl/master_status/" + k)
		if err != nil {
			t.Fatal(err)
		}
		for name, secret := range map[string]string{"cluster": sc.secret, "application": secretA, "ZooKeeper password": standalone.ZooKeeperPassword(sc.secret)} {
			if strings.Contains(string(data), secret) {
				t.Errorf("node %s holds the %s secret", k, name)
			}
		}
	}
	if strings.Contains(standalone.ZooKeeperPassword(sc.secret), sc.secret) {
		t.Error("the ZooKeeper password contains the cluster secret")
	}
}

// cutProxy forwards TCP to target until cut, which drops every connection
// and refuses new ones until resume.
type cutProxy struct {
	lis    net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{lis: lis, target: target}
	t.Cleanup(func() { lis.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// Issue 11 item 11 (ZooKeeper): a leader cut from ZooKeeper longer than
// its session loses it; once ZooKeeper is reachable again it joins the
// election with a new session and leads again (before, it stayed a
// standby until restarted).
func TestAttackZooKeeperLeaderRejoins(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper and daemons")
	}
	zkAddr := startZooKeeper(t)
	proxy := startCutProxy(t, zkAddr)
	secret, file := writeSecretFile(t)
	_ = secret
	port, ui := freePort(t), freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	m := startDaemon(t, nil, "master", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--webui-port", strconv.Itoa(ui), "--secret-file", file,
		"--conf", "stoke.deploy.recoveryMode=ZOOKEEPER", "--conf", "stoke.deploy.zookeeper.url="+proxy.lis.Addr().String(),
		"--conf", "stoke.deploy.zookeeper.dir=/stoke-rejoin", "--conf", "stoke.deploy.zookeeper.sessionTimeout=2s")
	waitState(t, addr, testutil.D(60*time.Second), "the master to lead", func(s standalone.MasterState) bool { return s.Status == "ALIVE" })
	proxy.setCut(true)
	// ZooKeeper expires the session 2 s after the last heartbeat; stay cut
	// until the master's election node is gone.
	observer := zkDial(t, zkAddr)
	if err := observer.AddAuth("digest", []byte("stoke-master:"+standalone.ZooKeeperPassword(secret))); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "ZooKeeper to expire the cut-off leader's session", func() bool {
		kids, _, err := observer.Children("/stoke-rejoin/leader_election")
		return err == nil && len(kids) == 0
	})
	proxy.setCut(false)
	testutil.Eventually(t, 60*time.Second, "the master to lead again with a new session", func() bool {
		data, _ := os.ReadFile(m.log)
		kids, _, err := observer.Children("/stoke-rejoin/leader_election")
		s, serr := masterState(addr)
		return strings.Contains(string(data), "lost the ZooKeeper session") && strings.Count(string(data), "this master is the leader") == 2 &&
			err == nil && len(kids) == 1 && serr == nil && s.Status == "ALIVE"
	})
}
