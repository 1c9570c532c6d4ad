package executor

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sirupsen/logrus"

	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/testutil"
)

// sandbox points a task's file paths into dir: the fuzzer must not read
// devices or write outside its temporary directory. Everything else is
// left as the bytes made it.
func sandbox(t *pb.TaskDesc, dir string) {
	if t == nil {
		return
	}
	if src := t.GetSource(); src != nil {
		if txt := src.GetText(); txt != nil {
			txt.Path = filepath.Join(dir, "input.txt")
		}
	}
	if sink := t.GetSink(); sink != nil {
		if st := sink.GetSaveText(); st != nil {
			st.Dir = filepath.Join(dir, "out")
		}
	}
}

func fuzzEnv() *Env {
	return &Env{
		ExecutorID: "fuzz",
		Blocks:     NewBlockStore(),
		Fetch: func(context.Context, *pb.MapOutput, string) ([]byte, error) {
			return nil, errors.New("no peers in the fuzzer")
		},
		CanCommit:       func(context.Context, *pb.CommitRequest) (bool, error) { return true, nil },
		MaxDirectResult: 1 << 10,
	}
}

func fuzzDir(f *testing.F) string {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "input.txt"), []byte("one\ntwo\r\nthree\n\nfour"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		f.Fatal(err)
	}
	return dir
}

func taskSeeds() []*pb.TaskDesc {
	return []*pb.TaskDesc{
		{TaskId: 1, Source: &pb.Source{Kind: &pb.Source_Text{Text: &pb.TextSplit{Path: "x", Start: 2, Length: 7}}, Type: "string"}, Sink: &pb.Sink{Kind: &pb.Sink_Collect{Collect: "string"}}},
		{TaskId: 2, Source: &pb.Source{Kind: &pb.Source_Parallelize{Parallelize: []byte{1, 2, 3}}, Type: "int"}, Sink: &pb.Sink{Kind: &pb.Sink_Count{Count: true}}},
		{TaskId: 3, Source: &pb.Source{Kind: &pb.Source_Shuffle{Shuffle: &pb.ShuffleInput{Op: "reduceByKey", Sides: []*pb.ShuffleSide{{ShuffleId: 1, Outputs: []*pb.MapOutput{{TaskId: 4, Size: 10, ExecutorId: "e"}}}}}}}, Sink: &pb.Sink{Kind: &pb.Sink_Count{Count: true}}},
		{TaskId: 4, Partition: 3, Source: &pb.Source{Kind: &pb.Source_Text{Text: &pb.TextSplit{Path: "x", Length: 100}}, Type: "string"}, Sink: &pb.Sink{Kind: &pb.Sink_SaveText{SaveText: &pb.SaveText{Dir: "x", JobToken: "job-app-1"}}}},
		{TaskId: 5, Source: &pb.Source{Kind: &pb.Source_Text{Text: &pb.TextSplit{Path: "x", Length: 100}}}, Sink: &pb.Sink{Kind: &pb.Sink_SaveText{SaveText: &pb.SaveText{Dir: "x", JobToken: "../../escape"}}}},
		{TaskId: 6, Source: &pb.Source{Kind: &pb.Source_Parallelize{}, Type: "string"}, Steps: []*pb.Step{{Func: "no.such"}}, Sink: &pb.Sink{Kind: &pb.Sink_Reduce{Reduce: "r"}}},
		{TaskId: 7, Source: &pb.Source{Kind: &pb.Source_Text{Text: &pb.TextSplit{Length: 9}}}, Sink: &pb.Sink{Kind: &pb.Sink_Shuffle{Shuffle: &pb.ShuffleOutput{Op: "groupByKey", NumPartitions: 3}}}},
		{TaskId: 8, Source: &pb.Source{Kind: &pb.Source_Text{Text: &pb.TextSplit{Length: 9}}}, Sink: &pb.Sink{Kind: &pb.Sink_SaveText{}}},
		{TaskId: 9},
		{TaskId: 10, Source: &pb.Source{Kind: &pb.Source_Shuffle{}}, Sink: &pb.Sink{Kind: &pb.Sink_Foreach{Foreach: "f"}}},
	}
}

