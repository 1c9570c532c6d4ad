package yarn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/coarse"
	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Backend is the driver's side of a YARN application. In client deploy mode it submits the
// application (an AM that only negotiates executors) when the driver starts; in cluster
// mode the driver is the AM's child and reaches the AM through EnvAMAddress.
type Backend struct {
	// Binary is the program the containers run (default: this executable).
	Binary string
	// Timings of the start, for the benchmark: submitted, AM registered, first executor.
	Timings Timings

	conf      *conf.Conf
	log       logrus.FieldLogger
	client    *Client // client mode only
	proxy     string  // client mode: the proxy user this process's HDFS connections act for
	am        *amClient
	appID     string
	srv       *coarse.Server
	driver    backend.Driver
	secret    string
	tls       rpc.TLS
	instances int
	cores     int
	execMem   int64
	staging   string
	cancel    context.CancelFunc
	done      chan struct{}
	stopOnce  sync.Once
}

// Timings records when a client-mode start reached each step.
type Timings struct {
	Start, Staged, Submitted, AMRegistered time.Time
}

var _ backend.Backend = (*Backend)(nil)

// ClusterMode says whether this process is a cluster-mode driver started by a Stoke AM.
func ClusterMode() bool { return os.Getenv(EnvAMAddress) != "" }

// New returns the backend for --master yarn. It checks the settings and, in client mode,
// that the cluster's configuration is there; it contacts nothing until Start.
func New(m conf.Master, c *conf.Conf, log logrus.FieldLogger) (*Backend, error) {
	if m.Kind != conf.YARN {
		return nil, fmt.Errorf("master %q is not yarn", m.Raw)
	}
	if log == nil {
		log = logrus.StandardLogger()
	}
	b := &Backend{conf: c, log: log.WithField("backend", "yarn")}
	var err error
	if b.instances, err = c.Int("stoke.executor.instances"); err != nil {
		return nil, err
	}
	if dyn, err := c.Bool("stoke.dynamicAllocation.enabled"); err != nil {
		return nil, err
	} else if dyn {
		// The driver asks for its initial executors right after Start.
		b.instances = 0
	}
	if b.execMem, b.cores, err = executorContainer(c); err != nil {
		return nil, err
	}
	if !ClusterMode() {
		proxy, err := clientSettings(c)
		if err != nil {
			return nil, err
		}
		if b.client, err = NewClientAs(log, proxy); err != nil {
			return nil, err
		}
		if proxy != "" {
			// The driver runs here: its own HDFS calls (listing input, committing
			// output) act for the proxy user too, as the AM and executors do.
			fsx.UseProxyUser(proxy)
			b.proxy = proxy
		}
	}
	return b, nil
}

// executorContainer is the size of an executor's container: MiB with the
// overhead, and cores.
func executorContainer(c *conf.Conf) (memMiB int64, cores int, err error) {
	mem, err := c.Bytes("stoke.executor.memory")
	if err != nil {
		return 0, 0, err
	}
	if memMiB, err = containerMemory(c, mem); err != nil {
		return 0, 0, err
	}
	if cores, err = c.Int("stoke.executor.cores"); err != nil {
		return 0, 0, err
	}
	return memMiB, cores, nil
}

// containerMemory adds the overhead (stoke.yarn.executor.memoryOverhead, default max(384 MiB,
// 10%)) to a process's memory and returns MiB.
func containerMemory(c *conf.Conf, mem int64) (int64, error) {
	over := mem / 10
	if over < 384<<20 {
		over = 384 << 20
	}
	if _, ok := c.Get("stoke.yarn.executor.memoryOverhead"); ok {
		var err error
		if over, err = c.Bytes("stoke.yarn.executor.memoryOverhead"); err != nil {
			return 0, err
		}
	}
	return (mem + over + 1<<20 - 1) >> 20, nil
}

