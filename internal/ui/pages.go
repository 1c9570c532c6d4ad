package ui

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"
)

// pageSize is how many task rows one stage page shows.
const pageSize = 100

var pageFuncs = template.FuncMap{
	"dur": fmtDuration,
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05 MST")
	},
	"add":   func(a, b int) int { return a + b },
	"bytes": humanBytes,
	"quantileName": func(q float64) string {
		switch q {
		case 0:
			return "Min"
		case 0.5:
			return "Median"
		case 1:
			return "Max"
		}
		return fmt.Sprintf("%gth percentile", q*100)
	},
	"msDur": func(ms float64) string {
		if ms == 0 {
			return "0 ms"
		}
		return fmtDuration(time.Duration(ms) * time.Millisecond)
	},
	"fbytes": func(v float64) string { return humanBytes(int64(v)) },
	// firstLine shortens an error to its first line (at most 200 bytes):
	// the summary of a collapsed <details> holding the whole text, so a
	// failed job's stack traces do not fill the page.
	"firstLine": func(s string) string {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[:i]
		}
		if r := []rune(s); len(r) > 200 {
			s = string(r[:200]) + "…"
		}
		return s
	},
}

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.1f min", d.Minutes())
	default:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
}

const layoutTmpl = `{{define "top"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><base href="{{.Root}}"><title>{{.Title}} - {{.App.Name}}</title>
<style>
body{font-family:sans-serif;margin:1em 2em;color:#222}
nav a{margin-right:1.2em;font-weight:bold;text-decoration:none}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eee}
.err{color:#a00;white-space:pre-wrap}
summary{cursor:pointer}
.bar{display:inline-block;width:120px;height:10px;background:#ddd;margin-right:6px}
.bar span{display:block;height:10px;background:#5a5}
</style></head><body>
<nav><strong>Stoke</strong> &nbsp; <a href="jobs/">Jobs</a><a href="stages/">Stages</a><a href="pools/">Pools</a><a href="storage/">Storage</a><a href="executors/">Executors</a><a href="environment/">Environment</a>{{if .Replay}}<a href="replay/">Replay with other settings</a>{{end}}
<span>{{.App.Name}} ({{.App.ID}}){{if .App.Incomplete}} - rebuilt from an incomplete event log{{end}}</span></nav>
<h1>{{.Title}}</h1>
{{end}}
{{define "err"}}{{if .}}{{$first := firstLine .}}{{if eq $first .}}{{.}}{{else}}<details><summary>{{$first}}</summary>{{.}}</details>{{end}}{{end}}{{end}}
{{define "bottom"}}<script>
// Sortable tables: click a column's header to sort its rows, again to reverse.
document.querySelectorAll("table").forEach(function (table) {
  var head = table.rows[0];
  if (!head || table.rows.length < 3) { return; }
  Array.prototype.forEach.call(head.cells, function (th, col) {
    th.style.cursor = "pointer";
    th.title = "sort";
    th.addEventListener("click", function () {
      var rows = Array.prototype.slice.call(table.rows, 1);
      var asc = th.getAttribute("data-sort") !== "asc";
      var key = function (r) {
        var t = (r.cells[col] || {}).textContent || "";
        var n = parseFloat(t.replace(/,/g, ""));
        return isNaN(n) ? t.toLowerCase() : n;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x !== typeof y) { x = String(x); y = String(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (r) { r.parentNode.appendChild(r); });
      Array.prototype.forEach.call(head.cells, function (c) { c.removeAttribute("data-sort"); });
      th.setAttribute("data-sort", asc ? "asc" : "desc");
    });
  });
});
</script></body></html>
{{end}}
{{define "tasks"}}<span class="bar"><span style="width:{{pct .Completed .Total}}%"></span></span>{{.Completed}}/{{.Total}}{{if .Active}} ({{.Active}} running){{end}}{{if .Failed}} ({{.Failed}} failed){{end}}{{if .Killed}} ({{.Killed}} killed){{end}}{{end}}
{{define "jobtable"}}<table><tr><th>Job</th><th>Description</th><th>Pool</th><th>Submitted</th><th>Duration</th><th>Stages: done/total</th><th>Tasks</th><th>Error</th><th></th></tr>
{{range .Jobs}}<tr><td><a href="jobs/job/?id={{.ID}}">{{.ID}}</a></td><td>{{.Description}}</td><td><a href="pools/pool/?name={{.Pool}}">{{.Pool}}</a></td><td>{{ts .SubmissionTime}}</td><td>{{dur (.Duration $.Now)}}</td>
<td>{{.CompletedStages}}/{{len .StageIDs}}{{if .FailedStages}} ({{.FailedStages}} failed){{end}}{{if .SkippedStages}} ({{.SkippedStages}} skipped){{end}}</td><td>{{template "tasks" .Tasks}}</td><td class="err">{{template "err" .Error}}</td>
<td>{{if and $.CSRF (eq .Status "RUNNING")}}<form class="kill" method="post" action="jobs/kill/"><input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="token" value="{{$.CSRF}}"><button type="submit">kill</button></form>{{end}}</td></tr>
{{else}}<tr><td colspan="9">none</td></tr>{{end}}</table>{{end}}
{{define "stagetable"}}<table><tr><th>Stage</th><th>Attempt</th><th>Name</th><th>Job</th><th>Pool</th><th>Submitted</th><th>Duration</th><th>Tasks</th><th>Records in/out</th><th>Shuffle read/write</th><th>Failure</th><th></th></tr>
{{range .Stages}}<tr><td><a href="stages/stage/?id={{.ID}}&amp;attempt={{.Attempt}}">{{.ID}}</a></td><td>{{.Attempt}}</td><td>{{.Name}}</td><td><a href="jobs/job/?id={{.JobID}}">{{.JobID}}</a></td><td><a href="pools/pool/?name={{.Pool}}">{{.Pool}}</a></td><td>{{ts .SubmissionTime}}</td><td>{{dur (.Duration $.Now)}}</td>
<td>{{template "tasks" .Tasks}}</td><td>{{.RecordsIn}} / {{.RecordsOut}}</td><td>{{bytes .ShuffleRead}} / {{bytes .ShuffleWrite}}</td><td class="err">{{template "err" .Failure}}</td>
<td>{{if and $.CSRF (eq .Status "RUNNING")}}<form class="kill" method="post" action="stages/kill/"><input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="token" value="{{$.CSRF}}"><button type="submit">kill</button></form>{{end}}</td></tr>
{{else}}<tr><td colspan="12">none</td></tr>{{end}}</table>{{end}}
`

