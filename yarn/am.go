package yarn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/hconf"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
	"github.com/stoke-run/stoke/internal/rpc"
)

// Remote exception classes the AM reacts to.
const (
	errNotRegistered   = "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException"
	errAttemptNotFound = "org.apache.hadoop.yarn.exceptions.ApplicationAttemptNotFoundException"
	errInvalidRequest  = "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException"
	// errInvalidLabel is the RM's refusal of a node label the queue may not use.
	errInvalidLabel = "org.apache.hadoop.yarn.exceptions.InvalidLabelResourceRequestException"
)

// IsAM says whether this process was started by YARN as a Stoke application master.
func IsAM() bool { return os.Getenv(EnvAM) != "" }

// RunAM runs this process as the application master and returns the process exit code.
func RunAM() int {
	log := logrus.StandardLogger().WithField("role", "yarn-am")
	m, err := newAM(log)
	if err != nil {
		log.WithError(err).Error("application master cannot start")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return m.run(ctx)
}

// rollingAuth is the AMRM token authenticator; the RM rolls the token and the next
// connection must use the new one.
type rollingAuth struct {
	mu  sync.Mutex
	tok *commonpb.Token
}

func (a *rollingAuth) Method() string      { return ipc.MethodToken }
func (a *rollingAuth) ContextUser() string { return "" }
func (a *rollingAuth) Mechanism(auth *commonpb.RpcSasl_Auth, srv ipc.Server) (ipc.Mechanism, error) {
	a.mu.Lock()
	t := a.tok
	a.mu.Unlock()
	return (&ipc.TokenAuth{Tokens: []*commonpb.Token{t}, Kind: amRMTokenKind, AnyService: true}).Mechanism(auth, srv)
}
func (a *rollingAuth) set(t *commonpb.Token) {
	a.mu.Lock()
	a.tok = t
	a.mu.Unlock()
}

type am struct {
	log         logrus.FieldLogger
	mode        string
	containerID *yarnpb.ContainerId
	attempt     int
	maxAttempts int
	nmHost      string
	creds       *tokenfile.Credentials
	credsVer    int // bumped when refreshTokens adds a token executors should take
	secret      string
	resources   []*yarnpb.StringLocalResourceMap
	staging     string
	preserve    bool
	stokeConf   *conf.Conf
	submitConf  string
	hc          *hconf.Config
	racks       *rackResolver // places the hosts of locality hints (nil: no rack asks)
	auth        *rollingAuth
	rm          *ipc.Client
	nms         *nmPool
	heartbeat   time.Duration
	fast        time.Duration
	netTimeout  time.Duration
	maxFailures int
	maxPerNode  int

	mu          sync.Mutex
	alloc       *allocator
	execEnv     map[string]string
	driverUI    *httputil.ReverseProxy // the driver UI the tracking URL serves (nil: not known yet)
	progress    float64                // the application's progress the driver reports
	execSecret  string                 // the driver's secret, for executors' credentials
	execMem     int64
	execCores   int
	events      []exitEvent
	eventsCh    chan struct{} // closed and replaced when events are appended
	finish      *finishRequest
	lastContact time.Time
	toKill      []string
	wake        chan struct{}
}

func newAM(log logrus.FieldLogger) (*am, error) {
	m := &am{log: log, mode: os.Getenv(EnvAM), wake: make(chan struct{}, 1), eventsCh: make(chan struct{})}
	if m.mode != "client" && m.mode != "cluster" {
		return nil, fmt.Errorf("%s=%q: want client or cluster", EnvAM, m.mode)
	}
	cid, err := ParseContainerID(os.Getenv("CONTAINER_ID"))
	if err != nil {
		return nil, fmt.Errorf("CONTAINER_ID from the NodeManager: %w", err)
	}
	m.containerID = cid
	m.attempt = int(cid.GetAppAttemptId().GetAttemptId())
	m.maxAttempts, _ = strconv.Atoi(os.Getenv("MAX_APP_ATTEMPTS"))
	m.nmHost = os.Getenv("NM_HOST")
	if m.nmHost == "" {
		m.nmHost, _ = os.Hostname()
	}
	tf := os.Getenv(hadoopTokenEnv)
	if tf == "" {
		return nil, fmt.Errorf("%s is not set: this process was not started by a NodeManager", hadoopTokenEnv)
	}
	if m.creds, err = tokenfile.Read(tf); err != nil {
		return nil, err
	}
	var amrm *commonpb.Token
	for _, t := range m.creds.Tokens {
		if t.Token.GetKind() == amRMTokenKind {
			amrm = t.Token
		}
	}
	if amrm == nil {
		return nil, fmt.Errorf("the token file %s holds no %s", tf, amRMTokenKind)
	}
	m.auth = &rollingAuth{tok: amrm}
	m.secret = string(m.creds.Secrets[amSecretAlias])
	if m.secret == "" {
		return nil, fmt.Errorf("the token file %s holds no %s secret", tf, amSecretAlias)
	}
	if raw := os.Getenv(EnvResources); raw != "" {
		b, err := base64.StdEncoding.DecodeString(raw)
		var clc yarnpb.ContainerLaunchContext
		if err == nil {
			err = proto.Unmarshal(b, &clc)
		}
		if err != nil {
			return nil, fmt.Errorf("malformed %s: %v", EnvResources, err)
		}
		m.resources = clc.GetLocalResources()
	}
	m.staging = os.Getenv(EnvStaging)
	m.stokeConf = conf.New()
	if raw := os.Getenv(EnvConf); raw != "" {
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, fmt.Errorf("malformed %s: %v", EnvConf, err)
		}
		m.submitConf = string(b)
		entries, err := conf.DecodeSubmit(m.submitConf)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			m.stokeConf.Set(e.Key, e.Value, e.Source)
		}
	}
	if raw, ok := m.creds.Secrets[confSecretAlias]; ok {
		entries, err := conf.DecodeSubmit(string(raw))
		if err != nil {
			return nil, fmt.Errorf("the token file %s: secret %s: %v", tf, confSecretAlias, err)
		}
		for _, e := range entries {
			m.stokeConf.Set(e.Key, e.Value, e.Source)
		}
		m.submitConf = conf.EncodeSubmit(m.stokeConf.All())
	}
	c := m.stokeConf
	if m.preserve, err = c.Bool("stoke.yarn.preserveStagingFiles"); err != nil {
		return nil, err
	}
	if m.heartbeat, err = c.Duration("stoke.yarn.scheduler.heartbeat.interval"); err != nil {
		return nil, err
	}
	if m.fast, err = c.Duration("stoke.yarn.scheduler.initialAllocationInterval"); err != nil {
		return nil, err
	}
	if m.netTimeout, err = c.Duration("stoke.network.timeout"); err != nil {
		return nil, err
	}
	if m.maxPerNode, err = c.Int("stoke.yarn.maxNodeFailures"); err != nil {
		return nil, err
	}
	m.maxFailures = -1
	if _, ok := c.Get("stoke.yarn.max.executor.failures"); ok {
		if m.maxFailures, err = c.Int("stoke.yarn.max.executor.failures"); err != nil {
			return nil, err
		}
	}
	if m.hc, err = hconf.Load(nil); err != nil {
		return nil, fmt.Errorf("the staged Hadoop configuration: %w", err)
	}
	m.racks = newRackResolver(m.hc, m.log)
	if m.rm, err = ipc.NewRMClient(m.hc, hconf.RMScheduler, ipc.ApplicationMasterProtocol, m.auth); err != nil {
		return nil, err
	}
	cfg, err := ipc.ConfigFrom(m.hc, ipc.ContainerManagementProtocol)
	if err != nil {
		return nil, err
	}
	m.nms = newNMPool(cfg)
	return m, nil
}

