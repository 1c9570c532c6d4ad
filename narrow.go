package stoke

import (
	"context"
	"fmt"
	"math"

	"github.com/stoke-run/stoke/driver"
	"github.com/stoke-run/stoke/internal/plan"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Invalid arguments. The operators that return a Dataset do not return an
// error: given an invalid argument (a negative number of partitions, a
// sample fraction out of range) they return a dataset that cannot be
// computed. Its Err, and that of every dataset derived from it, says what
// was wrong, and every job over it fails at once with that error, before
// any task runs. Actions (Take, First, ZipWithIndex's count) return their
// own argument errors directly.

// Err is why the dataset cannot be computed (an operator in its lineage was
// given an invalid argument), or nil.
func (d Dataset[T]) Err() error { return plan.FirstErr(d.node) }

// invalid is d's lineage extended by a node that refuses every job with
// err (a copy of d's node, so its partitions and type are unchanged).
func invalid[T any](d Dataset[T], err error) Dataset[T] {
	n := &plan.Node{Kind: plan.Narrow, Parents: []*plan.Node{d.node}, NumPartitions: d.node.NumPartitions, Type: d.node.Type, Name: "invalid", Err: err}
	return Dataset[T]{d.sc, d.sc.node(n)}
}

// Indexed is a record with its position in its dataset (ZipWithIndex).
type Indexed[T any] = registry.Indexed[T]

// Union is the partitions of every dataset, in order: no shuffle, and as
// many partitions as all of them together. Unions of unions are flattened.
// The same dataset may appear more than once (its records then do too). It
// panics when given no dataset or datasets of different Contexts: both are
// mistakes in the program, not in its data.
func Union[T any](ds ...Dataset[T]) Dataset[T] {
	if len(ds) == 0 {
		panic("stoke.Union needs at least one dataset")
	}
	sc := ds[0].sc
	var parents []*plan.Node
	total := 0
	for i, d := range ds {
		if d.sc != sc {
			panic(fmt.Sprintf("stoke.Union: dataset %d belongs to another Context", i))
		}
		if n := d.node; n.Kind == plan.Union && n.Persist == 0 && !n.NoSpeculation && n.Err == nil {
			parents = append(parents, d.node.Parents...)
		} else {
			parents = append(parents, d.node)
		}
		total += d.node.NumPartitions
	}
	if len(ds) == 1 {
		return ds[0]
	}
	return Dataset[T]{sc, sc.node(&plan.Node{Kind: plan.Union, Parents: parents, NumPartitions: total, Type: ds[0].node.Type, Name: "union"})}
}

// Coalesce reduces the number of partitions to n without a shuffle: each
// new partition reads a group of d's partitions, one after the other. The
// groups are runs of adjacent partitions, as even as they can be, so the
// order of records is kept, unless d's partitions prefer hosts (splits of
// HDFS files): then partitions that prefer a common host are grouped, the
// groups balanced in size, and records keep their order within each
// partition of d only. When d has n partitions or fewer, it is d itself
// (Repartition makes more). n < 1 gives a dataset whose jobs fail (see
// Err).
func Coalesce[T any](d Dataset[T], n int) Dataset[T] {
	if n < 1 {
		return invalid(d, fmt.Errorf("Coalesce into %d partitions: the number of partitions must be at least 1", n))
	}
	if n >= d.node.NumPartitions {
		return d
	}
	return Dataset[T]{d.sc, d.sc.node(&plan.Node{Kind: plan.Coalesce, Parents: []*plan.Node{d.node}, NumPartitions: n, Type: d.node.Type,
		Groups: plan.CoalesceGroups(d.node, n), Name: "coalesce"})}
}

// Repartition shuffles d into n partitions of nearly equal sizes: each
// partition of d deals its records round-robin over the n new ones,
// starting at a place fixed by its index (so that small partitions do not
// all fill the first ones). Records keep no order. n < 1 gives a dataset
// whose jobs fail (see Err).
func Repartition[T any](d Dataset[T], n int) Dataset[T] {
	if n < 1 {
		return invalid(d, fmt.Errorf("Repartition into %d partitions: the number of partitions must be at least 1", n))
	}
	typ := d.node.Type
	starts := make([][]byte, d.node.NumPartitions)
	for p := range starts {
		starts[p] = registry.EncodeInt(registry.RoundRobinStart(p, n))
	}
	dealt := d.sc.node(&plan.Node{Kind: plan.Narrow, Op: registry.RoundRobinFunc(typ), Parents: []*plan.Node{d.node},
		NumPartitions: d.node.NumPartitions, Type: registry.TypeName[Indexed[T]](), StepParams: starts, Name: "repartition (map side)"})
	return Dataset[T]{d.sc, d.sc.node(&plan.Node{Kind: plan.Shuffle, Op: registry.RepartitionOp(typ), Parents: []*plan.Node{dealt},
		NumPartitions: n, Type: typ, Name: "repartition"})}
}

// Sample is a random sample of d. Without replacement each record is kept
// with probability fraction (in [0,1]); with replacement each record
// appears a Poisson-distributed number of times of mean fraction (>= 0),
// so the sample holds about fraction × Count(d) records either way, never
// an exact number. Partition p draws from its own generator seeded with
// seed+p: the same seed gives the same sample of the same data. An invalid
// fraction gives a dataset whose jobs fail (see Err).
func Sample[T any](d Dataset[T], withReplacement bool, fraction float64, seed int64) Dataset[T] {
	if err := (registry.SampleParams{WithReplacement: withReplacement, Fraction: fraction}).Check(); err != nil {
		return invalid(d, fmt.Errorf("Sample: %w", err))
	}
	params := make([][]byte, d.node.NumPartitions)
	for p := range params {
		params[p] = registry.SampleParams{WithReplacement: withReplacement, Fraction: fraction, Seed: seed + int64(p)}.Encode()
	}
	return Dataset[T]{d.sc, d.sc.node(&plan.Node{Kind: plan.Narrow, Op: registry.SampleFunc(d.node.Type), Parents: []*plan.Node{d.node},
		NumPartitions: d.node.NumPartitions, Type: d.node.Type, StepParams: params, Name: "sample"})}
}

// onPartitions runs a job on some partitions only.
func onPartitions(parts []int) JobOption {
	return func(o *driver.JobOptions) { o.Partitions = parts }
}

// Take returns the first n records of d, in partition order. Like Spark it
// scans partitions incrementally: the first partition alone, then each
// round stoke.rdd.limit.scaleUpFactor (default 4) times as many partitions
// as were scanned so far, fewer when the records found so far suggest
// fewer suffice, until it has n records or has read every partition. Each
// task stops reading its partition once it has the records still missing.
// Each round is a job. n < 0 is an error; n == 0 runs no job.
func Take[T any](ctx context.Context, d Dataset[T], n int, opts ...JobOption) ([]T, error) {
	if n < 0 {
		return nil, fmt.Errorf("Take(%d): the number of records must be at least 0", n)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	if n == 0 {
		return []T{}, nil
	}
	factor, err := d.sc.d.Conf().Int("stoke.rdd.limit.scaleUpFactor")
	if err != nil {
		return nil, err
	}
	factor = max(factor, 2)
	total := d.node.NumPartitions
	out := []T{}
	for scanned := 0; len(out) < n && scanned < total; {
		left := n - len(out)
		try := 1
		if scanned > 0 {
			try = scanned * factor
			if len(out) > 0 {
				try = min(try, int(math.Ceil(1.5*float64(left)*float64(scanned)/float64(len(out)))))
			}
		}
		parts := make([]int, 0, min(try, total-scanned))
		for p := scanned; p < total && p < scanned+try; p++ {
			parts = append(parts, p)
		}
		limit := registry.EncodeInt(int64(left))
		params := make([][]byte, total)
		for p := range params {
			params[p] = limit
		}
		limited := Dataset[T]{d.sc, d.sc.node(&plan.Node{Kind: plan.Narrow, Op: registry.LimitFunc(d.node.Type), Parents: []*plan.Node{d.node},
			NumPartitions: total, Type: d.node.Type, StepParams: params, Name: d.node.Name})}
		results, err := run(ctx, limited, &pb.Sink{Kind: &pb.Sink_Collect{Collect: d.node.Type}}, "take", append(opts[:len(opts):len(opts)], onPartitions(parts)))
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			if results[p] == nil {
				return nil, fmt.Errorf("take: no result for partition %d", p)
			}
			recs, err := registry.DecodeSlice[T](results[p].Value)
			if err != nil {
				return nil, fmt.Errorf("take: partition %d: %w", p, err)
			}
			out = append(out, recs[:min(len(recs), n-len(out))]...)
		}
		scanned += len(parts)
	}
	return out, nil
}

// First returns the first record of d (in partition order), or ErrEmpty
// when d has none. It reads as few partitions as Take(ctx, d, 1) does.
func First[T any](ctx context.Context, d Dataset[T], opts ...JobOption) (T, error) {
	var zero T
	recs, err := Take(ctx, d, 1, opts...)
	if err != nil {
		return zero, err
	}
	if len(recs) == 0 {
		return zero, ErrEmpty
	}
	return recs[0], nil
}

// ZipWithIndex pairs every record with its index: its position in d,
// counting partition by partition from 0. Like Spark, when d has more than
// one partition it first runs a job counting the records of all partitions
// but the last (opts apply to it), so that each partition knows its first
// index; d is then computed again by the jobs over the result, so its
// records and their order must be the same every time (sort or cache a
// dataset that comes out of a shuffle in no particular order).
func ZipWithIndex[T any](ctx context.Context, d Dataset[T], opts ...JobOption) (Dataset[Indexed[T]], error) {
	if err := d.Err(); err != nil {
		return Dataset[Indexed[T]]{}, err
	}
	m := d.node.NumPartitions
	starts := make([][]byte, m)
	if m > 1 {
		parts := make([]int, m-1)
		for p := range parts {
			parts[p] = p
		}
		results, err := run(ctx, d, &pb.Sink{Kind: &pb.Sink_Count{Count: true}}, "zipWithIndex", append(opts[:len(opts):len(opts)], onPartitions(parts)))
		if err != nil {
			return Dataset[Indexed[T]]{}, fmt.Errorf("ZipWithIndex: counting the records of each partition: %w", err)
		}
		var next int64
		for p := range m {
			starts[p] = registry.EncodeInt(next)
			if p < m-1 {
				next += results[p].Count
			}
		}
	} else if m == 1 {
		starts[0] = registry.EncodeInt(0)
	}
	return Dataset[Indexed[T]]{d.sc, d.sc.node(&plan.Node{Kind: plan.Narrow, Op: registry.ZipWithIndexFunc(d.node.Type), Parents: []*plan.Node{d.node},
		NumPartitions: m, Type: registry.TypeName[Indexed[T]](), StepParams: starts, Name: "zipWithIndex"})}, nil
}
