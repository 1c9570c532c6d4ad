package stoke_test

import (
	"bufio"
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/internal/ui"
	"github.com/stoke-run/stoke/standalone"
)

// persistCalls counts the records persistDouble computed (in this
// process: local masters).
var persistCalls atomic.Int64

var (
	persistDouble = stoke.RegisterMap("test.persistDouble", func(n int) int { persistCalls.Add(1); return 2 * n })
	persistPlus1  = stoke.RegisterMap("test.persistPlus1", func(n int) int { return n + 1 })
	// persistTouch appends a line to $STOKE_TEST_PERSIST_FILE for every
	// partition it computes, in whichever process runs it.
	persistTouch = stoke.RegisterMapPartitions("test.persistTouch", func(in iter.Seq[int]) iter.Seq[int] {
		return func(yield func(int) bool) {
			if path := os.Getenv("STOKE_TEST_PERSIST_FILE"); path != "" {
				f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
				if err != nil {
					panic(err)
				}
				fmt.Fprintf(f, "%d\n", os.Getpid())
				f.Close()
			}
			for r := range in {
				if !yield(r) {
					return
				}
			}
		}
	})
)

func doubles(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 2 * i
	}
	return out
}

func TestCachedDatasetIsComputedOnce(t *testing.T) {
	for _, level := range []stoke.StorageLevel{stoke.MemoryOnly, stoke.MemoryAndDisk, stoke.DiskOnly} {
		t.Run(level.String(), func(t *testing.T) {
			store := ui.NewStore()
			sc := newContext(t, stoke.Config{"stoke.master": "local[2]"}, stoke.WithListener(store))
			ctx := context.Background()
			base := stoke.Map(must(stoke.Parallelize(sc, ints(1000), 4)), persistDouble)
			cached := base.Persist(level)
			if cached.StorageLevel() != level || base.StorageLevel() != 0 {
				t.Fatalf("levels: cached %v, base %v", cached.StorageLevel(), base.StorageLevel())
			}
			if again := cached.Persist(level); again != cached {
				t.Fatal("persisting a persisted dataset made another one")
			}
			persistCalls.Store(0)
			if n, err := stoke.Count(ctx, cached); err != nil || n != 1000 {
				t.Fatalf("count = %d, %v", n, err)
			}
			got, err := stoke.Collect(ctx, cached)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, doubles(1000)) {
				t.Fatal("collect of the cached dataset differs")
			}
			// Operators built on the cached dataset read it too.
			plus, err := stoke.Collect(ctx, stoke.Map(cached, persistPlus1))
			if err != nil || len(plus) != 1000 || plus[999] != 1999 {
				t.Fatalf("map over the cache: %d records, %v", len(plus), err)
			}
			if n := persistCalls.Load(); n != 1000 {
				t.Fatalf("the function ran %d times over three actions; want 1000 (once per record)", n)
			}
			testutil.Eventually(t, testutil.D(10*time.Second), "the UI lists the cached partitions", func() bool {
				s := store.Storage()
				return len(s) == 1 && s[0].NumCachedPartitions == 4 && s[0].StorageLevel == level.String()
			})
			s := store.Storage()[0]
			if (level == stoke.DiskOnly) != (s.MemoryUsed == 0) || (level == stoke.DiskOnly) != (s.DiskUsed > 0) {
				t.Fatalf("%v: memory %d, disk %d", level, s.MemoryUsed, s.DiskUsed)
			}
			// The dataset it was persisted from is not cached.
			if _, err := stoke.Count(ctx, base); err != nil {
				t.Fatal(err)
			}
			if n := persistCalls.Load(); n != 2000 {
				t.Fatalf("the unpersisted original: %d calls in all, want 2000", n)
			}
		})
	}
}

