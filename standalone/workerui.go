package standalone

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// WorkerStatus is the worker's /json document.
type WorkerStatus struct {
	ID        string           `json:"id"`
	Host      string           `json:"host"`
	Cores     int              `json:"cores"`
	MemoryMiB int              `json:"memoryMiB"`
	Masters   []string         `json:"masters"`
	Executors []ExecutorReport `json:"executors"`
	Drivers   []DriverReport   `json:"drivers"`
}

func (w *Worker) status() WorkerStatus {
	reg := w.registration()
	s := WorkerStatus{ID: w.id, Host: reg.Host, Cores: reg.Cores, MemoryMiB: reg.MemoryMiB, Masters: w.opts.Masters,
		Executors: append([]ExecutorReport{}, reg.Executors...), Drivers: append([]DriverReport{}, reg.Drivers...)}
	sort.Slice(s.Executors, func(i, j int) bool {
		return s.Executors[i].AppID+"/"+s.Executors[i].ExecutorID < s.Executors[j].AppID+"/"+s.Executors[j].ExecutorID
	})
	return s
}

func (w *Worker) uiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(rw http.ResponseWriter, _ *http.Request) { writeJSON(rw, w.status()) })
	mux.HandleFunc("GET /log", w.handleLog)
	mux.Handle("GET /metrics", metricsHandler(workerCollector{w}))
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = workerPage.Execute(rw, w.status())
	})
	return mux
}

// handleLog serves an executor's or driver's stdout or stderr.
func (w *Worker) handleLog(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	file := q.Get("file")
	if file == "" {
		file = "stderr"
	}
	if file != "stdout" && file != "stderr" {
		http.Error(rw, "file must be stdout or stderr", http.StatusBadRequest)
		return
	}
	parts := []string{q.Get("app"), q.Get("executor")}
	ok := ValidAppID(parts[0]) && ValidExecutorID(parts[1])
	if d := q.Get("driver"); d != "" {
		parts, ok = []string{d}, ValidDriverID(d)
	}
	if !ok {
		http.Error(rw, fmt.Sprintf("bad app, executor or driver id %s: expected ids the master makes", quoteID(strings.Join(parts, "/"))), http.StatusBadRequest)
		return
	}
	path := filepath.Join(append([]string{w.opts.WorkDir}, append(parts, file)...)...)
	f, fi, err := openLog(path)
	if err != nil {
		http.Error(rw, fmt.Sprintf("log %s/%s: %v", strings.Join(parts, "/"), file, err), http.StatusNotFound)
		return
	}
	defer f.Close()
	w.opts.HTTP.allowWrite(rw, fi.Size()) // a large log gets time to leave
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	http.ServeContent(rw, r, file, fi.ModTime(), f)
}

// openLog opens a log file without following a symbolic link: executors
// run application code as the worker's user, which could otherwise point
// its stdout at any file the worker may read and have the UI serve it.
func openLog(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, nil, errors.New("is a symbolic link; not served")
		}
		return nil, nil, errors.New("no such log")
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, errors.New("not a regular file; not served")
	}
	return f, fi, nil
}

var workerPage = template.Must(template.Must(template.New("worker").Parse(daemonStyle)).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Stoke Worker {{.ID}}</title>{{template "style"}}</head><body>
<h1>Stoke Worker {{.ID}}</h1>
<p>Address {{.Host}}, {{.Cores}} cores, {{.MemoryMiB}} MiB; masters {{range .Masters}}{{.}} {{end}}</p>
<h2>Executors</h2>
<table><tr><th>Application</th><th>Executor</th><th>Cores</th><th>Memory</th><th>State</th><th>Logs</th></tr>
{{range .Executors}}<tr><td>{{.AppID}}</td><td>{{.ExecutorID}}</td><td>{{.Cores}}</td><td>{{.MemoryMiB}} MiB</td><td>{{.State}}</td>
<td><a href="log?app={{.AppID}}&amp;executor={{.ExecutorID}}&amp;file=stdout">stdout</a> <a href="log?app={{.AppID}}&amp;executor={{.ExecutorID}}&amp;file=stderr">stderr</a></td></tr>
{{end}}</table>
<h2>Drivers</h2>
<table><tr><th>Driver</th><th>State</th><th>Restarts</th><th>Logs</th></tr>
{{range .Drivers}}<tr><td>{{.DriverID}}</td><td>{{.State}}</td><td>{{.Restarts}}</td><td><a href="log?driver={{.DriverID}}&amp;file=stderr">stderr</a></td></tr>
{{end}}</table>
</body></html>
`))
