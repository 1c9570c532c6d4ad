package mesostest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/stoke-run/stoke/mesos/internal/recordio"
)

// TestFramework is a minimal second framework for tests: it subscribes
// (following 307 redirects), records every event, acknowledges status
// updates, and holds its offers until told what to do with them. It speaks
// protobuf over plain net/http, independently of mesos-go's client.
type TestFramework struct {
	tb       testing.TB
	endpoint string
	client   *http.Client
	user     string
	pass     string

	mu        sync.Mutex
	info      mesos.FrameworkInfo
	id        string
	streamID  string
	events    []*scheduler.Event
	offers    map[string]mesos.Offer // outstanding
	changed   chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
	streamErr error
	autoAck   bool // acknowledge every update that carries a uuid
}

// StartFramework subscribes a TestFramework to the cluster's leader. Empty
// User and Name in info are filled in; when info.Principal has credentials
// in the cluster's Options they are used for HTTP basic authentication.
func StartFramework(tb testing.TB, c *Cluster, info mesos.FrameworkInfo) *TestFramework {
	tb.Helper()
	if info.User == "" {
		info.User = "mesostest"
	}
	if info.Name == "" {
		info.Name = "mesostest-framework"
	}
	f := &TestFramework{tb: tb, endpoint: c.SchedulerURL(), client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		info: info, offers: map[string]mesos.Offer{}, changed: make(chan struct{}), autoAck: true}
	if secret, ok := c.opts.Credentials[info.GetPrincipal()]; ok {
		f.user, f.pass = info.GetPrincipal(), secret
	}
	if err := f.Subscribe(); err != nil {
		tb.Fatalf("test framework: %v", err)
	}
	tb.Cleanup(f.Disconnect)
	return f
}

// WithBasicAuth sets the credentials later calls and subscriptions use.
func (f *TestFramework) WithBasicAuth(principal, secret string) *TestFramework {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.user, f.pass = principal, secret
	return f
}

// SetAutoAck turns automatic acknowledgement of updates on or off.
func (f *TestFramework) SetAutoAck(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.autoAck = on
}

// ID is the framework id (empty before the first SUBSCRIBED).
func (f *TestFramework) ID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.id
}

func (f *TestFramework) post(ctx context.Context, endpoint string, call *scheduler.Call, streamID string) (*http.Response, error) {
	body, err := proto.Marshal(call)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mediaProtobuf)
	req.Header.Set("Accept", mediaProtobuf)
	if streamID != "" {
		req.Header.Set(headerStreamID, streamID)
	}
	f.mu.Lock()
	if f.user != "" {
		req.SetBasicAuth(f.user, f.pass)
	}
	f.mu.Unlock()
	return f.client.Do(req)
}

// Subscribe (re)subscribes, with the framework id once it has one, and
// starts reading the new stream. It follows up to 5 redirects.
func (f *TestFramework) Subscribe() error {
	f.Disconnect()
	f.mu.Lock()
	info := f.info
	if f.id != "" {
		info.ID = &mesos.FrameworkID{Value: f.id}
	}
	endpoint := f.endpoint
	f.mu.Unlock()
	call := &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: &info}}
	if info.ID != nil {
		call.FrameworkID = info.ID
	}
	ctx, cancel := context.WithCancel(context.Background())
	var resp *http.Response
	var err error
	for i := 0; ; i++ {
		resp, err = f.post(ctx, endpoint, call, "")
		if err != nil {
			cancel()
			return err
		}
		if resp.StatusCode != http.StatusTemporaryRedirect || i >= 5 {
			break
		}
		loc, perr := url.Parse(resp.Header.Get("Location"))
		resp.Body.Close()
		if perr != nil || loc.Host == "" {
			cancel()
			return fmt.Errorf("bad redirect Location %q", resp.Header.Get("Location"))
		}
		u, _ := url.Parse(endpoint)
		u.Host = loc.Host
		endpoint = u.String()
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return fmt.Errorf("SUBSCRIBE: %s: %s", resp.Status, b)
	}
	done := make(chan struct{})
	f.mu.Lock()
	f.endpoint, f.streamID, f.cancel, f.done, f.streamErr = endpoint, resp.Header.Get(headerStreamID), cancel, done, nil
	from := len(f.events)
	f.mu.Unlock()
	go f.read(resp.Body, done)
	return f.awaitSubscribed(from)
}

// awaitSubscribed waits for SUBSCRIBED (or ERROR) after event index from.
func (f *TestFramework) awaitSubscribed(from int) error {
	deadline := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		evs, ch, serr := f.events[from:], f.changed, f.streamErr
		from = len(f.events)
		f.mu.Unlock()
		for _, ev := range evs {
			switch ev.Type {
			case scheduler.Event_SUBSCRIBED:
				return nil
			case scheduler.Event_ERROR:
				return fmt.Errorf("subscription refused: %s", ev.Error.Message)
			}
		}
		if serr != nil {
			return fmt.Errorf("stream ended before SUBSCRIBED: %w", serr)
		}
		select {
		case <-ch:
		case <-deadline:
			return errors.New("timed out waiting for SUBSCRIBED")
		}
	}
}

func (f *TestFramework) read(body io.ReadCloser, done chan struct{}) {
	defer close(done)
	defer body.Close()
	rd := recordio.NewReader(body, 0)
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			f.mu.Lock()
			f.streamErr = err
			f.notifyLocked()
			f.mu.Unlock()
			return
		}
		ev := &scheduler.Event{}
		if err := proto.Unmarshal(rec, ev); err != nil {
			f.mu.Lock()
			f.streamErr = fmt.Errorf("decoding event at byte %d: %w", rd.Offset(), err)
			f.notifyLocked()
			f.mu.Unlock()
			return
		}
		f.handle(ev)
	}
}

