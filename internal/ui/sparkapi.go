package ui

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The JSON API under /api/v1 answers in the shapes of Spark's monitoring
// REST API (ApplicationInfo, JobData, StageData, TaskData,
// ExecutorSummary, the task summary's quantiles): the same paths, field
// names, units (milliseconds, bytes) and date format, so tools written for
// Spark read Stoke. What only Stoke has sits in extra fields (pool,
// parentIds, the executor's add and remove reasons); what Stoke does not
// measure (GC time, deserialization) is 0.

// sparkTime is Spark's date format: "2026-12-04T03:04:05.678GMT".
type sparkTime time.Time

func (t sparkTime) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000") + `GMT"`), nil
}

func optTime(t time.Time) *sparkTime {
	if t.IsZero() {
		return nil
	}
	st := sparkTime(t)
	return &st
}

func millis(d time.Duration) int64 { return d.Milliseconds() }

type sparkAttempt struct {
	StartTime        *sparkTime `json:"startTime"`
	EndTime          *sparkTime `json:"endTime"`
	LastUpdated      *sparkTime `json:"lastUpdated"`
	Duration         int64      `json:"duration"`
	SparkUser        string     `json:"sparkUser"`
	Completed        bool       `json:"completed"`
	AppSparkVersion  string     `json:"appSparkVersion"`
	StartTimeEpoch   int64      `json:"startTimeEpoch"`
	EndTimeEpoch     int64      `json:"endTimeEpoch"`
	LastUpdatedEpoch int64      `json:"lastUpdatedEpoch"`
}

type sparkApplication struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Attempts []sparkAttempt `json:"attempts"`
	// Stoke's own.
	Master        string `json:"master,omitempty"`
	IncompleteLog bool   `json:"incompleteLog,omitempty"`
	EndReason     string `json:"endReason,omitempty"`
}

func toSparkApp(a AppInfo, now time.Time, version string) sparkApplication {
	end, endEpoch := a.EndTime, int64(-1)
	if !end.IsZero() {
		endEpoch = end.UnixMilli()
	}
	last := now
	if !end.IsZero() {
		last = end
	}
	return sparkApplication{ID: a.ID, Name: a.Name, Master: a.Master, IncompleteLog: a.Incomplete, EndReason: a.EndReason, Attempts: []sparkAttempt{{
		StartTime: optTime(a.StartTime), EndTime: optTime(end), LastUpdated: optTime(last),
		Duration: millis(span(a.StartTime, end, now)), SparkUser: a.User, Completed: a.Completed, AppSparkVersion: version,
		StartTimeEpoch: a.StartTime.UnixMilli(), EndTimeEpoch: endEpoch, LastUpdatedEpoch: last.UnixMilli(),
	}}}
}

type sparkJob struct {
	JobID               int        `json:"jobId"`
	Name                string     `json:"name"`
	Description         string     `json:"description,omitempty"`
	SubmissionTime      *sparkTime `json:"submissionTime"`
	CompletionTime      *sparkTime `json:"completionTime,omitempty"`
	StageIDs            []int      `json:"stageIds"`
	Status              string     `json:"status"`
	NumTasks            int        `json:"numTasks"`
	NumActiveTasks      int        `json:"numActiveTasks"`
	NumCompletedTasks   int        `json:"numCompletedTasks"`
	NumSkippedTasks     int        `json:"numSkippedTasks"`
	NumFailedTasks      int        `json:"numFailedTasks"`
	NumKilledTasks      int        `json:"numKilledTasks"`
	NumCompletedIndices int        `json:"numCompletedIndices"`
	NumActiveStages     int        `json:"numActiveStages"`
	NumCompletedStages  int        `json:"numCompletedStages"`
	NumSkippedStages    int        `json:"numSkippedStages"`
	NumFailedStages     int        `json:"numFailedStages"`
	KilledTasksSummary  struct{}   `json:"killedTasksSummary"`
	// Stoke's own.
	Pool  string `json:"pool"`
	Error string `json:"error,omitempty"`
}

func toSparkJob(j JobInfo) sparkJob {
	status := j.Status // RUNNING, SUCCEEDED, FAILED as Spark's JobExecutionStatus
	return sparkJob{JobID: j.ID, Name: j.Description, Description: j.Description, SubmissionTime: optTime(j.SubmissionTime),
		CompletionTime: optTime(j.CompletionTime), StageIDs: append([]int{}, j.StageIDs...), Status: status,
		NumTasks: j.Tasks.Total, NumActiveTasks: j.Tasks.Active, NumCompletedTasks: j.Tasks.Completed,
		NumFailedTasks: j.Tasks.Failed, NumKilledTasks: j.Tasks.Killed, NumCompletedIndices: j.Tasks.Completed,
		NumActiveStages: j.ActiveStages, NumCompletedStages: j.CompletedStages, NumSkippedStages: j.SkippedStages,
		NumFailedStages: j.FailedStages, Pool: j.Pool, Error: j.Error}
}

type sparkStage struct {
	Status              string     `json:"status"`
	StageID             int        `json:"stageId"`
	AttemptID           int        `json:"attemptId"`
	NumTasks            int        `json:"numTasks"`
	NumActiveTasks      int        `json:"numActiveTasks"`
	NumCompleteTasks    int        `json:"numCompleteTasks"`
	NumFailedTasks      int        `json:"numFailedTasks"`
	NumKilledTasks      int        `json:"numKilledTasks"`
	NumCompletedIndices int        `json:"numCompletedIndices"`
	SubmissionTime      *sparkTime `json:"submissionTime,omitempty"`
	CompletionTime      *sparkTime `json:"completionTime,omitempty"`
	FailureReason       string     `json:"failureReason,omitempty"`
	ExecutorRunTime     int64      `json:"executorRunTime"`
	ExecutorCPUTime     int64      `json:"executorCpuTime"`
	InputBytes          int64      `json:"inputBytes"`
	InputRecords        int64      `json:"inputRecords"`
	OutputBytes         int64      `json:"outputBytes"`
	OutputRecords       int64      `json:"outputRecords"`
	ShuffleReadBytes    int64      `json:"shuffleReadBytes"`
	ShuffleReadRecords  int64      `json:"shuffleReadRecords"`
	ShuffleWriteBytes   int64      `json:"shuffleWriteBytes"`
	ShuffleWriteRecords int64      `json:"shuffleWriteRecords"`
	MemoryBytesSpilled  int64      `json:"memoryBytesSpilled"`
	DiskBytesSpilled    int64      `json:"diskBytesSpilled"`
	Name                string     `json:"name"`
	Details             string     `json:"details"`
	SchedulingPool      string     `json:"schedulingPool"`
	RDDIDs              []int      `json:"rddIds"`
	AccumulatorUpdates  []struct{} `json:"accumulatorUpdates"`
	KilledTasksSummary  struct{}   `json:"killedTasksSummary"`
	ResourceProfileID   int        `json:"resourceProfileId"`
	// Stoke's own.
	JobID       int   `json:"jobId"`
	ParentIDs   []int `json:"parentIds"`
	ResultBytes int64 `json:"resultBytes"`
}

// sparkStageStatus maps Stoke's stage statuses to Spark's StageStatus.
func sparkStageStatus(s string) string {
	switch s {
	case StatusRunning:
		return "ACTIVE"
	case StatusComplete, StatusSucceeded:
		return "COMPLETE"
	}
	return s // FAILED, SKIPPED, PENDING as they are
}

func toSparkStage(s StageInfo) sparkStage {
	return sparkStage{Status: sparkStageStatus(s.Status), StageID: s.ID, AttemptID: s.Attempt, NumTasks: s.Tasks.Total,
		NumActiveTasks: s.Tasks.Active, NumCompleteTasks: s.Tasks.Completed, NumFailedTasks: s.Tasks.Failed,
		NumKilledTasks: s.Tasks.Killed, NumCompletedIndices: s.Tasks.Completed, SubmissionTime: optTime(s.SubmissionTime),
		CompletionTime: optTime(s.CompletionTime), FailureReason: s.Failure, ExecutorRunTime: millis(s.ExecutorRunTime),
		InputRecords: s.RecordsIn, OutputRecords: s.RecordsOut, ShuffleReadBytes: s.ShuffleRead, ShuffleWriteBytes: s.ShuffleWrite,
		Name: s.Name, Details: s.Name, SchedulingPool: s.Pool, RDDIDs: []int{}, AccumulatorUpdates: []struct{}{},
		JobID: s.JobID, ParentIDs: append([]int{}, s.ParentIDs...), ResultBytes: s.ResultBytes}
}

// sparkTaskMetrics is the part of Spark's TaskMetrics that Stoke measures;
// what it does not measure (bytes read from input, GC time, serialization
// times) is left out rather than reported as 0.
type sparkTaskMetrics struct {
	ExecutorRunTime     int64 `json:"executorRunTime"`
	ResultSize          int64 `json:"resultSize"`
	PeakExecutionMemory int64 `json:"peakExecutionMemory"`
	DiskBytesSpilled    int64 `json:"diskBytesSpilled"`
	InputMetrics        struct {
		RecordsRead int64 `json:"recordsRead"`
	} `json:"inputMetrics"`
	OutputMetrics struct {
		RecordsWritten int64 `json:"recordsWritten"`
	} `json:"outputMetrics"`
	ShuffleReadMetrics struct {
		ReadBytes int64 `json:"readBytes"` // local and remote: Stoke does not tell them apart
	} `json:"shuffleReadMetrics"`
	ShuffleWriteMetrics struct {
		WriteBytes int64 `json:"bytesWritten"`
	} `json:"shuffleWriteMetrics"`
}

type sparkTask struct {
	TaskID         int64            `json:"taskId"`
	Index          int              `json:"index"`
	Attempt        int              `json:"attempt"`
	PartitionID    int              `json:"partitionId"`
	LaunchTime     *sparkTime       `json:"launchTime"`
	Duration       int64            `json:"duration"`
	ExecutorID     string           `json:"executorId"`
	Host           string           `json:"host"`
	Status         string           `json:"status"`
	TaskLocality   string           `json:"taskLocality"`
	Speculative    bool             `json:"speculative"`
	ErrorMessage   string           `json:"errorMessage,omitempty"`
	TaskMetrics    sparkTaskMetrics `json:"taskMetrics"`
	ExecutorLogs   struct{}         `json:"executorLogs"`
	SchedulerDelay int64            `json:"schedulerDelay"`
}

func toSparkTask(t TaskRow) sparkTask {
	out := sparkTask{TaskID: t.TaskID, Index: t.Index, Attempt: t.Attempt, PartitionID: t.Partition, LaunchTime: optTime(t.LaunchTime),
		Duration: millis(t.Duration), ExecutorID: t.ExecutorID, Host: t.Host, Status: t.Status, TaskLocality: t.Locality,
		Speculative: t.Speculative, ErrorMessage: t.Reason}
	m := &out.TaskMetrics
	m.ExecutorRunTime, m.ResultSize, m.PeakExecutionMemory, m.DiskBytesSpilled = millis(t.RunTime), t.ResultBytes, t.PeakMemory, t.Spilled
	m.InputMetrics.RecordsRead, m.OutputMetrics.RecordsWritten = t.RecordsIn, t.RecordsOut
	m.ShuffleReadMetrics.ReadBytes, m.ShuffleWriteMetrics.WriteBytes = t.ShuffleRead, t.ShuffleWrite
	out.SchedulerDelay = millis(t.SchedulerDelay())
	return out
}

type sparkExecutor struct {
	ID                string            `json:"id"`
	HostPort          string            `json:"hostPort"`
	IsActive          bool              `json:"isActive"`
	RDDBlocks         int               `json:"rddBlocks"`
	MemoryUsed        int64             `json:"memoryUsed"`
	DiskUsed          int64             `json:"diskUsed"`
	TotalCores        int               `json:"totalCores"`
	MaxTasks          int               `json:"maxTasks"`
	ActiveTasks       int               `json:"activeTasks"`
	FailedTasks       int               `json:"failedTasks"`
	CompletedTasks    int               `json:"completedTasks"`
	TotalTasks        int               `json:"totalTasks"`
	TotalDuration     int64             `json:"totalDuration"`
	TotalGCTime       int64             `json:"totalGCTime"`
	TotalInputBytes   int64             `json:"totalInputBytes"`
	TotalShuffleRead  int64             `json:"totalShuffleRead"`
	TotalShuffleWrite int64             `json:"totalShuffleWrite"`
	IsBlacklisted     bool              `json:"isBlacklisted"`
	IsExcluded        bool              `json:"isExcluded"`
	MaxMemory         int64             `json:"maxMemory"`
	AddTime           *sparkTime        `json:"addTime"`
	RemoveTime        *sparkTime        `json:"removeTime,omitempty"`
	RemoveReason      string            `json:"removeReason,omitempty"`
	ExecutorLogs      map[string]string `json:"executorLogs"`
	// Stoke's own.
	AddReason     string `json:"addReason,omitempty"`
	ExcludeReason string `json:"excludeReason,omitempty"`
	KilledTasks   int    `json:"killedTasks"`
	RSSBytes      int64  `json:"rssBytes"`
	PeakRSSBytes  int64  `json:"peakRssBytes"`
	HeapBytes     int64  `json:"heapBytes"`
	MemoryLimit   int64  `json:"memoryLimitBytes"`
	Goroutines    int    `json:"goroutines"`
	CPUTime       int64  `json:"cpuTime"` // ms
	GCCycles      int64  `json:"gcCycles"`
}

func toSparkExecutor(e ExecutorInfo) sparkExecutor {
	logs := map[string]string{}
	if e.LogURL != "" {
		logs["stderr"] = e.LogURL
	}
	return sparkExecutor{ID: e.ID, HostPort: e.Host, IsActive: e.Active, TotalCores: e.Cores, MaxTasks: e.Cores,
		ActiveTasks: e.ActiveTasks, FailedTasks: e.FailedTasks, CompletedTasks: e.CompletedTasks,
		TotalTasks: e.ActiveTasks + e.FailedTasks + e.CompletedTasks + e.KilledTasks, TotalDuration: millis(e.TotalDuration),
		IsBlacklisted: e.Excluded, IsExcluded: e.Excluded, AddTime: optTime(e.AddTime), RemoveTime: optTime(e.RemoveTime),
		RemoveReason: e.RemoveReason, ExecutorLogs: logs, AddReason: e.AddReason, ExcludeReason: e.ExcludeReason, KilledTasks: e.KilledTasks,
		RSSBytes: e.RSSBytes, PeakRSSBytes: e.PeakRSS, HeapBytes: e.HeapBytes, MemoryLimit: e.MemoryLimit,
		// Spark's storage memory and disk are its cached blocks'; its GC
		// time is the JVM's, here the Go runtime's stop-the-world pauses.
		MemoryUsed: e.CacheMemory, DiskUsed: e.CacheDisk, MaxMemory: e.MemoryLimit, TotalGCTime: millis(e.GCPause),
		TotalShuffleRead: e.ShuffleRead, TotalShuffleWrite: e.ShuffleWrite,
		Goroutines: e.Goroutines, CPUTime: millis(e.CPUTime), GCCycles: e.GCCycles}
}

// sparkTaskSummary is Spark's TaskMetricDistributions: for each metric,
// its value at each quantile over the stage's successful tasks.
type sparkTaskSummary struct {
	Quantiles           []float64 `json:"quantiles"`
	Duration            []float64 `json:"duration"`
	ExecutorRunTime     []float64 `json:"executorRunTime"`
	SchedulerDelay      []float64 `json:"schedulerDelay"`
	ResultSize          []float64 `json:"resultSize"`
	PeakExecutionMemory []float64 `json:"peakExecutionMemory"`
	DiskBytesSpilled    []float64 `json:"diskBytesSpilled"`
	InputMetrics        struct {
		RecordsRead []float64 `json:"recordsRead"`
	} `json:"inputMetrics"`
	OutputMetrics struct {
		RecordsWritten []float64 `json:"recordsWritten"`
	} `json:"outputMetrics"`
	ShuffleReadMetrics struct {
		ReadBytes []float64 `json:"readBytes"`
	} `json:"shuffleReadMetrics"`
	ShuffleWriteMetrics struct {
		WriteBytes []float64 `json:"writeBytes"`
	} `json:"shuffleWriteMetrics"`
	// Stoke's own: how many tasks the distribution is over.
	Tasks int `json:"numTasks"`
}

// defaultQuantiles are Spark's default taskSummary quantiles.
var defaultQuantiles = []float64{0.05, 0.25, 0.5, 0.75, 0.95}

// parseQuantiles reads ?quantiles=0.05,0.5,0.95 (each in [0, 1]).
func parseQuantiles(s string) ([]float64, error) {
	if s == "" {
		return defaultQuantiles, nil
	}
	var qs []float64
	for _, f := range strings.Split(s, ",") {
		q, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || q < 0 || q > 1 || math.IsNaN(q) {
			return nil, badRequest("quantiles must be numbers in [0, 1] separated by commas, got %q", f)
		}
		qs = append(qs, q)
	}
	if len(qs) > 100 {
		return nil, badRequest("at most 100 quantiles, got %d", len(qs))
	}
	return qs, nil
}

// quantilesOf is each quantile of values (sorted here), by Spark's rule:
// the value at index min(round(q*(n-1)), n-1).
func quantilesOf(values []float64, qs []float64) []float64 {
	out := make([]float64, len(qs))
	if len(values) == 0 {
		return out
	}
	sort.Float64s(values)
	for i, q := range qs {
		idx := min(int(math.Round(q*float64(len(values)-1))), len(values)-1)
		out[i] = values[idx]
	}
	return out
}

// The summary's metrics, each a value of a successful task.
var summaryMetrics = []func(*sparkTaskSummary) (*[]float64, func(TaskRow) float64){
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.Duration, func(t TaskRow) float64 { return float64(millis(t.Duration)) }
	},
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.ExecutorRunTime, func(t TaskRow) float64 { return float64(millis(t.RunTime)) }
	},
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.SchedulerDelay, func(t TaskRow) float64 { return float64(millis(t.SchedulerDelay())) }
	},
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.ResultSize, func(t TaskRow) float64 { return float64(t.ResultBytes) }
	},
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.PeakExecutionMemory, func(t TaskRow) float64 { return float64(t.PeakMemory) }
	},
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.DiskBytesSpilled, func(t TaskRow) float64 { return float64(t.Spilled) }
	},
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.InputMetrics.RecordsRead, func(t TaskRow) float64 { return float64(t.RecordsIn) }
	},
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.OutputMetrics.RecordsWritten, func(t TaskRow) float64 { return float64(t.RecordsOut) }
	},
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.ShuffleReadMetrics.ReadBytes, func(t TaskRow) float64 { return float64(t.ShuffleRead) }
	},
	func(s *sparkTaskSummary) (*[]float64, func(TaskRow) float64) {
		return &s.ShuffleWriteMetrics.WriteBytes, func(t TaskRow) float64 { return float64(t.ShuffleWrite) }
	},
}

func taskSummary(rows []TaskRow, qs []float64) sparkTaskSummary {
	var ok []TaskRow
	for _, t := range rows {
		if t.Status == "SUCCESS" {
			ok = append(ok, t)
		}
	}
	s := sparkTaskSummary{Quantiles: qs, Tasks: len(ok)}
	values := make([]float64, len(ok))
	for _, m := range summaryMetrics {
		dst, of := m(&s)
		for i, t := range ok {
			values[i] = of(t)
		}
		*dst = quantilesOf(values, qs)
	}
	return s
}
