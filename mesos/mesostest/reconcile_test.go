package mesostest

import (
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func TestReconcile(t *testing.T) {
	c := Start(t, Options{})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	launchSleeper(t, f, "live", 1)
	agent := c.Agents()[0].ID()
	// explicit: a known task gets its state, an unknown one TASK_LOST
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{Tasks: []scheduler.Call_Reconcile_Task{
		{TaskID: mesos.TaskID{Value: "live"}, AgentID: &mesos.AgentID{Value: agent}},
		{TaskID: mesos.TaskID{Value: "never"}},
	}}}); err != nil {
		t.Fatal(err)
	}
	st, err := f.WaitState(5*time.Second, "never", mesos.TASK_LOST)
	if err != nil || st.GetReason() != mesos.REASON_RECONCILIATION || st.UUID != nil {
		t.Fatalf("unknown task: %v %v", st, err)
	}
	n := func() int {
		k := 0
		for _, u := range f.Updates() {
			if u.TaskID.Value == "live" && u.GetReason() == mesos.REASON_RECONCILIATION && u.GetState() == mesos.TASK_RUNNING {
				k++
			}
		}
		return k
	}
	Eventually(t, 5*time.Second, "explicit answer", func() bool { return n() == 1 })
	// implicit: every non-terminal task
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{}}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, "implicit answer", func() bool { return n() == 2 })
}