// Start submits the application (client mode) or joins the AM (cluster mode), then asks the
// AM for the executors; it returns once the AM is reachable.
func (b *Backend) Start(ctx context.Context, d backend.Driver) error {
	b.Timings.Start = time.Now()
	if b.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this program's binary for the containers: %w", err)
		}
		b.Binary = exe
	}
	b.secret = b.conf.String("stoke.authenticate.secret")
	if b.secret == "" {
		b.secret = rpc.NewSecret()
	}
	host := b.conf.String("stoke.driver.host")
	if ClusterMode() {
		b.appID = os.Getenv(EnvAppID)
		b.am = newAMClient(os.Getenv(EnvAMAddress), os.Getenv(EnvAMSecret))
		if host == "" {
			host = hostOf(os.Getenv(EnvAMAddress))
		}
	} else {
		if err := b.submit(ctx); err != nil {
			return err
		}
		if host == "" {
			host = rpc.OutboundHost(strings.TrimPrefix(b.am.base, "http://"))
		}
	}
	netTimeout, err := b.conf.Duration("stoke.network.timeout")
	if err != nil {
		return err
	}
	b.tls = coarse.TLSFromConf(b.conf)
	srv, err := coarse.NewServer(coarse.Options{Host: host, Secret: b.secret, Conf: b.conf, Log: b.log, NetworkTimeout: netTimeout, TLS: b.tls})
	if err != nil {
		b.abort("the driver could not serve executors: " + err.Error())
		return err
	}
	b.srv = srv
	srv.Attach(d)
	b.driver = d
	logLevel := b.conf.String("stoke.log.level")
	env := map[string]string{
		executor.EnvDriver:   srv.Address(),
		executor.EnvCores:    fmt.Sprint(b.cores),
		executor.EnvLogLevel: logLevel,
	}
	for _, kv := range b.tls.Env() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	user, err := userEnv(b.conf, "stoke.executorEnv.")
	if err != nil {
		b.abort(err.Error())
		srv.Stop()
		return err
	}
	for k, v := range user {
		env[k] = v
	}
	ui := backend.DriverUIURL(d, host, b.conf.String("stoke.driver.bindAddress"))
	if err := b.am.executors(ctx, executorsRequest{Target: b.instances, Cores: b.cores, MemoryMiB: b.execMem, Env: env, Secret: b.secret, DriverUI: ui,
		NodeLabel: b.conf.String("stoke.yarn.executor.nodeLabelExpression")}); err != nil {
		b.abort("the driver could not reach the application master: " + err.Error())
		srv.Stop()
		return err
	}
	lctx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan struct{})
	go b.followEvents(lctx)
	return nil
}

// submit runs the client-mode submission and waits for the AM to register.
func (b *Backend) submit(ctx context.Context) error {
	s, err := submissionFromConf(b.conf, "client")
	if err != nil {
		return err
	}
	s.Binary = b.Binary
	s.AMSecret = rpc.NewSecret()
	s.Env = map[string]string{conf.SubmitConfEnv: conf.EncodeSubmit(b.conf.All())}
	appID, err := b.client.Submit(ctx, s)
	if err != nil {
		return err
	}
	b.appID, b.staging = appID, s.StagingBase
	b.Timings.Staged, b.Timings.Submitted = s.Staged, s.Submitted
	wait, err := b.conf.Duration("stoke.yarn.am.waitTime")
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	last := "no report yet"
	warned := false
	r, err := b.client.Wait(wctx, appID, time.Second, func(r *yarnpb.ApplicationReport) bool {
		return r.GetYarnApplicationState() == yarnpb.YarnApplicationState_RUNNING && r.GetRpcPort() > 0
	}, func(r *yarnpb.ApplicationReport) {
		last = Describe(r)
		b.log.Info(last)
		if w := PriorityCapped(s.Priority, r); w != "" && !warned {
			warned = true
			b.log.Warn(w)
		}
	})
	if err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			// The same shape as stoke.mesos.registrationTimeout and
			// stoke.standalone.registrationTimeout.
			err = fmt.Errorf("the application master did not register with the ResourceManager within %v (stoke.yarn.am.waitTime); last report: %s", wait, last)
		}
		b.killAfterFailedStart(appID, "the driver gave up waiting for the application master: "+err.Error())
		return fmt.Errorf("%s: waiting for the application master: %w", appID, err)
	}
	if Terminal(r.GetYarnApplicationState()) {
		b.client.Cleanup(b.staging, appID)
		return fmt.Errorf("%s ended before its application master registered: %s", appID, Describe(r))
	}
	b.Timings.AMRegistered = time.Now()
	b.am = newAMClient("http://"+net.JoinHostPort(r.GetHost(), fmt.Sprint(r.GetRpcPort())), s.AMSecret)
	return nil
}

func (b *Backend) killAfterFailedStart(appID, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.client.Kill(ctx, appID, why); err != nil {
		b.log.WithError(err).Warnf("could not kill %s", appID)
	}
	b.client.Cleanup(b.staging, appID)
}

// abort ends a half-started client-mode application.
func (b *Backend) abort(why string) {
	if b.client != nil && b.appID != "" {
		b.killAfterFailedStart(b.appID, why)
	}
}

