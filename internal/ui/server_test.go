package ui

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/events"
)

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.Out = io.Discard
	return l
}

func startServer(t *testing.T, s *Store, opts ...Option) *Server {
	t.Helper()
	srv, err := Start("127.0.0.1", 0, 0, s, quietLog(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// get fetches url without following redirects.
func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

func scenarioStore() *Store {
	s := NewStore()
	apply(s, scenario())
	return s
}

func TestPagesRender(t *testing.T) {
	srv := startServer(t, scenarioStore())
	u := srv.URL()

	code, h, _ := get(t, u+"/")
	if code != http.StatusFound || h.Get("Location") != "jobs/" {
		t.Fatalf("/ -> %d %q", code, h.Get("Location"))
	}
	for path, want := range map[string][]string{
		"/jobs/":          {"count words", "Active jobs (1)", "FAIR"},
		"/jobs/job/?id=0": {"count words", "map", "reduce"},
		"/stages/":        {"map", "reduce", "etl", "4.0 KiB / 2.6 KiB", "Pending stages (1)"}, // human units, not "2708 B"; stage 2 waits
		"/stages/stage/?id=0&attempt=0": {"PROCESS_LOCAL", "another attempt succeeded", "boom", "KILLED", "Summary of 2 successful task(s)", "<th>Median</th>", "<td>60 ms</td>",
			"<tr><td>Scheduler delay</td><td>5 ms</td>", "<tr><td>Result size</td><td>128 B</td>", "<tr><td>Shuffle write</td><td>0 B</td>"},
		"/stages/stage/?id=0":   {"PROCESS_LOCAL"},
		"/executors/":           {"heartbeat timed out", "h1", "dead"},
		"/pools/":               {"etl", "default"},
		"/pools/pool/?name=etl": {"reduce"},
		"/environment/":         {"stoke.app.name", "flag"},
	} {
		code, h, body := get(t, u+path)
		if code != http.StatusOK {
			t.Errorf("%s: status %d: %s", path, code, body)
			continue
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: content type %q", path, h.Get("Content-Type"))
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: missing %q", path, w)
			}
		}
	}
}

func TestPagesBadAndUnknownParameters(t *testing.T) {
	srv := startServer(t, scenarioStore())
	u := srv.URL()
	for path, want := range map[string]int{
		"/jobs/job/":                      400,
		"/jobs/job/?id=x":                 400,
		"/jobs/job/?id=-1":                400,
		"/jobs/job/?id=99":                404,
		"/stages/stage/?id=0&attempt=abc": 400,
		"/stages/stage/?attempt=0":        400,
		"/stages/stage/?id=0&page=0":      400,
		"/stages/stage/?id=0&page=1":      200, // the first page always exists
		"/stages/stage/?id=0&page=99":     404, // beyond the last page: not an empty table
		"/stages/stage/?id=0&attempt=7":   404,
		"/pools/pool/":                    400,
		"/pools/pool/?name=nope":          404,
		"/nowhere":                        404,
	} {
		code, _, body := get(t, u+path)
		if code != want {
			t.Errorf("%s: status %d, want %d: %s", path, code, want, body)
		}
		if want == 400 && !strings.Contains(body, "must be") && !strings.Contains(body, "missing") {
			t.Errorf("%s: unclear message: %s", path, body)
		}
	}
}

// A failed job's long error (a stack trace) is collapsed under its first
// line; a one-line error is shown as it is.
func TestLongErrorsCollapse(t *testing.T) {
	s := scenarioStore()
	s.Apply(events.JobEnd{JobID: 0, Succeeded: false, Error: "task 3 failed: index out of range\n\tat main.parse (parse.go:12)\n\tat main.main", Time: at(170)})
	srv := startServer(t, s)
	_, _, body := get(t, srv.URL()+"/jobs/")
	if !strings.Contains(body, "<details><summary>task 3 failed: index out of range</summary>task 3 failed") {
		t.Errorf("the stack trace is not collapsed under its first line:\n%s", body)
	}
	_, _, stage := get(t, srv.URL()+"/stages/stage/?id=0&attempt=0")
	if !strings.Contains(stage, ">boom<") || strings.Contains(stage, "<summary>boom") {
		t.Errorf("a one-line task error should show as it is")
	}
}

func TestPagesEscapeHostileNames(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	s := NewStore()
	apply(s, []events.Event{
		events.ApplicationStart{AppID: "app-<b>", AppName: evil},
		events.Pools{Mode: "FAIR", Pools: []events.Pool{{Name: evil}}},
		events.JobStart{JobID: 0, Description: evil, Pool: evil, StageIDs: []int{0}},
		events.StageSubmitted{StageID: 0, JobID: 0, Name: evil, NumTasks: 1, Pool: evil},
		events.ExecutorAdded{ExecutorID: evil, Host: evil, LogURL: `javascript:alert(1)`},
		events.TaskStart{StageID: 0, TaskID: 0, ExecutorID: evil, Host: evil, Locality: evil},
		events.TaskEnd{StageID: 0, TaskID: 0, ExecutorID: evil, Status: events.TaskFailed, Reason: evil},
		events.Environment{Properties: [][2]string{{evil, evil}}},
	})
	srv := startServer(t, s)
	for _, path := range []string{"/jobs/", "/jobs/job/?id=0", "/stages/", "/stages/stage/?id=0", "/executors/", "/pools/",
		"/pools/pool/?name=" + urlQuery(evil), "/environment/", "/pools/pool/?name=" + urlQuery(evil+"x")} {
		_, _, body := get(t, srv.URL()+path)
		// The page's own sorting script aside, no <script> from a name.
		if strings.Contains(body, evil) || strings.Contains(body, "<script>alert") || strings.Contains(body, "javascript:alert") {
			t.Errorf("%s: unescaped hostile text:\n%s", path, body)
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s: hostile name not shown escaped", path)
		}
	}
}

func urlQuery(s string) string {
	r := strings.NewReplacer("<", "%3C", ">", "%3E", `"`, "%22", "(", "%28", ")", "%29", "/", "%2F")
	return r.Replace(s)
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	code, h, body := get(t, url)
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("%s: content type %q", url, h.Get("Content-Type"))
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v: %s", url, err, body)
	}
	return code
}

// The JSON API decodes into types declared from Spark's monitoring REST API
// documentation (ApplicationInfo, JobData, StageData, TaskData,
// ExecutorSummary, TaskMetricDistributions), field names, units and date
// format included, so tools written for Spark read Stoke.
type sparkDate struct{ time.Time }

func (d *sparkDate) UnmarshalJSON(b []byte) error {
	t, err := time.Parse(`"2006-01-02T15:04:05.000GMT"`, string(b))
	d.Time = t
	return err
}

type specApplication struct {
	ID       *string `json:"id"`
	Name     *string `json:"name"`
	Attempts []struct {
		StartTime      *sparkDate `json:"startTime"`
		LastUpdated    *sparkDate `json:"lastUpdated"`
		Duration       *int64     `json:"duration"`
		SparkUser      *string    `json:"sparkUser"`
		Completed      *bool      `json:"completed"`
		StartTimeEpoch *int64     `json:"startTimeEpoch"`
	} `json:"attempts"`
}

type specJob struct {
	JobID              *int       `json:"jobId"`
	Name               *string    `json:"name"`
	SubmissionTime     *sparkDate `json:"submissionTime"`
	StageIDs           []int      `json:"stageIds"`
	Status             *string    `json:"status"`
	NumTasks           *int       `json:"numTasks"`
	NumActiveTasks     *int       `json:"numActiveTasks"`
	NumCompletedTasks  *int       `json:"numCompletedTasks"`
	NumFailedTasks     *int       `json:"numFailedTasks"`
	NumKilledTasks     *int       `json:"numKilledTasks"`
	NumActiveStages    *int       `json:"numActiveStages"`
	NumCompletedStages *int       `json:"numCompletedStages"`
	NumFailedStages    *int       `json:"numFailedStages"`
}

type specStage struct {
	Status            *string    `json:"status"`
	StageID           *int       `json:"stageId"`
	AttemptID         *int       `json:"attemptId"`
	NumTasks          *int       `json:"numTasks"`
	NumActiveTasks    *int       `json:"numActiveTasks"`
	NumCompleteTasks  *int       `json:"numCompleteTasks"`
	NumFailedTasks    *int       `json:"numFailedTasks"`
	SubmissionTime    *sparkDate `json:"submissionTime"`
	ExecutorRunTime   *int64     `json:"executorRunTime"`
	InputRecords      *int64     `json:"inputRecords"`
	ShuffleReadBytes  *int64     `json:"shuffleReadBytes"`
	ShuffleWriteBytes *int64     `json:"shuffleWriteBytes"`
	Name              *string    `json:"name"`
	SchedulingPool    *string    `json:"schedulingPool"`
}

type specTask struct {
	TaskID         *int64     `json:"taskId"`
	Index          *int       `json:"index"`
	Attempt        *int       `json:"attempt"`
	LaunchTime     *sparkDate `json:"launchTime"`
	Duration       *int64     `json:"duration"`
	ExecutorID     *string    `json:"executorId"`
	Host           *string    `json:"host"`
	Status         *string    `json:"status"`
	TaskLocality   *string    `json:"taskLocality"`
	Speculative    *bool      `json:"speculative"`
	SchedulerDelay *int64     `json:"schedulerDelay"`
	TaskMetrics    *struct {
		ExecutorRunTime *int64 `json:"executorRunTime"`
		ResultSize      *int64 `json:"resultSize"`
	} `json:"taskMetrics"`
}

type specExecutor struct {
	ID             *string           `json:"id"`
	HostPort       *string           `json:"hostPort"`
	IsActive       *bool             `json:"isActive"`
	TotalCores     *int              `json:"totalCores"`
	MaxTasks       *int              `json:"maxTasks"`
	ActiveTasks    *int              `json:"activeTasks"`
	CompletedTasks *int              `json:"completedTasks"`
	FailedTasks    *int              `json:"failedTasks"`
	TotalTasks     *int              `json:"totalTasks"`
	TotalDuration  *int64            `json:"totalDuration"`
	AddTime        *sparkDate        `json:"addTime"`
	ExecutorLogs   map[string]string `json:"executorLogs"`
}

type specTaskSummary struct {
	Quantiles           []float64 `json:"quantiles"`
	Duration            []float64 `json:"duration"`
	ExecutorRunTime     []float64 `json:"executorRunTime"`
	SchedulerDelay      []float64 `json:"schedulerDelay"`
	ResultSize          []float64 `json:"resultSize"`
	PeakExecutionMemory []float64 `json:"peakExecutionMemory"`
	DiskBytesSpilled    []float64 `json:"diskBytesSpilled"`
	InputMetrics        *struct {
		RecordsRead []float64 `json:"recordsRead"`
	} `json:"inputMetrics"`
	OutputMetrics *struct {
		RecordsWritten []float64 `json:"recordsWritten"`
	} `json:"outputMetrics"`
	ShuffleReadMetrics *struct {
		ReadBytes []float64 `json:"readBytes"`
	} `json:"shuffleReadMetrics"`
	ShuffleWriteMetrics *struct {
		WriteBytes []float64 `json:"writeBytes"`
	} `json:"shuffleWriteMetrics"`
}

// missing names the nil pointer and nil slice fields of v (a struct).
func missing(v any) []string {
	var out []string
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Field(i)
		if (f.Kind() == reflect.Pointer || f.Kind() == reflect.Slice || f.Kind() == reflect.Map) && f.IsNil() {
			out = append(out, rv.Type().Field(i).Tag.Get("json"))
		}
	}
	return out
}

