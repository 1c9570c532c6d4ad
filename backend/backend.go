// Package backend is the seam between the driver and a cluster manager. The
// driver owns this interface; a cluster manager (local, standalone, YARN,
// Mesos) is one package implementing it. Executors that dial the driver over
// gRPC are handled by the shared ExecutorServer in backend/coarse, so most
// backends only have to start and stop executor processes.
package backend

import (
	"context"

	"github.com/stoke-run/stoke/internal/events"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// ExecutorInfo describes a registered executor.
type ExecutorInfo struct {
	ID     string
	Host   string
	Cores  int
	LogURL string
	// Address is host:port of the executor's block service ("" for an
	// executor inside the driver process).
	Address string
	// ShuffleServiceAddress is host:port of the shuffle service that
	// serves its map outputs once it is gone (a standalone worker's), ""
	// if none.
	ShuffleServiceAddress string
}

// Driver is what a backend reports to. Calls may come from any goroutine.
type Driver interface {
	// ExecutorAdded: the executor is registered and ready for tasks.
	ExecutorAdded(ExecutorInfo)
	// ExecutorLost: the executor is gone; its running tasks and the shuffle
	// output it held are lost. Reason is shown to users.
	ExecutorLost(id string, reason string)
	// StatusUpdate reports tasks' states (a batch is handled at once).
	StatusUpdate(executorID string, sts ...*pb.TaskStatus)
	// CanCommit asks the output commit coordinator.
	CanCommit(req *pb.CommitRequest) bool
}

// Backend starts executors for one application and carries tasks to them.
type Backend interface {
	// Start begins acquiring executors; it returns once the backend can
	// accept launches (executors may register later).
	Start(ctx context.Context, d Driver) error
	// Stop releases every executor and resource of the application.
	Stop(ctx context.Context) error
	// LaunchTasks sends tasks to an executor.
	LaunchTasks(executorID string, tasks []*pb.TaskDesc) error
	// KillTask asks an executor to kill a running task.
	KillTask(executorID string, taskID int64, reason string) error
	// FetchResult reads a task result stored on an executor.
	FetchResult(ctx context.Context, executorID, block string) ([]byte, error)
	// Revive tells the backend that tasks are waiting (offer-based cluster
	// managers ask for offers again).
	Revive()
	// RequestTotalExecutors sets the number of executors wanted.
	RequestTotalExecutors(n int) error
	// KillExecutors releases the given executors.
	KillExecutors(ids []string) error
	// DefaultParallelism is the default number of partitions.
	DefaultParallelism() int
	// ApplicationID is the cluster manager's id for the application.
	ApplicationID() string
}

// ShuffleReleaser is implemented by backends that can tell executors to
// drop shuffle output no job will read again.
type ShuffleReleaser interface {
	ReleaseShuffles(ids []int32)
}

// CacheReleaser is implemented by backends that can tell executors to drop
// the cached partitions of unpersisted datasets (plan node ids).
type CacheReleaser interface {
	ReleaseCached(rddIDs []int32)
}

// BroadcastReleaser is implemented by backends that can tell executors to
// drop their cached copies of broadcast variables (the driver set a new
// value, unpersisted or destroyed them). Executor processes fetch the
// variable again on its next use.
type BroadcastReleaser interface {
	ReleaseBroadcasts(names []string)
}

// ApplicationEnder is implemented by drivers that can be told the cluster
// manager has ended their application for good (removed it, refuses it
// back): they fail running jobs with err and refuse new ones.
type ApplicationEnder interface {
	ApplicationEnded(err error)
}

// LocalityHints say where the pending tasks would run best: Tasks is how
// many of them prefer some host, Hosts how many prefer each host (Spark's
// hostToLocalTaskCount).
type LocalityHints struct {
	Tasks int
	Hosts map[string]int
}

// LocalityAware is a Backend that places the executors it asks for near
// the pending tasks' data (YARN names the hosts in its container
// requests). Dynamic allocation calls it instead of RequestTotalExecutors.
type LocalityAware interface {
	RequestTotalExecutorsNear(n int, hints LocalityHints) error
}

// ExecutorMetrics is what an executor's heartbeat says of its process.
type ExecutorMetrics struct {
	events.ProcessMetrics
	RunningTasks int
}

// MetricsReceiver is a Driver that takes executors' heartbeat metrics (the
// driver shows them in its UI and /metrics).
type MetricsReceiver interface {
	ExecutorMetrics(id string, m ExecutorMetrics)
}

// ProgressReporter is a Driver that knows how far the application is
// (0 to 1), for cluster managers that show it (YARN).
type ProgressReporter interface {
	Progress() float64
}

// StackDumper is a Backend that can fetch the goroutine stacks of an
// executor process (the UI's "stack" link).
type StackDumper interface {
	StackDump(ctx context.Context, executorID string) (string, error)
}

// Decommissioner is a Backend whose executors can copy their shuffle
// output to other executors before they go (graceful decommission).
type Decommissioner interface {
	// DecommissionExecutor sends d to the executor; report is called once
	// with its answer, unless the executor goes first (the driver then
	// hears ExecutorLost).
	DecommissionExecutor(id string, d *pb.Decommission, report func(*pb.MigrationReport)) error
}
