package history

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/ui"
)

// Server is the history server: the list of applications, each
// application's UI under /history/<appId>/, and /api/v1/applications.
type Server struct {
	opts Options
	prov *provider
	now  func() time.Time
	log  logrus.FieldLogger

	mu       sync.Mutex
	lru      *list.List // of *cached, most recently used first
	byID     map[string]*list.Element
	loads    map[string]*load // UIs being built
	building chan struct{}    // bounds the UIs built at once

	stop chan struct{}
	done chan struct{}
	srv  *http.Server
}

type cached struct {
	id      string
	size    int64 // of the log it was built from
	store   *ui.Store
	handler http.Handler
}

// load is one UI being built; concurrent requests for it wait for it.
type load struct {
	done chan struct{}
	c    *cached
	err  error
}

// maxConcurrentBuilds bounds the application UIs rebuilt from their logs at
// once: requests for many different applications wait rather than hold many
// half-built stores.
const maxConcurrentBuilds = 4

// New checks the options, reads the log directory once and returns the
// server (not yet rescanning: see Run).
func New(o Options) (*Server, error) {
	if err := logDirectory(o.LogDir); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyLogDirectory, err)
	}
	if o.CleanerEnabled && o.CleanerMaxAge <= 0 {
		return nil, fmt.Errorf("%s must be positive, got %v", KeyCleanerMaxAge, o.CleanerMaxAge)
	}
	if o.RetainedApps <= 0 {
		o.RetainedApps = 50
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Log = l
	}
	fs, err := fsx.For(o.LogDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyLogDirectory, err)
	}
	fi, err := fs.Stat(o.LogDir)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w (create it, or point the key at the applications' stoke.eventLog.dir)", KeyLogDirectory, o.LogDir, err)
	}
	if !fi.IsDir {
		return nil, fmt.Errorf("%s=%s is a file, not a directory (use `stoke history FILE` to serve one log)", KeyLogDirectory, o.LogDir)
	}
	s := &Server{
		opts:     o,
		prov:     &provider{fs: fs, dir: o.LogDir, log: o.Log, apps: map[string]*App{}},
		now:      o.Now,
		log:      o.Log,
		lru:      list.New(),
		byID:     map[string]*list.Element{},
		loads:    map[string]*load{},
		building: make(chan struct{}, maxConcurrentBuilds),
	}
	if err := s.Rescan(); err != nil {
		return nil, err
	}
	return s, nil
}

// Rescan re-reads the directory: new logs are listed, grown ones re-read
// (their UIs are rebuilt on the next visit), deleted ones dropped.
func (s *Server) Rescan() error {
	stale, err := s.prov.scan()
	s.forget(stale...)
	return err
}

// Clean deletes the logs not written for longer than the cleaner's maxAge
// and returns the ids of their applications.
func (s *Server) Clean() ([]string, error) {
	removed, err := s.prov.clean(s.now().Add(-s.opts.CleanerMaxAge))
	s.forget(removed...)
	return removed, err
}

// Apps lists the applications, the most recently started first.
func (s *Server) Apps() []App { return s.prov.list() }

// Run rescans every UpdateInterval and cleans every CleanerInterval (when
// enabled) until Close.
func (s *Server) Run() {
	s.mu.Lock()
	if s.stop != nil {
		s.mu.Unlock()
		return
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	stop, done := s.stop, s.done
	s.mu.Unlock()
	go func() {
		defer close(done)
		var scan, clean <-chan time.Time
		if s.opts.UpdateInterval > 0 {
			t := time.NewTicker(s.opts.UpdateInterval)
			defer t.Stop()
			scan = t.C
		}
		if s.opts.CleanerEnabled {
			if _, err := s.Clean(); err != nil {
				s.log.WithError(err).Warn("history: cleaning the log directory")
			}
			if s.opts.CleanerInterval > 0 {
				t := time.NewTicker(s.opts.CleanerInterval)
				defer t.Stop()
				clean = t.C
			}
		}
		for {
			select {
			case <-stop:
				return
			case <-scan:
				if err := s.Rescan(); err != nil {
					s.log.WithError(err).Warn("history: rescanning the log directory")
				}
			case <-clean:
				if _, err := s.Clean(); err != nil {
					s.log.WithError(err).Warn("history: cleaning the log directory")
				}
			}
		}
	}()
}

// Close stops Run's loop.
func (s *Server) Close() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// Cached is how many application UIs are in memory.
func (s *Server) Cached() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

func (s *Server) forget(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if el := s.byID[id]; el != nil {
			s.lru.Remove(el)
			delete(s.byID, id)
		}
	}
}

