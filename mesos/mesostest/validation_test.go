package mesostest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/stoke-run/stoke/internal/testutil"
)

// The stand-in refuses, with TASK_ERROR (REASON_TASK_INVALID) and the
// reason, each malformed task a real master refuses, and warns (launching
// it) about an executor below Mesos's minimum resources.
func TestMasterValidatesTasksAsMesosDoes(t *testing.T) {
	c := Start(t, Options{AllocationInterval: 50 * time.Millisecond, Agents: []AgentSpec{{CPUs: 8, MemMB: 4096}}})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	o, err := f.WaitOffer(testutil.D(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	no := false
	custom := func(id string, cmd *mesos.CommandInfo, mem float64) *mesos.ExecutorInfo {
		return &mesos.ExecutorInfo{Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: id}, Command: cmd, Resources: Resources(0.1, mem)}
	}
	withExec := func(id string, e *mesos.ExecutorInfo) mesos.TaskInfo {
		task := CommandTask(id, o, 0.1, 10, "true")
		task.Command, task.Executor = nil, e
		return task
	}
	cases := map[string]struct {
		task mesos.TaskInfo
		want string
	}{}
	add := func(name string, task mesos.TaskInfo, want string) {
		cases[name] = struct {
			task mesos.TaskInfo
			want string
		}{task, want}
	}
	for name, id := range map[string]string{"slash": "a/b", "dot": "..", "space": "a b", "control": "a\x01", "long": strings.Repeat("x", 256)} {
		task := CommandTask("placeholder", o, 0.1, 10, "true")
		task.TaskID.Value = id
		add("task id "+name, task, "is invalid")
	}
	noExec := CommandTask("neither", o, 0.1, 10, "true")
	noExec.Command = nil
	add("neither command nor executor", noExec, "at least one (but not both)")
	add("executor type unset", withExec("untyped", &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e0"}, Command: &mesos.CommandInfo{Value: str("true")}}), "'ExecutorInfo.type' must be 'CUSTOM'")
	add("executor without command", withExec("nocmd", custom("e1", nil, 32)), "'ExecutorInfo.command' must be set")
	add("executor id invalid", withExec("badexec", custom("e/1", &mesos.CommandInfo{Value: str("true")}, 32)), "Executor ID 'e/1' is invalid")
	other := custom("e2", &mesos.CommandInfo{Value: str("true")}, 32)
	other.FrameworkID = &mesos.FrameworkID{Value: "another-framework"}
	add("executor of another framework", withExec("otherfw", other), "invalid FrameworkID")
	add("shell without value", withExec("emptyshell", custom("e3", &mesos.CommandInfo{}, 32)), "shell command is not specified")
	add("executable without path", withExec("emptyexe", custom("e4", &mesos.CommandInfo{Shell: &no}, 32)), "executable path is not specified")
	secretless := CommandTask("secretless", o, 0.1, 10, "true")
	secretless.Command.Environment = &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: "TOKEN", Type: mesos.Environment_Variable_SECRET.Enum()}}}
	add("secret variable without secret", secretless, "of type 'SECRET' must have a secret set")
	valueless := CommandTask("valueless", o, 0.1, 10, "true")
	valueless.Command.Environment = &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: "HOME"}}}
	add("variable without value", valueless, "of type 'VALUE' must have a value set")
	nouri := CommandTask("nouri", o, 0.1, 10, "true")
	nouri.Command.URIs = []mesos.CommandInfo_URI{{}}
	add("uri without value", nouri, "uris[0] has no 'value'")
	grace := CommandTask("grace", o, 0.1, 10, "true")
	grace.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: -1}}
	add("negative kill grace period", grace, "grace_period' must be non-negative")

	var tasks []mesos.TaskInfo
	ids := map[string]string{}
	for name, tc := range cases {
		tc.task.Name = name
		tasks = append(tasks, tc.task)
		ids[tc.task.TaskID.Value] = name
	}
	// One valid task whose executor holds no memory: launched, with the
	// warning a real master logs.
	tasks = append(tasks, withExec("lowmem", custom("small", &mesos.CommandInfo{Value: str("sleep 30")}, 0)))
	if err := f.Launch(o, 0, tasks...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		st, err := f.WaitState(testutil.D(5*time.Second), tc.task.TaskID.Value, mesos.TASK_ERROR)
		if err != nil {
			t.Errorf("%s: %v", tc.task.Name, err)
			continue
		}
		if st.GetReason() != mesos.REASON_TASK_INVALID || !strings.Contains(st.GetMessage(), tc.want) {
			t.Errorf("%s: %v %q, want REASON_TASK_INVALID saying %q", tc.task.Name, st.GetReason(), st.GetMessage(), tc.want)
		}
	}
	Eventually(t, 5*time.Second, "the low-memory executor's warning", func() bool { return len(c.Warnings()) > 0 })
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "uses less memory (None) than the minimum required (32MB)") {
		t.Fatalf("warnings = %q", w)
	}
	if task, ok := c.Task(f.ID(), "lowmem"); !ok || task.State == mesos.TASK_ERROR {
		t.Fatalf("the low-memory executor's task was refused: %+v", task)
	}
}