const pagesTmpl = `
{{define "jobs"}}{{template "top" .}}
<p>Scheduling mode: <strong>{{.Mode}}</strong>. Started {{ts .App.StartTime}}{{if .App.Completed}}, ended {{ts .App.EndTime}}{{with .App.EndReason}} ({{.}}){{end}}{{end}}.
Jobs: {{.Totals.JobsActive}} active, {{.Totals.JobsSucceeded}} succeeded, {{.Totals.JobsFailed}} failed. Tasks running: {{.Totals.TasksRunning}}.</p>
{{if .Timeline}}<details id="event-timeline" open><summary>Event timeline</summary>{{.Timeline}}</details>{{end}}
<h2>Active jobs ({{len .Active.Jobs}})</h2>{{template "jobtable" .Active}}
<h2>Completed jobs ({{len .Done.Jobs}})</h2>{{template "jobtable" .Done}}
<h2>Failed jobs ({{len .Failed.Jobs}})</h2>{{template "jobtable" .Failed}}
{{template "bottom"}}{{end}}

{{define "job"}}{{template "top" .}}
{{with .Job}}<p>Status: <strong>{{.Status}}</strong>. Description: {{.Description}}. Pool: <a href="pools/pool/?name={{.Pool}}">{{.Pool}}</a>.
Submitted {{ts .SubmissionTime}}, duration {{dur (.Duration $.Now)}}.</p>
<p>Tasks: {{template "tasks" .Tasks}}</p>
{{if .Error}}<div class="err">{{template "err" .Error}}</div>{{end}}{{end}}
<h2>Stages</h2>{{.DAG}}
{{template "stagetable" .Stages}}
{{template "bottom"}}{{end}}

{{define "stages"}}{{template "top" .}}
{{if eq .Mode "FAIR"}}<h2>Pools</h2><table><tr><th>Pool</th><th>Mode</th><th>Weight</th><th>Min share</th><th>Active stages</th><th>Running tasks</th></tr>
{{range .Pools}}<tr><td><a href="pools/pool/?name={{.Name}}">{{.Name}}</a></td><td>{{.Mode}}</td><td>{{.Weight}}</td><td>{{.MinShare}}</td><td>{{.ActiveStages}}</td><td>{{.RunningTasks}}</td></tr>{{end}}</table>{{end}}
<h2>Active stages ({{len .Active.Stages}})</h2>{{template "stagetable" .Active}}
<h2>Pending stages ({{len .Pending}})</h2>{{if .Pending}}<p>Stages of running jobs that wait for the shuffle output of their parent stages.</p>
<table><tr><th>Stage</th><th>Job</th></tr>{{range .Pending}}<tr><td>{{.ID}}</td><td><a href="jobs/job/?id={{.JobID}}">{{.JobID}}</a></td></tr>{{end}}</table>{{end}}
<h2>Completed stages ({{len .Done.Stages}})</h2>{{template "stagetable" .Done}}
<h2>Failed stages ({{len .Failed.Stages}})</h2>{{template "stagetable" .Failed}}
{{template "bottom"}}{{end}}

{{define "stage"}}{{template "top" .}}
{{with .Stage}}<p>Status: <strong>{{.Status}}</strong>. Job <a href="jobs/job/?id={{.JobID}}">{{.JobID}}</a>, pool <a href="pools/pool/?name={{.Pool}}">{{.Pool}}</a>.
Submitted {{ts .SubmissionTime}}, duration {{dur (.Duration $.Now)}}. Total task time {{dur .ExecutorRunTime}}.</p>
<p>Tasks: {{template "tasks" .Tasks}}. Records in/out {{.RecordsIn}}/{{.RecordsOut}}; shuffle read/write {{bytes .ShuffleRead}} / {{bytes .ShuffleWrite}}; results {{bytes .ResultBytes}}.</p>
{{if .Failure}}<div class="err">{{template "err" .Failure}}</div>{{end}}
{{if .DroppedTaskRows}}<p>{{.DroppedTaskRows}} older finished task rows were discarded to bound memory; counts above include them.</p>{{end}}{{end}}
{{if gt (len .Attempts) 1}}<p>Attempts: {{range .Attempts}}<a href="stages/stage/?id={{.ID}}&amp;attempt={{.Attempt}}">{{.Attempt}}</a> {{end}}</p>{{end}}
{{with .Summary}}{{if .Tasks}}<h2>Summary of {{.Tasks}} successful task(s)</h2>
<table id="task-summary"><tr><th>Metric</th>{{range .Quantiles}}<th>{{quantileName .}}</th>{{end}}</tr>
<tr><td>Duration</td>{{range .Duration}}<td>{{msDur .}}</td>{{end}}</tr>
<tr><td>Run time on the executor</td>{{range .ExecutorRunTime}}<td>{{msDur .}}</td>{{end}}</tr>
<tr><td>Scheduler delay</td>{{range .SchedulerDelay}}<td>{{msDur .}}</td>{{end}}</tr>
<tr><td>Records in</td>{{range .InputMetrics.RecordsRead}}<td>{{printf "%.0f" .}}</td>{{end}}</tr>
<tr><td>Records out</td>{{range .OutputMetrics.RecordsWritten}}<td>{{printf "%.0f" .}}</td>{{end}}</tr>
<tr><td>Shuffle read</td>{{range .ShuffleReadMetrics.ReadBytes}}<td>{{fbytes .}}</td>{{end}}</tr>
<tr><td>Shuffle write</td>{{range .ShuffleWriteMetrics.WriteBytes}}<td>{{fbytes .}}</td>{{end}}</tr>
<tr><td>Result size</td>{{range .ResultSize}}<td>{{fbytes .}}</td>{{end}}</tr>
<tr><td>Spilled to disk</td>{{range .DiskBytesSpilled}}<td>{{fbytes .}}</td>{{end}}</tr>
<tr><td>Peak execution memory</td>{{range .PeakExecutionMemory}}<td>{{fbytes .}}</td>{{end}}</tr></table>{{end}}{{end}}
<h2>Tasks {{if .Rows}}{{add .Offset 1}}-{{add .Offset (len .Rows)}} of {{.Stage.TaskRows}}{{end}}</h2>
<p>{{if .Prev}}<a href="stages/stage/?id={{.Stage.ID}}&amp;attempt={{.Stage.Attempt}}&amp;page={{.Prev}}">previous</a>{{end}}
{{if .Next}}<a href="stages/stage/?id={{.Stage.ID}}&amp;attempt={{.Stage.Attempt}}&amp;page={{.Next}}">next</a>{{end}}</p>
<table><tr><th>Task ID</th><th>Index</th><th>Attempt</th><th>Executor</th><th>Host</th><th>Locality</th><th>Speculative</th><th>Status</th><th>Launched</th><th>Duration</th><th>Records in/out</th><th>Reason</th></tr>
{{range .Rows}}<tr><td>{{.TaskID}}</td><td>{{.Index}}</td><td>{{.Attempt}}</td><td>{{.ExecutorID}}</td><td>{{.Host}}</td><td>{{.Locality}}</td><td>{{if .Speculative}}yes{{end}}</td><td>{{.Status}}</td><td>{{ts .LaunchTime}}</td><td>{{dur .Duration}}</td><td>{{.RecordsIn}}/{{.RecordsOut}}</td><td class="err">{{template "err" .Reason}}</td></tr>
{{else}}<tr><td colspan="12">none</td></tr>{{end}}</table>
{{template "bottom"}}{{end}}

{{define "executors"}}{{template "top" .}}
{{if .Totals.DynamicAllocation}}<p>Dynamic allocation: target <strong>{{.Totals.ExecutorTarget}}</strong> executors, {{.Totals.ExecutorsActive}} active.</p>{{end}}
<table><tr><th>Executor</th><th>Host</th><th>Status</th><th>Cores</th><th>Active tasks</th><th>Completed</th><th>Failed</th><th>Killed</th><th>Task time</th><th>Memory: resident / bound (heap, peak)</th><th>Added</th><th>Removed</th><th>Excluded</th><th>Logs</th></tr>
{{range .Executors}}<tr><td>{{.ID}}</td><td>{{.Host}}</td><td>{{if .Active}}active{{else}}dead{{end}}</td><td>{{.Cores}}</td><td>{{.ActiveTasks}}</td><td>{{.CompletedTasks}}</td><td>{{.FailedTasks}}</td><td>{{.KilledTasks}}</td><td>{{dur .TotalDuration}}</td>
<td>{{if .RSSBytes}}{{bytes .RSSBytes}}{{if .MemoryLimit}} / {{bytes .MemoryLimit}}{{end}} ({{bytes .HeapBytes}}, {{bytes .PeakRSS}}){{end}}</td>
<td>{{ts .AddTime}}{{if .AddReason}}: {{.AddReason}}{{end}}</td><td>{{if not .Active}}{{ts .RemoveTime}}: {{.RemoveReason}}{{end}}</td><td>{{if .Excluded}}{{.ExcludeScope}}: {{.ExcludeReason}}{{end}}</td><td>{{if .LogURL}}<a href="{{.LogURL}}">logs</a>{{end}}{{if and $.Stacks .Active}} <a href="executors/stack/?id={{.ID}}">stacks</a>{{end}}</td></tr>
{{else}}<tr><td colspan="14">none</td></tr>{{end}}</table>
{{template "bottom"}}{{end}}

{{define "pools"}}{{template "top" .}}
<p>Scheduling mode: <strong>{{.Mode}}</strong>.</p>
<table><tr><th>Pool</th><th>Mode</th><th>Weight</th><th>Min share</th><th>Active stages</th><th>Running tasks</th></tr>
{{range .Pools}}<tr><td><a href="pools/pool/?name={{.Name}}">{{.Name}}</a>{{if not .Declared}} (created on use){{end}}</td><td>{{.Mode}}</td><td>{{.Weight}}</td><td>{{.MinShare}}</td><td>{{.ActiveStages}}</td><td>{{.RunningTasks}}</td></tr>
{{else}}<tr><td colspan="6">none</td></tr>{{end}}</table>
{{template "bottom"}}{{end}}

{{define "pool"}}{{template "top" .}}
{{with .Pool}}<p>Mode {{.Mode}}, weight {{.Weight}}, min share {{.MinShare}}; {{.RunningTasks}} tasks running.</p>{{end}}
<h2>Active stages</h2>{{template "stagetable" .Active}}
{{template "bottom"}}{{end}}

{{define "environment"}}{{template "top" .}}
<h2>Properties</h2><table><tr><th>Name</th><th>Value</th></tr>
{{range .Env.Properties}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{else}}<tr><td colspan="2">none</td></tr>{{end}}</table>
<h2>Where values came from</h2><table><tr><th>Name</th><th>Source</th></tr>
{{range .Env.Sources}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{else}}<tr><td colspan="2">none</td></tr>{{end}}</table>
{{template "bottom"}}{{end}}

{{define "error"}}{{template "top" .}}<p class="err">{{.Message}}</p>{{template "bottom"}}{{end}}
`

