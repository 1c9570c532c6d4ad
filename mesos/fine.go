package mesos

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	gproto "google.golang.org/protobuf/proto"

	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/mesos/offers"
)

// Fine-grained mode. Each agent runs one Stoke executor, launched as a
// custom Mesos executor with a holder task; the executor holds only its
// overhead (stoke.mesos.mesosExecutor.cores and its memory) and registers
// with the driver announcing the task slots its first offer had room for.
// The driver's scheduler assigns tasks to it as to any executor; the backend
// queues them until an offer from that agent brings the CPUs, then launches
// one Mesos task per Stoke task (stoke.task.cpus each) on the executor, the
// serialized Stoke task in the Mesos task's data: a Stoke task runs only
// once Mesos has given it its CPUs. Statuses and results come back over the
// executor's gRPC stream, as in coarse mode. The executor ends the Mesos
// task when the Stoke task ends, so Mesos gets the CPUs back and offers them
// to any framework; with nothing queued the backend suppresses offers.

// fineExecState is the driver's view of one per-agent executor.
type fineExecState struct {
	agentID string
	info    mesos.ExecutorInfo
	slots   int
	queue   []*pb.TaskDesc
}

// fineTask is a Stoke task launched as a Mesos task.
type fineTask struct {
	execID string
	cpus   float64
}

// fineLaunch enqueues tasks for an executor and asks for offers.
func (b *Backend) fineLaunch(execID string, tasks []*pb.TaskDesc) error {
	b.mu.Lock()
	e := b.fineExecs[execID]
	if e == nil {
		b.mu.Unlock()
		return fmt.Errorf("no fine-grained executor %s", execID)
	}
	wasIdle := b.queuedLocked() == 0

	e.queue = append(e.queue, tasks...)
	b.mu.Unlock()
	// Work appearing after a quiet spell revives with force: REVIVE also
	// clears the refuse filters of offers declined while nothing waited,
	// so the CPUs come on the master's next allocation.
	b.updateOffers(wasIdle)
	return nil
}

// fineKill kills a task: still queued, it ends as KILLED at once; launched,
// Mesos kills its task (the executor kills the Stoke task, or the agent
// drops it undelivered) and gets its CPUs back. The executor is also told
// over its stream, which stops the task even while Mesos is unreachable.
func (b *Backend) fineKill(execID string, taskID int64, reason string) error {
	b.mu.Lock()
	if e := b.fineExecs[execID]; e != nil {
		for i, td := range e.queue {
			if td.TaskId == taskID {
				e.queue = append(e.queue[:i], e.queue[i+1:]...)
				b.mu.Unlock()
				b.driver.StatusUpdate(execID, &pb.TaskStatus{TaskId: taskID, State: pb.TaskState_KILLED, Error: reason})
				return nil
			}
		}
	}
	mid := mesosTaskID(execID, taskID)
	ft := b.fineTasks[mid]
	agent := ""
	if e := b.fineExecs[execID]; e != nil {
		agent = e.agentID
	}
	caller := b.caller
	b.mu.Unlock()
	err := b.srv.KillTask(execID, taskID, reason)
	if ft != nil && caller != nil && agent != "" {
		if kerr := b.send(context.Background(), caller, calls.Kill(mid, agent)); kerr != nil && err == nil {
			err = kerr
		}
	}
	return err
}

func (b *Backend) queuedLocked() int {
	n := 0
	for _, e := range b.fineExecs {
		n += len(e.queue)
	}
	return n
}

// fineWantLocked: offers are wanted while tasks wait for CPUs or more
// executors are wanted (until one runs when stoke.executor.instances is
// unset).
func (b *Backend) fineWantLocked() bool {
	if b.stopping {
		return false
	}
	if b.queuedLocked() > 0 {
		return true
	}
	if b.limit < 0 {
		return len(b.fineExecs) == 0
	}
	return len(b.fineExecs) < b.limit
}