// run is the AM's life: serve the driver API, register, heartbeat until the application
// ends, unregister (on success or on the last attempt, so YARN retries otherwise).
func (m *am) run(ctx context.Context) int {
	lis, err := net.Listen("tcp", net.JoinHostPort(m.nmHost, "0"))
	if err != nil {
		m.log.WithError(err).Error("cannot listen for the driver")
		return 1
	}
	srv := amServer(m.handler())
	go srv.Serve(lis)
	defer srv.Close()
	port := lis.Addr().(*net.TCPAddr).Port
	base := "http://" + net.JoinHostPort(m.nmHost, strconv.Itoa(port))

	if err := m.register(ctx, port, base); err != nil {
		m.log.WithError(err).Error("registering with the ResourceManager")
		return 1
	}
	m.log.WithFields(logrus.Fields{"attempt": m.attempt, "mode": m.mode, "endpoint": base}).Info("application master registered")

	m.mu.Lock()
	m.lastContact = time.Now()
	m.mu.Unlock()

	if os.Getenv(fsx.EnvKeytab) != "" {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go m.refreshTokens(rctx)
	}
	var child *driverChild
	if m.mode == "cluster" {
		child, err = m.startDriver(base)
		if err != nil {
			m.unregister(ctx, yarnpb.FinalApplicationStatus_APP_FAILED, "could not start the driver: "+err.Error(), true)
			return 1
		}
	}
	status, diag := m.loop(ctx, child)
	m.stopAll()
	final := status == yarnpb.FinalApplicationStatus_APP_SUCCEEDED || m.maxAttempts <= 0 || m.attempt >= m.maxAttempts
	if !final {
		m.log.WithField("attempt", m.attempt).Errorf("attempt failed (%s); leaving YARN to start attempt %d", diag, m.attempt+1)
		return 1
	}
	m.unregister(ctx, status, diag, false)
	if status == yarnpb.FinalApplicationStatus_APP_SUCCEEDED {
		return 0
	}
	return 1
}