func TestUnpersistRecomputes(t *testing.T) {
	store := ui.NewStore()
	sc := newContext(t, stoke.Config{"stoke.master": "local[2]"}, stoke.WithListener(store))
	ctx := context.Background()
	cached := stoke.Map(must(stoke.Parallelize(sc, ints(100), 2)), persistDouble).Cache()
	persistCalls.Store(0)
	for range 2 {
		if _, err := stoke.Count(ctx, cached); err != nil {
			t.Fatal(err)
		}
	}
	if n := persistCalls.Load(); n != 100 {
		t.Fatalf("%d calls before unpersist", n)
	}
	testutil.Eventually(t, testutil.D(10*time.Second), "the UI lists the dataset", func() bool { return len(store.Storage()) == 1 })
	cached.Unpersist()
	if cached.StorageLevel() != 0 {
		t.Fatal("still persisted after Unpersist")
	}
	got, err := stoke.Collect(ctx, cached)
	if err != nil || !slices.Equal(got, doubles(100)) {
		t.Fatalf("after unpersist: %v, %v", got, err)
	}
	if n := persistCalls.Load(); n != 200 {
		t.Fatalf("%d calls after unpersist; want 200 (computed again)", n)
	}
	testutil.Eventually(t, testutil.D(10*time.Second), "the UI drops the dataset", func() bool { return len(store.Storage()) == 0 })
	cached.Unpersist() // twice: nothing
	// Persisted again, it is cached again.
	again := cached.Cache()
	for range 2 {
		if _, err := stoke.Count(ctx, again); err != nil {
			t.Fatal(err)
		}
	}
	if n := persistCalls.Load(); n != 300 {
		t.Fatalf("%d calls after caching again; want 300", n)
	}
}

func TestStoragePageShowsCachedDataset(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "true", "stoke.ui.port": "0"})
	cached := stoke.Map(must(stoke.Parallelize(sc, ints(100), 3)), persistDouble).Persist(stoke.MemoryAndDisk)
	if _, err := stoke.Count(context.Background(), cached); err != nil {
		t.Fatal(err)
	}
	var rdds []map[string]any
	testutil.Eventually(t, testutil.D(10*time.Second), "storage/rdd lists 3 cached partitions", func() bool {
		getJSON(t, sc.UIURL()+"/api/v1/applications/"+sc.AppID()+"/storage/rdd", &rdds)
		return len(rdds) == 1 && rdds[0]["numCachedPartitions"] == 3.0
	})
	if rdds[0]["storageLevel"] != "MEMORY_AND_DISK" || rdds[0]["memoryUsed"].(float64) <= 0 || rdds[0]["numPartitions"] != 3.0 {
		t.Fatalf("storage/rdd: %v", rdds)
	}
	page := get(t, sc.UIURL()+"/storage/")
	if !strings.Contains(page, "map test.persistDouble") || !strings.Contains(page, "3/3") {
		t.Fatalf("storage page:\n%s", page)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}

// A cached partition lost with its executor process is recomputed from
// the lineage; the others are read from the surviving executor's cache.
func TestCachedPartitionLostWithItsExecutorIsRecomputed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	touched := filepath.Join(t.TempDir(), "touched")
	t.Setenv("STOKE_TEST_PERSIST_FILE", touched)
	rec := backendtest.NewRecorder()
	// A long locality wait: a task whose partition is cached waits for the
	// executor holding it, however slow the machine.
	sc := newContext(t, stoke.Config{"stoke.master": "local-cluster[2,1,1024]", "stoke.locality.wait": "60s"}, stoke.WithListener(rec))
	ctx := context.Background()
	const parts = 6
	cached := stoke.MapPartitions(must(stoke.Parallelize(sc, ints(600), parts)), persistTouch).Cache()
	if n, err := stoke.Count(ctx, cached); err != nil || n != 600 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if n := countLines(t, touched); n != parts {
		t.Fatalf("first job computed %d partitions, want %d", n, parts)
	}
	// Where each partition is cached, once the driver has heard of all.
	holder := map[int]string{}
	rec.Wait(ctx.Done(), func(es []events.Event) bool {
		for _, e := range es {
			if b, ok := e.(events.BlockUpdated); ok && b.MemSize > 0 {
				holder[b.Partition] = b.ExecutorID
			}
		}
		return len(holder) == parts
	})
	// A second action reads the cache: nothing is computed.
	if _, err := stoke.Count(ctx, cached); err != nil {
		t.Fatal(err)
	}
	if n := countLines(t, touched); n != parts {
		t.Fatalf("second job computed %d partitions, want none", n-parts)
	}
	victim := holder[0]
	lost := 0
	for _, e := range holder {
		if e == victim {
			lost++
		}
	}
	lc := sc.Backend().(*standalone.LocalCluster)
	pid, ok := lc.ExecutorPID(victim)
	if !ok {
		t.Fatalf("no process for executor %s", victim)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	rec.Wait(ctx.Done(), func(es []events.Event) bool {
		for _, e := range es {
			if r, ok := e.(events.ExecutorRemoved); ok && r.ExecutorID == victim {
				return true
			}
		}
		return false
	})
	got, err := stoke.Collect(ctx, cached)
	if err != nil || !slices.Equal(got, ints(600)) {
		t.Fatalf("after losing executor %s: %d records, %v", victim, len(got), err)
	}
	if n := countLines(t, touched) - parts; n != lost {
		t.Fatalf("after losing an executor that held %d partitions, %d were recomputed", lost, n)
	}
}

