package standalone

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/internal/distfiles"
	"github.com/stoke-run/stoke/internal/spill"
)

type runningExecutor struct {
	spec LaunchExecutor
	dir  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	state  string
	reason string
	killed bool
	done   chan struct{}
}

func (e *runningExecutor) report() ExecutorReport {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := ExecutorReport{AppID: e.spec.AppID, ExecutorID: e.spec.ExecutorID, Cores: e.spec.Cores, MemoryMiB: e.spec.MemoryMiB,
		State: e.state, Reason: e.reason, LogPath: filepath.Join(e.dir, "stderr")}
	if e.cmd != nil && e.cmd.Process != nil {
		r.PID = e.cmd.Process.Pid
	}
	return r
}

func (e *runningExecutor) pidNow() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil || e.cmd.Process == nil || e.state != StateRunning {
		return 0
	}
	return e.cmd.Process.Pid
}

// kill ends the process group: SIGTERM, then SIGKILL after 5 s.
func (e *runningExecutor) kill() {
	e.mu.Lock()
	e.killed = true
	cmd := e.cmd
	e.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	go func() {
		select {
		case <-e.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
}

func (e *runningExecutor) wait(d time.Duration) {
	select {
	case <-e.done:
	case <-time.After(d):
	}
}

func (w *Worker) launchExecutor(spec LaunchExecutor) {
	if !ValidAppID(spec.AppID) || !ValidExecutorID(spec.ExecutorID) {
		// Nothing is created: the ids would become paths under the work dir.
		reason := fmt.Sprintf("worker %s refuses to launch executor %s of application %s: not ids a master makes", w.id, quoteID(spec.ExecutorID), quoteID(spec.AppID))
		w.log.Error(reason)
		go w.event(WorkerEvent{Executor: &ExecutorReport{AppID: spec.AppID, ExecutorID: spec.ExecutorID, State: StateFailed, Reason: reason}})
		return
	}
	key := spec.AppID + "/" + spec.ExecutorID
	e := &runningExecutor{spec: spec, dir: filepath.Join(w.opts.WorkDir, spec.AppID, spec.ExecutorID), state: StateRunning, done: make(chan struct{})}
	w.mu.Lock()
	if _, dup := w.executors[key]; dup {
		w.mu.Unlock()
		return
	}
	w.executors[key] = e
	w.mu.Unlock()
	go w.runExecutor(e)
}

// placeFiles downloads the application's stoke.files and stoke.archives
// (cached by SHA-256 like binaries) and puts them in the executor's
// directory: a copy of each file (the cache stays as downloaded), each
// archive unpacked into a directory of its name.
func (w *Worker) placeFiles(dir string, files []FileSource) error {
	if err := validateFiles(files); err != nil {
		return err
	}
	for _, f := range files {
		src, err := w.cache.get(w.ctx, f.BinarySource)
		if err != nil {
			return fmt.Errorf("fetching %s: %w", f.Name, err)
		}
		dst := filepath.Join(dir, f.Name)
		if f.Format != "" {
			if err := distfiles.Unpack(src, f.Name+f.Format, dst, distfiles.Limits{}); err != nil {
				return fmt.Errorf("unpacking %s: %w", f.Name, err)
			}
			continue
		}
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("copying %s: %w", f.Name, err)
		}
	}
	return nil
}

// copyFile copies src to a new file dst (never over an existing one).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// runExecutor fetches the binary, runs the executor and reports its end.
func (w *Worker) runExecutor(e *runningExecutor) {
	defer close(e.done)
	log := w.log.WithField("app", e.spec.AppID).WithField("executor", e.spec.ExecutorID)
	fail := func(state, reason string) {
		e.mu.Lock()
		e.state, e.reason = state, reason
		e.mu.Unlock()
		log.Info(reason)
		rep := e.report()
		w.event(WorkerEvent{Executor: &rep})
		w.mu.Lock()
		delete(w.executors, e.spec.AppID+"/"+e.spec.ExecutorID)
		w.mu.Unlock()
	}
	bin, err := w.cache.get(w.ctx, e.spec.Binary)
	if err != nil {
		fail(StateFailed, fmt.Sprintf("executor %s not started on worker %s: %v", e.spec.ExecutorID, w.id, err))
		return
	}
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		fail(StateFailed, fmt.Sprintf("executor %s not started on worker %s: work directory: %v", e.spec.ExecutorID, w.id, err))
		return
	}
	if err := w.placeFiles(e.dir, e.spec.Files); err != nil {
		fail(StateFailed, fmt.Sprintf("executor %s not started on worker %s: %v", e.spec.ExecutorID, w.id, err))
		return
	}
	// Spill and cache files go to a scratch directory beside the
	// executor's, removed when the process ends however it ends (the logs
	// stay for the worker's cleanup).
	scratch := e.dir + ".scratch"
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		fail(StateFailed, fmt.Sprintf("executor %s not started on worker %s: scratch directory: %v", e.spec.ExecutorID, w.id, err))
		return
	}
	defer func() {
		if err := os.RemoveAll(scratch); err != nil {
			log.WithError(err).Warn("removing the executor's scratch directory")
		}
	}()
	stdout, err1 := os.Create(filepath.Join(e.dir, "stdout"))
	stderr, err2 := os.Create(filepath.Join(e.dir, "stderr"))
	if err := errors.Join(err1, err2); err != nil {
		fail(StateFailed, fmt.Sprintf("executor %s not started on worker %s: log files: %v", e.spec.ExecutorID, w.id, err))
		return
	}
	defer stdout.Close()
	defer stderr.Close()
	cmd := exec.Command(bin)
	cmd.Dir = e.dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(os.Environ(),
		executor.EnvDriver+"="+e.spec.DriverAddress,
		executor.EnvExecutorID+"="+e.spec.ExecutorID,
		executor.EnvCores+"="+strconv.Itoa(e.spec.Cores),
		executor.EnvSecret+"="+e.spec.Secret,
		executor.EnvHost+"="+w.opts.Host,
		executor.EnvLogLevel+"="+e.spec.LogLevel,
		executor.EnvLogURL+"="+w.logURL(e.spec.AppID, e.spec.ExecutorID),
		"STOKE_EXECUTOR_MEMORY="+strconv.Itoa(e.spec.MemoryMiB)+"m",
		// The Go runtime's soft memory limit; the executor lowers it to 90%.
		"GOMEMLIMIT="+strconv.Itoa(e.spec.MemoryMiB)+"MiB",
		executor.EnvAppID+"="+e.spec.AppID,
		spill.EnvLocalDirs+"="+scratch,
	)
	cmd.Env = append(cmd.Env, w.shuffleEnv(e.spec)...)
	// Its own process group (killed as a whole), and it dies with the worker.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	e.mu.Lock()
	if e.killed {
		e.mu.Unlock()
		fail(StateExited, fmt.Sprintf("executor %s was killed before it started", e.spec.ExecutorID))
		return
	}
	err = startRetryingBusy(cmd)
	if err == nil {
		e.cmd = cmd
	}
	e.mu.Unlock()
	if err != nil {
		fail(StateFailed, fmt.Sprintf("starting executor %s (%s) on worker %s: %v", e.spec.ExecutorID, bin, w.id, err))
		return
	}
	rep := e.report()
	go w.event(WorkerEvent{Executor: &rep})
	err = cmd.Wait()
	e.mu.Lock()
	killed := e.killed
	e.mu.Unlock()
	state, reason := exitReason(err, killed)
	fail(state, fmt.Sprintf("%s on worker %s (log: %s)", reason, w.id, filepath.Join(e.dir, "stderr")))
}

