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
// mentions (for example one only parallelized and collected).
func RegisterType[T any]() { registry.AddType[T]() }

// RegisterMap registers f under name.
func RegisterMap[T, U any](name string, f func(T) U) MapFunc[T, U] {
	in, out := registry.AddType[T](), registry.AddType[U]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Map, In: in, Out: out,
		Apply: func(src iter.Seq[any]) iter.Seq[any] {
			return func(yield func(any) bool) {
				for r := range src {
					if !yield(f(r.(T))) {
						return
					}
				}
			}
		}})
	return MapFunc[T, U]{name}
}

// RegisterFlatMap registers f under name.
func RegisterFlatMap[T, U any](name string, f func(T) []U) FlatMapFunc[T, U] {
	in, out := registry.AddType[T](), registry.AddType[U]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.FlatMap, In: in, Out: out,
		Apply: func(src iter.Seq[any]) iter.Seq[any] {
			return func(yield func(any) bool) {
				for r := range src {
					for _, u := range f(r.(T)) {
						if !yield(u) {
							return
						}
					}
				}
			}
		}})
	return FlatMapFunc[T, U]{name}
}

// RegisterFilter registers f under name.
func RegisterFilter[T any](name string, f func(T) bool) FilterFunc[T] {
	in := registry.AddType[T]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Filter, In: in, Out: in,
		Apply: func(src iter.Seq[any]) iter.Seq[any] {
			return func(yield func(any) bool) {
				for r := range src {
					if f(r.(T)) && !yield(r) {
						return
					}
				}
			}
		}})
	return FilterFunc[T]{name}
}

// RegisterMapPartitions registers f, which transforms a whole partition.
func RegisterMapPartitions[T, U any](name string, f func(iter.Seq[T]) iter.Seq[U]) MapPartitionsFunc[T, U] {
	in, out := registry.AddType[T](), registry.AddType[U]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.MapPartitions, In: in, Out: out,
		Apply: func(src iter.Seq[any]) iter.Seq[any] {
			typed := func(yield func(T) bool) {
				for r := range src {
					if !yield(r.(T)) {
						return
					}
				}
			}
			return func(yield func(any) bool) {
				for u := range f(typed) {
					if !yield(u) {
						return
					}
				}
			}
		}})
	return MapPartitionsFunc[T, U]{name}
}

// RegisterReduce registers an associative, commutative f for Reduce.
func RegisterReduce[T any](name string, f func(T, T) T) ReduceFunc[T] {
	in := registry.AddType[T]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Reduce, In: in, Out: in,
		Combine: func(a, b any) any { return f(a.(T), b.(T)) }})
	return ReduceFunc[T]{name, f}
}

// RegisterForeach registers f for Foreach.
func RegisterForeach[T any](name string, f func(T)) ForeachFunc[T] {
	in := registry.AddType[T]()
	registry.AddFunc(&registry.Func{Name: name, Kind: registry.Foreach, In: in, Out: in,
		Each: func(r any) { f(r.(T)) }})
	return ForeachFunc[T]{name}
}

// RegisterReduceByKey registers a ReduceByKey operator merging values with f
// (associative and commutative: it also combines on the map side).
func RegisterReduceByKey[K comparable, V any](name string, f func(V, V) V) ReduceByKeyFunc[K, V] {
	t := registry.AddType[KV[K, V]]()
	registry.AddShuffle(&registry.Shuffle{Name: name, Sides: 1, In: []string{t}, Out: t,
		Write: func(_ int, src iter.Seq[any], n int) ([][]byte, int64, error) {
			type bucket struct {
				idx  map[K]int
				recs []KV[K, V]
			}
			bs := make([]bucket, n)
			var count int64
			for r := range src {
				kv := r.(KV[K, V])
				count++
				b := &bs[registry.Partition(kv.Key, n)]
				if b.idx == nil {
					b.idx = map[K]int{}
				}
				if i, ok := b.idx[kv.Key]; ok {
					b.recs[i].Value = f(b.recs[i].Value, kv.Value)
				} else {
					b.idx[kv.Key] = len(b.recs)
					b.recs = append(b.recs, kv)
				}
			}
			return encodeBuckets(bs, func(b bucket) []KV[K, V] { return b.recs }, count)
		},
		Read: func(sides [][][]byte) (iter.Seq[any], error) {
			idx := map[K]int{}
			var out []KV[K, V]
			for _, block := range sides[0] {
				recs, err := registry.DecodeSlice[KV[K, V]](block)
				if err != nil {
					return nil, err
				}
				for _, kv := range recs {
					if i, ok := idx[kv.Key]; ok {
						out[i].Value = f(out[i].Value, kv.Value)
					} else {
						idx[kv.Key] = len(out)
						out = append(out, kv)
					}
				}
			}
			return seqOf(out), nil
		}})
	return ReduceByKeyFunc[K, V]{name}
}

