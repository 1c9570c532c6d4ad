package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/coarse"
	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/spill"
)

// Processes runs N executor processes of Cores slots each on this machine:
// the application's own binary re-executed in executor mode. Lost
// executors are replaced while the application runs.
type Processes struct {
	N, Cores int
	Binary   string // default: this process's executable
	Conf     *conf.Conf
	Log      *logrus.Logger
	WorkDir  string   // executors' logs and scratch; default a temporary directory, removed by Stop
	ExtraEnv []string // added to (and overriding) executors' environment

	appID   string
	tempDir bool // WorkDir was made here: Stop removes it
	secret  string
	tls     rpc.TLS
	srv     *coarse.Server
	mu      sync.Mutex
	procs   map[string]*exec.Cmd
	next    int
	want    int
	stop    bool
	wg      sync.WaitGroup
}

var _ backend.Backend = (*Processes)(nil)

// NewProcesses returns a backend of n executor processes with cores slots.
func NewProcesses(n, cores int, c *conf.Conf, log *logrus.Logger) *Processes {
	if log == nil {
		log = logrus.StandardLogger()
	}
	return &Processes{N: n, Cores: cores, Conf: c, Log: log, appID: fmt.Sprintf("local-cluster-%d-%d", time.Now().UnixMilli(), localApps.Add(1))}
}

func (b *Processes) Start(_ context.Context, d backend.Driver) error {
	if b.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this program's binary to start executors: %w", err)
		}
		b.Binary = exe
	}
	if b.WorkDir == "" {
		dir, err := os.MkdirTemp("", b.appID+"-")
		if err != nil {
			return err
		}
		b.WorkDir, b.tempDir = dir, true
	}
	timeout, err := b.Conf.Duration("stoke.network.timeout")
	if err != nil {
		return err
	}
	b.secret = b.Conf.String("stoke.authenticate.secret")
	if b.secret == "" {
		b.secret = rpc.NewSecret()
	}
	b.tls = coarse.TLSFromConf(b.Conf)
	srv, err := coarse.NewServer(coarse.Options{
		Host: "127.0.0.1", Secret: b.secret, Conf: b.Conf, Log: b.Log, NetworkTimeout: timeout, TLS: b.tls,
	})
	if err != nil {
		return err
	}
	b.srv = srv
	srv.Attach(d)
	b.procs = map[string]*exec.Cmd{}
	b.want = b.N
	for i := 0; i < b.N; i++ {
		if err := b.launch(); err != nil {
			srv.Stop()
			return err
		}
	}
	return nil
}

// launch starts one executor process.
func (b *Processes) launch() error {
	b.mu.Lock()
	id := strconv.Itoa(b.next)
	b.next++
	b.mu.Unlock()
	logPath := filepath.Join(b.WorkDir, "executor-"+id+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	// The executor's spill and cache directories go under a scratch
	// directory removed when the process ends, however it ends.
	scratch := filepath.Join(b.WorkDir, "executor-"+id+".scratch")
	if err := os.Mkdir(scratch, 0o700); err != nil {
		logf.Close()
		return err
	}
	cmd := exec.Command(b.Binary)
	cmd.Env = append(os.Environ(),
		executor.EnvDriver+"="+b.srv.Address(),
		executor.EnvExecutorID+"="+id,
		executor.EnvCores+"="+strconv.Itoa(b.Cores),
		executor.EnvSecret+"="+b.secret,
		executor.EnvHost+"=127.0.0.1",
		executor.EnvLogLevel+"="+b.Conf.String("stoke.log.level"),
		spill.EnvLocalDirs+"="+scratch,
	)
	cmd.Env = append(cmd.Env, b.tls.Env()...)
	cmd.Env = append(cmd.Env, b.ExtraEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(scratch)
		return fmt.Errorf("starting executor %s (%s): %w", id, b.Binary, err)
	}
	b.mu.Lock()
	b.procs[id] = cmd
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		err := cmd.Wait()
		logf.Close()
		if rmErr := os.RemoveAll(scratch); rmErr != nil {
			b.Log.WithError(rmErr).Warnf("removing executor %s's scratch directory", id)
		}
		b.exited(id, cmd, err, logPath)
	}()
	return nil
}

