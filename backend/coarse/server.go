package coarse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/shared"
)

func init() {
	conf.Register(conf.Key{Name: "stoke.task.maxDirectResultSize", Default: "1m", Type: conf.TypeBytes, Unit: "b",
		Doc: "Task results larger than this stay on the executor and are fetched by the driver."})
	for _, k := range []struct{ name, doc string }{
		{"stoke.rpc.tls.certFile", "PEM certificate of the driver and executors; setting the three TLS files turns on mutual TLS between them."},
		{"stoke.rpc.tls.keyFile", "PEM private key of stoke.rpc.tls.certFile."},
		{"stoke.rpc.tls.trustFile", "PEM bundle of the certificate authorities peers' certificates must chain to."},
	} {
		conf.Register(conf.Key{Name: k.name, Type: conf.TypeString, Doc: k.doc})
	}
}

// TLSFromConf reads the stoke.rpc.tls.* files.
func TLSFromConf(c *conf.Conf) rpc.TLS {
	return rpc.TLS{
		CertFile:  c.String("stoke.rpc.tls.certFile"),
		KeyFile:   c.String("stoke.rpc.tls.keyFile"),
		TrustFile: c.String("stoke.rpc.tls.trustFile"),
	}
}

// Options configure a Server.
type Options struct {
	Host           string // address to listen on and advertise
	Port           int    // 0: any free port
	Secret         string
	Conf           *conf.Conf
	Log            logrus.FieldLogger
	NetworkTimeout time.Duration // an executor silent this long is lost
	MaxMessage     int
	TLS            rpc.TLS // zero: plaintext
}

// Server accepts executor registrations and carries tasks to them.
type Server struct {
	opts   Options
	lis    net.Listener
	grpc   *grpc.Server
	blocks *executor.BlockClient
	confKV map[string]string
	// bcastBlock is stoke.broadcast.blockSize: the chunk size of
	// FetchBroadcast.
	bcastBlock int

	mu       sync.Mutex
	driver   backend.Driver
	execs    map[string]*execConn
	exitInfo map[string]string     // loss reasons reported by the cluster manager
	creds    []byte                // the latest UpdateCredentials, for executors registering later
	dumps    map[int64]chan string // StackDump requests waiting for their answer
	nextDump int64
	closed   bool
	done     chan struct{}
}

type execConn struct {
	info     backend.ExecutorInfo
	mu       sync.Mutex
	queue    []*pb.DriverMessage
	wake     chan struct{}
	lastSeen time.Time
	gone     chan struct{}
	// migrations waiting for the executor's MigrationReport, by id.
	migrations map[int64]func(*pb.MigrationReport)
}

var _ pb.DriverServer = (*service)(nil)

type service struct {
	pb.UnimplementedDriverServer
	s *Server
}

// NewServer listens for executors.
func NewServer(opts Options) (*Server, error) {
	if opts.MaxMessage == 0 {
		opts.MaxMessage = 128 << 20
	}
	if opts.NetworkTimeout == 0 {
		opts.NetworkTimeout = 120 * time.Second
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	sec, err := opts.TLS.ServerOption()
	if err != nil {
		return nil, err
	}
	bcastBlock, err := shared.BlockSize(opts.Conf)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(opts.Host, fmt.Sprint(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("driver endpoint for executors on %s:%d: %w", opts.Host, opts.Port, err)
	}
	s := &Server{
		opts:     opts,
		lis:      lis,
		grpc:     grpc.NewServer(append(rpc.ServerOptions(opts.Secret, opts.MaxMessage), sec)...),
		blocks:   executor.NewBlockClient(opts.Secret, opts.MaxMessage, opts.TLS),
		execs:    map[string]*execConn{},
		exitInfo: map[string]string{},
		confKV:   map[string]string{},
		done:     make(chan struct{}),

		bcastBlock: bcastBlock,
	}
	if opts.Conf != nil {
		for _, e := range opts.Conf.All() {
			if !conf.IsSensitive(e.Key) {
				s.confKV[e.Key] = e.Value
			}
		}
	}
	pb.RegisterDriverServer(s.grpc, &service{s: s})
	go s.grpc.Serve(lis)
	go s.watchHeartbeats()
	return s, nil
}

// Address is host:port for executors to dial.
func (s *Server) Address() string { return s.lis.Addr().String() }

// Attach sets the driver that receives executor events.
func (s *Server) Attach(d backend.Driver) {
	s.mu.Lock()
	s.driver = d
	s.mu.Unlock()
}

// NumExecutors counts registered executors.
func (s *Server) NumExecutors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.execs)
}

