package memory

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"
)

// cache models the block store behind the Evictor: every granted storage
// request is one block; eviction drops the oldest blocks first.
type cache struct {
	blocks   []int64
	requests []int64 // need passed to each eviction
}

func (c *cache) evict(need int64) int64 {
	c.requests = append(c.requests, need)
	var freed int64
	for freed < need && len(c.blocks) > 0 {
		freed += c.blocks[0]
		c.blocks = c.blocks[1:]
	}
	return freed
}

func (c *cache) total() int64 {
	var t int64
	for _, b := range c.blocks {
		t += b
	}
	return t
}

// testConfig has a unified region of 1000 bytes with a storage region of 500.
var testConfig = Config{Total: 1100, Reserved: 100, Fraction: 1, StorageFraction: 0.5}

type step struct {
	op    string // exec, release, releaseAll, store, unstore
	task  int64
	n     int64
	want  int64 // exec: granted; releaseAll: returned
	ok    bool  // store: granted
	block int64 // store: size of each cached block (default n)
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		stats Stats // checked fields: pools, used, ActiveTasks, Evicted
	}{
		{
			name:  "execution borrows free storage memory",
			steps: []step{{op: "exec", task: 1, n: 800, want: 800}},
			stats: Stats{ExecutionPool: 800, ExecutionUsed: 800, StoragePool: 200, ActiveTasks: 1},
		},
		{
			name:  "execution can take the whole unified region when storage is empty",
			steps: []step{{op: "exec", task: 1, n: 5000, want: 1000}},
			stats: Stats{ExecutionPool: 1000, ExecutionUsed: 1000, StoragePool: 0, ActiveTasks: 1},
		},
		{
			name:  "storage borrows free execution memory",
			steps: []step{{op: "store", n: 700, ok: true, block: 100}},
			stats: Stats{ExecutionPool: 300, StoragePool: 700, StorageUsed: 700},
		},
		{
			name: "execution evicts borrowed storage down to the storage region",
			steps: []step{
				{op: "store", n: 800, ok: true, block: 100},
				{op: "exec", task: 1, n: 1000, want: 500},
			},
			stats: Stats{ExecutionPool: 500, ExecutionUsed: 500, StoragePool: 500, StorageUsed: 500, ActiveTasks: 1, Evicted: 300},
		},
		{
			name: "execution takes free storage before evicting",
			steps: []step{
				{op: "store", n: 700, ok: true, block: 100},
				{op: "unstore", n: 100},
				{op: "exec", task: 1, n: 450, want: 450},
			},
			// free execution 300, free storage 100, then evict 50 (one block of 100).
			stats: Stats{ExecutionPool: 450, ExecutionUsed: 450, StoragePool: 550, StorageUsed: 500, ActiveTasks: 1, Evicted: 100},
		},
		{
			name: "execution never evicts inside the storage region",
			steps: []step{
				{op: "store", n: 500, ok: true, block: 100},
				{op: "exec", task: 1, n: 1000, want: 500},
				{op: "exec", task: 1, n: 1, want: 0},
			},
			stats: Stats{ExecutionPool: 500, ExecutionUsed: 500, StoragePool: 500, StorageUsed: 500, ActiveTasks: 1},
		},
		{
			name: "storage never evicts execution",
			steps: []step{
				{op: "exec", task: 1, n: 1000, want: 1000},
				{op: "store", n: 1, ok: false},
			},
			stats: Stats{ExecutionPool: 1000, ExecutionUsed: 1000, ActiveTasks: 1},
		},
		{
			name: "storage only borrows the free part of execution",
			steps: []step{
				{op: "exec", task: 1, n: 300, want: 300},
				{op: "store", n: 800, ok: false},
				{op: "store", n: 700, ok: true},
			},
			stats: Stats{ExecutionPool: 300, ExecutionUsed: 300, StoragePool: 700, StorageUsed: 700, ActiveTasks: 1},
		},
		{
			name: "storage evicts its own blocks",
			steps: []step{
				{op: "store", n: 1000, ok: true, block: 100},
				{op: "store", n: 200, ok: true},
			},
			stats: Stats{ExecutionPool: 0, StoragePool: 1000, StorageUsed: 1000, Evicted: 200},
		},
		{
			name: "storage request larger than unified fails without eviction",
			steps: []step{
				{op: "store", n: 600, ok: true, block: 100},
				{op: "store", n: 1001, ok: false},
			},
			stats: Stats{ExecutionPool: 400, StoragePool: 600, StorageUsed: 600},
		},
		{
			name: "storage reclaims memory execution released",
			steps: []step{
				{op: "exec", task: 1, n: 1000, want: 1000},
				{op: "release", task: 1, n: 400},
				{op: "store", n: 400, ok: true},
			},
			stats: Stats{ExecutionPool: 600, ExecutionUsed: 600, StoragePool: 400, StorageUsed: 400, ActiveTasks: 1},
		},
		{
			name: "late task gets memory once the first releases",
			steps: []step{
				{op: "exec", task: 1, n: 1000, want: 1000},
				{op: "exec", task: 2, n: 600, want: 0},
				{op: "exec", task: 1, n: 1, want: 0}, // over its half now
				{op: "release", task: 1, n: 600},
				{op: "exec", task: 2, n: 600, want: 500},
			},
			stats: Stats{ExecutionPool: 1000, ExecutionUsed: 900, ActiveTasks: 2},
		},
		{
			name: "over-release is clamped and ends the task",
			steps: []step{
				{op: "exec", task: 1, n: 300, want: 300},
				{op: "exec", task: 2, n: 100, want: 100},
				{op: "release", task: 1, n: 5000},
				{op: "releaseAll", task: 1, want: 0},
				{op: "releaseAll", task: 2, want: 100},
				{op: "release", task: 3, n: 10},
			},
			stats: Stats{ExecutionPool: 500, StoragePool: 500},
		},
		{
			name: "storage over-release is clamped",
			steps: []step{
				{op: "store", n: 100, ok: true},
				{op: "unstore", n: 1000},
				{op: "store", n: -1, ok: false},
				{op: "exec", task: 1, n: -5, want: 0},
			},
			stats: Stats{ExecutionPool: 500, StoragePool: 500},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(testConfig)
			c := &cache{}
			m.SetEvictor(c.evict)
			for i, s := range tt.steps {
				switch s.op {
				case "exec":
					if got := m.AcquireExecution(s.task, s.n); got != s.want {
						t.Fatalf("step %d: AcquireExecution(%d, %d) = %d, want %d", i, s.task, s.n, got, s.want)
					}
				case "release":
					m.ReleaseExecution(s.task, s.n)
				case "releaseAll":
					if got := m.ReleaseAllExecution(s.task); got != s.want {
						t.Fatalf("step %d: ReleaseAllExecution(%d) = %d, want %d", i, s.task, got, s.want)
					}
				case "store":
					if got := m.AcquireStorage(s.n); got != s.ok {
						t.Fatalf("step %d: AcquireStorage(%d) = %v, want %v", i, s.n, got, s.ok)
					}
					if s.ok {
						b := s.block
						if b == 0 {
							b = s.n
						}
						for left := s.n; left > 0; left -= b {
							c.blocks = append(c.blocks, min(b, left))
						}
					}
				case "unstore":
					m.ReleaseStorage(s.n)
					var freed int64
					for freed < s.n && len(c.blocks) > 0 {
						freed += c.blocks[len(c.blocks)-1]
						c.blocks = c.blocks[:len(c.blocks)-1]
					}
				default:
					t.Fatalf("bad op %q", s.op)
				}
			}
			got := m.Stats()
			want := tt.stats
			want.Unified, want.StorageRegion = 1000, 500
			if got != want {
				t.Errorf("Stats() = %+v\nwant      %+v", got, want)
			}
		})
	}
}

