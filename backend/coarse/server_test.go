package coarse

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/testutil"
)

type fakeDriver struct {
	mu      sync.Mutex
	added   []backend.ExecutorInfo
	lost    []string
	updates []*pb.TaskStatus
}

func (d *fakeDriver) ExecutorAdded(e backend.ExecutorInfo) {
	d.mu.Lock()
	d.added = append(d.added, e)
	d.mu.Unlock()
}
func (d *fakeDriver) ExecutorLost(id, reason string) {
	d.mu.Lock()
	d.lost = append(d.lost, id+": "+reason)
	d.mu.Unlock()
}
func (d *fakeDriver) StatusUpdate(_ string, sts ...*pb.TaskStatus) {
	d.mu.Lock()
	d.updates = append(d.updates, sts...)
	d.mu.Unlock()
}
func (d *fakeDriver) CanCommit(*pb.CommitRequest) bool { return true }

func (d *fakeDriver) snapshot() (added, lost int, updates int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.added), len(d.lost), len(d.updates)
}

func start(t *testing.T) (*Server, *fakeDriver) {
	s, err := NewServer(Options{Secret: "s3cret", Log: logrus.New(), NetworkTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDriver{}
	s.Attach(d)
	t.Cleanup(s.Stop)
	return s, d
}

func client(t *testing.T, s *Server, secret string) pb.DriverClient {
	cc, err := grpc.NewClient(s.Address(), append(rpc.DialOptions(secret, 1<<20), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return pb.NewDriverClient(cc)
}

func register(id string) *pb.RegisterRequest {
	return &pb.RegisterRequest{ExecutorId: id, Host: "127.0.0.1", Cores: 2, Functions: registry.FuncNames(), Types: registry.TypeNames()}
}

func TestRegistrationRefusals(t *testing.T) {
	s, d := start(t)
	ctx := context.Background()
	if _, err := client(t, s, "wrong").Register(ctx, register("1")); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("wrong secret: %v", err)
	}
	c := client(t, s, "s3cret")
	bad := register("1")
	bad.Functions = append(bad.Functions, "only.on.executor")
	if _, err := c.Register(ctx, bad); err == nil || !strings.Contains(err.Error(), "only.on.executor") {
		t.Errorf("mismatched registry: %v", err)
	}
	if _, err := c.Register(ctx, &pb.RegisterRequest{ExecutorId: "", Cores: 1}); err == nil {
		t.Error("empty executor id accepted")
	}
	if _, err := c.Register(ctx, &pb.RegisterRequest{ExecutorId: "x", Cores: 0}); err == nil {
		t.Error("zero cores accepted")
	}
	if _, err := c.Register(ctx, register("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, register("1")); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("duplicate id: %v", err)
	}
	// A session that does not start with Hello is refused.
	stream, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Heartbeat{Heartbeat: &pb.Heartbeat{}}})
	if _, err := stream.Recv(); err == nil || !strings.Contains(err.Error(), "Hello") {
		t.Errorf("session without Hello: %v", err)
	}
	// Hello for an executor that never registered.
	stream, _ = c.Connect(ctx)
	stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Hello{Hello: &pb.Hello{ExecutorId: "ghost"}}})
	if _, err := stream.Recv(); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("unregistered Hello: %v", err)
	}
	if added, _, _ := d.snapshot(); added != 0 {
		t.Errorf("%d executors added by refused sessions", added)
	}
}

