package stoke

import (
	"fmt"
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shared"
)

// TaskContext is the task attempt a registered function runs in. Functions
// registered with the WithContext variants receive it; pass it to
// Accumulator.Add. It is valid only while the task runs.
type TaskContext struct{ t *shared.Task }

// TaskID is the attempt's id, unique in the application.
func (tc *TaskContext) TaskID() int64 { return tc.t.TaskID }

// StageID is the stage the attempt belongs to.
func (tc *TaskContext) StageID() int { return int(tc.t.StageID) }

// Partition is the partition the attempt computes.
func (tc *TaskContext) Partition() int { return int(tc.t.Partition) }

// Attempt numbers the attempts of this partition in its stage (0 first).
func (tc *TaskContext) Attempt() int { return int(tc.t.Attempt) }

// ExecutorID is the executor running the attempt.
func (tc *TaskContext) ExecutorID() string { return tc.t.ExecutorID }

// taskContext wraps the executor's task; it panics if the executor gave
// none (a bug: every executor path runs functions through its task).
func taskContext(name string, task any) *TaskContext {
	t, _ := task.(*shared.Task)
	if t == nil {
		panic(fmt.Sprintf("stoke: function %q needs its TaskContext but the executor gave none", name))
	}
	return &TaskContext{t}
}

// RegisterMapWithContext registers f under name; f also receives its
// task's context (for accumulators).
func RegisterMapWithContext[T, U any](name string, f func(*TaskContext, T) U) MapFunc[T, U] {
	in, out := registry.AddType[T](), registry.AddType[U]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Map, In: in, Out: out,
		ApplyTask: func(task any, src any) any {
			tc := taskContext(name, task)
			s := src.(iter.Seq[T])
			return iter.Seq[U](func(yield func(U) bool) {
				for r := range s {
					if !yield(f(tc, r)) {
						return
					}
				}
			})
		}})
	return MapFunc[T, U]{name}
}

// RegisterFlatMapWithContext registers f under name; f also receives its
// task's context.
func RegisterFlatMapWithContext[T, U any](name string, f func(*TaskContext, T) []U) FlatMapFunc[T, U] {
	in, out := registry.AddType[T](), registry.AddType[U]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.FlatMap, In: in, Out: out,
		ApplyTask: func(task any, src any) any {
			tc := taskContext(name, task)
			s := src.(iter.Seq[T])
			return iter.Seq[U](func(yield func(U) bool) {
				for r := range s {
					for _, u := range f(tc, r) {
						if !yield(u) {
							return
						}
					}
				}
			})
		}})
	return FlatMapFunc[T, U]{name}
}

// RegisterFilterWithContext registers f under name; f also receives its
// task's context.
func RegisterFilterWithContext[T any](name string, f func(*TaskContext, T) bool) FilterFunc[T] {
	in := registry.AddType[T]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Filter, In: in, Out: in,
		ApplyTask: func(task any, src any) any {
			tc := taskContext(name, task)
			s := src.(iter.Seq[T])
			return iter.Seq[T](func(yield func(T) bool) {
				for r := range s {
					if f(tc, r) && !yield(r) {
						return
					}
				}
			})
		}})
	return FilterFunc[T]{name}
}

// RegisterMapPartitionsWithContext registers f, which transforms a whole
// partition and also receives its task's context.
func RegisterMapPartitionsWithContext[T, U any](name string, f func(*TaskContext, iter.Seq[T]) iter.Seq[U]) MapPartitionsFunc[T, U] {
	in, out := registry.AddType[T](), registry.AddType[U]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.MapPartitions, In: in, Out: out,
		ApplyTask: func(task any, src any) any { return f(taskContext(name, task), src.(iter.Seq[T])) }})
	return MapPartitionsFunc[T, U]{name}
}

// RegisterForeachWithContext registers f for Foreach; f also receives its
// task's context.
func RegisterForeachWithContext[T any](name string, f func(*TaskContext, T)) ForeachFunc[T] {
	in := registry.AddType[T]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Foreach, In: in, Out: in,
		EachTask: func(task any, src any) {
			tc := taskContext(name, task)
			for r := range src.(iter.Seq[T]) {
				f(tc, r)
			}
		}})
	return ForeachFunc[T]{name}
}
