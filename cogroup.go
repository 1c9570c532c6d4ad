package stoke

import (
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shuffle"
)

// CoGrouped holds the values of one key from both sides of a CoGroup; a
// side without the key has none.
type CoGrouped[V, W any] struct {
	Left  []V
	Right []W
}

// CoGroupOp groups the values of each key of KV[K,V] and KV[K,W] together.
type CoGroupOp[K comparable, V, W any] struct{ name string }

// RegisterCoGroup registers a CoGroup of KV[K,V] with KV[K,W].
func RegisterCoGroup[K comparable, V, W any](name string) CoGroupOp[K, V, W] {
	registerTwoSided(name, func(k K, g *CoGrouped[V, W], yield func(KV[K, CoGrouped[V, W]]) bool) bool {
		return yield(KV[K, CoGrouped[V, W]]{Key: k, Value: *g})
	})
	return CoGroupOp[K, V, W]{name}
}

// CoGroup gathers, for every key of either side, the values both sides
// hold for it, into numPartitions partitions (0: stoke.default.parallelism if set, else as many as the largest input has).
func CoGroup[K comparable, V, W any](l Dataset[KV[K, V]], r Dataset[KV[K, W]], op CoGroupOp[K, V, W], numPartitions int) Dataset[KV[K, CoGrouped[V, W]]] {
	return shuffled[KV[K, CoGrouped[V, W]]](l.sc, op.name, "cogroup", numPartitions, l.node, r.node)
}

// registerTwoSided registers a shuffle of KV[K,V] (side 0) and KV[K,W]
// (side 1) whose reduce side cogroups the values of each key and hands
// each group to emit, which yields the output records (false: stop).
func registerTwoSided[K comparable, V, W, R any](name string, emit func(k K, g *CoGrouped[V, W], yield func(KV[K, R]) bool) bool) {
	left := registry.AddType[KV[K, V]]()
	right := registry.AddType[KV[K, W]]()
	out := registry.AddType[KV[K, R]]()
	registry.AddShuffle(&registry.Shuffle{Name: name, Sides: 2, In: []string{left, right}, Out: out,
		Write: func(env *registry.ShuffleEnv, side int, in any, n int, params []byte) (int64, error) {
			if side == 0 {
				return writeByKey[K, V](env, 0, in, n, params)
			}
			return writeByKey[K, W](env, 1, in, n, params)
		},
		Read: func(env *registry.ShuffleEnv, sides []registry.BlockIter, _ []byte) (any, error) {
			agg, err := cogroupSides[K, V, W](env, sides)
			if err != nil {
				return nil, err
			}
			return iter.Seq[KV[K, R]](func(yield func(KV[K, R]) bool) {
				defer agg.Close()
				for e, err := range agg.Entries() {
					if err != nil {
						registry.Abort(err)
					}
					if !emit(e.Key, &e.Val, yield) {
						return
					}
				}
			}), nil
		}})
}

// cogroupValue is one value of either side of a cogroup.
type cogroupValue[V, W any] struct {
	Left bool
	L    V
	R    W
}

func cogroupOps[V, W any]() shuffle.AggOps[cogroupValue[V, W], CoGrouped[V, W]] {
	add := func(c CoGrouped[V, W], v cogroupValue[V, W]) CoGrouped[V, W] {
		if v.Left {
			c.Left = append(c.Left, v.L)
		} else {
			c.Right = append(c.Right, v.R)
		}
		return c
	}
	return shuffle.AggOps[cogroupValue[V, W], CoGrouped[V, W]]{
		Create: func(v cogroupValue[V, W]) CoGrouped[V, W] { return add(CoGrouped[V, W]{}, v) },
		Merge:  add,
		Combine: func(a, b CoGrouped[V, W]) CoGrouped[V, W] {
			return CoGrouped[V, W]{Left: append(a.Left, b.Left...), Right: append(a.Right, b.Right...)}
		},
		Grows: true,
	}
}

// cogroupSides reads both sides of a two-sided shuffle into one
// aggregation of the values by key, within the task's execution memory.
func cogroupSides[K comparable, V, W any](env *registry.ShuffleEnv, sides []registry.BlockIter) (*shuffle.Aggregator[K, cogroupValue[V, W], CoGrouped[V, W]], error) {
	agg := shuffle.NewAggregator[K](env, cogroupOps[V, W](), 0)
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
	return agg, nil
}
