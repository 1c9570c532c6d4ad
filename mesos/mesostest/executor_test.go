package mesostest

import (
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func executorTask(id string, o mesos.Offer, ei *mesos.ExecutorInfo, cpus float64, data string) mesos.TaskInfo {
	return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
		Resources: Resources(cpus, 0), Executor: ei, Data: []byte(data)}
}

// The fine-grained pattern: one custom executor holding its overhead, one
// Mesos task per unit of work; CPU returns to Mesos when a task ends and
// another framework is offered it.
func TestCustomExecutorFineGrained(t *testing.T) {
	c := Start(t, Options{Agents: []AgentSpec{{CPUs: 4, MemMB: 2048}}, StatusUpdateRetry: 300 * time.Millisecond})
	f := StartFramework(t, c, mesos.FrameworkInfo{Name: "fine"})
	ei := testExecutorInfo(t, "stoke-exec", 1, 256)

	o, err := f.WaitOffer(5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Launch(o, time.Hour, executorTask("a", o, ei, 1, "run"), executorTask("b", o, ei, 1, "finish")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "a", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "b", mesos.TASK_FINISHED); err != nil {
		t.Fatal(err)
	}
	agent := c.Agents()[0].ID()
	Eventually(t, 5*time.Second, "usage = overhead + one task", func() bool { return c.Used(f.ID(), agent).CPUs == 2 })

	// another framework gets the freed CPU; offers the first framework got meanwhile are
	// declined for an hour so that they do not hold it (REVIVE below clears that filter)
	for {
		o, err := f.WaitOffer(300*time.Millisecond, nil)
		if err != nil {
			break
		}
		if err := f.Decline(time.Hour, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	other := StartFramework(t, c, mesos.FrameworkInfo{Name: "other"})
	oo, err := other.WaitOffer(5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := fromProto(oo.Resources); r.scalar("cpus") != 2 {
		t.Fatalf("other framework offered %v, want the 2 free cpus", r)
	}
	if err := other.Decline(time.Hour, oo.ID); err != nil {
		t.Fatal(err)
	}

	// a task on the running executor: the offer lists it, no new overhead
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil {
		t.Fatal(err)
	}
	o, err = f.WaitOffer(5*time.Second, func(o mesos.Offer) bool { return len(o.ExecutorIDs) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Launch(o, time.Hour, executorTask("c", o, ei, 1, "run")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "c", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	if u := c.Used(f.ID(), agent); u.CPUs != 3 {
		t.Fatalf("usage %v, want 3 cpus", u)
	}
	// an incompatible ExecutorInfo with the same id is refused
	bad := *ei
	bad.Name = ptr("different")
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil {
		t.Fatal(err)
	}
	o, _ = f.WaitOffer(5*time.Second, nil)
	_ = f.Launch(o, time.Hour, executorTask("d", o, &bad, 0.5, "run"))
	if st, err := f.WaitState(5*time.Second, "d", mesos.TASK_ERROR); err != nil || st.GetReason() != mesos.REASON_TASK_INVALID {
		t.Fatalf("incompatible executor: %v %v", st, err)
	}

	// framework messages reach the executor and back
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_MESSAGE, Message: &scheduler.Call_Message{
		AgentID: o.AgentID, ExecutorID: ei.ExecutorID, Data: []byte("ping")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitEvent(5*time.Second, func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_MESSAGE && string(ev.Message.Data) == "echo:ping"
	}); err != nil {
		t.Fatal(err)
	}

	// KILL goes to the executor, which answers TASK_KILLED
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "c"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "c", mesos.TASK_KILLED); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, "usage back to overhead + a", func() bool { return c.Used(f.ID(), agent).CPUs == 2 })

	// SHUTDOWN: the executor kills its task, exits, and its overhead is freed
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_SHUTDOWN, Shutdown: &scheduler.Call_Shutdown{
		ExecutorID: ei.ExecutorID, AgentID: o.AgentID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "a", mesos.TASK_KILLED); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitEvent(10*time.Second, func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_FAILURE && ev.Failure.GetExecutorID().GetValue() == "stoke-exec"
	}); err != nil {
		t.Fatal("no FAILURE for the exited executor:", err)
	}
	Eventually(t, 5*time.Second, "no usage", func() bool { return c.Used(f.ID(), "").CPUs == 0 })
	var cpus []float64
	for _, s := range c.UsageHistory(f.ID()) {
		cpus = append(cpus, s.CPUs)
	}
	// up to overhead + two tasks, down to overhead + one, back up, then 0
	want := []float64{2, 3, 2, 3, 2, 1, 0}
	if len(cpus) != len(want) {
		t.Fatalf("usage history %v, want %v", cpus, want)
	}
	for i := range want {
		if cpus[i] != want[i] {
			t.Fatalf("usage history %v, want %v", cpus, want)
		}
	}
}

// An executor's update is re-sent (by the executor to the agent, and by the
// agent to the framework) until the framework acknowledges it.
func TestExecutorUpdatesRetriedUntilAcknowledged(t *testing.T) {
	c := Start(t, Options{StatusUpdateRetry: 200 * time.Millisecond})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	f.SetAutoAck(false)
	ei := testExecutorInfo(t, "e1", 0.5, 64)
	o, err := f.WaitOffer(5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Launch(o, time.Hour, executorTask("x", o, ei, 1, "run")); err != nil {
		t.Fatal(err)
	}
	first, err := f.WaitState(10*time.Second, "x", mesos.TASK_RUNNING)
	if err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, "re-sent update and executor retries", func() bool {
		n := 0
		for _, u := range f.Updates() {
			if string(u.UUID) == string(first.UUID) {
				n++
			}
		}
		return n >= 3 && c.Counters().DuplicateExecutorUpdates > 0
	})
	f.SetAutoAck(true)
	Eventually(t, 5*time.Second, "acknowledged", func() bool {
		v, _ := c.Task(f.ID(), "x")
		return v.PendingUpdates == 0 && c.Counters().Acks == 1
	})
}

func TestExecutorAPIErrors(t *testing.T) {
	c := Start(t, Options{})
	url := "http://" + c.Agents()[0].Endpoint() + "/api/v1/executor"
	cases := []struct {
		body string
		code int
		want string
	}{
		{`{"type":"SUBSCRIBE","framework_id":{"value":"nope"},"executor_id":{"value":"e"},"subscribe":{}}`, 400, "Framework 'nope' cannot be found"},
		{`{"type":"SUBSCRIBE"}`, 400, "framework_id"},
		{`{"type":`, 400, "Failed to parse body into executor::Call JSON"},
		{`{"type":"UPDATE","framework_id":{"value":"f"},"executor_id":{"value":"e"},"update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}}`, 400, "uuid"},
	}
	for _, tc := range cases {
		code, _, body := rawPost(t, url, mediaJSON, mediaJSON, "", tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: got %d %q", tc.body, code, body)
		}
	}
}

func TestExecutorThatNeverSubscribes(t *testing.T) {
	c := Start(t, Options{ExecutorRegistrationTimeout: 300 * time.Millisecond})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	crash := &mesos.ExecutorInfo{Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: "crash"}, Command: &mesos.CommandInfo{Value: ptr("exit 3")}}
	silent := &mesos.ExecutorInfo{Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: "silent"}, Command: &mesos.CommandInfo{Value: ptr("exec sleep 30")}}
	o, _ := f.WaitOffer(5*time.Second, nil)
	if err := f.Launch(o, 0, executorTask("c1", o, crash, 1, ""), executorTask("s1", o, silent, 1, "")); err != nil {
		t.Fatal(err)
	}
	st, err := f.WaitState(5*time.Second, "c1", mesos.TASK_FAILED)
	if err != nil || st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED {
		t.Fatalf("crashing executor: %v %v", st, err)
	}
	if _, err := f.WaitEvent(5*time.Second, func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_FAILURE && ev.Failure.GetExecutorID().GetValue() == "crash" && ev.Failure.GetStatus() == 3<<8
	}); err != nil {
		t.Fatal("FAILURE with the exit status:", err)
	}
	st, err = f.WaitState(5*time.Second, "s1", mesos.TASK_FAILED)
	if err != nil || st.GetReason() != mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT {
		t.Fatalf("silent executor: %v %v", st, err)
	}
}
