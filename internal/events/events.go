package events

import "time"

// Event is one thing that happened. Kind is the name written to the event log.
type Event interface{ Kind() string }

type ApplicationStart struct {
	AppID   string    `json:"appId"`
	AppName string    `json:"appName"`
	User    string    `json:"user"`
	Master  string    `json:"master"`
	Time    time.Time `json:"time"`
}

type ApplicationEnd struct {
	Time time.Time `json:"time"`
	// Reason is why the application ended early (a signal, the cluster
	// manager ending it); empty when the program stopped its Context.
	Reason string `json:"reason,omitempty"`
}

// Environment carries the resolved configuration (secrets already redacted).
type Environment struct {
	Properties [][2]string `json:"properties"` // key, value, sorted by key
	Sources    [][2]string `json:"sources"`    // key, where its value came from
}

// Pools describes the scheduling mode and pools at start (and when a pool is created).
type Pools struct {
	Mode  string `json:"mode"`
	Pools []Pool `json:"pools"`
}

type Pool struct {
	Name     string `json:"name"`
	Mode     string `json:"mode"`
	Weight   int    `json:"weight"`
	MinShare int    `json:"minShare"`
}

type JobStart struct {
	JobID       int       `json:"jobId"`
	Description string    `json:"description"`
	Pool        string    `json:"pool"`
	StageIDs    []int     `json:"stageIds"`
	Time        time.Time `json:"time"`
}

type JobEnd struct {
	JobID     int       `json:"jobId"`
	Succeeded bool      `json:"succeeded"`
	Error     string    `json:"error,omitempty"`
	Time      time.Time `json:"time"`
}

type StageSubmitted struct {
	StageID   int       `json:"stageId"`
	Attempt   int       `json:"attempt"`
	JobID     int       `json:"jobId"`
	Name      string    `json:"name"`
	NumTasks  int       `json:"numTasks"`
	ParentIDs []int     `json:"parentIds"`
	Pool      string    `json:"pool"`
	Time      time.Time `json:"time"`
}

type StageCompleted struct {
	StageID int       `json:"stageId"`
	Attempt int       `json:"attempt"`
	Failure string    `json:"failure,omitempty"` // empty on success
	Time    time.Time `json:"time"`
}

type TaskStart struct {
	StageID      int       `json:"stageId"`
	StageAttempt int       `json:"stageAttempt"`
	TaskID       int64     `json:"taskId"`
	Index        int       `json:"index"`
	Partition    int       `json:"partition"`
	Attempt      int       `json:"attempt"`
	ExecutorID   string    `json:"executorId"`
	Host         string    `json:"host"`
	Locality     string    `json:"locality"`
	Speculative  bool      `json:"speculative"`
	Time         time.Time `json:"time"`
}

// TaskEnd status values.
const (
	TaskSuccess     = "SUCCESS"
	TaskFailed      = "FAILED"
	TaskKilled      = "KILLED"
	TaskFetchFailed = "FETCH_FAILED"
	TaskLost        = "LOST"
)

type TaskEnd struct {
	StageID      int           `json:"stageId"`
	StageAttempt int           `json:"stageAttempt"`
	TaskID       int64         `json:"taskId"`
	Index        int           `json:"index"`
	ExecutorID   string        `json:"executorId"`
	Status       string        `json:"status"`
	Reason       string        `json:"reason,omitempty"`
	Duration     time.Duration `json:"durationNs"`
	// RunTime is how long the executor ran the task (from its metrics);
	// Duration less RunTime is the scheduler delay: queueing, shipping the
	// task and its result.
	RunTime      time.Duration `json:"runTimeNs,omitempty"`
	ResultBytes  int64         `json:"resultBytes"`
	RecordsIn    int64         `json:"recordsIn"`
	RecordsOut   int64         `json:"recordsOut"`
	ShuffleWrite int64         `json:"shuffleWriteBytes"`
	ShuffleRead  int64         `json:"shuffleReadBytes"`
	Spilled      int64         `json:"spilledBytes,omitempty"`
	PeakMemory   int64         `json:"peakExecutionMemory,omitempty"`
	Time         time.Time     `json:"time"`
}

