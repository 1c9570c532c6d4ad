package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/clock"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/plan"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/testutil"
)

// elasticBackend registers executors as soon as a larger total is asked
// for and drops killed ones at once; launched tasks wait until the test
// finishes them.
type elasticBackend struct {
	mu       sync.Mutex
	d        backend.Driver
	next     int
	live     []string
	totals   []int
	killed   []string
	held     map[string][]int64 // executor -> running task ids
	failKill bool
	// killGate, if set, holds KillExecutors until closed; killing is
	// closed when a kill waits on it.
	killGate chan struct{}
	killing  chan struct{}
	// addresses: executors have a block service address; service: and
	// a shuffle service that serves their output once they are gone.
	addresses bool
	service   string
}

func (b *elasticBackend) Start(_ context.Context, d backend.Driver) error { b.d = d; return nil }
func (b *elasticBackend) Stop(context.Context) error                      { return nil }
func (b *elasticBackend) LaunchTasks(id string, tds []*pb.TaskDesc) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, td := range tds {
		b.held[id] = append(b.held[id], td.TaskId)
	}
	return nil
}
func (b *elasticBackend) KillTask(string, int64, string) error { return nil }
func (b *elasticBackend) FetchResult(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("no stored results")
}
func (b *elasticBackend) Revive() {}
func (b *elasticBackend) RequestTotalExecutors(n int) error {
	b.mu.Lock()
	b.totals = append(b.totals, n)
	var added []string
	for len(b.live) < n {
		id := fmt.Sprintf("x%d", b.next)
		b.next++
		b.live = append(b.live, id)
		added = append(added, id)
	}
	b.mu.Unlock()
	for _, id := range added {
		info := backend.ExecutorInfo{ID: id, Host: "h" + id, Cores: 1}
		if b.addresses {
			info.Address = "addr-" + id
		}
		info.ShuffleServiceAddress = b.service
		b.d.ExecutorAdded(info)
	}
	return nil
}
func (b *elasticBackend) KillExecutors(ids []string) error {
	if b.killGate != nil {
		close(b.killing)
		<-b.killGate
	}
	b.mu.Lock()
	if b.failKill {
		b.mu.Unlock()
		return errors.New("cluster manager unreachable")
	}
	b.killed = append(b.killed, ids...)
	for _, id := range ids {
		b.live = slices.DeleteFunc(b.live, func(x string) bool { return x == id })
	}
	b.mu.Unlock()
	for _, id := range ids {
		b.d.ExecutorLost(id, "killed by the driver")
	}
	return nil
}
func (b *elasticBackend) DefaultParallelism() int { return 2 }
func (b *elasticBackend) ApplicationID() string   { return "app-dynalloc" }

// finishAll completes every held task.
func (b *elasticBackend) finishAll() int {
	b.mu.Lock()
	held := b.held
	b.held = map[string][]int64{}
	b.mu.Unlock()
	n := 0
	for id, tids := range held {
		for _, tid := range tids {
			b.d.StatusUpdate(id, &pb.TaskStatus{TaskId: tid, State: pb.TaskState_SUCCEEDED, Result: &pb.TaskResult{}})
			n++
		}
	}
	return n
}

func (b *elasticBackend) snapshot() (totals []int, killed, live []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.totals), slices.Clone(b.killed), slices.Clone(b.live)
}

type recorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *recorder) OnEvent(e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
}

func (r *recorder) all() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