func TestAPI(t *testing.T) {
	srv := startServer(t, scenarioStore())
	api := srv.URL() + "/api/v1/applications"

	var apps []specApplication
	if getJSON(t, api, &apps); len(apps) != 1 || *apps[0].ID != "app-1" || len(apps[0].Attempts) != 1 ||
		apps[0].Attempts[0].StartTime == nil || apps[0].Attempts[0].SparkUser == nil || apps[0].Attempts[0].Duration == nil {
		t.Fatalf("applications %+v", apps)
	}
	var jobs []specJob
	if getJSON(t, api+"/app-1/jobs", &jobs); len(jobs) != 1 || *jobs[0].NumCompletedTasks != 2 || *jobs[0].Status != "RUNNING" {
		t.Fatalf("jobs %+v", jobs)
	}
	if m := missing(jobs[0]); len(m) > 0 {
		t.Errorf("job lacks Spark's fields %v", m)
	}
	if getJSON(t, api+"/app-1/jobs?status=succeeded", &jobs); len(jobs) != 0 {
		t.Fatalf("filtered jobs %+v", jobs)
	}
	var job specJob
	if getJSON(t, api+"/app-1/jobs/0", &job); *job.Name != "count words" {
		t.Fatalf("job %+v", job)
	}
	var stages []specStage
	if getJSON(t, api+"/app-1/stages", &stages); len(stages) != 2 {
		t.Fatalf("stages %+v", stages)
	}
	for _, st := range stages {
		if m := missing(st); len(m) > 0 {
			t.Errorf("stage %d lacks Spark's fields %v", *st.StageID, m)
		}
		if s := *st.Status; s != "ACTIVE" && s != "COMPLETE" && s != "FAILED" && s != "PENDING" && s != "SKIPPED" {
			t.Errorf("stage status %q is not one of Spark's", s)
		}
	}
	if getJSON(t, api+"/app-1/stages?status=active", &stages); len(stages) != 1 {
		t.Fatalf("active stages %+v", stages)
	}
	if getJSON(t, api+"/app-1/stages/0", &stages); len(stages) != 1 || *stages[0].Name != "map" {
		t.Fatalf("stage 0 attempts %+v", stages)
	}
	var rows []specTask
	if getJSON(t, api+"/app-1/stages/0/0/taskList?offset=1&length=2", &rows); len(rows) != 2 || *rows[0].TaskID != 1 {
		t.Fatalf("task list %+v", rows)
	}
	for _, r := range rows {
		if m := missing(r); len(m) > 0 {
			t.Errorf("task %d lacks Spark's fields %v", *r.TaskID, m)
		}
	}
	// Task 2 took 60 ms, 55 of them running on its executor.
	if r := rows[1]; *r.TaskID != 2 || *r.Duration != 60 || *r.TaskMetrics.ExecutorRunTime != 55 || *r.SchedulerDelay != 5 || *r.TaskMetrics.ResultSize != 128 {
		t.Errorf("task 2: duration %d, run time %d, scheduler delay %d, result size %d; want 60, 55, 5, 128",
			*r.Duration, *r.TaskMetrics.ExecutorRunTime, *r.SchedulerDelay, *r.TaskMetrics.ResultSize)
	}
	var sum specTaskSummary
	if getJSON(t, api+"/app-1/stages/0/0/taskSummary", &sum); len(sum.Quantiles) != 5 || len(sum.Duration) != 5 || len(sum.ExecutorRunTime) != 5 {
		t.Fatalf("task summary %+v", sum)
	}
	if m := missing(sum); len(m) > 0 {
		t.Errorf("task summary lacks Spark's fields %v", m)
	}
	// Two successful tasks of 100 and 60 ms that ran 70 and 55 ms on
	// their executors: each metric's min and max come from the tasks.
	sum = specTaskSummary{}
	getJSON(t, api+"/app-1/stages/0/0/taskSummary?quantiles=0,1", &sum)
	for name, got := range map[string][]float64{
		"duration": sum.Duration, "executorRunTime": sum.ExecutorRunTime, "schedulerDelay": sum.SchedulerDelay,
		"resultSize": sum.ResultSize, "recordsRead": sum.InputMetrics.RecordsRead,
		"shuffle readBytes": sum.ShuffleReadMetrics.ReadBytes, "shuffle writeBytes": sum.ShuffleWriteMetrics.WriteBytes,
	} {
		want := map[string][]float64{"duration": {60, 100}, "executorRunTime": {55, 70}, "schedulerDelay": {5, 30},
			"resultSize": {128, 512}, "recordsRead": {0, 10}, "shuffle readBytes": {0, 4096}, "shuffle writeBytes": {0, 2708}}[name]
		if !slices.Equal(got, want) {
			t.Errorf("task summary %s min and max %v, want %v", name, got, want)
		}
	}
	var execs []specExecutor
	if getJSON(t, api+"/app-1/executors", &execs); len(execs) != 1 {
		t.Fatalf("executors %+v", execs)
	}
	if m := missing(execs[0]); len(m) > 0 {
		t.Errorf("executor lacks Spark's fields %v", m)
	}
	if getJSON(t, api+"/app-1/allexecutors", &execs); len(execs) != 2 {
		t.Fatalf("all executors %+v", execs)
	}
	var env struct {
		SparkProperties [][2]string `json:"sparkProperties"`
	}
	if getJSON(t, api+"/app-1/environment", &env); len(env.SparkProperties) != 1 || env.SparkProperties[0][1] != "wordcount" {
		t.Fatalf("environment %+v", env)
	}
	var version struct{ Spark string }
	if getJSON(t, srv.URL()+"/api/v1/version", &version); !strings.HasPrefix(version.Spark, "stoke") {
		t.Fatalf("version %+v", version)
	}
	var pools struct {
		Mode  string `json:"schedulingMode"`
		Pools []PoolInfo
	}
	if getJSON(t, api+"/app-1/pools", &pools); pools.Mode != "FAIR" || len(pools.Pools) != 2 {
		t.Fatalf("pools %+v", pools)
	}

	for path, want := range map[string]int{
		"/other/jobs":                                 404,
		"/other/stages/0":                             404,
		"/app-1/jobs/9":                               404,
		"/app-1/jobs/x":                               400,
		"/app-1/stages/9":                             404,
		"/app-1/stages/0/5/taskList":                  404,
		"/app-1/stages/0/0/taskList?length=0":         400,
		"/app-1/stages/0/0/taskList?offset=a":         400,
		"/app-1/stages/0/0/taskSummary?quantiles=2":   400,
		"/app-1/stages/0/0/taskSummary?quantiles=a,b": 400,
		"/app-1/stages/0/9/taskSummary":               404,
		"/app-1/nothing":                              404,
	} {
		var e apiError
		if code := getJSON(t, api+path, &e); code != want || e.Status != want || e.Error == "" {
			t.Errorf("%s: %d %+v, want %d", path, code, e, want)
		}
	}
}

