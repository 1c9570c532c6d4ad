package mesos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/distfiles"
	"github.com/stoke-run/stoke/internal/rpc"
	"github.com/stoke-run/stoke/mesos/offers"
)

// frameworkHooks replace the application's offer and update handling when
// the framework is the cluster-mode dispatcher.
type frameworkHooks interface {
	want() bool
	offers(ctx context.Context, caller calls.Caller, os []mesos.Offer)
	update(ctx context.Context, caller calls.Caller, st mesos.TaskStatus)
}

// Driver submission states.
const (
	DriverQueued   = "QUEUED"
	DriverLaunched = "LAUNCHED"
	DriverRunning  = "RUNNING"
	DriverRetrying = "RETRYING"
	DriverFinished = "FINISHED"
	DriverFailed   = "FAILED"
	DriverKilled   = "KILLED"
)

// DriverSubmission asks the dispatcher to run an application's driver.
type DriverSubmission struct {
	Args      []string `json:"args"`
	Conf      string   `json:"conf"` // STOKE_SUBMIT_CONF for the driver
	CPUs      float64  `json:"cpus"`
	MemMB     float64  `json:"memMB"`
	Supervise bool     `json:"supervise"`
}

// DriverStatus is what the dispatcher knows of a submission.
type DriverStatus struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Restarts int    `json:"restarts"`
	TaskID   string `json:"taskId,omitempty"`
	AgentID  string `json:"agentId,omitempty"`
	Message  string `json:"message,omitempty"`
}

// DispatcherOptions configure a dispatcher.
type DispatcherOptions struct {
	Master  string // mesos:// URL of the cluster the drivers run on
	Host    string // address to listen on and give agents for fetching binaries
	Port    int    // 0: any
	WorkDir string // where submitted binaries are kept
	Secret  string // bearer secret for submissions ("" for none)
	// Insecure allows listening beyond loopback without a Secret.
	Insecure bool
	// MaxBinarySize bounds a submitted binary (default 1 GiB, as
	// stoke.deploy.maxBinarySize).
	MaxBinarySize int64
	// RetainedDrivers is how many ended drivers the dispatcher remembers
	// (default 200, as stoke.deploy.retainedDrivers); an ended driver's
	// binary is removed at once.
	RetainedDrivers int
	// RetryBackoff is the first wait before a supervised driver is
	// relaunched; it doubles per restart up to MaxBackoff (1 s and 60 s).
	RetryBackoff, MaxBackoff time.Duration
	Conf                     *conf.Conf // stoke.mesos.* settings of the dispatcher framework
	Log                      logrus.FieldLogger
}

// Dispatcher runs applications' drivers as Mesos tasks (cluster deploy
// mode), relaunching supervised ones that fail, with exponential backoff.
type Dispatcher struct {
	opts      DispatcherOptions
	b         *Backend
	master    conf.Master
	lis       net.Listener
	advertise string // host:port agents fetch binaries from
	srv       *http.Server
	log       logrus.FieldLogger

	mu      sync.Mutex
	drivers map[string]*driverRecord
	seq     int
	grants  *grants  // one-time binary URLs and secret settings of driver tasks
	ended   []string // ids of ended drivers, oldest first
}

type driverRecord struct {
	DriverStatus
	sub     DriverSubmission // Conf without its secret settings
	full    string           // the whole STOKE_SUBMIT_CONF, secrets included
	binary  string
	dist    []distfiles.Entry // stoke.files, stoke.archives: URIs only
	nextTry time.Time
	killed  bool
}

