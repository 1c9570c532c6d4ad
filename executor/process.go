package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/logging"
	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/shared"
)

// Environment of an executor process, set by whoever starts it.
const (
	EnvDriver     = "STOKE_DRIVER_ADDRESS"
	EnvExecutorID = "STOKE_EXECUTOR_ID"
	EnvCores      = "STOKE_EXECUTOR_CORES"
	EnvSecret     = "STOKE_APP_SECRET"
	EnvHost       = "STOKE_EXECUTOR_HOST"
	EnvLogLevel   = "STOKE_LOG_LEVEL"
	// EnvLogURL is where the executor's logs can be read (a standalone
	// worker's log page, a NodeManager's container logs); the driver's UI
	// links to it. On a Mesos agent the executor makes it itself.
	EnvLogURL = "STOKE_EXECUTOR_LOG_URL"
	// EnvShuffleServiceAddress and EnvShuffleServiceDir: the shuffle
	// service of the executor's standalone worker, and the directory it
	// serves this application's map outputs from.
	EnvShuffleServiceAddress = "STOKE_SHUFFLE_SERVICE_ADDRESS"
	EnvShuffleServiceDir     = "STOKE_SHUFFLE_SERVICE_DIR"
	// EnvAppID is the cluster manager's id of the application, which
	// shuffle services want with every fetch.
	EnvAppID = "STOKE_APP_ID"
)

// IsExecutorProcess says whether this process was started as an executor.
func IsExecutorProcess() bool { return os.Getenv(EnvExecutorID) != "" }

// ProcessConfig is what an executor process needs to join its driver.
type ProcessConfig struct {
	DriverAddress string
	ExecutorID    string
	Host          string // address advertised to other executors
	LogURL        string // where its logs are read ("" unknown)
	Secret        string
	Cores         int
	TLS           rpc.TLS
	Log           *logrus.Logger
	// OnStatus, when set, also hears every task status the executor reports
	// (a Mesos fine-grained executor ends its Mesos tasks with them).
	OnStatus func(*pb.TaskStatus)
	// Inbox, when set, carries task launches and kills that come another way
	// than the driver's stream (a Mesos fine-grained executor gets its tasks
	// in the agent's LAUNCH events). Only Launch and Kill messages are taken.
	Inbox <-chan *pb.DriverMessage
	// ShuffleServiceAddress and ShuffleServiceDir: see
	// EnvShuffleServiceAddress.
	ShuffleServiceAddress, ShuffleServiceDir string
	// OnCredentials, when set, takes credentials the driver sends afresh (on YARN: Hadoop
	// delegation tokens for the container's token file). An error is logged.
	OnCredentials func(hadoopTokens []byte) error
}

// logURLFromEnv is where this executor's logs can be read: what its
// cluster manager put in EnvLogURL or, on a Mesos agent, its sandbox's
// stderr through the agent's /files API.
func logURLFromEnv(getenv func(string) string) string {
	if u := getenv(EnvLogURL); u != "" {
		return u
	}
	agent, dir := getenv("MESOS_AGENT_ENDPOINT"), getenv("MESOS_DIRECTORY")
	if agent != "" && dir != "" {
		return "http://" + agent + "/files/download?" + url.Values{"path": {path.Join(dir, "stderr")}}.Encode()
	}
	return ""
}

// ConfigFromEnv reads the executor's environment, naming what is missing.
func ConfigFromEnv() (ProcessConfig, error) {
	cfg := ProcessConfig{
		DriverAddress: os.Getenv(EnvDriver),
		ExecutorID:    os.Getenv(EnvExecutorID),
		Host:          os.Getenv(EnvHost),
		LogURL:        logURLFromEnv(os.Getenv),
		Secret:        os.Getenv(EnvSecret),
		TLS:           rpc.TLSFromEnv(),
		Log:           logrus.New(),

		ShuffleServiceAddress: os.Getenv(EnvShuffleServiceAddress),
		ShuffleServiceDir:     os.Getenv(EnvShuffleServiceDir),
	}
	var errs []error
	if cfg.DriverAddress == "" {
		errs = append(errs, fmt.Errorf("%s is not set", EnvDriver))
	}
	if cfg.Secret == "" {
		errs = append(errs, fmt.Errorf("%s is not set", EnvSecret))
	}
	cores, err := strconv.Atoi(os.Getenv(EnvCores))
	if err != nil || cores < 1 {
		errs = append(errs, fmt.Errorf("%s=%q is not a positive integer", EnvCores, os.Getenv(EnvCores)))
	}
	cfg.Cores = cores
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if lvl, err := logrus.ParseLevel(os.Getenv(EnvLogLevel)); err == nil {
		cfg.Log.SetLevel(lvl)
	}
	return cfg, errors.Join(errs...)
}

