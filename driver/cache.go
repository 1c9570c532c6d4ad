package driver

import (
	"slices"
	"sort"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/plan"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// cachedRDD is a persisted dataset as the driver tracks it: which executors
// hold which of its partitions (the block manager master's view). Lost
// blocks are not recovered: the partitions are recomputed from lineage.
type cachedRDD struct {
	locs []map[string]bool // per partition: executors holding it
}

// LevelName is the name of a storage level (plan.MemoryOnly...).
func LevelName(level int) string {
	switch level {
	case plan.MemoryOnly:
		return "MEMORY_ONLY"
	case plan.MemoryAndDisk:
		return "MEMORY_AND_DISK"
	case plan.DiskOnly:
		return "DISK_ONLY"
	}
	return "NONE"
}

// Persisted registers a node marked for caching (its copy made by
// Persist); its partitions are cached by the tasks that compute them.
func (c *Context) Persisted(n *plan.Node) {
	c.mu.Lock()
	if c.cached == nil {
		c.cached = map[int]*cachedRDD{}
	}
	if _, ok := c.cached[n.ID]; !ok {
		c.cached[n.ID] = &cachedRDD{locs: make([]map[string]bool, n.NumPartitions)}
	}
	c.mu.Unlock()
	c.post(events.RDDPersisted{RDDID: n.ID, Name: n.Name, Level: LevelName(n.Persist), NumPartitions: n.NumPartitions})
}

// Unpersist stops caching n: later jobs compute it again, and the executors
// drop its blocks.
func (c *Context) Unpersist(n *plan.Node) {
	c.mu.Lock()
	n.Persist = 0
	_, known := c.cached[n.ID]
	delete(c.cached, n.ID)
	stopped := c.stopped
	c.mu.Unlock()
	if !known {
		return
	}
	c.post(events.RDDUnpersisted{RDDID: n.ID})
	if r, ok := c.be.(backend.CacheReleaser); ok && !stopped {
		r.ReleaseCached([]int32{int32(n.ID)})
	}
}

// blocksUpdated applies an executor's cached-block changes and returns the
// datasets it holds blocks of that are no longer persisted (to release
// again: the blocks were stored after the release). c.mu is held.
func (c *Context) blocksUpdated(execID string, ups []*pb.BlockUpdate) (stale []int32) {
	if _, ok := c.executors[execID]; !ok {
		return nil
	}
	now := c.clock.Now()
	for _, u := range ups {
		held := u.MemSize > 0 || u.DiskSize > 0
		r := c.cached[int(u.Node)]
		if r == nil {
			if held && !slices.Contains(stale, u.Node) {
				stale = append(stale, u.Node)
			}
			continue
		}
		if u.Partition < 0 || int(u.Partition) >= len(r.locs) {
			continue // not a partition of the dataset: ignored
		}
		p := int(u.Partition)
		if held {
			if r.locs[p] == nil {
				r.locs[p] = map[string]bool{}
			}
			r.locs[p][execID] = true
		} else {
			delete(r.locs[p], execID)
		}
		c.post(events.BlockUpdated{ExecutorID: execID, RDDID: int(u.Node), Partition: p, MemSize: u.MemSize, DiskSize: u.DiskSize, Time: now})
	}
	return stale
}

// forgetCachedOn forgets the blocks of a lost executor. c.mu is held.
func (c *Context) forgetCachedOn(execID string) {
	for _, r := range c.cached {
		for _, execs := range r.locs {
			delete(execs, execID)
		}
	}
}

// cacheLocations are the executors holding partition p of node id, as
// process-local preferences.
func (c *Context) cacheLocations(id, p int) []sched.Location {
	r := c.cached[id]
	if r == nil || p < 0 || p >= len(r.locs) {
		return nil
	}
	var locs []sched.Location
	for e := range r.locs[p] {
		if info, ok := c.executors[e]; ok {
			locs = append(locs, sched.Location{Host: info.Host, ExecutorID: e})
		}
	}
	sort.Slice(locs, func(i, j int) bool { return locs[i].ExecutorID < locs[j].ExecutorID })
	return locs
}

// cachedPreferred returns where the last cached dataset of a part is held
// (where its task can skip the most work), or nil.
func (c *Context) cachedPreferred(part plan.Part) []sched.Location {
	for i := len(part.Steps) - 1; i >= 0; i-- {
		st := part.Steps[i]
		if st.Node.Persist != 0 {
			if locs := c.cacheLocations(st.Node.ID, st.Partition); len(locs) > 0 {
				return locs
			}
		}
	}
	if part.Persisted != nil {
		return c.cacheLocations(part.Persisted.ID, part.PersistedPart)
	}
	if part.Source != nil && part.Source.Persist != 0 {
		return c.cacheLocations(part.Source.ID, part.Partition)
	}
	return nil
}

// CachedPartitions counts, for a persisted node, the partitions some
// executor holds (for tests and the UI).
func (c *Context) CachedPartitions(n *plan.Node) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.cached[n.ID]
	if r == nil {
		return 0
	}
	k := 0
	for _, e := range r.locs {
		if len(e) > 0 {
			k++
		}
	}
	return k
}