// StartDispatcher subscribes the dispatcher framework and serves its API.
func StartDispatcher(ctx context.Context, opts DispatcherOptions) (*Dispatcher, error) {
	m, err := conf.ParseMaster(opts.Master)
	if err != nil {
		return nil, err
	}
	if m.Kind != conf.Mesos {
		return nil, fmt.Errorf("the dispatcher needs a mesos:// master, not %q", opts.Master)
	}
	if opts.WorkDir == "" {
		return nil, errors.New("the dispatcher needs a work directory for submitted binaries")
	}
	if err := os.MkdirAll(opts.WorkDir, 0o700); err != nil {
		return nil, err
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.MaxBinarySize <= 0 {
		opts.MaxBinarySize = 1 << 30
	}
	if opts.RetainedDrivers <= 0 {
		opts.RetainedDrivers = 200
	}
	if opts.Log == nil {
		opts.Log = logrus.StandardLogger()
	}
	c := conf.New()
	if opts.Conf != nil {
		c = opts.Conf.Clone()
	}
	if c.String("stoke.app.name") == "" {
		c.Set("stoke.app.name", "stoke-dispatcher", conf.SourceCode)
	}
	b, err := New(m, c, opts.Log)
	if err != nil {
		return nil, err
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
		if len(m.Hosts) > 0 {
			opts.Host = rpc.OutboundHost(m.Hosts[0])
		}
	}
	// Submissions are binaries the cluster runs: never open to whoever can
	// reach the port unless asked for.
	if opts.Secret == "" && !opts.Insecure && !loopbackHost(opts.Host) {
		return nil, fmt.Errorf("dispatcher: it would accept submissions on %s without a secret: set stoke.authenticate.secret "+
			"(in a properties file, not on the command line), listen on 127.0.0.1, or pass --insecure to run an open dispatcher on purpose", opts.Host)
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	if opts.Secret == "" && !loopbackHost(opts.Host) {
		opts.Log.Warnf("INSECURE: the dispatcher accepts submissions on %s without a secret (--insecure): whoever reaches the port runs code on the cluster", lis.Addr())
	}
	advertise := lis.Addr().String()
	if ip := net.ParseIP(opts.Host); ip != nil && ip.IsUnspecified() {
		// Listening on every interface: agents fetch binaries by this host's name.
		if hn, err := os.Hostname(); err == nil {
			advertise = net.JoinHostPort(hn, strconv.Itoa(lis.Addr().(*net.TCPAddr).Port))
		}
	}
	d := &Dispatcher{opts: opts, b: b, master: m, lis: lis, advertise: advertise, log: opts.Log.WithField("role", "mesos-dispatcher"), drivers: map[string]*driverRecord{}, grants: newGrants()}
	b.hooks = d
	// Uploads may be long, so no read timeout; headers and idle
	// connections are bounded, bodies by MaxBinarySize.
	d.srv = &http.Server{Handler: d.handler(), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go d.srv.Serve(lis)
	if err := b.startLoop(ctx); err != nil {
		d.srv.Close()
		return nil, err
	}
	return d, nil
}

// loopbackHost says whether a listen host reaches only this machine.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Address is host:port of the dispatcher's API.
func (d *Dispatcher) Address() string { return d.lis.Addr().String() }

// FrameworkID is the dispatcher framework's id.
func (d *Dispatcher) FrameworkID() string { return d.b.FrameworkID() }

// Stop leaves the drivers running and disconnects (a restarted dispatcher
// does not know them; Mesos keeps them for the failover timeout).
func (d *Dispatcher) Stop() {
	d.srv.Close()
	d.b.shutdown()
}

// Submit queues a driver.
func (d *Dispatcher) Submit(sub DriverSubmission, binary io.Reader) (DriverStatus, error) {
	if sub.CPUs <= 0 || sub.MemMB <= 0 {
		return DriverStatus{}, errors.New("a driver needs cpus > 0 and memMB > 0")
	}
	entries, err := conf.DecodeSubmit(sub.Conf)
	if err != nil {
		return DriverStatus{}, err
	}
	// The driver runs on the cluster: its master is the dispatcher's.
	c := conf.New()
	for _, e := range entries {
		c.Set(e.Key, e.Value, e.Source)
	}
	c.Set("stoke.master", d.opts.Master, conf.SourceSubmit)
	// stoke.files and stoke.archives are fetched into the driver's sandbox
	// too (and by the driver's executors from the same URIs): a driver on
	// an agent can only name them by URI.
	dist, err := parseDist(c, driverBinaryName, true)
	if err != nil {
		return DriverStatus{}, err
	}
	full := conf.EncodeSubmit(c.All())
	// Secret settings stay out of the task's environment, which Mesos
	// shows on its state endpoints: the driver redeems them once from a
	// grant (grant.go).
	var public []conf.Entry
	for _, e := range c.All() {
		if !conf.IsSensitive(e.Key) {
			public = append(public, e)
		}
	}
	sub.Conf = conf.EncodeSubmit(public)

	d.mu.Lock()
	d.seq++
	id := fmt.Sprintf("driver-%s-%04d", time.Now().UTC().Format("20060102150405"), d.seq)
	d.mu.Unlock()
	path := filepath.Join(d.opts.WorkDir, id)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return DriverStatus{}, err
	}
	n, err := io.Copy(f, binary)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n == 0 {
		os.Remove(path)
		if err == nil {
			err = errors.New("the application binary is empty")
		}
		return DriverStatus{}, fmt.Errorf("storing the application binary: %w", err)
	}
	r := &driverRecord{DriverStatus: DriverStatus{ID: id, State: DriverQueued}, sub: sub, full: full, binary: path, dist: dist}
	d.mu.Lock()
	d.drivers[id] = r
	st := r.DriverStatus
	d.mu.Unlock()
	d.log.WithField("driver", id).Info("driver queued")
	d.b.updateOffers(true)
	return st, nil
}

// Status returns a submission's state.
func (d *Dispatcher) Status(id string) (DriverStatus, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.drivers[id]
	if r == nil {
		return DriverStatus{}, false
	}
	return r.DriverStatus, true
}

// Kill stops a driver and ends its supervision.
func (d *Dispatcher) Kill(id string) (DriverStatus, error) {
	d.mu.Lock()
	r := d.drivers[id]
	if r == nil {
		d.mu.Unlock()
		return DriverStatus{}, fmt.Errorf("no driver %s", id)
	}
	r.killed = true
	task, agent := r.TaskID, r.AgentID
	switch r.State {
	case DriverQueued, DriverRetrying:
		r.State, r.Message = DriverKilled, "killed before it ran"
		d.endedLocked(r)
	}
	st := r.DriverStatus
	d.mu.Unlock()
	if task != "" && (st.State == DriverLaunched || st.State == DriverRunning) {
		d.b.mu.Lock()
		caller := d.b.caller
		d.b.mu.Unlock()
		if caller == nil {
			return st, errors.New("not subscribed to Mesos: cannot kill the driver now")
		}
		if err := d.b.send(context.Background(), caller, calls.Kill(task, agent)); err != nil {
			return st, err
		}
	}
	return st, nil
}

// endedLocked removes the binary and the secret settings of a driver that
// ended for good, and forgets the oldest ended drivers beyond
// RetainedDrivers (d.mu held).
func (d *Dispatcher) endedLocked(r *driverRecord) {
	switch r.State {
	case DriverFinished, DriverFailed, DriverKilled:
	default:
		return
	}
	if r.binary == "" {
		return
	}
	if err := os.Remove(r.binary); err != nil && !os.IsNotExist(err) {
		d.log.WithField("driver", r.ID).Warnf("removing the binary of an ended driver: %v", err)
	}
	r.binary, r.full = "", ""
	d.ended = append(d.ended, r.ID)
	for len(d.ended) > d.opts.RetainedDrivers {
		delete(d.drivers, d.ended[0])
		d.ended = d.ended[1:]
	}
}

// want implements frameworkHooks: offers while a driver waits to launch.
func (d *Dispatcher) want() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.drivers {
		if r.State == DriverQueued || r.State == DriverRetrying {
			return true
		}
	}
	return false
}

// offers implements frameworkHooks: each waiting driver (oldest first)
// goes on the first offer with room for it.
func (d *Dispatcher) offers(ctx context.Context, caller calls.Caller, os []mesos.Offer) {
	now := time.Now()
	d.mu.Lock()
	var ready []*driverRecord
	for _, r := range d.drivers {
		if (r.State == DriverQueued || r.State == DriverRetrying) && !now.Before(r.nextTry) {
			ready = append(ready, r)
		}
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i].ID < ready[j].ID })
	role := d.b.set.role
	type launch struct {
		offer mesos.OfferID
		tasks []mesos.TaskInfo
	}
	var launches []launch
	var declines []mesos.OfferID
	for i := range os {
		o := &os[i]
		in := convertOffer(o)
		left := map[string]float64{}
		for _, r := range in.Resources {
			if r.Kind == offers.Scalar && (r.Role == "*" || r.Role == "" || r.Role == role) {
				left[r.Name] += r.Scalar
			}
		}
		var tasks []mesos.TaskInfo
		for len(ready) > 0 {
			r := ready[0]
			if left["cpus"]+1e-6 < r.sub.CPUs || left["mem"]+1e-6 < r.sub.MemMB {
				break
			}
			left["cpus"] -= r.sub.CPUs
			left["mem"] -= r.sub.MemMB
			ready = ready[1:]
			r.TaskID = fmt.Sprintf("%s-%d", r.ID, r.Restarts)
			r.AgentID = o.AgentID.Value
			r.State, r.Message = DriverLaunched, ""
			tasks = append(tasks, d.driverTask(r, o, in))
		}
		if len(tasks) > 0 {
			launches = append(launches, launch{o.ID, tasks})
		} else {
			declines = append(declines, o.ID)
		}
	}
	d.mu.Unlock()
	for _, l := range launches {
		c := calls.Accept(calls.OfferOperations{calls.OpLaunch(l.tasks...)}.WithOffers(l.offer)).With(calls.RefuseSeconds(time.Second))
		if err := d.b.send(ctx, caller, c); err != nil {
			d.log.WithError(err).Warn("launching drivers")
			d.mu.Lock()
			for _, t := range l.tasks {
				for _, r := range d.drivers {
					if r.TaskID == t.TaskID.Value && r.State == DriverLaunched {
						r.State = DriverQueued
					}
				}
			}
			d.mu.Unlock()
			continue
		}
		for _, t := range l.tasks {
			d.log.WithField("task", t.TaskID.Value).Infof("launching driver on agent %s", t.AgentID.Value)
		}
	}
	if len(declines) > 0 {
		if err := d.b.send(ctx, caller, calls.Decline(declines...).With(calls.RefuseSeconds(d.b.set.match.Refuse))); err != nil {
			d.log.WithError(err).Warn("declining offers")
		}
	}
	d.b.reviveOrSuppress(ctx, caller, false)
}

