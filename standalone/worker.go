package standalone

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"

	"github.com/stoke-run/stoke/internal/rpc"
	"github.com/stoke-run/stoke/internal/shufflesvc"
)

// WorkerOptions configure a worker daemon.
type WorkerOptions struct {
	Masters   []string // host:port of every master (HA: several)
	Host      string   // address advertised to executors and drivers; default: the one that reaches the master
	Cores     int
	MemoryMiB int
	WorkDir   string // executors' and drivers' directories and logs, binary cache
	WebUIPort int    // 8081; 0 picks one; -1 none
	Secret    string // the cluster secret
	// Insecure allows a worker beyond loopback without a cluster secret.
	Insecure bool
	// SkipMemoryCheck allows offering more memory than the machine has
	// (local-cluster with many small workers).
	SkipMemoryCheck bool
	// DriverBackoff is the first wait before a supervised driver restarts
	// (doubling up to a minute; default 1s).
	DriverBackoff time.Duration
	Log           logrus.FieldLogger

	// HTTP bounds the web UI server (timeouts, connections).
	HTTP HTTPLimits
	// MaxBinarySize bounds a downloaded application binary
	// (stoke.deploy.maxBinarySize; 1 GiB).
	MaxBinarySize int64
	// Cleanup removes the work directories of ended applications and
	// drivers (stoke.worker.cleanup.*).
	Cleanup CleanupOptions
	// ShuffleService serves the shuffle files of gone executors
	// (stoke.shuffle.service.enabled) on ShuffleServicePort
	// (stoke.shuffle.service.port; 0 picks one).
	ShuffleService     bool
	ShuffleServicePort int
}

// Worker runs executors and cluster-mode drivers for the master.
type Worker struct {
	opts    WorkerOptions
	id      string
	log     logrus.FieldLogger
	masters *masters
	cache   *binaryCache
	ui      net.Listener
	uiSrv   *http.Server
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	registered chan struct{}
	regOnce    sync.Once

	mu        sync.Mutex
	executors map[string]*runningExecutor // appID/executorID
	drivers   map[string]*runningDriver

	// The shuffle service (worker_shuffle.go), when it runs.
	shuffle    *shufflesvc.Server
	shuffleSrv *grpc.Server
	shuffleLis net.Listener
}

