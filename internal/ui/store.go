package ui

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/stoke-run/stoke/internal/events"
)

// Status values of jobs, stages and running tasks (finished tasks carry the
// TaskEnd status: SUCCESS, FAILED, KILLED, FETCH_FAILED, LOST).
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusComplete  = "COMPLETE"
	StatusSkipped   = "SKIPPED"
)

// Limits bound the store's memory. Counters (jobs succeeded, tasks by status,
// per-job and per-stage task counts) are never trimmed; only the retained
// detail is.
type Limits struct {
	// FinishedJobs is how many finished jobs are kept (oldest finished dropped first).
	FinishedJobs int
	// FinishedStages is how many finished stage attempts are kept.
	FinishedStages int
	// TasksPerStage is how many task rows one stage attempt keeps; past it,
	// the oldest finished rows are dropped (running ones are always kept).
	TasksPerStage int
	// TotalTasks bounds task rows across all stages; past it, the rows of the
	// oldest finished stages are dropped (their counts stay).
	TotalTasks int
	// DeadExecutors is how many removed executors are kept.
	DeadExecutors int
}

// DefaultLimits keep about 1,000 finished jobs and stages and at most
// 100,000 task rows per stage and 500,000 in all (roughly 100 MB of rows).
var DefaultLimits = Limits{
	FinishedJobs:   1000,
	FinishedStages: 1000,
	TasksPerStage:  100_000,
	TotalTasks:     500_000,
	DeadExecutors:  1000,
}

// AppInfo describes the application.
type AppInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	User      string    `json:"user"`
	Master    string    `json:"master"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime,omitzero"`
	Completed bool      `json:"completed"`
	// Incomplete is set when the UI was rebuilt from a log that ends early.
	Incomplete bool `json:"incompleteLog,omitempty"`
	// EndReason is why the application ended early (a signal).
	EndReason string `json:"endReason,omitempty"`
}

// TaskCounts are the tasks of a job or stage by state.
type TaskCounts struct {
	Total     int `json:"numTasks"`
	Active    int `json:"numActiveTasks"`
	Completed int `json:"numCompletedTasks"`
	Failed    int `json:"numFailedTasks"`
	Killed    int `json:"numKilledTasks"`
}

// JobInfo is one job.
type JobInfo struct {
	ID              int        `json:"jobId"`
	Description     string     `json:"description"`
	Pool            string     `json:"pool"`
	Status          string     `json:"status"`
	StageIDs        []int      `json:"stageIds"`
	SubmissionTime  time.Time  `json:"submissionTime"`
	CompletionTime  time.Time  `json:"completionTime,omitzero"`
	Error           string     `json:"error,omitempty"`
	Tasks           TaskCounts `json:"tasks"`
	ActiveStages    int        `json:"numActiveStages"`
	CompletedStages int        `json:"numCompletedStages"`
	FailedStages    int        `json:"numFailedStages"`
	SkippedStages   int        `json:"numSkippedStages"`
}

// Duration is how long the job ran (so far, if running).
func (j JobInfo) Duration(now time.Time) time.Duration {
	return span(j.SubmissionTime, j.CompletionTime, now)
}

// StageInfo is one attempt of one stage.
type StageInfo struct {
	ID             int        `json:"stageId"`
	Attempt        int        `json:"attemptId"`
	JobID          int        `json:"jobId"`
	Name           string     `json:"name"`
	Pool           string     `json:"pool"`
	Status         string     `json:"status"`
	ParentIDs      []int      `json:"parentIds"`
	SubmissionTime time.Time  `json:"submissionTime"`
	CompletionTime time.Time  `json:"completionTime,omitzero"`
	Failure        string     `json:"failureReason,omitempty"`
	Tasks          TaskCounts `json:"tasks"`
	// Task totals over finished tasks.
	ExecutorRunTime time.Duration `json:"executorRunTimeNs"`
	RecordsIn       int64         `json:"inputRecords"`
	RecordsOut      int64         `json:"outputRecords"`
	ShuffleRead     int64         `json:"shuffleReadBytes"`
	ShuffleWrite    int64         `json:"shuffleWriteBytes"`
	ResultBytes     int64         `json:"resultBytes"`
	// TaskRows is how many task rows are retained; DroppedTaskRows how many
	// were discarded to bound memory.
	TaskRows        int `json:"numTaskRows"`
	DroppedTaskRows int `json:"numDroppedTaskRows"`
}

