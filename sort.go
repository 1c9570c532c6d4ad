package stoke

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shuffle"
)

// SortOp sorts KV[K,V] by key.
type SortOp[K cmp.Ordered, V any] struct{ name string }

// sampleSuffix names the operator that samples keys for a sort's bounds.
const sampleSuffix = "#sample"

// Spark's sizing of the sample a range partitioning is computed from.
const (
	samplePointsPerPartition = 20  // sample keys per output partition
	sampleOversampling       = 3.0 // per input partition, over the even share
	maxSampleSize            = 1e6
)

// RegisterSortByKey registers a SortByKey operator for KV[K,V], and under
// name+"#sample" the operator that samples its keys.
func RegisterSortByKey[K cmp.Ordered, V any](name string) SortOp[K, V] {
	in := registry.AddType[KV[K, V]]()
	registry.AddShuffle(&registry.Shuffle{Name: name, Sides: 1, In: []string{in}, Out: in,
		Write: writeSorted[K, V],
		Read:  readSorted[K, V],
	})
	sample := registry.AddType[keySample[K]]()
	registry.AddShuffle(&registry.Shuffle{Name: name + sampleSuffix, Sides: 1, In: []string{in}, Out: sample,
		Write: writeSample[K, V],
		Read: func(_ *registry.ShuffleEnv, sides []registry.BlockIter, _ []byte) (any, error) {
			var all []keySample[K]
			if err := shuffle.ForEachRecord(sides[0], func(s *keySample[K]) { all = append(all, *s) }); err != nil {
				return nil, err
			}
			return registry.SliceSeq(all), nil
		},
	})
	return SortOp[K, V]{name}
}

// SortByKey sorts by key, ascending or descending, into at most
// numPartitions partitions (0: as many as d has) holding consecutive key
// ranges, so that the partitions in order hold the records in order. As
// in Spark, it first runs a job sampling the keys to choose the ranges;
// keys too few or too skewed for numPartitions ranges give fewer
// partitions.
func SortByKey[K cmp.Ordered, V any](ctx context.Context, d Dataset[KV[K, V]], op SortOp[K, V], ascending bool, numPartitions int) (Dataset[KV[K, V]], error) {
	if numPartitions <= 0 {
		numPartitions = d.NumPartitions()
	}
	var bounds []K
	if numPartitions > 1 && d.NumPartitions() > 0 {
		var err error
		if bounds, err = rangeBounds(ctx, d, op, numPartitions); err != nil {
			return Dataset[KV[K, V]]{}, fmt.Errorf("sortByKey: sampling the keys: %w", err)
		}
	}
	params, err := encodeSortParams(ascending, bounds)
	if err != nil {
		return Dataset[KV[K, V]]{}, fmt.Errorf("sortByKey: %w", err)
	}
	out := shuffled[KV[K, V]](d.sc, op.name, "sortByKey", len(bounds)+1, d.node)
	out.node.Params = params
	return out, nil
}

// keySample is a map task's sample of its keys and how many it read.
type keySample[K any] struct {
	Count int64
	Keys  []K
}

// rangeBounds runs the sampling job and chooses numPartitions-1 bounds (or
// fewer) from it.
func rangeBounds[K cmp.Ordered, V any](ctx context.Context, d Dataset[KV[K, V]], op SortOp[K, V], numPartitions int) ([]K, error) {
	sampleSize := min(samplePointsPerPartition*float64(numPartitions), maxSampleSize)
	perPartition := int(math.Ceil(sampleOversampling * sampleSize / float64(d.NumPartitions())))
	sampler := shuffled[keySample[K]](d.sc, op.name+sampleSuffix, "sortByKey sample", 1, d.node)
	var err error
	if sampler.node.Params, err = registry.EncodeSlice([]int{perPartition}); err != nil {
		return nil, err
	}
	samples, err := Collect(ctx, sampler, Describe("sortByKey: sampling keys of "+d.node.Name))
	if err != nil {
		return nil, err
	}
	return boundsFromSamples(samples, numPartitions), nil
}

type weightedKey[K any] struct {
	key    K
	weight float64
}

// boundsFromSamples weighs each sampled key by how many records it stands
// for (its task's records over its sample size) and cuts the weighted keys
// into numPartitions ranges.
func boundsFromSamples[K cmp.Ordered](samples []keySample[K], numPartitions int) []K {
	var cands []weightedKey[K]
	for _, s := range samples {
		if len(s.Keys) == 0 {
			continue
		}
		w := float64(s.Count) / float64(len(s.Keys))
		for _, k := range s.Keys {
			cands = append(cands, weightedKey[K]{k, w})
		}
	}
	return determineBounds(cands, min(numPartitions, len(cands)))
}

// determineBounds sorts the candidates and picks up to parts-1 distinct
// keys splitting their total weight evenly: a key at which the cumulative
// weight reaches the next step becomes a bound unless it equals the
// previous bound (so many equal keys make fewer ranges, not empty ones).
func determineBounds[K cmp.Ordered](cands []weightedKey[K], parts int) []K {
	slices.SortFunc(cands, func(a, b weightedKey[K]) int { return cmp.Compare(a.key, b.key) })
	var sum float64
	for _, c := range cands {
		sum += c.weight
	}
	step := sum / float64(parts)
	cum, target := 0.0, step
	var bounds []K
	for i := 0; i < len(cands) && len(bounds) < parts-1; i++ {
		cum += cands[i].weight
		if cum >= target && (len(bounds) == 0 || cmp.Less(bounds[len(bounds)-1], cands[i].key)) {
			bounds = append(bounds, cands[i].key)
			target += step
		}
	}
	return bounds
}

