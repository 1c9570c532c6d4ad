// Package memory models the unified memory manager of the reference system:
// one region of executor memory shared by execution (sorts, aggregations,
// joins) and storage (cached blocks), where each side may borrow the other's
// free memory, execution may evict cached blocks that storage borrowed
// beyond its protected storage region, and storage never evicts execution.
//
// The Manager only does the bookkeeping; it allocates nothing. Callers ask
// before they buffer and release when they free or spill.
package memory

import (
	"fmt"
	"sync"
)

// Evictor drops cached blocks to free at least need bytes of storage memory
// and returns how many bytes it actually dropped (0 if nothing could be
// dropped; more than need if blocks are coarser). The Manager calls it with
// its lock held and subtracts the returned amount from the storage in use
// itself, so an Evictor must not call back into the Manager (in particular
// not ReleaseStorage for the blocks it drops).
type Evictor func(need int64) (freed int64)

// Manager is a thread-safe unified memory manager. The zero value is not
// usable; call New.
//
// Active tasks are tracked implicitly, as the reference system does: a task
// becomes active with its first AcquireExecution (even if nothing is
// granted) and stops being active when ReleaseAllExecution is called for it
// or ReleaseExecution brings what it holds to zero. A task must call
// ReleaseAllExecution when it ends, or it keeps counting towards N in the
// 1/N fairness rule.
type Manager struct {
	unified       int64 // execution + storage pools
	storageRegion int64 // storage memory execution cannot evict

	mu          sync.Mutex
	storagePool int64 // current storage pool size; execution pool is unified-storagePool
	storageUsed int64
	execUsed    int64
	tasks       map[int64]int64 // execution memory held per active task
	evict       Evictor
	evicted     int64 // total bytes dropped through the evictor
}

// New returns a Manager for c. It panics if c is invalid (see
// Config.Validate); build configurations with ConfigFrom or DefaultConfig.
func New(c Config) *Manager {
	if err := c.Validate(); err != nil {
		panic(fmt.Sprintf("memory.New: %v", err))
	}
	m := &Manager{
		unified:       c.Unified(),
		storageRegion: c.StorageRegion(),
		tasks:         make(map[int64]int64),
	}
	m.storagePool = m.storageRegion
	return m
}

// SetEvictor sets the function storage eviction goes through. Without one,
// cached blocks are never evicted.
func (m *Manager) SetEvictor(e Evictor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evict = e
}

func (m *Manager) execPool() int64 { return m.unified - m.storagePool }

// evictLocked asks the evictor to free need bytes of storage and accounts
// for what it freed.
func (m *Manager) evictLocked(need int64) int64 {
	if need <= 0 || m.evict == nil {
		return 0
	}
	freed := max(0, min(m.evict(need), m.storageUsed))
	m.storageUsed -= freed
	m.evicted += freed
	return freed
}

// AcquireExecution asks for want bytes of execution memory for task and
// returns how many it grants now, between 0 and want. It never blocks: when
// it grants less than want the caller should spill and release. With N
// active tasks a task may hold at most 1/N of the largest execution pool
// possible (unified minus the storage in use inside the storage region).
// To grant, it uses free execution memory, then free storage memory, then
// evicts cached blocks storage borrowed beyond its storage region.
func (m *Manager) AcquireExecution(task int64, want int64) int64 {
	if want <= 0 {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	held, active := m.tasks[task]
	if !active {
		m.tasks[task] = 0
	}
	n := int64(len(m.tasks))
	maxPool := m.unified - min(m.storageUsed, m.storageRegion)
	maxToGrant := min(want, max(0, maxPool/n-held))
	if extra := maxToGrant - (m.execPool() - m.execUsed); extra > 0 {
		m.growExecutionLocked(extra)
	}
	grant := min(maxToGrant, m.execPool()-m.execUsed)
	m.tasks[task] = held + grant
	m.execUsed += grant
	return grant
}

// growExecutionLocked moves up to extra bytes from the storage pool to the
// execution pool: free storage memory first, then memory reclaimed by
// evicting blocks storage borrowed beyond the storage region.
func (m *Manager) growExecutionLocked(extra int64) {
	free := m.storagePool - m.storageUsed
	reclaimable := max(free, m.storagePool-m.storageRegion)
	take := min(extra, reclaimable)
	if take <= 0 {
		return
	}
	if take > free {
		// take <= storagePool-storageRegion here, so this never asks to
		// evict storage below the storage region.
		m.evictLocked(take - free)
	}
	// Eviction drops whole blocks and may free more than asked; execution
	// may use that free storage memory too.
	m.storagePool -= min(extra, m.storagePool-m.storageUsed)
}

// ReleaseExecution gives back n bytes of task's execution memory (all it
// holds if n is larger).
func (m *Manager) ReleaseExecution(task int64, n int64) {
	if n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	held, ok := m.tasks[task]
	if !ok {
		return
	}
	n = min(n, held)
	m.execUsed -= n
	if held-n == 0 {
		delete(m.tasks, task)
	} else {
		m.tasks[task] = held - n
	}
}

// ReleaseAllExecution gives back all execution memory task holds, ends its
// activity, and returns how much it held.
func (m *Manager) ReleaseAllExecution(task int64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	held := m.tasks[task]
	delete(m.tasks, task)
	m.execUsed -= held
	return held
}

// ExecutionHeld returns the execution memory task holds.
func (m *Manager) ExecutionHeld(task int64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tasks[task]
}

// AcquireStorage asks for n bytes of storage memory to cache a block and
// reports whether they were granted (all or nothing). Storage borrows free
// execution memory when its own pool is short, then evicts cached blocks;
// it never takes memory execution uses. The evictor may drop blocks even
// when the request still fails (if it cannot drop enough).
func (m *Manager) AcquireStorage(n int64) bool {
	if n < 0 {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n > m.unified-m.execUsed {
		return false
	}
	if short := n - (m.storagePool - m.storageUsed); short > 0 {
		borrow := min(m.execPool()-m.execUsed, short)
		m.storagePool += borrow
	}
	if short := n - (m.storagePool - m.storageUsed); short > 0 {
		m.evictLocked(short)
	}
	if n > m.storagePool-m.storageUsed {
		return false
	}
	m.storageUsed += n
	return true
}

// ReleaseStorage gives back n bytes of storage memory (all in use if n is
// larger), for example when a cached block is removed.
func (m *Manager) ReleaseStorage(n int64) {
	if n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.storageUsed -= min(n, m.storageUsed)
}

// Stats is a snapshot of the Manager, for metrics and the UI.
type Stats struct {
	Unified       int64 // execution pool + storage pool
	StorageRegion int64 // storage memory protected from eviction by execution

	ExecutionPool int64 // current size of the execution pool
	ExecutionUsed int64
	StoragePool   int64 // current size of the storage pool
	StorageUsed   int64

	ActiveTasks int
	Evicted     int64 // bytes of cached blocks evicted so far
}

// Stats returns a consistent snapshot of the pools.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{
		Unified:       m.unified,
		StorageRegion: m.storageRegion,
		ExecutionPool: m.execPool(),
		ExecutionUsed: m.execUsed,
		StoragePool:   m.storagePool,
		StorageUsed:   m.storageUsed,
		ActiveTasks:   len(m.tasks),
		Evicted:       m.evicted,
	}
}
