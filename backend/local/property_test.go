package local_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/local"
)

// FlakyRecord fails the first attempt that sees it when Fail is set (a
// partition with k such records fails k times: the master allows 200).
type FlakyRecord struct {
	Salt int64
	V    int
	Fail bool
}

var (
	seenFlaky sync.Map
	flaky     = stoke.RegisterMap("localtest.flaky", func(r FlakyRecord) int {
		if r.Fail {
			if _, again := seenFlaky.LoadOrStore(fmt.Sprint(r.Salt, "/", r.V), true); !again {
				panic(fmt.Sprintf("flaky record %d", r.V))
			}
		}
		return r.V
	})
	salt atomic.Int64
)

// Whatever the partitioning, failures and executor loss, every key's sum
// arrives exactly once and is right.
func TestPropertyResultsExactlyOnce(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(0, 120).Draw(rt, "records")
		parts := rapid.IntRange(1, 12).Draw(rt, "partitions")
		reducers := rapid.IntRange(1, 5).Draw(rt, "reducers")
		execs := rapid.IntRange(2, 3).Draw(rt, "executors")
		slots := rapid.IntRange(1, 3).Draw(rt, "slots")
		failEvery := rapid.IntRange(0, 7).Draw(rt, "failEvery")
		loseAfter := rapid.IntRange(-1, 2*parts).Draw(rt, "loseAfterTasks")

		be := local.NewInProcessExecutors(execs, slots)
		var ended atomic.Int64
		lost := make(chan struct{})
		var once sync.Once
		listener := stoke.Listener(listenerFunc(func(e stoke.Event) {
			if _, ok := e.(stoke.TaskEnd); ok && loseAfter >= 0 && ended.Add(1) == int64(loseAfter) {
				once.Do(func() {
					go func() { be.LoseExecutor("0", "lost by the property test"); close(lost) }()
				})
			}
		}))
		sc, err := stoke.New(stoke.Config{"stoke.master": "local[4,200]", "stoke.ui.enabled": "false", "stoke.log.level": "error"},
			stoke.WithBackend(be), stoke.WithListener(listener))
		if err != nil {
			rt.Fatal(err)
		}
		defer sc.Stop()
		s := salt.Add(1)
		recs := make([]FlakyRecord, n)
		want := map[int]int{}
		for i := range recs {
			recs[i] = FlakyRecord{Salt: s, V: i, Fail: failEvery > 0 && i%failEvery == 0}
			want[i%5] += i
		}
		ds, err := stoke.Parallelize(sc, recs, parts)
		if err != nil {
			rt.Fatal(err)
		}
		got, err := stoke.Collect(context.Background(), stoke.ReduceByKey(stoke.Map(stoke.Map(ds, flaky), modKey), addUp, reducers))
		if err != nil {
			rt.Fatalf("job: %v", err)
		}
		gotMap := map[int]int{}
		for _, kv := range got {
			if _, dup := gotMap[kv.Key]; dup {
				rt.Fatalf("key %d delivered twice: %v", kv.Key, got)
			}
			gotMap[kv.Key] = kv.Value
		}
		if fmt.Sprint(gotMap) != fmt.Sprint(want) {
			rt.Fatalf("got %v, want %v", gotMap, want)
		}
	})
}

type listenerFunc func(stoke.Event)

func (f listenerFunc) OnEvent(e stoke.Event) { f(e) }