// Duration is how long the stage attempt ran (so far, if running).
func (s StageInfo) Duration(now time.Time) time.Duration {
	return span(s.SubmissionTime, s.CompletionTime, now)
}

// TaskRow is one task attempt.
type TaskRow struct {
	TaskID      int64         `json:"taskId"`
	Index       int           `json:"index"`
	Partition   int           `json:"partition"`
	Attempt     int           `json:"attempt"`
	ExecutorID  string        `json:"executorId"`
	Host        string        `json:"host"`
	Locality    string        `json:"taskLocality"`
	Speculative bool          `json:"speculative"`
	Status      string        `json:"status"`
	LaunchTime  time.Time     `json:"launchTime"`
	Duration    time.Duration `json:"durationNs"`
	Reason      string        `json:"errorMessage,omitempty"`
	RecordsIn   int64         `json:"inputRecords"`
	RecordsOut  int64         `json:"outputRecords"`
	// Of finished attempts that reported metrics.
	RunTime      time.Duration `json:"runTimeNs,omitempty"`
	ResultBytes  int64         `json:"resultBytes,omitempty"`
	ShuffleRead  int64         `json:"shuffleReadBytes,omitempty"`
	ShuffleWrite int64         `json:"shuffleWriteBytes,omitempty"`
	Spilled      int64         `json:"spilledBytes,omitempty"`
	PeakMemory   int64         `json:"peakExecutionMemory,omitempty"`
}

// SchedulerDelay is the part of the attempt's duration the executor did
// not spend running it (Spark's schedulerDelay).
func (r TaskRow) SchedulerDelay() time.Duration {
	if r.RunTime <= 0 || r.RunTime > r.Duration {
		return 0
	}
	return r.Duration - r.RunTime
}

// ExecutorInfo is one executor.
type ExecutorInfo struct {
	ID             string        `json:"id"`
	Host           string        `json:"host"`
	Cores          int           `json:"totalCores"`
	LogURL         string        `json:"logUrl,omitempty"`
	Active         bool          `json:"isActive"`
	AddTime        time.Time     `json:"addTime,omitzero"`
	RemoveTime     time.Time     `json:"removeTime,omitzero"`
	AddReason      string        `json:"addReason,omitempty"`
	RemoveReason   string        `json:"removeReason,omitempty"`
	Excluded       bool          `json:"isExcluded"`
	ExcludeScope   string        `json:"excludeScope,omitempty"`
	ExcludeReason  string        `json:"excludeReason,omitempty"`
	ActiveTasks    int           `json:"activeTasks"`
	CompletedTasks int           `json:"completedTasks"`
	FailedTasks    int           `json:"failedTasks"`
	KilledTasks    int           `json:"killedTasks"`
	TotalDuration  time.Duration `json:"totalDurationNs"`
	ShuffleRead    int64         `json:"shuffleReadBytes"`
	ShuffleWrite   int64         `json:"shuffleWriteBytes"`
	// From the executor's latest heartbeat (0 before the first).
	events.ProcessMetrics
	PeakRSS    int64 `json:"peakRssBytes"`
	Heartbeats int64 `json:"heartbeats"`
}

// PoolInfo is one scheduler pool.
type PoolInfo struct {
	Name         string `json:"name"`
	Mode         string `json:"schedulingMode"`
	Weight       int    `json:"weight"`
	MinShare     int    `json:"minShare"`
	ActiveStages int    `json:"numActiveStages"`
	RunningTasks int    `json:"numRunningTasks"`
	// Declared is false for pools first seen on a job or stage rather than
	// in a Pools event.
	Declared bool `json:"declared"`
}

