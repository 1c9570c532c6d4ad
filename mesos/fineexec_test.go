package mesos

import (
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	gproto "google.golang.org/protobuf/proto"

	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

func TestMesosTaskIDRoundTrip(t *testing.T) {
	for _, c := range []struct {
		exec string
		task int64
	}{{"0", 0}, {"3", 17}, {"lx2k-12", 9}} {
		id := mesosTaskID(c.exec, c.task)
		n, ok := stokeTaskID(id)
		if !ok || n != c.task {
			t.Errorf("stokeTaskID(%q) = %d, %v; want %d", id, n, ok, c.task)
		}
	}
	for _, bad := range []string{"0", "task-", "task-3", "task-3-", "task-3-x", "task-3-+1", "other-3-1"} {
		if n, ok := stokeTaskID(bad); ok {
			t.Errorf("stokeTaskID(%q) = %d, accepted", bad, n)
		}
	}
}

// The executor runs only the Stoke task a Mesos task of its own carries,
// and says why it refuses anything else.
func TestDecodeTask(t *testing.T) {
	td := &pb.TaskDesc{TaskId: 7, Partition: 3}
	data, err := gproto.Marshal(td)
	if err != nil {
		t.Fatal(err)
	}
	task := func(id string, data []byte) mesos.TaskInfo {
		return mesos.TaskInfo{TaskID: mesos.TaskID{Value: id}, Data: data}
	}
	got, err := decodeTask("2", task(mesosTaskID("2", 7), data))
	if err != nil || got.TaskId != 7 || got.Partition != 3 {
		t.Fatalf("decodeTask = %v, %v", got, err)
	}
	for _, c := range []struct {
		task mesos.TaskInfo
		want string
	}{
		{task(mesosTaskID("1", 7), data), "neither this executor's holder task nor one of its Stoke tasks"},
		{task("task-2-x", data), "neither"},
		{task(mesosTaskID("2", 7), nil), "carries no Stoke task"},
		{task(mesosTaskID("2", 7), []byte{0xff, 0xff, 0xff}), "not a serialized Stoke task"},
		{task(mesosTaskID("2", 8), data), "carries Stoke task 7"},
	} {
		_, err := decodeTask("2", c.task)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("decodeTask(%s): %v, want an error containing %q", c.task.TaskID.Value, err, c.want)
		}
	}
}

// How a fine-grained task's Mesos end reaches the driver.
func TestFineStokeState(t *testing.T) {
	st := func(s mesos.TaskState, r mesos.TaskStatus_Reason) mesos.TaskStatus {
		x := mesos.TaskStatus{State: s.Enum()}
		if r != 0 {
			x.Reason = r.Enum()
		}
		return x
	}
	for _, c := range []struct {
		st           mesos.TaskStatus
		fromExecutor bool
		want         pb.TaskState
		tell         bool
	}{
		// The executor's ends follow the Stoke status the driver has.
		{st(mesos.TASK_FINISHED, 0), true, 0, false},
		{st(mesos.TASK_FAILED, 0), true, 0, false},
		{st(mesos.TASK_KILLED, 0), true, 0, false},
		// except a task it could not start
		{st(mesos.TASK_FAILED, mesos.REASON_TASK_INVALID), true, pb.TaskState_FAILED, true},
		// The agent's and master's ends.
		{st(mesos.TASK_KILLED, mesos.REASON_TASK_KILLED_DURING_LAUNCH), false, pb.TaskState_KILLED, true},
		{st(mesos.TASK_ERROR, mesos.REASON_TASK_INVALID), false, pb.TaskState_FAILED, true},
		{st(mesos.TASK_LOST, mesos.REASON_AGENT_REMOVED), false, pb.TaskState_TASK_STATE_UNSPECIFIED, true},
		{st(mesos.TASK_DROPPED, 0), false, pb.TaskState_TASK_STATE_UNSPECIFIED, true},
		{st(mesos.TASK_FAILED, mesos.REASON_EXECUTOR_TERMINATED), false, pb.TaskState_TASK_STATE_UNSPECIFIED, true},
		{st(mesos.TASK_FINISHED, 0), false, 0, false},
	} {
		got, tell := fineStokeState(c.st, c.fromExecutor)
		if got != c.want || tell != c.tell {
			t.Errorf("%v (%v) from executor %v: %v, %v; want %v, %v", c.st.GetState(), c.st.GetReason(), c.fromExecutor, got, tell, c.want, c.tell)
		}
	}
}
