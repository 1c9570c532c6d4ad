package standalone

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/clock"
)

// MasterOptions configure a master daemon.
type MasterOptions struct {
	Host      string // listen address (default 0.0.0.0)
	Port      int    // API port for workers and drivers (7077; 0 picks one)
	WebUIPort int    // web UI (8080; 0 picks one; -1 none)
	Secret    string // required from workers, drivers and submissions when set
	// Insecure allows listening beyond loopback without a secret; the
	// master then says so in its log, UI and /json.
	Insecure bool
	// SecretFile is where Secret came from (shown in logs, never the secret).
	SecretFile string
	// DriverGrace: a driver with no long poll open this long (it polls
	// again at once, unless its process died) has its application failed
	// (stoke.deploy.driverDisconnectGrace; default 5s).
	DriverGrace time.Duration
	SpreadOut   bool // stoke.deploy.spreadOut
	// ReverseProxy serves running applications' driver UIs under
	// /proxy/<application>/ of the master's UI (stoke.ui.reverseProxy).
	ReverseProxy bool
	// HistoryURL is the base URL of the history server completed
	// applications link to ("" none).
	HistoryURL string
	// WorkerTimeout: a worker or driver silent this long is dead
	// (stoke.worker.timeout).
	WorkerTimeout time.Duration
	// Recovery: "NONE", "FILESYSTEM" or "ZOOKEEPER".
	RecoveryMode string
	RecoveryDir  string // FILESYSTEM
	ZooKeeperURL string // ZOOKEEPER: host:port[,host:port]
	ZooKeeperDir string // ZOOKEEPER: znode root (default /stoke)
	// ZooKeeperSession is the ZooKeeper session timeout: how long after a
	// leader dies a standby takes over (default 10s).
	ZooKeeperSession time.Duration
	WorkDir          string // uploaded binaries of cluster-mode drivers
	Clock            clock.Clock
	Log              logrus.FieldLogger

	// HTTP bounds the API and UI servers (timeouts, connections); the API's
	// WriteTimeout defaults to above the long-poll wait.
	HTTP HTTPLimits
	// MaxBinarySize bounds an uploaded driver binary (stoke.deploy.maxBinarySize).
	MaxBinarySize int64
	// RetainedApps and RetainedDrivers: ended applications and drivers
	// kept for the UI and /json (stoke.deploy.retainedApplications,
	// stoke.deploy.retainedDrivers; 200).
	RetainedApps    int
	RetainedDrivers int
}

// Master is the standalone cluster's master daemon.
type Master struct {
	opts  MasterOptions
	clock clock.Clock
	log   logrus.FieldLogger

	api, ui       net.Listener
	apiSrv, uiSrv *http.Server
	persist       persister
	stop          chan struct{}
	stopOnce      sync.Once
	wg            sync.WaitGroup
	binaries      *binaryStore

	mu            sync.Mutex
	leader        bool
	recovering    bool
	recoveryStart time.Time
	started       time.Time
	workers       map[string]*workerInfo
	apps          map[string]*appInfo
	drivers       map[string]*driverInfo
	nextApp       int
	nextWorker    int
	nextDriver    int

	// recoveryWarnings name recovery entries that could not be recovered.
	recoveryWarnings []string
	lastBinaryGC     time.Time
}

// StartMaster listens and serves until Stop. With ZOOKEEPER recovery it
// serves as a standby until it wins the election.
func StartMaster(opts MasterOptions) (*Master, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Log == nil {
		opts.Log = logrus.StandardLogger()
	}
	if opts.WorkerTimeout <= 0 {
		opts.WorkerTimeout = 60 * time.Second
	}
	if opts.Host == "" {
		opts.Host = "0.0.0.0"
	}
	opts.HTTP = opts.HTTP.withDefaults()
	if opts.MaxBinarySize <= 0 {
		opts.MaxBinarySize = defaultMaxBinarySize
	}
	if opts.RetainedApps <= 0 {
		opts.RetainedApps = defaultRetained
	}
	if opts.RetainedDrivers <= 0 {
		opts.RetainedDrivers = defaultRetained
	}
	if opts.DriverGrace <= 0 {
		opts.DriverGrace = 5 * time.Second
	}
	if opts.Secret == "" && !opts.Insecure && !IsLoopback(opts.Host) {
		return nil, fmt.Errorf("the master would listen on %s without a cluster secret, so anyone who reaches it could run code on every worker: "+
			"give --secret-file (or stoke.authenticate.secret.file), let `stoke master` create its default secret file, listen on 127.0.0.1 only, "+
			"or pass --insecure to run an open cluster on purpose", opts.Host)
	}
	m := &Master{opts: opts, clock: opts.Clock, log: opts.Log.WithField("component", "master"),
		stop: make(chan struct{}), workers: map[string]*workerInfo{}, apps: map[string]*appInfo{}, drivers: map[string]*driverInfo{}}
	m.started = m.clock.Now()
	if opts.WorkDir == "" && strings.EqualFold(opts.RecoveryMode, RecoveryFilesystem) {
		// Uploaded driver binaries survive a restart next to the state.
		m.opts.WorkDir = opts.RecoveryDir
	}
	var err error
	if m.binaries, err = newBinaryStore(m.opts.WorkDir); err != nil {
		return nil, err
	}
	m.binaries.maxSize, m.binaries.limits = opts.MaxBinarySize, opts.HTTP
	if m.persist, err = newPersister(opts); err != nil {
		m.binaries.close()
		return nil, err
	}
	if err := checkRecoveryFiles(m.persist); err != nil {
		m.persist.close()
		m.binaries.close()
		return nil, err
	}
	m.api, err = net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		m.persist.close()
		m.binaries.close()
		return nil, fmt.Errorf("master port %d on %s: %w", opts.Port, opts.Host, err)
	}
	apiLimits := opts.HTTP
	if apiLimits.WriteTimeout <= m.pollWait()+apiLimits.ReadTimeout {
		apiLimits.WriteTimeout = m.pollWait() + apiLimits.ReadTimeout + 30*time.Second
	}
	m.apiSrv = apiLimits.serve(m.api, m.apiHandler())
	if opts.WebUIPort >= 0 {
		m.ui, err = net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.WebUIPort)))
		if err != nil {
			m.apiSrv.Close()
			m.persist.close()
			m.binaries.close()
			return nil, fmt.Errorf("master web UI port %d on %s: %w", opts.WebUIPort, opts.Host, err)
		}
		m.uiSrv = opts.HTTP.serve(m.ui, m.uiHandler())
	}
	m.wg.Add(2)
	go m.elect()
	go m.tick()
	m.log.Infof("master listening on %s (web UI %s), recovery mode %s", m.api.Addr(), m.UIAddr(), m.persist.mode())
	switch {
	case opts.Secret == "" && opts.Insecure:
		m.log.Warn(insecureWarning)
	case opts.Secret == "":
		m.log.Warnf("no cluster secret: listening on loopback %s only, any local user can submit applications", opts.Host)
	case opts.SecretFile != "":
		m.log.Infof("workers, drivers and submitters authenticate with the cluster secret in %s", opts.SecretFile)
	}
	return m, nil
}

