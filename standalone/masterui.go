package standalone

import (
	"html/template"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"time"
)

// MasterState is the master's /json document.
type MasterState struct {
	Status       string         `json:"status"` // ALIVE, STANDBY, RECOVERING
	URL          string         `json:"url"`
	RecoveryMode string         `json:"recoveryMode"`
	Cores        int            `json:"cores"`
	CoresUsed    int            `json:"coresUsed"`
	MemoryMiB    int            `json:"memoryMiB"`
	MemoryUsed   int            `json:"memoryUsedMiB"`
	Workers      []WorkerState  `json:"workers"`
	Apps         []AppState     `json:"activeApps"`
	Completed    []AppState     `json:"completedApps"`
	Drivers      []DriverStatus `json:"drivers"`
	// Warnings: problems an operator should know about (corrupt recovery state).
	Warnings []string `json:"warnings,omitempty"`
	// Insecure is true when the master runs without a cluster secret
	// (--insecure, or loopback only); Warning then says what that means.
	Insecure bool   `json:"insecure"`
	Warning  string `json:"warning,omitempty"`
	// ReverseProxy: running applications' UIs are served under
	// /proxy/<application>/ of this UI.
	ReverseProxy bool `json:"reverseProxy"`
	// HistoryURL is the history server completed applications link to
	// (stoke.deploy.historyServer.address; "" none).
	HistoryURL string `json:"historyURL,omitempty"`
}

// WorkerState describes one worker in MasterState.
type WorkerState struct {
	ID            string          `json:"id"`
	Host          string          `json:"host"`
	State         string          `json:"state"`
	Cores         int             `json:"cores"`
	CoresUsed     int             `json:"coresUsed"`
	MemoryMiB     int             `json:"memoryMiB"`
	MemoryUsed    int             `json:"memoryUsedMiB"`
	WebUIURL      string          `json:"webUIURL"`
	LastHeartbeat time.Time       `json:"lastHeartbeat"`
	Executors     []ExecutorState `json:"executors"`
}

// ExecutorState describes one executor in MasterState.
type ExecutorState struct {
	AppID     string `json:"appId"`
	ID        string `json:"id"`
	WorkerID  string `json:"workerId"`
	Cores     int    `json:"cores"`
	MemoryMiB int    `json:"memoryMiB"`
	State     string `json:"state"`
	PID       int    `json:"pid,omitempty"`
	LogURL    string `json:"logURL,omitempty"`
}

// AppState describes one application in MasterState.
type AppState struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	State          string          `json:"state"`
	Cores          int             `json:"cores"`
	MaxCores       int             `json:"maxCores"`
	MemPerExecutor int             `json:"memoryPerExecutorMiB"`
	Submitted      time.Time       `json:"submitted"`
	DriverUIURL    string          `json:"driverUIURL,omitempty"`
	Warning        string          `json:"warning,omitempty"`
	Executors      []ExecutorState `json:"executors"`
	// ExecutorLimit is the total the driver asked for
	// (RequestTotalExecutors, dynamic allocation); -1: no limit.
	ExecutorLimit int `json:"executorLimit"`
}

