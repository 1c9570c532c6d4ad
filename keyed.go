package stoke

import (
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shuffle"
)

// RegisterReduceByKey registers a ReduceByKey operator merging values with f
// (associative and commutative: it also combines on the map side).
func RegisterReduceByKey[K comparable, V any](name string, f func(V, V) V) ReduceByKeyFunc[K, V] {
	t := registry.AddType[KV[K, V]]()
	ops := shuffle.AggOps[V, V]{Create: func(v V) V { return v }, Merge: f, Combine: f}
	registry.AddShuffle(&registry.Shuffle{Name: name, Sides: 1, In: []string{t}, Out: t,
		Write: func(env *registry.ShuffleEnv, _ int, in any, n int, _ []byte) (int64, error) {
			agg := shuffle.NewAggregator[K](env, ops, n)
			defer agg.Close()
			var count int64
			for r := range in.(iter.Seq[KV[K, V]]) {
				count++
				if err := agg.Add(r.Key, r.Value); err != nil {
					return count, err
				}
			}
			return count, shuffle.WriteEntries(env, agg.Entries(), n, entryKV[K, V])
		},
		Read: func(env *registry.ShuffleEnv, sides []registry.BlockIter, _ []byte) (any, error) {
			agg := shuffle.NewAggregator[K](env, ops, 0)
			var err error
			if ferr := shuffle.ForEachRecord(sides[0], func(r *KV[K, V]) {
				if err == nil {
					err = agg.AddCombined(r.Key, r.Value, 0)
				}
			}); ferr != nil {
				agg.Close()
				return nil, ferr
			}
			if err != nil {
				agg.Close()
				return nil, err
			}
			return entriesSeq(agg, entryKV[K, V]), nil
		}})
	return ReduceByKeyFunc[K, V]{name}
}

// RegisterGroupByKey registers a GroupByKey operator for KV[K,V].
func RegisterGroupByKey[K comparable, V any](name string) GroupByKeyOp[K, V] {
	in := registry.AddType[KV[K, V]]()
	out := registry.AddType[KV[K, []V]]()
	ops := groupOps[V]()
	registry.AddShuffle(&registry.Shuffle{Name: name, Sides: 1, In: []string{in}, Out: out,
		Write: writeByKey[K, V],
		Read: func(env *registry.ShuffleEnv, sides []registry.BlockIter, _ []byte) (any, error) {
			agg := shuffle.NewAggregator[K](env, ops, 0)
			if err := addAll(agg, sides[0]); err != nil {
				return nil, err
			}
			return entriesSeq(agg, entryKV[K, []V]), nil
		}})
	return GroupByKeyOp[K, V]{name}
}

func groupOps[V any]() shuffle.AggOps[V, []V] {
	return shuffle.AggOps[V, []V]{
		Create:  func(v V) []V { return []V{v} },
		Merge:   func(c []V, v V) []V { return append(c, v) },
		Combine: func(a, b []V) []V { return append(a, b...) },
		Grows:   true,
	}
}

// RegisterJoin registers an inner join of KV[K,V] with KV[K,W].
func RegisterJoin[K comparable, V, W any](name string) JoinOp[K, V, W] {
	left := registry.AddType[KV[K, V]]()
	right := registry.AddType[KV[K, W]]()
	out := registry.AddType[KV[K, Joined[V, W]]]()
	ops := shuffle.AggOps[cogroupValue[V, W], cogrouped[V, W]]{
		Create: func(v cogroupValue[V, W]) cogrouped[V, W] { return cogrouped[V, W]{}.add(v) },
		Merge:  func(c cogrouped[V, W], v cogroupValue[V, W]) cogrouped[V, W] { return c.add(v) },
		Combine: func(a, b cogrouped[V, W]) cogrouped[V, W] {
			return cogrouped[V, W]{L: append(a.L, b.L...), R: append(a.R, b.R...)}
		},
		Grows: true,
	}
	registry.AddShuffle(&registry.Shuffle{Name: name, Sides: 2, In: []string{left, right}, Out: out,
		Write: func(env *registry.ShuffleEnv, side int, in any, n int, params []byte) (int64, error) {
			if side == 0 {
				return writeByKey[K, V](env, 0, in, n, params)
			}
			return writeByKey[K, W](env, 1, in, n, params)
		},
		Read: func(env *registry.ShuffleEnv, sides []registry.BlockIter, _ []byte) (any, error) {
			agg := shuffle.NewAggregator[K](env, ops, 0)
			var err error
			add := func(k K, v cogroupValue[V, W]) {
				if err == nil {
					err = agg.Add(k, v)
				}
			}
			ferr := shuffle.ForEachRecord(sides[0], func(r *KV[K, V]) { add(r.Key, cogroupValue[V, W]{Left: true, L: r.Value}) })
			if ferr == nil {
				ferr = shuffle.ForEachRecord(sides[1], func(r *KV[K, W]) { add(r.Key, cogroupValue[V, W]{R: r.Value}) })
			}
			if ferr == nil {
				ferr = err
			}
			if ferr != nil {
				agg.Close()
				return nil, ferr
			}
			return iter.Seq[KV[K, Joined[V, W]]](func(yield func(KV[K, Joined[V, W]]) bool) {
				defer agg.Close()
				for e, err := range agg.Entries() {
					if err != nil {
						registry.Abort(err)
					}
					for _, l := range e.Val.L {
						for _, r := range e.Val.R {
							if !yield(KV[K, Joined[V, W]]{Key: e.Key, Value: Joined[V, W]{Left: l, Right: r}}) {
								return
							}
						}
					}
				}
			}), nil
		}})
	return JoinOp[K, V, W]{name}
}

// cogroupValue is one value of either side of a cogroup.
type cogroupValue[V, W any] struct {
	Left bool
	L    V
	R    W
}

// cogrouped holds the values of one key from both sides.
type cogrouped[V, W any] struct {
	L []V
	R []W
}

func (c cogrouped[V, W]) add(v cogroupValue[V, W]) cogrouped[V, W] {
	if v.Left {
		c.L = append(c.L, v.L)
	} else {
		c.R = append(c.R, v.R)
	}
	return c
}

// writeByKey is the map side of the shuffles that do not combine.
func writeByKey[K comparable, V any](env *registry.ShuffleEnv, _ int, in any, n int, _ []byte) (int64, error) {
	return shuffle.Partition(env, in.(iter.Seq[KV[K, V]]), func(r *KV[K, V]) K { return r.Key }, n)
}

// addAll feeds every record of one side into an aggregation.
func addAll[K comparable, V, C any](agg *shuffle.Aggregator[K, V, C], blocks registry.BlockIter) error {
	var err error
	ferr := shuffle.ForEachRecord(blocks, func(r *KV[K, V]) {
		if err == nil {
			err = agg.Add(r.Key, r.Value)
		}
	})
	if ferr == nil {
		ferr = err
	}
	if ferr != nil {
		agg.Close()
	}
	return ferr
}

func entryKV[K comparable, C any](e *shuffle.Entry[K, C]) KV[K, C] {
	return KV[K, C]{Key: e.Key, Value: e.Val}
}

// entriesSeq yields an aggregation's result as records and frees it at the
// end; an error reading its spill runs fails the task.
func entriesSeq[K comparable, V, C, R any](agg *shuffle.Aggregator[K, V, C], rec func(*shuffle.Entry[K, C]) R) iter.Seq[R] {
	return func(yield func(R) bool) {
		defer agg.Close()
		for e, err := range agg.Entries() {
			if err != nil {
				registry.Abort(err)
			}
			if !yield(rec(e)) {
				return
			}
		}
	}
}