// followEvents turns executor container exits into executor-loss reasons, and passes the
// AM's fresh delegation tokens on to the executors.
func (b *Backend) followEvents(ctx context.Context) {
	defer close(b.done)
	next, credsVersion := 0, 0
	for ctx.Err() == nil {
		progress := 0.0
		if pr, ok := b.driver.(backend.ProgressReporter); ok {
			progress = pr.Progress()
		}
		r, err := b.am.events(ctx, next, credsVersion, 5*time.Second, progress)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// The AM unreachable: if YARN says the application ended
			// (the AM failed it, or it was killed), the driver's jobs end
			// with its diagnostics instead of waiting for executors
			// forever, as Spark's client mode stops its context.
			// (In cluster mode the AM is this process: there is no client.)
			if b.client != nil {
				if rep, rerr := b.client.Report(ctx, b.appID); rerr == nil && Terminal(rep.GetYarnApplicationState()) {
					why := fmt.Errorf("YARN application %s ended %v (%v): %s", b.appID, rep.GetYarnApplicationState(), rep.GetFinalApplicationStatus(), rep.GetDiagnostics())
					b.log.WithError(why).Error("the application master is gone; the application's jobs fail")
					if e, ok := b.driver.(backend.ApplicationEnder); ok {
						e.ApplicationEnded(why)
					}
					return
				}
			}
			b.log.WithError(err).Warn("following executor exits")
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for _, ev := range r.Events {
			b.log.WithField("executor", ev.ExecID).Warn(ev.Reason)
			b.srv.ExecutorExited(ev.ExecID, ev.Reason)
		}
		next = r.Next
		if r.CredentialsVersion > credsVersion && len(r.Credentials) > 0 {
			b.log.Info("passing the application master's new delegation tokens to the executors")
			b.srv.UpdateCredentials(r.Credentials)
			credsVersion = r.CredentialsVersion
		}
	}
}

