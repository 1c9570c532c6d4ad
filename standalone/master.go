package standalone

import (
	"context"
	"crypto/subtle"
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
	SpreadOut bool   // stoke.deploy.spreadOut
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
			return nil, fmt.Errorf("master web UI port %d on %s: %w", opts.WebUIPort, opts.Host, err)
		}
		m.uiSrv = opts.HTTP.serve(m.ui, m.uiHandler())
	}
	m.wg.Add(2)
	go m.elect()
	go m.tick()
	m.log.Infof("master listening on %s (web UI %s), recovery mode %s", m.api.Addr(), m.UIAddr(), m.persist.mode())
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
func (m *Master) elect() {
	defer m.wg.Done()
	if err := m.persist.awaitLeadership(m.stop); err != nil {
		if !errors.Is(err, errStopped) {
			m.log.WithError(err).Error("leader election failed")
		}
		return
	}
	if zp, ok := m.persist.(*zkPersister); ok {
		zp.onLost(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.leader {
				m.leader = false
				m.log.Error("lost the ZooKeeper session: this master no longer leads and serves as a standby; restart it to rejoin the election")
			}
		})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leader = true
	m.recover()
	m.log.Info("this master is the leader")
}

func (m *Master) tick() {
	defer m.wg.Done()
	every := max(m.opts.WorkerTimeout/4, 50*time.Millisecond)
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

// authorized checks the cluster secret.
func (m *Master) authorized(w http.ResponseWriter, r *http.Request) bool {
	if m.opts.Secret == "" {
		return true
	}
	got := r.Header.Get(SecretHeader)
	if subtle.ConstantTimeCompare([]byte(got), []byte(m.opts.Secret)) != 1 {
		msg := "wrong cluster secret (set stoke.authenticate.secret to the master's secret)"
		if got == "" {
			msg = "this master requires the cluster secret (set stoke.authenticate.secret)"
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
