package sched

import "time"

// This file is the contract between the pure scheduling core and the driver
// that feeds it. Everything in this package is deterministic: no goroutines,
// no I/O, no time.Now — the caller passes `now` into every call.

// Mode is the scheduling mode of the application or of a pool.
type Mode int

const (
	FIFO Mode = iota
	FAIR
)

// PoolConfig is one <pool> of the allocation file (SPEC §4).
type PoolConfig struct {
	Name     string
	Mode     Mode
	Weight   int
	MinShare int
}

// Locality levels, best first.
type Locality int

const (
	ProcessLocal Locality = iota // the preferred executor
	NodeLocal                    // the preferred host
	NoPref                       // the task has no preference
	Any
)

// SpeculationConfig mirrors stoke.speculation.* (SPEC §5).
type SpeculationConfig struct {
	Enabled        bool
	Interval       time.Duration // 100ms
	Quantile       float64       // 0.75
	Multiplier     float64       // 1.5
	MinTaskRuntime time.Duration // 100ms
}

// ExcludeConfig mirrors stoke.excludeOnFailure.* (reference system's defaults).
type ExcludeConfig struct {
	Enabled                        bool
	MaxTaskAttemptsPerExecutor     int           // 1: a task is not retried on an executor where it failed this often
	MaxTaskAttemptsPerNode         int           // 2
	StageMaxFailedTasksPerExecutor int           // 2: executor excluded for the stage
	StageMaxFailedExecutorsPerNode int           // 2: node excluded for the stage
	AppMaxFailedTasksPerExecutor   int           // 2: executor excluded for the application (failed tasks in successful task sets)
	Timeout                        time.Duration // 1h: application-level exclusion expiry
}

// Config is everything the core needs; the driver builds it from stoke.* keys.
type Config struct {
	Mode         Mode
	Pools        []PoolConfig // from the allocation file (already parsed); may be empty
	CPUsPerTask  int          // stoke.task.cpus, default 1
	MaxFailures  int          // attempts in total before the task set aborts (local: 1)
	LocalityWait time.Duration
	Speculation  SpeculationConfig
	Exclude      ExcludeConfig
}

// TaskSetID names one attempt of one stage.
type TaskSetID struct {
	StageID      int
	StageAttempt int
}

// TaskSet is one stage attempt's tasks, submitted by the DAG scheduler.
type TaskSet struct {
	ID            TaskSetID
	JobID         int    // FIFO priority: lower job first, then lower stage id
	Pool          string // FAIR pool name; "" means "default"; unknown pools are created (FIFO, 1, 0) with a warning
	Tasks         []Task
	NoSpeculation bool // per job/stage opt-out of speculative execution
}

// Task is one partition to compute.
type Task struct {
	Partition int
	Preferred []Location
}

// Location is a locality preference: a host, optionally one executor on it.
type Location struct {
	Host       string
	ExecutorID string
}

// Launch asks the driver to run one task attempt.
type Launch struct {
	TaskID      int64 // unique per attempt across the application, increasing from 0
	TaskSet     TaskSetID
	JobID       int
	Pool        string
	Index       int // index of the task in its TaskSet
	Partition   int
	Attempt     int // 0 for the first attempt of this index in this task set
	ExecutorID  string
	Host        string
	Speculative bool
	Locality    Locality
	LaunchTime  time.Time
}

// Kill asks the driver to kill a running attempt (never counted as a failure).
type Kill struct {
	TaskID     int64
	ExecutorID string
	Reason     string
}

// TaskState is a state reported by an executor for an attempt.
type TaskState int

const (
	TaskRunning TaskState = iota
	TaskSucceeded
	TaskFailed      // the application's code failed: counts toward MaxFailures
	TaskKilled      // killed on request: not a failure
	TaskFetchFailed // could not read shuffle input: the DAG scheduler resubmits the parent stage
	TaskLost        // lost for a reason outside the application (e.g. executor exit): not counted
)

// TaskUpdate is a status report for an attempt.
type TaskUpdate struct {
	TaskID int64
	State  TaskState
	Reason string // error text for failures
}

// Output is what a call decided besides launches.
type Output struct {
	// Succeeded lists attempts whose success was accepted: exactly one per
	// (task set, index). A later success of another attempt of the same index
	// is not listed (its result must be dropped).
	Succeeded []Success
	// Kills lists attempts to kill (other attempts of a task that succeeded,
	// running attempts of a cancelled or aborted task set).
	Kills []Kill
	// Finished lists task sets all of whose tasks succeeded.
	Finished []TaskSetID
	// Aborted lists task sets that failed (too many failures of one task, or a
	// task that can run nowhere because of exclusion); the job fails with Reason.
	Aborted []Abort
	// FetchFailed lists fetch failures; the task set became a zombie (no new
	// launches) and the DAG scheduler decides what to resubmit.
	FetchFailed []FetchFailure
	// Requeued lists attempts that ended without success and will be retried.
	Requeued []Retry
	// Excluded lists executors newly excluded (for the UI and the log).
	Excluded []Exclusion
	// Speculatable lists running attempts found slow by the speculation
	// check (Tick); a speculative copy of each waits for the next Schedule.
	Speculatable []Speculatable
	// Warnings are human-readable notices (unknown pool created, ...).
	Warnings []string
}

type Success struct {
	TaskID    int64
	TaskSet   TaskSetID
	Index     int
	Partition int
	Duration  time.Duration
}

type Abort struct {
	TaskSet TaskSetID
	Reason  string
}

type FetchFailure struct {
	TaskID    int64
	TaskSet   TaskSetID
	Index     int
	Partition int
	Reason    string
}

type Retry struct {
	TaskID  int64
	TaskSet TaskSetID
	Index   int
	Counted bool // whether this attempt counted toward MaxFailures
	Reason  string
}

type Exclusion struct {
	ExecutorID string
	Host       string
	Scope      string // "stage" or "application"
	TaskSet    TaskSetID
	Reason     string
}

// PoolStatus is a read-only view of a pool for the UI.
type PoolStatus struct {
	Name         string
	Mode         Mode
	Weight       int
	MinShare     int
	RunningTasks int
	TaskSets     int
}

// The Scheduler's methods (implemented in scheduler.go):
//
//	func New(cfg Config) (*Scheduler, []string, error)     // warnings for defaulted pools
//	func (s *Scheduler) Submit(ts TaskSet, now time.Time) Output
//	func (s *Scheduler) Cancel(id TaskSetID, reason string, now time.Time) Output
//	func (s *Scheduler) AddExecutor(id, host string, cores int, now time.Time)
//	func (s *Scheduler) RemoveExecutor(id, reason string, now time.Time) Output
//	func (s *Scheduler) Schedule(now time.Time, dst []Launch) []Launch // fills every free slot
//	func (s *Scheduler) Update(u TaskUpdate, now time.Time) Output
//	func (s *Scheduler) Tick(now time.Time) Output                     // speculation, exclusion expiry
//	func (s *Scheduler) Pools() []PoolStatus
//	func (s *Scheduler) HasPending() bool
//
// and the output commit coordinator:
//
//	func NewCommitCoordinator() *CommitCoordinator
//	func (c *CommitCoordinator) StageStart(stage int)
//	func (c *CommitCoordinator) StageEnd(stage int)
//	func (c *CommitCoordinator) CanCommit(stage, stageAttempt, partition int, taskID int64) bool
//	func (c *CommitCoordinator) TaskEnded(stage, stageAttempt, partition int, taskID int64, succeeded bool)