// The state endpoints carry what an operator reads of a framework: its
// web UI link, roles and used resources; /master/tasks lists every task;
// only GET is served.
func TestMasterTasksEndpointAndWebUIURL(t *testing.T) {
	c := Start(t, Options{AllocationInterval: 50 * time.Millisecond})
	f := StartFramework(t, c, mesos.FrameworkInfo{Name: "ui", WebUiURL: ptr("http://driver.example:4040")})
	o, err := f.WaitOffer(testutil.D(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Launch(o, 0, CommandTask("listed", o, 1, 64, "sleep 30")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(testutil.D(10*time.Second), "listed", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	state := getJSON(t, c.Leader().URL()+"/master/frameworks")
	fws := state["frameworks"].([]any)
	fw := fws[0].(map[string]any)
	if fw["webui_url"] != "http://driver.example:4040" || len(fw["roles"].([]any)) != 1 {
		t.Fatalf("framework view: webui_url %v roles %v", fw["webui_url"], fw["roles"])
	}
	if used := fw["used_resources"].(map[string]any); used["cpus"] != 1.0 || used["mem"] != 64.0 {
		t.Fatalf("used_resources = %v", used)
	}
	tasks := getJSON(t, c.Leader().URL()+"/master/tasks")["tasks"].([]any)
	if len(tasks) != 1 || tasks[0].(map[string]any)["id"] != "listed" || tasks[0].(map[string]any)["state"] != "TASK_RUNNING" {
		t.Fatalf("/master/tasks = %v", tasks)
	}
	if code := postStatus(t, c.Leader().URL()+"/master/tasks"); code != 405 {
		t.Fatalf("POST /master/tasks: %d, want 405", code)
	}
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(getBody(t, http.MethodGet, url, "")), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func postStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Offers follow Mesos's allocator: what a framework declines, and what its
// finished tasks give back, is offered again at the next allocation
// interval, not at once; a REVIVE (as a subscription or a new agent)
// makes the master offer at once. The interval here is an hour, so any
// offer seen within the test came from an event, never from the clock.
func TestOffersWaitForTheAllocationIntervalUnlessRevived(t *testing.T) {
	c := Start(t, Options{AllocationInterval: time.Hour, Agents: []AgentSpec{{CPUs: 2, MemMB: 1024}}})
	f := StartFramework(t, c, mesos.FrameworkInfo{})
	o, err := f.WaitOffer(testutil.D(5*time.Second), nil)
	if err != nil {
		t.Fatalf("no offer on subscription: %v", err)
	}
	quiet := func(what string) {
		t.Helper()
		time.Sleep(300 * time.Millisecond)
		if n := len(f.Offers()); n != 0 {
			t.Fatalf("%s: %d offer(s) before the allocation interval", what, n)
		}
	}
	if err := f.Decline(0, o.ID); err != nil {
		t.Fatal(err)
	}
	quiet("after DECLINE with no filter")
	revive := func() mesos.Offer {
		t.Helper()
		if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil {
			t.Fatal(err)
		}
		o, err := f.WaitOffer(testutil.D(5*time.Second), nil)
		if err != nil {
			t.Fatalf("REVIVE brought no offer: %v", err)
		}
		return o
	}
	o = revive()
	if err := f.Launch(o, 0, CommandTask("short", o, 1, 64, "true")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(testutil.D(10*time.Second), "short", mesos.TASK_FINISHED); err != nil {
		t.Fatal(err)
	}
	quiet("after a task finished")
	if o = revive(); cpus(o) != 2 {
		t.Fatalf("the revived offer has %v cpus, want the agent's 2", cpus(o))
	}
}

func cpus(o mesos.Offer) float64 {
	r, _ := fromProto(o.Resources)
	return r.scalar("cpus")
}
