package mesostest

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Options configures a test cluster. Zero values take the defaults noted.
type Options struct {
	// Masters is the number of masters (default 1); the first one leads.
	Masters int
	// Agents describes the agents (default: one agent of 4 cpus, 4096 MiB).
	Agents []AgentSpec
	// HeartbeatInterval is sent in SUBSCRIBED and between HEARTBEAT events
	// (default 15s, as Mesos).
	HeartbeatInterval time.Duration
	// AllocationInterval is how often the master offers what is free
	// (default 1s, as Mesos's --allocation_interval). As on Mesos, offers
	// are also made at once when a framework subscribes or revives and when
	// an agent joins; resources a framework declines, or that its tasks and
	// executors give back, wait for the next interval.
	AllocationInterval time.Duration
	// StatusUpdateRetry is how long an unacknowledged status update waits
	// before it is sent again (default 1s; Mesos starts at 10s). The wait
	// doubles with each retry up to StatusUpdateRetryMax (default 10 times
	// StatusUpdateRetry; Mesos 10 minutes). A framework that subscribes
	// again gets its unacknowledged updates at once.
	StatusUpdateRetry    time.Duration
	StatusUpdateRetryMax time.Duration
	// OfferTimeout rescinds offers held longer than this (default: never).
	OfferTimeout time.Duration
	// ExecutorRegistrationTimeout kills an executor that does not subscribe
	// in time (default 1 minute, as Mesos).
	ExecutorRegistrationTimeout time.Duration
	// ExecutorShutdownGracePeriod is the wait between SHUTDOWN and SIGKILL
	// (default 5s, as Mesos).
	ExecutorShutdownGracePeriod time.Duration
	// Credentials maps principal to secret. When non-empty the scheduler
	// endpoint requires HTTP basic authentication with one of them.
	Credentials map[string]string
	// WorkDir holds the agents' sandboxes (default: a test temp dir).
	WorkDir string
	// Logf receives the cluster's log lines (default: the test's Logf).
	Logf func(format string, args ...any)
}

// AgentSpec describes one agent.
type AgentSpec struct {
	Hostname string  // default 127.0.0.1
	CPUs     float64 // default 4
	MemMB    float64 // default 4096
	DiskMB   float64 // default 10240
	// Ports are offered as the "ports" resource (default 31000-32000).
	Ports []mesos.Value_Range
	// Resources are extra resources: scalars (for example "gpus"), ranges or
	// sets, offered as they are (GPU agents only to GPU_RESOURCES frameworks).
	Resources []mesos.Resource
	// Attributes are advertised in offers.
	Attributes []mesos.Attribute
}

func (o *Options) setDefaults() {
	if o.Masters <= 0 {
		o.Masters = 1
	}
	if len(o.Agents) == 0 {
		o.Agents = []AgentSpec{{}}
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 15 * time.Second
	}
	if o.AllocationInterval <= 0 {
		o.AllocationInterval = time.Second
	}
	if o.StatusUpdateRetry <= 0 {
		o.StatusUpdateRetry = time.Second
	}
	if o.StatusUpdateRetryMax < o.StatusUpdateRetry {
		o.StatusUpdateRetryMax = 10 * o.StatusUpdateRetry
	}
	if o.ExecutorRegistrationTimeout <= 0 {
		o.ExecutorRegistrationTimeout = time.Minute
	}
	if o.ExecutorShutdownGracePeriod <= 0 {
		o.ExecutorShutdownGracePeriod = 5 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

func (s *AgentSpec) setDefaults() {
	if s.Hostname == "" {
		s.Hostname = "127.0.0.1"
	}
	if s.CPUs == 0 {
		s.CPUs = 4
	}
	if s.MemMB == 0 {
		s.MemMB = 4096
	}
	if s.DiskMB == 0 {
		s.DiskMB = 10240
	}
	if len(s.Ports) == 0 {
		s.Ports = []mesos.Value_Range{{Begin: 31000, End: 32000}}
	}
}

// total is the agent's resources as one bag.
func (s AgentSpec) total() (resources, error) {
	r, err := fromProto(s.Resources)
	if err != nil {
		return r, err
	}
	r.scalars["cpus"] = round(r.scalars["cpus"] + s.CPUs)
	r.scalars["mem"] = round(r.scalars["mem"] + s.MemMB)
	r.scalars["disk"] = round(r.scalars["disk"] + s.DiskMB)
	for _, p := range s.Ports {
		r.ranges["ports"] = addRange(r.ranges["ports"], p)
	}
	return r, nil
}