func TestSessionLaunchStatusAndLoss(t *testing.T) {
	s, d := start(t)
	c := client(t, s, "s3cret")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Register(ctx, register("7")); err != nil {
		t.Fatal(err)
	}
	stream, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Hello{Hello: &pb.Hello{ExecutorId: "7"}}})
	waitUntil(t, func() bool { a, _, _ := d.snapshot(); return a == 1 })
	if err := s.LaunchTasks("7", []*pb.TaskDesc{{TaskId: 1}, {TaskId: 2}}); err != nil {
		t.Fatal(err)
	}
	msg, err := stream.Recv()
	if err != nil || len(msg.GetLaunch().GetTasks()) == 0 {
		t.Fatalf("launch: %v %v", msg, err)
	}
	stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Status{Status: &pb.StatusBatch{Updates: []*pb.TaskStatus{{TaskId: 1, State: pb.TaskState_SUCCEEDED}}}}})
	waitUntil(t, func() bool { _, _, u := d.snapshot(); return u == 1 })
	s.ExecutorExited("7", "executor process exited with code 137")
	cancel()
	waitUntil(t, func() bool { _, l, _ := d.snapshot(); return l == 1 })
	d.mu.Lock()
	defer d.mu.Unlock()
	if !strings.Contains(d.lost[0], "code 137") {
		t.Errorf("loss reason %q does not carry the exit code", d.lost[0])
	}
	if err := s.LaunchTasks("7", nil); err == nil {
		t.Error("launch on a lost executor succeeded")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testutil.D(10 * time.Second))
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Garbage on the executor port and oversized messages are refused without
// harming the sessions of well-behaved executors.
func TestMalformedAndOversizedFrames(t *testing.T) {
	s, err := NewServer(Options{Secret: "s3cret", Log: logrus.New(), MaxMessage: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDriver{}
	s.Attach(d)
	t.Cleanup(s.Stop)
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		[]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x08\x00\x00\x00\x00\x00garbage"),
		bytes.Repeat([]byte{0xff}, 4096),
	} {
		conn, err := net.Dial("tcp", s.Address())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(junk)
		conn.SetReadDeadline(time.Now().Add(testutil.D(2 * time.Second)))
		io.Copy(io.Discard, conn)
		conn.Close()
	}
	c := client(t, s, "s3cret")
	big := register("big")
	big.Functions = append(big.Functions, strings.Repeat("f", 100<<10))
	if _, err := c.Register(context.Background(), big); err == nil || !strings.Contains(err.Error(), "ResourceExhausted") && !strings.Contains(err.Error(), "larger than max") {
		t.Fatalf("oversized registration: %v", err)
	}
	if _, err := c.Register(context.Background(), register("ok")); err != nil {
		t.Fatalf("a good registration after the junk: %v", err)
	}
}

// An executor that stays connected but silent longer than
// stoke.network.timeout is declared lost.
func TestSilentExecutorIsLost(t *testing.T) {
	s, err := NewServer(Options{Secret: "s3cret", Log: logrus.New(), NetworkTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDriver{}
	s.Attach(d)
	t.Cleanup(s.Stop)
	c := client(t, s, "s3cret")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Register(ctx, register("quiet")); err != nil {
		t.Fatal(err)
	}
	stream, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Hello{Hello: &pb.Hello{ExecutorId: "quiet"}}})
	waitUntil(t, func() bool { _, l, _ := d.snapshot(); return l == 1 })
	d.mu.Lock()
	defer d.mu.Unlock()
	if !strings.Contains(d.lost[0], "stoke.network.timeout") {
		t.Fatalf("loss reason %q", d.lost[0])
	}
}

// Fresh credentials reach the connected executors, and executors registering later get the
// latest ones as their first message.
func TestUpdateCredentials(t *testing.T) {
	s, d := start(t)
	c := client(t, s, "s3cret")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connect := func(id string) pb.Driver_ConnectClient {
		if _, err := c.Register(ctx, register(id)); err != nil {
			t.Fatal(err)
		}
		stream, err := c.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Hello{Hello: &pb.Hello{ExecutorId: id}}})
		return stream
	}
	first := connect("1")
	waitUntil(t, func() bool { a, _, _ := d.snapshot(); return a == 1 })
	s.UpdateCredentials([]byte("tokens-1"))
	if msg, err := first.Recv(); err != nil || string(msg.GetCredentials().GetHadoopTokens()) != "tokens-1" {
		t.Fatalf("connected executor got %v, %v", msg, err)
	}
	s.UpdateCredentials([]byte("tokens-2"))
	if msg, err := first.Recv(); err != nil || string(msg.GetCredentials().GetHadoopTokens()) != "tokens-2" {
		t.Fatalf("second update: %v, %v", msg, err)
	}
	later := connect("2")
	if msg, err := later.Recv(); err != nil || string(msg.GetCredentials().GetHadoopTokens()) != "tokens-2" {
		t.Fatalf("later executor got %v, %v; want the latest credentials", msg, err)
	}
}

// A Decommission reaches its executor with the driver's id, and the
// executor's MigrationReport of that id reaches the driver's callback
// once; a report nobody asked for (another id) is dropped. The shuffle
// service address of a registration reaches ExecutorAdded.
func TestDecommissionRoundTrip(t *testing.T) {
	s, d := start(t)
	c := client(t, s, "s3cret")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := register("3")
	req.BlockAddress, req.ShuffleServiceAddress = "127.0.0.1:1", "127.0.0.1:7337"
	if _, err := c.Register(ctx, req); err != nil {
		t.Fatal(err)
	}
	stream, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Hello{Hello: &pb.Hello{ExecutorId: "3"}}})
	waitUntil(t, func() bool { a, _, _ := d.snapshot(); return a == 1 })
	d.mu.Lock()
	if d.added[0].ShuffleServiceAddress != "127.0.0.1:7337" {
		t.Errorf("ExecutorAdded %+v lacks the shuffle service address", d.added[0])
	}
	d.mu.Unlock()
	if err := s.DecommissionExecutor("nobody", &pb.Decommission{Id: 1}, func(*pb.MigrationReport) {}); err == nil {
		t.Error("decommissioned an executor that is not connected")
	}
	reports := make(chan *pb.MigrationReport, 4)
	dm := &pb.Decommission{Id: 42, Targets: []*pb.MigrationTarget{{ExecutorId: "4", Address: "127.0.0.1:2"}}, Outputs: []*pb.MapOutputId{{ShuffleId: 1, MapTaskId: 9}}}
	if err := s.DecommissionExecutor("3", dm, func(r *pb.MigrationReport) { reports <- r }); err != nil {
		t.Fatal(err)
	}
	msg, err := stream.Recv()
	if err != nil || msg.GetDecommission().GetId() != 42 || len(msg.GetDecommission().GetOutputs()) != 1 {
		t.Fatalf("decommission: %v %v", msg, err)
	}
	for _, id := range []int64{41, 42, 42} {
		stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Migrated{Migrated: &pb.MigrationReport{Id: id, Moved: []*pb.MigratedOutput{{ShuffleId: 1, MapTaskId: 9, ExecutorId: "4"}}}}})
	}
	select {
	case r := <-reports:
		if r.Id != 42 || len(r.Moved) != 1 {
			t.Fatalf("report %v", r)
		}
	case <-time.After(testutil.D(10 * time.Second)):
		t.Fatal("no report")
	}
	// A status after the reports: once the driver has it, they were all
	// read (one goroutine reads the session in order).
	stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Status{Status: &pb.StatusBatch{Updates: []*pb.TaskStatus{{TaskId: 1, State: pb.TaskState_RUNNING}}}}})
	waitUntil(t, func() bool { _, _, u := d.snapshot(); return u == 1 })
	select {
	case r := <-reports:
		t.Fatalf("a second report reached the driver: %v", r)
	default:
	}
}
