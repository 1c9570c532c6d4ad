package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"
)

// Option configures a Server.
type Option func(*Server)

// WithLogger sets where the server logs (default: discarded).
func WithLogger(log logrus.FieldLogger) Option { return func(s *Server) { s.log = log } }

// WithDropCounter reports the event bus's dropped events as a metric
// (typically Bus.Dropped).
func WithDropCounter(f func() int64) Option { return func(s *Server) { s.drops = f } }

// WithClock sets the clock used for running durations (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithReplay serves h at /replay/ and links to it from every page
// ("replay with other settings"): the history server passes the
// simulator's page for the application's event log.
func WithReplay(h http.Handler) Option { return func(s *Server) { s.replay = h } }

// Server serves the pages, the JSON API and the metrics of one Store.
type Server struct {
	store   *Store
	log     logrus.FieldLogger
	drops   func() int64
	now     func() time.Time
	replay  http.Handler
	handler http.Handler
	// Kill buttons (WithKiller): nil killer, none.
	killer           Killer
	killSecret, csrf string
	dumper           Dumper
	unknownExec      error

	mu   sync.Mutex
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// NewServer builds the handler for store without listening; see Handler and
// Start.
func NewServer(store *Store, opts ...Option) *Server {
	s := &Server{store: store, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		l := logrus.New()
		l.Out = discardWriter{}
		s.log = l
	}
	s.handler = s.routes()
	return s
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// Handler is the server's HTTP handler (pages, /api/v1/, /metrics).
func (s *Server) Handler() http.Handler { return s.handler }

// Start serves store on host:port. If the port is taken it tries port+1,
// port+2, … up to maxRetries more times; port 0 picks any free port.
func Start(host string, port, maxRetries int, store *Store, log logrus.FieldLogger, opts ...Option) (*Server, error) {
	s := NewServer(store, append([]Option{WithLogger(log)}, opts...)...)
	if err := s.Listen(host, port, maxRetries); err != nil {
		return nil, err
	}
	return s, nil
}

// Listen binds as Start describes and serves in the background.
func (s *Server) Listen(host string, port, maxRetries int) error {
	if port < 0 || port > 65535 {
		return fmt.Errorf("ui: port %d out of range 0-65535", port)
	}
	s.mu.Lock()
	listening := s.ln != nil
	s.mu.Unlock()
	if listening {
		return errors.New("ui: the server is already listening")
	}
	if maxRetries < 0 || port == 0 {
		maxRetries = 0
	}
	var ln net.Listener
	var err error
	for i := 0; i <= maxRetries && port+i <= 65535; i++ {
		addr := net.JoinHostPort(host, strconv.Itoa(port+i))
		ln, err = net.Listen("tcp", addr)
		if err == nil {
			if i > 0 {
				s.log.WithFields(logrus.Fields{"wanted": port, "port": port + i}).Info("ui: port taken, using the next free one")
			}
			break
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("ui: listening on %s: %w", addr, err)
		}
	}
	if err != nil {
		return fmt.Errorf("ui: ports %d to %d are all taken (raise stoke.ui.port or the retry count): %w",
			port, min(port+maxRetries, 65535), err)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idleTimeout, MaxHeaderBytes: 64 << 10}
	s.mu.Lock()
	s.ln, s.srv, s.done = ln, srv, make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("ui: server stopped")
		}
	}()
	s.log.WithField("url", s.URL()).Info("ui: serving")
	return nil
}

// idleTimeout drops a kept-alive connection that sends nothing more: the
// UI's port is open to the network, and without it idle connections were
// kept forever.
var idleTimeout = 2 * time.Minute

// Addr is the address listened on ("" before Listen).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Port is the port listened on (0 before Listen).
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return 0
	}
	return s.ln.Addr().(*net.TCPAddr).Port
}

