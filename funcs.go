package stoke

import (
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
)

// Functions are registered by name in package-level variables, so that the
// driver and every executor (the same binary) hold the same registry. A
// handle carries the types, which keeps the dataset API type-safe.

// KV is a keyed record, the element type of the keyed operators.
type KV[K comparable, V any] struct {
	Key   K
	Value V
}

// Joined pairs the values of one key from both sides of a Join.
type Joined[V, W any] struct {
	Left  V
	Right W
}

// MapFunc is a registered func(T) U.
type MapFunc[T, U any] struct{ name string }

// FlatMapFunc is a registered func(T) []U.
type FlatMapFunc[T, U any] struct{ name string }

// FilterFunc is a registered func(T) bool.
type FilterFunc[T any] struct{ name string }

// MapPartitionsFunc is a registered function over a whole partition.
type MapPartitionsFunc[T, U any] struct{ name string }

// ReduceFunc is a registered associative, commutative func(T, T) T.
type ReduceFunc[T any] struct {
	name string
	f    func(T, T) T
}

// ForeachFunc is a registered func(T) run for its effect.
type ForeachFunc[T any] struct{ name string }

// ReduceByKeyFunc merges the values of one key (map-side combining included).
type ReduceByKeyFunc[K comparable, V any] struct{ name string }

// GroupByKeyOp groups the values of each key.
type GroupByKeyOp[K comparable, V any] struct{ name string }

// JoinOp is an inner join of KV[K,V] with KV[K,W].
type JoinOp[K comparable, V, W any] struct{ name string }

// Name is the registered name.
func (f MapFunc[T, U]) Name() string { return f.name }

// RegisterType registers an element type that no registered function
// mentions (for example one only parallelized and collected), with the
// built-in operators every registered type has (Sample, Take, ZipWithIndex
// and Repartition use them).
func RegisterType[T any]() { registry.AddType[T]() }

// RegisterMap registers f under name.
func RegisterMap[T, U any](name string, f func(T) U) MapFunc[T, U] {
	in, out := registry.AddType[T](), registry.AddType[U]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Map, In: in, Out: out,
		Apply: func(src any) any {
			s := src.(iter.Seq[T])
			return iter.Seq[U](func(yield func(U) bool) {
				for r := range s {
					if !yield(f(r)) {
						return
					}
				}
			})
		}})
	return MapFunc[T, U]{name}
}

// RegisterFlatMap registers f under name.
func RegisterFlatMap[T, U any](name string, f func(T) []U) FlatMapFunc[T, U] {
	in, out := registry.AddType[T](), registry.AddType[U]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.FlatMap, In: in, Out: out,
		Apply: func(src any) any {
			s := src.(iter.Seq[T])
			return iter.Seq[U](func(yield func(U) bool) {
				for r := range s {
					for _, u := range f(r) {
						if !yield(u) {
							return
						}
					}
				}
			})
		}})
	return FlatMapFunc[T, U]{name}
}

// RegisterFilter registers f under name.
func RegisterFilter[T any](name string, f func(T) bool) FilterFunc[T] {
	in := registry.AddType[T]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Filter, In: in, Out: in,
		Apply: func(src any) any {
			s := src.(iter.Seq[T])
			return iter.Seq[T](func(yield func(T) bool) {
				for r := range s {
					if f(r) && !yield(r) {
						return
					}
				}
			})
		}})
	return FilterFunc[T]{name}
}

// RegisterMapPartitions registers f, which transforms a whole partition.
func RegisterMapPartitions[T, U any](name string, f func(iter.Seq[T]) iter.Seq[U]) MapPartitionsFunc[T, U] {
	in, out := registry.AddType[T](), registry.AddType[U]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.MapPartitions, In: in, Out: out,
		Apply: func(src any) any { return f(src.(iter.Seq[T])) }})
	return MapPartitionsFunc[T, U]{name}
}

// RegisterReduce registers an associative, commutative f for Reduce.
func RegisterReduce[T any](name string, f func(T, T) T) ReduceFunc[T] {
	in := registry.AddType[T]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Reduce, In: in, Out: in,
		Reduce: func(src any) ([]byte, bool, error) {
			var acc T
			have := false
			for r := range src.(iter.Seq[T]) {
				if have {
					acc = f(acc, r)
				} else {
					acc, have = r, true
				}
			}
			if !have {
				return nil, true, nil
			}
			data, err := registry.EncodeSlice([]T{acc})
			return data, false, err
		}})
	return ReduceFunc[T]{name, f}
}

// RegisterForeach registers f for Foreach.
func RegisterForeach[T any](name string, f func(T)) ForeachFunc[T] {
	in := registry.AddType[T]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Foreach, In: in, Out: in,
		Each: func(src any) {
			for r := range src.(iter.Seq[T]) {
				f(r)
			}
		}})
	return ForeachFunc[T]{name}
}