func (m *am) register(ctx context.Context, port int, base string) error {
	var resp yarnpb.RegisterApplicationMasterResponse
	err := m.rm.Call(ctx, "registerApplicationMaster", &yarnpb.RegisterApplicationMasterRequest{
		Host: proto.String(m.nmHost), RpcPort: proto.Int32(int32(port)), TrackingUrl: proto.String(base + "/"),
	}, &resp)
	if err != nil {
		return err
	}
	m.nms.addTokens(resp.GetNmTokensFromPreviousAttempts())
	return nil
}

// finalTrackingURL is where the RM links once the application ended: its
// page on the history server (stoke.yarn.historyServer.address), or "".
func (m *am) finalTrackingURL() string {
	if m.stokeConf == nil || m.containerID == nil {
		return ""
	}
	return finalTrackingURL(m.stokeConf.String("stoke.yarn.historyServer.address"), AppIDString(m.containerID.GetAppId()))
}

// unregister tells the RM the final status, repeating until it confirms, then removes the
// staging directory.
func (m *am) unregister(ctx context.Context, st yarnpb.FinalApplicationStatus, diag string, early bool) {
	for i := 0; ; i++ {
		var resp yarnpb.FinishApplicationMasterResponse
		err := m.rm.Call(ctx, "finishApplicationMaster", &yarnpb.FinishApplicationMasterRequest{
			FinalApplicationStatus: st.Enum(), Diagnostics: proto.String(diag),
			// After the end the RM links to the history server's page of
			// the application, when there is one.
			TrackingUrl: proto.String(m.finalTrackingURL()),
		}, &resp)
		if ipc.IsRemote(err, errNotRegistered) {
			err = m.register(ctx, 0, "")
		}
		if err == nil && resp.GetIsUnregistered() {
			break
		}
		if err != nil && (i >= 50 || ctx.Err() != nil) {
			m.log.WithError(err).Error("unregistering from the ResourceManager")
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.log.WithFields(logrus.Fields{"status": st, "diagnostics": diag}).Info("application master unregistered")
	if m.staging != "" && !m.preserve {
		if err := removeStagingURI(m.staging); err != nil {
			m.log.WithError(err).Warn("could not remove the staging directory")
		}
	}
}

func removeStagingURI(uri string) error {
	if !strings.HasPrefix(uri, "hdfs://") {
		return fmt.Errorf("staging directory %q is not an hdfs:// URI", uri)
	}
	fs, err := fsx.For(uri)
	if err != nil {
		return err
	}
	return fs.RemoveAll(uri)
}

// loop heartbeats until the application ends and returns its final status.
func (m *am) loop(ctx context.Context, child *driverChild) (yarnpb.FinalApplicationStatus, string) {
	respID := int32(0)
	launched := make(chan launchResult, 16)
	inflight := 0
	var childDone <-chan struct{}
	if child != nil {
		childDone = child.done
	}
	for {
		// End conditions.
		m.mu.Lock()
		fin, alloc, silent := m.finish, m.alloc, time.Since(m.lastContact)
		m.mu.Unlock()
		if fin != nil {
			return finalStatus(fin.Status), fin.Diagnostics
		}
		if child == nil && silent > m.netTimeout {
			return yarnpb.FinalApplicationStatus_APP_FAILED, fmt.Sprintf("the driver has not contacted the application master for %v (stoke.network.timeout)", silent.Round(time.Second))
		}
		if alloc != nil && alloc.failed() {
			diag := fmt.Sprintf("%d executor failures exceed stoke.yarn.max.executor.failures (%d)", alloc.failures, alloc.maxFailures)
			if child != nil {
				child.stop()
			}
			return yarnpb.FinalApplicationStatus_APP_FAILED, diag
		}
		if child != nil {
			select {
			case <-childDone:
				if child.exitCode == 0 {
					return yarnpb.FinalApplicationStatus_APP_SUCCEEDED, ""
				}
				return yarnpb.FinalApplicationStatus_APP_FAILED, fmt.Sprintf("the driver exited with code %d: %s", child.exitCode, child.tail())
			default:
			}
		}

		// Heartbeat.
		m.mu.Lock()
		// What the driver last said of the application's progress (the RM
		// shows it), never below the 10% YARN clients show for a start.
		req := &yarnpb.AllocateRequest{ResponseId: proto.Int32(respID), Progress: proto.Float32(float32(max(0.1, m.progress)))}
		if m.alloc != nil {
			m.alloc.request(req)
		}
		m.mu.Unlock()
		if len(req.Ask) > 0 {
			asks := make([]string, 0, len(req.Ask))
			for _, a := range req.Ask {
				asks = append(asks, fmt.Sprintf("%s=%d", a.GetResourceName(), a.GetNumContainers()))
			}
			m.log.Infof("asking the ResourceManager for executor containers: %s", strings.Join(asks, " "))
		}
		var resp yarnpb.AllocateResponse
		err := m.rm.Call(ctx, "allocate", req, &resp)
		switch {
		case ipc.IsRemote(err, errNotRegistered):
			m.log.Warn("the ResourceManager lost this application master (restart or failover): registering again and re-sending every request")
			if err := m.register(ctx, 0, ""); err != nil {
				return yarnpb.FinalApplicationStatus_APP_FAILED, "re-registering after a ResourceManager resync: " + err.Error()
			}
			respID = 0
			m.mu.Lock()
			if m.alloc != nil {
				m.alloc.unsent(req)
				m.alloc.resync()
			}
			m.mu.Unlock()
			continue
		case ipc.IsRemote(err, errAttemptNotFound):
			m.log.Error("the ResourceManager no longer knows this attempt; exiting")
			os.Exit(1)
		case ipc.IsRemote(err, errInvalidRequest), ipc.IsRemote(err, errInvalidLabel):
			// Asking again cannot help (executors larger than any node,
			// a label the queue may not use): the application fails
			// with the RM's reason instead of waiting forever.
			return yarnpb.FinalApplicationStatus_APP_FAILED, "the ResourceManager refused the executor containers: " + err.Error()
		case err != nil:
			if ctx.Err() != nil {
				return yarnpb.FinalApplicationStatus_APP_KILLED, "the application master was stopped"
			}
			m.log.WithError(err).Warn("allocate failed; retrying")
			m.mu.Lock()
			if m.alloc != nil {
				m.alloc.unsent(req)
			}
			m.mu.Unlock()
			time.Sleep(time.Second)
			continue
		}
		respID = resp.GetResponseId()
		if t := resp.GetAmRmToken(); t != nil {
			m.log.Info("the ResourceManager rolled the AMRM token")
			m.auth.set(t)
		}
		m.nms.addTokens(resp.GetNmTokens())
		m.mu.Lock()
		if m.alloc != nil {
			m.alloc.nodes = int(resp.GetNumClusterNodes())
			for _, ec := range m.alloc.allocated(resp.GetAllocatedContainers()) {
				inflight++
				go m.launch(ctx, ec, launched)
			}
			for _, st := range resp.GetCompletedContainerStatuses() {
				if ev, ok := m.alloc.completed(st); ok {
					m.addEvent(ev)
				}
			}
			for _, id := range m.toKill {
				for cid, ec := range m.alloc.live {
					if ec.ExecID == id {
						m.alloc.stop(cid)
						go m.nms.stop(context.Background(), ec.Container)
					}
				}
			}
			m.toKill = nil
		}
		pending := m.alloc != nil && m.alloc.pending() > 0
		m.mu.Unlock()

		wait := m.heartbeat
		if pending || inflight > 0 {
			wait = m.fast
		}
		timer := time.NewTimer(wait)
	drain:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				if child != nil {
					child.stop()
				}
				return yarnpb.FinalApplicationStatus_APP_KILLED, "the application master was stopped"
			case r := <-launched:
				inflight--
				m.mu.Lock()
				if r.err != nil {
					m.log.WithError(r.err).Warnf("executor %s did not start", r.ec.ExecID)
					if ev, ok := m.alloc.launchFailed(r.cid, r.err.Error()); ok {
						m.addEvent(ev)
					}
				} else {
					m.alloc.started(r.cid)
				}
				m.mu.Unlock()
			case <-m.wake:
				timer.Stop()
				break drain
			case <-childDone:
				timer.Stop()
				break drain
			case <-timer.C:
				break drain
			}
		}
	}
}