var pages = template.Must(template.New("").Funcs(pageFuncs).Funcs(template.FuncMap{
	"pct": func(done, total int) int {
		if total <= 0 {
			return 0
		}
		return min(100, 100*done/total)
	},
}).Parse(layoutTmpl + pagesTmpl))

// page is what every template gets; Data holds the page's own fields.
type page struct {
	Title  string
	App    AppInfo
	Now    time.Time
	Replay bool   // the history server offers /replay/
	Root   string // relative path to the UI's root, the page's <base>
	// CSRF is the kill forms' token ("" when the UI has no kill buttons).
	CSRF string
	// Stacks: executors link to their goroutine stacks.
	Stacks bool
}

type jobList struct {
	Jobs []JobInfo
	Now  time.Time
	CSRF string // kill buttons' token, "" for none
}

type stageList struct {
	Stages []StageInfo
	Now    time.Time
	CSRF   string // kill buttons' token, "" for none
}

func (s *Server) base(r *http.Request, title string) page {
	p := page{Title: title, App: s.store.App(), Now: s.now(), Replay: s.replay != nil, Root: rootOf(r.URL.Path)}
	if s.killer != nil {
		p.CSRF = s.csrf
	}
	p.Stacks = s.dumper != nil
	return p
}

// rootOf is the relative path from a page to the UI's root ("../../" from
// /stages/stage/). Every link is relative to it (the page's <base>), so the
// UI works under any path prefix: the YARN ResourceManager's proxy
// (/proxy/<application>/), a reverse proxy, the history server.
func rootOf(path string) string {
	depth := strings.Count(path, "/") - 1
	if depth <= 0 {
		return "./"
	}
	return strings.Repeat("../", depth)
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.WithError(err).WithField("page", name).Error("ui: rendering a page")
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageError answers an error as an HTML page with its status.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var he *errHTTP
	if errors.As(err, &he) {
		status = he.status
	}
	s.render(w, status, "error", struct {
		page
		Message string
	}{s.base(r, http.StatusText(status)), err.Error()})
}

