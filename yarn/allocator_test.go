package yarn

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
)

func testContainer(seq int64, host string) *yarnpb.Container {
	app := &yarnpb.ApplicationId{ClusterTimestamp: proto.Int64(1700000000000), Id: proto.Int32(1)}
	return &yarnpb.Container{
		Id:     &yarnpb.ContainerId{AppId: app, AppAttemptId: &yarnpb.ApplicationAttemptId{ApplicationId: app, AttemptId: proto.Int32(1)}, Id: proto.Int64(seq)},
		NodeId: &yarnpb.NodeId{Host: proto.String(host), Port: proto.Int32(45454)},
	}
}

func status(c *yarnpb.Container, exit int32) *yarnpb.ContainerStatus {
	return &yarnpb.ContainerStatus{ContainerId: c.GetId(), State: yarnpb.ContainerState_C_COMPLETE.Enum(), ExitStatus: proto.Int32(exit), Diagnostics: proto.String("diag")}
}

func askOf(t *testing.T, a *allocator) (int32, bool, *yarnpb.AllocateRequest) {
	t.Helper()
	var req yarnpb.AllocateRequest
	a.request(&req)
	if len(req.Ask) == 0 {
		return 0, false, &req
	}
	if len(req.Ask) != 1 || req.Ask[0].GetResourceName() != "*" {
		t.Fatalf("asks = %v", req.Ask)
	}
	return req.Ask[0].GetNumContainers(), true, &req
}

func TestAllocatorAbsoluteAsks(t *testing.T) {
	a := newAllocator(&yarnpb.Resource{Memory: proto.Int64(512), VirtualCores: proto.Int32(1)}, 1, 3, 2)
	if n, sent, _ := askOf(t, a); !sent || n != 0 {
		t.Fatalf("first request sends the zero ask: %d %v", n, sent)
	}
	a.setTarget(3)
	if n, sent, _ := askOf(t, a); !sent || n != 3 {
		t.Fatalf("ask = %d %v, want 3", n, sent)
	}
	if _, sent, _ := askOf(t, a); sent {
		t.Fatal("an unchanged ask is re-sent")
	}
	// Two arrive: the RM's outstanding count is now 1, which is what we still want.
	c1, c2 := testContainer(2, "n1"), testContainer(3, "n2")
	if l := a.allocated([]*yarnpb.Container{c1, c2}); len(l) != 2 || l[0].ExecID != "1" || l[1].ExecID != "2" {
		t.Fatalf("launch = %v", l)
	}
	if _, sent, _ := askOf(t, a); sent {
		t.Fatal("ask re-sent although the RM already counts 1 outstanding")
	}
	// Surplus containers are released.
	c3, c4 := testContainer(4, "n1"), testContainer(5, "n1")
	if l := a.allocated([]*yarnpb.Container{c3, c4}); len(l) != 1 {
		t.Fatalf("launch = %v", l)
	}
	_, _, req := askOf(t, a)
	if len(req.Release) != 1 || req.Release[0].GetId() != 5 {
		t.Fatalf("release = %v", req.Release)
	}
	// The released container's completion is not a failure.
	if ev, ok := a.completed(status(c4, exitAborted)); ok || ev.Failure {
		t.Fatalf("released container reported: %+v", ev)
	}
	// Resync re-sends the whole ask.
	a.resync()
	if n, sent, _ := askOf(t, a); !sent || n != 0 {
		t.Fatalf("after resync ask = %d %v", n, sent)
	}
}