// driverBinaryName is the name of a driver's binary in its sandbox.
const driverBinaryName = "stoke-app"

// driverTask is the command task of one driver: the agent fetches the
// binary from the dispatcher and runs it with the driver's settings.
func (d *Dispatcher) driverTask(r *driverRecord, o *mesos.Offer, in offers.Offer) mesos.TaskInfo {
	var res []mesos.Resource
	need := map[string]float64{"cpus": r.sub.CPUs, "mem": r.sub.MemMB}
	for i, x := range in.Resources {
		if x.Kind != offers.Scalar || need[x.Name] <= 1e-9 || !(x.Role == "*" || x.Role == "" || x.Role == d.b.set.role) {
			continue
		}
		amt := min(need[x.Name], x.Scalar)
		need[x.Name] -= amt
		res = append(res, offerResources(o, []offers.Use{{Index: i, Amount: amt}})...)
	}
	yes, no, shell := true, false, false
	name := driverBinaryName
	// Each launch gets its own one-time binary URL and grant.
	uri := fmt.Sprintf("http://%s/v1/binaries/%s/%s", d.advertise, r.ID, d.grants.issue(grant{file: r.binary, owner: r.TaskID}))
	g := fmt.Sprintf("http://%s/v1/grants/%s", d.advertise, d.grants.issue(grant{env: map[string]string{conf.SubmitConfEnv: r.full}, owner: r.TaskID}))
	value := "./" + name
	env := []mesos.Environment_Variable{envVar(conf.SubmitConfEnv, r.sub.Conf), envVar(EnvGrant, g)}
	dist, archives := distURIs(r.dist, r.TaskID, nil)
	if archives != "" {
		env = append(env, envVar(EnvArchives, archives))
	}
	return mesos.TaskInfo{
		Name:      "stoke driver " + r.ID,
		TaskID:    mesos.TaskID{Value: r.TaskID},
		AgentID:   o.AgentID,
		Resources: res,
		Command: &mesos.CommandInfo{
			URIs:        append([]mesos.CommandInfo_URI{{Value: uri, Executable: &yes, Extract: &no, OutputFile: &name}}, dist...),
			Shell:       &shell,
			Value:       &value,
			Arguments:   append([]string{name}, r.sub.Args...),
			Environment: &mesos.Environment{Variables: env},
		},
	}
}

