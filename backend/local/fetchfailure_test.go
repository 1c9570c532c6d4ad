package local_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/backend/local"
)

var (
	modKey = stoke.RegisterMap("localtest.modKey", func(n int) stoke.KV[int, int] { return stoke.KV[int, int]{Key: n % 5, Value: n} })
	addUp  = stoke.RegisterReduceByKey[int, int]("localtest.add", func(a, b int) int { return a + b })
)

// Shuffle blocks that vanish from a live executor are noticed as fetch
// failures: the parent stage reruns the lost map partitions and the job
// still returns every key once.
func TestLostShuffleBlocksAreRecomputed(t *testing.T) {
	be := local.NewInProcessExecutors(2, 2)
	rec := backendtest.NewRecorder()
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[4,4]", "stoke.ui.enabled": "false"}, stoke.WithBackend(be), stoke.WithListener(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	nums := make([]int, 100)
	for i := range nums {
		nums[i] = i
	}
	ds, _ := stoke.Parallelize(sc, nums, 4)
	sums := stoke.ReduceByKey(stoke.Map(ds, modKey), addUp, 3)
	ctx := context.Background()
	first, err := stoke.Collect(ctx, sums)
	if err != nil {
		t.Fatal(err)
	}
	if err := be.DropShuffleOutput("0", 0); err != nil {
		t.Fatal(err)
	}
	second, err := stoke.Collect(ctx, sums)
	if err != nil {
		t.Fatalf("after losing shuffle blocks: %v", err)
	}
	if fmt.Sprint(sortKV(first)) != fmt.Sprint(sortKV(second)) || len(second) != 5 {
		t.Fatalf("results differ: %v vs %v", first, second)
	}
	fetchFailed := 0
	rec.Wait(ctx.Done(), func(es []stoke.Event) bool {
		n := 0
		for _, e := range es {
			if _, ok := e.(stoke.JobEnd); ok {
				n++
			}
		}
		return n == 2
	})
	for _, te := range rec.TaskEnds() {
		if te.Status == "FETCH_FAILED" {
			fetchFailed++
		}
	}
	if fetchFailed == 0 {
		t.Fatal("no fetch failure was reported; the test did not exercise recomputation")
	}
}

func sortKV(kvs []stoke.KV[int, int]) map[int]int {
	m := map[int]int{}
	for _, kv := range kvs {
		m[kv.Key] += kv.Value
	}
	return m
}