// Totals are application-wide counters, never trimmed.
type Totals struct {
	JobsActive       int              `json:"jobsActive"`
	JobsSucceeded    int              `json:"jobsSucceeded"`
	JobsFailed       int              `json:"jobsFailed"`
	StagesActive     int              `json:"stagesActive"`
	StagesCompleted  int              `json:"stagesCompleted"`
	StagesFailed     int              `json:"stagesFailed"`
	TasksRunning     int              `json:"tasksRunning"`
	TasksEnded       map[string]int64 `json:"tasksEnded"` // by TaskEnd status
	ExecutorsActive  int              `json:"executorsActive"`
	ExecutorRemovals int              `json:"executorRemovals"`
	// ExecutorTarget is dynamic allocation's latest target, when
	// DynamicAllocation is set (it posted one).
	ExecutorTarget    int   `json:"executorTarget"`
	DynamicAllocation bool  `json:"dynamicAllocation"`
	Events            int64 `json:"events"`
}

type stageKey struct{ id, attempt int }

type job struct {
	JobInfo
	submitted map[int]bool // stage ids submitted for this job
}

type stage struct {
	StageInfo
	job     *job
	pool    *pool
	rows    []TaskRow
	running map[int64]int32 // task id -> index in rows, for running tasks
	done    bool
}

type executor struct{ ExecutorInfo }

type pool struct{ PoolInfo }

// statusSlots fixes an order for per-status counters so the hot path needs
// no map writes.
var statusSlots = []string{events.TaskSuccess, events.TaskFailed, events.TaskKilled, events.TaskFetchFailed, events.TaskLost}

// Store is the application's status, built from events. It is an
// events.Listener and safe for concurrent readers while events are applied.
type Store struct {
	limits Limits

	mu       sync.RWMutex
	app      AppInfo
	env      events.Environment
	mode     string
	pools    map[string]*pool
	jobs     map[int]*job
	stages   map[stageKey]*stage
	attempts map[int][]*stage // by stage id, in attempt order
	execs    map[string]*executor
	storage  storage // cached datasets (storage.go)

	finishedJobs   []int // job ids in finishing order
	finishedStages []stageKey
	deadExecs      []string
	rowsTotal      int
	trimmed        int // finishedStages[:trimmed] have had their finished rows dropped

	totals Totals
	ended  [6]int64 // by statusSlots index; last slot: other statuses
	// Per finished task: its duration and its shuffle bytes, for /metrics.
	durHist, readHist, writeHist *histogram
	endedOther                   map[string]int64
	lastStage                    *stage // cache for the hot path
	lastStageID                  stageKey
}

var _ events.Listener = (*Store)(nil)

// NewStore returns an empty store with DefaultLimits.
func NewStore() *Store { return NewStoreWithLimits(DefaultLimits) }

// NewStoreWithLimits returns an empty store; zero fields take the default.
func NewStoreWithLimits(l Limits) *Store {
	d := DefaultLimits
	if l.FinishedJobs <= 0 {
		l.FinishedJobs = d.FinishedJobs
	}
	if l.FinishedStages <= 0 {
		l.FinishedStages = d.FinishedStages
	}
	if l.TasksPerStage <= 0 {
		l.TasksPerStage = d.TasksPerStage
	}
	if l.TotalTasks <= 0 {
		l.TotalTasks = d.TotalTasks
	}
	if l.DeadExecutors <= 0 {
		l.DeadExecutors = d.DeadExecutors
	}
	return &Store{
		limits:     l,
		mode:       "FIFO",
		pools:      map[string]*pool{},
		jobs:       map[int]*job{},
		stages:     map[stageKey]*stage{},
		attempts:   map[int][]*stage{},
		execs:      map[string]*executor{},
		endedOther: map[string]int64{},
	}
}

// OnEvent applies e.
func (s *Store) OnEvent(e events.Event) { s.Apply(e) }

