package mesostest

import (
	"crypto/subtle"
	"net/http"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// handleScheduler serves POST /api/v1/scheduler with Mesos' status codes:
// 307 from a non-leader, 401 without valid credentials, 415/406 for media
// types, 400 for malformed or invalid calls, 403 from an unsubscribed
// framework, 200 with a RecordIO stream for SUBSCRIBE and 202 otherwise.
func (m *Master) handleScheduler(w http.ResponseWriter, r *http.Request) {
	c := m.c
	c.mu.Lock()
	leading, leader := m.leading, c.leader
	c.mu.Unlock()
	if !leading {
		m.redirect(w, leader)
		return
	}
	principal, err := c.authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="mesos"`)
		writeError(w, err)
		return
	}
	format, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var call scheduler.Call
	if err := decodeBody(r, &call, "scheduler::Call"); err != nil {
		writeError(w, err)
		return
	}
	if err := validateCall(&call); err != nil {
		writeError(w, err)
		return
	}
	if call.Type == scheduler.Call_SUBSCRIBE {
		m.serveSubscribe(w, r, &call, principal, format)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !m.leading {
		m.redirect(w, c.leader)
		return
	}
	fw, err := m.callerLocked(r, &call, principal)
	if err != nil {
		writeError(w, err)
		return
	}
	c.stats.call(fw.id, call.Type.String())
	if err := m.dispatchLocked(fw, &call); err != nil {
		writeError(w, err)
		return
	}
	if call.Type == scheduler.Call_UPDATE_FRAMEWORK {
		w.WriteHeader(http.StatusOK) // the one synchronous call
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// authenticate checks HTTP basic credentials when the cluster has any.
func (c *Cluster) authenticate(r *http.Request) (string, error) {
	if len(c.opts.Credentials) == 0 {
		return "", nil
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", errorf(http.StatusUnauthorized, "Missing credentials: the scheduler endpoint requires HTTP basic authentication")
	}
	secret, known := c.opts.Credentials[user]
	if !known || subtle.ConstantTimeCompare([]byte(secret), []byte(pass)) != 1 {
		c.mu.Lock()
		c.stats.authFailures++
		c.mu.Unlock()
		return "", errorf(http.StatusUnauthorized, "Authentication failed for principal %q", user)
	}
	return user, nil
}

// validateCall checks what Mesos checks before looking at any state.
func validateCall(call *scheduler.Call) error {
	bad := func(format string, args ...any) error {
		return errorf(http.StatusBadRequest, "Failed to validate scheduler::Call: "+format, args...)
	}
	if call.Type == scheduler.Call_UNKNOWN {
		return bad("Expecting 'type' to be present")
	}
	if call.Type == scheduler.Call_SUBSCRIBE {
		if call.Subscribe == nil || call.Subscribe.FrameworkInfo == nil {
			return bad("Expecting 'subscribe' to be present")
		}
		fi := call.Subscribe.FrameworkInfo
		if fi.User == "" || fi.Name == "" {
			return bad("Expecting 'framework_info.user' and 'framework_info.name' to be present")
		}
		if call.FrameworkID != nil && (fi.ID == nil || fi.ID.Value != call.FrameworkID.Value) {
			return bad("'framework_id' differs from 'subscribe.framework_info.id'")
		}
		return nil
	}
	if call.FrameworkID == nil || call.FrameworkID.Value == "" {
		return bad("Expecting 'framework_id' to be present")
	}
	missing := map[scheduler.Call_Type]bool{
		scheduler.Call_ACCEPT:      call.Accept == nil,
		scheduler.Call_DECLINE:     call.Decline == nil,
		scheduler.Call_KILL:        call.Kill == nil,
		scheduler.Call_SHUTDOWN:    call.Shutdown == nil,
		scheduler.Call_ACKNOWLEDGE: call.Acknowledge == nil,
		scheduler.Call_RECONCILE:   call.Reconcile == nil,
		scheduler.Call_MESSAGE:     call.Message == nil,
	}
	if missing[call.Type] {
		return bad("Expecting '%s' to be present", lowerType(call.Type))
	}
	if call.Type == scheduler.Call_ACKNOWLEDGE && len(call.Acknowledge.UUID) != 16 {
		return bad("'acknowledge.uuid' is not a valid UUID (%d bytes)", len(call.Acknowledge.UUID))
	}
	return nil
}

func lowerType(t scheduler.Call_Type) string {
	b := []byte(t.String())
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

// callerLocked finds the framework a non-SUBSCRIBE call comes from and
// checks its stream id.
func (m *Master) callerLocked(r *http.Request, call *scheduler.Call, principal string) (*framework, error) {
	sid := r.Header.Get(headerStreamID)
	if sid == "" {
		return nil, errorf(http.StatusBadRequest, "All non-subscribe calls should include the '%s' header", headerStreamID)
	}
	id := call.FrameworkID.Value
	fw := m.frameworks[id]
	if fw == nil {
		return nil, errorf(http.StatusBadRequest, "Framework '%s' cannot be found", id)
	}
	if !fw.connected() {
		return nil, errorf(http.StatusForbidden, "Framework '%s' is not subscribed", id)
	}
	if fw.stream.id != sid {
		return nil, errorf(http.StatusBadRequest, "The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID '%s'", sid, id)
	}
	if principal != "" && fw.info.GetPrincipal() != principal {
		return nil, errorf(http.StatusForbidden, "Authenticated principal '%s' does not match principal '%s' of framework '%s'", principal, fw.info.GetPrincipal(), id)
	}
	return fw, nil
}

// sendLocked delivers an event to a framework if it is connected.
func (m *Master) sendLocked(fwID string, ev *scheduler.Event) bool {
	if m == nil || !m.leading {
		return false
	}
	fw := m.frameworks[fwID]
	if fw == nil || !fw.connected() {
		return false
	}
	return fw.stream.send(ev)
}
