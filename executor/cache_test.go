package executor

import (
	"context"
	"iter"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stoke-run/stoke/internal/memory"
	"github.com/stoke-run/stoke/internal/plan"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/spill"
)

// cacheCalls counts records through the cacheTriple test function.
var cacheCalls atomic.Int64

func init() {
	registry.AddType[int]()
	registry.AddFunc(&registry.Func{Name: "executor.test.cacheTriple", Kind: registry.Map, In: "int", Out: "int",
		Apply: func(src any) any {
			s := src.(iter.Seq[int])
			return iter.Seq[int](func(yield func(int) bool) {
				for r := range s {
					cacheCalls.Add(1)
					if !yield(3 * r) {
						return
					}
				}
			})
		}})
}

const cacheNode = 41

func mustEncode(t *testing.T, recs []int) []byte {
	t.Helper()
	b, err := registry.EncodeSlice(recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cacheTask collects partition p of parallelize(input) -> triple, the
// triple persisted at level.
func cacheTask(t *testing.T, id int64, p int32, input []int, level int32) *pb.TaskDesc {
	return &pb.TaskDesc{
		TaskId:    id,
		Partition: p,
		Source:    &pb.Source{Kind: &pb.Source_Parallelize{Parallelize: mustEncode(t, input)}, Type: "int"},
		Steps:     []*pb.Step{{Func: "executor.test.cacheTriple", Persist: &pb.Persist{Node: cacheNode, Level: level, Partition: p}}},
		Sink:      &pb.Sink{Kind: &pb.Sink_Collect{Collect: "int"}},
	}
}

func run1(t *testing.T, env *Env, td *pb.TaskDesc) []int {
	t.Helper()
	st := Run(context.Background(), env, td)
	if st.State != pb.TaskState_SUCCEEDED {
		t.Fatalf("task %d: %v %s", td.TaskId, st.State, st.Error)
	}
	got, err := registry.DecodeSlice[int](st.Result.Value)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func tripled(in []int) []int {
	out := make([]int, len(in))
	for i, v := range in {
		out[i] = 3 * v
	}
	return out
}

func span(lo, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = lo + i
	}
	return out
}

// tinyMemory is a manager whose storage holds one block of blockBytes but
// not two.
func tinyMemory(blockBytes int64) *memory.Manager {
	return memory.New(memory.Config{Total: blockBytes * 3 / 2, Fraction: 1, StorageFraction: 1})
}

// twoBlocks returns the storage sizes of partitions 0 and 1 of the
// eviction tests and a manager that holds either but not both.
func twoBlocks(t *testing.T, in0, in1 []int) (s0, s1 int64, mem *memory.Manager) {
	s0 = int64(len(mustEncode(t, tripled(in0)))) + blockOverhead
	s1 = int64(len(mustEncode(t, tripled(in1)))) + blockOverhead
	total := max(s0, s1) + min(s0, s1)/2
	return s0, s1, memory.New(memory.Config{Total: total, Fraction: 1, StorageFraction: 1})
}

func newCacheEnv(t *testing.T, mem *memory.Manager) *Env {
	t.Helper()
	store := NewBlockStore()
	t.Cleanup(func() { store.Close() })
	dirs, err := spill.NewDirs([]string{t.TempDir()}, "cache-test")
	if err != nil {
		t.Fatal(err)
	}
	return &Env{ExecutorID: "e1", Blocks: store, Memory: mem, Spill: dirs}
}

func TestCachedStepIsComputedOnce(t *testing.T) {
	env := newCacheEnv(t, nil)
	in := span(0, 500)
	before := cacheCalls.Load()
	first := run1(t, env, cacheTask(t, 1, 0, in, plan.MemoryOnly))
	second := run1(t, env, cacheTask(t, 2, 0, in, plan.MemoryOnly))
	if n := cacheCalls.Load() - before; n != int64(len(in)) {
		t.Fatalf("the function ran %d times over two tasks; want %d (the second reads the cache)", n, len(in))
	}
	if !slices.Equal(first, tripled(in)) || !slices.Equal(second, first) {
		t.Fatal("cached partition differs from the computed one")
	}
	ups := env.Blocks.TakeBlockUpdates()
	if len(ups) != 1 || ups[0].Node != cacheNode || ups[0].Partition != 0 || ups[0].MemSize <= 0 || ups[0].DiskSize != 0 {
		t.Fatalf("block updates %v", ups)
	}
	if more := env.Blocks.TakeBlockUpdates(); len(more) != 0 {
		t.Fatalf("updates reported twice: %v", more)
	}
}

func TestEmptyPartitionIsCached(t *testing.T) {
	env := newCacheEnv(t, nil)
	run1(t, env, cacheTask(t, 1, 0, nil, plan.MemoryOnly))
	ups := env.Blocks.TakeBlockUpdates()
	if len(ups) != 1 || ups[0].MemSize <= 0 {
		t.Fatalf("an empty partition must be held with a non-zero size: %v", ups)
	}
	if got := run1(t, env, cacheTask(t, 2, 0, nil, plan.MemoryOnly)); len(got) != 0 {
		t.Fatalf("empty partition read back as %v", got)
	}
}

func TestMemoryOnlyEvictionRecomputesTheSameRecords(t *testing.T) {
	in0, in1 := span(0, 2000), span(5000, 2000)
	size0, size1, mem := twoBlocks(t, in0, in1)
	env := newCacheEnv(t, mem)

	want0 := run1(t, env, cacheTask(t, 1, 0, in0, plan.MemoryOnly))
	run1(t, env, cacheTask(t, 2, 1, in1, plan.MemoryOnly)) // evicts partition 0
	ups := env.Blocks.TakeBlockUpdates()
	if len(ups) != 3 || ups[1].Partition != 0 || ups[1].MemSize != 0 || ups[1].DiskSize != 0 || ups[2].Partition != 1 || ups[2].MemSize == 0 {
		t.Fatalf("updates %v: want 0 stored, 0 dropped, 1 stored", ups)
	}
	if st := mem.Stats(); st.StorageUsed != size1 || st.Evicted != size0 {
		t.Fatalf("storage used %d, evicted %d; want %d and %d", st.StorageUsed, st.Evicted, size1, size0)
	}
	before := cacheCalls.Load()
	again := run1(t, env, cacheTask(t, 3, 0, in0, plan.MemoryOnly))
	if n := cacheCalls.Load() - before; n != int64(len(in0)) {
		t.Fatalf("evicted partition: function ran %d times, want %d (recomputed)", n, len(in0))
	}
	if !slices.Equal(again, want0) {
		t.Fatal("recomputed partition differs")
	}
}

func TestMemoryAndDiskEvictedBlockIsReadFromDisk(t *testing.T) {
	in0, in1 := span(0, 2000), span(5000, 2000)
	_, size1, mem := twoBlocks(t, in0, in1)
	env := newCacheEnv(t, mem)

	want0 := run1(t, env, cacheTask(t, 1, 0, in0, plan.MemoryAndDisk))
	run1(t, env, cacheTask(t, 2, 1, in1, plan.MemoryAndDisk)) // pushes 0 to disk
	ups := env.Blocks.TakeBlockUpdates()
	if len(ups) != 3 || ups[1].Partition != 0 || ups[1].MemSize != 0 || ups[1].DiskSize <= 0 {
		t.Fatalf("updates %v: want partition 0 moved to disk", ups)
	}
	if m, d := env.Blocks.CachedBytes(); m != size1 || d <= 0 {
		t.Fatalf("cached bytes memory %d disk %d", m, d)
	}
	before := cacheCalls.Load()
	if got := run1(t, env, cacheTask(t, 3, 0, in0, plan.MemoryAndDisk)); !slices.Equal(got, want0) {
		t.Fatal("partition read back from disk differs")
	}
	if n := cacheCalls.Load() - before; n != 0 {
		t.Fatalf("the function ran %d times; the partition is on disk", n)
	}
}

func TestDamagedDiskBlockIsRecomputed(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"flipped byte": func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b },
		"truncated":    func(b []byte) []byte { return b[:len(b)-3] },
		"bad header":   func(b []byte) []byte { copy(b, "XXXX"); return b },
		"empty":        func([]byte) []byte { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			env := newCacheEnv(t, nil)
			in := span(0, 300)
			run1(t, env, cacheTask(t, 1, 0, in, plan.DiskOnly))
			path := env.Blocks.cache.blocks[rddKey{cacheNode, 0}].path
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			env.Blocks.TakeBlockUpdates()
			before := cacheCalls.Load()
			if got := run1(t, env, cacheTask(t, 2, 0, in, plan.DiskOnly)); !slices.Equal(got, tripled(in)) {
				t.Fatal("wrong records after a damaged block")
			}
			if n := cacheCalls.Load() - before; n != int64(len(in)) {
				t.Fatalf("function ran %d times; the damaged block must be recomputed", n)
			}
			ups := env.Blocks.TakeBlockUpdates()
			if len(ups) != 2 || ups[0].DiskSize != 0 || ups[1].DiskSize <= 0 {
				t.Fatalf("updates %v: want the damaged block dropped, then stored again", ups)
			}
		})
	}
}

