package shuffle

import (
	"cmp"
	"container/heap"
	"fmt"
	"iter"
	"slices"

	"github.com/stoke-run/stoke/internal/registry"
)

// Entry is one key with its combined value, as kept in memory and written
// to spill runs (H is the key's hash, so merging never hashes again).
type Entry[K comparable, C any] struct {
	H   uint64
	Key K
	Val C
}

// Aggregator combines the values of equal keys (V) into one combined value
// (C) per key. It holds what execution memory allows; beyond that it sorts
// what it holds by (partition, hash) into a run on disk and starts again,
// and at the end merges the runs with what is left in memory.
type Aggregator[K comparable, V, C any] struct {
	create  func(V) C
	merge   func(C, V) C
	combine func(C, C) C
	grows   bool // merge makes C larger: each merged value counts
	parts   int  // >1: order by partition first (map side)
	env     *registry.ShuffleEnv
	hash    func(K) uint64
	sizeK   func(*K) int64
	sizeV   func(*V) int64

	idx     map[K]int32
	ents    []Entry[K, C]
	est     int64 // estimated bytes held
	granted int64 // execution memory acquired
	runs    []registry.SpillRun
	sorted  bool
}

// AggOps are the functions that combine values (Spark's Aggregator).
type AggOps[V, C any] struct {
	Create  func(V) C
	Merge   func(C, V) C
	Combine func(C, C) C
	// Grows says Merge makes the combined value larger (GroupByKey), so
	// every merged value counts toward memory.
	Grows bool
}

// NewAggregator starts an aggregation; parts > 1 orders its output by
// partition (PartitionOf(hash, parts)) for the map side of a shuffle.
func NewAggregator[K comparable, V, C any](env *registry.ShuffleEnv, ops AggOps[V, C], parts int) *Aggregator[K, V, C] {
	return &Aggregator[K, V, C]{
		create: ops.Create, merge: ops.Merge, combine: ops.Combine, grows: ops.Grows, parts: parts,
		env: env, hash: registry.KeyHasher[K](), sizeK: sizer[K](), sizeV: sizer[V](),
		idx: map[K]int32{},
	}
}

// entryOverhead is a guess at the map slot and slice entry each key costs
// beyond its own bytes.
const entryOverhead = 48

// Add merges one value into its key's combined value.
func (a *Aggregator[K, V, C]) Add(k K, v V) error {
	if i, ok := a.idx[k]; ok {
		e := &a.ents[i]
		e.Val = a.merge(e.Val, v)
		if !a.grows {
			return nil
		}
		a.est += a.sizeV(&v)
	} else {
		a.idx[k] = int32(len(a.ents))
		a.ents = append(a.ents, Entry[K, C]{H: a.hash(k), Key: k, Val: a.create(v)})
		a.est += a.sizeK(&k) + a.sizeV(&v) + entryOverhead
	}
	if a.est > a.granted {
		return a.reserve()
	}
	return nil
}

// AddCombined merges an already combined value (the reduce side of a
// map-side-combined shuffle).
func (a *Aggregator[K, V, C]) AddCombined(k K, c C, size int64) error {
	if i, ok := a.idx[k]; ok {
		e := &a.ents[i]
		e.Val = a.combine(e.Val, c)
		if !a.grows {
			return nil
		}
		a.est += size
	} else {
		a.idx[k] = int32(len(a.ents))
		a.ents = append(a.ents, Entry[K, C]{H: a.hash(k), Key: k, Val: c})
		a.est += a.sizeK(&k) + size + entryOverhead
	}
	if a.est > a.granted {
		return a.reserve()
	}
	return nil
}

// reserve asks for memory to cover what is held with room to grow, and
// spills when the answer falls short.
func (a *Aggregator[K, V, C]) reserve() error {
	if a.env == nil || a.env.Acquire == nil {
		a.granted = 1 << 62
		return nil
	}
	a.granted += a.env.Acquire(2*a.est - a.granted)
	if a.est <= a.granted || a.env.Spill == nil {
		return nil
	}
	return a.spill()
}

func (a *Aggregator[K, V, C]) order(x, y *Entry[K, C]) int {
	if a.parts > 1 {
		if c := cmp.Compare(registry.PartitionOf(x.H, a.parts), registry.PartitionOf(y.H, a.parts)); c != 0 {
			return c
		}
	}
	return cmp.Compare(x.H, y.H)
}

func (a *Aggregator[K, V, C]) sortHeld() {
	slices.SortFunc(a.ents, func(x, y Entry[K, C]) int { return a.order(&x, &y) })
	a.sorted = true
}

// spill writes what is held, sorted, as a run and frees the memory.
func (a *Aggregator[K, V, C]) spill() error {
	a.sortHeld()
	w, err := a.env.Spill.Create()
	if err != nil {
		return fmt.Errorf("spilling: %w", err)
	}
	var frame []byte
	for lo := 0; lo < len(a.ents); lo += batchSize {
		if frame, err = registry.AppendSlice(frame[:0], a.ents[lo:min(lo+batchSize, len(a.ents))]); err == nil {
			err = w.Write(frame)
		}
		if err != nil {
			w.Close()
			return fmt.Errorf("spilling: %w", err)
		}
	}
	run, err := w.Close()
	if err != nil {
		return fmt.Errorf("spilling: %w", err)
	}
	if a.env.Spilled != nil {
		*a.env.Spilled += run.Bytes()
	}
	a.runs = append(a.runs, run)
	clear(a.idx)
	a.ents = a.ents[:0:0]
	a.idx = map[K]int32{}
	a.est, a.sorted = 0, false
	a.env.Release(a.granted)
	a.granted = 0
	return nil
}

