package mesostest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// start fetches the URIs into the sandbox and starts the process; it runs
// on its own goroutine and takes the lock only to read and publish state.
func (e *executor) start() {
	defer e.agent.c.procs.Done()
	c, a := e.agent.c, e.agent
	c.mu.Lock()
	ci := e.commandInfoLocked()
	env := e.envLocked()
	abort := e.shuttingDown || a.removed || c.closed
	var t *task
	if e.command {
		for _, x := range e.tasks {
			t = x
		}
		if t != nil && t.killRequested {
			abort = true
		}
	}
	c.mu.Unlock()
	if abort || ci == nil {
		c.mu.Lock()
		a.executorExitedLocked(e, -1, "killed before start")
		c.mu.Unlock()
		return
	}
	for _, u := range ci.URIs {
		if err := fetch(u, e.dir); err != nil {
			c.mu.Lock()
			c.logf("fetcher for executor %s: %v", e.id, err)
			a.launchFailedLocked(e, "Failed to fetch all URIs for container '"+e.containerID+"': "+err.Error())
			c.mu.Unlock()
			return
		}
	}
	cmd, err := buildCommand(ci, e.dir, env)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && (e.shuttingDown || a.removed || c.closed || (t != nil && t.killRequested)) {
		a.executorExitedLocked(e, -1, "killed before start")
		return
	}
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		a.launchFailedLocked(e, "Failed to launch container: "+err.Error())
		return
	}
	e.proc, e.started = cmd.Process, time.Now()
	c.logf("agent %s started executor %s (pid %d) in %s", a.id, e.id, cmd.Process.Pid, e.dir)
	if t != nil {
		a.statusUpdateLocked(t, agentStatus(t, mesos.TASK_STARTING, 0, ""), false)
		a.statusUpdateLocked(t, agentStatus(t, mesos.TASK_RUNNING, 0, ""), false)
	}
	c.procs.Add(1)
	go func() {
		defer c.procs.Done()
		err := cmd.Wait()
		for _, f := range []*os.File{cmd.Stdout.(*os.File), cmd.Stderr.(*os.File)} {
			f.Close()
		}
		status := 0
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
			status = int(ws)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		a.executorExitedLocked(e, status, describeExit(cmd.ProcessState, err))
	}()
}

func describeExit(ps *os.ProcessState, err error) string {
	if ps == nil {
		return fmt.Sprint(err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "terminated with signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exited with status %d", ps.ExitCode())
}

func buildCommand(ci *mesos.CommandInfo, dir string, env []string) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	if ci.GetShell() {
		cmd = exec.Command("/bin/sh", "-c", ci.GetValue())
	} else {
		path := ci.GetValue()
		if path == "" {
			return nil, fmt.Errorf("CommandInfo has no 'value'")
		}
		if strings.Contains(path, "/") && !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		cmd = exec.Command(path)
		if len(ci.Arguments) > 0 {
			cmd.Args = append([]string(nil), ci.Arguments...)
		}
	}
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		return nil, err
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		out.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, errf
	return cmd, nil
}

// envLocked is the executor's environment: the agent's own, the standard
// MESOS_* variables, then the CommandInfo's variables.
func (e *executor) envLocked() []string {
	a := e.agent
	checkpoint := "0"
	if fi, ok := a.frameworks[e.fwID]; ok && fi.GetCheckpoint() {
		checkpoint = "1"
	}
	env := append(os.Environ(),
		"MESOS_FRAMEWORK_ID="+e.fwID,
		"MESOS_EXECUTOR_ID="+e.id,
		"MESOS_DIRECTORY="+e.dir,
		"MESOS_SANDBOX="+e.dir,
		"MESOS_AGENT_ENDPOINT="+a.addr,
		"MESOS_SLAVE_ID="+a.id,
		"MESOS_AGENT_ID="+a.id,
		"MESOS_SLAVE_PID=slave(1)@"+a.addr,
		"MESOS_CHECKPOINT="+checkpoint,
		"MESOS_CONTAINER_IP=127.0.0.1",
		"LIBPROCESS_IP=127.0.0.1",
		fmt.Sprintf("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=%dms", a.c.opts.ExecutorShutdownGracePeriod.Milliseconds()),
		"MESOS_HTTP_COMMAND_EXECUTOR=0",
	)
	if checkpoint == "1" {
		env = append(env, "MESOS_RECOVERY_TIMEOUT=15mins", "MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs")
	}
	if e.command {
		env = append(env, "MESOS_TASK_ID="+e.id)
	}
	if ci := e.commandInfoLocked(); ci != nil && ci.Environment != nil {
		for _, v := range ci.Environment.Variables {
			env = append(env, v.Name+"="+v.GetValue())
		}
	}
	return env
}

// signal sends sig to the executor's process group.
func (e *executor) signal(sig syscall.Signal) {
	if e.proc == nil || e.exited {
		return
	}
	_ = syscall.Kill(-e.proc.Pid, sig)
}

// terminate sends SIGTERM now and SIGKILL after grace.
func (e *executor) terminate(grace time.Duration) {
	e.signal(sigTerm)
	e.killAt = time.Now().Add(grace)
}