func TestDiskOnlyGoesStraightToDisk(t *testing.T) {
	mem := tinyMemory(1 << 20)
	env := newCacheEnv(t, mem)
	run1(t, env, cacheTask(t, 1, 0, span(0, 100), plan.DiskOnly))
	if m, d := env.Blocks.CachedBytes(); m != 0 || d <= 0 {
		t.Fatalf("DiskOnly: memory %d, disk %d", m, d)
	}
	if used := mem.Stats().StorageUsed; used != 0 {
		t.Fatalf("DiskOnly took %d bytes of storage memory", used)
	}
}

func TestBlockTooLargeForMemoryIsNotCached(t *testing.T) {
	env := newCacheEnv(t, tinyMemory(100))
	in := span(0, 5000)
	got := run1(t, env, cacheTask(t, 1, 0, in, plan.MemoryOnly))
	if !slices.Equal(got, tripled(in)) {
		t.Fatal("wrong records")
	}
	if ups := env.Blocks.TakeBlockUpdates(); len(ups) != 0 {
		t.Fatalf("a block larger than storage memory was cached: %v", ups)
	}
	// MemoryAndDisk puts it on disk instead.
	run1(t, env, cacheTask(t, 2, 1, in, plan.MemoryAndDisk))
	if m, d := env.Blocks.CachedBytes(); m != 0 || d <= 0 {
		t.Fatalf("MemoryAndDisk too large for memory: memory %d, disk %d", m, d)
	}
}

