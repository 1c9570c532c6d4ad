package stoke_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/testutil"
)

var (
	spillKey = stoke.RegisterMap("test.spill.key", func(n int) stoke.KV[string, int] {
		return stoke.KV[string, int]{Key: fmt.Sprintf("key-%07d", n%75000), Value: n}
	})
	spillSum   = stoke.RegisterReduceByKey[string, int]("test.spill.sum", func(a, b int) int { return a + b })
	spillGroup = stoke.RegisterGroupByKey[string, int]("test.spill.group")
	spillJoin  = stoke.RegisterJoin[string, int, int]("test.spill.join")
)

// spillWatch sums the spilled bytes tasks report.
type spillWatch struct {
	mu      sync.Mutex
	spilled int64
	peak    int64
}

func (w *spillWatch) get() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.spilled
}

func (w *spillWatch) OnEvent(e events.Event) {
	if te, ok := e.(events.TaskEnd); ok {
		w.mu.Lock()
		w.spilled += te.Spilled
		w.peak = max(w.peak, te.PeakMemory)
		w.mu.Unlock()
	}
}

// With a driver (local-mode executor) of 8 MiB, aggregations, groups and
// joins over several times that much data spill sorted runs and still give
// exactly the answer of a plain Go computation.
func TestKeyedOperatorsSpillUnderATinyMemoryBound(t *testing.T) {
	w := &spillWatch{}
	sc := newContext(t, stoke.Config{"stoke.master": "local[2]", "stoke.driver.memory": "8m", "stoke.local.dir": t.TempDir()}, stoke.WithListener(w))
	const n = 300000
	nums := ints(n)
	kvs := stoke.Map(must(stoke.Parallelize(sc, nums, 4)), spillKey)
	ctx := context.Background()

	sums, err := stoke.Collect(ctx, stoke.ReduceByKey(kvs, spillSum, 3))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, v := range nums {
		want[fmt.Sprintf("key-%07d", v%75000)] += v
	}
	if len(sums) != len(want) {
		t.Fatalf("%d keys, want %d", len(sums), len(want))
	}
	for _, kv := range sums {
		if want[kv.Key] != kv.Value {
			t.Fatalf("sum of %s = %d, want %d", kv.Key, kv.Value, want[kv.Key])
		}
	}
	// Task events reach listeners asynchronously.
	testutil.Eventually(t, 10*time.Second, "reduceByKey of ~20 MB of keys in 8 MiB spills", func() bool { return w.get() > 0 })
	spilledReduce := w.get()

	groups, err := stoke.Collect(ctx, stoke.GroupByKey(kvs, spillGroup, 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != len(want) {
		t.Fatalf("%d groups, want %d", len(groups), len(want))
	}
	for _, g := range groups {
		s := 0
		for _, v := range g.Value {
			s += v
		}
		if len(g.Value) != 4 || s != want[g.Key] {
			slices.Sort(g.Value)
			t.Fatalf("group %s = %v, want 4 values summing to %d", g.Key, g.Value, want[g.Key])
		}
	}

	joined, err := stoke.Count(ctx, stoke.Join(kvs, kvs, spillJoin, 3))
	if err != nil {
		t.Fatal(err)
	}
	if joined != int64(len(want))*16 {
		t.Fatalf("join gave %d pairs, want %d", joined, len(want)*16)
	}
	testutil.Eventually(t, 10*time.Second, "groupByKey and join spill", func() bool { return w.get() > spilledReduce })
	w.mu.Lock() // task ends of killed speculative or late attempts may still arrive
	spilled, peak := w.spilled, w.peak
	w.mu.Unlock()
	t.Logf("spilled %d bytes; peak execution memory of a task %d bytes", spilled, peak)
}
