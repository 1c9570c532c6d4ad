package mesos

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"

	"github.com/stoke-run/stoke/executor"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/mesos/mesosexec"
)

// EnvFine marks an executor process started as a fine-grained Mesos executor.
const EnvFine = "STOKE_MESOS_FINE"

// taskPrefix starts the Mesos task id of a Stoke task in fine-grained mode:
// "task-<executor id>-<Stoke task id>" (unique in the framework across
// driver restarts, as executor ids are). The per-agent executor's own holder
// task is named by the executor id alone.
const taskPrefix = "task-"

// IsFineExecutor says whether this process is a fine-grained Mesos executor.
func IsFineExecutor() bool { return os.Getenv(EnvFine) == "1" }

// RunFineExecutor runs this process as the per-agent executor of
// fine-grained mode and returns its exit code. It is a Stoke executor (it
// registers with the driver and runs the tasks the driver sends over its
// gRPC stream) and a Mesos custom executor (v1 executor HTTP API): every
// Stoke task also arrives as a Mesos task holding its CPUs, and when the
// Stoke task ends the Mesos task ends with it, which returns the CPUs to
// Mesos. The holder task (the executor's memory) ends when the driver lets
// the executor go.
func RunFineExecutor() int {
	cfg, err := executor.ConfigFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stoke fine-grained executor:", err)
		return 2
	}
	mcfg, err := config.FromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stoke fine-grained executor: the MESOS_* environment:", err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fe := &fineExec{ctx: ctx, holder: cfg.ExecutorID, pending: map[string]bool{}, done: map[int64]mesos.TaskState{}}
	fe.ex = mesosexec.New(mcfg, fe)
	cfg.OnStatus = fe.stokeStatus

	stoke := make(chan error, 1)
	go func() { stoke <- executor.RunProcess(ctx, cfg) }()
	agent := make(chan error, 1)
	go func() { agent <- fe.ex.Run(ctx) }()

	select {
	case err := <-stoke:
		// The driver let this executor go (or was lost): end every Mesos
		// task, the holder last, and wait for the agent's acknowledgements.
		state, msg := mesos.TASK_FINISHED, "the driver released the executor"
		if err != nil {
			state, msg = mesos.TASK_FAILED, err.Error()
		}
		fe.endAll(state, msg)
		// Until the agent acknowledged the updates, or shut this executor
		// down (the framework tore down: no acknowledgement will come).
		deadline := time.After(5 * time.Second)
	wait:
		for fe.ex.Unacknowledged() > 0 {
			select {
			case <-agent:
				break wait
			case <-deadline:
				break wait
			case <-time.After(20 * time.Millisecond):
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "stoke fine-grained executor:", err)
			return 1
		}
		return 0
	case err := <-agent:
		cancel()
		<-stoke
		if err != nil {
			fmt.Fprintln(os.Stderr, "stoke fine-grained executor:", err)
			return 1
		}
		return 0
	}
}

// fineExec is the mesosexec.Runner of the fine-grained executor.
type fineExec struct {
	ctx    context.Context
	ex     *mesosexec.Executor
	holder string

	mu          sync.Mutex
	holderAlive bool
	pending     map[string]bool           // Mesos tasks launched whose Stoke task has not ended
	done        map[int64]mesos.TaskState // Stoke tasks that ended before their Mesos task arrived
}

// Launch implements mesosexec.Runner.
func (f *fineExec) Launch(t mesos.TaskInfo) error {
	id := t.TaskID.Value
	if id == f.holder {
		f.mu.Lock()
		f.holderAlive = true
		f.mu.Unlock()
		return nil
	}
	n, ok := stokeTaskID(id)
	if !ok {
		return fmt.Errorf("task %q is neither this executor's holder task nor a %s<executor>-<id> Stoke task", id, taskPrefix)
	}
	f.mu.Lock()
	state, ended := f.done[n]
	if ended {
		delete(f.done, n)
	} else {
		f.pending[id] = true
	}
	f.mu.Unlock()
	if ended {
		return f.ex.Finished(f.ctx, id, state, "")
	}
	return nil
}

// Kill implements mesosexec.Runner. The driver kills a Stoke task over its
// own stream as well; here the Mesos task only gives its CPUs back.
func (f *fineExec) Kill(taskID string) {
	f.mu.Lock()
	delete(f.pending, taskID)
	f.mu.Unlock()
	if taskID == f.holder {
		return
	}
	_ = f.ex.Finished(f.ctx, taskID, mesos.TASK_KILLED, "killed by the framework")
}

// stokeStatus hears every Stoke task status and ends the matching Mesos task.
func (f *fineExec) stokeStatus(st *pb.TaskStatus) {
	var state mesos.TaskState
	switch st.State {
	case pb.TaskState_SUCCEEDED:
		state = mesos.TASK_FINISHED
	case pb.TaskState_KILLED:
		state = mesos.TASK_KILLED
	case pb.TaskState_FAILED, pb.TaskState_FETCH_FAILED:
		state = mesos.TASK_FAILED
	default:
		return
	}
	id := mesosTaskID(f.holder, st.TaskId)
	f.mu.Lock()
	launched := f.pending[id]
	if launched {
		delete(f.pending, id)
	} else {
		f.done[st.TaskId] = state
	}
	f.mu.Unlock()
	if launched {
		_ = f.ex.Finished(f.ctx, id, state, "")
	}
}

// endAll ends the Mesos tasks still open, then the holder.
func (f *fineExec) endAll(holderState mesos.TaskState, msg string) {
	f.mu.Lock()
	var ids []string
	for id := range f.pending {
		ids = append(ids, id)
	}
	f.pending = map[string]bool{}
	holder := f.holderAlive
	f.mu.Unlock()
	for _, id := range ids {
		_ = f.ex.Finished(f.ctx, id, mesos.TASK_KILLED, "the executor is stopping")
	}
	if holder {
		_ = f.ex.Finished(f.ctx, f.holder, holderState, msg)
	}
}

// mesosTaskID names the Mesos task of a Stoke task on an executor.
func mesosTaskID(execID string, task int64) string {
	return taskPrefix + execID + "-" + strconv.FormatInt(task, 10)
}

// stokeTaskID is the Stoke task id in a Mesos task id made by mesosTaskID.
func stokeTaskID(id string) (int64, bool) {
	s, ok := strings.CutPrefix(id, taskPrefix)
	if !ok {
		return 0, false
	}
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[i+1:], 10, 64)
	return n, err == nil && n >= 0
}