// Apply updates the store with one event.
func (s *Store) Apply(e events.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.totals.Events++
	switch e := e.(type) {
	case events.TaskStart:
		s.taskStart(&e)
	case *events.TaskStart:
		s.taskStart(e)
	case events.ExecutorMetrics:
		if x := s.execs[e.ExecutorID]; x != nil {
			x.ProcessMetrics = e.ProcessMetrics
			x.PeakRSS = max(x.PeakRSS, e.RSSBytes)
			x.Heartbeats++
		}
	case events.TaskEnd:
		s.taskEnd(&e)
	case *events.TaskEnd:
		s.taskEnd(e)
	case events.ApplicationStart:
		s.app.ID, s.app.Name, s.app.User, s.app.Master, s.app.StartTime = e.AppID, e.AppName, e.User, e.Master, e.Time
	case events.ApplicationEnd:
		s.app.EndTime, s.app.Completed, s.app.EndReason = e.Time, true, e.Reason
	case events.Environment:
		s.env = e
	case events.Pools:
		s.setPools(e)
	case events.JobStart:
		s.jobStart(e)
	case events.JobEnd:
		s.jobEnd(e)
	case events.StageSubmitted:
		s.stageSubmitted(e)
	case events.StageCompleted:
		s.stageCompleted(e)
	case events.ExecutorAdded:
		s.executorAdded(e)
	case events.ExecutorRemoved:
		s.executorRemoved(e)
		s.storage.executorRemoved(e.ExecutorID)
	case events.RDDPersisted:
		s.storage.persisted(e)
	case events.RDDUnpersisted:
		s.storage.unpersisted(e.RDDID)
	case events.BlockUpdated:
		s.storage.blockUpdated(e)
	case events.ExecutorTarget:
		s.totals.ExecutorTarget, s.totals.DynamicAllocation = e.Target, true
	case events.ExecutorExcluded:
		x := s.executor(e.ExecutorID)
		x.Excluded, x.ExcludeScope, x.ExcludeReason = true, e.Scope, e.Reason
	}
}

func (s *Store) setPools(e events.Pools) {
	if e.Mode != "" {
		s.mode = e.Mode
	}
	s.pool("default").Declared = true // the scheduler always has it
	for _, p := range e.Pools {
		q := s.pool(p.Name)
		q.Mode, q.Weight, q.MinShare, q.Declared = p.Mode, p.Weight, p.MinShare, true
	}
}

// pool returns the named pool, creating an undeclared one ("" is "default").
func (s *Store) pool(name string) *pool {
	if name == "" {
		name = "default"
	}
	p := s.pools[name]
	if p == nil {
		p = &pool{PoolInfo{Name: name, Mode: "FIFO", Weight: 1}}
		s.pools[name] = p
	}
	return p
}

func (s *Store) executor(id string) *executor {
	x := s.execs[id]
	if x == nil {
		x = &executor{ExecutorInfo{ID: id, Active: true}}
		s.execs[id] = x
		s.totals.ExecutorsActive++
	}
	return x
}

func (s *Store) jobStart(e events.JobStart) {
	pool := e.Pool
	if pool == "" {
		pool = "default"
	}
	s.pool(pool)
	if old := s.jobs[e.JobID]; old != nil && old.Status == StatusRunning {
		s.totals.JobsActive--
	}
	s.jobs[e.JobID] = &job{
		JobInfo: JobInfo{
			ID: e.JobID, Description: e.Description, Pool: pool, Status: StatusRunning,
			StageIDs: e.StageIDs, SubmissionTime: e.Time,
		},
		submitted: map[int]bool{},
	}
	s.totals.JobsActive++
}

