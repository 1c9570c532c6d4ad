package standalone

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/sirupsen/logrus"
)

// zkPersister elects the leading master among several and keeps the
// cluster state in ZooKeeper: candidates create ephemeral sequential
// znodes under <dir>/leader_election and the lowest leads; state lives in
// <dir>/master_status/<kind>_<id>.
type zkPersister struct {
	conn   *zk.Conn
	dir    string
	self   string // this master's election znode
	log    logrus.FieldLogger
	acl    []zk.ACL
	lostMu sync.Mutex
	lost   func() // called when the session expires
}

// zkDigestUser is the ZooKeeper digest user of the masters; its password is
// derived from the cluster secret (never the secret itself).
const zkDigestUser = "stoke-master"

// ZooKeeperPassword is the digest password derived from the cluster secret.
func ZooKeeperPassword(clusterSecret string) string {
	mac := hmac.New(sha256.New, []byte(clusterSecret))
	mac.Write([]byte("stoke zookeeper digest acl"))
	return hex.EncodeToString(mac.Sum(nil))
}

func newZKPersister(o MasterOptions) (persister, error) {
	if o.ZooKeeperURL == "" {
		return nil, errors.New("stoke.deploy.recoveryMode=ZOOKEEPER needs stoke.deploy.zookeeper.url (host:port[,host:port])")
	}
	dir := o.ZooKeeperDir
	if dir == "" {
		dir = "/stoke"
	}
	if !strings.HasPrefix(dir, "/") || strings.HasSuffix(dir, "/") {
		return nil, fmt.Errorf("stoke.deploy.zookeeper.dir=%q: expected an absolute znode path such as /stoke", dir)
	}
	log := o.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	servers := strings.Split(o.ZooKeeperURL, ",")
	session := o.ZooKeeperSession
	if session <= 0 {
		session = 10 * time.Second
	}
	conn, events, err := zk.Connect(servers, session, zk.WithLogger(zkLogger{log}))
	if err != nil {
		return nil, fmt.Errorf("ZooKeeper %s: %w", o.ZooKeeperURL, err)
	}
	p := &zkPersister{conn: conn, dir: dir, log: log, acl: zk.WorldACL(zk.PermAll)}
	if err := p.waitSession(events, 15*time.Second); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ZooKeeper %s: %w", o.ZooKeeperURL, err)
	}
	if o.Secret != "" {
		pw := ZooKeeperPassword(o.Secret)
		if err := conn.AddAuth("digest", []byte(zkDigestUser+":"+pw)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ZooKeeper %s: authenticating: %w", o.ZooKeeperURL, err)
		}
		p.acl = zk.DigestACL(zk.PermAll, zkDigestUser, pw)
	} else {
		log.Warnf("ZooKeeper: no cluster secret, so the state under %s is created readable and writable by anyone who reaches ZooKeeper", dir)
	}
	go p.watchSession(events)
	for _, d := range []string{dir, dir + "/leader_election", dir + "/master_status"} {
		if err := p.ensure(d); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ZooKeeper %s: creating %s: %w", o.ZooKeeperURL, d, err)
		}
	}
	return p, nil
}

type zkLogger struct{ log logrus.FieldLogger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.WithField("component", "zookeeper").Debugf(format, args...)
}

func (p *zkPersister) waitSession(events <-chan zk.Event, timeout time.Duration) error {
	t := time.After(timeout)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return nil
			}
		case <-t:
			return fmt.Errorf("no session after %s", timeout)
		}
	}
}

func (p *zkPersister) watchSession(events <-chan zk.Event) {
	for ev := range events {
		if ev.State == zk.StateExpired {
			p.lostMu.Lock()
			f := p.lost
			p.lostMu.Unlock()
			if f != nil {
				f()
			}
		}
	}
}

// ensure creates a persistent znode and its parents if missing.
func (p *zkPersister) ensure(node string) error {
	cur := ""
	for _, part := range strings.Split(strings.TrimPrefix(node, "/"), "/") {
		cur += "/" + part
		_, err := p.conn.Create(cur, nil, 0, p.acl)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

func (p *zkPersister) mode() string { return RecoveryZooKeeper }

func (p *zkPersister) awaitLeadership(stop <-chan struct{}) error {
	election := p.dir + "/leader_election"
	var err error
	p.self, err = p.conn.Create(election+"/latch-", nil, zk.FlagEphemeral|zk.FlagSequence, p.acl)
	if err != nil {
		return fmt.Errorf("joining the leader election: %w", err)
	}
	me := path.Base(p.self)
	for {
		kids, _, err := p.conn.Children(election)
		if err != nil {
			return fmt.Errorf("reading the leader election: %w", err)
		}
		sort.Strings(kids)
		idx := sort.SearchStrings(kids, me)
		if idx >= len(kids) || kids[idx] != me {
			return errors.New("this master's election znode disappeared (session expired)")
		}
		if idx == 0 {
			return nil
		}
		// Watch the candidate just before this one.
		exists, _, ch, err := p.conn.ExistsW(election + "/" + kids[idx-1])
		if err != nil {
			return fmt.Errorf("watching the leader election: %w", err)
		}
		if !exists {
			continue
		}
		p.log.Infof("standby master: waiting for %s to go away", kids[idx-1])
		select {
		case <-ch:
		case <-stop:
			return errStopped
		}
	}
}

func (p *zkPersister) node(kind, id string) string {
	return p.dir + "/master_status/" + kind + "_" + strings.ReplaceAll(id, "/", "_")
}

func (p *zkPersister) describe(kind, id string) string { return "znode " + p.node(kind, id) }

func (p *zkPersister) save(kind, id string, data []byte) error {
	n := p.node(kind, id)
	_, err := p.conn.Create(n, data, 0, p.acl)
	if errors.Is(err, zk.ErrNodeExists) {
		_, err = p.conn.Set(n, data, -1)
	}
	return err
}

func (p *zkPersister) remove(kind, id string) error {
	err := p.conn.Delete(p.node(kind, id), -1)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	return err
}

func (p *zkPersister) load() (map[string]map[string][]byte, error) {
	kids, _, err := p.conn.Children(p.dir + "/master_status")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string][]byte{}
	for _, k := range kids {
		kind, id, ok := strings.Cut(k, "_")
		if !ok {
			continue
		}
		data, _, err := p.conn.Get(p.dir + "/master_status/" + k)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if out[kind] == nil {
			out[kind] = map[string][]byte{}
		}
		out[kind][id] = data
	}
	return out, nil
}

func (p *zkPersister) onLost(f func()) {
	p.lostMu.Lock()
	p.lost = f
	p.lostMu.Unlock()
}

func (p *zkPersister) close() { p.conn.Close() }
