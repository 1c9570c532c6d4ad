package hadooptest_test

import (
	"context"
	"net"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/hconf"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/testutil"
)

// TestMinicluster starts the harness once and checks, against the real Hadoop 3.5 servers, the
// configuration reader, the RPC client (SIMPLE auth) on the ResourceManager and HDFS access.
func TestMinicluster(t *testing.T) {
	c := hadooptest.Start(t)

	conf, err := hconf.Load(func(k string) (string, bool) {
		if k == "HADOOP_CONF_DIR" {
			return c.ConfDir, true
		}
		return os.LookupEnv(k)
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("conf", func(t *testing.T) {
		rms, err := conf.ResourceManagers(hconf.RMClient)
		if err != nil || len(rms) != 1 || rms[0].Addr != c.RM {
			t.Fatalf("ResourceManagers(client) = %v, %v; harness says %s", rms, err, c.RM)
		}
		sched, err := conf.ResourceManagers(hconf.RMScheduler)
		if err != nil || sched[0].Addr != c.Scheduler {
			t.Fatalf("ResourceManagers(scheduler) = %v, %v; harness says %s", sched, err, c.Scheduler)
		}
		if got := conf.Get("fs.defaultFS"); got != c.FS {
			t.Fatalf("fs.defaultFS = %q, harness says %q", got, c.FS)
		}
		// hadoop.tmp.dir-relative defaults must expand.
		if v := conf.Get("hadoop.tmp.dir"); v == "" || strings.Contains(v, "${") {
			t.Fatalf("hadoop.tmp.dir = %q", v)
		}
	})

	rmAddrs := func(t *testing.T) []string {
		rms, err := conf.ResourceManagers(hconf.RMClient)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rms {
			out = append(out, r.Addr)
		}
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(2*time.Minute))
	defer cancel()

	t.Run("rm-simple", func(t *testing.T) {
		// Everything from the conf dir: addresses (HA-aware) and ipc.* timeouts.
		cl, err := ipc.NewRMClient(conf, hconf.RMClient, ipc.ApplicationClientProtocol)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()

		var metrics yarnpb.GetClusterMetricsResponse
		if err := cl.Call(ctx, "getClusterMetrics", &yarnpb.GetClusterMetricsRequest{}, &metrics); err != nil {
			t.Fatal(err)
		}
		if n := metrics.GetClusterMetrics().GetNumNodeManagers(); n != int32(c.NodeManagers) {
			t.Fatalf("num_node_managers = %d, want %d", n, c.NodeManagers)
		}

		var nodes yarnpb.GetClusterNodesResponse
		req := &yarnpb.GetClusterNodesRequest{NodeStates: []yarnpb.NodeState{yarnpb.NodeState_NS_RUNNING}}
		if err := cl.Call(ctx, "getClusterNodes", req, &nodes); err != nil {
			t.Fatal(err)
		}
		if len(nodes.GetNodeReports()) != c.NodeManagers {
			t.Fatalf("getClusterNodes: %d running nodes, want %d: %v", len(nodes.GetNodeReports()), c.NodeManagers, nodes.GetNodeReports())
		}
		nr := nodes.GetNodeReports()[0]
		if nr.GetCapability().GetMemory() <= 0 || nr.GetNodeId().GetHost() == "" {
			t.Fatalf("node report without capability or host: %v", nr)
		}
		t.Logf("node %s:%d capability %d MiB / %d vcores", nr.GetNodeId().GetHost(), nr.GetNodeId().GetPort(),
			nr.GetCapability().GetMemory(), nr.GetCapability().GetVirtualCores())

		var first, second yarnpb.GetNewApplicationResponse
		for _, r := range []*yarnpb.GetNewApplicationResponse{&first, &second} {
			if err := cl.Call(ctx, "getNewApplication", &yarnpb.GetNewApplicationRequest{}, r); err != nil {
				t.Fatal(err)
			}
		}
		if first.GetApplicationId().GetClusterTimestamp() <= 0 || first.GetApplicationId().GetId() <= 0 {
			t.Fatalf("getNewApplication = %v", &first)
		}
		if second.GetApplicationId().GetId() != first.GetApplicationId().GetId()+1 {
			t.Fatalf("application ids %d then %d, want consecutive", first.GetApplicationId().GetId(), second.GetApplicationId().GetId())
		}
		if first.GetMaximumCapability().GetMemory() <= 0 {
			t.Fatalf("maximum capability = %v", first.GetMaximumCapability())
		}
		t.Logf("new application application_%d_%04d, max %d MiB", first.GetApplicationId().GetClusterTimestamp(),
			first.GetApplicationId().GetId(), first.GetMaximumCapability().GetMemory())
	})

	t.Run("rm-errors", func(t *testing.T) {
		cl, err := ipc.NewClient(rmAddrs(t), ipc.Config{Protocol: ipc.ApplicationClientProtocol})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var resp yarnpb.GetClusterMetricsResponse
		err = cl.Call(ctx, "noSuchMethod", &yarnpb.GetClusterMetricsRequest{}, &resp)
		var re *ipc.RemoteError
		if !asRemote(err, &re) || !strings.Contains(re.Class, "NoSuchMethod") {
			t.Fatalf("unknown method: err = %v, want a RemoteError naming the no-such-method exception", err)
		}
		// The connection survives a non-fatal error.
		if err := cl.Call(ctx, "getClusterMetrics", &yarnpb.GetClusterMetricsRequest{}, &resp); err != nil {
			t.Fatalf("call after an error: %v", err)
		}
	})

	t.Run("rm-failover", func(t *testing.T) {
		dead := deadAddr(t)
		cl, err := ipc.NewClient(append([]string{dead}, rmAddrs(t)...), ipc.Config{Protocol: ipc.ApplicationClientProtocol})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		cl.Sleep = func(context.Context, time.Duration) error { return nil }
		var resp yarnpb.GetClusterMetricsResponse
		if err := cl.Call(ctx, "getClusterMetrics", &yarnpb.GetClusterMetricsRequest{}, &resp); err != nil {
			t.Fatal(err)
		}
		if cl.Current() != c.RM {
			t.Fatalf("client is on %s, want the live RM %s", cl.Current(), c.RM)
		}
	})

	t.Run("scheduler-needs-token", func(t *testing.T) {
		// The ApplicationMasterService accepts only TOKEN auth, even on an insecure cluster.
		cl, err := ipc.NewClient([]string{c.Scheduler}, ipc.Config{Protocol: ipc.ApplicationMasterProtocol})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var resp yarnpb.GetClusterMetricsResponse
		err = cl.Call(ctx, "allocate", &yarnpb.GetClusterMetricsRequest{}, &resp)
		if err == nil || !strings.Contains(err.Error(), "TOKEN") {
			t.Fatalf("SIMPLE on the scheduler port: err = %v, want a refusal naming TOKEN", err)
		}
		t.Logf("scheduler refused SIMPLE as expected: %v", err)
	})

	t.Run("unmanaged-am-token", func(t *testing.T) {
		if qop := unmanagedAM(t, c); qop != "auth" {
			t.Fatalf("negotiated QOP %q, want auth", qop)
		}
	})

	t.Run("container-launch", func(t *testing.T) {
		// A managed AM container whose command only leaves a marker: proves the NodeManager
		// launches real processes (DefaultContainerExecutor, no setuid binary, no memory kills).
		cl, err := ipc.NewClient([]string{c.RM}, ipc.Config{Protocol: ipc.ApplicationClientProtocol})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var na yarnpb.GetNewApplicationResponse
		if err := cl.Call(ctx, "getNewApplication", &yarnpb.GetNewApplicationRequest{}, &na); err != nil {
			t.Fatal(err)
		}
		marker := filepath.Join(t.TempDir(), "marker")
		sub := &yarnpb.SubmitApplicationRequest{ApplicationSubmissionContext: &yarnpb.ApplicationSubmissionContext{
			ApplicationId:   na.GetApplicationId(),
			ApplicationName: proto.String("stoke-container-launch-test"),
			AmContainerSpec: &yarnpb.ContainerLaunchContext{
				Command: []string{"echo $CONTAINER_ID > " + marker + ".tmp && mv " + marker + ".tmp " + marker + "; sleep 3"},
			},
			Resource:       &yarnpb.Resource{Memory: proto.Int64(128), VirtualCores: proto.Int32(1)},
			MaxAppAttempts: proto.Int32(1),
		}}
		if err := cl.Call(ctx, "submitApplication", sub, &yarnpb.SubmitApplicationResponse{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for {
			b, err := os.ReadFile(marker)
			if err == nil {
				t.Logf("container %s ran %v after submission", strings.TrimSpace(string(b)), time.Since(start).Round(time.Millisecond))
				if !strings.HasPrefix(string(b), "container_") {
					t.Fatalf("marker = %q, want a container id", b)
				}
				break
			}
			var r yarnpb.GetApplicationReportResponse
			if err := cl.Call(ctx, "getApplicationReport", &yarnpb.GetApplicationReportRequest{ApplicationId: na.GetApplicationId()}, &r); err != nil {
				t.Fatal(err)
			}
			st := r.GetApplicationReport().GetYarnApplicationState()
			if st == yarnpb.YarnApplicationState_FAILED || st == yarnpb.YarnApplicationState_KILLED || time.Since(start) > time.Minute {
				t.Fatalf("no container ran (state %v): %s", st, r.GetApplicationReport().GetDiagnostics())
			}
			time.Sleep(50 * time.Millisecond)
		}
		for i := 0; ; i++ {
			var kr yarnpb.KillApplicationResponse
			if err := cl.Call(ctx, "forceKillApplication", &yarnpb.KillApplicationRequest{ApplicationId: na.GetApplicationId(), Diagnostics: proto.String("test over")}, &kr); err != nil {
				t.Fatal(err)
			}
			if kr.GetIsKillCompleted() {
				break
			}
			if i > 200 {
				t.Fatal("forceKillApplication never completed")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("hdfs", func(t *testing.T) {
		u := conf.Get("fs.defaultFS")
		nn := strings.TrimPrefix(u, "hdfs://")
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		home := "/user/" + me.Username
		fs, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{nn}, User: me.Username})
		if err != nil {
			t.Fatal(err)
		}
		defer fs.Close()
		if st, err := fs.Stat(home); err != nil || !st.IsDir() {
			t.Fatalf("the harness should create %s: %v", home, err)
		}
		w, err := fs.Create(home + "/hello.txt")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("hello from stoke\n")); err != nil {
			t.Fatal(err)
		}
		// The NameNode may not have heard from the DataNode about the last
		// block yet: colinmarc/hdfs then answers ErrReplicating, which passes.
		testutil.Eventually(t, 30*time.Second, "the file to close (its block replicated)", func() bool {
			err := w.Close()
			if err != nil && !hdfs.IsErrReplicating(err) {
				t.Fatal(err)
			}
			return err == nil
		})
		entries, err := fs.ReadDir("/")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if !contains(names, "user") || !contains(names, "tmp") {
			t.Fatalf("ls / = %v, want tmp and user", names)
		}
		t.Logf("ls / = %v", names)
		got, err := fs.ReadFile(path.Join(home, "hello.txt"))
		if err != nil || string(got) != "hello from stoke\n" {
			t.Fatalf("read back %q, %v", got, err)
		}
	})
}

func asRemote(err error, re **ipc.RemoteError) bool {
	for err != nil {
		if r, ok := err.(*ipc.RemoteError); ok {
			*re = r
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// deadAddr returns a local address nothing listens on.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
