package mesostest

import (
	"fmt"
	"net/http"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// serveSubscribe registers (or fails over) a framework and streams its
// events until the connection ends.
func (m *Master) serveSubscribe(w http.ResponseWriter, r *http.Request, call *scheduler.Call, principal string, format responseFormat) {
	c := m.c
	if r.Header.Get(headerStreamID) != "" {
		writeError(w, errorf(http.StatusBadRequest, "Subscribe calls should not include the '%s' header", headerStreamID))
		return
	}
	info := *call.Subscribe.FrameworkInfo
	if principal != "" && info.GetPrincipal() != principal {
		writeError(w, errorf(http.StatusBadRequest, "Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`", principal, info.GetPrincipal()))
		return
	}
	stream := newEventStream(uuidString(newUUID()), format)
	c.mu.Lock()
	if !m.leading {
		leader := c.leader
		c.mu.Unlock()
		m.redirect(w, leader)
		return
	}
	fw := m.subscribeLocked(info, call.Subscribe.SuppressedRoles, stream)
	c.mu.Unlock()

	gone := stream.serve(w, r)

	c.mu.Lock()
	if gone && m.leading && fw != nil && fw.stream == stream {
		m.disconnectLocked(fw)
	}
	c.mu.Unlock()
	if stream.aborted() {
		panic(http.ErrAbortHandler)
	}
}

// subscribeLocked attaches stream to a new or failed-over framework and
// queues SUBSCRIBED. It returns nil (after queueing ERROR) when the
// framework may not subscribe.
func (m *Master) subscribeLocked(info mesos.FrameworkInfo, suppressed []string, stream *eventStream) *framework {
	c := m.c
	var fw *framework
	if info.ID != nil && info.ID.Value != "" {
		id := info.ID.Value
		if m.removed[id] {
			stream.send(errorEvent(fmt.Sprintf("Framework %s has been removed", id)))
			stream.close(false)
			return nil
		}
		fw = m.frameworks[id]
		if fw != nil {
			if fw.connected() {
				fw.stream.send(errorEvent("Framework failed over"))
				fw.stream.close(false)
			}
			// rescind what the old instance held
			for _, o := range m.offers {
				if o.frameworkID == id {
					delete(m.offers, o.id)
				}
			}
			fw.info = info
		} else {
			fw = newFramework(id, info)
			m.frameworks[id] = fw
		}
	} else {
		m.nextFw++
		id := fmt.Sprintf("%s-%04d", m.id, m.nextFw)
		fw = newFramework(id, info)
		m.frameworks[id] = fw
	}
	fw.stream = stream
	fw.recovered = false
	fw.failoverDeadline = time.Time{}
	fw.suppressed = map[string]bool{}
	for _, r := range suppressed {
		fw.suppressed[r] = true
	}
	hb := c.opts.HeartbeatInterval.Seconds()
	stream.send(&scheduler.Event{Type: scheduler.Event_SUBSCRIBED, Subscribed: &scheduler.Event_Subscribed{
		FrameworkID:              &mesos.FrameworkID{Value: fw.id},
		HeartbeatIntervalSeconds: &hb,
		MasterInfo:               m.info(),
	}})
	c.stats.subscribed(fw.id)
	c.logf("framework %s (%s) subscribed to master %s", fw.id, info.Name, m.addr)
	for _, a := range c.agents {
		if !a.removed {
			a.adoptFrameworkLocked(fw.id, fw.info)
			a.resendUpdatesLocked(fw.id)
		}
	}
	m.c.allocateNowLocked()
	return fw
}

// disconnectLocked marks fw disconnected after its stream ended, starting
// its failover timeout (an immediate teardown for a timeout of 0).
func (m *Master) disconnectLocked(fw *framework) {
	fw.stream.close(false)
	fw.stream = nil
	for _, o := range m.offers {
		if o.frameworkID == fw.id {
			delete(m.offers, o.id)
		}
	}
	if fw.failoverTimeout() <= 0 {
		m.c.logf("framework %s disconnected with failover_timeout 0; removing it", fw.id)
		m.removeFrameworkLocked(fw, "disconnected")
		return
	}
	fw.failoverDeadline = time.Now().Add(fw.failoverTimeout())
	m.c.logf("framework %s disconnected; failover timeout %v", fw.id, fw.failoverTimeout())
}

// removeFrameworkLocked tears fw down: its tasks are killed, its executors
// shut down, and it may never subscribe again.
func (m *Master) removeFrameworkLocked(fw *framework, why string) {
	fw.stream.close(false)
	fw.stream = nil
	for _, o := range m.offers {
		if o.frameworkID == fw.id {
			delete(m.offers, o.id)
		}
	}
	delete(m.frameworks, fw.id)
	m.removed[fw.id] = true
	for _, a := range m.c.agents {
		a.removeFrameworkLocked(fw.id)
	}
	m.c.stats.frameworkRemoved(fw.id, why)
}