// Stop lets the executors go and, in client mode, tells the AM the application succeeded,
// waits for YARN to record it and removes the staging directory.
func (b *Backend) Stop(ctx context.Context) error {
	var err error
	b.stopOnce.Do(func() {
		if b.proxy != "" {
			defer fsx.UseProxyUser("")
		}
		if b.srv != nil {
			b.srv.Stop()
		}
		if b.cancel != nil {
			b.cancel()
			<-b.done
		}
		if b.client == nil || b.appID == "" {
			return
		}
		defer b.client.Close()
		if b.am != nil {
			if e := b.am.finish(ctx, finishRequest{Status: "SUCCEEDED"}); e != nil {
				err = e
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		r, e := b.client.Wait(wctx, b.appID, 200*time.Millisecond, nil, nil)
		if e != nil {
			err = errors.Join(err, fmt.Errorf("waiting for %s to end: %w", b.appID, e))
		} else {
			b.log.Info(Describe(r))
		}
		b.client.Cleanup(b.staging, b.appID)
	})
	return err
}

// StackDump implements backend.StackDumper.
func (b *Backend) StackDump(ctx context.Context, id string) (string, error) {
	return b.srv.StackDump(ctx, id)
}

func (b *Backend) LaunchTasks(id string, tasks []*pb.TaskDesc) error {
	return b.srv.LaunchTasks(id, tasks)
}
func (b *Backend) KillTask(id string, task int64, reason string) error {
	return b.srv.KillTask(id, task, reason)
}
func (b *Backend) FetchResult(ctx context.Context, id, block string) ([]byte, error) {
	return b.srv.FetchResult(ctx, id, block)
}

// ReleaseCached tells the executors to drop the datasets' cached partitions.
func (b *Backend) ReleaseCached(ids []int32) { b.srv.ReleaseCached(ids) }

// ReleaseShuffles tells the executors to drop the shuffles' output.
func (b *Backend) ReleaseShuffles(ids []int32) { b.srv.ReleaseShuffles(ids) }

// ReleaseBroadcasts tells the executors to drop their broadcast copies.
func (b *Backend) ReleaseBroadcasts(names []string) { b.srv.ReleaseBroadcasts(names) }

// Revive does nothing: YARN containers are asked for by count, not offered.
func (b *Backend) Revive() {}

// RequestTotalExecutors sets how many executor containers the AM keeps.
func (b *Backend) RequestTotalExecutors(n int) error {
	return b.RequestTotalExecutorsNear(n, backend.LocalityHints{})
}

// maxHintHosts bounds the hosts named to the AM: those with the most
// pending tasks.
const maxHintHosts = 1000

// RequestTotalExecutorsNear implements backend.LocalityAware: the AM asks
// for the pending containers on the hosts of the pending tasks' data
// (stoke.yarn.executor.localityHints).
func (b *Backend) RequestTotalExecutorsNear(n int, hints backend.LocalityHints) error {
	b.instances = n
	req := executorsRequest{Target: n, Cores: b.cores, MemoryMiB: b.execMem}
	if on, _ := b.conf.Bool("stoke.yarn.executor.localityHints"); on && hints.Tasks > 0 && len(hints.Hosts) > 0 {
		taskCPUs, err := b.conf.Int("stoke.task.cpus")
		if err != nil || taskCPUs < 1 {
			taskCPUs = 1
		}
		// The executors the local tasks fill (Spark's numExecutorsNeeded).
		req.LocalExecutors = (hints.Tasks*taskCPUs + b.cores - 1) / b.cores
		req.Hosts = topHosts(hints.Hosts, maxHintHosts)
	}
	return b.am.executors(context.Background(), req)
}

// topHosts keeps the n hosts with the most tasks (ties by name).
func topHosts(hosts map[string]int, n int) map[string]int {
	if len(hosts) <= n {
		return hosts
	}
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	sort.Slice(names, func(i, j int) bool {
		if hosts[names[i]] != hosts[names[j]] {
			return hosts[names[i]] > hosts[names[j]]
		}
		return names[i] < names[j]
	})
	out := make(map[string]int, n)
	for _, h := range names[:n] {
		out[h] = hosts[h]
	}
	return out
}

// KillExecutors stops the executors' containers; the AM does not replace them.
func (b *Backend) KillExecutors(ids []string) error {
	return b.am.kill(context.Background(), ids)
}

// DefaultParallelism is stoke.default.parallelism or the executors' total cores.
func (b *Backend) DefaultParallelism() int {
	if n, err := b.conf.Int("stoke.default.parallelism"); err == nil && n > 0 {
		return n
	}
	if n := b.instances * b.cores; n > 0 {
		return n
	}
	return 2
}

// ApplicationID is YARN's application id.
func (b *Backend) ApplicationID() string { return b.appID }

// AppID is the same, before the driver wraps the backend.
func (b *Backend) AppID() string { return b.appID }

// Client is the YARN client of a client-mode backend (nil in cluster mode).
func (b *Backend) Client() *Client { return b.client }

func hostOf(base string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// submissionFromConf builds a Submission from the application's configuration.
func submissionFromConf(c *conf.Conf, mode string) (*Submission, error) {
	s := &Submission{Mode: mode, Name: c.String("stoke.app.name"), Queue: c.String("stoke.yarn.queue"), StagingBase: c.String("stoke.yarn.stagingDir")}
	if s.Name == "" {
		s.Name = "stoke"
	}
	for _, t := range strings.Split(c.String("stoke.yarn.tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			s.Tags = append(s.Tags, t)
		}
	}
	var err error
	if s.Priority, err = c.Int("stoke.yarn.priority"); err != nil {
		return nil, err
	}
	if s.MaxAttempts, err = c.Int("stoke.yarn.maxAppAttempts"); err != nil {
		return nil, err
	}
	s.AMNodeLabel = c.String("stoke.yarn.am.nodeLabelExpression")
	if _, set := c.Get("stoke.yarn.am.attemptFailuresValidityInterval"); set {
		if s.AttemptValidity, err = c.Duration("stoke.yarn.am.attemptFailuresValidityInterval"); err != nil {
			return nil, err
		}
	}
	s.LogAggregation = logAggregationContext(c.String("stoke.yarn.rolledLog.includePattern"), c.String("stoke.yarn.rolledLog.excludePattern"))
	memKey, coresKey := "stoke.yarn.am.memory", "stoke.yarn.am.cores"
	if mode == "cluster" {
		memKey, coresKey = "stoke.driver.memory", "stoke.driver.cores"
	}
	mem, err := c.Bytes(memKey)
	if err != nil {
		return nil, err
	}
	if mode == "cluster" {
		if mem, err = containerMemory(c, mem); err != nil {
			return nil, err
		}
	} else {
		mem >>= 20
	}
	s.AMMemoryMiB = mem
	if s.AMCores, err = c.Int(coresKey); err != nil {
		return nil, err
	}
	if s.ExecutorMemoryMiB, s.ExecutorCores, err = executorContainer(c); err != nil {
		return nil, err
	}
	seen := map[string]string{}
	stat := func(p string) error { _, err := os.Stat(p); return err }
	files, err := parseDistFiles(c.String("stoke.files"), false, seen, stat)
	if err != nil {
		return nil, err
	}
	archives, err := parseDistFiles(c.String("stoke.archives"), true, seen, stat)
	if err != nil {
		return nil, err
	}
	s.Files = append(files, archives...)
	if s.OtherFileSystems, err = parseHadoopFileSystems(c.String("stoke.kerberos.access.hadoopFileSystems")); err != nil {
		return nil, fmt.Errorf("stoke.kerberos.access.hadoopFileSystems: %w", err)
	}
	if s.AMEnv, err = userEnv(c, "stoke.yarn.appMasterEnv."); err != nil {
		return nil, err
	}
	if _, err := userEnv(c, "stoke.executorEnv."); err != nil {
		return nil, err // refused before anything is staged
	}
	return s, nil
}

// DecommissionExecutor asks an executor to copy its shuffle output to
// others before it goes (backend.Decommissioner).
func (b *Backend) DecommissionExecutor(id string, d *pb.Decommission, report func(*pb.MigrationReport)) error {
	return b.srv.DecommissionExecutor(id, d, report)
}
