package stoke

import (
	"github.com/stoke-run/stoke/driver"
	"github.com/stoke-run/stoke/internal/plan"
)

// StorageLevel says where the partitions of a persisted dataset are kept.
// Every level keeps a partition encoded (registry encoding, as a shuffle
// block), in memory as in a serialized level of the reference system.
type StorageLevel int

const (
	// MemoryOnly keeps partitions in executor storage memory; a partition
	// that does not fit, or that is evicted, is recomputed when needed.
	MemoryOnly StorageLevel = plan.MemoryOnly
	// MemoryAndDisk keeps partitions in memory and writes those that do
	// not fit, or that are evicted, to the executor's local disk.
	MemoryAndDisk StorageLevel = plan.MemoryAndDisk
	// DiskOnly keeps partitions on the executor's local disk.
	DiskOnly StorageLevel = plan.DiskOnly
)

func (l StorageLevel) String() string { return driver.LevelName(int(l)) }

// Persist marks the dataset to be cached at level: each partition is kept
// by the executor that computes it when an action reads it to the end, and
// later actions read it from there instead of computing it again. Build
// later operators on the returned dataset. Persisting a persisted dataset
// again returns it unchanged (a different level is ignored with a warning:
// unpersist it first). Partitions lost with their executor, or evicted,
// are recomputed from the lineage.
func (d Dataset[T]) Persist(level StorageLevel) Dataset[T] {
	if d.node.Persist != 0 {
		if StorageLevel(d.node.Persist) != level {
			d.sc.d.Log().Warnf("Persist(%v): %s is already persisted at %v; unpersist it first to change the level", level, d.node.Name, StorageLevel(d.node.Persist))
		}
		return d
	}
	switch level {
	case MemoryOnly, MemoryAndDisk, DiskOnly:
	default:
		panic("stoke: Persist with an unknown storage level; use MemoryOnly, MemoryAndDisk or DiskOnly")
	}
	n := *d.node
	n.ID = d.sc.d.NewNodeID()
	n.Persist = int(level)
	n.CopyOf = d.node
	d.sc.d.Persisted(&n)
	return Dataset[T]{d.sc, &n}
}

// Cache is Persist(MemoryOnly).
func (d Dataset[T]) Cache() Dataset[T] { return d.Persist(MemoryOnly) }

// Unpersist stops caching the dataset and tells the executors to drop its
// cached partitions; later actions compute it again. It does nothing on a
// dataset that is not persisted.
func (d Dataset[T]) Unpersist() {
	if d.node.Persist != 0 {
		d.sc.d.Unpersist(d.node)
	}
}

// StorageLevel is the level the dataset is persisted at (0: not persisted).
func (d Dataset[T]) StorageLevel() StorageLevel { return StorageLevel(d.node.Persist) }