func newDynContext(t *testing.T, be backend.Backend, kv map[string]string) (*Context, *clock.Fake, *recorder) {
	t.Helper()
	c := conf.New()
	for k, v := range map[string]string{
		"stoke.ui.enabled":                                "false",
		"stoke.ui.showConsoleProgress":                    "false",
		"stoke.master":                                    "local-cluster[4,1,512]",
		"stoke.dynamicAllocation.enabled":                 "true",
		"stoke.dynamicAllocation.executorIdleTimeout":     "5s",
		"stoke.dynamicAllocation.schedulerBacklogTimeout": "1s",
	} {
		c.Set(k, v, conf.SourceCode)
	}
	for k, v := range kv {
		c.Set(k, v, conf.SourceCode)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rec := &recorder{}
	ctx, err := New(Options{Conf: c, Backend: be, Log: log, Clock: clk, Listeners: []events.Listener{rec}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctx.Stop() })
	return ctx, clk, rec
}

// advance steps the fake clock 100 ms at a time, so each re-armed timer
// fires in turn.
func advance(clk *clock.Fake, d time.Duration) {
	for step := time.Duration(0); step < d; step += 100 * time.Millisecond {
		clk.Advance(100 * time.Millisecond)
	}
}

func TestDynamicAllocationGrowsWithTheBacklogAndReleasesIdleExecutors(t *testing.T) {
	be := &elasticBackend{held: map[string][]int64{}}
	c, clk, rec := newDynContext(t, be, nil)
	if totals, _, live := be.snapshot(); !slices.Equal(totals, []int{0}) || len(live) != 0 {
		t.Fatalf("at start: totals %v, live %v; want the initial 0 executors", totals, live)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.RunJob(context.Background(), parallelizeJob(c, 8), &pb.Sink{Kind: &pb.Sink_Collect{Collect: "string"}}, JobOptions{})
		done <- err
	}()
	testutil.Eventually(t, 10*time.Second, "the job's tasks are pending", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.core.Backlog().Pending == 8
	})
	advance(clk, 900*time.Millisecond)
	if totals, _, _ := be.snapshot(); len(totals) != 1 {
		t.Fatalf("asked for %v before the backlog timeout", totals)
	}
	advance(clk, 4*time.Second)
	totals, _, live := be.snapshot()
	if want := []int{0, 1, 3, 7, 8}; !slices.Equal(totals, want) || len(live) != 8 {
		t.Fatalf("totals %v with %d executors; want %v (ramp 1, 2, 4 up to the 8 tasks)", totals, len(live), want)
	}
	if n := be.finishAll(); n != 8 {
		t.Fatalf("%d tasks ran, want 8", n)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	advance(clk, 4800*time.Millisecond)
	if _, killed, _ := be.snapshot(); len(killed) != 0 {
		t.Fatalf("killed %v before executorIdleTimeout", killed)
	}
	advance(clk, 500*time.Millisecond)
	totals, killed, live := be.snapshot()
	if len(killed) != 8 || len(live) != 0 || totals[len(totals)-1] != 0 {
		t.Fatalf("after the idle timeout: killed %v, live %v, totals %v; want all 8 gone and a total of 0", killed, live, totals)
	}
	if len(c.Executors()) != 0 {
		t.Fatalf("driver still lists %v", c.Executors())
	}
	testutil.Eventually(t, 10*time.Second, "the events", func() bool {
		var added, removed, targets int
		for _, e := range rec.all() {
			switch e := e.(type) {
			case events.ExecutorAdded:
				if strings.Contains(e.Reason, "dynamic allocation: backlog of") {
					added++
				}
			case events.ExecutorRemoved:
				if strings.Contains(e.Reason, "dynamic allocation: idle for") && strings.Contains(e.Reason, "killed by the driver") {
					removed++
				}
			case events.ExecutorTarget:
				targets++
			}
		}
		return added == 8 && removed == 8 && targets == 6
	})
}

func TestDynamicAllocationRetriesAFailedRelease(t *testing.T) {
	be := &elasticBackend{held: map[string][]int64{}, failKill: true}
	c, clk, _ := newDynContext(t, be, map[string]string{"stoke.dynamicAllocation.initialExecutors": "2"})
	if _, _, live := be.snapshot(); len(live) != 2 {
		t.Fatalf("initialExecutors 2: %d executors", len(live))
	}
	advance(clk, 6*time.Second)
	if len(c.Executors()) != 2 {
		t.Fatalf("executors %v after a failed release", c.Executors())
	}
	// Their slots came back: a job runs on them.
	done := make(chan error, 1)
	go func() {
		_, err := c.RunJob(context.Background(), parallelizeJob(c, 2), &pb.Sink{Kind: &pb.Sink_Collect{Collect: "string"}}, JobOptions{})
		done <- err
	}()
	testutil.Eventually(t, 10*time.Second, "the job's tasks on the kept executors", func() bool {
		be.mu.Lock()
		defer be.mu.Unlock()
		return len(be.held["x0"])+len(be.held["x1"]) == 2
	})
	be.finishAll()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	advance(clk, 6*time.Second) // idle again: the next release fails too
	be.mu.Lock()
	be.failKill = false
	be.mu.Unlock()
	advance(clk, 200*time.Millisecond)
	if _, killed, _ := be.snapshot(); len(killed) != 2 {
		t.Fatalf("killed %v once the cluster manager answers again, want both", killed)
	}
}

func TestDynamicAllocationSettings(t *testing.T) {
	load := func(kv map[string]string) (settings, error) {
		c := conf.New()
		c.Set("stoke.master", "stoke://m:7077", conf.SourceCode)
		c.Set("stoke.dynamicAllocation.enabled", "true", conf.SourceCode)
		for k, v := range kv {
			c.Set(k, v, conf.SourceCode)
		}
		return loadSettings(c)
	}
	s, err := load(nil)
	if err != nil || !s.dynEnabled || s.dyn.InitialExecutors != 0 || s.dyn.MaxExecutors != math32 || s.dyn.ExecutorIdleTimeout != time.Minute {
		t.Fatalf("defaults: %+v, %v", s.dyn, err)
	}
	s, err = load(map[string]string{"stoke.executor.instances": "3", "stoke.dynamicAllocation.minExecutors": "1"})
	if err != nil || s.dyn.InitialExecutors != 3 || len(s.warnings) != 1 || !strings.Contains(s.warnings[0], "starts with 3 executors") {
		t.Fatalf("--num-executors 3: initial %d, warnings %q, %v", s.dyn.InitialExecutors, s.warnings, err)
	}
	s, err = load(map[string]string{"stoke.executor.instances": "1", "stoke.dynamicAllocation.minExecutors": "2"})
	if err != nil || s.dyn.InitialExecutors != 2 || len(s.warnings) != 1 || !strings.Contains(s.warnings[0], "less than stoke.dynamicAllocation.minExecutors (2) and is ignored") {
		t.Fatalf("--num-executors below min: initial %d, warnings %q, %v", s.dyn.InitialExecutors, s.warnings, err)
	}
	if _, err = load(map[string]string{"stoke.executor.instances": "9", "stoke.dynamicAllocation.maxExecutors": "4"}); err == nil || !strings.Contains(err.Error(), "initialExecutors (9) must be between") {
		t.Fatalf("--num-executors above max: %v", err)
	}
	if _, err = load(map[string]string{"stoke.dynamicAllocation.minExecutors": "5", "stoke.dynamicAllocation.maxExecutors": "2"}); err == nil || !strings.Contains(err.Error(), "minExecutors (5) must not be greater than") {
		t.Fatalf("min > max: %v", err)
	}
	if _, err = load(map[string]string{"stoke.dynamicAllocation.executorIdleTimeout": "-1s"}); err == nil || !strings.Contains(err.Error(), "executorIdleTimeout") {
		t.Fatalf("negative idle timeout: %v", err)
	}
	s, err = load(map[string]string{"stoke.master": "local[2]"})
	if err != nil || s.dynEnabled || len(s.warnings) != 1 || !strings.Contains(s.warnings[0], "has no effect with master local[2]") {
		t.Fatalf("local master: enabled %v, warnings %q, %v", s.dynEnabled, s.warnings, err)
	}
	s, err = load(map[string]string{"stoke.dynamicAllocation.shuffleTracking.enabled": "false"})
	if err != nil || s.dyn.ShuffleTracking || len(s.warnings) != 1 || !strings.Contains(s.warnings[0], "recomputed") {
		t.Fatalf("no shuffle tracking: warnings %q, %v", s.warnings, err)
	}
}

const math32 = 1<<31 - 1

func TestAllocStateSeesShuffleOutputCacheAndJobs(t *testing.T) {
	be := &elasticBackend{held: map[string][]int64{}}
	c, _, _ := newDynContext(t, be, map[string]string{"stoke.dynamicAllocation.initialExecutors": "3"})
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.executors) != 3 {
		t.Fatalf("%d executors, want 3", len(c.executors))
	}
	sh := &stage{id: 1, shuffle: &shuffleDep{id: 7, outputs: []*mapOutput{{execID: "x0"}, nil}}}
	c.shuffles[7] = sh
	c.cached = map[int]*cachedRDD{5: {locs: []map[string]bool{{"x1": true}, nil}}}
	byID := func() map[string]bool {
		out := map[string]bool{}
		for _, e := range c.allocState().Executors {
			out[e.ID+" shuffle"] = e.ShuffleData
			out[e.ID+" active"] = e.ActiveShuffle
			out[e.ID+" cached"] = e.Cached
		}
		return out
	}
	got := byID()
	if !got["x0 shuffle"] || got["x0 active"] || got["x0 cached"] || got["x1 shuffle"] || !got["x1 cached"] || got["x2 shuffle"] || got["x2 cached"] {
		t.Fatalf("no job running: %v", got)
	}
	c.jobs[42] = &job{id: 42, final: &stage{id: 2, parents: []*stage{sh}}}
	defer delete(c.jobs, 42)
	if got := byID(); !got["x0 active"] || got["x1 active"] {
		t.Fatalf("a job reads shuffle 7: %v", got)
	}
}

