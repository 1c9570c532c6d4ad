package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/clock"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/shared"
	"github.com/stoke-run/stoke/internal/testutil"
)

// accumTotal sums the updates the driver merges into "driver.test.sum".
var accumTotal = struct {
	sync.Mutex
	n int
}{}

func init() {
	shared.RegisterAccum(&shared.Accum{Name: "driver.test.sum", MergeEncoded: func(data []byte) error {
		vs, err := registry.DecodeSlice[int](data)
		if err != nil {
			return err
		}
		if len(vs) != 1 {
			return fmt.Errorf("%d values", len(vs))
		}
		accumTotal.Lock()
		accumTotal.n += vs[0]
		accumTotal.Unlock()
		return nil
	}})
}

func takeAccumTotal() int {
	accumTotal.Lock()
	defer accumTotal.Unlock()
	n := accumTotal.n
	accumTotal.n = 0
	return n
}

// scriptBackend records launches; the test reports their statuses.
type scriptBackend struct {
	mu       sync.Mutex
	d        backend.Driver
	launched []launch
}

type launch struct {
	exec string
	td   *pb.TaskDesc
}

func (b *scriptBackend) Start(_ context.Context, d backend.Driver) error { b.d = d; return nil }
func (b *scriptBackend) Stop(context.Context) error                      { return nil }
func (b *scriptBackend) LaunchTasks(id string, tds []*pb.TaskDesc) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, td := range tds {
		b.launched = append(b.launched, launch{id, td})
	}
	return nil
}
func (b *scriptBackend) KillTask(string, int64, string) error { return nil }
func (b *scriptBackend) FetchResult(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("no stored results")
}
func (b *scriptBackend) Revive()                         {}
func (b *scriptBackend) RequestTotalExecutors(int) error { return nil }
func (b *scriptBackend) KillExecutors([]string) error    { return nil }
func (b *scriptBackend) DefaultParallelism() int         { return 2 }
func (b *scriptBackend) ApplicationID() string           { return "app-accum" }

func (b *scriptBackend) launches() []launch {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]launch(nil), b.launched...)
}

// done reports a final state for a launch with an accumulator update of add.
func done(l launch, state pb.TaskState, add int) *pb.TaskStatus {
	data, err := registry.EncodeSlice([]int{add})
	if err != nil {
		panic(err)
	}
	st := &pb.TaskStatus{TaskId: l.td.TaskId, State: state, AccumUpdates: []*pb.AccumUpdate{{Name: "driver.test.sum", Value: data}}}
	switch state {
	case pb.TaskState_SUCCEEDED:
		st.Result = &pb.TaskResult{}
	case pb.TaskState_FAILED:
		st.Error = "failed on purpose"
	}
	return st
}

func newScriptContext(t *testing.T, clk clock.Clock, settings map[string]string) (*Context, *scriptBackend) {
	t.Helper()
	c := conf.New()
	c.Set("stoke.ui.enabled", "false", conf.SourceCode)
	c.Set("stoke.ui.showConsoleProgress", "false", conf.SourceCode)
	for k, v := range settings {
		c.Set(k, v, conf.SourceCode)
	}
	be := &scriptBackend{}
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	ctx, err := New(Options{Conf: c, Backend: be, Log: log, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctx.Stop() })
	return ctx, be
}

// Every attempt reports an update; only the attempt the core accepts as the
// partition's success is merged: not a failed attempt, not a second success.
func TestAccumulatorMergesOnlyTheAcceptedAttempt(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	c, be := newScriptContext(t, clk, map[string]string{
		"stoke.master": "local[8,4]", "stoke.speculation": "true", "stoke.speculation.quantile": "0.5",
		"stoke.speculation.minTaskRuntime": "100ms", "stoke.speculation.interval": "100ms",
	})
	takeAccumTotal()
	c.ExecutorAdded(backend.ExecutorInfo{ID: "a", Host: "ha", Cores: 8})
	c.ExecutorAdded(backend.ExecutorInfo{ID: "b", Host: "hb", Cores: 8})

	res := make(chan error, 1)
	go func() {
		_, err := c.RunJob(context.Background(), parallelizeJob(c, 8), &pb.Sink{Kind: &pb.Sink_Count{Count: true}}, JobOptions{})
		res <- err
	}()
	testutil.Eventually(t, 10*time.Second, "8 launches", func() bool { return len(be.launches()) == 8 })
	first := be.launches()
	byPart := map[int32]launch{}
	for _, l := range first {
		byPart[l.td.Partition] = l
	}
	// Partition 0 fails once (its update must not count); 1..5 succeed.
	c.StatusUpdate(byPart[0].exec, done(byPart[0], pb.TaskState_FAILED, 1000))
	for p := int32(1); p <= 5; p++ {
		c.StatusUpdate(byPart[p].exec, done(byPart[p], pb.TaskState_SUCCEEDED, 1))
	}
	// Partitions 6 and 7 straggle: speculative copies start.
	var retry0, copy6 launch
	testutil.Eventually(t, 10*time.Second, "a retry of partition 0 and a copy of partition 6", func() bool {
		clk.Advance(time.Second)
		for _, l := range be.launches()[8:] {
			switch {
			case l.td.Partition == 0:
				retry0 = l
			case l.td.Partition == 6:
				copy6 = l
			}
		}
		return retry0.td != nil && copy6.td != nil
	})
	// The copy and the original of partition 6 both succeed, in one batch,
	// while the stage still runs (partition 7 is pending).
	c.StatusUpdate("", done(copy6, pb.TaskState_SUCCEEDED, 1), done(byPart[6], pb.TaskState_SUCCEEDED, 1))
	c.StatusUpdate(retry0.exec, done(retry0, pb.TaskState_SUCCEEDED, 1))
	c.StatusUpdate(byPart[7].exec, done(byPart[7], pb.TaskState_SUCCEEDED, 1))
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testutil.D(10 * time.Second)):
		t.Fatal("the job did not finish")
	}
	if got := takeAccumTotal(); got != 8 {
		t.Fatalf("accumulator total %d, want 8 (one per partition)", got)
	}
}

// An update of an unknown accumulator or one that does not decode is
// skipped with a warning; the task and the other updates are unaffected.
func TestAccumulatorBadUpdatesAreSkipped(t *testing.T) {
	good, _ := registry.EncodeSlice([]int{5})
	err := shared.MergeUpdates([]*pb.AccumUpdate{
		{Name: "driver.test.nosuch", Value: good},
		{Name: "driver.test.sum", Value: []byte{0xff, 0x01}},
		{Name: "driver.test.sum", Value: good},
	})
	if err == nil {
		t.Fatal("bad updates not reported")
	}
	for _, want := range []string{`unknown accumulator "driver.test.nosuch"`, `accumulator "driver.test.sum"`} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %q", err, want)
		}
	}
	if got := takeAccumTotal(); got != 5 {
		t.Fatalf("total %d after one good update of 5", got)
	}
}
