package mesostest

import (
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func TestDeclineFilterReviveSuppress(t *testing.T) {
	c := Start(t, Options{Agents: []AgentSpec{{}, {}}})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	Eventually(t, 5*time.Second, "two offers", func() bool { return len(f.Offers()) == 2 })
	offers := f.Offers()
	// refuse one agent for 400ms, the other for an hour
	if err := f.Decline(400*time.Millisecond, offers[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := f.Decline(time.Hour, offers[1].ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(f.Offers()); n != 0 {
		t.Fatalf("%d offers inside the refuse window", n)
	}
	o, err := f.WaitOffer(2*time.Second, nil)
	if err != nil || o.AgentID != offers[0].AgentID {
		t.Fatalf("after the short filter: %v %v", o.AgentID, err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(f.Offers()); n != 1 {
		t.Fatalf("the hour-long filter did not hold: %d offers", n)
	}
	// SUPPRESS: no more offers even without filters
	if err := f.Decline(0, o.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_SUPPRESS}); err != nil {
		t.Fatal(err)
	}
	before, _ := c.Framework(f.ID())
	time.Sleep(300 * time.Millisecond)
	if after, _ := c.Framework(f.ID()); after.Offers != before.Offers {
		t.Fatalf("offers while suppressed: %d -> %d", before.Offers, after.Offers)
	}
	// REVIVE clears every filter and un-suppresses
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 2*time.Second, "both agents offered after REVIVE", func() bool { return len(f.Offers()) == 2 })
}

func TestAcceptLeftoverIsRefusedAndInvalidOffers(t *testing.T) {
	c := Start(t, Options{Agents: []AgentSpec{{CPUs: 4, MemMB: 1024}}})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	o, _ := f.WaitOffer(5*time.Second, nil)
	if err := f.Launch(o, time.Hour, CommandTask("big", o, 8, 10, "true")); err != nil {
		t.Fatal(err)
	}
	st, err := f.WaitState(5*time.Second, "big", mesos.TASK_ERROR)
	if err != nil || st.GetReason() != mesos.REASON_TASK_INVALID {
		t.Fatalf("oversized task: %v %v", st, err)
	}
	// the same offer again is no longer valid
	if err := f.Launch(o, 0, CommandTask("late", o, 1, 10, "true")); err != nil {
		t.Fatal(err)
	}
	st, err = f.WaitState(5*time.Second, "late", mesos.TASK_LOST)
	if err != nil || st.GetReason() != mesos.REASON_INVALID_OFFERS {
		t.Fatalf("stale offer: %v %v", st, err)
	}
	// a resource the agent does not have is refused
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil {
		t.Fatal(err)
	}
	o, _ = f.WaitOffer(5*time.Second, nil)
	weird := CommandTask("weird", o, 1, 10, "true")
	weird.Resources = append(weird.Resources, mesos.Resource{Name: "colors", Type: mesos.SET.Enum(), Set: &mesos.Value_Set{Item: []string{"red"}}})
	if err := f.Launch(o, 0, weird); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(5*time.Second, "weird", mesos.TASK_ERROR); err != nil {
		t.Fatal(err)
	}
	// a TEXT resource is not a resource type at all
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil {
		t.Fatal(err)
	}
	o, _ = f.WaitOffer(5*time.Second, nil)
	text := CommandTask("text", o, 1, 10, "true")
	text.Resources = append(text.Resources, mesos.Resource{Name: "label", Type: mesos.TEXT.Enum()})
	_ = f.Launch(o, 0, text)
	if st, err := f.WaitState(5*time.Second, "text", mesos.TASK_ERROR); err != nil || !strings.Contains(st.GetMessage(), "unsupported type") {
		t.Fatal(st.GetMessage(), err)
	}
}

func TestOfferTimeoutRescinds(t *testing.T) {
	c := Start(t, Options{OfferTimeout: 200 * time.Millisecond})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	o, _ := f.WaitOffer(5*time.Second, nil)
	if _, err := f.WaitEvent(2*time.Second, func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_RESCIND && ev.Rescind.OfferID == o.ID
	}); err != nil {
		t.Fatal(err)
	}
}

func TestHeartbeats(t *testing.T) {
	c := Start(t, Options{HeartbeatInterval: 100 * time.Millisecond})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	Eventually(t, 2*time.Second, "three heartbeats", func() bool {
		n := 0
		for _, ev := range f.Events() {
			if ev.Type == scheduler.Event_HEARTBEAT {
				n++
			}
		}
		return n >= 3
	})
}

// Agents can offer resource types a framework may not know: custom scalars
// and sets.
func TestCustomResourceTypesOffered(t *testing.T) {
	c := Start(t, Options{Agents: []AgentSpec{{Resources: []mesos.Resource{
		{Name: "fpgas", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 2}},
		{Name: "colors", Type: mesos.SET.Enum(), Set: &mesos.Value_Set{Item: []string{"red", "blue"}}},
	}}}})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	o, err := f.WaitOffer(5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := fromProto(o.Resources)
	if r.scalar("fpgas") != 2 || len(r.sets["colors"]) != 2 {
		t.Fatalf("offer %v", r)
	}
	task := CommandTask("red", o, 1, 10, "true")
	task.Resources = append(task.Resources, mesos.Resource{Name: "colors", Type: mesos.SET.Enum(), Set: &mesos.Value_Set{Item: []string{"red"}}})
	if err := f.Launch(o, time.Hour, task); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(5*time.Second, "red", mesos.TASK_FINISHED); err != nil {
		t.Fatal(err)
	}
}

func TestOfferFormatByCapability(t *testing.T) {
	c := Start(t, Options{Agents: []AgentSpec{{Resources: []mesos.Resource{{Name: "gpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 1}}}}}})
	plain := StartFramework(t, c, mesos.FrameworkInfo{Name: "plain"})
	time.Sleep(300 * time.Millisecond)
	if n := len(plain.Offers()); n != 0 {
		t.Fatalf("a framework without GPU_RESOURCES was offered a GPU agent")
	}
	caps := []mesos.FrameworkInfo_Capability{
		{Type: mesos.FrameworkInfo_Capability_GPU_RESOURCES},
		{Type: mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT},
		{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE},
	}
	f := StartFramework(t, c, mesos.FrameworkInfo{Name: "gpu", Roles: []string{"stoke"}, Capabilities: caps})
	o, err := f.WaitOffer(5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.AllocationInfo.GetRole() != "stoke" {
		t.Fatalf("allocation info %v", o.AllocationInfo)
	}
	for _, r := range o.Resources {
		if r.Role != nil || r.AllocationInfo.GetRole() != "stoke" {
			t.Fatalf("resource %v: want no role and allocation role stoke", r)
		}
	}
}