// Between the decision to release executors and their end, no task
// starts on them: a job submitted then waits for new executors.
func TestNoTaskStartsOnAnExecutorBeingReleased(t *testing.T) {
	be := &elasticBackend{held: map[string][]int64{}, killGate: make(chan struct{}), killing: make(chan struct{})}
	c, clk, _ := newDynContext(t, be, map[string]string{"stoke.dynamicAllocation.initialExecutors": "2"})
	ticked := make(chan struct{})
	go func() { advance(clk, 5200*time.Millisecond); close(ticked) }()
	<-be.killing // the release is decided; the kill is under way
	done := make(chan error, 1)
	go func() {
		_, err := c.RunJob(context.Background(), parallelizeJob(c, 4), &pb.Sink{Kind: &pb.Sink_Collect{Collect: "string"}}, JobOptions{})
		done <- err
	}()
	testutil.Eventually(t, 10*time.Second, "the job's 4 tasks pending", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.core.Backlog().Pending == 4
	})
	be.mu.Lock()
	n := len(be.held)
	be.mu.Unlock()
	if n != 0 {
		t.Fatalf("tasks launched on executors being released: %v", be.held)
	}
	close(be.killGate)
	<-ticked
	if _, killed, _ := be.snapshot(); len(killed) != 2 {
		t.Fatalf("killed %v, want x0 and x1", killed)
	}
	advance(clk, 3*time.Second) // the backlog brings new executors
	testutil.Eventually(t, 10*time.Second, "tasks on new executors", func() bool {
		be.mu.Lock()
		defer be.mu.Unlock()
		return len(be.held) > 0 && len(be.held["x0"])+len(be.held["x1"]) == 0
	})
	for {
		be.finishAll()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(10 * time.Millisecond):
			advance(clk, 100*time.Millisecond)
		}
	}
}

