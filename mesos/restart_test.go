package mesos_test

import (
	"context"
	"strings"
	"testing"
	"time"

	mesosproto "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/conf"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

type nopDriver struct{}

func (nopDriver) ExecutorAdded(backend.ExecutorInfo)     {}
func (nopDriver) ExecutorLost(string, string)            {}
func (nopDriver) StatusUpdate(string, ...*pb.TaskStatus) {}
func (nopDriver) CanCommit(*pb.CommitRequest) bool       { return false }

func running(c *mesostest.Cluster, fw string) int {
	n := 0
	for _, v := range c.Tasks() {
		if v.FrameworkID == fw && !terminalView(v) {
			n++
		}
	}
	return n
}

func terminalView(v mesostest.TaskView) bool {
	s := v.State.String()
	return !(strings.HasSuffix(s, "RUNNING") || strings.HasSuffix(s, "STAGING") || strings.HasSuffix(s, "STARTING"))
}

// A driver that dies and restarts within the failover timeout subscribes
// with its framework id, reconciles, and kills the executors of its
// earlier incarnation (they belonged to a driver that is gone).
func TestRestartWithinFailoverTimeout(t *testing.T) {
	c := testCluster(t)
	cfg := coarseConfig(c)
	cfg["stoke.mesos.failoverTimeout"] = "60s"
	b1 := newBackend(t, cfg)
	if err := b1.Start(context.Background(), nopDriver{}); err != nil {
		t.Fatal(err)
	}
	id := b1.FrameworkID()
	mesostest.Eventually(t, 30*time.Second, "two executors running", func() bool { return running(c, id) == 2 })
	b1.Crash()
	mesostest.Eventually(t, 10*time.Second, "framework disconnected", func() bool {
		fw, ok := c.Framework(id)
		return ok && !fw.Connected
	})

	cfg["stoke.mesos.driver.frameworkId"] = id
	b2 := newBackend(t, cfg)
	if err := b2.Start(context.Background(), nopDriver{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b2.Stop(context.Background()) })
	if b2.FrameworkID() != id {
		t.Fatalf("re-subscribed as %s, want %s", b2.FrameworkID(), id)
	}
	fw, _ := c.Framework(id)
	if !fw.Connected || fw.Calls["RECONCILE"] == 0 {
		t.Fatalf("after restart: %+v, want connected with a RECONCILE", fw)
	}
	// The old executors are not this driver's: it asks for each one still
	// alive to be killed. (Whether the stand-in agent finishes killing a
	// task caught in STAGING is the stand-in's business; see the note in
	// mesostest's known gaps.)
	mesostest.Eventually(t, 30*time.Second, "a KILL for every old executor still alive", func() bool {
		alive := 0
		for _, v := range c.Tasks() {
			if v.FrameworkID == id && (v.TaskID == "0" || v.TaskID == "1") && !terminalView(v) {
				alive++
			}
		}
		fw, _ := c.Framework(id)
		return alive == 0 || fw.Calls["KILL"] >= alive
	})
}

func TestWrongSecret(t *testing.T) {
	c := mesostest.Start(t, mesostest.Options{Credentials: map[string]string{"stoke": "s3cret"}})
	for _, creds := range []map[string]string{
		{"stoke.mesos.principal": "stoke", "stoke.mesos.secret": "wrong"},
		{"stoke.mesos.principal": "nobody", "stoke.mesos.secret": "s3cret"},
		{},
	} {
		cfg := map[string]string{"stoke.master": c.MasterURL()}
		for k, v := range creds {
			cfg[k] = v
		}
		b := newBackend(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), testutil.D(20*time.Second))
		err := b.Start(ctx, nopDriver{})
		cancel()
		if err == nil || !strings.Contains(err.Error(), "refused SUBSCRIBE") {
			b.Stop(context.Background())
			t.Fatalf("credentials %v: Start = %v, want a refusal naming the principal settings", creds, err)
		}
	}
	// The right credentials work.
	b := newBackend(t, map[string]string{"stoke.master": c.MasterURL(), "stoke.mesos.principal": "stoke", "stoke.mesos.secret": "s3cret"})
	if err := b.Start(context.Background(), nopDriver{}); err != nil {
		t.Fatal(err)
	}
	b.Stop(context.Background())
}

func TestSecretWithoutPrincipal(t *testing.T) {
	c := conf.New()
	c.Set("stoke.mesos.secret", "x", conf.SourceCode)
	m, _ := conf.ParseMaster("mesos://127.0.0.1:5050")
	if _, err := mesos.New(m, c, nil); err == nil || !strings.Contains(err.Error(), "stoke.mesos.principal") {
		t.Fatalf("New = %v, want an error naming stoke.mesos.principal", err)
	}
}

func TestBadMasterURLs(t *testing.T) {
	for _, u := range []string{"mesos://", "mesos://zk://", "mesos://host:port", "mesos://a:1,b:2"} {
		if _, err := conf.ParseMaster(u); err == nil {
			t.Errorf("ParseMaster(%q) succeeded", u)
		}
	}
	m, _ := conf.ParseMaster("stoke://h:7077")
	if _, err := mesos.New(m, conf.New(), nil); err == nil {
		t.Error("New accepted a stoke:// master")
	}
}

// Agents offering resources Stoke does not know (a scalar, a set, a GPU
// count) still run jobs; once stoke.cores.max is held the framework
// suppresses offers.
func TestUnknownResourcesAndSuppress(t *testing.T) {
	scalar, setT := mesosproto.SCALAR, mesosproto.SET
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 4, MemMB: 4096, Resources: []mesosproto.Resource{
		{Name: "fpgas", Type: &scalar, Scalar: &mesosproto.Value_Scalar{Value: 2}},
		{Name: "flavours", Type: &setT, Set: &mesosproto.Value_Set{Item: []string{"a", "b"}}},
	}}}})
	cfg := coarseConfig(c)
	b := newBackend(t, cfg)
	if err := b.Start(context.Background(), nopDriver{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop(context.Background()) })
	id := b.FrameworkID()
	mesostest.Eventually(t, 30*time.Second, "two executors launched", func() bool { return running(c, id) == 2 })
	mesostest.Eventually(t, 10*time.Second, "offers suppressed at stoke.cores.max", func() bool {
		fw, _ := c.Framework(id)
		return fw.Calls["SUPPRESS"] > 0
	})
}

func TestCoresMaxBelowExecutorCores(t *testing.T) {
	c := conf.New()
	c.Set("stoke.cores.max", "1", conf.SourceCode)
	c.Set("stoke.executor.cores", "2", conf.SourceCode)
	m, _ := conf.ParseMaster("mesos://127.0.0.1:5050")
	if _, err := mesos.New(m, c, nil); err == nil || !strings.Contains(err.Error(), "stoke.cores.max") {
		t.Fatalf("New = %v, want an error naming stoke.cores.max", err)
	}
}