func TestKilledTaskCachesNothing(t *testing.T) {
	env := newCacheEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st := Run(ctx, env, cacheTask(t, 1, 0, span(0, 5000), plan.MemoryOnly))
	if st.State != pb.TaskState_KILLED {
		t.Fatalf("state %v", st.State)
	}
	if ups := env.Blocks.TakeBlockUpdates(); len(ups) != 0 {
		t.Fatalf("a partition read only in part was cached: %v", ups)
	}
}

func TestPartialReadIsNotCached(t *testing.T) {
	typ, err := registry.LookupType("int")
	if err != nil {
		t.Fatal(err)
	}
	called := false
	seq := typ.Cache(registry.SliceSeq([]int{1, 2, 3}), func([]byte, error) { called = true }).(iter.Seq[int])
	for range seq {
		break
	}
	if called {
		t.Fatal("a partition read in part was handed to the cache")
	}
	var block []byte
	seq = typ.Cache(registry.SliceSeq([]int{1, 2, 3}), func(b []byte, _ error) { block = b }).(iter.Seq[int])
	for range seq {
	}
	if got, _ := registry.DecodeSlice[int](block); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("cached block decodes to %v", got)
	}
}

func TestUnknownStorageLevelFailsTheTask(t *testing.T) {
	env := newCacheEnv(t, nil)
	st := Run(context.Background(), env, cacheTask(t, 1, 0, span(0, 3), 9))
	if st.State != pb.TaskState_FAILED {
		t.Fatalf("storage level 9: %v %s", st.State, st.Error)
	}
}

func TestReleaseCachedDropsMemoryAndDisk(t *testing.T) {
	mem := tinyMemory(1 << 20)
	env := newCacheEnv(t, mem)
	run1(t, env, cacheTask(t, 1, 0, span(0, 100), plan.MemoryOnly))
	run1(t, env, cacheTask(t, 2, 1, span(0, 100), plan.DiskOnly))
	path := env.Blocks.cache.blocks[rddKey{cacheNode, 1}].path
	env.Blocks.TakeBlockUpdates()
	env.Blocks.ReleaseCached([]int32{cacheNode + 1}) // another dataset: nothing
	if m, d := env.Blocks.CachedBytes(); m == 0 || d == 0 {
		t.Fatal("releasing another dataset dropped blocks")
	}
	env.Blocks.ReleaseCached([]int32{cacheNode})
	if m, d := env.Blocks.CachedBytes(); m != 0 || d != 0 {
		t.Fatalf("after release: memory %d disk %d", m, d)
	}
	if used := mem.Stats().StorageUsed; used != 0 {
		t.Fatalf("storage memory %d still charged after release", used)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("disk block still there: %v", err)
	}
	if ups := env.Blocks.TakeBlockUpdates(); len(ups) != 2 || ups[0].MemSize+ups[0].DiskSize+ups[1].MemSize+ups[1].DiskSize != 0 {
		t.Fatalf("release updates %v", ups)
	}
}