// appUI returns the UI of an application, building it from its log on the
// first visit (or after its log grew) and keeping the RetainedApps most
// recently used.
func (s *Server) appUI(a App) (*cached, error) {
	s.mu.Lock()
	if el := s.byID[a.ID]; el != nil {
		c := el.Value.(*cached)
		if c.size == a.size {
			s.lru.MoveToFront(el)
			s.mu.Unlock()
			return c, nil
		}
		s.lru.Remove(el)
		delete(s.byID, a.ID)
	}
	if l := s.loads[a.ID]; l != nil {
		s.mu.Unlock()
		<-l.done
		return l.c, l.err
	}
	l := &load{done: make(chan struct{})}
	s.loads[a.ID] = l
	s.mu.Unlock()

	s.building <- struct{}{} // a bounded number of logs read at once
	l.c, l.err = s.build(a)
	<-s.building

	s.mu.Lock()
	delete(s.loads, a.ID)
	if l.err == nil {
		s.byID[a.ID] = s.lru.PushFront(l.c)
		for s.lru.Len() > s.opts.RetainedApps {
			last := s.lru.Back()
			s.lru.Remove(last)
			delete(s.byID, last.Value.(*cached).id)
		}
	}
	s.mu.Unlock()
	close(l.done)
	return l.c, l.err
}

func (s *Server) build(a App) (*cached, error) {
	store, err := ui.ServeHistory(a.path)
	if err != nil && !eventlog.Partial(err) {
		return nil, err
	}
	var opts []ui.Option
	opts = append(opts, ui.WithLogger(s.log), ui.WithClock(s.now))
	if s.opts.Replay != nil {
		if h := s.replayPage(a); h != nil {
			opts = append(opts, ui.WithReplay(h))
		}
	}
	return &cached{id: a.ID, size: a.size, store: store, handler: ui.NewServer(store, opts...).Handler()}, nil
}

func (s *Server) replayPage(a App) http.Handler {
	text, err := eventlog.Open(s.prov.fs, a.path)
	if err != nil {
		return nil
	}
	defer text.Close()
	return s.opts.Replay(text, a.ID)
}

// Handler serves the list (/), /api/v1/applications, each application's UI
// under /history/<appId>/ and its REST API under
// /api/v1/applications/<appId>/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.listPage)
	mux.HandleFunc("GET /api/v1/applications", s.apiApplications)
	mux.HandleFunc("GET /api/v1/applications/{appId}", s.apiApp)
	mux.HandleFunc("GET /api/v1/applications/{appId}/{rest...}", s.apiApp)
	mux.HandleFunc("GET /history/{appId}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.lookup(w, r, false); ok {
			http.Redirect(w, r, "/history/"+r.PathValue("appId")+"/jobs/", http.StatusFound)
		}
	})
	mux.HandleFunc("GET /history/{appId}/{rest...}", s.appPage)
	mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": 404, "error": "no such API endpoint: " + r.URL.Path})
	})
	return mux
}

// lookup validates the {appId} of a request and finds its application,
// answering the error itself when it fails.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, jsonErr bool) (App, bool) {
	id := r.PathValue("appId")
	fail := func(status int, msg string) {
		if jsonErr {
			writeJSON(w, status, map[string]any{"status": status, "error": msg})
		} else {
			http.Error(w, msg, status)
		}
	}
	if !validID(id) {
		fail(http.StatusBadRequest, fmt.Sprintf("invalid application id %q: letters, digits, '.', '_' and '-' only, at most %d characters", truncate(id, 64), maxIDLength))
		return App{}, false
	}
	a, ok := s.prov.get(id)
	if !ok {
		fail(http.StatusNotFound, fmt.Sprintf("unknown application %q (not in %s; new logs appear after the next rescan)", id, s.opts.LogDir))
		return App{}, false
	}
	return a, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (s *Server) apiApp(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r, true)
	if !ok {
		return
	}
	c, err := s.appUI(a)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"status": 500, "error": err.Error()})
		return
	}
	c.handler.ServeHTTP(w, r)
}

