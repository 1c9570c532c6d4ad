package mesostest

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// offer is one outstanding offer of an agent's resources to a framework.
type offer struct {
	id          string
	frameworkID string
	agentID     string
	res         resources
	role        string
	created     time.Time
}

// allocateLocked offers each agent's free resources (all of them, in one
// offer) to the connected, unsuppressed framework with the smallest CPU
// allocation whose filters do not refuse them, as the hierarchical DRF
// allocator does for a single role tree.
func (m *Master) allocateLocked(now time.Time) {
	batches := map[string][]mesos.Offer{}
	for _, a := range m.c.agents {
		if a.removed {
			continue
		}
		free := a.freeLocked()
		for _, o := range m.offers {
			if o.agentID == a.id {
				free = free.minus(o.res)
			}
		}
		if free.scalar("cpus") < 0.01 && free.scalar("mem") < 32 {
			continue
		}
		fw := m.pickFrameworkLocked(a, free, now)
		if fw == nil {
			continue
		}
		m.nextOffer++
		o := &offer{id: fmt.Sprintf("%s-O%d", m.id, m.nextOffer), frameworkID: fw.id, agentID: a.id, res: free, role: fw.offerRole(), created: now}
		m.offers[o.id] = o
		batches[fw.id] = append(batches[fw.id], m.offerProtoLocked(fw, a, o))
	}
	for fwID, offers := range batches {
		if m.sendLocked(fwID, &scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: offers}}) {
			m.c.stats.offered(fwID, offers)
		} else {
			for _, o := range offers {
				delete(m.offers, o.ID.Value)
			}
		}
	}
}

func (m *Master) pickFrameworkLocked(a *Agent, free resources, now time.Time) *framework {
	var cands []*framework
	for _, fw := range m.frameworks {
		if !fw.connected() || fw.offerRole() == "" {
			continue
		}
		if free.scalar("gpus") > 0 && !fw.hasCapability(mesos.FrameworkInfo_Capability_GPU_RESOURCES) {
			continue
		}
		if fw.filtered(a.id, free, now) {
			continue
		}
		cands = append(cands, fw)
	}
	if len(cands) == 0 {
		return nil
	}
	share := func(fw *framework) float64 {
		s := m.c.allocatedCPUsLocked(fw.id)
		for _, o := range m.offers {
			if o.frameworkID == fw.id {
				s += o.res.scalar("cpus")
			}
		}
		return s
	}
	sort.Slice(cands, func(i, j int) bool {
		si, sj := share(cands[i]), share(cands[j])
		if si != sj {
			return si < sj
		}
		return cands[i].id < cands[j].id
	})
	return cands[0]
}

func (m *Master) offerProtoLocked(fw *framework, a *Agent, o *offer) mesos.Offer {
	role := ""
	if fw.multiRole() {
		role = o.role
	}
	host, port := a.hostPort()
	pb := mesos.Offer{
		ID:          mesos.OfferID{Value: o.id},
		FrameworkID: mesos.FrameworkID{Value: fw.id},
		AgentID:     mesos.AgentID{Value: a.id},
		Hostname:    a.spec.Hostname,
		URL: &mesos.URL{Scheme: "http", Address: mesos.Address{Hostname: &a.spec.Hostname, IP: &host, Port: port},
			Path: ptr("/slave(1)")},
		Resources:  o.res.toProto(role),
		Attributes: append([]mesos.Attribute(nil), a.spec.Attributes...),
	}
	if fw.hasCapability(mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT) {
		// the post-refinement format: unreserved resources carry no role
		for i := range pb.Resources {
			pb.Resources[i].Role = nil
		}
	}
	if role != "" {
		pb.AllocationInfo = &mesos.Resource_AllocationInfo{Role: &role}
	}
	for _, e := range a.executorsOfLocked(fw.id) {
		if !e.command {
			pb.ExecutorIDs = append(pb.ExecutorIDs, mesos.ExecutorID{Value: e.id})
		}
	}
	return pb
}

// rescindLocked withdraws an outstanding offer.
func (m *Master) rescindLocked(o *offer) {
	delete(m.offers, o.id)
	m.sendLocked(o.frameworkID, rescindEvent(o.id))
	m.c.stats.rescinds++
}

// refuseLocked installs a filter for resources a framework left unused.
func (fw *framework) refuse(agentID string, res resources, filters *mesos.Filters, now time.Time) {
	secs := filters.GetRefuseSeconds() // 5 when unset, as in mesos.proto
	if secs <= 0 || res.empty() {
		return
	}
	if secs > 31536000 {
		secs = 31536000
	}
	fw.filters = append(fw.filters, offerFilter{agentID: agentID, res: res, until: now.Add(time.Duration(secs * float64(time.Second)))})
}

func portOf(addr string) int32 {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			p, _ := strconv.Atoi(addr[i+1:])
			return int32(p)
		}
	}
	return 0
}