// update implements frameworkHooks: a driver's end finishes its
// submission, or (supervised, failed) schedules a relaunch.
func (d *Dispatcher) update(ctx context.Context, caller calls.Caller, st mesos.TaskStatus) {
	id := st.TaskID.Value
	d.mu.Lock()
	var r *driverRecord
	for _, x := range d.drivers {
		if x.TaskID == id {
			r = x
		}
	}
	if r == nil {
		d.mu.Unlock()
		if !terminal(st.GetState()) {
			d.log.Warnf("killing task %s: not a driver this dispatcher runs", id)
			d.b.send(ctx, caller, calls.Kill(id, st.GetAgentID().GetValue()))
		}
		return
	}
	state := st.GetState()
	msg := describe(id, "", st)
	retry := time.Duration(0)
	switch {
	case state == mesos.TASK_RUNNING:
		r.State = DriverRunning
	case !terminal(state):
	case state == mesos.TASK_FINISHED:
		r.State, r.Message = DriverFinished, ""
	case r.killed:
		r.State, r.Message = DriverKilled, msg
	case r.sub.Supervise:
		retry = min(d.opts.RetryBackoff<<min(r.Restarts, 20), d.opts.MaxBackoff)
		r.Restarts++
		r.State, r.Message = DriverRetrying, msg
		r.nextTry = time.Now().Add(retry)
	default:
		r.State, r.Message = DriverFailed, msg
	}
	newState := r.State
	d.endedLocked(r)
	d.mu.Unlock()
	if terminal(state) {
		d.grants.revoke(id)
		d.log.WithField("driver", r.ID).Infof("driver task %s ended: %s", id, newState)
	}
	if retry > 0 {
		time.AfterFunc(retry, func() { d.b.updateOffers(true) })
	}
	d.b.reviveOrSuppress(ctx, caller, false)
}

