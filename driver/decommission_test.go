package driver

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/events"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/testutil"
)

// decomBackend is an elasticBackend whose executors can be decommissioned:
// the test answers each request.
type decomBackend struct {
	*elasticBackend
	reqs chan decomReq
}

type decomReq struct {
	id     string
	d      *pb.Decommission
	report func(*pb.MigrationReport)
}

func newDecomBackend() *decomBackend {
	return &decomBackend{elasticBackend: &elasticBackend{held: map[string][]int64{}, addresses: true}, reqs: make(chan decomReq, 16)}
}

func (b *decomBackend) DecommissionExecutor(id string, d *pb.Decommission, report func(*pb.MigrationReport)) error {
	b.reqs <- decomReq{id, d, report}
	return nil
}

var decomConf = map[string]string{
	"stoke.decommission.enabled":         "true",
	"stoke.storage.decommission.enabled": "true",
}

func withConf(kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range decomConf {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// putOutputs records map outputs of shuffle 7 (partition -> executor).
func putOutputs(c *Context, on ...string) *stage {
	c.mu.Lock()
	defer c.mu.Unlock()
	dep := &shuffleDep{id: 7, outputs: make([]*mapOutput, len(on))}
	for p, id := range on {
		dep.outputs[p] = &mapOutput{taskID: int64(100 + p), execID: id, address: c.executors[id].Address, sizes: []int64{int64(p + 1)}}
		dep.available++
	}
	s := &stage{id: 1, numPartitions: len(on), shuffle: dep}
	c.shuffles[7] = s
	return s
}

func outputsAt(c *Context, s *stage) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, o := range s.shuffle.outputs {
		if o == nil {
			out = append(out, "lost")
			continue
		}
		out = append(out, o.execID+"@"+o.address)
	}
	return out
}

func nextReq(t *testing.T, b *decomBackend) decomReq {
	t.Helper()
	select {
	case r := <-b.reqs:
		return r
	case <-time.After(testutil.D(10 * time.Second)):
		t.Fatal("no decommission request")
	}
	return decomReq{}
}

// Idle executors holding shuffle output are decommissioned, not killed:
// only once their outputs are on an executor that stays, and the driver's
// map-output locations point there, are they killed, with the count in
// ExecutorRemoved.
func TestDecommissionMovesShuffleOutputBeforeTheRelease(t *testing.T) {
	be := newDecomBackend()
	c, clk, rec := newDynContext(t, be, withConf("stoke.dynamicAllocation.initialExecutors", "3", "stoke.dynamicAllocation.minExecutors", "1"))
	s := putOutputs(c, "x0", "x0", "x1")
	advance(clk, 5200*time.Millisecond)
	reqs := map[string]decomReq{}
	for range 2 {
		r := nextReq(t, be)
		reqs[r.id] = r
	}
	r0, r1 := reqs["x0"], reqs["x1"]
	if r0.d == nil || r1.d == nil {
		t.Fatalf("decommissioned %v, want x0 and x1", reqs)
	}
	if fmt.Sprint(r0.d.Targets) != fmt.Sprint([]*pb.MigrationTarget{{ExecutorId: "x2", Address: "addr-x2"}}) || len(r0.d.Outputs) != 2 || r0.d.Outputs[0].MapTaskId != 100 || r0.d.Outputs[1].MapTaskId != 101 {
		t.Fatalf("x0's decommission: %v", r0.d)
	}
	if _, killed, _ := be.snapshot(); len(killed) != 0 {
		t.Fatalf("killed %v before their output moved", killed)
	}
	c.mu.Lock()
	for _, e := range c.allocState().Executors {
		if e.Receiving != (e.ID == "x2") {
			t.Errorf("%s: receiving %v", e.ID, e.Receiving)
		}
	}
	c.mu.Unlock()
	r0.report(&pb.MigrationReport{Id: r0.d.Id, Moved: []*pb.MigratedOutput{
		{ShuffleId: 7, MapTaskId: 100, ExecutorId: "x2", Bytes: 1000},
		{ShuffleId: 7, MapTaskId: 101, ExecutorId: "x2", Bytes: 24},
	}})
	if _, killed, _ := be.snapshot(); !slices.Equal(killed, []string{"x0"}) {
		t.Fatalf("killed %v after x0's report, want x0", killed)
	}
	// A report for another request of x1 changes nothing.
	r1.report(&pb.MigrationReport{Id: r1.d.Id + 100, Moved: []*pb.MigratedOutput{{ShuffleId: 7, MapTaskId: 102, ExecutorId: "x2"}}})
	if got := outputsAt(c, s); !slices.Equal(got, []string{"x2@addr-x2", "x2@addr-x2", "x1@addr-x1"}) {
		t.Fatalf("outputs at %v", got)
	}
	r1.report(&pb.MigrationReport{Id: r1.d.Id, Moved: []*pb.MigratedOutput{{ShuffleId: 7, MapTaskId: 102, ExecutorId: "x2", Bytes: 10}}})
	if got := outputsAt(c, s); !slices.Equal(got, []string{"x2@addr-x2", "x2@addr-x2", "x2@addr-x2"}) {
		t.Fatalf("outputs at %v, want all on x2", got)
	}
	if _, killed, live := be.snapshot(); !slices.Equal(killed, []string{"x0", "x1"}) || !slices.Equal(live, []string{"x2"}) {
		t.Fatalf("killed %v, live %v", killed, live)
	}
	if s.shuffle.available != 3 {
		t.Fatalf("%d outputs available, want 3", s.shuffle.available)
	}
	testutil.Eventually(t, testutil.D(10*time.Second), "ExecutorRemoved events with the migration", func() bool {
		n := 0
		for _, e := range rec.all() {
			if r, ok := e.(events.ExecutorRemoved); ok && strings.Contains(r.Reason, "decommissioned: ") && strings.Contains(r.Reason, "migrated to executor(s) x2") {
				if r.ExecutorID == "x0" && r.MigratedShuffleOutputs == 2 && strings.Contains(r.Reason, "2 shuffle map output(s) (1.0 KiB)") {
					n++
				}
				if r.ExecutorID == "x1" && r.MigratedShuffleOutputs == 1 {
					n++
				}
			}
		}
		return n == 2
	})
	// x2 holds everything and is the last: it stays.
	advance(clk, 30*time.Second)
	if _, _, live := be.snapshot(); !slices.Equal(live, []string{"x2"}) {
		t.Fatalf("live %v, want x2 kept (minExecutors 1)", live)
	}
}

// The target dies while the output moves: what it acknowledged before is
// not pointed at it (it is gone), what it did not never was; nothing is
// lost, the executor stays with its output (shuffle tracking) and takes
// tasks again.
func TestDecommissionKeepsTheExecutorWhenTheTargetDies(t *testing.T) {
	be := newDecomBackend()
	c, clk, _ := newDynContext(t, be, withConf("stoke.dynamicAllocation.initialExecutors", "2"))
	s := putOutputs(c, "x0", "x0")
	advance(clk, 5200*time.Millisecond)
	r := nextReq(t, be)
	if r.id != "x0" || len(r.d.Targets) != 1 || r.d.Targets[0].ExecutorId != "x1" {
		t.Fatalf("request %v", r)
	}
	if _, killed, _ := be.snapshot(); len(killed) != 0 {
		t.Fatalf("killed %v: x1 must stay while x0's output moves to it", killed)
	}
	c.ExecutorLost("x1", "killed by the test mid-migration")
	r.report(&pb.MigrationReport{Id: r.d.Id, Moved: []*pb.MigratedOutput{{ShuffleId: 7, MapTaskId: 100, ExecutorId: "x1"}}, Failed: 1, Error: "x1: connection reset"})
	if got := outputsAt(c, s); !slices.Equal(got, []string{"x0@addr-x0", "x0@addr-x0"}) {
		t.Fatalf("outputs at %v, want both still on x0", got)
	}
	if _, killed, _ := be.snapshot(); len(killed) != 0 {
		t.Fatalf("killed %v", killed)
	}
	c.mu.Lock()
	usable := !c.unusable["x0"]
	_, going := c.releaseReasons["x0"]
	c.mu.Unlock()
	if !usable || going {
		t.Fatal("x0 kept but not usable again")
	}
	// Alone with its output, it stays (no executor to move it to).
	advance(clk, 30*time.Second)
	if _, killed, _ := be.snapshot(); len(killed) != 0 {
		t.Fatalf("killed %v, want the last holder kept", killed)
	}
	select {
	case r := <-be.reqs:
		t.Fatalf("decommissioned %s with nowhere to move its output", r.id)
	default:
	}
}

// An executor that never reports keeps its output and stays once
// stoke.network.timeout passes.
func TestDecommissionWithoutAReportTimesOut(t *testing.T) {
	be := newDecomBackend()
	c, clk, _ := newDynContext(t, be, withConf("stoke.dynamicAllocation.initialExecutors", "3", "stoke.dynamicAllocation.minExecutors", "1", "stoke.network.timeout", "20s"))
	s := putOutputs(c, "x0")
	advance(clk, 5200*time.Millisecond)
	r := nextReq(t, be)
	advance(clk, 19*time.Second)
	c.mu.Lock()
	_, going := c.releaseReasons["x0"]
	c.mu.Unlock()
	if !going {
		t.Fatal("given up before stoke.network.timeout")
	}
	advance(clk, 1200*time.Millisecond)
	c.mu.Lock()
	_, going = c.releaseReasons["x0"]
	c.mu.Unlock()
	if going {
		t.Fatal("still decommissioning after stoke.network.timeout")
	}
	// A late report is ignored.
	r.report(&pb.MigrationReport{Id: r.d.Id, Moved: []*pb.MigratedOutput{{ShuffleId: 7, MapTaskId: 100, ExecutorId: "x2"}}})
	if got := outputsAt(c, s); !slices.Equal(got, []string{"x0@addr-x0"}) {
		t.Fatalf("outputs at %v after a late report", got)
	}
}

// Without shuffle tracking, a holder with nowhere to move its output goes
// anyway and its output is forgotten (recomputed when read).
func TestDecommissionWithoutTrackingRecomputes(t *testing.T) {
	be := newDecomBackend()
	c, clk, _ := newDynContext(t, be, withConf("stoke.dynamicAllocation.initialExecutors", "1", "stoke.dynamicAllocation.shuffleTracking.enabled", "false"))
	s := putOutputs(c, "x0")
	advance(clk, 5200*time.Millisecond)
	if _, killed, _ := be.snapshot(); !slices.Equal(killed, []string{"x0"}) {
		t.Fatalf("killed %v", killed)
	}
	if got := outputsAt(c, s); !slices.Equal(got, []string{"lost"}) {
		t.Fatalf("outputs %v", got)
	}
}

// The settings: all three keys move shuffle output; a missing storage key
// is warned about.
func TestDecommissionSettings(t *testing.T) {
	load := func(kv map[string]string) settings {
		c := newConfFor(kv)
		s, err := loadSettings(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := load(withConf()); !s.decommission || !s.dyn.Decommission {
		t.Fatal("decommission and storage decommission on: shuffle output should move")
	}
	s := load(map[string]string{"stoke.decommission.enabled": "true"})
	if s.decommission || len(s.warnings) != 1 || !strings.Contains(s.warnings[0], "stoke.storage.decommission.enabled") {
		t.Fatalf("without storage decommission: %v %q", s.decommission, s.warnings)
	}
	s = load(withConf("stoke.storage.decommission.shuffleBlocks.enabled", "false"))
	if s.decommission || len(s.warnings) != 1 || !strings.Contains(s.warnings[0], "shuffleBlocks.enabled is false") {
		t.Fatalf("without shuffle blocks: %v %q", s.decommission, s.warnings)
	}
	for _, bad := range []string{"stoke.decommission.enabled", "stoke.storage.decommission.enabled", "stoke.storage.decommission.shuffleBlocks.enabled", "stoke.shuffle.service.enabled"} {
		_, err := loadSettings(newConfFor(map[string]string{bad: "maybe"}))
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s=maybe: %v", bad, err)
		}
	}
}

func newConfFor(kv map[string]string) *conf.Conf {
	c := conf.New()
	c.Set("stoke.master", "stoke://m:7077", conf.SourceCode)
	c.Set("stoke.dynamicAllocation.enabled", "true", conf.SourceCode)
	for k, v := range kv {
		c.Set(k, v, conf.SourceCode)
	}
	return c
}

// An operator's decommission takes the same path: refused for an unknown
// executor or one already going, then the output moves before the kill.
func TestDecommissionExecutorOnRequest(t *testing.T) {
	be := newDecomBackend()
	c, _, rec := newDynContext(t, be, withConf("stoke.dynamicAllocation.initialExecutors", "2", "stoke.dynamicAllocation.minExecutors", "2"))
	s := putOutputs(c, "x0")
	if err := c.DecommissionExecutor("nobody", "by the operator"); err == nil {
		t.Error("decommissioned an unknown executor")
	}
	if err := c.DecommissionExecutor("x0", "by the operator"); err != nil {
		t.Fatal(err)
	}
	if err := c.DecommissionExecutor("x0", "twice"); err == nil || !strings.Contains(err.Error(), "already going") {
		t.Errorf("second request: %v", err)
	}
	r := nextReq(t, be)
	r.report(&pb.MigrationReport{Id: r.d.Id, Moved: []*pb.MigratedOutput{{ShuffleId: 7, MapTaskId: 100, ExecutorId: "x1", Bytes: 5}}})
	if got := outputsAt(c, s); !slices.Equal(got, []string{"x1@addr-x1"}) {
		t.Fatalf("outputs at %v", got)
	}
	if _, killed, _ := be.snapshot(); !slices.Equal(killed, []string{"x0"}) {
		t.Fatalf("killed %v", killed)
	}
	testutil.Eventually(t, testutil.D(10*time.Second), "the removal event", func() bool {
		for _, e := range rec.all() {
			if r, ok := e.(events.ExecutorRemoved); ok && r.ExecutorID == "x0" && strings.HasPrefix(r.Reason, "by the operator; decommissioned: 1 shuffle map output(s)") {
				return true
			}
		}
		return false
	})
}

// With the shuffle service, executors holding output go at the idle
// timeout without decommission, their outputs then read from the service;
// without the application's stoke.shuffle.service.enabled the service's
// address counts for nothing (tracking keeps them).
func TestShuffleServiceServesTheOutputOfGoneExecutors(t *testing.T) {
	be := newDecomBackend()
	be.service = "worker-a:7337"
	c, clk, _ := newDynContext(t, be, withConf("stoke.dynamicAllocation.initialExecutors", "2", "stoke.shuffle.service.enabled", "true"))
	s := putOutputs(c, "x0", "x1")
	advance(clk, 5200*time.Millisecond)
	if _, killed, _ := be.snapshot(); len(killed) != 2 {
		t.Fatalf("killed %v, want both at the idle timeout", killed)
	}
	select {
	case r := <-be.reqs:
		t.Fatalf("decommissioned %s: the service serves its output", r.id)
	default:
	}
	if got := outputsAt(c, s); !slices.Equal(got, []string{"shuffle-service@worker-a:7337@worker-a:7337", "shuffle-service@worker-a:7337@worker-a:7337"}) {
		t.Fatalf("outputs at %v", got)
	}
	if s.shuffle.available != 2 {
		t.Fatalf("%d outputs available, want 2", s.shuffle.available)
	}

	c.Stop()
	be = &decomBackend{elasticBackend: &elasticBackend{held: map[string][]int64{}, addresses: true, service: "worker-a:7337"}, reqs: make(chan decomReq, 4)}
	c, clk, _ = newDynContext(t, be, map[string]string{"stoke.dynamicAllocation.initialExecutors": "2"})
	putOutputs(c, "x0", "x1")
	advance(clk, 30*time.Second)
	if _, killed, _ := be.snapshot(); len(killed) != 0 {
		t.Fatalf("killed %v: without stoke.shuffle.service.enabled the service serves nothing of this application", killed)
	}
}