func TestFairness(t *testing.T) {
	for n := int64(1); n <= 4; n++ {
		t.Run(fmt.Sprint(n, " tasks"), func(t *testing.T) {
			m := New(testConfig)
			for task := int64(1); task <= n; task++ {
				if got := m.AcquireExecution(task, 1); got != 1 {
					t.Fatalf("task %d first byte: got %d", task, got)
				}
			}
			share := 1000 / n
			for task := int64(1); task <= n; task++ {
				if got := m.AcquireExecution(task, 1000); got != share-1 {
					t.Errorf("task %d: granted %d, want %d (1/%d of 1000 minus the byte it holds)", task, got, share-1, n)
				}
				if got := m.AcquireExecution(task, 1); got != 0 {
					t.Errorf("task %d at its share: granted %d more", task, got)
				}
				if got := m.ExecutionHeld(task); got != share {
					t.Errorf("task %d holds %d, want %d", task, got, share)
				}
			}
			// When one task ends, the others may grow to 1/(n-1).
			if n > 1 {
				m.ReleaseAllExecution(n)
				if got, want := m.AcquireExecution(1, 1000), 1000/(n-1)-share; got != want {
					t.Errorf("after a task ended: granted %d, want %d", got, want)
				}
			}
		})
	}
}

func TestFairnessCapsAtStorageInRegion(t *testing.T) {
	// With 300 bytes cached inside the storage region, the largest execution
	// pool is 700, so each of two tasks may hold 350.
	m := New(testConfig)
	if !m.AcquireStorage(300) {
		t.Fatal("store failed")
	}
	m.AcquireExecution(2, 1)
	if got := m.AcquireExecution(1, 1000); got != 350 {
		t.Fatalf("granted %d, want 350", got)
	}
}