// writeSample is the sampling job's map side: a reservoir sample of the
// task's keys of the size the params give, with the number of records, as
// one record into bucket 0.
func writeSample[K cmp.Ordered, V any](env *registry.ShuffleEnv, _ int, in any, _ int, params []byte) (int64, error) {
	size, err := registry.DecodeSlice[int](params)
	if err != nil || len(size) != 1 || size[0] <= 0 {
		return 0, fmt.Errorf("sortByKey sample: parameters must be one positive sample size (%v, %v)", size, err)
	}
	s := reservoir(in.(iter.Seq[KV[K, V]]), size[0])
	bucket, err := shuffle.EncodeBucket([]keySample[K]{s})
	if err != nil {
		return s.Count, err
	}
	return s.Count, env.Out.Append(0, bucket)
}

// reservoir samples up to size keys uniformly (reservoir sampling). A map
// task does not know its partition index, so the random source is seeded
// by the hash of its first key: the sample is the same on every attempt
// over the same records, and differs between partitions.
func reservoir[K cmp.Ordered, V any](in iter.Seq[KV[K, V]], size int) keySample[K] {
	var s keySample[K]
	var rng *rand.Rand
	for r := range in {
		s.Count++
		if len(s.Keys) < size {
			if s.Count == 1 {
				h := registry.KeyHasher[K]()(r.Key)
				rng = rand.New(rand.NewPCG(h, 0x5eed5a3b1e))
			}
			s.Keys = append(s.Keys, r.Key)
			continue
		}
		if j := rng.Int64N(s.Count); j < int64(size) {
			s.Keys[j] = r.Key
		}
	}
	return s
}

// Sort parameters: a direction byte ('a' ascending, 'd' descending), then
// the range bounds (registry.EncodeSlice), strictly ascending.
const (
	sortAscending  = 'a'
	sortDescending = 'd'
)

func encodeSortParams[K cmp.Ordered](ascending bool, bounds []K) ([]byte, error) {
	b, err := registry.EncodeSlice(bounds)
	if err != nil {
		return nil, err
	}
	dir := byte(sortDescending)
	if ascending {
		dir = sortAscending
	}
	return append([]byte{dir}, b...), nil
}

func decodeSortParams[K cmp.Ordered](params []byte) (ascending bool, bounds []K, err error) {
	if len(params) == 0 {
		return false, nil, fmt.Errorf("sortByKey: the operator's parameters are empty; SortByKey sets them (direction and range bounds)")
	}
	switch params[0] {
	case sortAscending:
		ascending = true
	case sortDescending:
	default:
		return false, nil, fmt.Errorf("sortByKey: parameters start with %#x, want %q (ascending) or %q (descending)", params[0], sortAscending, sortDescending)
	}
	if bounds, err = registry.DecodeSlice[K](params[1:]); err != nil {
		return false, nil, fmt.Errorf("sortByKey: range bounds: %w", err)
	}
	for i := 1; i < len(bounds); i++ {
		if !cmp.Less(bounds[i-1], bounds[i]) {
			return false, nil, fmt.Errorf("sortByKey: range bounds %d and %d (%v, %v) are not strictly ascending", i-1, i, bounds[i-1], bounds[i])
		}
	}
	return ascending, bounds, nil
}

// writeSorted is a sort's map side: range partitioning by binary search on
// the bounds. A key equal to a bound goes to the range the bound ends;
// descending, the ranges are numbered from the top.
func writeSorted[K cmp.Ordered, V any](env *registry.ShuffleEnv, _ int, in any, n int, params []byte) (int64, error) {
	ascending, bounds, err := decodeSortParams[K](params)
	if err != nil {
		return 0, err
	}
	if len(bounds) >= n {
		return 0, fmt.Errorf("sortByKey: %d range bounds make %d ranges, more than the %d partitions", len(bounds), len(bounds)+1, n)
	}
	return shuffle.PartitionBy(env, in.(iter.Seq[KV[K, V]]), func(r *KV[K, V]) int {
		p, _ := slices.BinarySearch(bounds, r.Key)
		if !ascending {
			p = len(bounds) - p
		}
		return p
	}, n)
}

// readSorted is a sort's reduce side: the partition's records sorted by
// key within the task's execution memory, spilling sorted runs.
func readSorted[K cmp.Ordered, V any](env *registry.ShuffleEnv, sides []registry.BlockIter, params []byte) (any, error) {
	ascending, _, err := decodeSortParams[K](params)
	if err != nil {
		return nil, err
	}
	order := func(a, b *KV[K, V]) int { return cmp.Compare(a.Key, b.Key) }
	if !ascending {
		order = func(a, b *KV[K, V]) int { return cmp.Compare(b.Key, a.Key) }
	}
	s := shuffle.NewSorter(env, order)
	ferr := shuffle.ForEachRecord(sides[0], func(r *KV[K, V]) {
		if err == nil {
			err = s.Add(r)
		}
	})
	if ferr == nil {
		ferr = err
	}
	if ferr != nil {
		s.Close()
		return nil, ferr
	}
	return iter.Seq[KV[K, V]](func(yield func(KV[K, V]) bool) {
		defer s.Close()
		for r, err := range s.Sorted() {
			if err != nil {
				registry.Abort(err)
			}
			if !yield(r) {
				return
			}
		}
	}), nil
}