// localityBackend is an elasticBackend that takes locality hints.
type localityBackend struct {
	*elasticBackend
	hmu   sync.Mutex
	hints []backend.LocalityHints
}

func (b *localityBackend) RequestTotalExecutorsNear(n int, h backend.LocalityHints) error {
	b.hmu.Lock()
	b.hints = append(b.hints, h)
	b.hmu.Unlock()
	return b.RequestTotalExecutors(n)
}

// Dynamic allocation tells a backend that can place executors where the
// pending tasks' data is (YARN) how many pending tasks prefer each host.
func TestDynamicAllocationSendsLocalityHints(t *testing.T) {
	be := &localityBackend{elasticBackend: &elasticBackend{held: map[string][]int64{}}}
	c, clk, _ := newDynContext(t, be, nil)
	// Six splits: four on dn1 (two of them also on dn2), two on nothing.
	splits := []plan.TextSplit{{Path: "/f", Hosts: []string{"dn1"}}, {Path: "/f", Hosts: []string{"dn1", "dn2"}}, {Path: "/f", Hosts: []string{"dn1"}},
		{Path: "/f", Hosts: []string{"dn2", "dn1"}}, {Path: "/f"}, {Path: "/f"}}
	node := &plan.Node{ID: c.NewNodeID(), Kind: plan.TextFile, NumPartitions: len(splits), Type: "string", Splits: splits}
	go c.RunJob(context.Background(), node, &pb.Sink{Kind: &pb.Sink_Collect{Collect: "string"}}, JobOptions{})
	testutil.Eventually(t, 10*time.Second, "the job's tasks are pending", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.core.Backlog().Pending == 6
	})
	advance(clk, 1100*time.Millisecond)
	be.hmu.Lock()
	defer be.hmu.Unlock()
	if len(be.hints) == 0 {
		t.Fatal("the backend got no locality hints with the first raised target")
	}
	h := be.hints[0]
	if h.Tasks != 4 || !maps.Equal(h.Hosts, map[string]int{"dn1": 4, "dn2": 2}) {
		t.Fatalf("hints %+v, want 4 host-preferring tasks: dn1 4, dn2 2", h)
	}
}