func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request) {
	p := s.base(r, "Jobs")
	var active, done, failed []JobInfo
	for _, j := range s.store.Jobs() {
		switch j.Status {
		case StatusRunning:
			active = append(active, j)
		case StatusSucceeded:
			done = append(done, j)
		default:
			failed = append(failed, j)
		}
	}
	mode, _ := s.store.Pools()
	all := s.store.Jobs()
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	s.render(w, http.StatusOK, "jobs", struct {
		page
		Mode                 string
		Totals               Totals
		Timeline             template.HTML
		Active, Done, Failed jobList
	}{p, mode, s.store.Totals(), timelineSVG(p.App, all, s.store.Executors(true), p.Now),
		jobList{active, p.Now, p.CSRF}, jobList{done, p.Now, p.CSRF}, jobList{failed, p.Now, p.CSRF}})
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	id, err := requiredInt(r, "id")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	j, ok := s.store.Job(id)
	if !ok {
		s.pageError(w, r, notFound("unknown job %d (it may have been discarded to bound memory)", id))
		return
	}
	p := s.base(r, fmt.Sprintf("Job %d", id))
	stages := s.store.StagesOfJob(id)
	s.render(w, http.StatusOK, "job", struct {
		page
		Job    JobInfo
		DAG    template.HTML
		Stages stageList
	}{p, j, dagSVG(j.StageIDs, stages), stageList{stages, p.Now, p.CSRF}})
}