func TestAllocatorFailuresAndBlacklist(t *testing.T) {
	a := newAllocator(&yarnpb.Resource{Memory: proto.Int64(512)}, 1, 2, 2)
	a.nodes = 2
	a.setTarget(1)
	seq := int64(1)
	next := func(host string) *yarnpb.Container {
		seq++
		c := testContainer(seq, host)
		if l := a.allocated([]*yarnpb.Container{c}); len(l) != 1 {
			t.Fatalf("not launched on %s", host)
		}
		return c
	}
	c := next("n1")
	ev, ok := a.completed(status(c, 137))
	if !ok || !ev.Failure || ev.ExecID != "1" || !strings.Contains(ev.Reason, "killed by signal 9") || !strings.Contains(ev.Reason, "n1") {
		t.Fatalf("event = %+v", ev)
	}
	if n, _, _ := askOf(t, a); n != 1 {
		t.Fatalf("lost executor not replaced: ask %d", n)
	}
	c = next("n1")
	a.completed(status(c, 1))
	_, _, req := askOf(t, a)
	if got := req.GetBlacklistRequest().GetBlacklistAdditions(); len(got) != 1 || got[0] != "n1" {
		t.Fatalf("blacklist = %v", got)
	}
	// A container on a blacklisted node is released, not used.
	seq++
	if l := a.allocated([]*yarnpb.Container{testContainer(seq, "n1")}); len(l) != 0 {
		t.Fatal("launched on a blacklisted node")
	}
	if a.failed() {
		t.Fatal("failed after 2 failures with max 2")
	}
	c = next("n2")
	// Preemption is not a failure.
	if ev, _ := a.completed(status(c, exitPreempted)); ev.Failure {
		t.Fatal("preemption counted as failure")
	}
	c = next("n2")
	a.completed(status(c, exitKilledExceededPMem))
	if !a.failed() {
		t.Fatal("3 failures with max 2 did not fail the application")
	}
	// n2 reached 1 failure; blacklisting it would leave no node, so it never is.
	c = next("n2")
	a.completed(status(c, 1))
	if a.blacklist["n2"] {
		t.Fatal("the last node was blacklisted")
	}
	// Resync re-sends the whole blacklist.
	a.resync()
	_, _, req = askOf(t, a)
	if got := fmt.Sprint(req.GetBlacklistRequest().GetBlacklistAdditions()); got != "[n1]" {
		t.Fatalf("resync blacklist = %s", got)
	}
}

func TestAllocatorUnsentRequestGoesAgain(t *testing.T) {
	a := newAllocator(&yarnpb.Resource{Memory: proto.Int64(512)}, 1, 3, 1)
	a.nodes = 3
	a.setTarget(1)
	c := testContainer(2, "n1")
	a.allocated([]*yarnpb.Container{c})
	a.completed(status(c, 1))                                // n1 blacklisted
	a.allocated([]*yarnpb.Container{testContainer(3, "n1")}) // released
	_, sent, req := askOf(t, a)
	if !sent || len(req.Release) != 1 || len(req.GetBlacklistRequest().GetBlacklistAdditions()) != 1 {
		t.Fatalf("first request %v", req)
	}
	a.unsent(req)
	n, sent, again := askOf(t, a)
	if !sent || n != 1 || len(again.Release) != 1 || fmt.Sprint(again.GetBlacklistRequest().GetBlacklistAdditions()) != "[n1]" {
		t.Fatalf("after an unanswered request: ask %d sent=%v, %v", n, sent, again)
	}
}

// Dynamic allocation moves the target up and down: the ask follows (a
// lower target cancels pending asks), containers that arrive after the
// target fell are released, and running executors are left alone (the
// driver kills the ones it wants gone).
func TestAllocatorFollowsADynamicTarget(t *testing.T) {
	a := newAllocator(&yarnpb.Resource{Memory: proto.Int64(512), VirtualCores: proto.Int32(1)}, 1, 3, 2)
	askOf(t, a)
	a.setTarget(1)
	if n, sent, _ := askOf(t, a); !sent || n != 1 {
		t.Fatalf("target 1: ask %d %v", n, sent)
	}
	if l := a.allocated([]*yarnpb.Container{testContainer(2, "n1")}); len(l) != 1 {
		t.Fatalf("launch = %v", l)
	}
	a.setTarget(4)
	if n, sent, _ := askOf(t, a); !sent || n != 3 {
		t.Fatalf("target 4 with 1 running: ask %d %v, want 3", n, sent)
	}
	a.setTarget(1)
	if n, sent, _ := askOf(t, a); !sent || n != 0 {
		t.Fatalf("target back to 1: ask %d %v, want the 3 pending asks cancelled (0)", n, sent)
	}
	late := testContainer(3, "n2")
	if l := a.allocated([]*yarnpb.Container{late}); len(l) != 0 {
		t.Fatalf("a container allocated before the cancel was launched: %v", l)
	}
	if _, _, req := askOf(t, a); len(req.Release) != 1 || req.Release[0].GetId() != 3 {
		t.Fatalf("release = %v, want the late container", req.Release)
	}
	if len(a.live) != 1 {
		t.Fatalf("%d live executors, want the running one kept", len(a.live))
	}
	a.setTarget(0)
	if n, _, req := askOf(t, a); n != 0 || len(req.Release) != 0 || len(a.live) != 1 {
		t.Fatalf("target 0: ask %d, releases %v, live %d; a lower target stops no running executor", n, req.Release, len(a.live))
	}
}