func (svc *service) Register(ctx context.Context, req *pb.RegisterRequest) (*pb.RegisterResponse, error) {
	s := svc.s
	if req.ExecutorId == "" || req.Cores < 1 {
		return nil, status.Errorf(codes.InvalidArgument, "executor id %q with %d cores is not a valid registration", req.ExecutorId, req.Cores)
	}
	if diff := registry.Diff(req.Functions, req.Types); diff != "" {
		s.opts.Log.WithField("executor", req.ExecutorId).Errorf("refused executor: its binary differs from the driver's (%s)", diff)
		return nil, status.Errorf(codes.FailedPrecondition, "the executor's binary differs from the driver's: %s", diff)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, status.Error(codes.Unavailable, "the driver is stopping")
	}
	if _, dup := s.execs[req.ExecutorId]; dup {
		return nil, status.Errorf(codes.AlreadyExists, "executor %s is already registered", req.ExecutorId)
	}
	ec := &execConn{
		info: backend.ExecutorInfo{ID: req.ExecutorId, Host: req.Host, Cores: int(req.Cores), Address: req.BlockAddress, LogURL: req.LogUrl,
			ShuffleServiceAddress: req.ShuffleServiceAddress},
		wake: make(chan struct{}, 1),
		gone: make(chan struct{}),
	}
	if s.creds != nil {
		ec.enqueue(credentialsMessage(s.creds)) // sent once the executor connects
	}
	s.execs[req.ExecutorId] = ec
	return &pb.RegisterResponse{Conf: s.confKV}, nil
}

func (svc *service) Connect(stream pb.Driver_ConnectServer) error {
	s := svc.s
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	hello := first.GetHello()
	if hello == nil {
		return status.Error(codes.InvalidArgument, "the first message of a session must be a Hello")
	}
	s.mu.Lock()
	ec := s.execs[hello.ExecutorId]
	d := s.driver
	s.mu.Unlock()
	if ec == nil {
		return status.Errorf(codes.FailedPrecondition, "executor %s is not registered", hello.ExecutorId)
	}
	ec.mu.Lock()
	ec.lastSeen = time.Now()
	ec.mu.Unlock()
	sendErr := make(chan error, 1)
	go func() { sendErr <- ec.sendLoop(stream) }()
	d.ExecutorAdded(ec.info)

	recvErr := make(chan error, 1)
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			ec.mu.Lock()
			ec.lastSeen = time.Now()
			ec.mu.Unlock()
			if b := msg.GetStatus(); b != nil && len(b.Updates) > 0 {
				d.StatusUpdate(ec.info.ID, b.Updates...)
			}
			if r := msg.GetMigrated(); r != nil {
				ec.mu.Lock()
				report := ec.migrations[r.Id]
				delete(ec.migrations, r.Id)
				ec.mu.Unlock()
				if report != nil {
					report(r)
				}
			}
			if d := msg.GetDump(); d != nil {
				s.mu.Lock()
				ch := s.dumps[d.Id]
				delete(s.dumps, d.Id)
				s.mu.Unlock()
				if ch != nil {
					ch <- d.Text
				}
			}
			if hb := msg.GetHeartbeat(); hb != nil {
				if mr, ok := d.(backend.MetricsReceiver); ok {
					mr.ExecutorMetrics(ec.info.ID, backend.ExecutorMetrics{RunningTasks: int(hb.RunningTasks), ProcessMetrics: events.ProcessMetrics{
						RSSBytes: hb.RssBytes, HeapBytes: hb.HeapBytes, MemoryLimit: hb.MemoryLimit, Goroutines: int(hb.Goroutines),
						GCCycles: hb.GcCycles, GCPause: time.Duration(hb.GcPauseNs), CPUTime: time.Duration(hb.CpuNs),
						ShuffleMemory: hb.ShuffleMemoryBytes, CacheMemory: hb.CacheMemoryBytes, CacheDisk: hb.CacheDiskBytes}})
				}
			}
		}
	}()
	var cause error
	select {
	case cause = <-recvErr:
	case cause = <-sendErr:
	case <-ec.gone:
	}
	s.lost(ec.info.ID, cause)
	return nil
}

// lost removes an executor and tells the driver, with the cluster manager's
// reason (an exit code, say) when it has one.
func (s *Server) lost(id string, cause error) {
	s.mu.Lock()
	ec := s.execs[id]
	if ec == nil {
		s.mu.Unlock()
		return
	}
	delete(s.execs, id)
	d, closed := s.driver, s.closed
	s.mu.Unlock()
	select {
	case <-ec.gone:
	default:
		close(ec.gone)
	}
	if closed || d == nil {
		return
	}
	reason := s.waitExitReason(id, 500*time.Millisecond)
	if reason == "" {
		reason = "connection to the executor was lost"
		if cause != nil && !errors.Is(cause, io.EOF) {
			reason += ": " + cause.Error()
		}
	}
	d.ExecutorLost(id, reason)
}

