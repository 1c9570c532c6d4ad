package mesostest

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// stats are the cluster's counters and histories, guarded by Cluster.mu.
type stats struct {
	leaderChanges, authFailures              int
	rescinds, declines, accepts, launched    int
	taskErrors, updatesSent, acks, staleAcks int
	warnings                                 []string
	duplicateUpdates                         int
	frameworks                               map[string]*frameworkStats
	usage                                    []UsageSample
	last                                     map[string]Usage // by frameworkID/agentID
}

type frameworkStats struct {
	subscribes  int
	offerEvents int
	offers      int
	offeredCPUs float64
	calls       map[string]int
	removed     string
	states      map[string][]mesos.TaskState
}

func (s *stats) init() {
	s.frameworks = map[string]*frameworkStats{}
	s.last = map[string]Usage{}
}

func (s *stats) fw(id string) *frameworkStats {
	f := s.frameworks[id]
	if f == nil {
		f = &frameworkStats{calls: map[string]int{}, states: map[string][]mesos.TaskState{}}
		s.frameworks[id] = f
	}
	return f
}

func (s *stats) subscribed(id string)            { s.fw(id).subscribes++ }
func (s *stats) call(id, typ string)             { s.fw(id).calls[typ]++ }
func (s *stats) frameworkRemoved(id, why string) { s.fw(id).removed = why }
func (s *stats) statusUpdate(fwID, taskID string, st mesos.TaskState) {
	f := s.fw(fwID)
	h := f.states[taskID]
	if len(h) == 0 || h[len(h)-1] != st {
		f.states[taskID] = append(h, st)
	}
}

func (s *stats) offered(id string, offers []mesos.Offer) {
	f := s.fw(id)
	f.offerEvents++
	f.offers += len(offers)
	for _, o := range offers {
		r, _ := fromProto(o.Resources)
		f.offeredCPUs += r.scalar("cpus")
	}
}

// recordUsage appends a sample when what fwID holds on a changed.
func (s *stats) recordUsage(a *Agent, fwID string) {
	used := a.usedByLocked(fwID)
	u := Usage{CPUs: used.scalar("cpus"), MemMB: used.scalar("mem")}
	k := key(fwID, a.id)
	if prev, ok := s.last[k]; ok && prev == u {
		return
	}
	s.last[k] = u
	s.usage = append(s.usage, UsageSample{Time: time.Now(), FrameworkID: fwID, AgentID: a.id, Usage: u})
}