// asksOf sends the next request and returns its asks by resource name.
func asksOf(t *testing.T, a *allocator) (map[string]int32, *yarnpb.AllocateRequest) {
	t.Helper()
	var req yarnpb.AllocateRequest
	a.request(&req)
	out := map[string]int32{}
	for _, r := range req.Ask {
		if _, dup := out[r.GetResourceName()]; dup {
			t.Fatalf("two asks for %s: %v", r.GetResourceName(), req.Ask)
		}
		if !r.GetRelaxLocality() {
			t.Fatalf("ask %s does not relax locality: a node that is busy would never get it elsewhere", r.GetResourceName())
		}
		out[r.GetResourceName()] = r.GetNumContainers()
	}
	return out, &req
}

// Locality hints from the driver place the pending containers on the
// hosts of the pending tasks' data, in proportion to their tasks, less
// what each host already runs, as Spark's locality-preferred placement.
func TestAllocatorAsksForTheHostsOfTheData(t *testing.T) {
	a := newAllocator(&yarnpb.Resource{Memory: proto.Int64(512), VirtualCores: proto.Int32(1)}, 1, 3, 2)
	a.setTarget(4)
	// 8 local tasks filling 2 executors: 6 prefer a, 2 prefer b.
	a.setLocality(localityHints{Executors: 2, Hosts: map[string]int{"a": 6, "b": 2}})
	asks, _ := asksOf(t, a)
	// Shares: a 2, b 1; three of the four containers name hosts, all
	// three name a, two name b; the fourth asks for anywhere.
	if want := map[string]int32{"*": 4, "a": 3, "b": 2}; !maps.Equal(asks, want) {
		t.Fatalf("asks %v, want %v", asks, want)
	}
	if again, _ := asksOf(t, a); len(again) != 0 {
		t.Fatalf("unchanged asks sent again: %v", again)
	}
	// One arrives on a: a's share falls to 1, and every node-level count
	// goes again (the RM lowered them by its own rules).
	if l := a.allocated([]*yarnpb.Container{testContainer(2, "a")}); len(l) != 1 {
		t.Fatalf("launch %v", l)
	}
	asks, _ = asksOf(t, a)
	if want := map[string]int32{"*": 3, "a": 2, "b": 2}; !maps.Equal(asks, want) {
		t.Fatalf("after one on a: asks %v, want %v", asks, want)
	}
	// New hints without b: b's ask is cancelled (0).
	a.setLocality(localityHints{Executors: 3, Hosts: map[string]int{"a": 9}})
	asks, _ = asksOf(t, a)
	if want := map[string]int32{"*": 3, "a": 2, "b": 0}; !maps.Equal(asks, want) {
		t.Fatalf("hints without b: asks %v, want %v", asks, want)
	}
	// No local tasks: node-level asks go to 0, "*" stays.
	a.setLocality(localityHints{})
	asks, _ = asksOf(t, a)
	if want := map[string]int32{"*": 3, "a": 0}; !maps.Equal(asks, want) {
		t.Fatalf("no hints: asks %v, want %v", asks, want)
	}
}