func TestNoEvictorMeansNoEviction(t *testing.T) {
	m := New(testConfig)
	if !m.AcquireStorage(800) {
		t.Fatal("store failed")
	}
	if got := m.AcquireExecution(1, 1000); got != 200 {
		t.Errorf("granted %d, want the 200 free bytes only", got)
	}
	if m.AcquireStorage(1) {
		t.Error("storage grew with no free memory and no evictor")
	}
}

func TestConfigFrom(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name    string
		total   int64
		set     map[string]string
		want    Config
		wantErr string
	}{
		{name: "defaults on a large executor", total: 4 * gib,
			want: Config{Total: 4 * gib, Reserved: 300 << 20, Fraction: 0.6, StorageFraction: 0.5}},
		{name: "defaults on a small executor", total: 512 << 20,
			want: Config{Total: 512 << 20, Reserved: 128 << 20, Fraction: 0.6, StorageFraction: 0.5}},
		{name: "all set", total: gib,
			set:  map[string]string{KeyFraction: "0.75", KeyStorageFraction: " 0 ", KeyReserved: "100m"},
			want: Config{Total: gib, Reserved: 100 << 20, Fraction: 0.75, StorageFraction: 0}},
		{name: "reserved in bytes and fraction 1", total: gib,
			set:  map[string]string{KeyReserved: "1048576", KeyFraction: "1", KeyStorageFraction: "1"},
			want: Config{Total: gib, Reserved: 1 << 20, Fraction: 1, StorageFraction: 1}},
		{name: "fraction too big", total: gib, set: map[string]string{KeyFraction: "1.5"},
			wantErr: "stoke.memory.fraction must be in (0,1], got 1.5"},
		{name: "fraction zero", total: gib, set: map[string]string{KeyFraction: "0"},
			wantErr: "stoke.memory.fraction must be in (0,1], got 0"},
		{name: "fraction negative", total: gib, set: map[string]string{KeyFraction: "-0.1"},
			wantErr: "stoke.memory.fraction must be in (0,1]"},
		{name: "fraction NaN", total: gib, set: map[string]string{KeyFraction: "NaN"},
			wantErr: "stoke.memory.fraction must be a number"},
		{name: "fraction junk", total: gib, set: map[string]string{KeyFraction: "half"},
			wantErr: `stoke.memory.fraction must be a number, got "half"`},
		{name: "storage fraction above one", total: gib, set: map[string]string{KeyStorageFraction: "1.01"},
			wantErr: "stoke.memory.storageFraction must be in [0,1], got 1.01"},
		{name: "storage fraction negative", total: gib, set: map[string]string{KeyStorageFraction: "-1"},
			wantErr: "stoke.memory.storageFraction must be in [0,1]"},
		{name: "storage fraction empty", total: gib, set: map[string]string{KeyStorageFraction: ""},
			wantErr: "stoke.memory.storageFraction must be a number"},
		{name: "reserved junk", total: gib, set: map[string]string{KeyReserved: "lots"},
			wantErr: `stoke.memory.reserved must be a size such as 300m or 1048576, got "lots"`},
		{name: "reserved unknown unit", total: gib, set: map[string]string{KeyReserved: "3x"},
			wantErr: "stoke.memory.reserved must be a size"},
		{name: "reserved negative", total: gib, set: map[string]string{KeyReserved: "-1m"},
			wantErr: "stoke.memory.reserved must be a size"},
		{name: "reserved equal to total", total: gib, set: map[string]string{KeyReserved: "1g"},
			wantErr: "stoke.memory.reserved (1073741824 bytes) must be smaller than the executor memory"},
		{name: "reserved above total", total: gib, set: map[string]string{KeyReserved: "2g"},
			wantErr: "must be smaller than the executor memory"},
		{name: "no executor memory", total: 0,
			wantErr: "executor memory must be positive, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get := func(k string) (string, bool) { v, ok := tt.set[k]; return v, ok }
			got, err := ConfigFrom(get, tt.total)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ConfigFrom = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRegionSizes(t *testing.T) {
	c := Config{Total: 1 << 30, Reserved: 300 << 20, Fraction: 0.6, StorageFraction: 0.5}
	m := New(c)
	s := m.Stats()
	base := float64(724 << 20)
	wantUnified := int64(base * 0.6)
	if s.Unified != wantUnified || s.StorageRegion != wantUnified/2 {
		t.Errorf("unified %d region %d, want %d and %d", s.Unified, s.StorageRegion, wantUnified, wantUnified/2)
	}
	if s.StoragePool != s.StorageRegion || s.ExecutionPool != s.Unified-s.StorageRegion {
		t.Errorf("initial pools: %+v", s)
	}
}

func TestNewPanicsOnBadConfig(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "stoke.memory.fraction") {
			t.Errorf("recover() = %v, want a panic naming stoke.memory.fraction", r)
		}
	}()
	New(Config{Total: 100, Fraction: 0})
}