func (s *Store) jobEnd(e events.JobEnd) {
	j := s.jobs[e.JobID]
	if j == nil || j.Status != StatusRunning {
		return
	}
	s.totals.JobsActive--
	j.CompletionTime, j.Error = e.Time, e.Error
	if e.Succeeded {
		j.Status = StatusSucceeded
		s.totals.JobsSucceeded++
	} else {
		j.Status = StatusFailed
		s.totals.JobsFailed++
	}
	j.SkippedStages = 0
	for _, id := range j.StageIDs {
		if !j.submitted[id] {
			j.SkippedStages++
		}
	}
	j.submitted = nil
	s.finishedJobs = append(s.finishedJobs, j.ID)
	for len(s.finishedJobs) > s.limits.FinishedJobs {
		id := s.finishedJobs[0]
		s.finishedJobs = s.finishedJobs[1:]
		if old := s.jobs[id]; old != nil && old.Status != StatusRunning {
			delete(s.jobs, id)
		}
	}
}

func (s *Store) stageSubmitted(e events.StageSubmitted) {
	k := stageKey{e.StageID, e.Attempt}
	if old := s.stages[k]; old != nil {
		return // duplicate
	}
	poolName := e.Pool
	j := s.jobs[e.JobID]
	if poolName == "" && j != nil {
		poolName = j.Pool
	}
	p := s.pool(poolName)
	st := &stage{
		StageInfo: StageInfo{
			ID: e.StageID, Attempt: e.Attempt, JobID: e.JobID, Name: e.Name, Pool: p.Name,
			Status: StatusRunning, ParentIDs: e.ParentIDs, SubmissionTime: e.Time,
			Tasks: TaskCounts{Total: e.NumTasks},
		},
		job:     j,
		pool:    p,
		running: map[int64]int32{},
	}
	s.stages[k] = st
	s.attempts[e.StageID] = append(s.attempts[e.StageID], st)
	s.totals.StagesActive++
	p.ActiveStages++
	if j != nil {
		j.ActiveStages++
		if j.submitted != nil && !j.submitted[e.StageID] {
			j.submitted[e.StageID] = true
			j.Tasks.Total += e.NumTasks
		}
	}
}

func (s *Store) stageCompleted(e events.StageCompleted) {
	k := stageKey{e.StageID, e.Attempt}
	st := s.stages[k]
	if st == nil || st.done {
		return
	}
	st.done = true
	st.CompletionTime, st.Failure = e.Time, e.Failure
	s.totals.StagesActive--
	st.pool.ActiveStages--
	if j := st.job; j != nil {
		j.ActiveStages--
	}
	if e.Failure == "" {
		st.Status = StatusComplete
		s.totals.StagesCompleted++
		if st.job != nil {
			st.job.CompletedStages++
		}
	} else {
		st.Status = StatusFailed
		s.totals.StagesFailed++
		if st.job != nil {
			st.job.FailedStages++
		}
	}
	s.finishedStages = append(s.finishedStages, k)
	for len(s.finishedStages) > s.limits.FinishedStages {
		s.evictStage(s.finishedStages[0])
		s.finishedStages = s.finishedStages[1:]
		if s.trimmed > 0 {
			s.trimmed--
		}
	}
	s.trimTotalRows()
}

func (s *Store) evictStage(k stageKey) {
	st := s.stages[k]
	if st == nil || !st.done {
		return
	}
	s.rowsTotal -= len(st.rows)
	delete(s.stages, k)
	if s.lastStage == st {
		s.lastStage = nil
	}
	as := s.attempts[k.id]
	as = slices.DeleteFunc(as, func(x *stage) bool { return x == st })
	if len(as) == 0 {
		delete(s.attempts, k.id)
	} else {
		s.attempts[k.id] = as
	}
}

// trimTotalRows drops the task rows of the oldest finished stages while the
// total is over the limit.
func (s *Store) trimTotalRows() {
	for ; s.rowsTotal > s.limits.TotalTasks && s.trimmed < len(s.finishedStages); s.trimmed++ {
		st := s.stages[s.finishedStages[s.trimmed]]
		if st == nil || len(st.rows) == 0 {
			continue
		}
		s.dropFinishedRows(st, len(st.rows))
		if len(st.rows) == 0 {
			st.rows = nil // give the memory back
		} else {
			st.rows = slices.Clone(st.rows)
		}
	}
}