type ExecutorAdded struct {
	ExecutorID string `json:"executorId"`
	Host       string `json:"host"`
	Cores      int    `json:"cores"`
	LogURL     string `json:"logUrl,omitempty"`
	// Reason says why the executor was asked for, when the driver knows
	// (dynamic allocation's request).
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
}

type ExecutorRemoved struct {
	ExecutorID string    `json:"executorId"`
	Reason     string    `json:"reason"`
	Time       time.Time `json:"time"`

	// MigratedShuffleOutputs counts the map outputs it moved to other
	// executors before it went (graceful decommission).
	MigratedShuffleOutputs int `json:"migratedShuffleOutputs,omitempty"`
}

type ExecutorExcluded struct {
	ExecutorID string    `json:"executorId"`
	Scope      string    `json:"scope"`
	Reason     string    `json:"reason"`
	Time       time.Time `json:"time"`
}

// ExecutorMetrics: an executor's heartbeat reported its process's memory,
// CPU time, garbage collection and the bytes its block store holds.
type ExecutorMetrics struct {
	ExecutorID string `json:"executorId"`
	ProcessMetrics
	Time time.Time `json:"time"`
}

// ProcessMetrics is what an executor's heartbeat says of its process: one
// set of fields from the backends through the event log to the UI.
type ProcessMetrics struct {
	RSSBytes      int64         `json:"rssBytes"`
	HeapBytes     int64         `json:"heapBytes"`
	MemoryLimit   int64         `json:"memoryLimitBytes"`
	Goroutines    int           `json:"goroutines"`
	GCCycles      int64         `json:"gcCycles"`
	GCPause       time.Duration `json:"gcPauseNs"`
	CPUTime       time.Duration `json:"cpuTimeNs"`
	ShuffleMemory int64         `json:"shuffleMemoryBytes"` // shuffle output and results in memory
	CacheMemory   int64         `json:"cacheMemoryBytes"`   // cached partitions in memory
	CacheDisk     int64         `json:"cacheDiskBytes"`     // cached partitions on disk
}

// ExecutorTarget: dynamic allocation changed the number of executors the
// application asks its cluster manager for.
type ExecutorTarget struct {
	Target int       `json:"target"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// RDDPersisted: a dataset was marked for caching (Persist or Cache).
type RDDPersisted struct {
	RDDID         int    `json:"rddId"` // the dataset's lineage node
	Name          string `json:"name"`
	Level         string `json:"storageLevel"`
	NumPartitions int    `json:"numPartitions"`
}

// RDDUnpersisted: a cached dataset was unpersisted; its blocks are gone.
type RDDUnpersisted struct {
	RDDID int `json:"rddId"`
}

// BlockUpdated: an executor now holds a cached partition at these sizes
// (both 0: it no longer holds it).
type BlockUpdated struct {
	ExecutorID string    `json:"executorId"`
	RDDID      int       `json:"rddId"`
	Partition  int       `json:"partition"`
	MemSize    int64     `json:"memSize"`
	DiskSize   int64     `json:"diskSize"`
	Time       time.Time `json:"time"`
}

func (ApplicationStart) Kind() string { return "ApplicationStart" }
func (ApplicationEnd) Kind() string   { return "ApplicationEnd" }
func (Environment) Kind() string      { return "Environment" }
func (Pools) Kind() string            { return "Pools" }
func (JobStart) Kind() string         { return "JobStart" }
func (JobEnd) Kind() string           { return "JobEnd" }
func (StageSubmitted) Kind() string   { return "StageSubmitted" }
func (StageCompleted) Kind() string   { return "StageCompleted" }
func (TaskStart) Kind() string        { return "TaskStart" }
func (TaskEnd) Kind() string          { return "TaskEnd" }
func (ExecutorAdded) Kind() string    { return "ExecutorAdded" }
func (ExecutorRemoved) Kind() string  { return "ExecutorRemoved" }
func (ExecutorExcluded) Kind() string { return "ExecutorExcluded" }
func (ExecutorTarget) Kind() string   { return "ExecutorTarget" }
func (ExecutorMetrics) Kind() string  { return "ExecutorMetrics" }
func (RDDPersisted) Kind() string     { return "RDDPersisted" }
func (RDDUnpersisted) Kind() string   { return "RDDUnpersisted" }
func (BlockUpdated) Kind() string     { return "BlockUpdated" }