func (f *TestFramework) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *TestFramework) handle(ev *scheduler.Event) {
	f.mu.Lock()
	f.events = append(f.events, ev)
	var ack *scheduler.Call
	switch ev.Type {
	case scheduler.Event_SUBSCRIBED:
		f.id = ev.Subscribed.FrameworkID.Value
		f.offers = map[string]mesos.Offer{}
	case scheduler.Event_OFFERS:
		for _, o := range ev.Offers.Offers {
			f.offers[o.ID.Value] = o
		}
	case scheduler.Event_RESCIND:
		delete(f.offers, ev.Rescind.OfferID.Value)
	case scheduler.Event_UPDATE:
		st := ev.Update.Status
		if f.autoAck && len(st.UUID) > 0 {
			ack = &scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
				AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID}}
		}
	}
	f.notifyLocked()
	f.mu.Unlock()
	if ack != nil {
		_ = f.Call(ack)
	}
}

// Call sends a call with the framework id and stream id filled in; it
// returns an error unless the master answers 202.
func (f *TestFramework) Call(call *scheduler.Call) error {
	f.mu.Lock()
	id, sid, endpoint := f.id, f.streamID, f.endpoint
	f.mu.Unlock()
	if call.FrameworkID == nil {
		call.FrameworkID = &mesos.FrameworkID{Value: id}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := f.post(ctx, endpoint, call, sid)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%v: %s: %s", call.Type, resp.Status, b)
	}
	return nil
}

// Events returns every event received so far.
func (f *TestFramework) Events() []*scheduler.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*scheduler.Event(nil), f.events...)
}

// Offers returns the outstanding offers.
func (f *TestFramework) Offers() []mesos.Offer {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []mesos.Offer
	for _, o := range f.offers {
		out = append(out, o)
	}
	return out
}

// Updates returns every status update received, in order.
func (f *TestFramework) Updates() []mesos.TaskStatus {
	var out []mesos.TaskStatus
	for _, ev := range f.Events() {
		if ev.Type == scheduler.Event_UPDATE {
			out = append(out, ev.Update.Status)
		}
	}
	return out
}

// StreamErr is why the last stream ended (nil while it is open).
func (f *TestFramework) StreamErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streamErr
}

// WaitEvent returns the first event, among those received so far and
// later, that satisfies match.
func (f *TestFramework) WaitEvent(timeout time.Duration, match func(*scheduler.Event) bool) (*scheduler.Event, error) {
	deadline := time.After(timeout)
	seen := 0
	for {
		f.mu.Lock()
		evs, ch := f.events[seen:], f.changed
		seen = len(f.events)
		f.mu.Unlock()
		for _, ev := range evs {
			if match(ev) {
				return ev, nil
			}
		}
		select {
		case <-ch:
		case <-deadline:
			return nil, errors.New("timed out waiting for an event")
		}
	}
}

// WaitOffer waits until an outstanding offer satisfies match.
func (f *TestFramework) WaitOffer(timeout time.Duration, match func(mesos.Offer) bool) (mesos.Offer, error) {
	deadline := time.After(timeout)
	for {
		f.mu.Lock()
		ch := f.changed
		for _, o := range f.offers {
			if match == nil || match(o) {
				f.mu.Unlock()
				return o, nil
			}
		}
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			return mesos.Offer{}, errors.New("timed out waiting for an offer")
		}
	}
}

// WaitState waits for an update of taskID in state.
func (f *TestFramework) WaitState(timeout time.Duration, taskID string, state mesos.TaskState) (mesos.TaskStatus, error) {
	ev, err := f.WaitEvent(timeout, func(ev *scheduler.Event) bool {
		return ev.Type == scheduler.Event_UPDATE && ev.Update.Status.TaskID.Value == taskID && ev.Update.Status.GetState() == state
	})
	if err != nil {
		return mesos.TaskStatus{}, fmt.Errorf("task %s never reached %v: %w", taskID, state, err)
	}
	return ev.Update.Status, nil
}

// Decline declines offers with a refuse filter.
func (f *TestFramework) Decline(refuse time.Duration, ids ...mesos.OfferID) error {
	f.forget(ids)
	return f.Call(&scheduler.Call{Type: scheduler.Call_DECLINE, Decline: &scheduler.Call_Decline{OfferIDs: ids,
		Filters: &mesos.Filters{RefuseSeconds: ptr(refuse.Seconds())}}})
}

// Launch accepts one offer with a LAUNCH of tasks.
func (f *TestFramework) Launch(o mesos.Offer, refuse time.Duration, tasks ...mesos.TaskInfo) error {
	f.forget([]mesos.OfferID{o.ID})
	return f.Call(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs:   []mesos.OfferID{o.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks}}},
		Filters:    &mesos.Filters{RefuseSeconds: ptr(refuse.Seconds())}}})
}

func (f *TestFramework) forget(ids []mesos.OfferID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		delete(f.offers, id.Value)
	}
}

// Teardown sends TEARDOWN.
func (f *TestFramework) Teardown() error {
	return f.Call(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
}

// Disconnect closes the event stream (the framework stays registered
// until its failover timeout).
func (f *TestFramework) Disconnect() {
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.cancel, f.done = nil, nil
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// OfferedCPUs sums the cpus of the outstanding offers.
func (f *TestFramework) OfferedCPUs() float64 {
	s := 0.0
	for _, o := range f.Offers() {
		r, _ := fromProto(o.Resources)
		s += r.scalar("cpus")
	}
	return s
}
