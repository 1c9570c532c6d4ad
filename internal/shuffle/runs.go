package shuffle

import (
	"fmt"
	"io"
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/spill"
)

// writeRun writes sorted records as one spill run, a frame per batch, and
// counts its bytes in the task's spill metrics.
func writeRun[T any](env *registry.ShuffleEnv, recs []T) (registry.SpillRun, error) {
	w, err := env.Spill.Create()
	if err != nil {
		return nil, fmt.Errorf("spilling: %w", err)
	}
	var frame []byte
	for lo := 0; lo < len(recs); lo += batchSize {
		if frame, err = registry.AppendSlice(frame[:0], recs[lo:min(lo+batchSize, len(recs))]); err == nil {
			err = w.Write(frame)
		}
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("spilling: %w", err)
		}
	}
	run, err := w.Close()
	if err != nil {
		return nil, fmt.Errorf("spilling: %w", err)
	}
	if env.Spilled != nil {
		*env.Spilled += run.Bytes()
	}
	return run, nil
}

// mergeRuns merges spill runs written by writeRun, each sorted by cmp, with
// the records still held (sorted by cmp too) into one sorted sequence, through
// internal/spill's k-way merge. Among equal records, earlier runs come
// first and the held records last.
func mergeRuns[T any](runs []registry.SpillRun, held []T, cmp func(a, b *T) int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		sources := make([]func() ([]T, error), 0, len(runs)+1)
		for _, r := range runs {
			next, stop := iter.Pull2(r.Frames())
			defer stop()
			sources = append(sources, func() ([]T, error) {
				frame, err, ok := next()
				if !ok {
					return nil, io.EOF
				}
				if err != nil {
					return nil, fmt.Errorf("reading spill run: %w", err)
				}
				recs, err := registry.DecodeSlice[T](frame)
				if err != nil {
					return nil, fmt.Errorf("reading spill run: %w", err)
				}
				return recs, nil
			})
		}
		if len(held) > 0 {
			sources = append(sources, spill.SliceSource(held))
		}
		for r, err := range spill.MergeBatches(sources, cmp) {
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

// budget tracks the execution memory a task-side structure holds: est is
// what its records are estimated to take, granted what it acquired.
type budget struct {
	env     *registry.ShuffleEnv
	est     int64
	granted int64
}

// unbounded is the grant of a structure without a memory manager.
const unbounded = 1 << 62

// heapFactor is how much Go heap a structure takes per byte estimated: the
// estimates count keys, values and a slot each, while slices and maps grow
// by doubling and the collector needs room to work. Measured: a GroupByKey
// of 2 GiB in 200 MiB executors peaked at 224 MiB RSS with a factor of 1
// and at 190 MiB with half the memory, which is what 2 does.
const heapFactor = 2

// fits asks for memory to cover est with room to grow, and reports whether
// est is covered; false means the holder should spill (when it can).
func (b *budget) fits() bool {
	need := b.est * heapFactor
	if need <= b.granted {
		return true
	}
	if b.env == nil || b.env.Acquire == nil {
		b.granted = unbounded
		return true
	}
	b.granted += b.env.Acquire(2*need - b.granted)
	return need <= b.granted
}

// canSpill reports whether the environment has a spill directory.
func (b *budget) canSpill() bool { return b.env != nil && b.env.Spill != nil }

// release gives back everything acquired.
func (b *budget) release() {
	if b.env != nil && b.env.Release != nil && b.granted > 0 && b.granted < unbounded {
		b.env.Release(b.granted)
	}
	b.est, b.granted = 0, 0
}
