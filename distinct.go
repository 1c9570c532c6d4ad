package stoke

import (
	"fmt"

	"github.com/stoke-run/stoke/internal/plan"
	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shuffle"
)

// Distinct keys records by their value, compared with ==, which needs T to
// be comparable. That constraint cannot reach the registry's built-ins (they
// are registered for every element type, comparable or not), so Distinct's
// shuffle is registered per type by RegisterDistinct, like the other keyed
// operators. Keying on each record's codec encoding instead would need no
// registration but is wrong across processes: a gob encoding carries type
// ids that depend on the order in which a process first used its types, so
// equal records from two executors could hash to different partitions.

func init() {
	// The element types every application may use without registering.
	RegisterDistinct[string]()
	RegisterDistinct[int]()
	RegisterDistinct[int32]()
	RegisterDistinct[int64]()
	RegisterDistinct[uint64]()
	RegisterDistinct[float64]()
	RegisterDistinct[bool]()
}

func distinctOp(typ string) string { return "stoke.distinct[" + typ + "]" }

// RegisterDistinct registers the shuffle Distinct uses on datasets of T.
// Call it at init, in a package-level variable initializer or an init
// function, like every registration; calling it again for the same T does
// nothing. Distinct works without it on string, int, int32, int64, uint64,
// float64 and bool.
func RegisterDistinct[T comparable]() {
	typ := registry.AddType[T]()
	if _, err := registry.LookupShuffle(distinctOp(typ)); err == nil {
		return
	}
	keep := func(c, _ bool) bool { return c }
	ops := shuffle.AggOps[bool, bool]{Create: func(bool) bool { return true }, Merge: keep, Combine: keep}
	key := func(e *shuffle.Entry[T, bool]) T { return e.Key }
	registry.AddShuffle(&registry.Shuffle{Name: distinctOp(typ), Sides: 1, In: []string{typ}, Out: typ,
		// The map side drops the duplicates it sees (spilling what does
		// not fit) and sends each record to the partition of its hash.
		Write: func(env *registry.ShuffleEnv, _ int, in any, n int, _ []byte) (int64, error) {
			src, err := registry.Seq[T](in)
			if err != nil {
				return 0, err
			}
			agg := shuffle.NewAggregator[T](env, ops, n)
			defer agg.Close()
			var count int64
			for r := range src {
				count++
				if err := agg.Add(r, true); err != nil {
					return count, err
				}
			}
			return count, shuffle.WriteEntries(env, agg.Entries(), n, key)
		},
		Read: func(env *registry.ShuffleEnv, sides []registry.BlockIter, _ []byte) (any, error) {
			agg := shuffle.NewAggregator[T](env, ops, 0)
			var err error
			ferr := shuffle.ForEachRecord(sides[0], func(r *T) {
				if err == nil {
					err = agg.Add(*r, true)
				}
			})
			if ferr == nil {
				ferr = err
			}
			if ferr != nil {
				agg.Close()
				return nil, ferr
			}
			return entriesSeq(agg, key), nil
		}})
}

// Distinct is d without duplicate records, in n partitions (0: as many as
// d has), through a shuffle. Records are equal when == says so: a NaN is
// never equal to itself (so each stays), and records holding pointers
// compare by address, which means nothing once records cross processes
// (key such records by value with ReduceByKey instead). The order of the
// result is unspecified. T must have a distinct operator (RegisterDistinct;
// the basic types have one): without it, or with n < 0, the result is a
// dataset whose jobs fail (see Err).
func Distinct[T comparable](d Dataset[T], n int) Dataset[T] {
	typ := d.node.Type
	if n < 0 {
		return invalid(d, fmt.Errorf("Distinct into %d partitions: the number of partitions must be at least 0 (0: as many as the dataset has)", n))
	}
	if _, err := registry.LookupShuffle(distinctOp(typ)); err != nil {
		return invalid(d, fmt.Errorf("Distinct of %s: the type has no distinct operator; call stoke.RegisterDistinct[%s]() in a package-level variable", typ, typ))
	}
	if n == 0 {
		n = d.node.NumPartitions
	}
	return Dataset[T]{d.sc, d.sc.node(&plan.Node{Kind: plan.Shuffle, Op: distinctOp(typ), Parents: []*plan.Node{d.node},
		NumPartitions: n, Type: typ, Name: "distinct"})}
}