// RunProcess joins the driver and runs its tasks until the driver shuts the
// executor down (nil) or the connection is lost (an error).
func RunProcess(ctx context.Context, cfg ProcessConfig) error {
	log := cfg.Log.WithField("executor", cfg.ExecutorID)
	if dir := os.Getenv(EnvCPUProfileDir); dir != "" {
		stop, err := startCPUProfile(dir, cfg.ExecutorID)
		if err != nil {
			log.WithError(err).Warn("not profiling")
		} else {
			defer stop()
		}
	}
	const maxMsg = 128 << 20
	lis, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, "0"))
	if err != nil {
		return fmt.Errorf("listening for block fetches on %s: %w", cfg.Host, err)
	}
	store := NewBlockStore()
	defer store.Close()
	serverSec, err := cfg.TLS.ServerOption()
	if err != nil {
		lis.Close()
		return err
	}
	dialSec, err := cfg.TLS.DialOption()
	if err != nil {
		lis.Close()
		return err
	}
	srv := grpc.NewServer(append(rpc.ServerOptions(cfg.Secret, maxMsg), serverSec)...)
	RegisterBlockService(srv, store)
	go srv.Serve(lis)
	defer srv.Stop()

	cc, err := grpc.NewClient(cfg.DriverAddress, append(rpc.DialOptions(cfg.Secret, maxMsg), dialSec)...)
	if err != nil {
		return fmt.Errorf("driver address %q: %w", cfg.DriverAddress, err)
	}
	defer cc.Close()
	client := pb.NewDriverClient(cc)
	req := &pb.RegisterRequest{
		ExecutorId:   cfg.ExecutorID,
		Host:         cfg.Host,
		Cores:        int32(cfg.Cores),
		BlockAddress: lis.Addr().String(),
		LogUrl:       cfg.LogURL,
		Functions:    registry.FuncNames(),
		Types:        registry.TypeNames(),
		Pid:          int32(os.Getpid()),
	}
	if cfg.ShuffleServiceAddress != "" && cfg.ShuffleServiceDir != "" {
		req.ShuffleServiceAddress = cfg.ShuffleServiceAddress
	}
	resp, err := register(ctx, client, req)
	if err != nil {
		return classifyRegister(cfg.DriverAddress, err)
	}
	appConf := conf.New()
	for k, v := range resp.Conf {
		appConf.Set(k, v, conf.SourceEnv)
	}
	// The application's log format (its level came in the environment).
	if err := logging.Apply(cfg.Log, "", appConf.String("stoke.log.format")); err != nil {
		cfg.Log.Warn(err)
	}
	heartbeat, err := appConf.Duration("stoke.executor.heartbeatInterval")
	if err != nil || heartbeat <= 0 {
		heartbeat = 10 * time.Second
	}
	maxDirect := 1 << 20
	if n, err := appConf.Bytes("stoke.task.maxDirectResultSize"); err == nil && n > 0 {
		maxDirect = int(n)
	}
	memBytes, err := appConf.Bytes("stoke.executor.memory")
	if err != nil {
		return fmt.Errorf("executor configuration: %w", err)
	}
	// The executor's memory is a bound on the process, not a hint: the Go
	// runtime collects harder as its memory nears the limit, which leaves a
	// tenth for what the runtime does not count (the binary, thread stacks).
	TuneRuntime(memBytes)
	res, err := NewResources(appConf.Get, cfg.ExecutorID, memBytes)
	if err != nil {
		return fmt.Errorf("executor configuration: %w", err)
	}
	defer res.Close()

	streamCtx, stop := context.WithCancel(ctx)
	defer stop()
	stream, err := client.Connect(streamCtx)
	if err != nil {
		return fmt.Errorf("connecting to driver %s: %w", cfg.DriverAddress, err)
	}
	out := newOutbox()
	out.limit = memBytes
	if err := stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Hello{Hello: &pb.Hello{ExecutorId: cfg.ExecutorID}}}); err != nil {
		return fmt.Errorf("connecting to driver %s: %w", cfg.DriverAddress, err)
	}
	blocks := NewBlockClient(cfg.Secret, maxMsg, cfg.TLS)
	blocks.AppID = os.Getenv(EnvAppID)
	defer blocks.Close()
	fetchTimeout, err := appConf.Duration("stoke.network.timeout")
	if err != nil || fetchTimeout <= 0 {
		fetchTimeout = 120 * time.Second
	}
	// One executor per process: broadcast values come from this driver.
	defer shared.SetFetcher(broadcastFetcher(client, cfg.ExecutorID, fetchTimeout))()
	env := &Env{
		ExecutorID:      cfg.ExecutorID,
		Blocks:          store,
		MaxDirectResult: maxDirect,
		Fetch: func(ctx context.Context, o *pb.MapOutput, block string) ([]byte, error) {
			if o.ExecutorId == cfg.ExecutorID {
				return store.Get(block)
			}
			return blocks.Fetch(ctx, o.Address, block)
		},
		CanCommit: func(ctx context.Context, req *pb.CommitRequest) (bool, error) {
			r, err := client.CanCommit(ctx, req)
			if err != nil {
				return false, err
			}
			return r.Allowed, nil
		},
	}
	res.Apply(env)
	if on, _ := appConf.Bool("stoke.shuffle.service.enabled"); on {
		switch {
		case req.ShuffleServiceAddress == "":
			log.Warn("stoke.shuffle.service.enabled is set but no shuffle service runs where this executor does (a standalone worker with stoke.shuffle.service.enabled); map outputs are served by the executor only")
		case os.MkdirAll(cfg.ShuffleServiceDir, 0o700) != nil:
			return fmt.Errorf("shuffle service directory %s cannot be created", cfg.ShuffleServiceDir)
		default:
			env.ShuffleServiceDir = cfg.ShuffleServiceDir
		}
	}
	// Outputs received from decommissioning executors are held like task
	// outputs: in memory while small, else in the spill directories.
	if env.Memory != nil {
		store.SetOutputSpill(env.Spill, max(1<<20, min(defaultMemOutput, env.Memory.Stats().Unified/16)))
	} else {
		store.SetOutputSpill(env.Spill, defaultMemOutput)
	}
	// What an operator reads in the executor's stderr, as in Spark's
	// executor logs: each task's start and end at info (a --log-level of
	// warn keeps only failures, for jobs of very many tiny tasks), a failed
	// task at warn with its error's first line, and a count of tasks run
	// when the executor stops.
	var finished, failedTasks atomic.Int64
	report := func(st *pb.TaskStatus) {
		switch st.State {
		case pb.TaskState_SUCCEEDED:
			finished.Add(1)
			if log.Logger.IsLevelEnabled(logrus.InfoLevel) {
				log.WithField("task", st.TaskId).Infof("finished task %d in %v", st.TaskId, time.Duration(st.GetMetrics().GetDurationNs()).Round(time.Microsecond))
			}
		case pb.TaskState_FAILED, pb.TaskState_FETCH_FAILED:
			failedTasks.Add(1)
			msg, _, _ := strings.Cut(st.Error, "\n")
			log.WithField("task", st.TaskId).Warnf("task %d failed: %s", st.TaskId, msg)
		case pb.TaskState_KILLED:
			log.WithField("task", st.TaskId).Infof("task %d killed: %s", st.TaskId, st.Error)
		}
		out.status(st)
		if cfg.OnStatus != nil {
			cfg.OnStatus(st)
		}
	}
	defer func() {
		log.Infof("executor stopping after %d task(s) finished and %d failed", finished.Load(), failedTasks.Load())
	}()
	runner := NewRunner(env, report)
	defer runner.Close()
	defer runner.KillAll("executor stopping")

	sendErr := make(chan error, 1)
	go func() { sendErr <- out.run(stream, heartbeat, runner, store) }()

	if cfg.Inbox != nil {
		// Ends before the runner closes (deferred later, so run earlier).
		quit, ended := make(chan struct{}), make(chan struct{})
		defer func() { close(quit); <-ended }()
		go func() {
			defer close(ended)
			for {
				select {
				case <-quit:
					return
				case msg := <-cfg.Inbox:
					taskMessage(log, runner, msg)
				}
			}
		}()
	}

	log.Infof("registered with the driver at %s: %d task slot(s), %d MiB", cfg.DriverAddress, cfg.Cores, memBytes>>20)
	for {
		msg, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("driver closed the connection")
			}
			return fmt.Errorf("lost connection to driver: %w", err)
		}
		if taskMessage(log, runner, msg) {
			continue
		}
		switch m := msg.Msg.(type) {
		case *pb.DriverMessage_Release:
			for _, id := range m.Release.ShuffleIds {
				store.ReleaseShuffle(id)
			}
			if len(m.Release.RddIds) > 0 {
				store.ReleaseCached(m.Release.RddIds)
			}
			shared.Drop(m.Release.Broadcasts)
		case *pb.DriverMessage_Dump:
			out.dump(m.Dump.Id)
		case *pb.DriverMessage_Decommission:
			d := m.Decommission
			log.Infof("decommissioning: copying %d map output(s) to %d executor(s)", len(d.Outputs), len(d.Targets))
			go func() {
				rep := Migrate(streamCtx, blocks, store, d, fetchTimeout)
				if rep.Failed > 0 {
					log.Warnf("decommissioning: %d map output(s) copied, %d not: %s", len(rep.Moved), rep.Failed, rep.Error)
				} else {
					log.Infof("decommissioning: %d map output(s) copied", len(rep.Moved))
				}
				out.migrated(rep)
			}()
		case *pb.DriverMessage_Credentials:
			if cfg.OnCredentials == nil {
				log.Debug("credentials from the driver ignored: nothing here uses them")
			} else if err := cfg.OnCredentials(m.Credentials.HadoopTokens); err != nil {
				log.WithError(err).Warn("cannot use the credentials the driver sent")
			} else {
				log.Info("took new credentials from the driver")
			}
		case *pb.DriverMessage_Shutdown:
			log.Debugf("shutdown: %s", m.Shutdown.Reason)
			runner.KillAll("executor shutdown")
			out.close()
			select {
			case <-sendErr:
			case <-time.After(2 * time.Second):
			}
			return nil
		}
	}
}