func finalStatus(s string) yarnpb.FinalApplicationStatus {
	switch strings.ToUpper(s) {
	case "SUCCEEDED":
		return yarnpb.FinalApplicationStatus_APP_SUCCEEDED
	case "KILLED":
		return yarnpb.FinalApplicationStatus_APP_KILLED
	}
	return yarnpb.FinalApplicationStatus_APP_FAILED
}

type launchResult struct {
	ec  *execContainer
	cid string
	err error
}

// launch starts an executor container on its NodeManager.
func (m *am) launch(ctx context.Context, ec *execContainer, out chan<- launchResult) {
	m.mu.Lock()
	env := map[string]string{}
	for k, v := range m.execEnv {
		env[k] = v
	}
	m.mu.Unlock()
	env[executor.EnvExecutorID] = ec.ExecID
	env[executor.EnvHost] = ec.Host()
	if web := ec.Container.GetNodeHttpAddress(); web != "" {
		// The NodeManager's page of the container's logs (the RM's and
		// Spark's executor log links are the same).
		env[executor.EnvLogURL] = "http://" + web + "/node/containerlogs/" + ContainerIDString(ec.Container.GetId()) + "/" + url.PathEscape(hadoopUser())
	}
	env["HADOOP_CONF_DIR"] = "{{PWD}}/" + confDirName
	env["YARN_CONF_DIR"] = "{{PWD}}/" + confDirName
	env["HADOOP_USER_NAME"] = hadoopUser()
	// Executors get the application's tokens, never the AMRM token, the AM's secret or the
	// keytab: they reach HDFS with the delegation token, which the AM keeps fresh. The
	// driver's secret travels in the credentials too: a container's environment is visible to
	// NodeManager administrators, its token file only to the application's user.
	m.mu.Lock()
	creds := m.executorCredsLocked()
	if m.execSecret != "" {
		creds.SetSecret(execSecretAlias, []byte(m.execSecret))
	}
	m.mu.Unlock()
	clc := &yarnpb.ContainerLaunchContext{
		LocalResources: executorResources(m.resources),
		Tokens:         creds.Marshal(),
		Environment:    envList(env),
		Command:        []string{"./" + appBinaryName, "1><LOG_DIR>/stdout", "2><LOG_DIR>/stderr"},
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := m.nms.start(cctx, ec.Container, clc)
	out <- launchResult{ec: ec, cid: ContainerIDString(ec.Container.GetId()), err: err}
}

// stopAll stops the executor containers still running (the RM would kill them when the
// application ends, but a clean stop frees the nodes at once).
func (m *am) stopAll() {
	m.mu.Lock()
	var cs []*yarnpb.Container
	if m.alloc != nil {
		for cid, ec := range m.alloc.live {
			m.alloc.stop(cid)
			cs = append(cs, ec.Container)
		}
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m.nms.stop(ctx, c)
		}()
	}
	wg.Wait()
	m.nms.close()
}

