package executor

import (
	"context"
	"iter"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/shared"
	"github.com/stoke-run/stoke/internal/testutil"
)

var testTimeout = testutil.D(10 * time.Second)

// countPartial counts the records a task saw.
type countPartial struct{ n int }

func (p *countPartial) Encode() ([]byte, error) { return registry.EncodeSlice([]int{p.n}) }

func addOne(task any) {
	task.(*shared.Task).Partial("executor.test.count", func() shared.Partial { return &countPartial{} }).(*countPartial).n++
}

func init() {
	registry.AddFunc(&registry.Func{Name: "executor.test.countMap", Kind: registry.Map, In: "string", Out: "string",
		Apply: func(any) any { panic("called without its task") },
		ApplyTask: func(task any, src any) any {
			return iter.Seq[string](func(yield func(string) bool) {
				for r := range src.(iter.Seq[string]) {
					addOne(task)
					if r == "fail" {
						panic("record says fail")
					}
					if !yield(r) {
						return
					}
				}
			})
		}})
	registry.AddFunc(&registry.Func{Name: "executor.test.countEach", Kind: registry.Foreach, In: "string", Out: "string",
		Each: func(any) { panic("called without its task") },
		EachTask: func(task any, src any) {
			for range src.(iter.Seq[string]) {
				addOne(task)
			}
		}})
}

func stringsTask(t *testing.T, id int64, recs []string, ops []string, sink *pb.Sink) *pb.TaskDesc {
	data, err := registry.EncodeSlice(recs)
	if err != nil {
		t.Fatal(err)
	}
	steps := make([]*pb.Step, len(ops))
	for i, op := range ops {
		steps[i] = &pb.Step{Func: op}
	}
	return &pb.TaskDesc{TaskId: id, Source: &pb.Source{Kind: &pb.Source_Parallelize{Parallelize: data}, Type: "string"}, Steps: steps, Sink: sink}
}

func countUpdate(t *testing.T, st *pb.TaskStatus) int {
	t.Helper()
	if len(st.AccumUpdates) != 1 || st.AccumUpdates[0].Name != "executor.test.count" {
		t.Fatalf("updates %v", st.AccumUpdates)
	}
	vs, err := registry.DecodeSlice[int](st.AccumUpdates[0].Value)
	if err != nil || len(vs) != 1 {
		t.Fatalf("update %v: %v", vs, err)
	}
	return vs[0]
}

// Functions that take their task reach it, and the attempt's updates ride
// on its status, failed or not (the driver decides what counts).
func TestRunCarriesAccumulatorUpdates(t *testing.T) {
	env := &Env{Blocks: NewBlockStore(), ExecutorID: "e1"}
	count := &pb.Sink{Kind: &pb.Sink_Count{Count: true}}
	st := Run(context.Background(), env, stringsTask(t, 1, []string{"a", "b", "c"}, []string{"executor.test.countMap"}, count))
	if st.State != pb.TaskState_SUCCEEDED || countUpdate(t, st) != 3 {
		t.Fatalf("status %v %q", st.State, st.Error)
	}
	st = Run(context.Background(), env, stringsTask(t, 2, []string{"a", "fail", "c"}, []string{"executor.test.countMap"}, count))
	if st.State != pb.TaskState_FAILED || countUpdate(t, st) != 2 {
		t.Fatalf("status %v %q", st.State, st.Error)
	}
	st = Run(context.Background(), env, stringsTask(t, 3, []string{"a", "b"}, nil, &pb.Sink{Kind: &pb.Sink_Foreach{Foreach: "executor.test.countEach"}}))
	if st.State != pb.TaskState_SUCCEEDED || countUpdate(t, st) != 2 {
		t.Fatalf("status %v %q", st.State, st.Error)
	}
	st = Run(context.Background(), env, stringsTask(t, 4, []string{"a"}, nil, count))
	if len(st.AccumUpdates) != 0 {
		t.Fatalf("a task without updates reports %v", st.AccumUpdates)
	}
}

// fakeBroadcastDriver serves FetchBroadcast with chunks a test chose.
type fakeBroadcastDriver struct {
	pb.UnimplementedDriverServer
	chunks []*pb.BroadcastChunk
}

func (d *fakeBroadcastDriver) FetchBroadcast(req *pb.BroadcastRequest, stream pb.Driver_FetchBroadcastServer) error {
	if req.Name != "known" {
		return status.Errorf(codes.NotFound, "broadcast variable %q has no value on the driver", req.Name)
	}
	for _, c := range d.chunks {
		if err := stream.Send(c); err != nil {
			return err
		}
	}
	return nil
}

func fakeDriverClient(t *testing.T, d *fakeBroadcastDriver, secret string) pb.DriverClient {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(rpc.ServerOptions("s3cret", 8<<20)...)
	pb.RegisterDriverServer(srv, d)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), append(rpc.DialOptions(secret, 8<<20), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return pb.NewDriverClient(cc)
}

func TestBroadcastFetcherChecksWhatItReceives(t *testing.T) {
	value := []byte("hello, executors")
	good := []*pb.BroadcastChunk{
		{Version: 7, Index: 0, Count: 2, TotalSize: int64(len(value)), Crc32C: shared.Checksum(value), Data: value[:8]},
		{Version: 7, Index: 1, Count: 2, TotalSize: int64(len(value)), Crc32C: shared.Checksum(value), Data: value[8:]},
	}
	d := &fakeBroadcastDriver{chunks: good}
	fetch := broadcastFetcher(fakeDriverClient(t, d, "s3cret"), "e1", testTimeout)
	if v, data, err := fetch("known"); err != nil || v != 7 || string(data) != string(value) {
		t.Fatalf("fetch = %d %q %v", v, data, err)
	}
	if _, _, err := fetch("unknown"); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), `"unknown"`) {
		t.Fatalf("unknown variable: %v", err)
	}
	d.chunks = []*pb.BroadcastChunk{good[0], {Version: 7, Index: 1, Count: 2, TotalSize: int64(len(value)), Crc32C: shared.Checksum(value), Data: []byte("EXECUTORS")[:len(value)-8]}}
	if _, _, err := fetch("known"); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("corrupted chunk: %v", err)
	}
	d.chunks = []*pb.BroadcastChunk{good[1], good[0]}
	if _, _, err := fetch("known"); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("out-of-order chunks: %v", err)
	}
	wrong := broadcastFetcher(fakeDriverClient(t, &fakeBroadcastDriver{chunks: good}, "wrong"), "e1", testTimeout)
	if _, _, err := wrong("known"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong secret: %v", err)
	}
}
