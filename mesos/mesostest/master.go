package mesostest

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Master is one master of the cluster. Only the leading master serves the
// scheduler API; the others answer 307 with the leader's address.
type Master struct {
	c     *Cluster
	index int
	ln    net.Listener
	srv   *http.Server
	addr  string // host:port

	// guarded by c.mu
	leading    bool
	id         string // changes at every promotion, as a new leader's does
	frameworks map[string]*framework
	offers     map[string]*offer
	removed    map[string]bool // torn-down framework ids
	nextFw     int
	nextOffer  int
	nextAlloc  time.Time
}

func newMaster(c *Cluster, index int) (*Master, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("master %d: %w", index, err)
	}
	m := &Master{c: c, index: index, ln: ln, addr: ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/scheduler", m.handleScheduler)
	mux.HandleFunc("/master/redirect", m.handleRedirect)
	mux.HandleFunc("/redirect", m.handleRedirect)
	mux.HandleFunc("/master/state", m.handleState(false))
	mux.HandleFunc("/master/state.json", m.handleState(false))
	mux.HandleFunc("/master/frameworks", m.handleState(true))
	mux.HandleFunc("/master/tasks", m.handleView(m.tasksLocked))
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = m.srv.Serve(ln) }()
	return m, nil
}

// Addr is the master's host:port.
func (m *Master) Addr() string { return m.addr }

// URL is the master's base URL, http://host:port.
func (m *Master) URL() string { return "http://" + m.addr }

// MesosURL is the master as a Stoke master URL, mesos://host:port.
func (m *Master) MesosURL() string { return "mesos://" + m.addr }

// SchedulerURL is the master's scheduler API endpoint.
func (m *Master) SchedulerURL() string { return m.URL() + "/api/v1/scheduler" }

// Leading reports whether this master currently leads.
func (m *Master) Leading() bool {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return m.leading
}

func (m *Master) close() { _ = m.srv.Close() }

func (m *Master) info() *mesos.MasterInfo {
	host, port, _ := net.SplitHostPort(m.addr)
	p, _ := strconv.Atoi(port)
	return &mesos.MasterInfo{
		ID:       m.id,
		IP:       0x0100007f, // 127.0.0.1 in network order, as Mesos encodes it
		Port:     ptr(uint32(p)),
		Hostname: &host,
		Version:  ptr("1.11.0"),
		Address:  &mesos.Address{Hostname: &host, IP: &host, Port: int32(p)},
	}
}

func ptr[T any](v T) *T { return &v }

// promoteLocked makes m the leader and rebuilds its state from the agents'
// re-registration: running tasks are kept, and their frameworks are known
// but disconnected until they subscribe again.
func (m *Master) promoteLocked() {
	m.leading = true
	m.id = fmt.Sprintf("%08x-0000-4000-8000-%012d", time.Now().UnixNano()&0xffffffff, m.index)
	m.frameworks = map[string]*framework{}
	m.offers = map[string]*offer{}
	m.removed = map[string]bool{}
	for _, a := range m.c.agents {
		if a.removed {
			continue
		}
		for fwID, info := range a.frameworks {
			if m.frameworks[fwID] == nil && !a.goneFrameworks[fwID] && len(a.executorsOfLocked(fwID)) > 0 {
				m.frameworks[fwID] = newFramework(fwID, info)
				m.frameworks[fwID].recovered = true
			}
		}
	}
	m.c.stats.leaderChanges++
}

// demoteLocked drops every stream and forgets all state.
func (m *Master) demoteLocked() {
	m.leading = false
	for _, fw := range m.frameworks {
		fw.stream.close(true)
	}
	m.frameworks = nil
	m.offers = nil
	m.removed = nil
}

func (m *Master) handleRedirect(w http.ResponseWriter, r *http.Request) {
	m.c.mu.Lock()
	leader := m.c.leader
	m.c.mu.Unlock()
	if leader == nil {
		http.Error(w, "No leader elected", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Location", "//"+leader.addr)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// redirectLocked answers a call to a non-leading master as Mesos does.
func (m *Master) redirect(w http.ResponseWriter, leader *Master) {
	if leader == nil {
		http.Error(w, "No leader elected", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Location", "//"+leader.addr+"/api/v1/scheduler")
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// tickLocked runs the leader's periodic duties.
func (m *Master) tickLocked(now time.Time) {
	hb := m.c.opts.HeartbeatInterval
	for id, fw := range m.frameworks {
		if fw.connected() {
			fw.stream.heartbeat(heartbeatEvent(), hb, now)
		}
		if !fw.connected() && !fw.recovered && !fw.failoverDeadline.IsZero() && now.After(fw.failoverDeadline) {
			m.c.logf("framework %s did not fail over within %v; removing it", id, fw.failoverTimeout())
			m.removeFrameworkLocked(fw, "failover timeout")
		}
	}
	if t := m.c.opts.OfferTimeout; t > 0 {
		for _, o := range m.offers {
			if now.Sub(o.created) > t {
				m.rescindLocked(o)
			}
		}
	}
	if !now.Before(m.nextAlloc) {
		m.allocateLocked(now)
		m.nextAlloc = now.Add(m.c.opts.AllocationInterval)
	}
}
