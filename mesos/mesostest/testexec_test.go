package mesostest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	execpb "github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"

	"github.com/stoke-run/stoke/internal/testutil"
)

const testExecutorEnv = "MESOSTEST_TEST_EXECUTOR"

// TestMain re-executes the test binary as a custom executor when asked.
func TestMain(m *testing.M) {
	if os.Getenv(testExecutorEnv) == "1" {
		if err := runTestExecutor(); err != nil {
			fmt.Fprintln(os.Stderr, "test executor:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runTestExecutor is a small executor on mesos-go's executor client. A
// task's Data says what it does: "finish" ends after 100ms, "fail" fails,
// anything else runs until killed. Updates are re-sent every 200ms until
// the agent sends ACKNOWLEDGED.
func runTestExecutor() error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	cli := httpcli.New(
		httpcli.Endpoint("http://"+cfg.AgentEndpoint+"/api/v1/executor"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
	)
	sender := calls.SenderWith(httpexec.NewSender(cli.Send), calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := sender.Send(ctx, calls.NonStreaming(calls.Subscribe(nil, nil)))
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Close()

	var mu sync.Mutex
	unacked := map[string]mesos.TaskStatus{}
	running := map[string]bool{}
	send := func(st mesos.TaskStatus) {
		_ = calls.SendNoData(ctx, sender, calls.NonStreaming(calls.Update(st)))
	}
	update := func(task mesos.TaskID, state mesos.TaskState) {
		st := mesos.TaskStatus{TaskID: task, State: state.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(),
			ExecutorID: &mesos.ExecutorID{Value: cfg.ExecutorID}, Timestamp: ptr(now()), UUID: newUUID()}
		mu.Lock()
		unacked[string(st.UUID)] = st
		if isTerminal(state) {
			delete(running, task.Value)
		}
		mu.Unlock()
		send(st)
	}
	go func() {
		for range time.Tick(200 * time.Millisecond) {
			mu.Lock()
			pending := make([]mesos.TaskStatus, 0, len(unacked))
			for _, st := range unacked {
				pending = append(pending, st)
			}
			mu.Unlock()
			for _, st := range pending {
				send(st)
			}
		}
	}()
	for {
		var ev execpb.Event
		if err := resp.Decode(&ev); err != nil {
			return fmt.Errorf("event stream: %w", err)
		}
		switch ev.Type {
		case execpb.Event_LAUNCH:
			t := ev.Launch.Task
			mu.Lock()
			running[t.TaskID.Value] = true
			mu.Unlock()
			update(t.TaskID, mesos.TASK_RUNNING)
			switch string(t.Data) {
			case "finish":
				go func() { time.Sleep(100 * time.Millisecond); update(t.TaskID, mesos.TASK_FINISHED) }()
			case "fail":
				update(t.TaskID, mesos.TASK_FAILED)
			}
		case execpb.Event_KILL:
			update(ev.Kill.TaskID, mesos.TASK_KILLED)
		case execpb.Event_MESSAGE:
			reply := append([]byte("echo:"), ev.Message.Data...)
			_ = calls.SendNoData(ctx, sender, calls.NonStreaming(calls.Message(reply)))
		case execpb.Event_ACKNOWLEDGED:
			mu.Lock()
			delete(unacked, string(ev.Acknowledged.UUID))
			mu.Unlock()
		case execpb.Event_SHUTDOWN:
			mu.Lock()
			var ids []string
			for id := range running {
				ids = append(ids, id)
			}
			mu.Unlock()
			for _, id := range ids {
				update(mesos.TaskID{Value: id}, mesos.TASK_KILLED)
			}
			deadline := time.Now().Add(testutil.D(time.Second))
			for time.Now().Before(deadline) {
				mu.Lock()
				n := len(unacked)
				mu.Unlock()
				if n == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			return nil
		case execpb.Event_ERROR:
			return fmt.Errorf("agent error: %s", ev.Error.Message)
		}
	}
}

// testExecutorInfo runs this test binary as the executor.
func testExecutorInfo(t *testing.T, id string, cpus, mem float64) *mesos.ExecutorInfo {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_CUSTOM,
		ExecutorID: mesos.ExecutorID{Value: id},
		Name:       ptr("mesostest executor"),
		Command: &mesos.CommandInfo{
			Shell: ptr(false), Value: ptr(self), Arguments: []string{self, "-test.run=^$"},
			Environment: &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: testExecutorEnv, Value: ptr("1")}}},
		},
		Resources: Resources(cpus, mem),
	}
}