// A pipeline with two persisted steps starts after the last one it holds.
func TestPipelineStartsAtTheLastCachedStep(t *testing.T) {
	env := newCacheEnv(t, nil)
	in := span(0, 100)
	td := func(id int64) *pb.TaskDesc {
		return &pb.TaskDesc{
			TaskId: id,
			Source: &pb.Source{Kind: &pb.Source_Parallelize{Parallelize: mustEncode(t, in)}, Type: "int",
				Persist: &pb.Persist{Node: 50, Level: plan.MemoryOnly}},
			Steps: []*pb.Step{
				{Func: "executor.test.cacheTriple", Persist: &pb.Persist{Node: 51, Level: plan.MemoryOnly}},
				{Func: "executor.test.cacheTriple"},
			},
			Sink: &pb.Sink{Kind: &pb.Sink_Collect{Collect: "int"}},
		}
	}
	before := cacheCalls.Load()
	first := run1(t, env, td(1))
	if n := cacheCalls.Load() - before; n != 200 {
		t.Fatalf("first run: %d calls", n)
	}
	if ups := env.Blocks.TakeBlockUpdates(); len(ups) != 2 {
		t.Fatalf("want the source and the first step cached: %v", ups)
	}
	before = cacheCalls.Load()
	if got := run1(t, env, td(2)); !slices.Equal(got, first) {
		t.Fatal("different records from the cache")
	}
	if n := cacheCalls.Load() - before; n != 100 {
		t.Fatalf("second run: %d calls, want 100 (only the step after the cached one)", n)
	}
	// Without the step's block, the source's block is read and the step
	// cached again.
	env.Blocks.ReleaseCached([]int32{51})
	env.Blocks.TakeBlockUpdates()
	before = cacheCalls.Load()
	run1(t, env, td(3))
	if n := cacheCalls.Load() - before; n != 200 {
		t.Fatalf("third run: %d calls", n)
	}
	if ups := env.Blocks.TakeBlockUpdates(); len(ups) != 1 || ups[0].Node != 51 {
		t.Fatalf("third run updates %v", ups)
	}
}

// Tasks caching and reading concurrently while execution memory evicts
// blocks: every task gets its partition's records, and the memory manager's
// storage accounting matches what the cache holds (run with -race).
func TestConcurrentCachingUnderEviction(t *testing.T) {
	in := span(0, 400)
	size := int64(len(mustEncode(t, tripled(in)))) + blockOverhead
	mem := memory.New(memory.Config{Total: 6 * size, Fraction: 1, StorageFraction: 0.25})
	env := newCacheEnv(t, mem)
	want := tripled(in)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				p := int32((g + i) % 10)
				level := int32(plan.MemoryOnly)
				if p%2 == 0 {
					level = plan.MemoryAndDisk
				}
				st := Run(context.Background(), env, cacheTask(t, int64(g*100+i), p, in, level))
				if st.State != pb.TaskState_SUCCEEDED {
					errs <- st.Error
					return
				}
				if got, _ := registry.DecodeSlice[int](st.Result.Value); !slices.Equal(got, want) {
					errs <- "wrong records"
					return
				}
				// Execution memory borrowing storage evicts blocks.
				task := int64(1000 + g)
				mem.AcquireExecution(task, 3*size)
				mem.ReleaseAllExecution(task)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	m, _ := env.Blocks.CachedBytes()
	if used := mem.Stats().StorageUsed; used != m {
		t.Fatalf("manager charges %d bytes of storage, the cache holds %d in memory", used, m)
	}
	if mem.Stats().Evicted == 0 {
		t.Fatal("nothing was evicted; the test did not exercise eviction")
	}
}

// A persisted concatenation (union, coalesce) is cached as one block and
// read from it without opening its parts.
func TestPersistedConcatIsReadWhole(t *testing.T) {
	env := newCacheEnv(t, nil)
	part := func(in []int) *pb.Pipeline {
		return &pb.Pipeline{
			Source: &pb.Source{Kind: &pb.Source_Parallelize{Parallelize: mustEncode(t, in)}, Type: "int"},
			Steps:  []*pb.Step{{Func: "executor.test.cacheTriple"}},
		}
	}
	td := func(id int64) *pb.TaskDesc {
		return &pb.TaskDesc{
			TaskId: id,
			Source: &pb.Source{Kind: &pb.Source_Concat{Concat: &pb.Concat{Parts: []*pb.Pipeline{part(span(0, 50)), part(span(50, 50))}}}, Type: "int",
				Persist: &pb.Persist{Node: 60, Level: plan.MemoryAndDisk, Partition: 2}},
			Sink: &pb.Sink{Kind: &pb.Sink_Collect{Collect: "int"}},
		}
	}
	before := cacheCalls.Load()
	first := run1(t, env, td(1))
	second := run1(t, env, td(2))
	if n := cacheCalls.Load() - before; n != 100 {
		t.Fatalf("%d calls over two tasks, want 100", n)
	}
	if !slices.Equal(first, tripled(span(0, 100))) || !slices.Equal(second, first) {
		t.Fatal("records differ")
	}
	if ups := env.Blocks.TakeBlockUpdates(); len(ups) != 1 || ups[0].Node != 60 || ups[0].Partition != 2 {
		t.Fatalf("updates %v", ups)
	}
}
