package mesostest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/stoke-run/stoke/internal/testutil"
)

// heldFetch serves a file whose download blocks until release is called:
// a task fetching it stays STAGING meanwhile.
func heldFetch(t *testing.T) (url string, started <-chan struct{}, release func()) {
	t.Helper()
	gate := make(chan struct{})
	began := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began <- struct{}{}
		<-gate
		w.Write([]byte("#!/bin/sh\n"))
	}))
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	// Before the cluster's own cleanup (registered earlier, run later).
	t.Cleanup(func() { release(); srv.Close() })
	return srv.URL + "/payload", began, release
}

func killCall(id string) *scheduler.Call {
	return &scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: id}}}
}

// KILL of a command task still STAGING (its URIs being fetched) completes:
// TASK_KILLED at once, its process never starts once the fetch ends, and
// its resources are free again.
func TestKillStagingCommandTask(t *testing.T) {
	c := Start(t, Options{})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	url, began, release := heldFetch(t)
	o, err := f.WaitOffer(5*time.Second, func(o mesos.Offer) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	task := CommandTask("staged", o, 1, 32, "touch started; exec sleep 60")
	task.Command.URIs = []mesos.CommandInfo_URI{{Value: url}}
	if err := f.Launch(o, time.Hour, task); err != nil {
		t.Fatal(err)
	}
	select {
	case <-began:
	case <-time.After(testutil.D(10 * time.Second)):
		t.Fatal("the agent never began fetching")
	}
	if v, ok := c.Task(f.ID(), "staged"); !ok || v.State != mesos.TASK_STAGING {
		t.Fatalf("task while fetching: %+v, want TASK_STAGING", v)
	}
	if err := f.Call(killCall("staged")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "staged", mesos.TASK_KILLED); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, "nothing held after the kill", func() bool { return c.Used(f.ID(), "").CPUs == 0 })
	release()
	// A task launched and run to its end after the fetch was released shows
	// the agent moved on; the killed one never ran.
	o2, err := f.WaitOffer(10*time.Second, func(o mesos.Offer) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Launch(o2, time.Hour, CommandTask("after", o2, 1, 32, "exit 0")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "after", mesos.TASK_FINISHED); err != nil {
		t.Fatal(err)
	}
	for _, u := range f.Updates() {
		if u.TaskID.Value == "staged" && u.GetState() != mesos.TASK_KILLED {
			t.Errorf("killed STAGING task got update %v", u.GetState())
		}
	}
	v, ok := c.Task(f.ID(), "staged")
	if !ok || v.State != mesos.TASK_KILLED {
		t.Fatalf("killed task: %+v", v)
	}
	if _, err := os.Stat(filepath.Join(v.Sandbox, "started")); err == nil {
		t.Fatalf("the killed task's command ran in %s", v.Sandbox)
	}
}

// KILL of a task queued for a custom executor that has not subscribed yet
// (it is still being fetched) ends it TASK_KILLED without delivery.
func TestKillStagingExecutorTask(t *testing.T) {
	c := Start(t, Options{})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	url, began, _ := heldFetch(t)
	o, err := f.WaitOffer(5*time.Second, func(o mesos.Offer) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	shell := "exec sleep 60"
	einfo := &mesos.ExecutorInfo{Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: "ex"}, Resources: Resources(0.5, 32),
		Command: &mesos.CommandInfo{Value: &shell, URIs: []mesos.CommandInfo_URI{{Value: url}}}}
	task := mesos.TaskInfo{Name: "q", TaskID: mesos.TaskID{Value: "q"}, AgentID: o.AgentID, Resources: Resources(1, 32), Executor: einfo}
	if err := f.Launch(o, time.Hour, task); err != nil {
		t.Fatal(err)
	}
	select {
	case <-began:
	case <-time.After(testutil.D(10 * time.Second)):
		t.Fatal("the agent never began fetching")
	}
	if err := f.Call(killCall("q")); err != nil {
		t.Fatal(err)
	}
	st, err := f.WaitState(10*time.Second, "q", mesos.TASK_KILLED)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetReason() != mesos.REASON_TASK_KILLED_DURING_LAUNCH {
		t.Errorf("reason %v, want REASON_TASK_KILLED_DURING_LAUNCH", st.GetReason())
	}
	Eventually(t, 5*time.Second, "only the executor's own resources held", func() bool { return c.Used(f.ID(), "").CPUs == 0.5 })
}