func (m *am) addEvent(ev exitEvent) {
	m.events = append(m.events, ev)
	m.notifyLocked()
}

// executorCredsLocked are the application's tokens executors get: all but the AMRM token.
func (m *am) executorCredsLocked() *tokenfile.Credentials {
	return &tokenfile.Credentials{Tokens: m.creds.Without(amRMTokenKind).Tokens}
}

// notifyLocked wakes the driver's events long-poll.
func (m *am) notifyLocked() {
	close(m.eventsCh)
	m.eventsCh = make(chan struct{})
}

func (m *am) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Bounds of the driver API's server, which anyone on the cluster network
// can reach: a client that never finishes its headers or idles is dropped,
// and a long poll ends well within the driver's 30 s request timeout.
var (
	amHeaderTimeout = 10 * time.Second
	maxEventsWait   = 20 * time.Second
)

// driverUIProxy serves the driver UI at u read-only: GET and HEAD only, and
// the UI's pages link relatively, so they work under the RM's proxy path.
func driverUIProxy(u *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = u.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "the driver's UI does not answer: "+err.Error(), http.StatusBadGateway)
		},
	}
}

func amServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: amHeaderTimeout, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// handler serves the driver API.
func (m *am) handler() http.Handler {
	mux := http.NewServeMux()
	// The tracking URL: the driver's UI once the driver has said where it
	// is (the RM's proxy fetches it), else a line about the AM.
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		ui := m.driverUI
		n := 0
		if m.alloc != nil {
			n = len(m.alloc.live)
		}
		m.mu.Unlock()
		if ui != nil && !strings.HasPrefix(r.URL.Path, "/v1/") {
			ui.ServeHTTP(w, r)
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "Stoke application master (%s mode), attempt %d: %d executor containers\n", m.mode, m.attempt, n)
	})
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !rpc.BearerOK(r, m.secret) {
				http.Error(w, "unauthorized: wrong or missing application secret", http.StatusUnauthorized)
				return
			}
			m.mu.Lock()
			m.lastContact = time.Now()
			m.mu.Unlock()
			h(w, r)
		}
	}
	decode := func(w http.ResponseWriter, r *http.Request, v any) bool {
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
			http.Error(w, "malformed request: "+err.Error(), http.StatusBadRequest)
			return false
		}
		return true
	}
	mux.HandleFunc("POST /v1/executors", auth(func(w http.ResponseWriter, r *http.Request) {
		var req executorsRequest
		if !decode(w, r, &req) {
			return
		}
		if req.Target < 0 || req.Cores < 1 || req.MemoryMiB < 1 {
			http.Error(w, "target must be ≥ 0, cores and memoryMiB ≥ 1", http.StatusBadRequest)
			return
		}
		if err := req.checkHints(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var ui *httputil.ReverseProxy
		if req.DriverUI != "" {
			u, err := url.Parse(req.DriverUI)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(req.DriverUI) > 2048 {
				http.Error(w, "driverUI must be an http(s) URL of at most 2048 bytes", http.StatusBadRequest)
				return
			}
			ui = driverUIProxy(u)
		}
		// Outside the lock: a topology script may take a while.
		var racks map[string]string
		if m.racks != nil && len(req.Hosts) > 0 {
			racks = m.racks.Racks(slices.Collect(maps.Keys(req.Hosts)))
		}
		m.mu.Lock()
		if m.alloc == nil {
			max := m.maxFailures
			if max < 0 {
				max = 2 * req.Target
				if max < 3 {
					max = 3
				}
			}
			m.alloc = newAllocator(&yarnpb.Resource{Memory: proto.Int64(req.MemoryMiB), VirtualCores: proto.Int32(int32(req.Cores))}, 1, max, m.maxPerNode)
			m.execEnv, m.execSecret, m.execMem, m.execCores = req.Env, req.Secret, req.MemoryMiB, req.Cores
			m.alloc.label = req.NodeLabel
		}
		m.alloc.setTarget(req.Target)
		m.alloc.setLocality(localityHints{Executors: req.LocalExecutors, Hosts: req.Hosts, Racks: racks})
		if ui != nil {
			m.driverUI = ui
		}
		m.mu.Unlock()
		m.poke()
		w.Write([]byte("{}"))
	}))
	mux.HandleFunc("GET /v1/events", auth(func(w http.ResponseWriter, r *http.Request) {
		after, err1 := strconv.Atoi(r.URL.Query().Get("after"))
		waitMS, err2 := strconv.Atoi(r.URL.Query().Get("wait"))
		known, err3 := 0, error(nil)
		if v := r.URL.Query().Get("creds"); v != "" {
			known, err3 = strconv.Atoi(v)
		}
		if err1 != nil || err2 != nil || err3 != nil || after < 0 || waitMS < 0 || known < 0 {
			http.Error(w, "after, creds and wait must be non-negative integers", http.StatusBadRequest)
			return
		}
		if v := r.URL.Query().Get("progress"); v != "" {
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
				http.Error(w, "progress must be a number from 0 to 1", http.StatusBadRequest)
				return
			}
			m.mu.Lock()
			m.progress = p
			m.mu.Unlock()
		}
		deadline := time.After(min(time.Duration(waitMS)*time.Millisecond, maxEventsWait))
		for {
			m.mu.Lock()
			evs, ch, ver := m.events, m.eventsCh, m.credsVer
			var creds []byte
			if ver > known {
				creds = m.executorCredsLocked().Marshal()
			}
			m.mu.Unlock()
			if after > len(evs) {
				after = len(evs)
			}
			resp := eventsResponse{Events: append([]exitEvent{}, evs[after:]...), Next: len(evs), Credentials: creds, CredentialsVersion: ver}
			if after < len(evs) || creds != nil {
				json.NewEncoder(w).Encode(resp)
				return
			}
			select {
			case <-ch:
			case <-deadline:
				json.NewEncoder(w).Encode(resp)
				return
			case <-r.Context().Done():
				return
			}
		}
	}))
	mux.HandleFunc("POST /v1/finish", auth(func(w http.ResponseWriter, r *http.Request) {
		var req finishRequest
		if !decode(w, r, &req) {
			return
		}
		switch req.Status {
		case "SUCCEEDED", "FAILED", "KILLED":
		default:
			http.Error(w, "status must be SUCCEEDED, FAILED or KILLED", http.StatusBadRequest)
			return
		}
		m.mu.Lock()
		m.finish = &req
		m.mu.Unlock()
		m.poke()
		w.Write([]byte("{}"))
	}))
	mux.HandleFunc("POST /v1/kill", auth(func(w http.ResponseWriter, r *http.Request) {
		var req killRequest
		if !decode(w, r, &req) {
			return
		}
		m.mu.Lock()
		m.toKill = append(m.toKill, req.Executors...)
		if m.alloc != nil {
			m.alloc.setTarget(m.alloc.target - len(req.Executors))
		}
		m.mu.Unlock()
		m.poke()
		w.Write([]byte("{}"))
	}))
	return mux
}

