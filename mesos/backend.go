package mesos

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/coarse"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Backend runs an application's executors as a Mesos framework.
type Backend struct {
	// Binary is the program executors run (default: this executable).
	Binary string

	master conf.Master
	conf   *conf.Conf
	log    logrus.FieldLogger
	set    settings
	http   *http.Client

	secret string
	tls    rpc.TLS
	srv    *coarse.Server
	files  *fileServer

	flowMu      sync.Mutex // serializes REVIVE/SUPPRESS decisions with their calls
	mu          sync.Mutex
	caller      calls.Caller // current subscription's caller, nil when disconnected
	frameworkID string
	tasks       map[string]*taskState // Mesos task id (= Stoke executor id) → state
	driver      backend.Driver
	fineExecs   map[string]*fineExecState // fine-grained: executor id → its queue
	fineTasks   map[string]*fineTask      // fine-grained: Mesos task id of a Stoke task → its executor
	hooks       frameworkHooks            // set: this framework is the dispatcher, not an application
	failures    map[string]int            // failed executors per agent
	launched    int
	idPrefix    string // executor ids of a restarted driver: unlike its earlier incarnation's
	limit       int
	suppressed  bool
	stopping    bool
	lastErr     error             // why the last subscription ended or failed
	ended       bool              // the application was ended: no agent can run it
	agentsSeen  map[string]string // agents that offered resources: id → host
	subscribed  chan error        // first subscription's outcome
	cancel      context.CancelFunc
	done        chan struct{}
}

type taskState struct {
	agentID  string
	host     string
	cpus     float64
	state    mesos.TaskState
	lastSeen time.Time
}

var _ backend.Backend = (*Backend)(nil)

// New returns the backend for a mesos:// master. It checks the settings
// but contacts no master until Start.
func New(m conf.Master, c *conf.Conf, log logrus.FieldLogger) (*Backend, error) {
	if m.Kind != conf.Mesos {
		return nil, fmt.Errorf("master %q is not a mesos:// master", m.Raw)
	}
	s, err := readSettings(c)
	if err != nil {
		return nil, fmt.Errorf("master %s: %w", m.Raw, err)
	}
	if log == nil {
		log = logrus.StandardLogger()
	}
	prefix := ""
	if s.frameworkID != "" {
		// Re-subscribing with an earlier incarnation's framework id: its
		// executors may still run, so ids must not repeat theirs.
		prefix = strconv.FormatInt(time.Now().UnixMilli(), 36) + "-"
	}
	return &Backend{
		idPrefix: prefix,
		master:   m, conf: c, log: log.WithField("backend", "mesos"), set: s,
		http:       &http.Client{Timeout: 10 * time.Second},
		tasks:      map[string]*taskState{},
		failures:   map[string]int{},
		agentsSeen: map[string]string{},
		fineExecs:  map[string]*fineExecState{},
		fineTasks:  map[string]*fineTask{},
		limit:      s.limit,
	}, nil
}

// Start serves the driver's executor endpoint (and the binary, without
// stoke.executor.uri), then subscribes; it returns once the framework is
// subscribed, or with the reason it cannot be.
func (b *Backend) Start(ctx context.Context, d backend.Driver) error {
	if b.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this program's binary for executors: %w", err)
		}
		b.Binary = exe
	}
	host := b.set.driverHost
	if host == "" {
		host = "127.0.0.1"
		if len(b.master.Hosts) > 0 {
			host = rpc.OutboundHost(b.master.Hosts[0])
		}
	}
	b.secret = b.conf.String("stoke.authenticate.secret")
	if b.secret == "" {
		b.secret = rpc.NewSecret()
	}
	b.tls = coarse.TLSFromConf(b.conf)
	srv, err := coarse.NewServer(coarse.Options{Host: host, Secret: b.secret, Conf: b.conf, Log: b.log, NetworkTimeout: b.set.networkTimeout, TLS: b.tls})
	if err != nil {
		return err
	}
	b.srv = srv
	b.driver = d
	srv.Attach(d)
	binary := b.Binary
	if b.set.executorURI != "" {
		binary = ""
	}
	var grantTLS *tls.Config
	if b.tls.Enabled() {
		if grantTLS, err = b.tls.ServerConfig(); err != nil {
			srv.Stop()
			return err
		}
	}
	fs, err := serveGrants(host, binary, newGrants(), grantTLS, b.log.Warnf)
	if err != nil {
		srv.Stop()
		return err
	}
	b.files = fs
	b.set.webUIURL = backend.DriverUIURL(d, host, b.conf.String("stoke.driver.bindAddress"))
	return b.startLoop(ctx)
}

// startLoop runs the subscription loop and waits for the first
// subscription's outcome.
func (b *Backend) startLoop(ctx context.Context) error {
	var err error
	loopCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.done = make(chan struct{})
	b.subscribed = make(chan error, 1)
	go b.run(loopCtx)
	timeout := time.NewTimer(b.set.registrationTimeout)
	defer timeout.Stop()
	select {
	case err = <-b.subscribed:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout.C:
		b.mu.Lock()
		last := b.lastErr
		b.mu.Unlock()
		err = fmt.Errorf("no Mesos master at %s subscribed framework %q within %v (stoke.mesos.registrationTimeout)", b.master.Raw, b.set.name, b.set.registrationTimeout)
		if last != nil {
			err = fmt.Errorf("%w: %v", err, last)
		}
	}
	if err != nil {
		b.shutdown()
		return err
	}
	return nil
}