func (s *Server) stagesPage(w http.ResponseWriter, r *http.Request) {
	p := s.base(r, "Stages")
	var active, done, failed []StageInfo
	for _, st := range s.store.Stages() {
		switch st.Status {
		case StatusRunning:
			active = append(active, st)
		case StatusComplete:
			done = append(done, st)
		default:
			failed = append(failed, st)
		}
	}
	// Pending: stages of running jobs not submitted yet, waiting for the
	// shuffle output of their parents.
	submitted := map[int]bool{}
	for _, st := range s.store.Stages() {
		submitted[st.ID] = true
	}
	type pendingStage struct{ ID, JobID int }
	var pending []pendingStage
	for _, j := range s.store.Jobs() {
		if j.Status != StatusRunning {
			continue
		}
		for _, id := range j.StageIDs {
			if !submitted[id] {
				pending = append(pending, pendingStage{id, j.ID})
			}
		}
	}
	mode, pools := s.store.Pools()
	s.render(w, http.StatusOK, "stages", struct {
		page
		Mode                 string
		Pools                []PoolInfo
		Active, Done, Failed stageList
		Pending              []pendingStage
	}{p, mode, pools, stageList{active, p.Now, p.CSRF}, stageList{done, p.Now, p.CSRF}, stageList{failed, p.Now, p.CSRF}, pending})
}