func TestMetrics(t *testing.T) {
	s := scenarioStore()
	srv := startServer(t, s, WithDropCounter(func() int64 { return 42 }))
	_, _, body := get(t, srv.URL()+"/metrics")
	for _, want := range []string{
		`stoke_jobs_active 1`,
		`stoke_jobs_completed_total{status="failed"} 0`,
		`stoke_jobs_completed_total{status="succeeded"} 0`,
		`stoke_stages_active 1`,
		`stoke_tasks_running 0`,
		`stoke_tasks_completed_total{status="success"} 2`,
		// Histograms of the five task ends (two of no duration, then 50, 60
		// and 100 ms); one wrote 2708 bytes.
		`stoke_task_duration_seconds_bucket{le="0.01"} 2`,
		`stoke_task_duration_seconds_bucket{le="0.05"} 3`,
		`stoke_task_duration_seconds_bucket{le="0.1"} 5`,
		`stoke_task_duration_seconds_count 5`,
		`stoke_task_shuffle_write_bytes_bucket{le="1024"} 4`,
		`stoke_task_shuffle_write_bytes_bucket{le="8192"} 5`,
		`stoke_task_shuffle_write_bytes_sum 2708`,
		`stoke_tasks_completed_total{status="lost"} 1`,
		`stoke_executors_active 1`,
		`stoke_executor_removals_total 1`,
		`stoke_pool_running_tasks{pool="etl"} 0`,
		`stoke_event_bus_dropped_total 42`,
		`go_goroutines`,
		`process_cpu_seconds_total`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A second server in the same process has its own registry.
	other := startServer(t, NewStore())
	if code, _, _ := get(t, other.URL()+"/metrics"); code != 200 {
		t.Fatalf("second server metrics: %d", code)
	}
}

func TestStartTakesNextFreePort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	if port == 65535 {
		t.Skip("the kernel gave the last port; cannot test port+1")
	}
	srv, err := Start("127.0.0.1", port, 16, NewStore(), quietLog())
	if err != nil {
		// port+1 may be taken by someone else too; the retries cover that.
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.Port() <= port || srv.Port() > port+16 {
		t.Fatalf("got port %d after %d was taken", srv.Port(), port)
	}
	if srv.URL() != "http://127.0.0.1:"+strconv.Itoa(srv.Port()) {
		t.Fatalf("URL %q", srv.URL())
	}
	if code, _, _ := get(t, srv.URL()+"/jobs/"); code != 200 {
		t.Fatalf("jobs page on the next port: %d", code)
	}

	// With no retries the taken port is an error that says what to do.
	_, err = Start("127.0.0.1", port, 0, NewStore(), quietLog())
	if err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("no retries: %v", err)
	}
}