// Stop tears the framework down, which kills every executor. The
// subscription loop sees the backend stopping and ends with the stream
// TEARDOWN closes, instead of subscribing again.
func (b *Backend) Stop(ctx context.Context) error {
	b.mu.Lock()
	b.stopping = true
	caller, id := b.caller, b.frameworkID
	b.mu.Unlock()
	var err error
	if caller != nil && id != "" {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = b.send(tctx, caller, teardown())
		cancel()
	}
	b.shutdown()
	if err != nil {
		return fmt.Errorf("TEARDOWN of framework %s: %w", id, err)
	}
	return nil
}

func (b *Backend) shutdown() {
	if b.cancel != nil {
		b.cancel()
		<-b.done
	}
	if b.srv != nil {
		b.srv.Stop()
	}
	if b.files != nil {
		b.files.close()
	}
}

// LaunchTasks sends tasks to an executor; in fine-grained mode they wait
// for CPUs from an offer of the executor's agent first.
func (b *Backend) LaunchTasks(id string, tasks []*pb.TaskDesc) error {
	if b.set.fine {
		return b.fineLaunch(id, tasks)
	}
	return b.srv.LaunchTasks(id, tasks)
}

// KillTask kills a task (in fine-grained mode also its Mesos task).
func (b *Backend) KillTask(id string, task int64, reason string) error {
	if b.set.fine {
		return b.fineKill(id, task, reason)
	}
	return b.srv.KillTask(id, task, reason)
}

// StackDump implements backend.StackDumper.
func (b *Backend) StackDump(ctx context.Context, id string) (string, error) {
	return b.srv.StackDump(ctx, id)
}

func (b *Backend) FetchResult(ctx context.Context, id, block string) ([]byte, error) {
	return b.srv.FetchResult(ctx, id, block)
}

// ReleaseCached tells the executors to drop the datasets' cached partitions.
func (b *Backend) ReleaseCached(ids []int32) { b.srv.ReleaseCached(ids) }

// ReleaseShuffles tells the executors to drop the shuffles' output.
func (b *Backend) ReleaseShuffles(ids []int32) { b.srv.ReleaseShuffles(ids) }

// ReleaseBroadcasts tells the executors to drop their broadcast copies.
func (b *Backend) ReleaseBroadcasts(names []string) { b.srv.ReleaseBroadcasts(names) }

// Revive asks for offers again when more executors are wanted.
func (b *Backend) Revive() { b.updateOffers(false) }

// RequestTotalExecutors sets how many executors the framework keeps.
func (b *Backend) RequestTotalExecutors(n int) error {
	b.mu.Lock()
	b.limit = n
	b.mu.Unlock()
	b.updateOffers(false)
	return nil
}

// KillExecutors kills the executors' Mesos tasks and lowers the number
// of executors wanted accordingly.
func (b *Backend) KillExecutors(ids []string) error {
	type kill struct{ task, agent string }
	b.mu.Lock()
	caller := b.caller
	var kills []kill
	for _, id := range ids {
		if t := b.tasks[id]; t != nil {
			kills = append(kills, kill{id, t.agentID})
		}
	}
	if b.limit < 0 {
		b.limit = len(b.tasks)
	}
	b.limit = max(0, b.limit-len(kills))
	b.mu.Unlock()
	if len(kills) == 0 {
		return nil
	}
	if caller == nil {
		return errors.New("not subscribed to a Mesos master: cannot kill executors now")
	}
	var errs []error
	for _, k := range kills {
		if err := b.send(context.Background(), caller, calls.Kill(k.task, k.agent)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DefaultParallelism is stoke.default.parallelism, else the cores held
// (at least 2).
func (b *Backend) DefaultParallelism() int {
	if b.set.defaultParallelism > 0 {
		return b.set.defaultParallelism
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.set.fine {
		slots := 0
		for _, e := range b.fineExecs {
			slots += e.slots
		}
		return max(2, slots)
	}
	return max(2, int(b.heldLocked()))
}

// ApplicationID is the Mesos framework id.
func (b *Backend) ApplicationID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.frameworkID
}

// FrameworkID is the framework id Mesos gave (empty before SUBSCRIBED).
func (b *Backend) FrameworkID() string { return b.ApplicationID() }

func (b *Backend) heldLocked() float64 {
	h := b.fineHeldLocked()
	for _, t := range b.tasks {
		h += t.cpus
	}
	return h
}

// nextID is the next executor id (and coarse Mesos task id).
func (b *Backend) nextID() string {
	id := b.idPrefix + strconv.Itoa(b.launched)
	b.launched++
	return id
}

// DecommissionExecutor asks an executor to copy its shuffle output to
// others before it goes (backend.Decommissioner).
func (b *Backend) DecommissionExecutor(id string, d *pb.Decommission, report func(*pb.MigrationReport)) error {
	return b.srv.DecommissionExecutor(id, d, report)
}
