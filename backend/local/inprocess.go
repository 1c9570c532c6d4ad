package local

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/executor"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// DriverExecutorID is the id of the executor of the local masters, which
// lives inside the driver process.
const DriverExecutorID = "driver"

// InProcess runs executors as goroutine pools inside the driver's process:
// one executor ("driver") for the local masters, or several (tests use that
// to exercise placement and executor loss without processes).
type InProcess struct {
	slots  int
	n      int
	appID  string
	driver backend.Driver

	mu    sync.Mutex
	execs map[string]*inprocExec

	// Resources gives each executor its memory manager and spill
	// directories (nil: unbounded memory, nothing spills).
	Resources func(execID string) (*executor.Resources, error)
}

type inprocExec struct {
	store  *executor.BlockStore
	runner *executor.Runner
	res    *executor.Resources
	lost   atomic.Bool
	out    *reporter
}

// reporter hands statuses to the driver in batches, from one goroutine, so
// the driver takes its lock once per batch rather than once per task.
type reporter struct {
	mu      sync.Mutex
	pending []*pb.TaskStatus
	wake    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newReporter(flush func([]*pb.TaskStatus)) *reporter {
	r := &reporter{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		for {
			select {
			case <-r.wake:
			case <-r.done:
				return
			}
			r.mu.Lock()
			batch := r.pending
			r.pending = nil
			r.mu.Unlock()
			if len(batch) > 0 {
				flush(batch)
			}
		}
	}()
	return r
}

func (r *reporter) add(st *pb.TaskStatus) {
	r.mu.Lock()
	r.pending = append(r.pending, st)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reporter) close() { r.once.Do(func() { close(r.done) }) }

var _ backend.Backend = (*InProcess)(nil)

var localApps atomic.Int64

// NewInProcess returns the backend of local[N]: one executor of slots slots.
func NewInProcess(slots int) *InProcess { return NewInProcessExecutors(1, slots) }

// NewInProcessExecutors returns n in-process executors of slots slots each,
// on n pretend hosts.
func NewInProcessExecutors(n, slots int) *InProcess {
	return &InProcess{slots: slots, n: n, appID: fmt.Sprintf("local-%d-%d", time.Now().UnixMilli(), localApps.Add(1)), execs: map[string]*inprocExec{}}
}

func (b *InProcess) id(i int) string {
	if b.n == 1 {
		return DriverExecutorID
	}
	return strconv.Itoa(i)
}

func (b *InProcess) host(i int) string {
	if b.n == 1 {
		return "localhost"
	}
	return "host-" + strconv.Itoa(i)
}

func (b *InProcess) Start(_ context.Context, d backend.Driver) error {
	b.driver = d
	for i := 0; i < b.n; i++ {
		id := b.id(i)
		ex := &inprocExec{store: executor.NewBlockStore()}
		env := &executor.Env{
			ExecutorID: id,
			Blocks:     ex.store,
			Fetch:      b.fetch,
			CanCommit: func(_ context.Context, req *pb.CommitRequest) (bool, error) {
				return d.CanCommit(req), nil
			},
		}
		if b.Resources != nil {
			res, err := b.Resources(id)
			if err != nil {
				return err
			}
			ex.res = res
			res.Apply(env)
		}
		ex.out = newReporter(func(batch []*pb.TaskStatus) {
			if !ex.lost.Load() {
				d.StatusUpdate(id, batch...)
			}
		})
		ex.runner = executor.NewRunner(env, ex.out.add)
		b.mu.Lock()
		b.execs[id] = ex
		b.mu.Unlock()
		d.ExecutorAdded(backend.ExecutorInfo{ID: id, Host: b.host(i), Cores: b.slots})
	}
	return nil
}

func (b *InProcess) exec(id string) (*inprocExec, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ex := b.execs[id]
	if ex == nil {
		return nil, fmt.Errorf("executor %s is not running", id)
	}
	return ex, nil
}

func (b *InProcess) fetch(_ context.Context, out *pb.MapOutput, block string) ([]byte, error) {
	ex, err := b.exec(out.ExecutorId)
	if err != nil {
		return nil, err
	}
	return ex.store.Get(block)
}

// LoseExecutor simulates the loss of an executor: its tasks and blocks are
// gone and the driver is told (fault-injection tests).
func (b *InProcess) LoseExecutor(id, reason string) error {
	b.mu.Lock()
	ex := b.execs[id]
	delete(b.execs, id)
	b.mu.Unlock()
	if ex == nil {
		return fmt.Errorf("executor %s is not running", id)
	}
	ex.lost.Store(true)
	ex.runner.KillAll("executor lost")
	ex.runner.Close()
	ex.out.close()
	ex.store.Close()
	b.driver.ExecutorLost(id, reason)
	return nil
}

func (b *InProcess) Stop(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, ex := range b.execs {
		delete(b.execs, id)
		ex.lost.Store(true)
		ex.runner.KillAll("application stopped")
		ex.runner.Close()
		ex.out.close()
		ex.store.Close()
		ex.res.Close()
	}
	return nil
}

func (b *InProcess) LaunchTasks(id string, tasks []*pb.TaskDesc) error {
	ex, err := b.exec(id)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		ex.runner.Launch(t)
	}
	return nil
}

func (b *InProcess) KillTask(id string, taskID int64, reason string) error {
	ex, err := b.exec(id)
	if err != nil {
		return err
	}
	ex.runner.Kill(taskID, reason)
	return nil
}

func (b *InProcess) FetchResult(_ context.Context, id string, block string) ([]byte, error) {
	ex, err := b.exec(id)
	if err != nil {
		return nil, err
	}
	return ex.store.Get(block)
}

func (b *InProcess) Revive()                         {}
func (b *InProcess) RequestTotalExecutors(int) error { return nil }
func (b *InProcess) KillExecutors(ids []string) error {
	for _, id := range ids {
		if err := b.LoseExecutor(id, "killed by the driver"); err != nil {
			return err
		}
	}
	return nil
}
func (b *InProcess) DefaultParallelism() int { return b.n * b.slots }
func (b *InProcess) ApplicationID() string   { return b.appID }

// DropShuffleOutput deletes an executor's shuffle blocks while it keeps
// running, as a disk failure would (fault-injection tests).
func (b *InProcess) DropShuffleOutput(id string, shuffle int32) error {
	ex, err := b.exec(id)
	if err != nil {
		return err
	}
	ex.store.ReleaseShuffle(shuffle)
	return nil
}

// ReleaseShuffles drops shuffle output on every executor.
func (b *InProcess) ReleaseShuffles(ids []int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ex := range b.execs {
		for _, id := range ids {
			ex.store.ReleaseShuffle(id)
		}
	}
}

// ReleaseCached drops the datasets' cached partitions on every executor.
func (b *InProcess) ReleaseCached(ids []int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ex := range b.execs {
		ex.store.ReleaseCached(ids)
	}
}

// StoredBytes is the size of every executor's blocks.
func (b *InProcess) StoredBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for _, ex := range b.execs {
		n += ex.store.Bytes()
	}
	return n
}

// StackDump implements backend.StackDumper: the executors run in this
// process, so their stacks are the process's.
func (b *InProcess) StackDump(_ context.Context, id string) (string, error) {
	buf := make([]byte, 4<<20)
	return string(buf[:runtime.Stack(buf, true)]), nil
}
