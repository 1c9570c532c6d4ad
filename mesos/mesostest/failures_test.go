package mesostest

import (
	"archive/tar"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func launchSleeper(t *testing.T, f *TestFramework, id string, cpus float64) mesos.Offer {
	t.Helper()
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil {
		t.Fatal(err)
	}
	o, err := f.WaitOffer(5*time.Second, func(o mesos.Offer) bool { r, _ := fromProto(o.Resources); return r.scalar("cpus") >= cpus })
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Launch(o, time.Hour, CommandTask(id, o, cpus, 32, "exec sleep 60")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, id, mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestKillCommandTask(t *testing.T) {
	c := Start(t, Options{})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	launchSleeper(t, f, "s1", 1)
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "s1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "s1", mesos.TASK_KILLED); err != nil {
		t.Fatal(err)
	}
	// killing an unknown task answers TASK_LOST
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "ghost"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(5*time.Second, "ghost", mesos.TASK_LOST); err != nil {
		t.Fatal(err)
	}
	// injected crash of a task's process
	launchSleeper(t, f, "s2", 1)
	if err := c.KillTask(f.ID(), "s2"); err != nil {
		t.Fatal(err)
	}
	st, err := f.WaitState(10*time.Second, "s2", mesos.TASK_FAILED)
	if err != nil || !strings.Contains(st.GetMessage(), "signal") {
		t.Fatalf("crashed task: %v %v", st.GetMessage(), err)
	}
	Eventually(t, 5*time.Second, "no usage", func() bool { return c.Used(f.ID(), "").CPUs == 0 })
}

func TestKillExecutorInjected(t *testing.T) {
	c := Start(t, Options{})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	o, _ := f.WaitOffer(5*time.Second, nil)
	ei := testExecutorInfo(t, "victim", 0.5, 64)
	if err := f.Launch(o, time.Hour, executorTask("v1", o, ei, 1, "run")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "v1", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	if err := c.KillExecutor(f.ID(), "victim"); err != nil {
		t.Fatal(err)
	}
	st, err := f.WaitState(10*time.Second, "v1", mesos.TASK_FAILED)
	if err != nil || st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED {
		t.Fatalf("%v %v", st, err)
	}
	if _, err := f.WaitEvent(5*time.Second, func(ev *scheduler.Event) bool { return ev.Type == scheduler.Event_FAILURE }); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, "no usage", func() bool { return c.Used(f.ID(), "").CPUs == 0 })
}

func TestRemoveAgent(t *testing.T) {
	c := Start(t, Options{Agents: []AgentSpec{{}, {}}})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	o := launchSleeper(t, f, "r1", 1)
	if err := c.RemoveAgent(o.AgentID.Value); err != nil {
		t.Fatal(err)
	}
	st, err := f.WaitState(5*time.Second, "r1", mesos.TASK_LOST)
	if err != nil || st.GetReason() != mesos.REASON_AGENT_REMOVED {
		t.Fatalf("%v %v", st, err)
	}
	if _, err := f.WaitEvent(5*time.Second, func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_FAILURE && ev.Failure.GetAgentID().GetValue() == o.AgentID.Value && ev.Failure.ExecutorID == nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Agents()); n != 1 {
		t.Fatalf("%d agents left", n)
	}
	// a partition-aware framework sees TASK_GONE
	c2 := Start(t, Options{})
	g := StartFramework(t, c2, mesos.FrameworkInfo{Capabilities: []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE}}})
	o = launchSleeper(t, g, "g1", 1)
	_ = c2.RemoveAgent(o.AgentID.Value)
	if _, err := g.WaitState(5*time.Second, "g1", mesos.TASK_GONE); err != nil {
		t.Fatal(err)
	}
}

