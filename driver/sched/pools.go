package sched

import (
	"cmp"
	"slices"
)

// pool groups task sets. It keeps, in a binary heap ordered by its mode,
// only the task sets that have something to launch; the scheduler keeps, in
// another heap, only the pools whose heap is non-empty. Because the order
// depends on running-task counts, every launch and every finished attempt
// repositions one task set and one pool (O(log n)); the order is thereby
// re-evaluated after every single slot without sorting.
type pool struct {
	name     string
	mode     Mode
	weight   int
	minShare int

	running  int // running attempts of all its task sets
	taskSets int // task sets not yet removed

	heap    []*taskSetManager // schedulable task sets, heap-ordered by less
	rootIdx int               // index in the scheduler's pool heap, -1 if absent
}

func newPool(pc PoolConfig) *pool {
	return &pool{name: pc.Name, mode: pc.Mode, weight: pc.Weight, minShare: pc.MinShare, rootIdx: -1}
}

// fairLess is the FAIR comparator of SPEC §4: a schedulable below its
// minShare goes first; if both are below, the lower running/minShare ratio
// wins; otherwise the lower running/weight ratio; then the name. Ratios are
// compared by cross-multiplication, exactly and without floating point
// (weights are >= 1, minShare is replaced by max(minShare, 1)).
func fairLess(r1, ms1, w1 int, n1 string, r2, ms2, w2 int, n2 string) bool {
	needy1, needy2 := r1 < ms1, r2 < ms2
	if needy1 != needy2 {
		return needy1
	}
	var c int
	if needy1 {
		c = cmp.Compare(r1*max(ms2, 1), r2*max(ms1, 1))
	} else {
		c = cmp.Compare(r1*w2, r2*w1)
	}
	if c != 0 {
		return c < 0
	}
	return n1 < n2
}

// poolLess orders pools under the FAIR root.
func poolLess(a, b *pool) bool {
	return fairLess(a.running, a.minShare, a.weight, a.name, b.running, b.minShare, b.weight, b.name)
}

// less orders two task sets of this pool by the pool's mode. Task sets count
// as weight 1, minShare 0 under FAIR. seq (submission order) makes both
// orders total, hence deterministic.
func (p *pool) less(a, b *taskSetManager) bool {
	if p.mode == FAIR {
		if a.running != b.running {
			return a.running < b.running
		}
		if a.name != b.name {
			return a.name < b.name
		}
		return a.seq < b.seq
	}
	return fifoLess(a, b)
}

// fifoLess: lower job id first, then lower stage id, then submission order.
func fifoLess(a, b *taskSetManager) bool {
	if a.jobID != b.jobID {
		return a.jobID < b.jobID
	}
	if a.id.StageID != b.id.StageID {
		return a.id.StageID < b.id.StageID
	}
	return a.seq < b.seq
}

// --- task-set heap inside a pool ---

func (p *pool) push(t *taskSetManager) {
	t.heapIdx = len(p.heap)
	p.heap = append(p.heap, t)
	p.up(t.heapIdx)
}

func (p *pool) remove(t *taskSetManager) {
	i, n := t.heapIdx, len(p.heap)-1
	if i != n {
		p.swap(i, n)
	}
	p.heap[n] = nil
	p.heap = p.heap[:n]
	t.heapIdx = -1
	if i != n {
		p.fix(i)
	}
}

func (p *pool) fix(i int) {
	if !p.down(i) {
		p.up(i)
	}
}

func (p *pool) swap(i, j int) {
	h := p.heap
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (p *pool) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !p.less(p.heap[j], p.heap[i]) {
			break
		}
		p.swap(i, j)
		j = i
	}
}

func (p *pool) down(i0 int) bool {
	i, n := i0, len(p.heap)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && p.less(p.heap[r], p.heap[l]) {
			j = r
		}
		if !p.less(p.heap[j], p.heap[i]) {
			break
		}
		p.swap(i, j)
		i = j
	}
	return i > i0
}

// --- pool heap of the scheduler (FAIR root) ---

type poolHeap []*pool

func (h *poolHeap) push(p *pool) {
	p.rootIdx = len(*h)
	*h = append(*h, p)
	h.up(p.rootIdx)
}

func (h *poolHeap) remove(p *pool) {
	s := *h
	i, n := p.rootIdx, len(s)-1
	if i != n {
		h.swap(i, n)
	}
	s[n] = nil
	*h = s[:n]
	p.rootIdx = -1
	if i != n {
		h.fix(i)
	}
}

func (h poolHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h poolHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].rootIdx = i
	h[j].rootIdx = j
}

func (h poolHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !poolLess(h[j], h[i]) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h poolHeap) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && poolLess(h[r], h[l]) {
			j = r
		}
		if !poolLess(h[j], h[i]) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

// reposition restores both heaps after anything that changes whether t is
// schedulable or the running counts of t and its pool.
func (s *Scheduler) reposition(t *taskSetManager) {
	p := t.pool
	if t.schedulable() {
		if t.heapIdx < 0 {
			p.push(t)
		} else {
			p.fix(t.heapIdx)
		}
	} else if t.heapIdx >= 0 {
		p.remove(t)
	}
	if len(p.heap) > 0 {
		if p.rootIdx < 0 {
			s.root.push(p)
		} else {
			s.root.fix(p.rootIdx)
		}
	} else if p.rootIdx >= 0 {
		s.root.remove(p)
	}
}

// sortedTaskSets appends every schedulable task set in scheduling order:
// pools by the root comparator, then each pool's task sets by its mode. It
// is the slow path, used only when the first task set cannot use a slot.
func (s *Scheduler) sortedTaskSets(dst []*taskSetManager) []*taskSetManager {
	pools := append(s.poolScratch[:0], s.root...)
	sortFunc(pools, poolLess)
	for _, p := range pools {
		start := len(dst)
		dst = append(dst, p.heap...)
		sortFunc(dst[start:], p.less)
	}
	s.poolScratch = pools[:0]
	return dst
}

// sortFunc sorts s by a strict total order given as less.
func sortFunc[T any](s []T, less func(a, b T) bool) {
	slices.SortFunc(s, func(a, b T) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
}