// State snapshots the master for /json and the UI.
func (m *Master) State() MasterState {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MasterState{Status: "ALIVE", URL: "stoke://" + m.Addr(), RecoveryMode: m.persist.mode(),
		Workers: []WorkerState{}, Apps: []AppState{}, Completed: []AppState{}, Drivers: []DriverStatus{}, ReverseProxy: m.opts.ReverseProxy, HistoryURL: m.opts.HistoryURL}
	if m.opts.Secret == "" {
		s.Insecure = true
		s.Warning = insecureWarning
		if !m.opts.Insecure {
			s.Warning = "no cluster secret: this master listens on loopback only; any local user can submit applications"
		}
	}
	switch {
	case !m.leader:
		s.Status = "STANDBY"
	case m.recovering:
		s.Status = "RECOVERING"
	}
	exec := func(e *execInfo) ExecutorState {
		es := ExecutorState{AppID: e.appID, ID: e.id, WorkerID: e.workerID, Cores: e.cores, MemoryMiB: e.mem, State: e.state, PID: e.pid}
		if w := m.workers[e.workerID]; w != nil && w.reg.WebUIURL != "" {
			es.LogURL = w.reg.WebUIURL + "/log?" + url.Values{"app": {e.appID}, "executor": {e.id}}.Encode()
		}
		return es
	}
	for _, w := range m.workers {
		ws := WorkerState{ID: w.reg.ID, Host: w.reg.Host, State: w.state, Cores: w.reg.Cores, CoresUsed: w.usedCores,
			MemoryMiB: w.reg.MemoryMiB, MemoryUsed: w.usedMem, WebUIURL: w.reg.WebUIURL, LastHeartbeat: w.lastSeen, Executors: []ExecutorState{}}
		for _, e := range w.executors {
			ws.Executors = append(ws.Executors, exec(e))
		}
		sortExecs(ws.Executors)
		if w.state == StateAlive {
			s.Cores += w.reg.Cores
			s.CoresUsed += w.usedCores
			s.MemoryMiB += w.reg.MemoryMiB
			s.MemoryUsed += w.usedMem
		}
		s.Workers = append(s.Workers, ws)
	}
	sort.Slice(s.Workers, func(i, j int) bool { return s.Workers[i].ID < s.Workers[j].ID })
	for _, a := range m.appOrder() {
		as := AppState{ID: a.desc.ID, Name: a.desc.Name, State: a.state, Cores: a.grantedCores(), MaxCores: a.desc.MaxCores,
			MemPerExecutor: a.desc.MemPerExecutor, Submitted: a.submitted, DriverUIURL: a.desc.DriverUIURL, Warning: a.warning, Executors: []ExecutorState{}, ExecutorLimit: a.limit}
		for _, e := range a.executors {
			as.Executors = append(as.Executors, exec(e))
		}
		sortExecs(as.Executors)
		if a.state == StateRunning || a.state == StateWaiting || a.state == StateUnknown {
			s.Apps = append(s.Apps, as)
		} else {
			s.Completed = append(s.Completed, as)
		}
	}
	for _, d := range m.drivers {
		s.Drivers = append(s.Drivers, d.status())
	}
	sort.Slice(s.Drivers, func(i, j int) bool { return s.Drivers[i].DriverID < s.Drivers[j].DriverID })
	s.Warnings = append(s.Warnings, m.recoveryWarnings...)
	return s
}

func sortExecs(es []ExecutorState) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].AppID != es[j].AppID {
			return es[i].AppID < es[j].AppID
		}
		return len(es[i].ID) < len(es[j].ID) || len(es[i].ID) == len(es[j].ID) && es[i].ID < es[j].ID
	})
}

func (m *Master) handleJSON(w http.ResponseWriter, _ *http.Request) { writeJSON(w, m.State()) }

func (m *Master) uiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", m.handleJSON)
	mux.Handle("GET /metrics", metricsHandler(masterCollector{m}))
	if m.opts.ReverseProxy {
		mux.HandleFunc("GET /proxy/{app}/{rest...}", m.proxyDriverUI)
		mux.HandleFunc("GET /proxy/{app}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", r.PathValue("app")+"/") // relative: keeps any prefix before the master
			w.WriteHeader(http.StatusFound)
		})
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := masterPage.Execute(w, m.State()); err != nil {
			m.log.WithError(err).Warn("rendering the master UI")
		}
	})
	return mux
}

// daemonStyle is the master's and workers' look, one for both.
const daemonStyle = `{{define "style"}}<style>body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#eee}a{text-decoration:none}</style>{{end}}`

