package stoke

import (
	"fmt"
	"sync"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shared"
)

// Accumulator is a value tasks add to and the driver reads: a counter of bad
// records, a sum, a set of keys seen.
//
// Register it in a package-level variable (so that it exists in every
// process), add to it from functions registered with a TaskContext, and
// read it on the driver after the action:
//
//	var badLines = stoke.RegisterAccumulator("app.badLines",
//		func() int { return 0 }, func(a, b int) int { return a + b })
//
//	var parse = stoke.RegisterMapWithContext("app.parse", func(tc *stoke.TaskContext, line string) Rec {
//		r, err := parseRec(line)
//		if err != nil {
//			badLines.Add(tc, 1)
//		}
//		return r
//	})
//
// Updates are attributed to the task attempt through its TaskContext (Go has
// no goroutine-local storage, and a task's functions may start goroutines
// of their own): each attempt folds its updates into a partial value that
// travels on its final status, and the driver merges the partial value only
// of the attempt it accepts as its partition's success. In an action (the
// result stage) every partition therefore counts exactly once, whatever
// speculative copies, retries or failed attempts ran; in a stage whose
// output feeds a shuffle, a partition computed again after its output was
// lost counts again (Spark's rules).
//
// merge must be associative and commutative, and zero must return a value
// that merge leaves unchanged. T is encoded like records (gob for most
// types).
type Accumulator[T any] struct {
	name       string
	zero       func() T
	merge      func(T, T) T
	newPartial func() shared.Partial

	mu    sync.Mutex
	total T
}

// RegisterAccumulator registers an accumulator under name. Registering a
// name twice panics.
func RegisterAccumulator[T any](name string, zero func() T, merge func(T, T) T) *Accumulator[T] {
	if zero == nil || merge == nil {
		panic(fmt.Sprintf("stoke: accumulator %q needs a zero and a merge function", name))
	}
	a := &Accumulator[T]{name: name, zero: zero, merge: merge, total: zero()}
	a.newPartial = func() shared.Partial { return &partial[T]{v: zero()} }
	shared.RegisterAccum(&shared.Accum{Name: name, MergeEncoded: a.mergeEncoded})
	return a
}

// Name is the registered name.
func (a *Accumulator[T]) Name() string { return a.name }

// Add adds v to the accumulator on behalf of the task attempt tc belongs to.
// It is safe for concurrent use by the task's goroutines. It panics without
// a TaskContext: on the driver, use AddOnDriver.
func (a *Accumulator[T]) Add(tc *TaskContext, v T) {
	if tc == nil || tc.t == nil {
		panic(fmt.Sprintf("stoke: accumulator %q: Add needs the task's TaskContext (register the function with RegisterMapWithContext or its kin); on the driver use AddOnDriver", a.name))
	}
	p := tc.t.Partial(a.name, a.newPartial).(*partial[T])
	p.mu.Lock()
	p.v = a.merge(p.v, v)
	p.mu.Unlock()
}

// partial is an accumulator's value in one task attempt.
type partial[T any] struct {
	mu sync.Mutex
	v  T
}

func (p *partial[T]) Encode() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return registry.EncodeSlice([]T{p.v})
}

// AddOnDriver adds v to the driver's total directly.
func (a *Accumulator[T]) AddOnDriver(v T) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total = a.merge(a.total, v)
}

// Value is the driver's total: every accepted task attempt's updates merged
// into zero (only meaningful on the driver).
func (a *Accumulator[T]) Value() T {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// Reset sets the driver's total back to zero.
func (a *Accumulator[T]) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total = a.zero()
}

func (a *Accumulator[T]) mergeEncoded(data []byte) error {
	vs, err := registry.DecodeSlice[T](data)
	if err != nil {
		return err
	}
	if len(vs) != 1 {
		return fmt.Errorf("an update holds %d values, not one", len(vs))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total = a.merge(a.total, vs[0])
	return nil
}
