package mesostest

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// The state endpoints, shaped as Mesos's (src/common/http.cpp,
// src/master/readonly_handler.cpp, src/slave/http.cpp). Like Mesos's, they
// need no authentication and show what a real cluster shows to anyone:
// the master's /master/state and /master/frameworks list each framework's
// tasks (no command, no data) and custom executors (their CommandInfo with
// every environment variable, URIs, arguments; no data); the agent's /state
// lists executors (no command) with their tasks, and queued tasks with
// their CommandInfo; the agent's v1 operator API answers GET_EXECUTORS with
// whole ExecutorInfos (data included; a command executor's ExecutorInfo
// carries its task's environment and URIs, as the agent builds it).

func jsonReply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

type obj = map[string]any

// resourcesJSON models resources as Mesos's model(Resources): scalars by
// name, cpus/gpus/mem/disk always present, ranges as "[a-b, ...]".
func resourcesJSON(rs []mesos.Resource) obj {
	o := obj{"cpus": 0.0, "gpus": 0.0, "mem": 0.0, "disk": 0.0}
	r, err := fromProto(rs)
	if err != nil {
		return o
	}
	for n, v := range r.scalars {
		o[n] = v
	}
	for n, rg := range r.ranges {
		var parts []string
		for _, x := range rg {
			parts = append(parts, itoa(x.Begin)+"-"+itoa(x.End))
		}
		o[n] = "[" + strings.Join(parts, ", ") + "]"
	}
	return o
}