// startRetryingBusy starts cmd, retrying briefly on ETXTBSY: a binary just
// written to the cache can still be open for writing in a process another
// goroutine is forking (until that child's exec closes it).
func startRetryingBusy(cmd *exec.Cmd) error {
	wait := 10 * time.Millisecond
	for i := 0; ; i++ {
		err := cmd.Start()
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || i == 6 {
			return err
		}
		time.Sleep(wait)
		wait *= 2
		path, args, env, dir, sys := cmd.Path, cmd.Args, cmd.Env, cmd.Dir, cmd.SysProcAttr
		out, errOut := cmd.Stdout, cmd.Stderr
		*cmd = exec.Cmd{Path: path, Args: args, Env: env, Dir: dir, SysProcAttr: sys, Stdout: out, Stderr: errOut}
	}
}

// exitReason describes how a process ended; a non-zero end not asked for
// is a failure.
func exitReason(err error, killed bool) (state, reason string) {
	if err == nil {
		return StateExited, "executor process exited with code 0"
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return StateFailed, "executor process: " + err.Error()
	}
	state = StateFailed
	if killed {
		state = StateExited
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		reason = fmt.Sprintf("executor process killed by signal %s", ws.Signal())
		if killed {
			reason += " (killed by the master)"
		}
		return state, reason
	}
	reason = fmt.Sprintf("executor process exited with code %d", ee.ExitCode())
	if d := executor.ExitDescription(ee.ExitCode()); d != "" {
		reason += " (" + d + ")"
	}
	return state, reason
}

func (w *Worker) killExecutor(ref ExecutorRef) {
	w.mu.Lock()
	e := w.executors[ref.AppID+"/"+ref.ExecutorID]
	w.mu.Unlock()
	if e != nil {
		e.kill()
	}
}