// URL is http://host:port of the listener; an unspecified host is shown as
// the loopback address.
func (s *Server) URL() string {
	addr := s.Addr()
	if addr == "" {
		return ""
	}
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Close stops listening, waiting up to 5 s for requests in flight.
func (s *Server) Close() error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = srv.Close()
	}
	<-done
	return err
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// A relative Location (http.Redirect would make it absolute), so a
		// proxy's path prefix is kept.
		w.Header().Set("Location", "jobs/")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("GET /jobs/{$}", s.jobsPage)
	mux.HandleFunc("GET /jobs/job/{$}", s.jobPage)
	mux.HandleFunc("GET /stages/{$}", s.stagesPage)
	mux.HandleFunc("GET /stages/stage/{$}", s.stagePage)
	mux.HandleFunc("GET /executors/{$}", s.executorsPage)
	mux.HandleFunc("GET /pools/{$}", s.poolsPage)
	mux.HandleFunc("GET /pools/pool/{$}", s.poolPage)
	mux.HandleFunc("GET /environment/{$}", s.environmentPage)
	mux.HandleFunc("GET /storage/{$}", s.storagePage)
	mux.HandleFunc("POST /jobs/kill/{$}", s.killJob)
	mux.HandleFunc("GET /executors/stack/{$}", s.stackDump)
	mux.HandleFunc("POST /stages/kill/{$}", s.killStage)
	if s.replay != nil {
		mux.Handle("GET /replay/{$}", s.replay)
	}

	const app = "/api/v1/applications/{appId}"
	mux.HandleFunc("GET /api/v1/applications", s.apiApplications)
	mux.HandleFunc("GET "+app, s.api(s.apiApplication))
	mux.HandleFunc("GET "+app+"/jobs", s.api(s.apiJobs))
	mux.HandleFunc("GET "+app+"/jobs/{jobId}", s.api(s.apiJob))
	mux.HandleFunc("GET "+app+"/stages", s.api(s.apiStages))
	mux.HandleFunc("GET "+app+"/stages/{stageId}", s.api(s.apiStage))
	mux.HandleFunc("GET "+app+"/stages/{stageId}/{attempt}", s.api(s.apiStageAttempt))
	mux.HandleFunc("GET "+app+"/stages/{stageId}/{attempt}/taskList", s.api(s.apiTaskList))
	mux.HandleFunc("GET "+app+"/stages/{stageId}/{attempt}/taskSummary", s.api(s.apiTaskSummary))
	mux.HandleFunc("GET /api/v1/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"spark": apiVersion()})
	})
	mux.HandleFunc("GET "+app+"/executors", s.api(s.apiExecutors(false)))
	mux.HandleFunc("GET "+app+"/allexecutors", s.api(s.apiExecutors(true)))
	mux.HandleFunc("GET "+app+"/environment", s.api(s.apiEnvironment))
	mux.HandleFunc("GET "+app+"/pools", s.api(s.apiPools))
	mux.HandleFunc("GET "+app+"/storage/rdd", s.api(s.apiStorage))
	mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such API endpoint: "+r.URL.Path)
	})

	mux.Handle("GET /metrics", promhttp.HandlerFor(newRegistry(s.store, s.drops), promhttp.HandlerOpts{}))
	return mux
}

// ---- JSON API ----

type apiError struct {
	Status int    `json:"status"`
	Error  string `json:"error"`
}

// errHTTP is an error with the status to answer it with.
type errHTTP struct {
	status int
	msg    string
}

func (e *errHTTP) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &errHTTP{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &errHTTP{http.StatusNotFound, fmt.Sprintf(format, a...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Status: status, Error: msg})
}

