package offers

import "time"

// Kind is the type of a Mesos value (resource or attribute).
type Kind int

// Value kinds, as in mesos.proto's Value.Type.
const (
	Unknown Kind = iota
	Scalar
	Ranges
	Set
	Text
)

// Resource is one resource of an offer. Only scalar "cpus" and "mem" are
// used; every other resource is carried along and ignored.
type Resource struct {
	Name   string
	Kind   Kind
	Role   string // "*" when unreserved
	Scalar float64
}

// Range is an inclusive range of an attribute.
type Range struct{ Begin, End uint64 }

// Attribute is an agent attribute of an offer.
type Attribute struct {
	Name   string
	Kind   Kind
	Scalar float64
	Ranges []Range
	Set    []string
	Text   string
}

// Offer is the part of a Mesos offer the decision reads.
type Offer struct {
	ID         string
	AgentID    string
	Hostname   string
	Resources  []Resource
	Attributes []Attribute
}

// Use takes Amount of the offer's resource at Index (of Offer.Resources).
type Use struct {
	Index  int
	Amount float64
}

// Launch is one thing to start on an offer. Coarse-grained: one executor of
// CPUs and MemMB. Fine-grained: either the per-agent executor (NewExecutor,
// holding only its overhead, CPUs = MesosExecutorCPUs and MemMB, with Slots
// task slots to announce to the driver), or one queued task (Tasks = 1,
// CPUs = TaskCPUs).
type Launch struct {
	CPUs        float64
	MemMB       float64
	Uses        []Use
	NewExecutor bool
	Slots       int
	Tasks       int
}

// Decision answers one offer: accept it with Launches, or decline it with
// a refuse filter. Reason says why, for logs.
type Decision struct {
	OfferID  string
	AgentID  string
	Accept   bool
	Launches []Launch
	Refuse   time.Duration
	Reason   string
}

// Mode is coarse- or fine-grained.
type Mode int

// Modes.
const (
	Coarse Mode = iota
	Fine
)

// Config is the fixed part of the decision, read from stoke.* settings.
type Config struct {
	Mode Mode
	// ExecutorCPUs and ExecutorMemMB size a coarse-grained executor; the
	// memory includes the overhead. Fine-grained: the per-agent executor
	// holds MesosExecutorCPUs and ExecutorMemMB.
	ExecutorCPUs      float64
	ExecutorMemMB     float64
	MesosExecutorCPUs float64
	TaskCPUs          float64
	// FineSlots is the task slots a fine-grained executor announces; 0
	// means as many as its first offer had room for beside the overhead.
	FineSlots int
	// CoresMax caps the CPUs the application holds (0: no cap). Coarse: it
	// is rounded down to a multiple of ExecutorCPUs.
	CoresMax float64
	// Role is the framework's role; resources of that role and of "*" are
	// used, others ignored.
	Role             string
	Constraints      Constraints
	MaxAgentFailures int
	// RejectRefuse is the long filter for offers that can never be used
	// (constraints, excluded agents, cores.max reached, stopping); Refuse is
	// the short one for offers that are not needed now.
	RejectRefuse time.Duration
	Refuse       time.Duration
}

// State is what the backend holds when offers arrive.
type State struct {
	// CPUsHeld counts the CPUs of every executor and task the application
	// holds (launched and not yet terminal).
	CPUsHeld float64
	// Executors is the number of coarse-grained executors running or
	// starting; ExecutorLimit caps it (negative: no limit).
	Executors     int
	ExecutorLimit int
	// Queued counts, per agent id, the fine-grained tasks the driver gave
	// that agent's executor and that wait for CPU from an offer.
	Queued map[string]int
	// AgentFailures counts failed executors per agent id.
	AgentFailures map[string]int
	// ExecutorOn lists agents that already run the fine-grained executor
	// (launched, registered or not).
	ExecutorOn map[string]bool
	Stopping   bool
	// Seed spreads launches: offers are visited in an order derived from
	// the seed and their ids.
	Seed uint64
}

// ExecutorMemMB is an executor's memory plus its overhead: overheadMB when
// set (> 0), otherwise max(384 MiB, 10% of memMB).
func ExecutorMemMB(memMB, overheadMB float64) float64 {
	if overheadMB > 0 {
		return memMB + overheadMB
	}
	return memMB + max(384, 0.10*memMB)
}
