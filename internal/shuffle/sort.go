package shuffle

import (
	"iter"
	"sort"

	"github.com/stoke-run/stoke/internal/registry"
)

// recordOverhead is a guess at what each held record costs beyond its own
// bytes (slice growth slack).
const recordOverhead = 8

// Sorter sorts records within the task's execution memory: it holds what
// memory allows, and beyond that sorts what it holds into a run on disk
// and starts again; Sorted merges the runs with what is left in memory.
type Sorter[T any] struct {
	cmp  func(a, b *T) int
	env  *registry.ShuffleEnv
	size func(*T) int64
	recs []T
	mem  budget
	runs []registry.SpillRun
}

// NewSorter starts a sort by cmp (not stable).
func NewSorter[T any](env *registry.ShuffleEnv, cmp func(a, b *T) int) *Sorter[T] {
	return &Sorter[T]{cmp: cmp, env: env, size: Sizer[T](), mem: budget{env: env}}
}

// Add holds one more record, spilling what is held when memory runs out.
func (s *Sorter[T]) Add(r *T) error {
	s.recs = append(s.recs, *r)
	s.mem.est += s.size(r) + recordOverhead
	if s.mem.fits() || !s.mem.canSpill() {
		return nil
	}
	return s.spill()
}

func (s *Sorter[T]) sortHeld() { sort.Sort(byCmp[T]{s.recs, s.cmp}) }

// byCmp sorts in place comparing by pointer (a func(T, T) would copy and
// move both records to the heap on every comparison).
type byCmp[T any] struct {
	recs []T
	cmp  func(a, b *T) int
}

func (b byCmp[T]) Len() int           { return len(b.recs) }
func (b byCmp[T]) Less(i, j int) bool { return b.cmp(&b.recs[i], &b.recs[j]) < 0 }
func (b byCmp[T]) Swap(i, j int)      { b.recs[i], b.recs[j] = b.recs[j], b.recs[i] }

func (s *Sorter[T]) spill() error {
	s.sortHeld()
	run, err := writeRun(s.env, s.recs)
	if err != nil {
		return err
	}
	s.runs = append(s.runs, run)
	s.recs = nil
	s.mem.release()
	return nil
}

// Spilled reports how many runs went to disk.
func (s *Sorter[T]) Spilled() int { return len(s.runs) }

// Sorted yields every record added, in order. Errors reading spill runs
// end it. Call it once.
func (s *Sorter[T]) Sorted() iter.Seq2[T, error] {
	s.sortHeld()
	if len(s.runs) == 0 {
		return func(yield func(T, error) bool) {
			for _, r := range s.recs {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
	return mergeRuns(s.runs, s.recs, s.cmp)
}

// Close frees the memory and the spill files.
func (s *Sorter[T]) Close() {
	for _, r := range s.runs {
		r.Remove()
	}
	s.runs, s.recs = nil, nil
	s.mem.release()
}