// fineOffers answers offers in fine-grained mode.
func (b *Backend) fineOffers(ctx context.Context, caller calls.Caller, os []mesos.Offer) {
	in := make([]offers.Offer, len(os))
	for i := range os {
		in[i] = convertOffer(&os[i])
	}
	b.mu.Lock()
	st := b.offerStateLocked(len(b.fineExecs))
	st.Queued, st.ExecutorOn = map[string]int{}, map[string]bool{}
	if b.limit < 0 && len(b.fineExecs) > 0 && b.queuedLocked() == 0 {
		st.ExecutorLimit = len(b.fineExecs)
	}
	for _, e := range b.fineExecs {
		st.ExecutorOn[e.agentID] = true
		st.Queued[e.agentID] += len(e.queue)
	}
	ds := offers.Match(b.set.match, st, in)
	type accept struct {
		offer mesos.OfferID
		tasks []mesos.TaskInfo
		tds   map[string][]*pb.TaskDesc // the Stoke tasks launched, by executor
	}
	var accepts []accept
	type failedTask struct {
		execID string
		task   int64
		why    string
	}
	var failed []failedTask
	declines := map[time.Duration][]mesos.OfferID{}
	for i, d := range ds {
		if !d.Accept {
			declines[d.Refuse] = append(declines[d.Refuse], os[i].ID)
			b.log.Debugf("declining offer %s for %v: %s", d.OfferID, d.Refuse, d.Reason)
			continue
		}
		o := &os[i]
		a := accept{offer: o.ID, tds: map[string][]*pb.TaskDesc{}}
		for _, l := range d.Launches {
			if l.NewExecutor {
				id := b.nextID()
				info, holder := b.fineExecutorInfo(id, o, l)
				a.tasks = append(a.tasks, holder)
				b.fineExecs[id] = &fineExecState{agentID: o.AgentID.Value, info: info, slots: l.Slots}
				b.tasks[id] = &taskState{agentID: o.AgentID.Value, host: o.Hostname, cpus: l.CPUs, state: mesos.TASK_STAGING}
				continue
			}
			// One queued task of this agent's executor.
			var execID string
			var e *fineExecState
			for id, x := range b.fineExecs {
				if x.agentID == o.AgentID.Value && len(x.queue) > 0 {
					execID, e = id, x
					break
				}
			}
			if e == nil {
				continue
			}
			td := e.queue[0]
			e.queue = e.queue[1:]
			data, err := gproto.Marshal(td)
			if err != nil {
				// Unreachable for a well-formed TaskDesc; fail the task rather
				// than launch it empty.
				failed = append(failed, failedTask{execID, td.TaskId, "serializing the task for Mesos: " + err.Error()})
				continue
			}
			mid := mesosTaskID(execID, td.TaskId)
			info := e.info
			a.tasks = append(a.tasks, mesos.TaskInfo{
				Name: "stoke task " + strconv.FormatInt(td.TaskId, 10), TaskID: mesos.TaskID{Value: mid}, AgentID: o.AgentID,
				Resources: offerResources(o, l.Uses), Executor: &info, Data: data,
			})
			a.tds[execID] = append(a.tds[execID], td)
			b.fineTasks[mid] = &fineTask{execID: execID, cpus: l.CPUs}
		}
		accepts = append(accepts, a)
	}
	// What an accepted offer leaves unused comes back at once while tasks
	// still wait (their CPUs may be freed any moment), after the short
	// refuse filter otherwise.
	refuse := b.set.match.Refuse
	if b.queuedLocked() > 0 {
		refuse = 0
	}
	b.mu.Unlock()

	for _, f := range failed {
		b.driver.StatusUpdate(f.execID, &pb.TaskStatus{TaskId: f.task, State: pb.TaskState_FAILED, Error: f.why})
	}
	for _, a := range accepts {
		c := calls.Accept(calls.OfferOperations{calls.OpLaunch(a.tasks...)}.WithOffers(a.offer)).With(calls.RefuseSeconds(refuse))
		if err := b.send(ctx, caller, c); err != nil {
			b.log.WithError(err).Warnf("launching %d Mesos task(s) on offer %s", len(a.tasks), a.offer.Value)
			b.mu.Lock()
			for _, t := range a.tasks {
				delete(b.tasks, t.TaskID.Value)
				delete(b.fineExecs, t.TaskID.Value)
				delete(b.fineTasks, t.TaskID.Value)
			}
			// Tasks go back to the front of their queues.
			for id, tds := range a.tds {
				if e := b.fineExecs[id]; e != nil {
					e.queue = append(tds, e.queue...)
				}
			}
			b.mu.Unlock()
			continue
		}
	}
	b.decline(ctx, caller, declines)
	b.reviveOrSuppress(ctx, caller, false)
}