// RegisterGroupByKey registers a GroupByKey operator for KV[K,V].
func RegisterGroupByKey[K comparable, V any](name string) GroupByKeyOp[K, V] {
	in := registry.AddType[KV[K, V]]()
	out := registry.AddType[KV[K, []V]]()
	registry.AddShuffle(&registry.Shuffle{Name: name, Sides: 1, In: []string{in}, Out: out,
		Write: partitionWriter[K, V](),
		Read: func(sides [][][]byte) (iter.Seq[any], error) {
			idx := map[K]int{}
			var groups []KV[K, []V]
			for _, block := range sides[0] {
				recs, err := registry.DecodeSlice[KV[K, V]](block)
				if err != nil {
					return nil, err
				}
				for _, kv := range recs {
					i, ok := idx[kv.Key]
					if !ok {
						i = len(groups)
						idx[kv.Key] = i
						groups = append(groups, KV[K, []V]{Key: kv.Key})
					}
					groups[i].Value = append(groups[i].Value, kv.Value)
				}
			}
			return seqOf(groups), nil
		}})
	return GroupByKeyOp[K, V]{name}
}

// RegisterJoin registers an inner join of KV[K,V] with KV[K,W].
func RegisterJoin[K comparable, V, W any](name string) JoinOp[K, V, W] {
	left := registry.AddType[KV[K, V]]()
	right := registry.AddType[KV[K, W]]()
	out := registry.AddType[KV[K, Joined[V, W]]]()
	writeLeft, writeRight := partitionWriter[K, V](), partitionWriter[K, W]()
	registry.AddShuffle(&registry.Shuffle{Name: name, Sides: 2, In: []string{left, right}, Out: out,
		Write: func(side int, src iter.Seq[any], n int) ([][]byte, int64, error) {
			if side == 0 {
				return writeLeft(0, src, n)
			}
			return writeRight(1, src, n)
		},
		Read: func(sides [][][]byte) (iter.Seq[any], error) {
			lefts := map[K][]V{}
			for _, block := range sides[0] {
				recs, err := registry.DecodeSlice[KV[K, V]](block)
				if err != nil {
					return nil, err
				}
				for _, kv := range recs {
					lefts[kv.Key] = append(lefts[kv.Key], kv.Value)
				}
			}
			var joined []KV[K, Joined[V, W]]
			for _, block := range sides[1] {
				recs, err := registry.DecodeSlice[KV[K, W]](block)
				if err != nil {
					return nil, err
				}
				for _, kv := range recs {
					for _, v := range lefts[kv.Key] {
						joined = append(joined, KV[K, Joined[V, W]]{Key: kv.Key, Value: Joined[V, W]{Left: v, Right: kv.Value}})
					}
				}
			}
			return seqOf(joined), nil
		}})
	return JoinOp[K, V, W]{name}
}

// partitionWriter splits KV records into n buckets by key, without combining.
func partitionWriter[K comparable, V any]() func(int, iter.Seq[any], int) ([][]byte, int64, error) {
	return func(_ int, src iter.Seq[any], n int) ([][]byte, int64, error) {
		bs := make([][]KV[K, V], n)
		var count int64
		for r := range src {
			kv := r.(KV[K, V])
			count++
			p := registry.Partition(kv.Key, n)
			bs[p] = append(bs[p], kv)
		}
		return encodeBuckets(bs, func(b []KV[K, V]) []KV[K, V] { return b }, count)
	}
}

func encodeBuckets[B any, R any](bs []B, recs func(B) []R, count int64) ([][]byte, int64, error) {
	out := make([][]byte, len(bs))
	for i, b := range bs {
		rs := recs(b)
		if len(rs) == 0 {
			continue
		}
		data, err := registry.EncodeSlice(rs)
		if err != nil {
			return nil, 0, err
		}
		out[i] = data
	}
	return out, count, nil
}

func seqOf[T any](recs []T) iter.Seq[any] {
	return func(yield func(any) bool) {
		for _, r := range recs {
			if !yield(r) {
				return
			}
		}
	}
}
