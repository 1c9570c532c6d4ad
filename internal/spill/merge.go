package spill

import (
	"io"
	"iter"
)

// Merge merges runs, each sorted by cmp, into one sorted sequence. Records
// that compare equal come out in run order (readers[0] first), and in file
// order within a run. On a read error it yields the zero T and the error,
// then stops. Merge does not close the readers.
func Merge[T any](readers []*RunReader[T], cmp func(a, b *T) int) iter.Seq2[T, error] {
	return MergeWithSorted(readers, nil, cmp)
}

// MergeWithSorted is Merge with one more source, an in-memory slice sorted
// by cmp (typically the records not yet spilled). Being the newest data, it
// comes after all runs among equal records. The slice is not modified.
func MergeWithSorted[T any](readers []*RunReader[T], sorted []T, cmp func(a, b *T) int) iter.Seq2[T, error] {
	sources := make([]func() ([]T, error), 0, len(readers)+1)
	for _, r := range readers {
		sources = append(sources, r.Next)
	}
	if len(sorted) > 0 {
		sources = append(sources, SliceSource(sorted))
	}
	return MergeBatches(sources, cmp)
}

// SliceSource is a merge source of one sorted batch held in memory.
func SliceSource[T any](sorted []T) func() ([]T, error) {
	done := false
	return func() ([]T, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		return sorted, nil
	}
}

// MergeBatches merges sources into one sequence sorted by cmp. Each source
// returns its records batch by batch, sorted by cmp across batches, and
// io.EOF after the last; a batch needs to stay valid only until the
// source's next call. Records that compare equal come out in source order
// (sources[0] first). On an error from a source it yields the zero T and
// the error, then stops.
func MergeBatches[T any](sources []func() ([]T, error), cmp func(a, b *T) int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		m := merger[T]{cmp: cmp}
		for i, next := range sources {
			if err := m.add(i, next); err != nil {
				var zero T
				yield(zero, err)
				return
			}
		}
		for len(m.heap) > 0 {
			c := m.heap[0]
			rec := c.batch[c.pos]
			c.pos++
			if c.pos == len(c.batch) {
				ok, err := c.fill()
				if err != nil {
					var zero T
					yield(zero, err)
					return
				}
				if !ok {
					m.pop()
				}
			}
			if len(m.heap) > 0 {
				m.down(0)
			}
			if !yield(rec, nil) {
				return
			}
		}
	}
}

// cursor is one source's position in the merge.
type cursor[T any] struct {
	src   int // source index; breaks ties
	next  func() ([]T, error)
	batch []T
	pos   int
}

// fill loads the next non-empty batch; false at the end of the source.
func (c *cursor[T]) fill() (bool, error) {
	for {
		b, err := c.next()
		if err == io.EOF {
			c.batch = nil
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if len(b) > 0 {
			c.batch, c.pos = b, 0
			return true, nil
		}
	}
}

// merger is a binary min-heap of cursors ordered by their current record,
// then by source index.
type merger[T any] struct {
	cmp  func(a, b *T) int
	heap []*cursor[T]
}

func (m *merger[T]) add(src int, next func() ([]T, error)) error {
	c := &cursor[T]{src: src, next: next}
	ok, err := c.fill()
	if err != nil || !ok {
		return err
	}
	m.heap = append(m.heap, c)
	m.up(len(m.heap) - 1)
	return nil
}

func (m *merger[T]) less(i, j int) bool {
	a, b := m.heap[i], m.heap[j]
	if c := m.cmp(&a.batch[a.pos], &b.batch[b.pos]); c != 0 {
		return c < 0
	}
	return a.src < b.src
}

func (m *merger[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !m.less(i, p) {
			return
		}
		m.heap[i], m.heap[p] = m.heap[p], m.heap[i]
		i = p
	}
}

func (m *merger[T]) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(m.heap) {
			return
		}
		s := l
		if r := l + 1; r < len(m.heap) && m.less(r, l) {
			s = r
		}
		if !m.less(s, i) {
			return
		}
		m.heap[i], m.heap[s] = m.heap[s], m.heap[i]
		i = s
	}
}

func (m *merger[T]) pop() {
	last := len(m.heap) - 1
	m.heap[0] = m.heap[last]
	m.heap = m.heap[:last]
}