func (s *Server) appPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r, false)
	if !ok {
		return
	}
	c, err := s.appUI(a)
	if err != nil {
		http.Error(w, "the log of "+a.ID+" cannot be read: "+err.Error(), http.StatusInternalServerError)
		return
	}
	prefix := "/history/" + a.ID
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + r.PathValue("rest")
	r2.URL.RawPath = ""
	rw := &rewriter{header: http.Header{}, status: http.StatusOK}
	c.handler.ServeHTTP(rw, r2)
	rw.flushTo(w, prefix, a)
}

// rewriter captures an application page so that its absolute links
// (href="/jobs/") can be moved under the application's prefix.
type rewriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rw *rewriter) Header() http.Header         { return rw.header }
func (rw *rewriter) WriteHeader(status int)      { rw.status = status }
func (rw *rewriter) Write(p []byte) (int, error) { return rw.body.Write(p) }

func (rw *rewriter) flushTo(w http.ResponseWriter, prefix string, a App) {
	for k, v := range rw.header {
		w.Header()[k] = v
	}
	if loc := w.Header().Get("Location"); strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") {
		w.Header().Set("Location", prefix+loc)
	}
	body := rw.body.Bytes()
	if strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		for _, attr := range []string{`href="/`, `action="/`, `src="/`} {
			body = bytes.ReplaceAll(body, []byte(attr), []byte(attr[:len(attr)-1]+prefix+"/"))
		}
		back := `<nav><a href="/">History</a> &rsaquo; ` + template.HTMLEscapeString(a.ID) + ` &nbsp; `
		body = bytes.Replace(body, []byte("<nav>"), []byte(back), 1)
		w.Header().Del("Content-Length")
	}
	w.WriteHeader(rw.status)
	_, _ = w.Write(body)
}

// ---- list ----

// appJSON is an application in /api/v1/applications: Spark's shape (id,
// name, attempts with times in ms) plus Stoke's state.
type appJSON struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	State     string        `json:"state"`
	EndReason string        `json:"endReason,omitempty"`
	LogError  string        `json:"logError,omitempty"`
	Jobs      int           `json:"numJobs"`
	Failed    int           `json:"numFailedJobs"`
	UI        string        `json:"uiPath"`
	Attempts  []attemptJSON `json:"attempts"`
}

type attemptJSON struct {
	StartTime       string `json:"startTime,omitempty"`
	EndTime         string `json:"endTime,omitempty"`
	LastUpdated     string `json:"lastUpdated"`
	Duration        int64  `json:"duration"`
	User            string `json:"sparkUser"`
	Completed       bool   `json:"completed"`
	StartTimeEpoch  int64  `json:"startTimeEpoch"`
	EndTimeEpoch    int64  `json:"endTimeEpoch"`
	LastUpdatedEpoh int64  `json:"lastUpdatedEpoch"`
}

func sparkTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000GMT")
}

func epochMs(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixMilli()
}

func (s *Server) apiApplications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := strings.ToLower(q.Get("status"))
	if status != "" && status != "completed" && status != "running" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": 400, "error": fmt.Sprintf("status must be completed or running, got %q", q.Get("status"))})
		return
	}
	limit := -1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"status": 400, "error": fmt.Sprintf("limit must be a non-negative integer, got %q", v)})
			return
		}
		limit = n
	}
	now := s.now()
	out := []appJSON{}
	for _, a := range s.Apps() {
		completed := a.State != StateIncomplete
		if status == "completed" && !completed || status == "running" && completed {
			continue
		}
		if limit >= 0 && len(out) >= limit {
			break
		}
		out = append(out, appJSON{
			ID: a.ID, Name: a.Name, State: a.State, EndReason: a.EndReason, LogError: a.LogError,
			Jobs: a.Jobs, Failed: a.FailedJobs, UI: "/history/" + a.ID + "/jobs/",
			Attempts: []attemptJSON{{
				StartTime: sparkTime(a.StartTime), EndTime: sparkTime(a.EndTime), LastUpdated: sparkTime(a.LastUpdated),
				Duration: a.Duration(now).Milliseconds(), User: a.User, Completed: completed,
				StartTimeEpoch: epochMs(a.StartTime), EndTimeEpoch: epochMs(a.EndTime), LastUpdatedEpoh: epochMs(a.LastUpdated),
			}},
		})
	}
	writeJSON(w, http.StatusOK, out)
}