// TestInvariants runs random operation sequences and checks after each one
// that the pools stay consistent, eviction never reaches into what it must
// not, and grants are as large as the rules allow.
func TestInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := Config{
			Total:           rapid.Int64Range(1, 5000).Draw(t, "total"),
			Fraction:        rapid.Float64Range(0.01, 1).Draw(t, "fraction"),
			StorageFraction: rapid.Float64Range(0, 1).Draw(t, "storageFraction"),
		}
		c.Reserved = rapid.Int64Range(0, c.Total-1).Draw(t, "reserved")
		m := New(c)
		st := m.Stats()
		U, R := st.Unified, st.StorageRegion
		if U < 0 || R < 0 || R > U {
			t.Fatalf("bad regions: unified %d storage region %d", U, R)
		}

		blockSize := rapid.Int64Range(1, 200).Draw(t, "blockSize")
		var blocks []int64        // cached blocks, oldest first
		held := map[int64]int64{} // model of execution memory per task
		var evictCaller string
		var storageBefore int64
		m.SetEvictor(func(need int64) int64 {
			// Execution may only ask for storage above the region; storage
			// only for what it has.
			st := m.statsUnlockedForTest()
			switch evictCaller {
			case "exec":
				if need > st.StorageUsed-R {
					t.Fatalf("execution asked to evict %d with %d cached and region %d", need, st.StorageUsed, R)
				}
			case "store":
				if need > st.StorageUsed {
					t.Fatalf("storage asked to evict %d with %d cached", need, st.StorageUsed)
				}
			default:
				t.Fatalf("eviction during %q", evictCaller)
			}
			var freed int64
			for freed < need && len(blocks) > 0 {
				freed += blocks[0]
				blocks = blocks[1:]
			}
			return freed
		})

		for i := range rapid.IntRange(1, 60).Draw(t, "ops") {
			evictCaller = ""
			storageBefore = m.Stats().StorageUsed
			before := m.Stats()
			switch op := rapid.IntRange(0, 4).Draw(t, fmt.Sprint("op", i)); op {
			case 0:
				task := rapid.Int64Range(1, 4).Draw(t, "task")
				want := rapid.Int64Range(0, U+10).Draw(t, "want")
				evictCaller = "exec"
				_, wasActive := held[task]
				got := m.AcquireExecution(task, want)
				if got < 0 || got > want {
					t.Fatalf("AcquireExecution(%d, %d) = %d", task, want, got)
				}
				if want == 0 {
					break
				}
				held[task] += got
				n := int64(len(held))
				after := m.Stats()
				maxPool := U - min(before.StorageUsed, R)
				if held[task] > max(maxPool/n, held[task]-got) {
					t.Fatalf("task %d holds %d > 1/%d of %d", task, held[task], n, maxPool)
				}
				if got < want {
					// Either the task reached its share or nothing more could be had.
					atCap := held[task] >= maxPool/n
					freeExec := after.ExecutionPool - after.ExecutionUsed
					freeStore := after.StoragePool - after.StorageUsed
					reclaim := max(0, after.StorageUsed-R)
					if !atCap && (freeExec > 0 || freeStore > 0 || (reclaim > 0 && len(blocks) > 0)) {
						t.Fatalf("granted %d of %d while below share and %d exec free, %d storage free, %d reclaimable: %+v",
							got, want, freeExec, freeStore, reclaim, after)
					}
				}
				if blockSize == 1 && after.StorageUsed < min(storageBefore, R) {
					// With one-byte blocks eviction frees exactly what is
					// asked, so storage never drops below the region.
					t.Fatalf("execution evicted storage below the region: %d -> %d (region %d)", storageBefore, after.StorageUsed, R)
				}
				if !wasActive && after.ActiveTasks != len(held) {
					t.Fatalf("active tasks %d, model %d", after.ActiveTasks, len(held))
				}
			case 1:
				task := rapid.Int64Range(1, 4).Draw(t, "task")
				n := rapid.Int64Range(0, U).Draw(t, "n")
				m.ReleaseExecution(task, n)
				if h, ok := held[task]; ok && n > 0 {
					if h-min(n, h) == 0 {
						delete(held, task)
					} else {
						held[task] = h - n
					}
				}
			case 2:
				task := rapid.Int64Range(1, 4).Draw(t, "task")
				if got := m.ReleaseAllExecution(task); got != held[task] {
					t.Fatalf("ReleaseAllExecution(%d) = %d, model %d", task, got, held[task])
				}
				delete(held, task)
			case 3:
				nb := rapid.Int64Range(1, 5).Draw(t, "blocks")
				n := nb * blockSize
				evictCaller = "store"
				ok := m.AcquireStorage(n)
				after := m.Stats()
				if after.ExecutionUsed != before.ExecutionUsed {
					t.Fatalf("storage changed execution use: %d -> %d", before.ExecutionUsed, after.ExecutionUsed)
				}
				if ok {
					for range nb {
						blocks = append(blocks, blockSize)
					}
				} else if n <= U-before.ExecutionUsed {
					t.Fatalf("AcquireStorage(%d) failed with %d outside execution use", n, U-before.ExecutionUsed)
				}
			case 4:
				if len(blocks) > 0 {
					last := blocks[len(blocks)-1]
					blocks = blocks[:len(blocks)-1]
					m.ReleaseStorage(last)
				}
			}
			checkStats(t, m.Stats(), held, blocks)
		}
	})
}