// With storage memory for about one partition, MemoryOnly partitions are
// evicted and recomputed, MemoryAndDisk ones go to disk and are read back:
// both give the same records.
func TestEvictionUnderTinyStorageMemory(t *testing.T) {
	const n, parts = 40000, 4
	// Storage memory for one and a half of the largest partition's block.
	block, err := registry.EncodeSlice(doubles(n)[n-n/parts:])
	if err != nil {
		t.Fatal(err)
	}
	memory := fmt.Sprintf("%dk", (len(block)+64)*3/2/1024)
	for _, tc := range []struct {
		level      stoke.StorageLevel
		recomputed bool
	}{{stoke.MemoryOnly, true}, {stoke.MemoryAndDisk, false}} {
		t.Run(tc.level.String(), func(t *testing.T) {
			store := ui.NewStore()
			sc := newContext(t, stoke.Config{
				"stoke.master": "local[2]", "stoke.driver.memory": memory,
				"stoke.memory.reserved": "0", "stoke.memory.fraction": "1", "stoke.memory.storageFraction": "1",
			}, stoke.WithListener(store))
			ctx := context.Background()
			cached := stoke.Map(must(stoke.Parallelize(sc, ints(n), parts)), persistDouble).Persist(tc.level)
			persistCalls.Store(0)
			for range 2 {
				got, err := stoke.Collect(ctx, cached)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, doubles(n)) {
					t.Fatal("records differ")
				}
			}
			calls := persistCalls.Load()
			if tc.recomputed && calls <= n {
				t.Fatalf("%d calls: evicted MemoryOnly partitions must be recomputed", calls)
			}
			if !tc.recomputed && calls != n {
				t.Fatalf("%d calls, want %d: evicted MemoryAndDisk partitions are read from disk", calls, n)
			}
			testutil.Eventually(t, testutil.D(10*time.Second), "the UI sees the blocks", func() bool {
				s := store.Storage()
				if len(s) != 1 {
					return false
				}
				if tc.recomputed {
					return s[0].NumCachedPartitions > 0 && s[0].NumCachedPartitions < parts && s[0].DiskUsed == 0
				}
				return s[0].NumCachedPartitions == parts && s[0].DiskUsed > 0 && s[0].MemoryUsed > 0
			})
		})
	}
}