func TestCloseStopsListening(t *testing.T) {
	srv, err := Start("127.0.0.1", 0, 0, NewStore(), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	u := srv.URL()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := http.Get(u + "/jobs/"); err == nil {
		t.Fatal("still serving after Close")
	}
}

func writeLog(t *testing.T, evs []events.Event) string {
	t.Helper()
	dir := t.TempDir()
	w, err := eventlog.NewWriter(dir, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		w.OnEvent(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "app-1.jsonl")
}

func TestServeHistory(t *testing.T) {
	evs := append(scenario(), events.JobEnd{JobID: 0, Succeeded: false, Error: "lost"}, events.ApplicationEnd{Time: at(999)})
	path := writeLog(t, evs)
	s, err := ServeHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	live := NewStore()
	apply(live, evs)
	if a, b := s.Totals(), live.Totals(); a.JobsFailed != b.JobsFailed || a.Events != b.Events || a.ExecutorRemovals != b.ExecutorRemovals {
		t.Fatalf("replayed totals %+v, live %+v", a, b)
	}
	srv := startServer(t, s)
	_, _, body := get(t, srv.URL()+"/stages/stage/?id=0")
	if !strings.Contains(body, "another attempt succeeded") {
		t.Fatal("replayed stage page lacks its tasks")
	}

	// A crashed driver's log: the earlier events are kept, marked incomplete.
	data, _ := os.ReadFile(path)
	cut := filepath.Join(t.TempDir(), "crashed.jsonl.inprogress")
	os.WriteFile(cut, data[:len(data)-20], 0o644)
	s, err = ServeHistory(cut)
	if !errors.Is(err, eventlog.ErrTruncated) || s == nil || !s.App().Incomplete {
		t.Fatalf("truncated log: store %v, err %v", s, err)
	}
	if _, ok := s.Job(0); !ok {
		t.Fatal("truncated log lost its earlier events")
	}
	if _, err := ServeHistory(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing log: no error")
	}
}

func TestDynamicAllocationShowsTargetAndReasons(t *testing.T) {
	s := scenarioStore()
	srv := startServer(t, s)
	if _, _, body := get(t, srv.URL()+"/metrics"); strings.Contains(body, "stoke_executors_target") {
		t.Fatalf("target gauge without dynamic allocation:\n%s", body)
	}
	if _, _, body := get(t, srv.URL()+"/executors/"); strings.Contains(body, "Dynamic allocation") {
		t.Fatal("executors page mentions dynamic allocation without it")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	apply(s, []events.Event{
		events.ExecutorTarget{Target: 3, Reason: "backlog of 9 pending tasks needs 9 executors", Time: now},
		events.ExecutorAdded{ExecutorID: "dyn-1", Host: "h9", Cores: 1, Reason: "backlog of 9 pending tasks needs 9 executors", Time: now},
		events.ExecutorAdded{ExecutorID: "dyn-2", Host: "h9", Cores: 1, Time: now},
		events.ExecutorRemoved{ExecutorID: "dyn-2", Reason: "dynamic allocation: idle for 1m0s (timeout 1m0s)", Time: now},
		events.ExecutorTarget{Target: 2, Reason: "3 tasks need 2 executors", Time: now},
	})
	_, _, body := get(t, srv.URL()+"/metrics")
	if !strings.Contains(body, "stoke_executors_target 2") || !strings.Contains(body, "stoke_executors_active 2") {
		t.Fatalf("metrics lack the target 2 and the 2 active executors:\n%s", body)
	}
	_, _, page := get(t, srv.URL()+"/executors/")
	for _, want := range []string{"target <strong>2</strong> executors, 2 active", "backlog of 9 pending tasks needs 9 executors", "dynamic allocation: idle for 1m0s"} {
		if !strings.Contains(page, want) {
			t.Errorf("executors page lacks %q", want)
		}
	}
}
