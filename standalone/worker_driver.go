package standalone

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/stoke-run/stoke/internal/conf"
)

// runningDriver is a cluster-mode driver process, restarted on failure
// when supervised.
type runningDriver struct {
	spec LaunchDriver
	dir  string

	mu       sync.Mutex
	cmd      *exec.Cmd
	state    string
	exitCode int
	reason   string
	restarts int
	killed   bool
	kicked   chan struct{}
}

func (d *runningDriver) report() DriverReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := DriverReport{DriverID: d.spec.DriverID, State: d.state, ExitCode: d.exitCode, Reason: d.reason, Restarts: d.restarts}
	if d.cmd != nil && d.cmd.Process != nil {
		r.PID = d.cmd.Process.Pid
	}
	return r
}

func (d *runningDriver) kill() {
	d.mu.Lock()
	d.killed = true
	cmd := d.cmd
	d.mu.Unlock()
	select {
	case <-d.kicked:
	default:
		close(d.kicked)
	}
	if cmd != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
}

func (w *Worker) launchDriver(spec LaunchDriver) {
	if !ValidDriverID(spec.DriverID) {
		reason := fmt.Sprintf("worker %s refuses to launch driver %s: not an id a master makes", w.id, quoteID(spec.DriverID))
		w.log.Error(reason)
		go w.event(WorkerEvent{Driver: &DriverReport{DriverID: spec.DriverID, State: StateFailed, ExitCode: -1, Reason: reason}})
		return
	}
	d := &runningDriver{spec: spec, dir: filepath.Join(w.opts.WorkDir, spec.DriverID), state: StateRunning, kicked: make(chan struct{})}
	w.mu.Lock()
	if _, dup := w.drivers[spec.DriverID]; dup {
		w.mu.Unlock()
		return
	}
	w.drivers[spec.DriverID] = d
	w.mu.Unlock()
	go w.runDriver(d)
}

func (w *Worker) killDriver(id string) {
	w.mu.Lock()
	d := w.drivers[id]
	w.mu.Unlock()
	if d != nil {
		d.kill()
	}
}

// driverEnv is the driver's STOKE_SUBMIT_CONF: the submission's, without
// any secret, plus stoke.authenticate.secret.file naming a 0600 file in
// the driver's directory that holds this worker's cluster secret (so the
// driver can register its application).
func (w *Worker) driverEnv(d *runningDriver) (string, error) {
	env, _, err := StripSecrets(d.spec.SubmitEnv)
	if err != nil {
		return "", fmt.Errorf("driver %s: %w", d.spec.DriverID, err)
	}
	if w.opts.Secret == "" {
		return env, nil
	}
	var entries []conf.Entry
	if env != "" {
		if entries, err = conf.DecodeSubmit(env); err != nil {
			return "", fmt.Errorf("driver %s: %w", d.spec.DriverID, err)
		}
	}
	path := filepath.Join(d.dir, SecretFileName)
	if err := os.WriteFile(path, []byte(w.opts.Secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("driver %s: writing its secret file: %w", d.spec.DriverID, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return "", err
	}
	entries = append(entries, conf.Entry{Key: KeySecretFile, Value: path, Source: conf.SourceSubmit})
	return conf.EncodeSubmit(entries), nil
}

// runDriver runs the driver until it succeeds, is killed, or (without
// --supervise) fails; supervised, it restarts after a growing backoff.
func (w *Worker) runDriver(d *runningDriver) {
	log := w.log.WithField("driver", d.spec.DriverID)
	end := func(state string, code int, reason string) {
		d.mu.Lock()
		d.state, d.exitCode, d.reason = state, code, reason
		d.mu.Unlock()
		log.Infof("driver %s: %s", state, reason)
		rep := d.report()
		w.event(WorkerEvent{Driver: &rep})
		w.mu.Lock()
		delete(w.drivers, d.spec.DriverID)
		w.mu.Unlock()
	}
	src := d.spec.Binary
	if len(src.URL) > 0 && src.URL[0] == '/' {
		w.masters.mu.Lock()
		src.URL = "http://" + w.masters.addrs[w.masters.cur] + src.URL
		w.masters.mu.Unlock()
		src.Secret = w.opts.Secret // the master's store takes the cluster secret
	}
	bin, err := w.cache.get(w.ctx, src)
	if err != nil {
		end(StateFailed, -1, err.Error())
		return
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		end(StateFailed, -1, err.Error())
		return
	}
	env, err := w.driverEnv(d)
	if err != nil {
		end(StateFailed, -1, err.Error())
		return
	}
	d.spec.SubmitEnv = env
	backoff := w.opts.DriverBackoff
	for {
		code, reason, err := w.runDriverOnce(d, bin)
		d.mu.Lock()
		killed := d.killed
		d.mu.Unlock()
		switch {
		case killed:
			end(StateKilled, code, "killed on request")
			return
		case err != nil:
			end(StateFailed, -1, err.Error())
			return
		case code == 0:
			end(StateFinished, 0, reason)
			return
		case !d.spec.Supervise:
			end(StateFailed, code, reason)
			return
		}
		d.mu.Lock()
		d.restarts++
		d.exitCode, d.reason = code, reason
		d.mu.Unlock()
		log.Warnf("supervised driver failed (%s); restarting in %s", reason, backoff)
		select {
		case <-time.After(backoff):
		case <-d.kicked:
		case <-w.ctx.Done():
			return
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (w *Worker) runDriverOnce(d *runningDriver, bin string) (int, string, error) {
	stdout, err := os.OpenFile(filepath.Join(d.dir, "stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, "", err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(d.dir, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, "", err
	}
	defer stderr.Close()
	cmd := exec.Command(bin, d.spec.Args...)
	cmd.Dir = d.dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(os.Environ(), conf.SubmitConfEnv+"="+d.spec.SubmitEnv, "STOKE_DRIVER_ID="+d.spec.DriverID)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	d.mu.Lock()
	if d.killed {
		d.mu.Unlock()
		return 0, "", nil
	}
	err = startRetryingBusy(cmd)
	d.cmd = cmd
	d.state = StateRunning
	d.mu.Unlock()
	if err != nil {
		return 0, "", fmt.Errorf("starting driver %s: %w", bin, err)
	}
	rep := d.report()
	go w.event(WorkerEvent{Driver: &rep})
	err = cmd.Wait()
	if err == nil {
		return 0, "driver exited with code 0", nil
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), fmt.Sprintf("driver killed by signal %s", ws.Signal()), nil
		}
		return ee.ExitCode(), fmt.Sprintf("driver exited with code %d (log: %s)", ee.ExitCode(), filepath.Join(d.dir, "stderr")), nil
	}
	return 0, "", err
}
