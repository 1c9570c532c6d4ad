package shared

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Accum is a registered accumulator in type-erased form: the driver merges
// attempts' encoded partial values into its total with MergeEncoded.
type Accum struct {
	Name         string
	MergeEncoded func(data []byte) error
}

var accums = struct {
	sync.RWMutex
	m map[string]*Accum
}{m: map[string]*Accum{}}

// RegisterAccum adds a; registering a name twice panics (a programming
// error, like registering a function twice).
func RegisterAccum(a *Accum) {
	accums.Lock()
	defer accums.Unlock()
	if a.Name == "" {
		panic("stoke: an accumulator needs a name")
	}
	if _, dup := accums.m[a.Name]; dup {
		panic(fmt.Sprintf("stoke: accumulator %q is registered twice", a.Name))
	}
	accums.m[a.Name] = a
}

// MergeUpdates merges the updates of the attempt the driver accepted into
// the accumulators' totals. Unknown names and values that do not decode are
// reported (joined) and skipped; the others are merged.
func MergeUpdates(ups []*pb.AccumUpdate) error {
	var errs []error
	for _, u := range ups {
		accums.RLock()
		a := accums.m[u.Name]
		accums.RUnlock()
		if a == nil {
			errs = append(errs, fmt.Errorf("update of unknown accumulator %q ignored (is it registered in a package-level variable?)", u.Name))
			continue
		}
		if err := mergeSafely(a, u.Value); err != nil {
			errs = append(errs, fmt.Errorf("accumulator %q: %w", u.Name, err))
		}
	}
	return errors.Join(errs...)
}

// mergeSafely turns a panic of the user's merge function into an error: it
// runs on the driver, which must not die of it.
func mergeSafely(a *Accum, data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("merge panicked: %v", r)
		}
	}()
	return a.MergeEncoded(data)
}

// Task is one running task attempt as its registered functions see it; it
// collects the attempt's accumulator updates.
type Task struct {
	TaskID       int64
	StageID      int32
	StageAttempt int32
	Partition    int32
	Attempt      int32
	ExecutorID   string

	mu      sync.Mutex
	partial map[string]Partial
}

// Partial is one accumulator's partial value in one attempt: the typed
// holder its Add folds updates into (safely for concurrent use).
type Partial interface {
	// Encode encodes the partial value for the driver's MergeEncoded.
	Encode() ([]byte, error)
}

// NewTask describes the attempt t running on executor execID.
func NewTask(t *pb.TaskDesc, execID string) *Task {
	return &Task{TaskID: t.TaskId, StageID: t.StageId, StageAttempt: t.StageAttempt, Partition: t.Partition, Attempt: t.Attempt, ExecutorID: execID}
}

// Partial returns the attempt's partial value of the named accumulator,
// made by create on first use.
func (t *Task) Partial(name string, create func() Partial) Partial {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.partial == nil {
		t.partial = map[string]Partial{}
	}
	p := t.partial[name]
	if p == nil {
		p = create()
		t.partial[name] = p
	}
	return p
}

// Updates encodes the attempt's partial values, sorted by name.
func (t *Task) Updates() ([]*pb.AccumUpdate, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.partial))
	for n := range t.partial {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*pb.AccumUpdate, 0, len(names))
	for _, n := range names {
		data, err := t.partial[n].Encode()
		if err != nil {
			return nil, fmt.Errorf("encoding the update of accumulator %q: %w", n, err)
		}
		out = append(out, &pb.AccumUpdate{Name: n, Value: data})
	}
	return out, nil
}

type taskKey struct{}

// WithTask returns ctx carrying t, for the registered functions the task
// runs.
func WithTask(ctx context.Context, t *Task) context.Context {
	return context.WithValue(ctx, taskKey{}, t)
}

// TaskFrom returns the task WithTask stored, or nil.
func TaskFrom(ctx context.Context) *Task {
	t, _ := ctx.Value(taskKey{}).(*Task)
	return t
}