// statsUnlockedForTest reads the pools while the evictor runs under the lock.
func (m *Manager) statsUnlockedForTest() Stats {
	return Stats{StorageUsed: m.storageUsed, StoragePool: m.storagePool, ExecutionUsed: m.execUsed}
}

func checkStats(t *rapid.T, s Stats, held map[int64]int64, blocks []int64) {
	if s.ExecutionPool+s.StoragePool != s.Unified {
		t.Fatalf("pools %d + %d != unified %d", s.ExecutionPool, s.StoragePool, s.Unified)
	}
	if s.ExecutionUsed < 0 || s.ExecutionUsed > s.ExecutionPool {
		t.Fatalf("execution used %d of pool %d", s.ExecutionUsed, s.ExecutionPool)
	}
	if s.StorageUsed < 0 || s.StorageUsed > s.StoragePool {
		t.Fatalf("storage used %d of pool %d", s.StorageUsed, s.StoragePool)
	}
	if s.ExecutionUsed+s.StorageUsed > s.Unified {
		t.Fatalf("used %d + %d > unified %d", s.ExecutionUsed, s.StorageUsed, s.Unified)
	}
	var sum int64
	for _, h := range held {
		sum += h
	}
	if sum != s.ExecutionUsed || len(held) != s.ActiveTasks {
		t.Fatalf("execution used %d by %d tasks, model %d by %d", s.ExecutionUsed, s.ActiveTasks, sum, len(held))
	}
	var cached int64
	for _, b := range blocks {
		cached += b
	}
	if cached != s.StorageUsed {
		t.Fatalf("storage used %d, cached blocks %d", s.StorageUsed, cached)
	}
}