// taskMessage applies a launch or kill and reports whether msg was one.
func taskMessage(log *logrus.Entry, runner *Runner, msg *pb.DriverMessage) bool {
	switch m := msg.Msg.(type) {
	case *pb.DriverMessage_Launch:
		info := log.Logger.IsLevelEnabled(logrus.InfoLevel)
		for _, t := range m.Launch.Tasks {
			if info {
				log.WithField("task", t.TaskId).Infof("running task %d (stage %d.%d, partition %d, attempt %d)", t.TaskId, t.StageId, t.StageAttempt, t.Partition, t.Attempt)
			}
			runner.Launch(t)
		}
	case *pb.DriverMessage_Kill:
		runner.Kill(m.Kill.TaskId, m.Kill.Reason)
	default:
		return false
	}
	return true
}

// register retries while the driver is unreachable (it may be starting),
// for about ten seconds; a refusal is final.
// registerAttempts bounds the Register calls of an executor that cannot
// reach its driver (backing off from 100ms, about 12s in all).
var registerAttempts = 7

func register(ctx context.Context, client pb.DriverClient, req *pb.RegisterRequest) (*pb.RegisterResponse, error) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := client.Register(callCtx, req)
		cancel()
		if err == nil {
			return resp, nil
		}
		if status.Code(err) != codes.Unavailable || attempt >= registerAttempts {
			return nil, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
}

