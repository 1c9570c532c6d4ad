package stoke

// Opt is a value that may be absent: the side of an outer join that has
// no value for a key gives Opt{} (Ok false).
type Opt[T any] struct {
	Value T
	Ok    bool
}

// Some is a present Opt.
func Some[T any](v T) Opt[T] { return Opt[T]{Value: v, Ok: true} }

// Derived names of the outer joins RegisterJoin registers with the inner one.
const (
	leftOuterSuffix  = "#left"
	rightOuterSuffix = "#right"
	fullOuterSuffix  = "#full"
)

// RegisterJoin registers a join of KV[K,V] with KV[K,W]: the inner join
// and, under derived names (name+"#left", "#right", "#full"), the outer
// joins, so one handle serves Join, LeftOuterJoin, RightOuterJoin and
// FullOuterJoin.
func RegisterJoin[K comparable, V, W any](name string) JoinOp[K, V, W] {
	registerTwoSided(name, func(k K, g *CoGrouped[V, W], yield func(KV[K, Joined[V, W]]) bool) bool {
		return pairs(k, g.Left, g.Right, yield)
	})
	registerTwoSided(name+leftOuterSuffix, func(k K, g *CoGrouped[V, W], yield func(KV[K, Joined[V, Opt[W]]]) bool) bool {
		return pairs(k, g.Left, opts(g.Right, len(g.Left) > 0), yield)
	})
	registerTwoSided(name+rightOuterSuffix, func(k K, g *CoGrouped[V, W], yield func(KV[K, Joined[Opt[V], W]]) bool) bool {
		return pairs(k, opts(g.Left, len(g.Right) > 0), g.Right, yield)
	})
	registerTwoSided(name+fullOuterSuffix, func(k K, g *CoGrouped[V, W], yield func(KV[K, Joined[Opt[V], Opt[W]]]) bool) bool {
		return pairs(k, opts(g.Left, true), opts(g.Right, true), yield)
	})
	return JoinOp[K, V, W]{name}
}

// opts wraps present values; none, when the other side has values (need),
// stand for one absent value so that each value there is still paired.
func opts[T any](vs []T, need bool) []Opt[T] {
	if len(vs) == 0 {
		if need {
			return []Opt[T]{{}}
		}
		return nil
	}
	out := make([]Opt[T], len(vs))
	for i, v := range vs {
		out[i] = Some(v)
	}
	return out
}

// pairs yields every pair of a left and a right value of key k.
func pairs[K comparable, V, W any](k K, ls []V, rs []W, yield func(KV[K, Joined[V, W]]) bool) bool {
	for _, l := range ls {
		for _, r := range rs {
			if !yield(KV[K, Joined[V, W]]{Key: k, Value: Joined[V, W]{Left: l, Right: r}}) {
				return false
			}
		}
	}
	return true
}

// LeftOuterJoin pairs every value of the left side with each value of its
// key on the right, or with an absent value when the right has none.
func LeftOuterJoin[K comparable, V, W any](l Dataset[KV[K, V]], r Dataset[KV[K, W]], op JoinOp[K, V, W], numPartitions int) Dataset[KV[K, Joined[V, Opt[W]]]] {
	return shuffled[KV[K, Joined[V, Opt[W]]]](l.sc, op.name+leftOuterSuffix, "leftOuterJoin", numPartitions, l.node, r.node)
}

// RightOuterJoin pairs every value of the right side with each value of
// its key on the left, or with an absent value when the left has none.
func RightOuterJoin[K comparable, V, W any](l Dataset[KV[K, V]], r Dataset[KV[K, W]], op JoinOp[K, V, W], numPartitions int) Dataset[KV[K, Joined[Opt[V], W]]] {
	return shuffled[KV[K, Joined[Opt[V], W]]](l.sc, op.name+rightOuterSuffix, "rightOuterJoin", numPartitions, l.node, r.node)
}

// FullOuterJoin pairs the values of each key of either side, an absent
// value standing in for a side without the key.
func FullOuterJoin[K comparable, V, W any](l Dataset[KV[K, V]], r Dataset[KV[K, W]], op JoinOp[K, V, W], numPartitions int) Dataset[KV[K, Joined[Opt[V], Opt[W]]]] {
	return shuffled[KV[K, Joined[Opt[V], Opt[W]]]](l.sc, op.name+fullOuterSuffix, "fullOuterJoin", numPartitions, l.node, r.node)
}