// StartWorker validates the options and starts registering with the master;
// it returns at once (WaitRegistered waits for the first registration).
func StartWorker(opts WorkerOptions) (*Worker, error) {
	if len(opts.Masters) == 0 {
		return nil, errors.New("worker: no master address")
	}
	if opts.Cores < 1 {
		return nil, fmt.Errorf("worker: --cores must be at least 1, got %d", opts.Cores)
	}
	if opts.MemoryMiB < 1 {
		return nil, fmt.Errorf("worker: --memory must be positive, got %d MiB", opts.MemoryMiB)
	}
	if !opts.SkipMemoryCheck {
		if err := checkWorkerMemory(opts.MemoryMiB); err != nil {
			return nil, err
		}
	}
	if opts.Log == nil {
		opts.Log = logrus.StandardLogger()
	}
	if opts.DriverBackoff <= 0 {
		opts.DriverBackoff = time.Second
	}
	if opts.Host == "" {
		opts.Host = rpc.OutboundHost(opts.Masters[0])
	}
	if opts.Secret == "" && !opts.Insecure && !IsLoopback(opts.Host) {
		return nil, fmt.Errorf("worker: it would serve on %s without a cluster secret: copy the master's secret file here and give --secret-file "+
			"(or stoke.authenticate.secret.file), or pass --insecure to join an open cluster on purpose", opts.Host)
	}
	if opts.WorkDir == "" {
		opts.WorkDir = "work"
	}
	abs, err := filepath.Abs(opts.WorkDir)
	if err != nil {
		return nil, err
	}
	opts.WorkDir = abs
	cache, err := newBinaryCache(filepath.Join(opts.WorkDir, "cache"))
	if err != nil {
		return nil, err
	}
	if opts.MaxBinarySize > 0 {
		cache.maxSize = opts.MaxBinarySize
	}
	opts.Cleanup = opts.Cleanup.withDefaults()
	w := &Worker{opts: opts, masters: newMasters(opts.Masters, opts.Secret), cache: cache,
		registered: make(chan struct{}), executors: map[string]*runningExecutor{}, drivers: map[string]*runningDriver{}}
	if opts.WebUIPort >= 0 {
		w.ui, err = net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.WebUIPort)))
		if err != nil {
			return nil, fmt.Errorf("worker web UI port %d on %s: %w", opts.WebUIPort, opts.Host, err)
		}
		w.uiSrv = opts.HTTP.serve(w.ui, w.uiHandler())
	}
	if opts.ShuffleService {
		if err := w.startShuffleService(); err != nil {
			if w.uiSrv != nil {
				w.uiSrv.Close()
			}
			return nil, err
		}
	}
	port := "0"
	if w.ui != nil {
		port = strconv.Itoa(w.ui.Addr().(*net.TCPAddr).Port)
	}
	if w.ui == nil {
		port += "-" + strconv.Itoa(os.Getpid())
	}
	w.id = newWorkerID(time.Now(), opts.Host, port)
	w.log = opts.Log.WithField("worker", w.id)
	if opts.Secret == "" && opts.Insecure {
		w.log.Warn("INSECURE: this worker runs without a cluster secret (--insecure): whoever poses as the master can run code here")
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.wg.Add(2)
	go w.run()
	go w.cleanupLoop()
	return w, nil
}

// ID is the worker's id at the master.
func (w *Worker) ID() string { return w.id }

// UIAddr is the worker web UI's host:port ("" when off).
func (w *Worker) UIAddr() string {
	if w.ui == nil {
		return ""
	}
	return w.ui.Addr().String()
}

// WaitRegistered waits for the first registration with a master.
func (w *Worker) WaitRegistered(ctx context.Context) error {
	select {
	case <-w.registered:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("worker %s did not register with %v: %w", w.id, w.opts.Masters, ctx.Err())
	}
}

func (w *Worker) registration() WorkerRegistration {
	reg := WorkerRegistration{ID: w.id, Host: w.opts.Host, Cores: w.opts.Cores, MemoryMiB: w.opts.MemoryMiB}
	reg.WebUIURL = w.uiBase()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.executors {
		reg.Executors = append(reg.Executors, e.report())
	}
	for _, d := range w.drivers {
		reg.Drivers = append(reg.Drivers, d.report())
	}
	return reg
}

// logURL is the worker UI's page of an executor's stderr ("" without a UI).
func (w *Worker) logURL(appID, execID string) string {
	base := w.uiBase()
	if base == "" {
		return ""
	}
	return base + "/log?" + url.Values{"app": {appID}, "executor": {execID}, "file": {"stderr"}}.Encode()
}

// uiBase is the worker UI's URL as browsers and the master should use it
// ("" without a UI): on every interface it is named by the worker's host.
func (w *Worker) uiBase() string {
	if w.ui == nil {
		return ""
	}
	addr := w.ui.Addr().String()
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() && w.opts.Host != "" {
			addr = net.JoinHostPort(w.opts.Host, port)
		}
	}
	return "http://" + addr
}