// handler serves the dispatcher API.
func (d *Dispatcher) handler() http.Handler {
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if d.opts.Secret != "" && !rpc.BearerOK(r, d.opts.Secret) {
				http.Error(w, "unauthorized: wrong or missing secret (stoke.authenticate.secret)", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /v1/submissions", auth(func(w http.ResponseWriter, r *http.Request) {
		// The binary and a small submission field; the form's overhead is
		// far under 1 MiB.
		r.Body = http.MaxBytesReader(w, r.Body, d.opts.MaxBinarySize+1<<20)
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
				http.Error(w, fmt.Sprintf("submission too large: the binary may have at most %d bytes (stoke.deploy.maxBinarySize)", d.opts.MaxBinarySize), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "malformed submission: want multipart/form-data with a submission field and a binary file: "+err.Error(), http.StatusBadRequest)
			return
		}
		var sub DriverSubmission
		if err := json.Unmarshal([]byte(r.FormValue("submission")), &sub); err != nil {
			http.Error(w, "malformed submission field: "+err.Error(), http.StatusBadRequest)
			return
		}
		f, _, err := r.FormFile("binary")
		if err != nil {
			http.Error(w, "no binary file in the submission: "+err.Error(), http.StatusBadRequest)
			return
		}
		defer f.Close()
		if fh := r.MultipartForm.File["binary"]; len(fh) > 0 && fh[0].Size > d.opts.MaxBinarySize {
			http.Error(w, fmt.Sprintf("submission too large: the binary has %d bytes, at most %d are accepted (stoke.deploy.maxBinarySize)", fh[0].Size, d.opts.MaxBinarySize), http.StatusRequestEntityTooLarge)
			return
		}
		st, err := d.Submit(sub, f)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply(w, st)
	}))
	mux.HandleFunc("GET /v1/submissions/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		st, ok := d.Status(r.PathValue("id"))
		if !ok {
			http.Error(w, "no driver "+r.PathValue("id"), http.StatusNotFound)
			return
		}
		reply(w, st)
	}))
	mux.HandleFunc("POST /v1/submissions/{id}/kill", auth(func(w http.ResponseWriter, r *http.Request) {
		st, err := d.Kill(r.PathValue("id"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		reply(w, st)
	}))
	// The agents' fetchers and the drivers cannot authenticate: each
	// launch has its own one-time tokens (grant.go).
	mux.HandleFunc("GET /v1/binaries/{id}/{token}", func(w http.ResponseWriter, r *http.Request) {
		d.grants.serveFile(w, r, r.PathValue("token"), d.log.Warnf)
	})
	mux.HandleFunc("/v1/grants/{token}", func(w http.ResponseWriter, r *http.Request) {
		d.grants.serveEnv(w, r, r.PathValue("token"), d.log.Warnf)
	})
	return mux
}

// DispatcherClient submits to a dispatcher (stoke submit --deploy-mode cluster --master mesos://dispatcher:7077).
type DispatcherClient struct {
	Addr   string
	Secret string
	HTTP   *http.Client
}

func (c *DispatcherClient) do(req *http.Request) (DriverStatus, error) {
	if c.Secret != "" {
		rpc.SetBearer(req, c.Secret)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return DriverStatus{}, fmt.Errorf("Mesos dispatcher %s: %w", c.Addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return DriverStatus{}, fmt.Errorf("Mesos dispatcher %s: %s: %s", c.Addr, resp.Status, string(body))
	}
	var st DriverStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return DriverStatus{}, fmt.Errorf("Mesos dispatcher %s: malformed answer: %w", c.Addr, err)
	}
	return st, nil
}

// Submit uploads the binary and the submission.
func (c *DispatcherClient) Submit(ctx context.Context, binary string, sub DriverSubmission) (DriverStatus, error) {
	f, err := os.Open(binary)
	if err != nil {
		return DriverStatus{}, err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := newMultipart(pw)
	go func() {
		js, _ := json.Marshal(sub)
		err := mw.field("submission", js)
		if err == nil {
			err = mw.file("binary", filepath.Base(binary), f)
		}
		if err == nil {
			err = mw.close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.Addr+"/v1/submissions", pr)
	if err != nil {
		return DriverStatus{}, err
	}
	req.Header.Set("Content-Type", mw.contentType())
	return c.do(req)
}

// Status asks for a submission's state.
func (c *DispatcherClient) Status(ctx context.Context, id string) (DriverStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.Addr+"/v1/submissions/"+id, nil)
	if err != nil {
		return DriverStatus{}, err
	}
	return c.do(req)
}

// Kill kills a driver.
func (c *DispatcherClient) Kill(ctx context.Context, id string) (DriverStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.Addr+"/v1/submissions/"+id+"/kill", nil)
	if err != nil {
		return DriverStatus{}, err
	}
	return c.do(req)
}
