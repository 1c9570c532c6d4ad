package mesostest

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// framework is the master's record of one subscribed (or recovered)
// framework.
type framework struct {
	id               string
	info             mesos.FrameworkInfo
	stream           *eventStream
	suppressed       map[string]bool // roles whose offers are suppressed
	filters          []offerFilter
	recovered        bool      // learned from agents after a master failover
	failoverDeadline time.Time // set while disconnected
}

// offerFilter refuses offers of resources already refused on an agent.
type offerFilter struct {
	agentID string
	res     resources
	until   time.Time
}

func newFramework(id string, info mesos.FrameworkInfo) *framework {
	info.ID = &mesos.FrameworkID{Value: id}
	return &framework{id: id, info: info, suppressed: map[string]bool{}}
}

func (fw *framework) connected() bool { return fw.stream != nil && !fw.stream.closed() }

func (fw *framework) hasCapability(t mesos.FrameworkInfo_Capability_Type) bool {
	for _, c := range fw.info.Capabilities {
		if c.Type == t {
			return true
		}
	}
	return false
}

func (fw *framework) multiRole() bool {
	return fw.hasCapability(mesos.FrameworkInfo_Capability_MULTI_ROLE)
}

func (fw *framework) partitionAware() bool {
	return fw.hasCapability(mesos.FrameworkInfo_Capability_PARTITION_AWARE)
}

// roles are the roles the framework subscribes with ("*" by default).
func (fw *framework) roles() []string {
	if fw.multiRole() {
		return fw.info.Roles
	}
	if r := fw.info.GetRole(); r != "" {
		return []string{r}
	}
	return []string{"*"}
}

// offerRole is the first role that is not suppressed, or "" if none.
func (fw *framework) offerRole() string {
	for _, r := range fw.roles() {
		if !fw.suppressed[r] {
			return r
		}
	}
	return ""
}

func (fw *framework) failoverTimeout() time.Duration {
	return time.Duration(fw.info.GetFailoverTimeout() * float64(time.Second))
}

// filtered reports whether an offer of res on agentID is refused.
func (fw *framework) filtered(agentID string, res resources, now time.Time) bool {
	kept := fw.filters[:0]
	refused := false
	for _, f := range fw.filters {
		if now.After(f.until) {
			continue
		}
		kept = append(kept, f)
		if f.agentID == agentID && f.res.contains(res) {
			refused = true
		}
	}
	fw.filters = kept
	return refused
}

// lossState is the state a task gets when its agent or executor is lost.
func (fw *framework) lossState() mesos.TaskState {
	if fw != nil && fw.partitionAware() {
		return mesos.TASK_GONE
	}
	return mesos.TASK_LOST
}
