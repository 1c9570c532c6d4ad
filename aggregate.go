package stoke

import (
	"context"

	"github.com/stoke-run/stoke/internal/shuffle"
)

// AggregateOp aggregates the values V of each key into a U.
type AggregateOp[K comparable, V, U any] struct{ name string }

// RegisterAggregateByKey registers an AggregateByKey operator: each key's
// values are folded into zero() with seq, on the map side per task, and
// the partial results of all tasks merged with comb. zero must return a
// fresh value each call (seq and comb may modify and return their first
// argument).
func RegisterAggregateByKey[K comparable, V, U any](name string, zero func() U, seq func(U, V) U, comb func(U, U) U) AggregateOp[K, V, U] {
	registerCombining[K](name, shuffle.AggOps[V, U]{
		Create:  func(v V) U { return seq(zero(), v) },
		Merge:   seq,
		Combine: comb,
		// A U that refers to memory (a slice, a map) may grow with every
		// value: count each toward the task's memory.
		Grows: shuffle.HoldsReferences[U](),
	})
	return AggregateOp[K, V, U]{name}
}

// AggregateByKey aggregates the values of each key with op into
// numPartitions partitions (0: stoke.default.parallelism if set, else as many as the largest input has), combining on the
// map side.
func AggregateByKey[K comparable, V, U any](d Dataset[KV[K, V]], op AggregateOp[K, V, U], numPartitions int) Dataset[KV[K, U]] {
	return shuffled[KV[K, U]](d.sc, op.name, "aggregateByKey", numPartitions, d.node)
}

// CountByKeyOp counts the records of each key of KV[K,V].
type CountByKeyOp[K comparable, V any] struct{ name string }

// RegisterCountByKey registers a CountByKey operator.
func RegisterCountByKey[K comparable, V any](name string) CountByKeyOp[K, V] {
	registerCombining[K](name, shuffle.AggOps[V, int64]{
		Create:  func(V) int64 { return 1 },
		Merge:   func(c int64, _ V) int64 { return c + 1 },
		Combine: func(a, b int64) int64 { return a + b },
	})
	return CountByKeyOp[K, V]{name}
}

// CountByKey counts the records of each key and returns the counts to the
// driver (a shuffle combining counts on the map side, then a collect:
// every distinct key comes to the driver, so use it when there are few).
func CountByKey[K comparable, V any](ctx context.Context, d Dataset[KV[K, V]], op CountByKeyOp[K, V], opts ...JobOption) (map[K]int64, error) {
	counts := shuffled[KV[K, int64]](d.sc, op.name, "countByKey", d.NumPartitions(), d.node)
	recs, err := Collect(ctx, counts, opts...)
	if err != nil {
		return nil, err
	}
	out := make(map[K]int64, len(recs))
	for _, r := range recs {
		out[r.Key] += r.Value
	}
	return out, nil
}