func itoa(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// commandJSON models a CommandInfo as Mesos's json(CommandInfo): the
// environment as its protobuf JSON (a SECRET variable's secret included:
// Mesos does not redact it).
func commandJSON(c *mesos.CommandInfo) obj {
	if c == nil {
		c = &mesos.CommandInfo{}
	}
	o := obj{"argv": append([]string{}, c.Arguments...)}
	if c.Shell != nil {
		o["shell"] = c.GetShell()
	}
	if c.Value != nil {
		o["value"] = c.GetValue()
	}
	if c.Environment != nil {
		vars := []obj{}
		for _, v := range c.Environment.Variables {
			x := obj{"name": v.Name, "type": v.GetType().String()}
			if v.Value != nil {
				x["value"] = v.GetValue()
			}
			if v.Secret != nil {
				x["secret"] = v.Secret // protobuf JSON: bytes as base64
			}
			vars = append(vars, x)
		}
		o["environment"] = obj{"variables": vars}
	}
	uris := []obj{}
	for _, u := range c.URIs {
		uris = append(uris, obj{"value": u.Value, "executable": u.GetExecutable()})
	}
	o["uris"] = uris
	return o
}

func labelsJSON(l *mesos.Labels) []obj {
	out := []obj{}
	for _, x := range l.GetLabels() {
		o := obj{"key": x.Key}
		if x.Value != nil {
			o["value"] = x.GetValue()
		}
		out = append(out, o)
	}
	return out
}

// executorInfoJSON models json(ExecutorInfo) of the master.
func executorInfoJSON(e *mesos.ExecutorInfo, fwID, agentID string) obj {
	o := obj{
		"executor_id":  e.ExecutorID.Value,
		"name":         e.GetName(),
		"framework_id": fwID,
		"command":      commandJSON(e.Command),
		"resources":    resourcesJSON(e.Resources),
		"type":         e.Type.String(),
		"slave_id":     agentID,
	}
	if e.Labels != nil {
		o["labels"] = labelsJSON(e.Labels)
	}
	return o
}

// taskJSON models json(Task): no command, no data.
func taskJSON(t *task, fwID, agentID string) obj {
	execID := ""
	if t.info.Executor != nil {
		execID = t.info.Executor.ExecutorID.Value
	}
	st := obj{"state": t.state().String(), "timestamp": t.latest.GetTimestamp()}
	o := obj{
		"id": t.info.TaskID.Value, "name": t.info.Name, "framework_id": fwID, "executor_id": execID,
		"slave_id": agentID, "state": t.state().String(), "resources": resourcesJSON(t.info.Resources),
		"statuses": []obj{st},
	}
	if t.info.Labels != nil {
		o["labels"] = labelsJSON(t.info.Labels)
	}
	if t.info.Discovery != nil {
		o["discovery"] = t.info.Discovery
	}
	return o
}

// queuedTaskJSON models the agent's json(TaskInfo) of a queued task: its
// command is shown.
func queuedTaskJSON(t *task, agentID string) obj {
	o := obj{"id": t.info.TaskID.Value, "name": t.info.Name, "slave_id": agentID, "resources": resourcesJSON(t.info.Resources)}
	if t.info.Command != nil {
		o["command"] = commandJSON(t.info.Command)
	}
	if t.info.Executor != nil {
		o["executor_id"] = t.info.Executor.ExecutorID.Value
	}
	if t.info.Discovery != nil {
		o["discovery"] = t.info.Discovery
	}
	return o
}

// masterStateLocked is /master/state (frameworksOnly: /master/frameworks).
func (m *Master) stateLocked(frameworksOnly bool) obj {
	c := m.c
	fws := []obj{}
	for _, id := range slices.Sorted(maps.Keys(m.frameworks)) {
		fw := m.frameworks[id]
		tasks, completed, execs := []obj{}, []obj{}, []obj{}
		for _, a := range c.agents {
			if a.removed {
				continue
			}
			for _, e := range a.executorsOfLocked(id) {
				if e.info != nil {
					execs = append(execs, executorInfoJSON(e.info, id, a.id))
				}
				for _, t := range e.tasks {
					if t.terminal() {
						completed = append(completed, taskJSON(t, id, a.id))
					} else {
						tasks = append(tasks, taskJSON(t, id, a.id))
					}
				}
			}
			for k, t := range a.completed {
				if strings.HasPrefix(k, id+"/") {
					completed = append(completed, taskJSON(t, id, a.id))
				}
			}
		}
		o := obj{
			"id": id, "name": fw.info.Name, "user": fw.info.User, "hostname": fw.info.GetHostname(),
			"active": fw.connected(), "connected": fw.connected(), "recovered": fw.recovered,
			"failover_timeout": fw.info.GetFailoverTimeout(), "checkpoint": fw.info.GetCheckpoint(),
			"role": fw.info.GetRole(), "tasks": tasks, "unreachable_tasks": []obj{}, "completed_tasks": completed,
			"offers": []obj{}, "executors": execs, "webui_url": fw.info.GetWebUiURL(), "roles": fw.roles(),
			"used_resources": resourcesJSON(m.usedByLocked(id).toProto("")),
		}
		if fw.info.Principal != nil {
			o["principal"] = fw.info.GetPrincipal()
		}
		if fw.info.Labels != nil {
			o["labels"] = labelsJSON(fw.info.Labels)
		}
		fws = append(fws, o)
	}
	if frameworksOnly {
		return obj{"frameworks": fws, "completed_frameworks": []obj{}, "unregistered_frameworks": []string{}}
	}
	slaves := []obj{}
	for _, a := range c.agents {
		if a.removed {
			continue
		}
		slaves = append(slaves, obj{"id": a.id, "hostname": a.spec.Hostname, "pid": "slave(1)@" + a.addr,
			"resources": resourcesJSON(a.total.toProto("")), "active": true})
	}
	return obj{
		"version": "1.11.0", "id": m.id, "pid": "master@" + m.addr, "hostname": "127.0.0.1",
		"activated_slaves": len(slaves), "slaves": slaves, "frameworks": fws,
		"completed_frameworks": []obj{}, "orphan_tasks": []obj{}, "unregistered_frameworks": []string{},
	}
}

// tasksLocked is /master/tasks: every framework's tasks, running and
// completed, in one list.
func (m *Master) tasksLocked() obj {
	all := []obj{}
	for _, fw := range m.stateLocked(true)["frameworks"].([]obj) {
		all = append(all, fw["tasks"].([]obj)...)
		all = append(all, fw["completed_tasks"].([]obj)...)
	}
	return obj{"tasks": all}
}

func (m *Master) handleState(frameworksOnly bool) http.HandlerFunc {
	return m.handleView(func() obj { return m.stateLocked(frameworksOnly) })
}

// handleView serves a read-only view of the leader's state: GET only, a
// standby redirects to the leader as Mesos masters do.
func (m *Master) handleView(view func() obj) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "Expecting 'GET'", http.StatusMethodNotAllowed)
			return
		}
		m.c.mu.Lock()
		if !m.leading {
			leader := m.c.leader
			m.c.mu.Unlock()
			if leader == nil {
				http.Error(w, "No leader elected", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Location", "//"+leader.addr+r.URL.Path)
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		s := view()
		m.c.mu.Unlock()
		jsonReply(w, s)
	}
}

// agentStateLocked is the agent's /state.
func (a *Agent) stateLocked() obj {
	fws := []obj{}
	for _, id := range slices.Sorted(maps.Keys(a.frameworks)) {
		info := a.frameworks[id]
		execs := []obj{}
		for _, e := range a.executorsOfLocked(id) {
			name, typ := "", ""
			var res []mesos.Resource
			if e.info != nil {
				name, typ, res = e.info.GetName(), e.info.Type.String(), e.info.Resources
			} else {
				name = "Command Executor (Task: " + e.id + ")"
			}
			tasks, queued, completed := []obj{}, []obj{}, []obj{}
			isQueued := map[string]bool{}
			for _, q := range e.queued {
				isQueued[q] = true
			}
			for tid, t := range e.tasks {
				switch {
				case isQueued[tid]:
					queued = append(queued, queuedTaskJSON(t, a.id))
				case t.terminal():
					completed = append(completed, taskJSON(t, id, a.id))
				default:
					tasks = append(tasks, taskJSON(t, id, a.id))
				}
			}
			x := obj{"id": e.id, "name": name, "source": "", "container": e.containerID, "directory": e.dir,
				"resources": resourcesJSON(res), "tasks": tasks, "queued_tasks": queued, "completed_tasks": completed}
			if typ != "" {
				x["type"] = typ
			}
			if e.info != nil && e.info.Labels != nil {
				x["labels"] = labelsJSON(e.info.Labels)
			}
			execs = append(execs, x)
		}
		fws = append(fws, obj{"id": id, "name": info.Name, "user": info.User, "failover_timeout": info.GetFailoverTimeout(),
			"checkpoint": info.GetCheckpoint(), "hostname": info.GetHostname(), "role": info.GetRole(),
			"executors": execs, "completed_executors": []obj{}})
	}
	return obj{"version": "1.11.0", "id": a.id, "pid": "slave(1)@" + a.addr, "hostname": a.spec.Hostname,
		"resources": resourcesJSON(a.total.toProto("")), "frameworks": fws, "completed_frameworks": []obj{}}
}

// executorInfoLocked is the ExecutorInfo the agent holds for e: a command
// executor's is built from its task's CommandInfo (uris, environment).
func (e *executor) executorInfoLocked() mesos.ExecutorInfo {
	if e.info != nil {
		return *e.info
	}
	info := mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: e.id}, FrameworkID: &mesos.FrameworkID{Value: e.fwID},
		Name: ptr("Command Executor (Task: " + e.id + ")"), Command: &mesos.CommandInfo{}}
	for _, t := range e.tasks {
		if c := t.info.Command; c != nil {
			info.Command.URIs = c.URIs
			info.Command.Environment = c.Environment
			info.Command.User = c.User
		}
		info.Labels = t.info.Labels
	}
	return info
}