var masterPage = template.Must(template.Must(template.New("master").Parse(daemonStyle)).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Stoke Master {{.URL}}</title>
{{template "style"}}
</head><body>
{{if .Insecure}}<div id="insecure" style="background:#c00;color:#fff;padding:8px;font-weight:bold">{{.Warning}}</div>{{end}}
<h1>Stoke Master at {{.URL}}</h1>
{{range .Warnings}}<p class="warning" style="color:#b00"><b>Warning:</b> {{.}}</p>
{{end}}<ul>
<li><b>Status:</b> {{.Status}}</li>
<li><b>Recovery mode:</b> {{.RecoveryMode}}</li>
<li><b>Workers:</b> {{len .Workers}}</li>
<li><b>Cores in use:</b> {{.CoresUsed}} of {{.Cores}}</li>
<li><b>Memory in use:</b> {{.MemoryUsed}} MiB of {{.MemoryMiB}} MiB</li>
<li><b>Applications:</b> {{len .Apps}} running, {{len .Completed}} completed</li>
<li><a href="/json">JSON state</a></li>
</ul>
<h2>Workers</h2>
<table id="workers"><tr><th>Worker</th><th>Address</th><th>State</th><th>Cores</th><th>Memory</th></tr>
{{range .Workers}}<tr><td>{{if .WebUIURL}}<a href="{{.WebUIURL}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}</td><td>{{.Host}}</td><td>{{.State}}</td><td>{{.Cores}} ({{.CoresUsed}} used)</td><td>{{.MemoryMiB}} MiB ({{.MemoryUsed}} MiB used)</td></tr>
{{end}}</table>
<h2>Running applications</h2>
<table id="apps"><tr><th>Application</th><th>Name</th><th>Cores</th><th>Memory per executor</th><th>Submitted</th><th>State</th><th>Executors</th></tr>
{{range .Apps}}<tr><td>{{if and $.ReverseProxy .DriverUIURL}}<a href="proxy/{{.ID}}/">{{.ID}}</a>{{else if .DriverUIURL}}<a href="{{.DriverUIURL}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}</td><td>{{.Name}}</td><td>{{.Cores}}{{if .MaxCores}} (max {{.MaxCores}}){{end}}</td><td>{{.MemPerExecutor}} MiB</td><td>{{.Submitted.Format "2006-01-02 15:04:05"}}</td><td>{{.State}}{{if .Warning}}: {{.Warning}}{{end}}</td>
<td>{{range .Executors}}{{.ID}}@{{.WorkerID}} ({{.Cores}} cores{{if .LogURL}}, <a href="{{.LogURL}}&amp;file=stderr">stderr</a> <a href="{{.LogURL}}&amp;file=stdout">stdout</a>{{end}})<br>{{end}}</td></tr>
{{end}}</table>
<h2>Completed applications</h2>
<table id="completed"><tr><th>Application</th><th>Name</th><th>State</th><th>Submitted</th></tr>
{{range .Completed}}<tr><td>{{if $.HistoryURL}}<a href="{{$.HistoryURL}}/history/{{.ID}}/">{{.ID}}</a>{{else}}{{.ID}}{{end}}</td><td>{{.Name}}</td><td>{{.State}}</td><td>{{.Submitted.Format "2006-01-02 15:04:05"}}</td></tr>
{{end}}</table>
<h2>Drivers</h2>
<table id="drivers"><tr><th>Submission</th><th>Worker</th><th>State</th><th>Restarts</th><th>Exit code</th></tr>
{{range .Drivers}}<tr><td>{{.DriverID}}</td><td>{{.WorkerID}}</td><td>{{.State}}</td><td>{{.Restarts}}</td><td>{{.ExitCode}}</td></tr>
{{end}}</table>
</body></html>
`))

// proxyDriverUI serves a running application's driver UI under
// /proxy/<application>/ (stoke.ui.reverseProxy), for clusters whose drivers
// users' browsers cannot reach. Only GET passes, so the proxy adds no write
// action; the UI's links are relative, so they stay under the prefix.
func (m *Master) proxyDriverUI(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("app")
	if !ValidAppID(id) {
		http.Error(w, "not an application id", http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	a := m.apps[id]
	ui := ""
	if a != nil && (a.state == StateRunning || a.state == StateWaiting) {
		ui = a.desc.DriverUIURL
	}
	m.mu.Unlock()
	if ui == "" {
		http.Error(w, "application "+id+" is not running or serves no UI", http.StatusNotFound)
		return
	}
	target, err := url.Parse(ui)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		http.Error(w, "application "+id+" registered an unusable UI address", http.StatusBadGateway)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = "/" + r.PathValue("rest")
			pr.Out.URL.RawPath = ""
			pr.Out.Host = target.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "the driver UI of "+id+" does not answer: "+err.Error(), http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
}
