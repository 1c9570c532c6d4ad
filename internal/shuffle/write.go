package shuffle

import (
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
)

// Partition writes records into n buckets by key without combining, a
// batch of each bucket at a time.
func Partition[T any, K comparable](env *registry.ShuffleEnv, in iter.Seq[T], key func(*T) K, n int) (int64, error) {
	hash := registry.KeyHasher[K]()
	return PartitionBy(env, in, func(r *T) int { return registry.PartitionOf(hash(key(r)), n) }, n)
}

// PartitionBy writes records into n buckets chosen by part.
func PartitionBy[T any](env *registry.ShuffleEnv, in iter.Seq[T], part func(*T) int, n int) (int64, error) {
	return registry.WriteBuckets(env, in, n, func(r *T) (int, T) { return part(r), *r })
}

// WriteEntries writes an aggregation's entries, which come in partition
// order, as KV records made by kv.
func WriteEntries[K comparable, C, R any](env *registry.ShuffleEnv, ents iter.Seq2[*Entry[K, C], error], n int, kv func(*Entry[K, C]) R) error {
	var batch []R
	var frame []byte
	cur := -1
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var err error
		if frame, err = registry.AppendFrame(frame[:0], batch); err != nil {
			return err
		}
		batch = batch[:0]
		return env.Out.Append(cur, frame)
	}
	for e, err := range ents {
		if err != nil {
			return err
		}
		p := registry.PartitionOf(e.H, n)
		if p != cur || len(batch) >= batchSize {
			if err := flush(); err != nil {
				return err
			}
			cur = p
		}
		batch = append(batch, kv(e))
	}
	return flush()
}