func (s *Store) stageFor(id, attempt int) *stage {
	k := stageKey{id, attempt}
	if s.lastStage != nil && s.lastStageID == k {
		return s.lastStage
	}
	st := s.stages[k]
	if st != nil {
		s.lastStage, s.lastStageID = st, k
	}
	return st
}

func (s *Store) taskStart(e *events.TaskStart) {
	s.totals.TasksRunning++
	x := s.executor(e.ExecutorID)
	x.ActiveTasks++
	if x.Host == "" {
		x.Host = e.Host
	}
	st := s.stageFor(e.StageID, e.StageAttempt)
	if st == nil {
		return
	}
	st.Tasks.Active++
	st.pool.RunningTasks++
	if st.job != nil {
		st.job.Tasks.Active++
	}
	if st.running == nil {
		st.running = map[int64]int32{}
	}
	// Compact when full, dropping half the rows, but only if a quarter are
	// finished: a compaction then frees at least a quarter of the rows, so
	// its cost stays amortised O(1) per task even with huge running counts.
	if len(st.rows) >= s.limits.TasksPerStage && len(st.rows)-len(st.running) >= s.limits.TasksPerStage/4 {
		s.dropFinishedRows(st, len(st.rows)/2)
	}
	st.running[e.TaskID] = int32(len(st.rows))
	st.rows = append(st.rows, TaskRow{
		TaskID: e.TaskID, Index: e.Index, Partition: e.Partition, Attempt: e.Attempt,
		ExecutorID: e.ExecutorID, Host: e.Host, Locality: e.Locality, Speculative: e.Speculative,
		Status: StatusRunning, LaunchTime: e.Time,
	})
	st.TaskRows = len(st.rows)
	s.rowsTotal++
	if s.rowsTotal > s.limits.TotalTasks {
		s.trimTotalRows()
	}
}

func (c *TaskCounts) finish(success, killed bool) {
	c.Active--
	switch {
	case success:
		c.Completed++
	case killed:
		c.Killed++
	default:
		c.Failed++
	}
}

// dropFinishedRows drops the oldest n finished rows of a stage, keeping
// running ones (their TaskEnd must still find them).
func (s *Store) dropFinishedRows(st *stage, n int) {
	kept := st.rows[:0]
	dropped := 0
	for _, r := range st.rows {
		if dropped < n && r.Status != StatusRunning {
			dropped++
			continue
		}
		if r.Status == StatusRunning {
			st.running[r.TaskID] = int32(len(kept))
		}
		kept = append(kept, r)
	}
	clear(st.rows[len(kept):])
	st.rows = kept
	st.DroppedTaskRows += dropped
	st.TaskRows = len(st.rows)
	s.rowsTotal -= dropped
}