// Addr is the master's API host:port.
func (m *Master) Addr() string { return m.api.Addr().String() }

// UIAddr is the web UI's host:port ("" when off).
func (m *Master) UIAddr() string {
	if m.ui == nil {
		return ""
	}
	return m.ui.Addr().String()
}

// IsLeader says whether this master leads the cluster.
func (m *Master) IsLeader() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leader && !m.recovering
}

// elect waits to lead (at once without ZooKeeper), then recovers state.
// A leader that loses its ZooKeeper session steps down and joins the
// election again once a new session exists.
func (m *Master) elect() {
	defer m.wg.Done()
	lost := make(chan struct{}, 1)
	if zp, ok := m.persist.(*zkPersister); ok {
		zp.onLost(func() {
			select {
			case lost <- struct{}{}:
			default:
			}
		})
	}
	for {
		err := m.persist.awaitLeadership(m.stop)
		if errors.Is(err, errStopped) {
			return
		}
		if err != nil {
			m.log.WithError(err).Error("leader election failed; trying again")
			select {
			case <-m.stop:
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for len(lost) > 0 { // a loss before this election is stale
			<-lost
		}
		var session int64
		if zp, ok := m.persist.(*zkPersister); ok {
			session = zp.conn.SessionID()
		}
		m.mu.Lock()
		m.leader = true
		m.workers, m.apps, m.drivers = map[string]*workerInfo{}, map[string]*appInfo{}, map[string]*driverInfo{}
		m.recover()
		m.log.Info("this master is the leader")
		m.mu.Unlock()
		if _, ok := m.persist.(*zkPersister); !ok {
			return
		}
		m.awaitLoss(lost, session)
	}
}

// awaitLoss returns when the ZooKeeper session this master was elected in
// is gone (or the master stops).
func (m *Master) awaitLoss(lost <-chan struct{}, session int64) {
	zp := m.persist.(*zkPersister)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-lost:
		case <-t.C:
			if zp.conn.SessionID() == session {
				continue
			}
		}
		m.mu.Lock()
		if m.leader {
			m.leader = false
			m.log.Error("lost the ZooKeeper session: this master no longer leads; it joins the election again")
		}
		m.mu.Unlock()
		return
	}
}

func (m *Master) tick() {
	defer m.wg.Done()
	every := max(min(m.opts.WorkerTimeout, m.opts.DriverGrace)/4, 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.mu.Lock()
		m.checkTimeouts(m.clock.Now())
		m.collectBinaries(m.clock.Now())
		m.mu.Unlock()
	}
}

// Stop shuts the master down (workers and drivers keep running and attach
// to another master).
func (m *Master) Stop() {
	m.stopOnce.Do(func() {
		close(m.stop)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		m.apiSrv.Shutdown(ctx)
		m.apiSrv.Close()
		if m.uiSrv != nil {
			m.uiSrv.Close()
		}
		m.persist.close()
		m.wg.Wait()
		m.binaries.close()
	})
}

const insecureWarning = "INSECURE: this master runs without a cluster secret (--insecure): anyone who reaches its port can run code on every worker"

// authorized checks the cluster secret; it runs before any body is read.
func (m *Master) authorized(w http.ResponseWriter, r *http.Request) bool {
	if m.opts.Secret == "" {
		return true
	}
	if !secretOK(r, m.opts.Secret) {
		got := r.Header.Get(SecretHeader)
		msg := "wrong cluster secret: use the master's secret file (--secret-file or stoke.authenticate.secret.file)"
		if got == "" {
			msg = "this master requires the cluster secret: copy the master's secret file and give it with --secret-file or stoke.authenticate.secret.file"
		}
		writeError(w, http.StatusUnauthorized, errorReply{Error: msg})
		return false
	}
	return true
}

// leading answers 503 when this master is a standby or still recovering
// for calls that need the leader; m.mu is held on return true.
func (m *Master) lockLeader(w http.ResponseWriter) bool {
	m.mu.Lock()
	if !m.leader {
		m.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, errorReply{Error: "this master is a standby", Standby: true})
		return false
	}
	return true
}