// checkStatus: malformed task descriptions fail with a message, never by a
// panic in the executor's own code (no user function is registered here).
func checkStatus(t *testing.T, td *pb.TaskDesc, st *pb.TaskStatus) {
	t.Helper()
	if st.TaskId != td.TaskId {
		t.Fatalf("status for task %d, launched %d", st.TaskId, td.TaskId)
	}
	if strings.HasPrefix(st.Error, "panic:") {
		t.Fatalf("task %v panicked: %s", td, st.Error)
	}
	if st.State != pb.TaskState_SUCCEEDED && st.Error == "" {
		t.Fatalf("task %v ended %v without a message", td, st.State)
	}
}

// FuzzTaskDesc: arbitrary bytes as a TaskDesc, run as the executor runs it.
func FuzzTaskDesc(f *testing.F) {
	for _, td := range taskSeeds() {
		b, err := proto.Marshal(td)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xff, 0x01})
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var td pb.TaskDesc
		if err := proto.Unmarshal(data, &td); err != nil {
			return // a clear error from the wire decoder
		}
		sandbox(&td, dir)
		ctx, cancel := context.WithTimeout(context.Background(), testutil.D(10*time.Second))
		defer cancel()
		checkStatus(t, &td, Run(ctx, fuzzEnv(), &td))
	})
}

// FuzzDriverMessage: arbitrary bytes as a DriverMessage, handled as the
// executor's stream loop handles it; every launched task reports.
func FuzzDriverMessage(f *testing.F) {
	var msgs []*pb.DriverMessage
	msgs = append(msgs, &pb.DriverMessage{Msg: &pb.DriverMessage_Launch{Launch: &pb.LaunchBatch{Tasks: taskSeeds()}}})
	msgs = append(msgs,
		&pb.DriverMessage{Msg: &pb.DriverMessage_Kill{Kill: &pb.KillTask{TaskId: 3, Reason: "r"}}},
		&pb.DriverMessage{Msg: &pb.DriverMessage_Release{Release: &pb.ReleaseBlocks{ShuffleIds: []int32{1, -1}}}},
		&pb.DriverMessage{Msg: &pb.DriverMessage_Shutdown{Shutdown: &pb.Shutdown{Reason: "bye"}}},
		&pb.DriverMessage{Msg: &pb.DriverMessage_Launch{Launch: &pb.LaunchBatch{Tasks: []*pb.TaskDesc{nil, {TaskId: 5}, {TaskId: 5}}}}},
		&pb.DriverMessage{},
	)
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var msg pb.DriverMessage
		if err := proto.Unmarshal(data, &msg); err != nil {
			return
		}
		launched := map[int64]*pb.TaskDesc{}
		if l := msg.GetLaunch(); l != nil {
			for _, td := range l.Tasks {
				sandbox(td, dir)
				if td != nil {
					launched[td.TaskId] = td
				}
			}
		}
		env := fuzzEnv()
		var mu sync.Mutex
		got := map[int64]int{}
		runner := NewRunner(env, func(st *pb.TaskStatus) {
			mu.Lock()
			got[st.TaskId]++
			mu.Unlock()
			if td := launched[st.TaskId]; td != nil && st.State != pb.TaskState_KILLED {
				checkStatus(t, td, st)
			}
		})
		defer runner.Close()
		quiet := logrus.New()
		quiet.SetOutput(io.Discard)
		if !taskMessage(logrus.NewEntry(quiet), runner, &msg) {
			if r := msg.GetRelease(); r != nil {
				for _, id := range r.ShuffleIds {
					env.Blocks.ReleaseShuffle(id)
				}
			}
			return
		}
		testutil.Eventually(t, 10*time.Second, "every launched task to end", func() bool { return runner.Running() == 0 })
		mu.Lock()
		defer mu.Unlock()
		for id := range launched {
			if got[id] == 0 {
				t.Fatalf("task %d never reported", id)
			}
		}
	})
}
