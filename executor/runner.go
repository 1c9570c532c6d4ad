package executor

import (
	"context"
	"sync"

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
}

type runningTask struct {
	cancel context.CancelFunc
	killed bool
}

// NewRunner returns a runner that reports statuses to report.
func NewRunner(env *Env, report func(*pb.TaskStatus)) *Runner {
	return &Runner{env: env, report: report, running: map[int64]*runningTask{}}
}

// Launch starts a task.
func (r *Runner) Launch(t *pb.TaskDesc) {
	ctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	r.running[t.TaskId] = &runningTask{cancel: cancel}
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		st := Run(ctx, r.env, t)
		cancel()
		r.mu.Lock()
		rt := r.running[t.TaskId]
		delete(r.running, t.TaskId)
		r.mu.Unlock()
		if rt != nil && !rt.killed {
			r.report(st)
		}
	}()
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
	r.report(&pb.TaskStatus{TaskId: id, State: pb.TaskState_KILLED, Error: "killed: " + reason})
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