func (s *Store) taskEnd(e *events.TaskEnd) {
	if s.durHist == nil {
		s.durHist, s.readHist, s.writeHist = newHistogram(durationBounds...), newHistogram(bytesBounds...), newHistogram(bytesBounds...)
	}
	s.durHist.observe(e.Duration.Seconds())
	s.readHist.observe(float64(e.ShuffleRead))
	s.writeHist.observe(float64(e.ShuffleWrite))
	slot := slices.Index(statusSlots, e.Status)
	if slot < 0 {
		s.endedOther[e.Status]++
	} else {
		s.ended[slot]++
	}
	success := e.Status == events.TaskSuccess
	killed := e.Status == events.TaskKilled
	x := s.execs[e.ExecutorID]
	if x != nil {
		if x.ActiveTasks > 0 {
			x.ActiveTasks--
		}
		x.TotalDuration += e.Duration
		x.ShuffleRead += e.ShuffleRead
		x.ShuffleWrite += e.ShuffleWrite
		switch {
		case success:
			x.CompletedTasks++
		case killed:
			x.KilledTasks++
		default:
			x.FailedTasks++
		}
	}
	st := s.stageFor(e.StageID, e.StageAttempt)
	if st == nil {
		if s.totals.TasksRunning > 0 {
			s.totals.TasksRunning--
		}
		return
	}
	i, ok := st.running[e.TaskID]
	if !ok {
		return // not started here (or its row was dropped with the stage's rows): counted above only
	}
	delete(st.running, e.TaskID)
	s.totals.TasksRunning--
	r := &st.rows[i]
	r.Status, r.Duration, r.Reason = e.Status, e.Duration, e.Reason
	r.RecordsIn, r.RecordsOut = e.RecordsIn, e.RecordsOut
	r.RunTime, r.ResultBytes, r.ShuffleRead, r.ShuffleWrite, r.Spilled, r.PeakMemory = e.RunTime, e.ResultBytes, e.ShuffleRead, e.ShuffleWrite, e.Spilled, e.PeakMemory
	st.Tasks.finish(success, killed)
	if st.job != nil {
		st.job.Tasks.finish(success, killed)
	}
	st.pool.RunningTasks--
	if e.RunTime > 0 {
		st.ExecutorRunTime += e.RunTime
	} else {
		st.ExecutorRunTime += e.Duration // an event log written before RunTime
	}
	st.RecordsIn += e.RecordsIn
	st.RecordsOut += e.RecordsOut
	st.ShuffleRead += e.ShuffleRead
	st.ShuffleWrite += e.ShuffleWrite
	st.ResultBytes += e.ResultBytes
}

func (s *Store) executorAdded(e events.ExecutorAdded) {
	x := s.execs[e.ExecutorID]
	if x == nil || !x.Active {
		if x != nil { // re-registered after removal
			s.deadExecs = slices.DeleteFunc(s.deadExecs, func(id string) bool { return id == e.ExecutorID })
		}
		x = &executor{ExecutorInfo{ID: e.ExecutorID, Active: true}}
		s.execs[e.ExecutorID] = x
		s.totals.ExecutorsActive++
	}
	x.Host, x.Cores, x.LogURL, x.AddTime, x.AddReason = e.Host, e.Cores, e.LogURL, e.Time, e.Reason
}

func (s *Store) executorRemoved(e events.ExecutorRemoved) {
	x := s.execs[e.ExecutorID]
	if x == nil || !x.Active {
		return
	}
	x.Active = false
	x.RemoveTime, x.RemoveReason = e.Time, e.Reason
	s.totals.ExecutorsActive--
	s.totals.ExecutorRemovals++
	s.deadExecs = append(s.deadExecs, e.ExecutorID)
	for len(s.deadExecs) > s.limits.DeadExecutors {
		id := s.deadExecs[0]
		s.deadExecs = s.deadExecs[1:]
		if old := s.execs[id]; old != nil && !old.Active {
			delete(s.execs, id)
		}
	}
}

// ---- Readers. Each returns copies taken under the read lock. ----

// App returns the application's description.
func (s *Store) App() AppInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.app
}

// Environment returns the resolved configuration.
func (s *Store) Environment() events.Environment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.env
}

// TaskHistograms returns the distributions of finished tasks' duration (in
// seconds) and shuffle bytes read and written.
func (s *Store) TaskHistograms() (duration, shuffleRead, shuffleWrite HistogramSnapshot) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.durHist == nil {
		empty := func(b []float64) HistogramSnapshot { return newHistogram(b...).snapshot() }
		return empty(durationBounds), empty(bytesBounds), empty(bytesBounds)
	}
	return s.durHist.snapshot(), s.readHist.snapshot(), s.writeHist.snapshot()
}

// Totals returns the application-wide counters.
func (s *Store) Totals() Totals {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.totals
	t.TasksEnded = make(map[string]int64, len(statusSlots)+len(s.endedOther))
	for i, st := range statusSlots {
		t.TasksEnded[st] = s.ended[i]
	}
	for st, n := range s.endedOther {
		t.TasksEnded[st] = n
	}
	return t
}

