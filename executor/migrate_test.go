package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/spill"
)

// migrationSource holds four map outputs of shuffle 3: three in memory, one
// (task 13) larger than a chunk and on disk.
func migrationSource(t *testing.T) (*BlockStore, map[int64][][]byte) {
	t.Helper()
	dirs, err := spill.NewDirs([]string{t.TempDir()}, "src")
	if err != nil {
		t.Fatal(err)
	}
	store := NewBlockStore()
	want := map[int64][][]byte{}
	for task := int64(10); task < 14; task++ {
		buckets := [][]byte{[]byte(fmt.Sprintf("a%d", task)), nil, []byte(strings.Repeat(fmt.Sprint(task), 3))}
		if task == 13 {
			buckets[1] = bytes.Repeat([]byte("x"), 3*chunkSize/2)
		}
		out := &mapOutput{buckets: make([][]byte, len(buckets)), n: len(buckets), dirs: dirs, maxMem: 1 << 10}
		for b, data := range buckets {
			if err := out.Append(b, data); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := out.finish(); err != nil {
			t.Fatal(err)
		}
		if task == 13 && out.file == nil {
			t.Fatal("the large output should be on disk")
		}
		store.PutMapOutput(3, task, out)
		want[task] = buckets
	}
	return store, want
}

func outputIDs(tasks ...int64) []*pb.MapOutputId {
	var ids []*pb.MapOutputId
	for _, task := range tasks {
		ids = append(ids, &pb.MapOutputId{ShuffleId: 3, MapTaskId: task})
	}
	return ids
}

// holds checks that store holds exactly the buckets of the map output.
func holds(t *testing.T, store *BlockStore, task int64, buckets [][]byte) {
	t.Helper()
	for b, data := range buckets {
		got, err := store.Get(ShuffleBlockName(3, task, int32(b)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("bucket %d of map task %d: %d bytes, %v; want %d bytes", b, task, len(got), err, len(data))
		}
	}
}

// Every map output reaches a target whole, the targets share them, and
// the source keeps its copy until the driver releases it.
func TestMigrateCopiesMapOutputsToTheTargets(t *testing.T) {
	src, want := migrationSource(t)
	a, b := NewBlockStore(), NewBlockStore()
	dirs, err := spill.NewDirs([]string{t.TempDir()}, "b")
	if err != nil {
		t.Fatal(err)
	}
	b.SetOutputSpill(dirs, 1<<10) // the large output goes to disk on arrival
	targets := []*pb.MigrationTarget{{ExecutorId: "a", Address: serveBlocks(t, "s3cret", a)}, {ExecutorId: "b", Address: serveBlocks(t, "s3cret", b)}}
	c := NewBlockClient("s3cret", 8<<20, rpc.TLS{})
	defer c.Close()
	rep := Migrate(context.Background(), c, src, &pb.Decommission{Id: 7, Targets: targets, Outputs: outputIDs(10, 11, 12, 13)}, 10*time.Second)
	if rep.Id != 7 || rep.Failed != 0 || len(rep.Moved) != 4 || rep.Error != "" {
		t.Fatalf("report = %v", rep)
	}
	on := map[string]int{}
	for _, m := range rep.Moved {
		store := map[string]*BlockStore{"a": a, "b": b}[m.ExecutorId]
		holds(t, store, m.MapTaskId, want[m.MapTaskId])
		on[m.ExecutorId]++
		var n int64
		for _, d := range want[m.MapTaskId] {
			n += int64(len(d))
		}
		if m.Bytes != n {
			t.Errorf("map task %d: %d bytes reported, %d sent", m.MapTaskId, m.Bytes, n)
		}
	}
	if on["a"] != 2 || on["b"] != 2 {
		t.Errorf("outputs per target = %v, want 2 each", on)
	}
	for task, buckets := range want {
		holds(t, src, task, buckets)
	}
	if out, _ := b.mapOutput(3, 13); out == nil || out.file == nil {
		if out2, _ := a.mapOutput(3, 13); out2 == nil {
			t.Error("the large output went nowhere")
		}
	}
}

// PutMapOutput is an executor-to-executor call like FetchBlocks: another
// application's secret (or none) is refused before anything is stored.
func TestPutMapOutputRefusesAWrongSecret(t *testing.T) {
	src, _ := migrationSource(t)
	target := NewBlockStore()
	addr := serveBlocks(t, "s3cret", target)
	for _, secret := range []string{"other-application", ""} {
		c := NewBlockClient(secret, 8<<20, rpc.TLS{})
		_, err := c.PushMapOutput(context.Background(), addr, src, 3, 10)
		c.Close()
		if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "secret") {
			t.Errorf("secret %q: err = %v, want Unauthenticated", secret, err)
		}
	}
	if target.HasMapOutput(3, 10) {
		t.Fatal("an unauthenticated sender stored a map output")
	}
}

// Every malformed stream gets a clear error and stores nothing.
func TestPutMapOutputRefusesMalformedStreams(t *testing.T) {
	target := NewBlockStore()
	addr := serveBlocks(t, "s3cret", target)
	cc, err := grpc.NewClient(addr, append(rpc.DialOptions("s3cret", 8<<20), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sum := func(parts ...string) uint32 { return crc32.Checksum([]byte(strings.Join(parts, "")), castagnoli) }
	chunk := func(b int32, data string) *pb.MapOutputChunk {
		return &pb.MapOutputChunk{Bucket: b, Data: []byte(data)}
	}
	hdr := func(sh int32, task int64, n int32, size int64, crc uint32) *pb.MapOutputChunk {
		return &pb.MapOutputChunk{ShuffleId: sh, MapTaskId: task, NumBuckets: n, TotalSize: size, Crc32C: crc}
	}
	for _, tc := range []struct {
		name   string
		chunks []*pb.MapOutputChunk
		code   codes.Code
		msg    string
	}{
		{"negative shuffle", []*pb.MapOutputChunk{hdr(-1, 1, 2, 0, 0)}, codes.InvalidArgument, "negative id"},
		{"negative map task", []*pb.MapOutputChunk{hdr(1, -5, 2, 0, 0)}, codes.InvalidArgument, "negative id"},
		{"no buckets", []*pb.MapOutputChunk{hdr(1, 1, 0, 0, 0)}, codes.InvalidArgument, "0 buckets is outside 1..1048576"},
		{"too many buckets", []*pb.MapOutputChunk{hdr(1, 1, maxMigratedBuckets+1, 0, 0)}, codes.InvalidArgument, "buckets is outside"},
		{"negative size", []*pb.MapOutputChunk{hdr(1, 1, 2, -1, 0)}, codes.InvalidArgument, "negative size"},
		{"bucket out of range", []*pb.MapOutputChunk{hdr(1, 1, 2, 2, sum("ab")), chunk(2, "ab")}, codes.InvalidArgument, "bucket 2 after bucket 0 (of 2)"},
		{"negative bucket", []*pb.MapOutputChunk{hdr(1, 1, 2, 2, sum("ab")), chunk(-1, "ab")}, codes.InvalidArgument, "bucket -1"},
		{"buckets out of order", []*pb.MapOutputChunk{hdr(1, 1, 2, 2, sum("ab")), chunk(1, "a"), chunk(0, "b")}, codes.InvalidArgument, "bucket 0 after bucket 1"},
		{"more than announced", []*pb.MapOutputChunk{hdr(1, 1, 2, 1, sum("ab")), chunk(0, "ab")}, codes.InvalidArgument, "more than the 1 bytes announced"},
		{"ends early", []*pb.MapOutputChunk{hdr(1, 1, 2, 4, sum("abcd")), chunk(0, "ab")}, codes.InvalidArgument, "ended after 2 of 4 bytes"},
		{"bad checksum", []*pb.MapOutputChunk{hdr(1, 1, 2, 2, sum("ab")^1), chunk(0, "a"), chunk(1, "b")}, codes.DataLoss, "CRC-32C"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := pb.NewExecutorClient(cc).PutMapOutput(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range tc.chunks {
				if stream.Send(ch) != nil {
					break // the server already answered
				}
			}
			_, err = stream.CloseAndRecv()
			if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.code, tc.msg)
			}
			if target.HasMapOutput(1, 1) {
				t.Fatal("a refused stream stored a map output")
			}
		})
	}
	// The same stream well formed is stored.
	stream, err := pb.NewExecutorClient(cc).PutMapOutput(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []*pb.MapOutputChunk{hdr(1, 1, 2, 2, sum("ab")), chunk(0, "a"), chunk(1, "b")} {
		if err := stream.Send(ch); err != nil {
			t.Fatal(err)
		}
	}
	if resp, err := stream.CloseAndRecv(); err != nil || resp.Bytes != 2 {
		t.Fatalf("well-formed stream: %v, %v", resp, err)
	}
	for b, want := range []string{"a", "b"} {
		if got, err := target.Get(ShuffleBlockName(1, 1, int32(b))); err != nil || string(got) != want {
			t.Fatalf("bucket %d: %q, %v", b, got, err)
		}
	}
}

// dyingTarget serves a block store until the n-th chunk it receives,
// then dies (its server stops, the stream in flight breaks).
func dyingTarget(t *testing.T, store *BlockStore, after int32) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var srv *grpc.Server
	var seen atomic.Int32
	var once sync.Once
	die := grpc.ChainStreamInterceptor(func(s any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return h(s, &dyingStream{ServerStream: ss, hit: func() bool {
			if seen.Add(1) < after {
				return false
			}
			once.Do(func() { go srv.Stop() })
			return true
		}})
	})
	srv = grpc.NewServer(append(rpc.ServerOptions("s3cret", 8<<20), die)...)
	RegisterBlockService(srv, store)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

type dyingStream struct {
	grpc.ServerStream
	hit func() bool
}

func (s *dyingStream) RecvMsg(m any) error {
	if s.hit() {
		return errors.New("target died")
	}
	return s.ServerStream.RecvMsg(m)
}

// A target that dies in the middle of a map output stores none of it; the
// output goes to the next target, each output is reported once, on the
// target that holds it whole, and the source keeps everything.
func TestMigrateSurvivesATargetDyingMidway(t *testing.T) {
	src, want := migrationSource(t)
	dying, live := NewBlockStore(), NewBlockStore()
	// The dying target receives output 10 whole (header, two non-empty
	// buckets, end of stream: four reads), then dies at the first data
	// chunk of output 12, after its header (the outputs alternate).
	targets := []*pb.MigrationTarget{
		{ExecutorId: "dying", Address: dyingTarget(t, dying, 6)},
		{ExecutorId: "live", Address: serveBlocks(t, "s3cret", live)},
	}
	c := NewBlockClient("s3cret", 8<<20, rpc.TLS{})
	defer c.Close()
	rep := Migrate(context.Background(), c, src, &pb.Decommission{Targets: targets, Outputs: outputIDs(10, 11, 12, 13)}, 10*time.Second)
	if rep.Failed != 0 || len(rep.Moved) != 4 || rep.Error == "" {
		t.Fatalf("report = %v (want every output moved, the dead target's error kept)", rep)
	}
	seen := map[int64]bool{}
	for _, m := range rep.Moved {
		if seen[m.MapTaskId] {
			t.Fatalf("map task %d reported twice: %v", m.MapTaskId, rep)
		}
		seen[m.MapTaskId] = true
		holds(t, map[string]*BlockStore{"dying": dying, "live": live}[m.ExecutorId], m.MapTaskId, want[m.MapTaskId])
	}
	where := map[int64]string{}
	for _, m := range rep.Moved {
		where[m.MapTaskId] = m.ExecutorId
	}
	if where[10] != "dying" || where[12] != "live" {
		t.Fatalf("outputs went to %v: want 10 on the target before it died, 12 (cut off there) on the live one", where)
	}
	// The dead target holds only what it acknowledged, whole.
	dying.mu.RLock()
	for k := range dying.shuffle {
		var acked bool
		for _, m := range rep.Moved {
			acked = acked || (m.ExecutorId == "dying" && m.MapTaskId == k.task)
		}
		if !acked {
			t.Errorf("the dead target kept map task %d it never acknowledged", k.task)
		}
	}
	dying.mu.RUnlock()
	for task, buckets := range want {
		holds(t, src, task, buckets)
	}

	// With no target left alive, nothing is reported moved and the source
	// still has every output: the driver keeps the executor.
	src2, want2 := migrationSource(t)
	rep = Migrate(context.Background(), c, src2, &pb.Decommission{Targets: targets[:1], Outputs: outputIDs(10, 11)}, 10*time.Second)
	if len(rep.Moved) != 0 || rep.Failed != 2 || rep.Error == "" {
		t.Fatalf("dead target only: report = %v", rep)
	}
	for task, buckets := range want2 {
		holds(t, src2, task, buckets)
	}
}

// An output released while the decommission runs is not an error of the
// target's: it is counted failed without marking the target dead.
func TestMigrateSkipsReleasedOutputs(t *testing.T) {
	src, want := migrationSource(t)
	target := NewBlockStore()
	targets := []*pb.MigrationTarget{{ExecutorId: "t", Address: serveBlocks(t, "s3cret", target)}}
	c := NewBlockClient("s3cret", 8<<20, rpc.TLS{})
	defer c.Close()
	rep := Migrate(context.Background(), c, src, &pb.Decommission{Targets: targets, Outputs: append(outputIDs(10), &pb.MapOutputId{ShuffleId: 9, MapTaskId: 1}, outputIDs(11)[0])}, 10*time.Second)
	if len(rep.Moved) != 2 || rep.Failed != 1 || !strings.Contains(rep.Error, "not on this executor") {
		t.Fatalf("report = %v", rep)
	}
	holds(t, target, 11, want[11])
}