func (s *Server) stagePage(w http.ResponseWriter, r *http.Request) {
	id, err := requiredInt(r, "id")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	attempt, err := queryInt(r, "attempt", 0, 0, 1<<31-1)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pg, err := queryInt(r, "page", 1, 1, 1<<31-1)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	st, ok := s.store.Stage(id, attempt)
	if !ok {
		s.pageError(w, r, notFound("unknown stage %d attempt %d (it may have been discarded to bound memory)", id, attempt))
		return
	}
	if last := max(1, (st.TaskRows+pageSize-1)/pageSize); pg > last {
		s.pageError(w, r, notFound("page %d of stage %d attempt %d does not exist: its tasks fill %d page(s)", pg, id, attempt, last))
		return
	}
	offset := (pg - 1) * pageSize
	rows, _ := s.store.Tasks(id, attempt, offset, pageSize)
	prev, next := 0, 0
	if pg > 1 {
		prev = pg - 1
	}
	if offset+len(rows) < st.TaskRows {
		next = pg + 1
	}
	all, _ := s.store.Tasks(id, attempt, 0, st.TaskRows)
	s.render(w, http.StatusOK, "stage", struct {
		page
		Stage      StageInfo
		Attempts   []StageInfo
		Summary    sparkTaskSummary
		Rows       []TaskRow
		Offset     int
		Prev, Next int
	}{s.base(r, fmt.Sprintf("Stage %d (attempt %d)", id, attempt)), st, s.store.StageAttempts(id),
		taskSummary(all, []float64{0, 0.25, 0.5, 0.75, 1}), rows, offset, prev, next})
}

func (s *Server) executorsPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "executors", struct {
		page
		Executors []ExecutorInfo
		Totals    Totals
	}{s.base(r, "Executors"), s.store.Executors(true), s.store.Totals()})
}

func (s *Server) poolsPage(w http.ResponseWriter, r *http.Request) {
	mode, pools := s.store.Pools()
	s.render(w, http.StatusOK, "pools", struct {
		page
		Mode  string
		Pools []PoolInfo
	}{s.base(r, "Pools"), mode, pools})
}

func (s *Server) poolPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("name") || q.Get("name") == "" {
		s.pageError(w, r, badRequest("missing query parameter %q", "name"))
		return
	}
	name := q.Get("name")
	p, active, ok := s.store.Pool(name)
	if !ok {
		s.pageError(w, r, notFound("unknown pool %q", name))
		return
	}
	base := s.base(r, "Pool "+name)
	s.render(w, http.StatusOK, "pool", struct {
		page
		Pool   PoolInfo
		Active stageList
	}{base, p, stageList{active, base.Now, base.CSRF}})
}

func (s *Server) environmentPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "environment", struct {
		page
		Env any
	}{s.base(r, "Environment"), s.store.Environment()})
}
