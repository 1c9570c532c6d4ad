package driver

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/plan"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

func init() {
	registry.AddType[int]()
	registry.AddFunc(&registry.Func{Name: "driver.test.cacheID", Kind: registry.Map, In: "int", Out: "int", Apply: func(in any) any { return in }})
}

// cacheBackend runs tasks on two executors by answering them at once; a
// task whose last step is persisted reports its block stored, as an
// executor does. It records where each partition ran and what it was asked
// to release.
type cacheBackend struct {
	mu       sync.Mutex
	d        backend.Driver
	ran      map[int32]string // partition -> executor of its last launch
	released [][]int32
}

func (b *cacheBackend) Start(_ context.Context, d backend.Driver) error {
	b.d = d
	d.ExecutorAdded(backend.ExecutorInfo{ID: "e1", Host: "h1", Cores: 4})
	d.ExecutorAdded(backend.ExecutorInfo{ID: "e2", Host: "h2", Cores: 4})
	return nil
}
func (b *cacheBackend) Stop(context.Context) error { return nil }
func (b *cacheBackend) LaunchTasks(id string, tds []*pb.TaskDesc) error {
	b.mu.Lock()
	for _, td := range tds {
		b.ran[td.Partition] = id
	}
	b.mu.Unlock()
	go func() {
		for _, td := range tds {
			st := &pb.TaskStatus{TaskId: td.TaskId, State: pb.TaskState_SUCCEEDED, Result: &pb.TaskResult{}}
			if p := td.Steps[len(td.Steps)-1].Persist; p != nil {
				st.BlockUpdates = []*pb.BlockUpdate{{Node: p.Node, Partition: p.Partition, MemSize: 100}}
			}
			b.d.StatusUpdate(id, st)
		}
	}()
	return nil
}
func (b *cacheBackend) KillTask(string, int64, string) error { return nil }
func (b *cacheBackend) FetchResult(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("no stored results")
}
func (b *cacheBackend) Revive()                         {}
func (b *cacheBackend) RequestTotalExecutors(int) error { return nil }
func (b *cacheBackend) KillExecutors([]string) error    { return nil }
func (b *cacheBackend) DefaultParallelism() int         { return 8 }
func (b *cacheBackend) ApplicationID() string           { return "app-cache" }
func (b *cacheBackend) ReleaseCached(ids []int32) {
	b.mu.Lock()
	b.released = append(b.released, ids)
	b.mu.Unlock()
}

func (b *cacheBackend) placement() map[int32]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[int32]string{}
	for p, e := range b.ran {
		out[p] = e
	}
	return out
}

func cachedNode(c *Context, parts int) *plan.Node {
	data := make([][]byte, parts)
	src := &plan.Node{ID: c.NewNodeID(), Kind: plan.Parallelize, NumPartitions: parts, Type: "int", Data: data, Name: "parallelize"}
	n := &plan.Node{ID: c.NewNodeID(), Kind: plan.Narrow, Op: "driver.test.cacheID", Parents: []*plan.Node{src}, NumPartitions: parts, Type: "int", Name: "map", Persist: plan.MemoryOnly}
	c.Persisted(n)
	return n
}

func TestCachedPartitionsArePreferredAndForgotten(t *testing.T) {
	be := &cacheBackend{ran: map[int32]string{}}
	c, _ := newTestContext(t, be)
	n := cachedNode(c, 8)
	ctx := context.Background()
	count := &pb.Sink{Kind: &pb.Sink_Count{Count: true}}
	if _, err := c.RunJob(ctx, n, count, JobOptions{}); err != nil {
		t.Fatal(err)
	}
	first := be.placement()
	if got := c.CachedPartitions(n); got != 8 {
		t.Fatalf("driver knows %d cached partitions, want 8", got)
	}
	// Move every partition to the other executor (as if each had been
	// evicted there and cached on the other): tasks follow.
	flip := func(e string) string {
		if e == "e1" {
			return "e2"
		}
		return "e1"
	}
	for p, e := range first {
		c.StatusUpdate(e, &pb.TaskStatus{TaskId: -1, BlockUpdates: []*pb.BlockUpdate{{Node: int32(n.ID), Partition: p}}})
		c.StatusUpdate(flip(e), &pb.TaskStatus{TaskId: -1, BlockUpdates: []*pb.BlockUpdate{{Node: int32(n.ID), Partition: p, DiskSize: 10}}})
		first[p] = flip(e)
	}
	// Tasks go where their partition is cached, again and again.
	for range 3 {
		if _, err := c.RunJob(ctx, n, count, JobOptions{}); err != nil {
			t.Fatal(err)
		}
		for p, e := range be.placement() {
			if first[p] != e {
				t.Fatalf("partition %d cached on %s ran on %s", p, first[p], e)
			}
		}
	}
	held := func(exec string) (ps []int32) {
		for p, e := range first {
			if e == exec {
				ps = append(ps, p)
			}
		}
		return ps
	}
	// An eviction report forgets one partition.
	victim := held("e1")
	if len(victim) == 0 {
		victim = held("e2")
	}
	exec := first[victim[0]]
	c.StatusUpdate(exec, &pb.TaskStatus{TaskId: -1, BlockUpdates: []*pb.BlockUpdate{{Node: int32(n.ID), Partition: victim[0]}}})
	if got := c.CachedPartitions(n); got != 7 {
		t.Fatalf("after an eviction the driver knows %d cached partitions, want 7", got)
	}
	// Losing the executor forgets the rest of its partitions.
	c.ExecutorLost(exec, "test")
	if got := c.CachedPartitions(n); got != 8-len(held(exec)) {
		t.Fatalf("after losing %s (%d partitions) the driver knows %d cached partitions", exec, len(held(exec)), got)
	}
	// Malformed updates (unknown partition, unknown executor) are ignored.
	other := "e1"
	if exec == "e1" {
		other = "e2"
	}
	c.StatusUpdate(other, &pb.TaskStatus{TaskId: -1, BlockUpdates: []*pb.BlockUpdate{{Node: int32(n.ID), Partition: 99, MemSize: 1}, {Node: int32(n.ID), Partition: -1, MemSize: 1}}})
	c.StatusUpdate(exec, &pb.TaskStatus{TaskId: -1, BlockUpdates: []*pb.BlockUpdate{{Node: int32(n.ID), Partition: 0, MemSize: 1}}})
	if got := c.CachedPartitions(n); got != 8-len(held(exec)) {
		t.Fatalf("malformed updates changed the cached partitions to %d", got)
	}

	c.Unpersist(n)
	if n.Persist != 0 || c.CachedPartitions(n) != 0 {
		t.Fatalf("after Unpersist: level %d, %d cached partitions", n.Persist, c.CachedPartitions(n))
	}
	// A block stored after the release is released again.
	c.StatusUpdate(other, &pb.TaskStatus{TaskId: -1, BlockUpdates: []*pb.BlockUpdate{{Node: int32(n.ID), Partition: 1, MemSize: 1}}})
	be.mu.Lock()
	released := slices.Clone(be.released)
	be.mu.Unlock()
	want := [][]int32{{int32(n.ID)}, {int32(n.ID)}}
	if len(released) != 2 || !slices.Equal(released[0], want[0]) || !slices.Equal(released[1], want[1]) {
		t.Fatalf("released %v, want %v", released, want)
	}
}