// run registers, then long-polls the master for commands; the poll is
// also the worker's heartbeat. It re-registers whenever the master does
// not know it (a new leader after a failover).
func (w *Worker) run() {
	defer w.wg.Done()
	var ack int64
	registered := false
	wait := 200 * time.Millisecond
	var errs errorLog
	backoff := func(err error, what string) bool {
		if w.ctx.Err() != nil {
			return false // stopping
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			if errs.should(ae.Reply.Error, time.Now()) {
				w.log.Errorf("the master refuses this worker's cluster secret (%s): give the worker the master's secret file with --secret-file "+
					"or stoke.authenticate.secret.file; retrying", ae.Reply.Error)
			}
			wait = min(2*wait, 10*time.Second)
		} else {
			if errs.should(err.Error(), time.Now()) {
				w.log.WithError(err).Warn(what)
			} else {
				w.log.WithError(err).Debug(what)
			}
			wait = min(2*wait, 2*time.Second)
		}
		select {
		case <-w.ctx.Done():
			return false
		case <-time.After(wait):
			return true
		}
	}
	for w.ctx.Err() == nil {
		if !registered {
			if err := w.masters.call(w.ctx, pathWorkerRegister, w.registration(), nil, 10*time.Second); err != nil {
				if !backoff(err, "registering with the master") {
					return
				}
				continue
			}
			registered, ack, wait, errs = true, 0, 200*time.Millisecond, errorLog{}
			w.regOnce.Do(func() { close(w.registered) })
			w.log.Infof("registered with master %v", w.masters.addrs)
		}
		var reply WorkerPollReply
		err := w.masters.call(w.ctx, pathWorkerPoll, WorkerPoll{ID: w.id, Ack: ack}, &reply, time.Minute)
		if err != nil {
			if isUnknown(err) {
				registered = false
				continue
			}
			if !backoff(err, "polling the master") {
				return
			}
			continue
		}
		wait = 200 * time.Millisecond
		for _, c := range reply.Commands {
			if c.Seq <= ack {
				continue
			}
			w.handle(c)
			ack = c.Seq
		}
	}
}

func (w *Worker) handle(c WorkerCommand) {
	switch {
	case c.LaunchExecutor != nil:
		w.launchExecutor(*c.LaunchExecutor)
	case c.KillExecutor != nil:
		w.killExecutor(*c.KillExecutor)
	case c.LaunchDriver != nil:
		w.launchDriver(*c.LaunchDriver)
	case c.KillDriver != "":
		w.killDriver(c.KillDriver)
	case c.AppFinished != "":
		w.appFinished(c.AppFinished)
	}
}

// errorLog lets a repeated error through once a minute, or when it changes.
type errorLog struct {
	last string
	at   time.Time
}

func (l *errorLog) should(msg string, now time.Time) bool {
	if msg == l.last && now.Sub(l.at) < time.Minute {
		return false
	}
	l.last, l.at = msg, now
	return true
}

// event reports a change to the master, retrying briefly; if it never
// arrives, the next registration carries the state.
func (w *Worker) event(ev WorkerEvent) {
	ev.WorkerID = w.id
	for i := 0; i < 20 && w.ctx.Err() == nil; i++ {
		err := w.masters.call(w.ctx, pathWorkerEvent, ev, nil, 10*time.Second)
		if err == nil || isUnknown(err) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Stop kills the worker's executors and drivers and leaves.
func (w *Worker) Stop() {
	w.cancel()
	w.mu.Lock()
	execs := make([]*runningExecutor, 0, len(w.executors))
	for _, e := range w.executors {
		execs = append(execs, e)
	}
	drivers := make([]*runningDriver, 0, len(w.drivers))
	for _, d := range w.drivers {
		drivers = append(drivers, d)
	}
	w.mu.Unlock()
	for _, e := range execs {
		e.kill()
	}
	for _, d := range drivers {
		d.kill()
	}
	for _, e := range execs {
		e.wait(5 * time.Second)
	}
	if w.uiSrv != nil {
		w.uiSrv.Close()
	}
	w.stopShuffleService()
	w.wg.Wait()
}

// ExecutorPIDs maps "appID/executorID" to the process ids of running
// executors (fault-injection tests kill them).
func (w *Worker) ExecutorPIDs() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for k, e := range w.executors {
		if pid := e.pidNow(); pid > 0 {
			out[k] = pid
		}
	}
	return out
}