func (s *Server) waitExitReason(id string, wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		r := s.exitInfo[id]
		s.mu.Unlock()
		if r != "" || time.Now().After(deadline) {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ExecutorExited records why a cluster manager saw an executor end; if it
// is still registered it is removed with that reason.
func (s *Server) ExecutorExited(id, reason string) {
	s.mu.Lock()
	s.exitInfo[id] = reason
	ec := s.execs[id]
	s.mu.Unlock()
	if ec != nil {
		go func() {
			// Give the stream a moment to report the disconnect itself.
			select {
			case <-ec.gone:
			case <-time.After(time.Second):
				s.lost(id, errors.New(reason))
			}
		}()
	}
}

func (s *Server) watchHeartbeats() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		var silent []string
		s.mu.Lock()
		for id, ec := range s.execs {
			ec.mu.Lock()
			if !ec.lastSeen.IsZero() && time.Since(ec.lastSeen) > s.opts.NetworkTimeout {
				silent = append(silent, id)
			}
			ec.mu.Unlock()
		}
		s.mu.Unlock()
		for _, id := range silent {
			s.mu.Lock()
			s.exitInfo[id] = fmt.Sprintf("no heartbeat for more than stoke.network.timeout (%s)", s.opts.NetworkTimeout)
			s.mu.Unlock()
			s.lost(id, nil)
		}
	}
}

func (ec *execConn) enqueue(m *pb.DriverMessage) {
	ec.mu.Lock()
	ec.queue = append(ec.queue, m)
	ec.mu.Unlock()
	select {
	case ec.wake <- struct{}{}:
	default:
	}
}

func (ec *execConn) sendLoop(stream pb.Driver_ConnectServer) error {
	for {
		select {
		case <-ec.wake:
		case <-ec.gone:
			return nil
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
		ec.mu.Lock()
		q := ec.queue
		ec.queue = nil
		ec.mu.Unlock()
		// Merge consecutive launches into one message.
		var launch *pb.LaunchBatch
		flush := func() error {
			if launch == nil {
				return nil
			}
			m := &pb.DriverMessage{Msg: &pb.DriverMessage_Launch{Launch: launch}}
			launch = nil
			return stream.Send(m)
		}
		for _, m := range q {
			if l := m.GetLaunch(); l != nil {
				if launch == nil {
					launch = &pb.LaunchBatch{}
				}
				launch.Tasks = append(launch.Tasks, l.Tasks...)
				continue
			}
			if err := flush(); err != nil {
				return err
			}
			if err := stream.Send(m); err != nil {
				return err
			}
			if m.GetShutdown() != nil {
				return nil
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
}

func (s *Server) conn(id string) (*execConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ec := s.execs[id]
	if ec == nil {
		return nil, fmt.Errorf("executor %s is not connected", id)
	}
	return ec, nil
}

// LaunchTasks implements the launch half of backend.Backend.
func (s *Server) LaunchTasks(id string, tasks []*pb.TaskDesc) error {
	ec, err := s.conn(id)
	if err != nil {
		return err
	}
	ec.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Launch{Launch: &pb.LaunchBatch{Tasks: tasks}}})
	return nil
}

// KillTask asks an executor to kill a task.
func (s *Server) KillTask(id string, taskID int64, reason string) error {
	ec, err := s.conn(id)
	if err != nil {
		return err
	}
	ec.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Kill{Kill: &pb.KillTask{TaskId: taskID, Reason: reason}}})
	return nil
}

// StackDump asks an executor for the stacks of all its goroutines and
// waits for them until ctx ends.
func (s *Server) StackDump(ctx context.Context, id string) (string, error) {
	ec, err := s.conn(id)
	if err != nil {
		return "", err
	}
	ch := make(chan string, 1)
	s.mu.Lock()
	if s.dumps == nil {
		s.dumps = map[int64]chan string{}
	}
	s.nextDump++
	n := s.nextDump
	s.dumps[n] = ch
	s.mu.Unlock()
	ec.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Dump{Dump: &pb.DumpRequest{Id: n}}})
	select {
	case text := <-ch:
		return text, nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.dumps, n)
		s.mu.Unlock()
		return "", fmt.Errorf("executor %s did not send its stacks: %w", id, ctx.Err())
	}
}