// A blacklisted host is never asked for by name, and hints never raise
// the total: they only say where the pending containers should go.
func TestAllocatorLocalityWithinTheTarget(t *testing.T) {
	a := newAllocator(&yarnpb.Resource{Memory: proto.Int64(512), VirtualCores: proto.Int32(1)}, 1, 3, 2)
	a.blacklist["bad"] = true
	a.setTarget(2)
	a.setLocality(localityHints{Executors: 10, Hosts: map[string]int{"a": 10, "b": 10, "bad": 10}})
	asks, _ := asksOf(t, a)
	if want := map[string]int32{"*": 2, "a": 2, "b": 2}; !maps.Equal(asks, want) {
		t.Fatalf("asks %v, want %v", asks, want)
	}
	a.setTarget(0)
	asks, _ = asksOf(t, a)
	if want := map[string]int32{"*": 0, "a": 0, "b": 0}; !maps.Equal(asks, want) {
		t.Fatalf("target 0: asks %v, want every ask cancelled %v", asks, want)
	}
}

// stoke.yarn.executor.nodeLabelExpression travels on the "*" ask, the one
// YARN reads a priority's label from.
func TestAllocatorSendsTheNodeLabel(t *testing.T) {
	a := newAllocator(&yarnpb.Resource{Memory: proto.Int64(512), VirtualCores: proto.Int32(1)}, 1, 3, 2)
	a.label = "gpu"
	a.setTarget(1)
	a.setLocality(localityHints{Executors: 1, Hosts: map[string]int{"a": 1}})
	var req yarnpb.AllocateRequest
	a.request(&req)
	for _, r := range req.Ask {
		switch r.GetResourceName() {
		case "*":
			if r.GetNodeLabelExpression() != "gpu" {
				t.Fatalf("the * ask carries label %q", r.GetNodeLabelExpression())
			}
		default:
			if r.NodeLabelExpression != nil {
				t.Fatalf("node-level ask %s carries a label (YARN refuses labels on them)", r.GetResourceName())
			}
		}
	}
}

// With the hosts' racks known, each rack of a named host gets an ask too,
// for the containers that name any of its hosts, as Hadoop's AMRMClient
// sends: the scheduler falls back to the data's rack before anywhere.
func TestAllocatorAsksForTheRacksOfTheData(t *testing.T) {
	a := newAllocator(&yarnpb.Resource{Memory: proto.Int64(512), VirtualCores: proto.Int32(1)}, 1, 3, 2)
	a.setTarget(4)
	racks := map[string]string{"a": "/r1", "b": "/r1", "c": "/r2"}
	a.setLocality(localityHints{Executors: 3, Hosts: map[string]int{"a": 6, "b": 2, "c": 4}, Racks: racks})
	asks, _ := asksOf(t, a)
	// Shares a 2, b 1, c 1: the four host-aware containers all name a,
	// two name b and two c; /r1 holds a and b, so all four name it.
	if want := map[string]int32{"*": 4, "a": 4, "b": 2, "c": 2, "/r1": 4, "/r2": 2}; !maps.Equal(asks, want) {
		t.Fatalf("asks %v, want %v", asks, want)
	}
	// c's tasks are gone: c and its rack are cancelled.
	a.setLocality(localityHints{Executors: 3, Hosts: map[string]int{"a": 6, "b": 2}, Racks: racks})
	asks, _ = asksOf(t, a)
	if want := map[string]int32{"*": 4, "a": 4, "b": 2, "/r1": 4, "/r2": 0, "c": 0}; !maps.Equal(asks, want) {
		t.Fatalf("without c: asks %v, want %v", asks, want)
	}
	// Without racks (no topology known) only hosts are named.
	a.setLocality(localityHints{Executors: 3, Hosts: map[string]int{"a": 6, "b": 2}})
	asks, _ = asksOf(t, a)
	if want := map[string]int32{"*": 4, "/r1": 0, "a": 4, "b": 2}; !maps.Equal(asks, want) {
		t.Fatalf("without racks: asks %v, want %v", asks, want)
	}
}
