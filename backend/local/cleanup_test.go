package local_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/local"
	"github.com/stoke-run/stoke/internal/testutil"
)

// Shuffle output no dataset can reach any more is forgotten by the driver
// and freed on the executors, so a long-running application does not grow.
func TestUnreachableShuffleOutputIsReleased(t *testing.T) {
	be := local.NewInProcessExecutors(2, 2)
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[4]", "stoke.ui.enabled": "false"}, stoke.WithBackend(be))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	func() {
		nums := make([]int, 1000)
		for i := range nums {
			nums[i] = i
		}
		ds, _ := stoke.Parallelize(sc, nums, 4)
		sums := stoke.ReduceByKey(stoke.Map(ds, modKey), addUp, 3)
		if _, err := stoke.Collect(context.Background(), sums); err != nil {
			t.Fatal(err)
		}
		if sc.Driver().NumShuffles() != 1 || be.StoredBytes() == 0 {
			t.Fatalf("after the job: %d shuffles, %d bytes stored", sc.Driver().NumShuffles(), be.StoredBytes())
		}
	}()
	deadline := time.Now().Add(testutil.D(10 * time.Second))
	for sc.Driver().NumShuffles() != 0 || be.StoredBytes() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("unreachable shuffle kept: %d shuffles, %d bytes", sc.Driver().NumShuffles(), be.StoredBytes())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