// driverChild is the driver process of cluster mode, a child of the AM.
type driverChild struct {
	cmd      *exec.Cmd
	done     chan struct{}
	exitCode int
	mu       sync.Mutex
	stderr   []byte // last bytes, for the diagnostics
}

func (d *driverChild) Write(p []byte) (int, error) {
	d.mu.Lock()
	d.stderr = append(d.stderr, p...)
	if len(d.stderr) > 4096 {
		d.stderr = d.stderr[len(d.stderr)-4096:]
	}
	d.mu.Unlock()
	return len(p), nil
}

func (d *driverChild) tail() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := strings.TrimSpace(string(d.stderr))
	if s == "" {
		return "(no output on stderr)"
	}
	return s
}

func (d *driverChild) stop() {
	if d.cmd.Process != nil {
		d.cmd.Process.Signal(syscall.SIGTERM)
	}
}

// startDriver runs the application's main in a child process that reaches the executors
// through this AM, as a client-mode driver would.
func (m *am) startDriver(base string) (*driverChild, error) {
	var args []string
	if raw := os.Getenv(EnvArgs); raw != "" {
		b, err := base64.StdEncoding.DecodeString(raw)
		if err == nil {
			err = json.Unmarshal(b, &args)
		}
		if err != nil {
			return nil, fmt.Errorf("malformed %s: %v", EnvArgs, err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	d := &driverChild{done: make(chan struct{})}
	cmd := exec.Command(exe, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvAM+"=") && !strings.HasPrefix(kv, EnvArgs+"=") && !strings.HasPrefix(kv, EnvResources+"=") && !strings.HasPrefix(kv, EnvConf+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, conf.SubmitConfEnv+"="+m.driverConf(), EnvAMAddress+"="+base, EnvAMSecret+"="+m.secret, EnvAppID+"="+AppIDString(m.containerID.GetAppId()))
	cmd.Stdout = os.Stdout
	cmd.Stderr = io.MultiWriter(os.Stderr, d)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d.cmd = cmd
	go func() {
		err := cmd.Wait()
		d.exitCode = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			d.exitCode = ee.ExitCode()
		} else if err != nil {
			d.exitCode = 1
		}
		close(d.done)
	}()
	return d, nil
}

// driverConf is the driver's settings, with a shipped keytab's path in this container.
func (m *am) driverConf() string {
	kt := os.Getenv(fsx.EnvKeytab)
	if kt == "" || m.submitConf == "" {
		return m.submitConf
	}
	entries, err := conf.DecodeSubmit(m.submitConf)
	if err != nil {
		return m.submitConf
	}
	c := conf.New()
	for _, e := range entries {
		c.Set(e.Key, e.Value, e.Source)
	}
	c.Set("stoke.kerberos.principal", os.Getenv(fsx.EnvPrincipal), conf.SourceSubmit)
	c.Set("stoke.kerberos.keytab", kt, conf.SourceSubmit)
	return conf.EncodeSubmit(c.All())
}

// ExecutorSecretFromTokens sets the executor's secret (executor.EnvSecret) from the YARN
// container's token file, where the AM puts it, when the environment does not carry it.
// Outside a YARN container it does nothing.
func ExecutorSecretFromTokens() error {
	tf := os.Getenv(hadoopTokenEnv)
	if os.Getenv(executor.EnvSecret) != "" || !InContainer() {
		return nil
	}
	creds, err := tokenfile.Read(tf)
	if err != nil {
		return fmt.Errorf("reading the container's token file: %w", err)
	}
	s, ok := creds.Secrets[execSecretAlias]
	if !ok {
		return fmt.Errorf("the container's token file %s holds no %s secret", tf, execSecretAlias)
	}
	return os.Setenv(executor.EnvSecret, string(s))
}

// executorResources are the application's files without the keytab: only the AM (and a
// cluster-mode driver, its child) log in with it.
func executorResources(all []*yarnpb.StringLocalResourceMap) []*yarnpb.StringLocalResourceMap {
	out := make([]*yarnpb.StringLocalResourceMap, 0, len(all))
	for _, r := range all {
		if r.GetKey() != keytabName {
			out = append(out, r)
		}
	}
	return out
}

// UpdateContainerTokens puts the delegation tokens the driver sent (Writable credentials) into
// this YARN container's token file, replacing those of the same service and keeping the rest,
// so that new HDFS connections use them. The file is replaced atomically.
func UpdateContainerTokens(hadoopTokens []byte) error {
	tf := os.Getenv(hadoopTokenEnv)
	if tf == "" {
		return fmt.Errorf("%s is not set: not in a YARN container", hadoopTokenEnv)
	}
	fresh, err := tokenfile.Unmarshal(hadoopTokens)
	if err != nil {
		return fmt.Errorf("the driver's credentials: %w", err)
	}
	cur, err := tokenfile.Read(tf)
	if err != nil {
		return fmt.Errorf("reading the container's token file: %w", err)
	}
	for _, t := range fresh.Tokens {
		cur.AddToken(t.Alias, t.Token)
	}
	tmp := tf + ".new"
	if err := os.WriteFile(tmp, cur.Marshal(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, tf)
}

// InContainer reports whether this process runs in a YARN container with a token file.
func InContainer() bool {
	return os.Getenv("CONTAINER_ID") != "" && os.Getenv(hadoopTokenEnv) != ""
}
