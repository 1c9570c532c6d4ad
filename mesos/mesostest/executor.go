package mesostest

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	execpb "github.com/mesos/mesos-go/api/v1/lib/executor"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// executor is one executor on an agent: a custom executor speaking the v1
// executor API, or the built-in command executor of a single command task
// (whose process is the task's command).
type executor struct {
	agent       *Agent
	fwID        string
	id          string
	info        *mesos.ExecutorInfo // nil for a command executor
	command     bool
	containerID string
	dir         string
	res         resources
	tasks       map[string]*task
	queued      []string // task ids waiting for the executor to subscribe

	stream               *eventStream
	everSubscribed       bool
	proc                 *os.Process
	started              time.Time
	shuttingDown         bool
	registrationTimedOut bool
	killAt               time.Time
	exited               bool
}

// task is one task as its agent knows it.
type task struct {
	info          mesos.TaskInfo
	exec          *executor
	res           resources
	latest        mesos.TaskStatus
	updates       []*pendingUpdate
	seen          map[string]bool // uuids of executor updates already taken
	killRequested bool
}

func (t *task) state() mesos.TaskState { return t.latest.GetState() }

func (t *task) terminal() bool { return isTerminal(t.state()) }

func isTerminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR,
		mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}

func (a *Agent) newExecutorLocked(fwID string, ti mesos.TaskInfo) (*executor, error) {
	c := a.c
	e := &executor{agent: a, fwID: fwID, tasks: map[string]*task{}, res: newResources(),
		containerID: uuidString(newUUID())}
	if ti.Executor != nil {
		info := *ti.Executor
		info.FrameworkID = &mesos.FrameworkID{Value: fwID}
		e.info, e.id = &info, info.ExecutorID.Value
		if info.Command == nil {
			return nil, fmt.Errorf("ExecutorInfo %s has no CommandInfo (containers are not supported by mesostest)", e.id)
		}
		r, err := fromProto(info.Resources)
		if err != nil {
			return nil, err
		}
		e.res = r
	} else {
		e.id, e.command = ti.TaskID.Value, true
	}
	e.dir = filepath.Join(a.workDir, "slaves", a.id, "frameworks", fwID, "executors", e.id, "runs", e.containerID)
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating sandbox: %v", err)
	}
	a.executors[key(fwID, e.id)] = e
	c.procs.Add(1)
	go e.start()
	return e, nil
}

// commandInfo is what the executor process runs.
func (e *executor) commandInfoLocked() *mesos.CommandInfo {
	if e.command {
		for _, t := range e.tasks {
			return t.info.Command
		}
		return nil
	}
	return e.info.Command
}

// shutdown asks a custom executor to shut down (SIGTERM for a command
// executor) and kills it after the grace period.
func (e *executor) shutdown(grace time.Duration) {
	if e.shuttingDown {
		return
	}
	e.shuttingDown = true
	for _, t := range e.tasks {
		t.killRequested = true
	}
	if e.command || e.stream == nil {
		e.terminate(grace) // a process not started yet sees shuttingDown in start
		return
	}
	e.stream.send(&execpb.Event{Type: execpb.Event_SHUTDOWN})
	e.killAt = time.Now().Add(grace)
}

func (e *executor) sendLaunch(t *task) {
	e.stream.send(&execpb.Event{Type: execpb.Event_LAUNCH, Launch: &execpb.Event_Launch{Task: t.info}})
}

func (e *executor) sendKill(t *task, policy *mesos.KillPolicy) {
	if e.stream == nil {
		return
	}
	e.stream.send(&execpb.Event{Type: execpb.Event_KILL, Kill: &execpb.Event_Kill{TaskID: t.info.TaskID, KillPolicy: policy}})
}

func (e *executor) sendMessage(data []byte) {
	if e.stream != nil {
		e.stream.send(&execpb.Event{Type: execpb.Event_MESSAGE, Message: &execpb.Event_Message{Data: data}})
	}
}

// agentStatus builds an update the agent sends for a task.
func agentStatus(t *task, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) mesos.TaskStatus {
	st := mesos.TaskStatus{TaskID: t.info.TaskID, State: state.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum()}
	if reason != 0 {
		st.Reason = reason.Enum()
	}
	if msg != "" {
		st.Message = &msg
	}
	if !t.exec.command {
		st.Source = mesos.SOURCE_AGENT.Enum()
	}
	return st
}

// launchFailedLocked fails the tasks of an executor that could not start.
func (a *Agent) launchFailedLocked(e *executor, msg string) {
	for _, t := range e.tasks {
		if !t.terminal() {
			st := agentStatus(t, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LAUNCH_FAILED, msg)
			st.Source = mesos.SOURCE_AGENT.Enum()
			a.statusUpdateLocked(t, st, false)
		}
	}
	a.executorGoneLocked(e)
}

// executorExitedLocked handles the end of an executor's process.
func (a *Agent) executorExitedLocked(e *executor, status int, how string) {
	if e.exited {
		return
	}
	e.exited = true
	e.stream.close(false)
	e.stream = nil
	a.c.logf("agent %s: executor %s of framework %s %s", a.id, e.id, e.fwID, how)
	if a.removed {
		a.executorGoneLocked(e)
		return
	}
	for _, t := range e.tasks {
		if t.terminal() {
			continue
		}
		var st mesos.TaskStatus
		switch {
		case e.command && t.killRequested:
			st = agentStatus(t, mesos.TASK_KILLED, 0, "Command "+how)
		case e.command && status == 0:
			st = agentStatus(t, mesos.TASK_FINISHED, 0, "Command exited with status 0")
		case e.command:
			st = agentStatus(t, mesos.TASK_FAILED, mesos.REASON_COMMAND_EXECUTOR_FAILED, "Command "+how)
		case e.registrationTimedOut:
			st = agentStatus(t, mesos.TASK_FAILED, mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT, "Executor did not register in time")
		case e.shuttingDown || t.killRequested:
			st = agentStatus(t, mesos.TASK_KILLED, mesos.REASON_EXECUTOR_TERMINATED, "Executor shut down")
		default:
			st = agentStatus(t, mesos.TASK_FAILED, mesos.REASON_EXECUTOR_TERMINATED, "Executor "+how)
		}
		a.statusUpdateLocked(t, st, false)
	}
	if status >= 0 {
		s := int32(status)
		a.c.leader.sendLocked(e.fwID, failureEvent(a.id, e.id, &s))
	}
	a.executorGoneLocked(e)
}

// executorGoneLocked releases the executor's resources; its tasks stay
// known (as completed) until their updates are acknowledged.
func (a *Agent) executorGoneLocked(e *executor) {
	e.exited = true
	delete(a.executors, key(e.fwID, e.id))
	for id, t := range e.tasks {
		a.completed[key(e.fwID, id)] = t
	}
	a.c.stats.recordUsage(a, e.fwID)
}
