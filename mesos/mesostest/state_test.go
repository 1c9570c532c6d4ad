package mesostest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/stoke-run/stoke/internal/testutil"
)

func getBody(t *testing.T, method, url, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	if !json.Valid(b) {
		t.Fatalf("%s %s: not JSON: %s", method, url, b)
	}
	return string(b)
}

// The state endpoints show what Mesos shows: a custom executor's command
// environment (a SECRET variable's value too) on the master, no task or
// executor data there; the agent's operator API shows the whole
// ExecutorInfo, data included. An ExecutorInfo whose type is not CUSTOM is
// refused as the real master refuses it.
func TestStateEndpointsShowWhatMesosShows(t *testing.T) {
	c := Start(t, Options{Agents: []AgentSpec{{CPUs: 2, MemMB: 1024}}})
	f := StartFramework(t, c, mesos.FrameworkInfo{Name: "state"})

	ei := testExecutorInfo(t, "exec-1", 0.5, 64)
	ei.Command.Environment.Variables = append(ei.Command.Environment.Variables,
		mesos.Environment_Variable{Name: "PLAIN", Value: ptr("plain-canary")},
		mesos.Environment_Variable{Name: "SEALED", Type: mesos.Environment_Variable_SECRET.Enum(),
			Secret: &mesos.Secret{Type: mesos.Secret_VALUE, Value: &mesos.Secret_Value{Data: []byte("secret-canary")}}})
	ei.Data = []byte("executor-data-canary")
	o, err := f.WaitOffer(testutil.D(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	task := mesos.TaskInfo{Name: "t1", TaskID: mesos.TaskID{Value: "t1"}, AgentID: o.AgentID,
		Resources: Resources(0.5, 64), Executor: ei, Data: []byte("task-data-canary")}
	if err := f.Launch(o, 0, task); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(testutil.D(10*time.Second), "t1", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}

	master := getBody(t, "GET", c.Leader().URL()+"/master/state", "")
	frameworks := getBody(t, "GET", c.Leader().URL()+"/master/frameworks", "")
	agentURL := "http://" + c.Agents()[0].Endpoint()
	agent := getBody(t, "GET", agentURL+"/state", "")
	agent1 := getBody(t, "GET", agentURL+"/slave(1)/state", "")
	op := getBody(t, "POST", agentURL+"/api/v1", `{"type":"GET_EXECUTORS"}`)

	sealed := base64.StdEncoding.EncodeToString([]byte("secret-canary"))
	for name, body := range map[string]string{"/master/state": master, "/master/frameworks": frameworks} {
		for _, want := range []string{`"PLAIN"`, "plain-canary", `"SEALED"`, sealed, `"executor_id":"exec-1"`, `"type":"CUSTOM"`, `"id":"t1"`, `"state":"TASK_RUNNING"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s: %s", name, want, body)
			}
		}
		for _, no := range []string{"executor-data-canary", base64.StdEncoding.EncodeToString([]byte("executor-data-canary")), "task-data-canary", base64.StdEncoding.EncodeToString([]byte("task-data-canary"))} {
			if strings.Contains(body, no) {
				t.Errorf("%s shows data %s, which Mesos never shows there", name, no)
			}
		}
	}
	for _, body := range []string{agent, agent1} {
		if !strings.Contains(body, `"id":"exec-1"`) || !strings.Contains(body, `"id":"t1"`) || strings.Contains(body, "plain-canary") {
			t.Errorf("agent /state: want the executor and its task, without the executor's command: %s", body)
		}
	}
	if !strings.Contains(op, "plain-canary") || !strings.Contains(op, base64.StdEncoding.EncodeToString([]byte("executor-data-canary"))) {
		t.Errorf("agent GET_EXECUTORS: want the whole ExecutorInfo, environment and data: %s", op)
	}
	if r := getStatus(t, "POST", agentURL+"/api/v1", `{"type":"GET_STATE"`); r != http.StatusBadRequest {
		t.Errorf("malformed operator call: %d, want 400", r)
	}

	// A command task's environment is on the agent's operator API, as the
	// agent builds the command executor's ExecutorInfo from it.
	o, err = f.WaitOffer(testutil.D(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	ct := CommandTask("c1", o, 0.5, 32, "exec sleep 60")
	ct.Command.Environment = &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: "CMD_ENV", Value: ptr("command-canary")}}}
	bad := mesos.TaskInfo{Name: "t2", TaskID: mesos.TaskID{Value: "t2"}, AgentID: o.AgentID, Resources: Resources(0.5, 32),
		Executor: &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "untyped"}, Command: &mesos.CommandInfo{Value: ptr("true")}}}
	if err := f.Launch(o, 0, ct, bad); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitState(testutil.D(10*time.Second), "c1", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	st, err := f.WaitState(testutil.D(10*time.Second), "t2", mesos.TASK_ERROR)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetMessage() != "'ExecutorInfo.type' must be 'CUSTOM'" {
		t.Errorf("untyped executor: %q", st.GetMessage())
	}
	testutil.Eventually(t, 5*time.Second, "the command task's environment on GET_EXECUTORS", func() bool {
		return strings.Contains(getBody(t, "POST", agentURL+"/api/v1", `{"type":"GET_EXECUTORS"}`), "command-canary")
	})
	if strings.Contains(getBody(t, "GET", c.Leader().URL()+"/master/state", ""), "command-canary") {
		t.Error("the master shows a command task's command; Mesos's Task has none")
	}
}

func getStatus(t *testing.T, method, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
