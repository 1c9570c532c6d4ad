package shuffle

import (
	"cmp"
	"iter"
	"sort"

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

	idx    map[K]int32
	ents   []Entry[K, C]
	mem    budget
	runs   []registry.SpillRun
	sorted bool
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
		env: env, hash: registry.KeyHasher[K](), sizeK: Sizer[K](), sizeV: Sizer[V](),
		idx: map[K]int32{}, mem: budget{env: env},
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
		a.mem.est += a.sizeOfV(v)
	} else {
		a.idx[k] = int32(len(a.ents))
		a.ents = append(a.ents, Entry[K, C]{H: a.hash(k), Key: k, Val: a.create(v)})
		a.mem.est += a.sizeOfK(k) + a.sizeOfV(v) + entryOverhead
	}
	return a.reserve()
}

// sizeOfK and sizeOfV take copies, so that Add's own arguments never
// escape: taking their address for the sizer would move them to the heap on
// every call, not only for new keys.
func (a *Aggregator[K, V, C]) sizeOfK(k K) int64 { return a.sizeK(&k) }
func (a *Aggregator[K, V, C]) sizeOfV(v V) int64 { return a.sizeV(&v) }

// AddCombined merges an already combined value (the reduce side of a
// map-side-combined shuffle).
func (a *Aggregator[K, V, C]) AddCombined(k K, c C, size int64) error {
	if i, ok := a.idx[k]; ok {
		e := &a.ents[i]
		e.Val = a.combine(e.Val, c)
		if !a.grows {
			return nil
		}
		a.mem.est += size
	} else {
		a.idx[k] = int32(len(a.ents))
		a.ents = append(a.ents, Entry[K, C]{H: a.hash(k), Key: k, Val: c})
		a.mem.est += a.sizeOfK(k) + size + entryOverhead
	}
	return a.reserve()
}

// reserve asks for memory to cover what is held with room to grow, and
// spills when the answer falls short.
func (a *Aggregator[K, V, C]) reserve() error {
	if a.mem.fits() || !a.mem.canSpill() {
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
	sort.Sort(byCmp[Entry[K, C]]{a.ents, a.order})
	a.sorted = true
}

// spill writes what is held, sorted, as a run and frees the memory.
func (a *Aggregator[K, V, C]) spill() error {
	a.sortHeld()
	run, err := writeRun(a.env, a.ents)
	if err != nil {
		return err
	}
	a.runs = append(a.runs, run)
	a.ents = a.ents[:0:0]
	a.idx = map[K]int32{}
	a.sorted = false
	a.mem.release()
	return nil
}

// Spilled reports how many runs went to disk.
func (a *Aggregator[K, V, C]) Spilled() int { return len(a.runs) }

// Lookup finds a key among the entries held in memory (all of them when
// nothing spilled): its index for At, and whether it is there.
func (a *Aggregator[K, V, C]) Lookup(k K) (int, bool) {
	i, ok := a.idx[k]
	return int(i), ok
}

// Len is the number of entries held in memory.
func (a *Aggregator[K, V, C]) Len() int { return len(a.ents) }

// At is the entry at index i (see Lookup), valid until the next Add.
func (a *Aggregator[K, V, C]) At(i int) *Entry[K, C] { return &a.ents[i] }

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
	a.mem.release()
}

// mergeRuns merges the runs with the held entries, combining the values
// of equal keys: entries of one key are adjacent among those of equal
// order (partition, hash), so each such group is combined and yielded.
func (a *Aggregator[K, V, C]) mergeRuns(yield func(*Entry[K, C], error) bool) {
	var group []Entry[K, C]
	flush := func() bool {
		for j := range group {
			if !yield(&group[j], nil) {
				return false
			}
		}
		group = group[:0]
		return true
	}
	for e, err := range mergeRuns(a.runs, a.ents, a.order) {
		if err != nil {
			yield(nil, err)
			return
		}
		if len(group) > 0 && a.order(&group[0], &e) != 0 && !flush() {
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
	flush()
}
