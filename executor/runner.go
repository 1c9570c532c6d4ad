package executor

import (
	"context"
	"sync"
	"time"

	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Runner runs an executor's tasks, one goroutine each, and reports every
// task's final status exactly once. A killed task is reported at once; if
// its code is still busy (a function that does not return), its eventual
// result is dropped.
type Runner struct {
	env     *Env
	report  func(*pb.TaskStatus)
	mu      sync.Mutex
	running map[int64]*runningTask
	wg      sync.WaitGroup
	work    chan launched
	done    chan struct{}

	closeOnce sync.Once
}

type runningTask struct {
	cancel context.CancelFunc
	killed bool
}

// NewRunner returns a runner that reports statuses to report.
func NewRunner(env *Env, report func(*pb.TaskStatus)) *Runner {
	return &Runner{env: env, report: report, running: map[int64]*runningTask{}, work: make(chan launched), done: make(chan struct{})}
}

// Launch starts a task on an idle worker goroutine, or a new one. Workers
// are kept for a while after their task: a goroutine that already grew its
// stack makes the next short task cheaper.
func (r *Runner) Launch(t *pb.TaskDesc) {
	ctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	r.running[t.TaskId] = &runningTask{cancel: cancel}
	r.mu.Unlock()
	job := launched{t, ctx, cancel}
	select {
	case r.work <- job:
	default:
		r.wg.Add(1)
		go r.worker(job)
	}
}

type launched struct {
	t      *pb.TaskDesc
	ctx    context.Context
	cancel context.CancelFunc
}

// workerIdle is how long a worker waits for another task before exiting.
const workerIdle = 30 * time.Second

func (r *Runner) worker(job launched) {
	defer r.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		r.run(job)
		idle.Reset(workerIdle)
		select {
		case job = <-r.work:
		case <-idle.C:
			return
		case <-r.done:
			return
		}
	}
}

func (r *Runner) run(job launched) {
	st := Run(job.ctx, r.env, job.t)
	job.cancel()
	r.mu.Lock()
	rt := r.running[job.t.TaskId]
	delete(r.running, job.t.TaskId)
	r.mu.Unlock()
	if rt != nil && !rt.killed {
		r.report(r.withBlockUpdates(st))
	}
}

// withBlockUpdates adds the executor's cached-block changes to a status, so
// the driver learns them with the next status whichever task caused them.
func (r *Runner) withBlockUpdates(st *pb.TaskStatus) *pb.TaskStatus {
	if r.env != nil && r.env.Blocks != nil {
		st.BlockUpdates = append(st.BlockUpdates, r.env.Blocks.TakeBlockUpdates()...)
	}
	return st
}

// Close lets idle workers exit.
func (r *Runner) Close() {
	r.closeOnce.Do(func() { close(r.done) })
}

// Kill stops a task; unknown or finished tasks are ignored.
func (r *Runner) Kill(id int64, reason string) {
	r.mu.Lock()
	rt := r.running[id]
	if rt == nil || rt.killed {
		r.mu.Unlock()
		return
	}
	rt.killed = true
	rt.cancel()
	r.mu.Unlock()
	r.report(r.withBlockUpdates(&pb.TaskStatus{TaskId: id, State: pb.TaskState_KILLED, Error: "killed: " + reason}))
}

// KillAll kills every running task.
func (r *Runner) KillAll(reason string) {
	r.mu.Lock()
	ids := make([]int64, 0, len(r.running))
	for id := range r.running {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	for _, id := range ids {
		r.Kill(id, reason)
	}
}

// Running counts tasks still running (killed ones excluded).
func (r *Runner) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rt := range r.running {
		if !rt.killed {
			n++
		}
	}
	return n
}
