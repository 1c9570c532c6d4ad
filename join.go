package stoke

import (
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shuffle"
)

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
	registerJoin(name, hashJoin[V, W, Joined[V, W]]{
		mk: func(l *V, r *W) Joined[V, W] { return Joined[V, W]{Left: *l, Right: *r} },
	}, func(k K, g *CoGrouped[V, W], yield func(KV[K, Joined[V, W]]) bool) bool {
		return pairs(k, g.Left, g.Right, yield)
	})
	registerJoin(name+leftOuterSuffix, hashJoin[V, W, Joined[V, Opt[W]]]{
		mk:        func(l *V, r *W) Joined[V, Opt[W]] { return Joined[V, Opt[W]]{Left: *l, Right: opt(r)} },
		leftAlone: true,
	}, func(k K, g *CoGrouped[V, W], yield func(KV[K, Joined[V, Opt[W]]]) bool) bool {
		return pairs(k, g.Left, opts(g.Right, len(g.Left) > 0), yield)
	})
	registerJoin(name+rightOuterSuffix, hashJoin[V, W, Joined[Opt[V], W]]{
		mk:         func(l *V, r *W) Joined[Opt[V], W] { return Joined[Opt[V], W]{Left: opt(l), Right: *r} },
		rightAlone: true,
	}, func(k K, g *CoGrouped[V, W], yield func(KV[K, Joined[Opt[V], W]]) bool) bool {
		return pairs(k, opts(g.Left, len(g.Right) > 0), g.Right, yield)
	})
	registerJoin(name+fullOuterSuffix, hashJoin[V, W, Joined[Opt[V], Opt[W]]]{
		mk:        func(l *V, r *W) Joined[Opt[V], Opt[W]] { return Joined[Opt[V], Opt[W]]{Left: opt(l), Right: opt(r)} },
		leftAlone: true, rightAlone: true,
	}, func(k K, g *CoGrouped[V, W], yield func(KV[K, Joined[Opt[V], Opt[W]]]) bool) bool {
		return pairs(k, opts(g.Left, true), opts(g.Right, true), yield)
	})
	return JoinOp[K, V, W]{name}
}

func opt[T any](p *T) Opt[T] {
	if p == nil {
		return Opt[T]{}
	}
	return Some(*p)
}

// hashJoin is how one kind of join pairs values: mk makes an output value
// from a left and a right value (nil: absent), and the flags say whether a
// value without a match on the other side is still output.
type hashJoin[V, W, R any] struct {
	mk                    func(l *V, r *W) R
	leftAlone, rightAlone bool
}

// registerJoin registers a join whose reduce side builds a table of the
// left side's values by key and streams the right side past it, so only
// the left side is held (put the smaller dataset on the left). When the
// left side does not fit in execution memory it cogroups both sides with
// spilling instead (emit pairs each cogrouped key).
func registerJoin[K comparable, V, W, R any](name string, j hashJoin[V, W, R], emit func(k K, g *CoGrouped[V, W], yield func(KV[K, R]) bool) bool) {
	registerTwoSided(name, emit)
	op, err := registry.LookupShuffle(name)
	if err != nil {
		panic(err)
	}
	cogroupRead := op.Read
	op.Read = func(env *registry.ShuffleEnv, sides []registry.BlockIter, params []byte) (any, error) {
		table := shuffle.NewAggregator[K](env, groupOps[V](), 0)
		if err := addAll(table, sides[0]); err != nil {
			return nil, err
		}
		if table.Spilled() > 0 {
			table.Close()
			return cogroupRead(env, sides, params)
		}
		return iter.Seq[KV[K, R]](func(yield func(KV[K, R]) bool) {
			defer table.Close()
			var matched []bool
			if j.leftAlone {
				matched = make([]bool, table.Len())
			}
			more := true
			err := registry.EachRecord(sides[1], func(r *KV[K, W]) bool {
				i, ok := table.Lookup(r.Key)
				if !ok {
					if j.rightAlone {
						more = yield(KV[K, R]{Key: r.Key, Value: j.mk(nil, &r.Value)})
					}
					return more
				}
				if matched != nil {
					matched[i] = true
				}
				ls := table.At(i).Val
				for li := range ls {
					if more = yield(KV[K, R]{Key: r.Key, Value: j.mk(&ls[li], &r.Value)}); !more {
						return false
					}
				}
				return true
			})
			if err != nil {
				registry.Abort(err)
			}
			for i := 0; more && i < len(matched); i++ {
				if matched[i] {
					continue
				}
				e := table.At(i)
				for li := range e.Val {
					if more = yield(KV[K, R]{Key: e.Key, Value: j.mk(&e.Val[li], nil)}); !more {
						break
					}
				}
			}
		}), nil
	}
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