// api checks the application id and turns a handler's error into a JSON
// error answer.
func (s *Server) api(h func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if id := r.PathValue("appId"); id != s.store.App().ID {
			writeJSONError(w, http.StatusNotFound, fmt.Sprintf("unknown application %q", id))
			return
		}
		v, err := h(r)
		if err != nil {
			var he *errHTTP
			if errors.As(err, &he) {
				writeJSONError(w, he.status, he.msg)
				return
			}
			writeJSONError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (s *Server) apiApplications(w http.ResponseWriter, r *http.Request) {
	app := s.store.App()
	if app.ID == "" {
		writeJSON(w, http.StatusOK, []sparkApplication{})
		return
	}
	writeJSON(w, http.StatusOK, []sparkApplication{toSparkApp(app, s.now(), apiVersion())})
}

func (s *Server) apiApplication(*http.Request) (any, error) {
	return toSparkApp(s.store.App(), s.now(), apiVersion()), nil
}

func (s *Server) apiJobs(r *http.Request) (any, error) {
	status := r.URL.Query().Get("status")
	out := []sparkJob{}
	for _, j := range s.store.Jobs() {
		if status == "" || equalFold(j.Status, status) {
			out = append(out, toSparkJob(j))
		}
	}
	return out, nil
}

func (s *Server) apiJob(r *http.Request) (any, error) {
	id, err := pathInt(r, "jobId")
	if err != nil {
		return nil, err
	}
	j, ok := s.store.Job(id)
	if !ok {
		return nil, notFound("unknown job %d", id)
	}
	return toSparkJob(j), nil
}

func (s *Server) apiStages(r *http.Request) (any, error) {
	status := r.URL.Query().Get("status")
	out := []sparkStage{}
	for _, st := range s.store.Stages() {
		sp := toSparkStage(st)
		if status == "" || equalFold(sp.Status, status) || equalFold(st.Status, status) {
			out = append(out, sp)
		}
	}
	return out, nil
}

func (s *Server) apiStage(r *http.Request) (any, error) {
	id, err := pathInt(r, "stageId")
	if err != nil {
		return nil, err
	}
	as := s.store.StageAttempts(id)
	if len(as) == 0 {
		return nil, notFound("unknown stage %d", id)
	}
	out := make([]sparkStage, len(as))
	for i, st := range as {
		out[i] = toSparkStage(st)
	}
	return out, nil
}

func (s *Server) apiStageAttempt(r *http.Request) (any, error) {
	id, attempt, err := stageAttemptPath(r)
	if err != nil {
		return nil, err
	}
	st, ok := s.store.Stage(id, attempt)
	if !ok {
		return nil, notFound("unknown stage %d attempt %d", id, attempt)
	}
	return toSparkStage(st), nil
}

// maxTaskListLength bounds one taskList answer.
const maxTaskListLength = 10_000

func (s *Server) apiTaskList(r *http.Request) (any, error) {
	id, attempt, err := stageAttemptPath(r)
	if err != nil {
		return nil, err
	}
	offset, err := queryInt(r, "offset", 0, 0, 1<<31-1)
	if err != nil {
		return nil, err
	}
	length, err := queryInt(r, "length", 20, 1, maxTaskListLength)
	if err != nil {
		return nil, err
	}
	rows, ok := s.store.Tasks(id, attempt, offset, length)
	if !ok {
		return nil, notFound("unknown stage %d attempt %d", id, attempt)
	}
	out := make([]sparkTask, len(rows))
	for i, t := range rows {
		out[i] = toSparkTask(t)
	}
	return out, nil
}

// apiTaskSummary is Spark's taskSummary: quantiles of the metrics of a
// stage attempt's successful tasks (those the store still holds).
func (s *Server) apiTaskSummary(r *http.Request) (any, error) {
	id, attempt, err := stageAttemptPath(r)
	if err != nil {
		return nil, err
	}
	qs, err := parseQuantiles(r.URL.Query().Get("quantiles"))
	if err != nil {
		return nil, err
	}
	st, ok := s.store.Stage(id, attempt)
	if !ok {
		return nil, notFound("unknown stage %d attempt %d", id, attempt)
	}
	rows, _ := s.store.Tasks(id, attempt, 0, st.TaskRows)
	return taskSummary(rows, qs), nil
}

func (s *Server) apiExecutors(all bool) func(*http.Request) (any, error) {
	return func(*http.Request) (any, error) {
		es := s.store.Executors(all)
		out := make([]sparkExecutor, len(es))
		for i, e := range es {
			out[i] = toSparkExecutor(e)
		}
		return out, nil
	}
}

func (s *Server) apiEnvironment(*http.Request) (any, error) {
	// Spark's ApplicationEnvironmentInfo: [key, value] pairs; the Stoke
	// configuration in sparkProperties, where each value came from in
	// stokeSources (Stoke's own).
	env := s.store.Environment()
	out := struct {
		Runtime          map[string]string `json:"runtime"`
		SparkProperties  [][2]string       `json:"sparkProperties"`
		HadoopProperties [][2]string       `json:"hadoopProperties"`
		SystemProperties [][2]string       `json:"systemProperties"`
		ClasspathEntries [][2]string       `json:"classpathEntries"`
		StokeSources     [][2]string       `json:"stokeSources"`
	}{Runtime: map[string]string{"goVersion": goruntime.Version(), "stokeVersion": apiVersion()},
		SparkProperties: [][2]string{}, HadoopProperties: [][2]string{}, SystemProperties: [][2]string{}, ClasspathEntries: [][2]string{}, StokeSources: [][2]string{}}
	for _, p := range env.Properties {
		out.SparkProperties = append(out.SparkProperties, [2]string{p[0], p[1]})
	}
	for _, p := range env.Sources {
		out.StokeSources = append(out.StokeSources, [2]string{p[0], p[1]})
	}
	return out, nil
}

func (s *Server) apiPools(*http.Request) (any, error) {
	mode, pools := s.store.Pools()
	return struct {
		Mode  string     `json:"schedulingMode"`
		Pools []PoolInfo `json:"pools"`
	}{mode, pools}, nil
}

func pathInt(r *http.Request, name string) (int, error) {
	v := r.PathValue(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest("%s must be a non-negative integer, got %q", name, v)
	}
	return n, nil
}

// queryInt reads an optional integer query parameter within [lo, hi].
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return def, nil
	}
	v := q.Get(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s must be an integer from %d to %d, got %q", name, lo, hi, v)
	}
	return n, nil
}

// requiredInt reads a required non-negative integer query parameter.
func requiredInt(r *http.Request, name string) (int, error) {
	if !r.URL.Query().Has(name) {
		return 0, badRequest("missing query parameter %q", name)
	}
	return queryInt(r, name, 0, 0, 1<<31-1)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// apiVersion is what /api/v1/version answers: Stoke's module version.
func apiVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return "stoke " + bi.Main.Version
	}
	return "stoke (devel)"
}

// stageAttemptPath reads the {stageId} and {attempt} of a stage attempt's path.
func stageAttemptPath(r *http.Request) (id, attempt int, err error) {
	if id, err = pathInt(r, "stageId"); err != nil {
		return 0, 0, err
	}
	attempt, err = pathInt(r, "attempt")
	return id, attempt, err
}