// fineExecutorInfo builds the per-agent executor, which holds its
// overhead (stoke.mesos.mesosExecutor.cores and the memory overhead, at
// least Mesos's 32 MB), and its holder task, which holds the rest of the
// executor's memory for as long as the executor runs.
func (b *Backend) fineExecutorInfo(id string, o *mesos.Offer, l offers.Launch) (mesos.ExecutorInfo, mesos.TaskInfo) {
	var cpus, mem []mesos.Resource
	for _, r := range offerResources(o, l.Uses) {
		if r.Name == "cpus" {
			cpus = append(cpus, r)
		} else {
			mem = append(mem, r)
		}
	}
	execMem, holdMem := splitScalar(mem, b.set.fineExecMemMB)
	cpus = append(cpus, execMem...)
	mem = holdMem
	cmd := b.command(id, o, l.Slots)
	cmd.Environment.Variables = append(cmd.Environment.Variables, envVar(EnvFine, "1"))
	fw := mesos.FrameworkID{Value: b.frameworkID}
	info := mesos.ExecutorInfo{
		Type:        mesos.ExecutorInfo_CUSTOM,
		ExecutorID:  mesos.ExecutorID{Value: "stoke-" + id},
		FrameworkID: &fw,
		Name:        proto("stoke fine-grained executor " + id),
		Command:     cmd,
		Resources:   cpus,
	}
	ei := info
	holder := mesos.TaskInfo{
		Name: "stoke executor " + id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
		Resources: mem, Executor: &ei,
	}
	return info, holder
}

func proto(s string) *string { return &s }

// splitScalar takes amount from the scalar resources rs (in order) and
// returns what it took and what is left, splitting a resource in two
// where the amount ends inside it. Amounts are kept to Mesos's three
// decimals.
func splitScalar(rs []mesos.Resource, amount float64) (took, left []mesos.Resource) {
	for _, r := range rs {
		v := r.GetScalar().GetValue()
		switch {
		case amount <= 0:
			left = append(left, r)
		case v <= amount:
			took = append(took, r)
			amount -= v
		default:
			a, b := r, r
			a.Scalar = &mesos.Value_Scalar{Value: milli(amount)}
			b.Scalar = &mesos.Value_Scalar{Value: milli(v - amount)}
			took, left = append(took, a), append(left, b)
			amount = 0
		}
	}
	return took, left
}

func milli(v float64) float64 { return math.Round(v*1000) / 1000 }

// fineTaskUpdate handles the status of a Stoke task's Mesos task. Ends the
// executor reports follow the Stoke task's own status (which the driver has
// over gRPC, with its error and result), except a task the executor could
// not start. Ends the agent or master decide fail the Stoke task: killed
// stays killed, an invalid task (TASK_ERROR) failed, and anything else
// (lost, dropped, gone, the executor died) lost, which the driver retries
// without counting it against the task.
func (b *Backend) fineTaskUpdate(ctx context.Context, caller calls.Caller, st mesos.TaskStatus) bool {
	id := st.TaskID.Value
	b.mu.Lock()
	ft := b.fineTasks[id]
	if ft == nil {
		b.mu.Unlock()
		return false
	}
	if !terminal(st.GetState()) {
		b.mu.Unlock()
		return true
	}
	delete(b.fineTasks, id)
	host := st.GetAgentID().GetValue()
	if e := b.tasks[ft.execID]; e != nil {
		host = e.host
	}
	b.mu.Unlock()
	if state, ok := fineStokeState(st, st.GetSource() == mesos.SOURCE_EXECUTOR); ok {
		if n, ok := stokeTaskID(id); ok {
			b.driver.StatusUpdate(ft.execID, &pb.TaskStatus{TaskId: n, State: state, Error: describeTask(id, host, st)})
		}
	}
	// The task's CPUs are back with the master now. With tasks waiting,
	// REVIVE makes the master offer them at once: otherwise they wait for
	// its next allocation (1 s by default), as the REVIVE sent when the
	// driver queued the next task usually reaches the master before this
	// update and finds nothing free.
	b.reviveOrSuppress(ctx, caller, true)
	return true
}

// fineStokeState is the Stoke task state a terminal Mesos update means, if
// the driver must hear it from the backend.
func fineStokeState(st mesos.TaskStatus, fromExecutor bool) (pb.TaskState, bool) {
	if fromExecutor {
		if st.GetState() == mesos.TASK_FAILED && st.GetReason() == mesos.REASON_TASK_INVALID {
			return pb.TaskState_FAILED, true
		}
		return 0, false
	}
	switch st.GetState() {
	case mesos.TASK_FINISHED:
		return 0, false
	case mesos.TASK_KILLED:
		return pb.TaskState_KILLED, true
	case mesos.TASK_ERROR:
		return pb.TaskState_FAILED, true
	}
	return pb.TaskState_TASK_STATE_UNSPECIFIED, true
}

// fineExecutorGoneLocked forgets an executor whose holder task ended.
func (b *Backend) fineExecutorGoneLocked(id string) {
	delete(b.fineExecs, id)
	for mid, ft := range b.fineTasks {
		if ft.execID == id {
			delete(b.fineTasks, mid)
		}
	}
}

// fineHeldLocked is the CPUs of the Stoke tasks running as Mesos tasks.
func (b *Backend) fineHeldLocked() float64 {
	h := 0.0
	for _, t := range b.fineTasks {
		h += t.cpus
	}
	return h
}