// outbox batches status updates and heartbeats onto the stream, which only
// one goroutine may send on.
type outbox struct {
	mu      sync.Mutex
	pending []*pb.TaskStatus
	wake    chan struct{}
	closed  bool
	limit   int64 // the executor's memory bound, sent with heartbeats
	dumps   []*pb.StackDump
	reports []*pb.MigrationReport
}

// migrated queues a decommission's report for the driver.
func (o *outbox) migrated(r *pb.MigrationReport) {
	o.mu.Lock()
	o.reports = append(o.reports, r)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// dump queues the stacks of every goroutine for the driver (its UI asked).
func (o *outbox) dump(id int64) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 16<<20 {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	o.mu.Lock()
	o.dumps = append(o.dumps, &pb.StackDump{Id: id, Text: string(buf)})
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

// residentBytes is the process's resident set from /proc/self/statm (0
// where there is none).
// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

func (o *outbox) status(st *pb.TaskStatus) {
	o.mu.Lock()
	o.pending = append(o.pending, st)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) run(stream pb.Driver_ConnectClient, heartbeat time.Duration, r *Runner, store *BlockStore) error {
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-o.wake:
		case <-t.C:
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			rss := residentBytes()
			if rss == 0 {
				rss = int64(ms.Sys) // not Linux: what the runtime holds from the OS
			}
			hb := &pb.Heartbeat{RssBytes: rss, HeapBytes: int64(ms.HeapAlloc), MemoryLimit: o.limit, RunningTasks: int32(r.Running()),
				Goroutines: int32(runtime.NumGoroutine()), GcCycles: int64(ms.NumGC), GcPauseNs: int64(ms.PauseTotalNs), CpuNs: cpuTime().Nanoseconds()}
			if store != nil {
				hb.ShuffleMemoryBytes = store.Bytes()
				hb.CacheMemoryBytes, hb.CacheDiskBytes = store.CachedBytes()
			}
			if err := stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Heartbeat{Heartbeat: hb}}); err != nil {
				return err
			}
			continue
		}
		o.mu.Lock()
		batch, closed, dumps, reports := o.pending, o.closed, o.dumps, o.reports
		o.pending, o.dumps, o.reports = nil, nil, nil
		o.mu.Unlock()
		for _, r := range reports {
			if err := stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Migrated{Migrated: r}}); err != nil {
				return err
			}
		}
		for _, d := range dumps {
			if err := stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Dump{Dump: d}}); err != nil {
				return err
			}
		}
		if len(batch) > 0 {
			if err := stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Status{Status: &pb.StatusBatch{Updates: batch}}}); err != nil {
				return err
			}
		}
		if closed {
			return stream.CloseSend()
		}
	}
}