func (a *Agent) handleState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "Expecting 'GET'", http.StatusMethodNotAllowed)
		return
	}
	a.c.mu.Lock()
	s := a.stateLocked()
	a.c.mu.Unlock()
	jsonReply(w, s)
}

// handleOperator is the agent's v1 operator API, GET_EXECUTORS only, with
// JSON requests and replies.
func (a *Agent) handleOperator(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "Expecting 'POST'", http.StatusMethodNotAllowed)
		return
	}
	var call struct {
		Type string `json:"type"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&call); err != nil {
		http.Error(w, "Failed to parse body into JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	if call.Type != "GET_EXECUTORS" {
		http.Error(w, "mesostest serves only GET_EXECUTORS on the agent's operator API", http.StatusNotImplemented)
		return
	}
	a.c.mu.Lock()
	execs := []obj{}
	for _, e := range a.executors {
		execs = append(execs, obj{"executor_info": e.executorInfoLocked()})
	}
	a.c.mu.Unlock()
	jsonReply(w, obj{"type": "GET_EXECUTORS", "get_executors": obj{"executors": execs}})
}

// usedByLocked is what framework fwID holds on every agent.
func (m *Master) usedByLocked(fwID string) resources {
	used := newResources()
	for _, a := range m.c.agents {
		if !a.removed {
			used = used.plus(a.usedByLocked(fwID))
		}
	}
	return used
}
