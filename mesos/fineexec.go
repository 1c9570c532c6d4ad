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
	gproto "google.golang.org/protobuf/proto"

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
// registers with the driver, which it reports task statuses and results to
// over its gRPC stream) and a Mesos custom executor (v1 executor HTTP API):
// every Stoke task arrives as a Mesos task holding its CPUs, the serialized
// task in its data, and when the Stoke task ends the Mesos task ends with it,
// which returns the CPUs to Mesos. The holder task (the executor's memory)
// ends when the driver lets the executor go; killing it (the driver's
// KillExecutors) stops the executor.
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
	fe := newFineExec(ctx, cfg.ExecutorID)
	fe.ex = mesosexec.New(mcfg, fe)
	cfg.OnStatus = fe.stokeStatus
	cfg.Inbox = fe.inbox
	// The Stoke side stops on its own, or when the holder task is killed;
	// the Mesos side outlives it to send the last updates.
	stokeCtx, stopStoke := context.WithCancel(ctx)
	defer stopStoke()
	fe.stopStoke = stopStoke

	stoke := make(chan error, 1)
	go func() {
		err := executor.RunProcess(stokeCtx, cfg)
		close(fe.stopped)
		stoke <- err
	}()
	agent := make(chan error, 1)
	go func() { agent <- fe.ex.Run(ctx) }()

	select {
	case err := <-stoke:
		// The driver let this executor go (or was lost): end every Mesos
		// task, the holder last, and wait for the agent's acknowledgements.
		state, msg := mesos.TASK_FINISHED, "the driver released the executor"
		switch {
		case fe.holderKilled():
			state, msg, err = mesos.TASK_KILLED, "killed by the framework", nil
		case err != nil:
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

// fineExec is the mesosexec.Runner of the fine-grained executor: it hands
// the Stoke tasks of LAUNCH events to the Stoke executor's runner and ends
// each Mesos task when its Stoke task ends.
type fineExec struct {
	ctx     context.Context
	ex      *mesosexec.Executor
	holder  string
	inbox   chan *pb.DriverMessage // to executor.RunProcess
	stopped chan struct{}          // closed when RunProcess returned

	stopStoke context.CancelFunc // ends executor.RunProcess

	mu          sync.Mutex
	holderAlive bool
	killed      bool            // the holder task was killed
	pending     map[string]bool // Mesos tasks launched whose Stoke task has not ended
}

func (f *fineExec) holderKilled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.killed
}

func newFineExec(ctx context.Context, holder string) *fineExec {
	return &fineExec{ctx: ctx, holder: holder, inbox: make(chan *pb.DriverMessage), stopped: make(chan struct{}), pending: map[string]bool{}}
}

// Launch implements mesosexec.Runner: the holder task only holds memory; any
// other task carries a serialized Stoke task, which runs now.
func (f *fineExec) Launch(t mesos.TaskInfo) error {
	id := t.TaskID.Value
	if id == f.holder {
		f.mu.Lock()
		f.holderAlive = true
		f.mu.Unlock()
		return nil
	}
	td, err := decodeTask(f.holder, t)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.pending[id] = true
	f.mu.Unlock()
	if !f.deliver(&pb.DriverMessage{Msg: &pb.DriverMessage_Launch{Launch: &pb.LaunchBatch{Tasks: []*pb.TaskDesc{td}}}}) {
		// Not the task's fault: the driver hears of the executor's end and
		// counts the task lost.
		f.finish(id, mesos.TASK_KILLED, "the executor is stopping")
	}
	return nil
}

// decodeTask reads the Stoke task a Mesos task of executor holder carries.
func decodeTask(holder string, t mesos.TaskInfo) (*pb.TaskDesc, error) {
	id := t.TaskID.Value
	n, ok := stokeTaskID(id)
	if !ok || id != mesosTaskID(holder, n) {
		return nil, fmt.Errorf("task %q is neither this executor's holder task nor one of its Stoke tasks (%s)", id, mesosTaskID(holder, 0))
	}
	if len(t.Data) == 0 {
		return nil, fmt.Errorf("task %s carries no Stoke task in its data", id)
	}
	td := &pb.TaskDesc{}
	if err := gproto.Unmarshal(t.Data, td); err != nil {
		return nil, fmt.Errorf("task %s: its data is not a serialized Stoke task: %v", id, err)
	}
	if td.TaskId != n {
		return nil, fmt.Errorf("task %s carries Stoke task %d", id, td.TaskId)
	}
	return td, nil
}

// deliver hands a message to the Stoke executor unless it has stopped.
func (f *fineExec) deliver(m *pb.DriverMessage) bool {
	select {
	case f.inbox <- m:
		return true
	case <-f.stopped:
		return false
	case <-f.ctx.Done():
		return false
	}
}

// Kill implements mesosexec.Runner: the Stoke task is killed, and its end
// (reported through stokeStatus) ends the Mesos task. Killing the holder
// task stops the whole executor.
func (f *fineExec) Kill(taskID string) {
	if taskID == f.holder {
		// The executor is wanted no more: stop, ending every task.
		f.mu.Lock()
		f.killed = true
		f.mu.Unlock()
		if f.stopStoke != nil {
			f.stopStoke()
		}
		return
	}
	f.mu.Lock()
	launched := f.pending[taskID]
	f.mu.Unlock()
	n, _ := stokeTaskID(taskID)
	if !launched || !f.deliver(&pb.DriverMessage{Msg: &pb.DriverMessage_Kill{Kill: &pb.KillTask{TaskId: n, Reason: "killed by the framework"}}}) {
		f.finish(taskID, mesos.TASK_KILLED, "killed by the framework")
	}
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
	f.finish(mesosTaskID(f.holder, st.TaskId), state, "")
}

// finish sends the terminal update of a launched Mesos task (once).
func (f *fineExec) finish(id string, state mesos.TaskState, msg string) {
	f.mu.Lock()
	launched := f.pending[id]
	delete(f.pending, id)
	f.mu.Unlock()
	if launched {
		// Kept and sent again until acknowledged, so the error is not final.
		_ = f.ex.Finished(f.ctx, id, state, msg)
	}
}

// endAll ends the Mesos tasks still open, then the holder.
func (f *fineExec) endAll(holderState mesos.TaskState, msg string) {
	f.mu.Lock()
	var ids []string
	for id := range f.pending {
		ids = append(ids, id)
	}
	holder := f.holderAlive
	f.mu.Unlock()
	for _, id := range ids {
		f.finish(id, mesos.TASK_KILLED, "the executor is stopping")
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
	num := s[i+1:]
	if num == "" || num[0] < '0' || num[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil
}