func (b *Processes) exited(id string, cmd *exec.Cmd, err error, logPath string) {
	b.mu.Lock()
	delete(b.procs, id)
	stopping := b.stop
	replace := !stopping && len(b.procs) < b.want
	b.mu.Unlock()
	reason, joinFailed := exitReason(err)
	if joinFailed {
		// Another process of the same binary, secret and driver
		// address would fail the same way.
		replace = false
		b.Log.Errorf("executor %s could not join the driver (%s); not replacing it (log: %s)", id, reason, logPath)
	}
	reason += " (log: " + logPath + ")"
	if stopping {
		return
	}
	b.srv.ExecutorExited(id, reason)
	if replace {
		if err := b.launch(); err != nil {
			b.Log.WithError(err).Error("replacing a lost executor")
		}
	}
}

func (b *Processes) Stop(ctx context.Context) error {
	b.mu.Lock()
	b.stop = true
	b.mu.Unlock()
	b.srv.Stop()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		b.mu.Lock()
		for _, cmd := range b.procs {
			cmd.Process.Kill()
		}
		b.mu.Unlock()
		<-done
	}
	if b.tempDir {
		return os.RemoveAll(b.WorkDir)
	}
	return nil
}

// ExecutorPIDs maps executor ids to process ids (fault-injection tests kill them).
func (b *Processes) ExecutorPIDs() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for id, cmd := range b.procs {
		out[id] = cmd.Process.Pid
	}
	return out
}

func (b *Processes) LaunchTasks(id string, tasks []*pb.TaskDesc) error {
	return b.srv.LaunchTasks(id, tasks)
}
func (b *Processes) KillTask(id string, task int64, reason string) error {
	return b.srv.KillTask(id, task, reason)
}
func (b *Processes) FetchResult(ctx context.Context, id, block string) ([]byte, error) {
	return b.srv.FetchResult(ctx, id, block)
}
func (b *Processes) Revive() {}

// ReleaseCached tells the executors to drop the datasets' cached partitions.
func (b *Processes) ReleaseCached(ids []int32) { b.srv.ReleaseCached(ids) }

// ReleaseShuffles tells the executors to drop the shuffles' output.
func (b *Processes) ReleaseShuffles(ids []int32) { b.srv.ReleaseShuffles(ids) }

// ReleaseBroadcasts tells the executors to drop their broadcast copies.
func (b *Processes) ReleaseBroadcasts(names []string) { b.srv.ReleaseBroadcasts(names) }

func (b *Processes) RequestTotalExecutors(n int) error {
	b.mu.Lock()
	b.want = n
	missing := n - len(b.procs)
	b.mu.Unlock()
	for i := 0; i < missing; i++ {
		if err := b.launch(); err != nil {
			return err
		}
	}
	return nil
}

func (b *Processes) KillExecutors(ids []string) error {
	var errs []error
	for _, id := range ids {
		b.mu.Lock()
		b.want--
		b.mu.Unlock()
		if err := b.srv.ShutdownExecutor(id, "killed by the driver"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b *Processes) DefaultParallelism() int { return max(2, b.N*b.Cores) }
func (b *Processes) ApplicationID() string   { return b.appID }

// exitReason describes how an executor process ended and whether it failed
// to join its driver.
func exitReason(err error) (reason string, joinFailed bool) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		if err != nil {
			return "executor process: " + err.Error(), false
		}
		return "executor process exited with code 0", false
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("executor process killed by signal %s", ws.Signal()), false
	}
	code := ee.ExitCode()
	reason = fmt.Sprintf("executor process exited with code %d", code)
	if d := executor.ExitDescription(code); d != "" {
		reason += " (" + d + ")"
	}
	return reason, executor.IsRegistrationFailure(code)
}

// StackDump implements backend.StackDumper.
func (b *Processes) StackDump(ctx context.Context, id string) (string, error) {
	return b.srv.StackDump(ctx, id)
}

// DecommissionExecutor asks an executor to copy its shuffle output to
// others before it goes (backend.Decommissioner).
func (b *Processes) DecommissionExecutor(id string, d *pb.Decommission, report func(*pb.MigrationReport)) error {
	return b.srv.DecommissionExecutor(id, d, report)
}
