package stoke

import (
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shuffle"
)

// RegisterReduceByKey registers a ReduceByKey operator merging values with f
// (associative and commutative: it also combines on the map side).
func RegisterReduceByKey[K comparable, V any](name string, f func(V, V) V) ReduceByKeyFunc[K, V] {
	registerCombining[K](name, shuffle.AggOps[V, V]{Create: func(v V) V { return v }, Merge: f, Combine: f})
	return ReduceByKeyFunc[K, V]{name}
}

// registerCombining registers a shuffle of KV[K,V] into KV[K,C] that
// combines on both sides with ops.
func registerCombining[K comparable, V, C any](name string, ops shuffle.AggOps[V, C]) {
	in, out := registry.AddType[KV[K, V]](), registry.AddType[KV[K, C]]()
	sizeC := shuffle.Sizer[C]()
	registry.AddShuffle(&registry.Shuffle{Name: name, Sides: 1, In: []string{in}, Out: out,
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
			return count, shuffle.WriteEntries(env, agg.Entries(), n, entryKV[K, C])
		},
		Read: func(env *registry.ShuffleEnv, sides []registry.BlockIter, _ []byte) (any, error) {
			agg := shuffle.NewAggregator[K](env, ops, 0)
			var err error
			ferr := shuffle.ForEachRecord(sides[0], func(r *KV[K, C]) {
				if err == nil {
					var size int64
					if ops.Grows {
						size = sizeC(&r.Value)
					}
					err = agg.AddCombined(r.Key, r.Value, size)
				}
			})
			if ferr == nil {
				ferr = err
			}
			if ferr != nil {
				agg.Close()
				return nil, ferr
			}
			return entriesSeq(agg, entryKV[K, C]), nil
		}})
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
