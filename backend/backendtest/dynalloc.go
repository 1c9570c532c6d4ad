package backendtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/events"
)

// shuffleMode is what happens to shuffle output when executors go idle.
type shuffleMode int

const (
	keepShuffle  shuffleMode = iota // shuffle tracking keeps its executors
	loseShuffle                     // no tracking: they go, it is recomputed
	moveShuffle                     // decommission: it moves, they go
	serveShuffle                    // the cluster's shuffle service serves it
)

// testDynamicAllocation: a burst of tasks grows the application from
// minExecutors (1), idleness shrinks it back, and a job that reads an
// earlier job's shuffle gets exact results. With shuffle tracking the
// executors holding that shuffle's output stay and the map stage does not
// run again; without it they go and lost output is recomputed. With
// decommission they go too, after moving their output to the executor
// that stays, and with a shuffle service they go and the service serves
// it: in both the map stage does not run again.
//
// Every wait is for a state, bounded by the harness timeout as a hang
// guard: the burst's tasks hold until the executors have grown, so no
// sleep decides anything.
func (h Harness) testDynamicAllocation(t *testing.T, mode shuffleMode) {
	tracking := mode != loseShuffle
	if !h.DynamicAllocation {
		t.Skip("this backend does not support dynamic allocation (Harness.DynamicAllocation is false)")
	}
	maxExecs := h.slots()
	if maxExecs < 2 {
		t.Skip("dynamic allocation needs room for two one-core executors")
	}
	cfg := stoke.Config{"stoke.ui.enabled": "false"}
	for k, v := range h.Config {
		cfg[k] = v
	}
	for k, v := range map[string]string{
		"stoke.executor.cores":                                     "1",
		"stoke.dynamicAllocation.enabled":                          "true",
		"stoke.dynamicAllocation.minExecutors":                     "1",
		"stoke.dynamicAllocation.maxExecutors":                     fmt.Sprint(maxExecs),
		"stoke.dynamicAllocation.schedulerBacklogTimeout":          "100ms",
		"stoke.dynamicAllocation.executorIdleTimeout":              "1s",
		"stoke.dynamicAllocation.shuffleTracking.enabled":          fmt.Sprint(tracking),
		"stoke.dynamicAllocation.sustainedSchedulerBacklogTimeout": "100ms",
	} {
		cfg[k] = v
	}
	switch mode {
	case moveShuffle:
		cfg["stoke.decommission.enabled"] = "true"
		cfg["stoke.storage.decommission.enabled"] = "true"
	case serveShuffle:
		cfg["stoke.shuffle.service.enabled"] = "true"
	}
	delete(cfg, "stoke.executor.instances")
	rec := NewRecorder()
	sc, err := stoke.New(cfg, stoke.WithListener(rec))
	if err != nil {
		t.Fatalf("stoke.New: %v", err)
	}
	t.Cleanup(func() { sc.Stop() })
	ctx := h.ctx(t)
	live := func() []string {
		var ids []string
		for _, e := range sc.Driver().Executors() {
			ids = append(ids, e.ID)
		}
		return ids
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: not reached within %v (executors %v)", what, h.timeout(), live())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	waitUntil("the initial executor (minExecutors 1)", func() bool { return len(live()) == 1 })

	// A burst: twice as many tasks as the cluster has cores, held until
	// the application has grown past its one executor.
	n := 2 * maxExecs
	marker := filepath.Join(t.TempDir(), "burst")
	recs := make([]GateRecord, n)
	for i := range recs {
		recs[i] = GateRecord{ID: i, Marker: marker}
	}
	ds, err := stoke.Parallelize(sc, recs, n)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := stoke.Count(ctx, stoke.Map(ds, gateKey)); done <- err }()
	waitUntil("growth under a backlog", func() bool { return len(live()) >= 2 })
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("burst: %v", err)
	}
	waitUntil("shrinking to minExecutors when idle", func() bool { return len(live()) == 1 })
	// Events reach listeners through the asynchronous bus: wait for it.
	waitUntil("an ExecutorRemoved event that says dynamic allocation released the executor", func() bool {
		for _, e := range rec.Events() {
			if r, ok := e.(events.ExecutorRemoved); ok && strings.Contains(r.Reason, "dynamic allocation: idle") {
				return true
			}
		}
		return false
	})

	// A shuffle whose map tasks run on at least two executors.
	marker2 := filepath.Join(t.TempDir(), "shuffle")
	for i := range recs {
		recs[i].Marker = marker2
	}
	ds2, err := stoke.Parallelize(sc, recs, n)
	if err != nil {
		t.Fatal(err)
	}
	sums := stoke.ReduceByKey(stoke.Map(ds2, gateKey), sumInts, 2)
	want := map[string]int{}
	for i := 0; i < n; i++ {
		want[fmt.Sprintf("k%d", i%7)] += i
	}
	check := func(what string) {
		t.Helper()
		got, err := stoke.Collect(ctx, sums)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		m := map[string]int{}
		for _, kv := range got {
			if _, dup := m[kv.Key]; dup {
				t.Errorf("%s: key %s delivered twice", what, kv.Key)
			}
			m[kv.Key] = kv.Value
		}
		if fmt.Sprint(m) != fmt.Sprint(want) {
			t.Fatalf("%s:\n got %v\nwant %v", what, m, want)
		}
	}
	before := len(rec.Events())
	done2 := make(chan struct{})
	go func() {
		defer close(done2)
		check("first job over the shuffle")
	}()
	waitUntil("map tasks on two executors", func() bool {
		on := map[string]bool{}
		for _, e := range rec.Events()[before:] {
			if s, ok := e.(events.TaskStart); ok {
				on[s.ExecutorID] = true
			}
		}
		return len(on) >= 2
	})
	if err := os.WriteFile(marker2, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	<-done2
	if t.Failed() {
		return
	}
	// Where the map output is: the executors of the successful map tasks.
	holders := map[string]bool{}
	mapStage := -1
	for _, e := range rec.Events()[before:] {
		switch e := e.(type) {
		case events.StageSubmitted:
			if mapStage < 0 {
				mapStage = e.StageID // the map stage is submitted first
			}
		case events.TaskEnd:
			if e.StageID == mapStage && e.Status == events.TaskSuccess {
				holders[e.ExecutorID] = true
			}
		}
	}
	if len(holders) < 2 {
		t.Fatalf("map output on %v; the test needs it on two executors or more", holders)
	}
	if mode == keepShuffle {
		// The executors holding the output stay; the others go.
		waitUntil("only the shuffle's executors left", func() bool {
			ids := live()
			for h := range holders {
				if !slices.Contains(ids, h) {
					t.Fatalf("executor %s holding shuffle output was released with shuffle tracking on", h)
				}
			}
			return len(ids) == max(1, len(holders))
		})
	} else {
		waitUntil("shrinking to minExecutors with shuffle output", func() bool { return len(live()) == 1 })
	}
	before = len(rec.Events())
	check("a later job reading the shuffle")
	reran := 0
	for _, e := range rec.Events()[before:] {
		if s, ok := e.(events.StageSubmitted); ok && s.StageID == mapStage {
			reran++
		}
	}
	if tracking && reran != 0 {
		t.Errorf("mode %d: the map stage ran again (%d times)", mode, reran)
	}
	if mode == moveShuffle {
		// Every holder but the one left went, decommissioned, and said
		// how much it moved.
		waitUntil("ExecutorRemoved events of the holders that moved their output", func() bool {
			moved := map[string]bool{}
			for _, e := range rec.Events() {
				if r, ok := e.(events.ExecutorRemoved); ok && strings.Contains(r.Reason, "decommissioned: ") && r.MigratedShuffleOutputs > 0 {
					moved[r.ExecutorID] = true
				}
			}
			n := 0
			for h := range holders {
				if moved[h] {
					n++
				}
			}
			return n >= len(holders)-1
		})
	}
	t.Logf("mode %d: map output on %d executors, map stage re-run %d times", mode, len(holders), reran)
}