// Persisting a keyed result reuses the shuffle already computed for it.
func TestPersistedShuffleReusesItsShuffle(t *testing.T) {
	rec := backendtest.NewRecorder()
	sc := newContext(t, stoke.Config{"stoke.master": "local[2]"}, stoke.WithListener(rec))
	ctx := context.Background()
	reduced := stoke.ReduceByKey(stoke.Map(must(stoke.Parallelize(sc, ints(30), 3)), byMod), plus, 2)
	want, err := stoke.Collect(ctx, reduced)
	if err != nil {
		t.Fatal(err)
	}
	cached := reduced.Cache()
	for range 2 {
		got, err := stoke.Collect(ctx, cached)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("cached reduce: %v, %v; want %v", got, err, want)
		}
	}
	rec.Wait(ctx.Done(), func(es []stoke.Event) bool { return countEnds(es) == 3 })
	if tasks := len(rec.TaskStarts()); tasks != 3+2+2+2 {
		t.Fatalf("%d tasks ran; want 3 map + 2 reduce, then 2 reduce twice (map output reused)", tasks)
	}
}

func TestPersistRefusesUnknownLevelsAndKeepsTheFirst(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.master": "local[2]"})
	ds := must(stoke.Parallelize(sc, ints(10), 2))
	for _, bad := range []stoke.StorageLevel{0, -1, 4} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "MemoryOnly, MemoryAndDisk or DiskOnly") {
					t.Errorf("Persist(%d): recovered %v", bad, r)
				}
			}()
			ds.Persist(bad)
		}()
	}
	disk := ds.Persist(stoke.DiskOnly)
	if again := disk.Persist(stoke.MemoryOnly); again.StorageLevel() != stoke.DiskOnly {
		t.Fatalf("level changed to %v without Unpersist", again.StorageLevel())
	}
	if stoke.StorageLevel(0).String() != "NONE" || stoke.MemoryAndDisk.String() != "MEMORY_AND_DISK" {
		t.Fatal("level names")
	}
}

func TestPersistedUnionAndCoalesceAreComputedOnce(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.master": "local[2]"})
	ctx := context.Background()
	a := stoke.Map(must(stoke.Parallelize(sc, ints(100), 2)), persistDouble)
	b := stoke.Map(must(stoke.Parallelize(sc, ints(50), 3)), persistDouble)
	u := stoke.Union(a, b).Cache()
	c := stoke.Coalesce(stoke.Map(must(stoke.Parallelize(sc, ints(100), 4)), persistDouble), 2).Persist(stoke.MemoryAndDisk)
	for _, tc := range []struct {
		name string
		ds   stoke.Dataset[int]
		want []int
	}{{"union", u, append(doubles(100), doubles(50)...)}, {"coalesce", c, doubles(100)}} {
		persistCalls.Store(0)
		for range 2 {
			got, err := stoke.Collect(ctx, tc.ds)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("%s: %v, %v", tc.name, got, err)
			}
		}
		if n := persistCalls.Load(); n != int64(len(tc.want)) {
			t.Fatalf("%s: %d calls over two actions, want %d", tc.name, n, len(tc.want))
		}
	}
}

// Take reads a partition only in part: that is not cached, and the next
// action computes it whole (and caches it).
func TestTakeDoesNotCachePartialPartitions(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.master": "local[2]"})
	ctx := context.Background()
	cached := stoke.Map(must(stoke.Parallelize(sc, ints(10000), 2)), persistDouble).Cache()
	persistCalls.Store(0)
	got, err := stoke.Take(ctx, cached, 3)
	if err != nil || !slices.Equal(got, []int{0, 2, 4}) {
		t.Fatalf("take: %v, %v", got, err)
	}
	took := persistCalls.Load()
	if took >= 5000 {
		t.Fatalf("take computed %d records; it should stop early", took)
	}
	for range 2 {
		if n, err := stoke.Count(ctx, cached); err != nil || n != 10000 {
			t.Fatalf("count = %d, %v", n, err)
		}
	}
	if n := persistCalls.Load() - took; n != 10000 {
		t.Fatalf("counts after take computed %d records, want 10000 (both partitions whole, once)", n)
	}
	// Take over the now cached dataset computes nothing.
	if _, err := stoke.Take(ctx, cached, 3); err != nil {
		t.Fatal(err)
	}
	if n := persistCalls.Load() - took; n != 10000 {
		t.Fatalf("take over the cache computed %d more records", n-10000)
	}
}