// FetchResult reads a stored result from an executor's block service.
func (s *Server) FetchResult(ctx context.Context, id, block string) ([]byte, error) {
	ec, err := s.conn(id)
	if err != nil {
		return nil, err
	}
	return s.blocks.Fetch(ctx, ec.info.Address, block)
}

// DecommissionExecutor asks an executor to copy map outputs to others
// (backend.Decommissioner).
func (s *Server) DecommissionExecutor(id string, d *pb.Decommission, report func(*pb.MigrationReport)) error {
	ec, err := s.conn(id)
	if err != nil {
		return err
	}
	// d.Id is the driver's: the report comes back with it.
	ec.mu.Lock()
	if ec.migrations == nil {
		ec.migrations = map[int64]func(*pb.MigrationReport){}
	}
	ec.migrations[d.Id] = report
	ec.mu.Unlock()
	ec.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Decommission{Decommission: d}})
	return nil
}

// ShutdownExecutor asks one executor to exit.
func (s *Server) ShutdownExecutor(id, reason string) error {
	ec, err := s.conn(id)
	if err != nil {
		return err
	}
	ec.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Shutdown{Shutdown: &pb.Shutdown{Reason: reason}}})
	return nil
}

// Stop shuts every executor down and stops serving.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*execConn, 0, len(s.execs))
	for _, ec := range s.execs {
		conns = append(conns, ec)
	}
	s.mu.Unlock()
	for _, ec := range conns {
		ec.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Shutdown{Shutdown: &pb.Shutdown{Reason: "application finished"}}})
	}
	close(s.done)
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(3 * time.Second):
		s.grpc.Stop()
	}
	s.blocks.Close()
}

// CanCommit asks the driver's output commit coordinator.
func (svc *service) CanCommit(_ context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	svc.s.mu.Lock()
	d := svc.s.driver
	svc.s.mu.Unlock()
	if d == nil {
		return nil, status.Error(codes.Unavailable, "the driver is not ready")
	}
	return &pb.CommitResponse{Allowed: d.CanCommit(req)}, nil
}

// ReleaseShuffles tells every executor to drop the shuffles' output.
// UpdateCredentials sends the executors credentials the cluster manager issued afresh (Hadoop
// delegation tokens on YARN); executors that register later get them too.
func (s *Server) UpdateCredentials(hadoopTokens []byte) {
	s.broadcast(credentialsMessage(hadoopTokens), func() { s.creds = hadoopTokens })
}

// broadcast queues m for every registered executor; locked, when set, runs under the server's
// lock first (so that executors registering meanwhile see its effect or get m).
func (s *Server) broadcast(m *pb.DriverMessage, locked func()) {
	s.mu.Lock()
	if locked != nil {
		locked()
	}
	conns := make([]*execConn, 0, len(s.execs))
	for _, ec := range s.execs {
		conns = append(conns, ec)
	}
	s.mu.Unlock()
	for _, ec := range conns {
		ec.enqueue(m)
	}
}

func credentialsMessage(b []byte) *pb.DriverMessage {
	return &pb.DriverMessage{Msg: &pb.DriverMessage_Credentials{Credentials: &pb.Credentials{HadoopTokens: b}}}
}

// ReleaseCached tells every executor to drop the datasets' cached partitions.
func (s *Server) ReleaseCached(ids []int32) {
	s.broadcast(&pb.DriverMessage{Msg: &pb.DriverMessage_Release{Release: &pb.ReleaseBlocks{RddIds: ids}}}, nil)
}

func (s *Server) ReleaseShuffles(ids []int32) {
	s.broadcast(&pb.DriverMessage{Msg: &pb.DriverMessage_Release{Release: &pb.ReleaseBlocks{ShuffleIds: ids}}}, nil)
}

// FetchBroadcast streams the current value of a broadcast variable in
// chunks of stoke.broadcast.blockSize (the secret was checked by the
// server's interceptor, as for every call).
func (svc *service) FetchBroadcast(req *pb.BroadcastRequest, stream pb.Driver_FetchBroadcastServer) error {
	if req.Name == "" {
		return status.Error(codes.InvalidArgument, "FetchBroadcast needs the name of a broadcast variable")
	}
	err := shared.Serve(req.Name, svc.s.bcastBlock, stream.Send)
	if errors.Is(err, shared.ErrNotFound) {
		return status.Error(codes.NotFound, err.Error())
	}
	return err
}

// ReleaseBroadcasts tells every executor to drop its copies of the named
// broadcast variables (backend.BroadcastReleaser).
func (s *Server) ReleaseBroadcasts(names []string) {
	s.broadcast(&pb.DriverMessage{Msg: &pb.DriverMessage_Release{Release: &pb.ReleaseBlocks{Broadcasts: names}}}, nil)
}
