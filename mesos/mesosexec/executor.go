package mesosexec

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"
)

// Runner runs the tasks the agent launches. Launch starts a task and
// returns at once; the runner reports its end with Executor.Finished.
// Kill asks a running task to stop (it then finishes as TASK_KILLED).
type Runner interface {
	Launch(task mesos.TaskInfo) error
	Kill(taskID string)
}

// Executor is one fine-grained executor process's connection to its agent.
type Executor struct {
	cfg    config.Config
	runner Runner
	// Retry is how often unacknowledged updates are sent again (default 1s).
	Retry time.Duration

	sender calls.Sender
	sub    calls.Sender

	mu       sync.Mutex
	unacked  map[string]executor.Call_Update // by uuid
	launched map[string]mesos.TaskInfo       // tasks without an acknowledged update
	running  map[string]bool
	shutdown bool
}

// New connects to the agent named by the MESOS_* environment in cfg.
func New(cfg config.Config, r Runner) *Executor {
	cli := httpcli.New(
		httpcli.Endpoint("http://"+cfg.AgentEndpoint+"/api/v1/executor"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(10*time.Second))),
	)
	opts := executor.CallOptions{calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)}
	return &Executor{
		cfg: cfg, runner: r, Retry: time.Second,
		sender:   calls.SenderWith(httpexec.NewSender(cli.Send), opts...),
		sub:      calls.SenderWith(httpexec.NewSender(cli.Send, httpcli.Close(true)), opts...),
		unacked:  map[string]executor.Call_Update{},
		launched: map[string]mesos.TaskInfo{},
		running:  map[string]bool{},
	}
}

// Run subscribes and handles events until SHUTDOWN or until the agent is
// gone for good: without checkpointing the first disconnection ends it;
// with it, subscriptions are retried for the recovery timeout.
func (e *Executor) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.resend(ctx)
	var lost time.Time
	for {
		err := e.session(ctx)
		e.mu.Lock()
		done := e.shutdown
		e.mu.Unlock()
		if done || ctx.Err() != nil {
			return nil
		}
		if !e.cfg.Checkpoint {
			return fmt.Errorf("disconnected from agent %s (framework not checkpointing): %w", e.cfg.AgentEndpoint, err)
		}
		if lost.IsZero() {
			lost = time.Now()
		}
		if time.Since(lost) > e.cfg.RecoveryTimeout {
			return fmt.Errorf("agent %s unreachable for %v: %w", e.cfg.AgentEndpoint, e.cfg.RecoveryTimeout, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(min(time.Second, max(e.cfg.SubscriptionBackoffMax*3/4, 100*time.Millisecond))):
		}
	}
}

func (e *Executor) session(ctx context.Context) error {
	e.mu.Lock()
	var tasks []mesos.TaskInfo
	for _, t := range e.launched {
		tasks = append(tasks, t)
	}
	var updates []executor.Call_Update
	for _, u := range e.unacked {
		updates = append(updates, u)
	}
	e.mu.Unlock()
	resp, err := e.sub.Send(ctx, calls.NonStreaming(calls.Subscribe(tasks, updates)))
	if err != nil {
		return fmt.Errorf("SUBSCRIBE to agent %s: %w", e.cfg.AgentEndpoint, err)
	}
	defer resp.Close()
	for {
		var ev executor.Event
		if err := resp.Decode(&ev); err != nil {
			return err
		}
		if err := e.handle(ctx, &ev); err != nil {
			return err
		}
		e.mu.Lock()
		done := e.shutdown
		e.mu.Unlock()
		if done {
			return nil
		}
	}
}

func (e *Executor) handle(ctx context.Context, ev *executor.Event) error {
	switch ev.Type {
	case executor.Event_LAUNCH:
		t := ev.GetLaunch().Task
		e.mu.Lock()
		e.launched[t.TaskID.Value] = t
		e.running[t.TaskID.Value] = true
		e.mu.Unlock()
		// RUNNING goes first, so a runner may end the task at once (even
		// from inside Launch) without its terminal update overtaking it.
		// Updates are kept and sent again until acknowledged: a failed send
		// does not end the subscription.
		_ = e.Finished(ctx, t.TaskID.Value, mesos.TASK_RUNNING, "")
		if err := e.runner.Launch(t); err != nil {
			_ = e.update(ctx, t.TaskID.Value, mesos.TASK_FAILED, mesos.REASON_TASK_INVALID, err.Error())
		}
		return nil
	case executor.Event_KILL:
		id := ev.GetKill().TaskID.Value
		e.mu.Lock()
		run := e.running[id]
		e.mu.Unlock()
		if run {
			e.runner.Kill(id)
		} else {
			_ = e.Finished(ctx, id, mesos.TASK_KILLED, "not running")
		}
	case executor.Event_ACKNOWLEDGED:
		a := ev.GetAcknowledged()
		e.mu.Lock()
		delete(e.unacked, string(a.UUID))
		delete(e.launched, a.TaskID.Value)
		e.mu.Unlock()
	case executor.Event_SHUTDOWN:
		e.mu.Lock()
		e.shutdown = true
		var ids []string
		for id := range e.running {
			ids = append(ids, id)
		}
		e.mu.Unlock()
		for _, id := range ids {
			e.runner.Kill(id)
		}
	case executor.Event_ERROR:
		return errors.New("agent sent ERROR: " + ev.GetError().GetMessage())
	}
	return nil
}

// Finished sends a task's state (RUNNING, or a terminal state when the
// runner ends it); the update is kept and sent again until acknowledged,
// so an error (the agent did not take it now) is not final.
func (e *Executor) Finished(ctx context.Context, taskID string, state mesos.TaskState, msg string) error {
	return e.update(ctx, taskID, state, 0, msg)
}

// update is Finished with a reason (0: none). A task whose Launch failed
// ends TASK_FAILED with REASON_TASK_INVALID.
func (e *Executor) update(ctx context.Context, taskID string, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) error {
	uuid := make([]byte, 16)
	rand.Read(uuid)
	now := float64(time.Now().UnixNano()) / 1e9
	st := mesos.TaskStatus{
		TaskID: mesos.TaskID{Value: taskID}, State: &state, Source: mesos.SOURCE_EXECUTOR.Enum(),
		ExecutorID: &mesos.ExecutorID{Value: e.cfg.ExecutorID}, UUID: uuid, Timestamp: &now,
	}
	if msg != "" {
		st.Message = &msg
	}
	if reason != 0 {
		st.Reason = reason.Enum()
	}
	e.mu.Lock()
	e.unacked[string(uuid)] = executor.Call_Update{Status: st}
	if state != mesos.TASK_RUNNING && state != mesos.TASK_STARTING {
		delete(e.running, taskID)
	}
	e.mu.Unlock()
	return e.send(ctx, st)
}

func (e *Executor) send(ctx context.Context, st mesos.TaskStatus) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return calls.SendNoData(ctx, e.sender, calls.NonStreaming(calls.Update(st)))
}

// resend sends unacknowledged updates again every Retry.
func (e *Executor) resend(ctx context.Context) {
	t := time.NewTicker(e.Retry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.mu.Lock()
		var sts []mesos.TaskStatus
		for _, u := range e.unacked {
			sts = append(sts, u.Status)
		}
		e.mu.Unlock()
		for _, st := range sts {
			_ = e.send(ctx, st) // the agent may be away; try again next tick
		}
	}
}

// Unacknowledged is the number of updates the agent has not acknowledged.
func (e *Executor) Unacknowledged() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.unacked)
}