func TestMasterFailover(t *testing.T) {
	c := Start(t, Options{Masters: 2})
	f := StartFramework(t, c, mesos.FrameworkInfo{FailoverTimeout: ptr(60.0)})
	id := f.ID()
	launchSleeper(t, f, "m1", 1)
	old := c.Leader()
	leader := c.FailoverMaster()
	if leader == old || !leader.Leading() || old.Leading() {
		t.Fatal("leadership did not move")
	}
	Eventually(t, 5*time.Second, "stream dropped", func() bool { return f.StreamErr() != nil })
	// the task keeps running; the framework re-subscribes (through the old
	// leader's 307) with its id and reconciles
	if err := f.Subscribe(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitEvent(5*time.Second, func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_SUBSCRIBED && ev.Subscribed.FrameworkID.Value == id && ev.Subscribed.MasterInfo.ID == leader.id
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{}}); err != nil {
		t.Fatal(err)
	}
	st, err := f.WaitEvent(5*time.Second, func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_UPDATE && ev.Update.Status.TaskID.Value == "m1" &&
			ev.Update.Status.GetReason() == mesos.REASON_RECONCILIATION
	})
	if err != nil || st.Update.Status.GetState() != mesos.TASK_RUNNING || st.Update.Status.UUID != nil {
		t.Fatalf("reconcile: %v %v", st, err)
	}
	// the new leader offers only what is free
	o, err := f.WaitOffer(5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := fromProto(o.Resources); r.scalar("cpus") != 3 {
		t.Fatalf("offer after failover %v", r)
	}
	if c.Counters().LeaderChanges != 2 {
		t.Fatalf("leader changes %d", c.Counters().LeaderChanges)
	}
}

func TestFrameworkFailover(t *testing.T) {
	c := Start(t, Options{})
	keep := StartFramework(t, c, mesos.FrameworkInfo{Name: "keep", FailoverTimeout: ptr(30.0)})
	lose := StartFramework(t, c, mesos.FrameworkInfo{Name: "lose", FailoverTimeout: ptr(0.3)})
	launchSleeper(t, keep, "k1", 1)
	launchSleeper(t, lose, "l1", 1)
	if err := c.DropStream(keep.ID()); err != nil {
		t.Fatal(err)
	}
	if err := c.DropStream(lose.ID()); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, "streams dropped", func() bool { return keep.StreamErr() != nil && lose.StreamErr() != nil })
	// calls from a disconnected framework are refused with 403
	if err := keep.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("call while disconnected: %v", err)
	}
	if err := keep.Subscribe(); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, "lose's task killed after its failover timeout", func() bool {
		v, ok := c.Task(lose.ID(), "l1")
		return ok && v.State == mesos.TASK_KILLED
	})
	if v, _ := c.Task(keep.ID(), "k1"); v.State != mesos.TASK_RUNNING {
		t.Fatalf("kept task is %v", v.State)
	}
	if fv, _ := c.Framework(lose.ID()); fv.Removed != "failover timeout" {
		t.Fatalf("lose: %+v", fv)
	}
	// a removed framework cannot come back
	if err := lose.Subscribe(); err == nil || !strings.Contains(err.Error(), "has been removed") {
		t.Fatalf("re-subscribing a removed framework: %v", err)
	}
	// a second subscription of the same id replaces the first, which gets
	// ERROR "Framework failed over"
	second := StartFramework(t, c, mesos.FrameworkInfo{Name: "keep", ID: &mesos.FrameworkID{Value: keep.ID()}, FailoverTimeout: ptr(30.0)})
	if _, err := keep.WaitEvent(5*time.Second, func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_ERROR && ev.Error.Message == "Framework failed over"
	}); err != nil {
		t.Fatal(err)
	}
	if second.ID() != keep.ID() {
		t.Fatalf("failed-over id %s != %s", second.ID(), keep.ID())
	}
}