// goMemoryLimit is the Go runtime memory limit of an executor of memBytes.
// The runtime's own memory, the binary and freed pages not yet returned
// take some 30 MiB whatever the executor's size.
func goMemoryLimit(memBytes int64) int64 {
	if memBytes < 128<<20 {
		return memBytes / 4 * 3
	}
	return memBytes - max(memBytes/10, 32<<20)
}

// TuneRuntime fits the Go runtime to a process that runs tasks in memBytes
// of memory: the memory limit goes to 90% of it, at least 32 MiB below
// (unless GOMEMLIMIT is lower), and, unless GOGC is set, the collector runs at twice the default
// heap growth (GOGC=200) — tasks allocate fast, and the memory limit, not
// the growth ratio, is what bounds the heap.
func TuneRuntime(memBytes int64) {
	if limit := goMemoryLimit(memBytes); limit < debug.SetMemoryLimit(-1) {
		debug.SetMemoryLimit(limit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
}

// EnvCPUProfileDir names a directory where each executor process writes a
// CPU profile of its whole life (executor-<id>-<pid>.pprof), for `go tool
// pprof`.
const EnvCPUProfileDir = "STOKE_EXECUTOR_CPU_PROFILE_DIR"

func startCPUProfile(dir, id string) (func(), error) {
	name := fmt.Sprintf("executor-%s-%d.pprof", strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, id), os.Getpid())
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	var once sync.Once
	// A worker ends its executors with SIGTERM: RunProcess returns (see
	// SignalContext) and its deferred stop writes the profile.
	stop := func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }
	return stop, nil
}

// SignalContext returns a context cancelled by SIGTERM or SIGINT, and a
// function to call once RunProcess has returned on it: having cleaned up
// (spill and cache directories removed, tasks killed), the process ends by
// the same signal, so that whoever sent it sees the end it asked for.
func SignalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	var got atomic.Value
	go func() {
		s, ok := <-sigs
		if ok {
			got.Store(s)
			cancel()
		}
	}()
	return ctx, func() {
		s, _ := got.Load().(syscall.Signal)
		if s == 0 {
			return
		}
		signal.Reset(s)
		_ = syscall.Kill(os.Getpid(), s)
		time.Sleep(time.Second) // the signal ends the process first
		os.Exit(128 + int(s))
	}
}
