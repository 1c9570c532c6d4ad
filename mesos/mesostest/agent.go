package mesostest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	execpb "github.com/mesos/mesos-go/api/v1/lib/executor"
)

// Agent is one agent of the cluster: resources, attributes, a work dir with
// a sandbox per executor, the v1 executor API, and real processes.
type Agent struct {
	c       *Cluster
	id      string
	spec    AgentSpec
	total   resources
	ln      net.Listener
	srv     *http.Server
	addr    string
	workDir string

	// guarded by c.mu
	removed    bool
	frameworks map[string]mesos.FrameworkInfo
	executors  map[string]*executor // by frameworkID/executorID
	completed  map[string]*task     // terminal tasks, by frameworkID/taskID
	// goneFrameworks were removed; their executors may still be exiting
	goneFrameworks map[string]bool
}

// AddAgent starts another agent; its resources are offered from the next
// allocation on.
func (c *Cluster) AddAgent(spec AgentSpec) (*Agent, error) {
	spec.setDefaults()
	total, err := spec.total()
	if err != nil {
		return nil, apiErr("agent %s: %v", spec.Hostname, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, apiErr("agent: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		ln.Close()
		return nil, apiErr("cluster is closed")
	}
	a := &Agent{
		c: c, spec: spec, total: total, ln: ln, addr: ln.Addr().String(),
		id:         fmt.Sprintf("agent-%d-S%d", time.Now().UnixNano()%100000, c.seqLocked()),
		frameworks: map[string]mesos.FrameworkInfo{},
		executors:  map[string]*executor{},
		completed:  map[string]*task{},

		goneFrameworks: map[string]bool{},
	}
	a.workDir = filepath.Join(c.opts.WorkDir, "agent-"+a.addr[len("127.0.0.1:"):])
	if err := os.MkdirAll(a.workDir, 0o755); err != nil {
		ln.Close()
		return nil, apiErr("agent work dir: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/executor", a.handleExecutor)
	mux.HandleFunc("/state", a.handleState)
	mux.HandleFunc("/slave(1)/state", a.handleState)
	mux.HandleFunc("/api/v1", a.handleOperator)
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	c.agents = append(c.agents, a)
	if c.leader != nil {
		c.allocateNowLocked()
	}
	return a, nil
}

// ID is the agent id used in offers and calls.
func (a *Agent) ID() string { return a.id }

// Hostname is the hostname advertised in offers.
func (a *Agent) Hostname() string { return a.spec.Hostname }

// Endpoint is the agent's host:port (MESOS_AGENT_ENDPOINT).
func (a *Agent) Endpoint() string { return a.addr }

// WorkDir is the root of the agent's sandboxes.
func (a *Agent) WorkDir() string { return a.workDir }

func (a *Agent) close() { _ = a.srv.Close() }

func (a *Agent) hostPort() (string, int32) {
	h, _, _ := net.SplitHostPort(a.addr)
	return h, portOf(a.addr)
}

func (a *Agent) agentInfo() mesos.AgentInfo {
	_, p := a.hostPort()
	return mesos.AgentInfo{Hostname: a.spec.Hostname, Port: &p, ID: &mesos.AgentID{Value: a.id},
		Resources: a.total.toProto(""), Attributes: a.spec.Attributes}
}

func key(a, b string) string { return a + "/" + b }

func (a *Agent) executorLocked(fwID, execID string) *executor { return a.executors[key(fwID, execID)] }

func (a *Agent) executorsOfLocked(fwID string) []*executor {
	var out []*executor
	for _, e := range a.executors {
		if e.fwID == fwID {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// usedByLocked is what a framework holds on this agent: its executors'
// own resources plus its non-terminal tasks'.
func (a *Agent) usedByLocked(fwID string) resources {
	used := newResources()
	for _, e := range a.executors {
		if fwID != "" && e.fwID != fwID {
			continue
		}
		used = used.plus(e.res)
		for _, t := range e.tasks {
			if !t.terminal() {
				used = used.plus(t.res)
			}
		}
	}
	return used
}

func (a *Agent) freeLocked() resources { return a.total.minus(a.usedByLocked("")) }

// adoptFrameworkLocked remembers a framework's info, as an agent does once
// the framework launches something on it.
func (a *Agent) adoptFrameworkLocked(fwID string, info mesos.FrameworkInfo) {
	if _, ok := a.frameworks[fwID]; ok {
		a.frameworks[fwID] = info
	}
}

// launchLocked starts a task: on a new executor (a command executor for a
// command task), or on an existing custom executor.
func (a *Agent) launchLocked(fwID string, info mesos.FrameworkInfo, ti mesos.TaskInfo, res resources) error {
	a.frameworks[fwID] = info
	delete(a.goneFrameworks, fwID)
	var e *executor
	if ti.Executor != nil {
		e = a.executorLocked(fwID, ti.Executor.ExecutorID.Value)
	}
	if e == nil {
		var err error
		if e, err = a.newExecutorLocked(fwID, ti); err != nil {
			return err
		}
	}
	t := &task{info: ti, exec: e, res: res}
	t.latest = mesos.TaskStatus{TaskID: ti.TaskID, State: mesos.TASK_STAGING.Enum(), AgentID: &mesos.AgentID{Value: a.id},
		Source: mesos.SOURCE_MASTER.Enum(), Timestamp: ptr(now())}
	t.latest.ExecutorID = &mesos.ExecutorID{Value: e.id}
	e.tasks[ti.TaskID.Value] = t
	switch {
	case e.command:
		// started with its executor
	case e.stream != nil:
		e.sendLaunch(t)
	default:
		e.queued = append(e.queued, ti.TaskID.Value)
	}
	a.c.stats.recordUsage(a, fwID)
	return nil
}

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// killTaskLocked kills one task as the framework asked.
func (a *Agent) killTaskLocked(t *task, policy *mesos.KillPolicy) {
	e := t.exec
	t.killRequested = true
	if e.command {
		grace := 3 * time.Second
		if p := policy.GetGracePeriod(); p != nil {
			grace = time.Duration(p.Nanoseconds)
		} else if p := t.info.GetKillPolicy().GetGracePeriod(); p != nil {
			grace = time.Duration(p.Nanoseconds)
		}
		e.terminate(grace)
		if e.proc == nil {
			a.executorExitedLocked(e, -1, "killed before start")
		}
		return
	}
	for i, id := range e.queued {
		if id == t.info.TaskID.Value {
			e.queued = append(e.queued[:i], e.queued[i+1:]...)
			a.statusUpdateLocked(t, agentStatus(t, mesos.TASK_KILLED, mesos.REASON_TASK_KILLED_DURING_LAUNCH, "Killed before delivery to the executor"), false)
			return
		}
	}
	e.sendKill(t, policy)
}

// shutdownExecutorLocked sends SHUTDOWN and kills the executor after the
// grace period.
func (a *Agent) shutdownExecutorLocked(fwID, execID string) {
	e := a.executorLocked(fwID, execID)
	if e == nil {
		return
	}
	e.shutdown(a.c.opts.ExecutorShutdownGracePeriod)
}

// removeFrameworkLocked shuts down everything of a removed framework and
// forgets its pending updates.
func (a *Agent) removeFrameworkLocked(fwID string) {
	for _, e := range a.executorsOfLocked(fwID) {
		e.shutdown(a.c.opts.ExecutorShutdownGracePeriod)
		for _, t := range e.tasks {
			t.updates = nil
		}
	}
	for k, t := range a.completed {
		if t.exec.fwID == fwID {
			t.updates = nil
			delete(a.completed, k)
		}
	}
	a.goneFrameworks[fwID] = true
}

// shutdownAllLocked kills every process at once (cluster close, agent
// removal).
func (a *Agent) shutdownAllLocked() {
	for _, e := range a.executors {
		e.shuttingDown = true
		e.signal(sigKill)
	}
}

func (a *Agent) messageLocked(fwID, execID string, data []byte) {
	if e := a.executorLocked(fwID, execID); e != nil {
		e.sendMessage(data)
	}
}

// tickLocked retries status updates and enforces executor timeouts.
func (a *Agent) tickLocked(now time.Time) {
	if a.removed {
		return
	}
	for _, e := range a.executors {
		if !e.command && e.stream != nil {
			e.stream.heartbeat(&execpb.Event{Type: execpb.Event_HEARTBEAT}, a.c.opts.HeartbeatInterval, now)
		}
		if !e.command && e.stream == nil && !e.everSubscribed && e.proc != nil && !e.shuttingDown &&
			now.Sub(e.started) > a.c.opts.ExecutorRegistrationTimeout {
			a.c.logf("executor %s did not subscribe within %v; killing it", e.id, a.c.opts.ExecutorRegistrationTimeout)
			e.registrationTimedOut = true
			e.signal(sigKill)
		}
		if !e.killAt.IsZero() && now.After(e.killAt) {
			e.killAt = time.Time{}
			e.signal(sigKill)
		}
		for _, t := range e.tasks {
			a.retryLocked(t, now)
		}
	}
	for _, t := range a.completed {
		a.retryLocked(t, now)
	}
}