// Jobs returns the retained jobs, newest first.
func (s *Store) Jobs() []JobInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]JobInfo, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, j.JobInfo)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID > out[b].ID })
	return out
}

// Job returns one job.
func (s *Store) Job(id int) (JobInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	j := s.jobs[id]
	if j == nil {
		return JobInfo{}, false
	}
	return j.JobInfo, true
}

// Stages returns every retained stage attempt, newest stage first.
func (s *Store) Stages() []StageInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]StageInfo, 0, len(s.stages))
	for _, st := range s.stages {
		out = append(out, st.StageInfo)
	}
	sortStages(out)
	return out
}

func sortStages(out []StageInfo) {
	sort.Slice(out, func(a, b int) bool {
		if out[a].ID != out[b].ID {
			return out[a].ID > out[b].ID
		}
		return out[a].Attempt > out[b].Attempt
	})
}

// StagesOfJob returns the retained attempts of the job's stages.
func (s *Store) StagesOfJob(jobID int) []StageInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	j := s.jobs[jobID]
	if j == nil {
		return nil
	}
	var out []StageInfo
	for _, id := range j.StageIDs {
		for _, st := range s.attempts[id] {
			out = append(out, st.StageInfo)
		}
	}
	sortStages(out)
	return out
}

// StageAttempts returns every retained attempt of a stage, oldest first.
func (s *Store) StageAttempts(id int) []StageInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	as := s.attempts[id]
	out := make([]StageInfo, len(as))
	for i, st := range as {
		out[i] = st.StageInfo
	}
	return out
}

// Stage returns one stage attempt.
func (s *Store) Stage(id, attempt int) (StageInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.stages[stageKey{id, attempt}]
	if st == nil {
		return StageInfo{}, false
	}
	return st.StageInfo, true
}

// Tasks returns up to length retained task rows of a stage attempt starting
// at offset, in launch order, and whether the stage attempt is known.
func (s *Store) Tasks(id, attempt, offset, length int) ([]TaskRow, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.stages[stageKey{id, attempt}]
	if st == nil {
		return nil, false
	}
	if offset < 0 {
		offset = 0
	}
	if offset >= len(st.rows) || length <= 0 {
		return []TaskRow{}, true
	}
	end := min(len(st.rows), offset+length)
	return slices.Clone(st.rows[offset:end]), true
}

// Executors returns the executors (only active ones unless includeDead),
// sorted by id.
func (s *Store) Executors(includeDead bool) []ExecutorInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]ExecutorInfo, 0, len(s.execs))
	for _, x := range s.execs {
		if x.Active || includeDead {
			out = append(out, x.ExecutorInfo)
		}
	}
	sort.Slice(out, func(a, b int) bool { return idLess(out[a].ID, out[b].ID) })
	return out
}

// idLess orders numeric ids numerically, then others by text.
func idLess(a, b string) bool {
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		return len(a) < len(b)
	}
	return a < b
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Pools returns the scheduling mode and the pools sorted by name.
func (s *Store) Pools() (mode string, pools []PoolInfo) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pools = make([]PoolInfo, 0, len(s.pools))
	for _, p := range s.pools {
		pools = append(pools, p.PoolInfo)
	}
	sort.Slice(pools, func(a, b int) bool { return pools[a].Name < pools[b].Name })
	return s.mode, pools
}

// Pool returns one pool and its running stage attempts.
func (s *Store) Pool(name string) (PoolInfo, []StageInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.pools[name]
	if p == nil {
		return PoolInfo{}, nil, false
	}
	var active []StageInfo
	for _, st := range s.stages {
		if st.pool == p && !st.done {
			active = append(active, st.StageInfo)
		}
	}
	sortStages(active)
	return p.PoolInfo, active, true
}

func span(start, end, now time.Time) time.Duration {
	if start.IsZero() {
		return 0
	}
	if end.IsZero() {
		end = now
	}
	if end.Before(start) {
		return 0
	}
	return end.Sub(start)
}