var listTemplate = template.Must(template.New("list").Funcs(template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"dur": func(d time.Duration) string {
		if d >= time.Minute {
			return d.Round(time.Second).String()
		}
		return d.Round(time.Millisecond).String()
	},
	"path": func(id string) string { return "/history/" + url.PathEscape(id) + "/jobs/" },
	"rows": func(apps []App, now time.Time) any {
		return struct {
			Apps []App
			Now  time.Time
		}{apps, now}
	},
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Stoke history server</title>
<style>body{font-family:sans-serif;margin:1em 2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
.finished{color:#2a7a2a}.failed{color:#b00}.incomplete{color:#a60}.err{color:#b00;font-size:.9em}</style></head>
<body><h1>Stoke history server</h1>
<p>Event log directory: <code>{{.Dir}}</code>. {{len .Complete}} complete, {{len .Incomplete}} incomplete application(s). JSON: <a href="/api/v1/applications">/api/v1/applications</a>.</p>
{{define "table"}}<table><tr><th>App ID</th><th>Name</th><th>User</th><th>Started</th><th>Ended</th><th>Duration</th><th>State</th><th>Jobs</th><th>Last updated</th></tr>
{{range .Apps}}<tr><td><a href="{{path .ID}}">{{.ID}}</a></td><td>{{.Name}}</td><td>{{.User}}</td><td>{{ts .StartTime}}</td><td>{{ts .EndTime}}</td><td>{{dur (.Duration $.Now)}}</td>
<td class="{{.State}}">{{.State}}{{if .EndReason}}: {{.EndReason}}{{end}}{{if .InProgress}} (running){{end}}{{if .LogError}}<div class="err">{{.LogError}}</div>{{end}}</td><td>{{.Jobs}}{{if .FailedJobs}} ({{.FailedJobs}} failed){{end}}</td><td>{{ts .LastUpdated}}</td></tr>
{{end}}</table>{{end}}
<h2 id="complete">Complete applications</h2>
{{if .Complete}}{{template "table" (rows .Complete .Now)}}{{else}}<p>None.</p>{{end}}
<h2 id="incomplete">Incomplete applications</h2>
{{if .Incomplete}}{{template "table" (rows .Incomplete .Now)}}{{else}}<p>None.</p>{{end}}
</body></html>
`))

func (s *Server) listPage(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Dir                  string
		Complete, Incomplete []App
		Now                  time.Time
	}{Dir: s.opts.LogDir, Now: s.now()}
	for _, a := range s.Apps() {
		if a.State == StateIncomplete {
			data.Incomplete = append(data.Incomplete, a)
		} else {
			data.Complete = append(data.Complete, a)
		}
	}
	var buf bytes.Buffer
	if err := listTemplate.Execute(&buf, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Listen serves Handler on host:port in the background, trying the next
// ports when it is taken (up to maxRetries more; port 0 picks a free one).
// It returns the address listened on; Shutdown stops serving.
func (s *Server) Listen(host string, port, maxRetries int) (string, error) {
	if port < 0 || port > 65535 {
		return "", fmt.Errorf("%s must be a port number from 0 to 65535, got %d", KeyUIPort, port)
	}
	if port == 0 || maxRetries < 0 {
		maxRetries = 0
	}
	var ln net.Listener
	var err error
	for i := 0; i <= maxRetries && port+i <= 65535; i++ {
		ln, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port+i)))
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("history: listening on %s port %d: %w", host, port, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("history: server stopped")
		}
	}()
	return ln.Addr().String(), nil
}

// Shutdown stops Run's loop and the HTTP server of Listen, waiting up to 5 s
// for requests in flight.
func (s *Server) Shutdown() {
	s.Close()
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
}