// Spilled reports how many runs went to disk.
func (a *Aggregator[K, V, C]) Spilled() int { return len(a.runs) }

// Entries yields every key with its combined value: in partition order
// when the aggregator orders by partition (parts > 1), else in no
// particular order. Errors reading spill runs end it.
func (a *Aggregator[K, V, C]) Entries() iter.Seq2[*Entry[K, C], error] {
	return func(yield func(*Entry[K, C], error) bool) {
		if len(a.runs) == 0 {
			if a.parts > 1 && !a.sorted {
				a.sortHeld()
			}
			for i := range a.ents {
				if !yield(&a.ents[i], nil) {
					return
				}
			}
			return
		}
		if !a.sorted {
			a.sortHeld()
		}
		a.mergeRuns(yield)
	}
}

// Close frees the memory and the spill files.
func (a *Aggregator[K, V, C]) Close() {
	for _, r := range a.runs {
		r.Remove()
	}
	a.runs = nil
	a.ents, a.idx = nil, nil
	if a.env != nil && a.env.Release != nil && a.granted > 0 && a.granted < 1<<62 {
		a.env.Release(a.granted)
	}
	a.granted = 0
}

// cursor walks one sorted source of entries: a run on disk or the held
// entries.
type cursor[K comparable, C any] struct {
	batch []Entry[K, C]
	i     int
	next  func() ([]Entry[K, C], error, bool)
	src   int
}

func (a *Aggregator[K, V, C]) mergeRuns(yield func(*Entry[K, C], error) bool) {
	h := &cursorHeap[K, C]{less: func(x, y *Entry[K, C]) bool { return a.order(x, y) < 0 }}
	var stops []func()
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	for i, r := range a.runs {
		next, stop := iter.Pull2(r.Frames())
		stops = append(stops, stop)
		c := &cursor[K, C]{src: i, next: func() ([]Entry[K, C], error, bool) {
			frame, err, ok := next()
			if !ok || err != nil {
				return nil, err, ok
			}
			ents, err := registry.DecodeSlice[Entry[K, C]](frame)
			return ents, err, true
		}}
		if err := h.fill(c); err != nil {
			yield(nil, fmt.Errorf("reading spill run: %w", err))
			return
		}
	}
	held := a.ents
	if len(held) > 0 {
		h.push(&cursor[K, C]{batch: held, src: len(a.runs), next: func() ([]Entry[K, C], error, bool) { return nil, nil, false }})
	}
	var group []Entry[K, C]
	for h.Len() > 0 {
		group = group[:0]
		first := *h.top()
		for h.Len() > 0 && a.order(h.top(), &first) == 0 {
			e := *h.top()
			if err := h.advance(); err != nil {
				yield(nil, fmt.Errorf("reading spill run: %w", err))
				return
			}
			merged := false
			for j := range group {
				if group[j].Key == e.Key {
					group[j].Val = a.combine(group[j].Val, e.Val)
					merged = true
					break
				}
			}
			if !merged {
				group = append(group, e)
			}
		}
		for j := range group {
			if !yield(&group[j], nil) {
				return
			}
		}
	}
}

type cursorHeap[K comparable, C any] struct {
	cs   []*cursor[K, C]
	less func(x, y *Entry[K, C]) bool
}

func (h *cursorHeap[K, C]) Len() int { return len(h.cs) }
func (h *cursorHeap[K, C]) Less(i, j int) bool {
	x, y := &h.cs[i].batch[h.cs[i].i], &h.cs[j].batch[h.cs[j].i]
	if h.less(x, y) {
		return true
	}
	if h.less(y, x) {
		return false
	}
	return h.cs[i].src < h.cs[j].src
}
func (h *cursorHeap[K, C]) Swap(i, j int) { h.cs[i], h.cs[j] = h.cs[j], h.cs[i] }
func (h *cursorHeap[K, C]) Push(x any)    { h.cs = append(h.cs, x.(*cursor[K, C])) }
func (h *cursorHeap[K, C]) Pop() any {
	c := h.cs[len(h.cs)-1]
	h.cs = h.cs[:len(h.cs)-1]
	return c
}
func (h *cursorHeap[K, C]) top() *Entry[K, C] { c := h.cs[0]; return &c.batch[c.i] }
func (h *cursorHeap[K, C]) push(c *cursor[K, C]) {
	if c.i < len(c.batch) {
		heap.Push(h, c)
	}
}

// fill loads the cursor's first non-empty batch and adds it to the heap.
func (h *cursorHeap[K, C]) fill(c *cursor[K, C]) error {
	for c.i >= len(c.batch) {
		b, err, ok := c.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		c.batch, c.i = b, 0
	}
	heap.Push(h, c)
	return nil
}

// advance moves the top cursor past its current entry.
func (h *cursorHeap[K, C]) advance() error {
	c := h.cs[0]
	c.i++
	if c.i < len(c.batch) {
		heap.Fix(h, 0)
		return nil
	}
	heap.Pop(h)
	return h.fill(c)
}