func TestConcurrentUse(t *testing.T) {
	m := New(testConfig)
	var cached atomicBlocks
	m.SetEvictor(cached.evict)
	done := make(chan struct{})
	for task := range int64(4) {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range int64(2000) {
				got := m.AcquireExecution(task, 1+i%300)
				if i%3 == 0 {
					m.ReleaseExecution(task, got)
				}
				if i%7 == 0 {
					m.ReleaseAllExecution(task)
				}
				if i%5 == 0 && m.AcquireStorage(10) {
					cached.add(10)
				}
				if i%11 == 0 && cached.take(10) {
					m.ReleaseStorage(10)
				}
			}
			m.ReleaseAllExecution(task)
		}()
	}
	for range 4 {
		<-done
	}
	s := m.Stats()
	if s.ExecutionUsed != 0 || s.ActiveTasks != 0 || s.StorageUsed != cached.total() {
		t.Errorf("after all tasks ended: %+v, cached %d", s, cached.total())
	}
	if s.ExecutionPool+s.StoragePool != s.Unified {
		t.Errorf("pools do not add up: %+v", s)
	}
}

// atomicBlocks is a cache of equal blocks shared by goroutines. The
// evictor runs under the Manager's lock, so it only takes this one.
type atomicBlocks struct {
	mu sync.Mutex
	n  int64
}

func (c *atomicBlocks) add(n int64) { c.mu.Lock(); c.n += n; c.mu.Unlock() }

func (c *atomicBlocks) take(n int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n < n {
		return false
	}
	c.n -= n
	return true
}

func (c *atomicBlocks) total() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func (c *atomicBlocks) evict(need int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	freed := min(need, c.n)
	c.n -= freed
	return freed
}