func TestTeardownReleasesEverything(t *testing.T) {
	c := Start(t, Options{ExecutorShutdownGracePeriod: time.Second})
	f := StartFramework(t, c, mesos.FrameworkInfo{FailoverTimeout: ptr(60.0)})
	launchSleeper(t, f, "t1", 1)
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil {
		t.Fatal(err)
	}
	o, err := f.WaitOffer(5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Launch(o, time.Hour, executorTask("t2", o, testExecutorInfo(t, "ex", 0.5, 64), 1, "run")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(10*time.Second, "t2", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	if err := f.Teardown(); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "everything released", func() bool {
		v1, _ := c.Task(f.ID(), "t1")
		v2, _ := c.Task(f.ID(), "t2")
		return c.Used(f.ID(), "").CPUs == 0 && isTerminal(v1.State) && isTerminal(v2.State)
	})
	if fv, _ := c.Framework(f.ID()); fv.Removed != "teardown" || fv.Connected {
		t.Fatalf("%+v", fv)
	}
	// the whole agent is offered to the next framework
	g := StartFramework(t, c, mesos.FrameworkInfo{})
	o, err = g.WaitOffer(5*time.Second, nil)
	if r, _ := fromProto(o.Resources); err != nil || r.scalar("cpus") != 4 {
		t.Fatalf("after teardown: %v %v", r, err)
	}
}

func TestFetcherAndEnvironment(t *testing.T) {
	// an HTTP server with a tar.gz holding a script, and a plain binary
	dir := t.TempDir()
	tgz := filepath.Join(dir, "app.tar.gz")
	writeTarGz(t, tgz, map[string]string{"app/run.sh": "#!/bin/sh\necho from-archive > archive.txt\n"})
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	if err := os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\necho tool-ran > tool.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "conf.txt")
	_ = os.WriteFile(local, []byte("conf"), 0o644)

	c := Start(t, Options{})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	o, _ := f.WaitOffer(5*time.Second, nil)
	task := CommandTask("fetch", o, 1, 32, `sh app/run.sh && ./tool && cat conf.txt > conf.copy && env | grep ^MESOS_ | sort > env.txt`)
	task.Command.URIs = []mesos.CommandInfo_URI{
		{Value: srv.URL + "/app.tar.gz"},
		{Value: srv.URL + "/tool", Executable: ptr(true)},
		{Value: "file://" + local},
	}
	task.Command.Environment = &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: "STOKE_X", Value: ptr("1")}}}
	if err := f.Launch(o, time.Hour, task); err != nil {
		t.Fatal(err)
	}
	if st, err := f.WaitState(10*time.Second, "fetch", mesos.TASK_FINISHED); err != nil {
		t.Fatal(st.GetMessage(), err)
	}
	v, _ := c.Task(f.ID(), "fetch")
	for file, want := range map[string]string{"archive.txt": "from-archive", "tool.txt": "tool-ran", "conf.copy": "conf",
		"env.txt": "MESOS_AGENT_ENDPOINT=" + c.Agents()[0].Endpoint()} {
		b, err := os.ReadFile(filepath.Join(v.Sandbox, file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %q %v", file, b, err)
		}
	}
	env, _ := os.ReadFile(filepath.Join(v.Sandbox, "env.txt"))
	for _, k := range []string{"MESOS_SANDBOX=", "MESOS_DIRECTORY=", "MESOS_TASK_ID=fetch", "MESOS_FRAMEWORK_ID=" + f.ID(), "MESOS_EXECUTOR_ID=fetch"} {
		if !strings.Contains(string(env), k) {
			t.Errorf("environment lacks %s:\n%s", k, env)
		}
	}
	// a URI that cannot be fetched fails the task
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil {
		t.Fatal(err)
	}
	o, _ = f.WaitOffer(5*time.Second, nil)
	bad := CommandTask("nofetch", o, 1, 32, "true")
	bad.Command.URIs = []mesos.CommandInfo_URI{{Value: srv.URL + "/missing"}}
	_ = f.Launch(o, time.Hour, bad)
	st, err := f.WaitState(10*time.Second, "nofetch", mesos.TASK_FAILED)
	if err != nil || !strings.Contains(st.GetMessage(), "404") {
		t.Fatalf("%v %v", st.GetMessage(), err)
	}
}

func writeTarGz(t *testing.T, path string, files map[string]string) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(out)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	out.Close()
}
