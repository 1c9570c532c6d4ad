package mesosexec_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos/mesosexec"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

const envTestExecutor = "MESOSEXEC_TEST_EXECUTOR"

// sleeper runs a task by sleeping for the duration in its data.
type sleeper struct {
	ex    *mesosexec.Executor
	mu    sync.Mutex
	kills map[string]chan struct{}
}

func (s *sleeper) Launch(t mesos.TaskInfo) error {
	d, err := time.ParseDuration(string(t.Data))
	if err != nil {
		return err
	}
	kill := make(chan struct{})
	s.mu.Lock()
	s.kills[t.TaskID.Value] = kill
	s.mu.Unlock()
	go func() {
		state := mesos.TASK_FINISHED
		select {
		case <-time.After(d):
		case <-kill:
			state = mesos.TASK_KILLED
		}
		s.ex.Finished(context.Background(), t.TaskID.Value, state, "")
	}()
	return nil
}

func (s *sleeper) Kill(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.kills[id]; ok {
		close(k)
		delete(s.kills, id)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(envTestExecutor) == "1" {
		cfg, err := config.FromEnv()
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(2)
		}
		s := &sleeper{kills: map[string]chan struct{}{}}
		s.ex = mesosexec.New(cfg, s)
		if err := s.ex.Run(context.Background()); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		time.Sleep(200 * time.Millisecond) // let the last updates go out
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type framework struct {
	t      *testing.T
	caller calls.Caller
	id     string
	events chan *scheduler.Event
}

func subscribe(t *testing.T, c *mesostest.Cluster) *framework {
	cli := httpcli.New(httpcli.Endpoint(c.SchedulerURL()), httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]))
	caller := httpsched.NewCaller(cli)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp, err := caller.Call(ctx, calls.Subscribe(&mesos.FrameworkInfo{User: "stoke", Name: "mesosexec-test"}))
	if err != nil {
		t.Fatal(err)
	}
	f := &framework{t: t, caller: caller, events: make(chan *scheduler.Event, 1000)}
	go func() {
		defer resp.Close()
		for {
			ev := &scheduler.Event{}
			if resp.Decode(ev) != nil {
				close(f.events)
				return
			}
			f.events <- ev
		}
	}()
	f.id = f.next(func(ev *scheduler.Event) bool { return ev.Type == scheduler.Event_SUBSCRIBED }).Subscribed.FrameworkID.Value
	return f
}

func (f *framework) next(match func(*scheduler.Event) bool) *scheduler.Event {
	f.t.Helper()
	timeout := time.After(testutil.D(20 * time.Second))
	for {
		select {
		case ev, ok := <-f.events:
			if !ok {
				f.t.Fatal("event stream ended")
			}
			if ev.Type == scheduler.Event_UPDATE && len(ev.Update.Status.UUID) > 0 {
				st := ev.Update.Status
				f.call(calls.Acknowledge(st.GetAgentID().GetValue(), st.TaskID.Value, st.UUID))
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			f.t.Fatal("timed out waiting for an event")
		}
	}
}

func (f *framework) call(c *scheduler.Call) {
	f.t.Helper()
	c.FrameworkID = &mesos.FrameworkID{Value: f.id}
	if err := calls.CallNoData(context.Background(), f.caller, c); err != nil {
		f.t.Fatalf("%v: %v", c.Type, err)
	}
}

func (f *framework) waitState(task string, state mesos.TaskState) {
	f.t.Helper()
	f.next(func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_UPDATE && ev.Update.Status.TaskID.Value == task && ev.Update.Status.GetState() == state
	})
}

// One executor per agent, as fine-grained mode runs it: it holds its own
// overhead, takes tasks one after another, reports each until
// acknowledged, honours KILL, and exits on SHUTDOWN.
func TestExecutorLifecycle(t *testing.T) {
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 4, MemMB: 2048}}})
	f := subscribe(t, c)
	shell := false
	einfo := &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_CUSTOM,
		ExecutorID: mesos.ExecutorID{Value: "stoke-fine"},
		Command: &mesos.CommandInfo{Shell: &shell, Value: &bin, Arguments: []string{bin},
			Environment: &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: envTestExecutor, Value: ptr("1")}}}},
		Resources: mesostest.Resources(1, 256),
	}
	launch := func(id, data string) {
		o := f.next(func(ev *scheduler.Event) bool { return ev.Type == scheduler.Event_OFFERS }).Offers.Offers[0]
		task := mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
			Resources: mesostest.Resources(1, 0), Executor: einfo, Data: []byte(data)}
		f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
	}
	launch("t1", "100ms")
	f.waitState("t1", mesos.TASK_RUNNING)
	f.waitState("t1", mesos.TASK_FINISHED)
	testutil.Eventually(t, 5*time.Second, "only the executor's overhead held", func() bool {
		return c.Used(f.id, "").CPUs == 1
	})

	launch("t2", "1h")
	f.waitState("t2", mesos.TASK_RUNNING)
	if u := c.Used(f.id, ""); u.CPUs != 2 {
		t.Fatalf("holding %v cpus with one task running, want 2", u.CPUs)
	}
	f.call(calls.Kill("t2", c.Agents()[0].ID()))
	f.waitState("t2", mesos.TASK_KILLED)

	// A task the runner cannot start fails as invalid, and the executor
	// goes on.
	launch("t3", "not a duration")
	ev := f.next(func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_UPDATE && ev.Update.Status.TaskID.Value == "t3" && ev.Update.Status.GetState() == mesos.TASK_FAILED
	})
	if st := ev.Update.Status; st.GetReason() != mesos.REASON_TASK_INVALID || !strings.Contains(st.GetMessage(), "not a duration") {
		t.Fatalf("t3 failed with reason %v, message %q; want REASON_TASK_INVALID and the runner's error", st.GetReason(), st.GetMessage())
	}
	launch("t4", "10ms")
	f.waitState("t4", mesos.TASK_FINISHED)

	f.call(calls.Shutdown("stoke-fine", c.Agents()[0].ID()))
	testutil.Eventually(t, 10*time.Second, "executor gone, nothing held", func() bool {
		return c.Used(f.id, "").CPUs == 0
	})
	for _, v := range c.Tasks() {
		if v.PendingUpdates != 0 {
			t.Errorf("task %s has %d unacknowledged updates", v.TaskID, v.PendingUpdates)
		}
	}
}

func ptr[T any](v T) *T { return &v }
