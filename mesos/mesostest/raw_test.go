package mesostest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/stoke-run/stoke/mesos/internal/recordio"
)

// rawPost sends body as-is and returns the status, headers and body.
func rawPost(t *testing.T, url, contentType, accept, streamID, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if streamID != "" {
		req.Header.Set(headerStreamID, streamID)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// jsonStream subscribes with a raw JSON request and decodes the RecordIO
// stream with encoding/json.
type jsonStream struct {
	t        *testing.T
	resp     *http.Response
	rd       *recordio.Reader
	streamID string
}

func subscribeJSON(t *testing.T, url, body, accept string) *jsonStream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", mediaJSON)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("SUBSCRIBE: %s %s", resp.Status, b)
	}
	return &jsonStream{t: t, resp: resp, rd: recordio.NewReader(resp.Body, 0), streamID: resp.Header.Get(headerStreamID)}
}

func (s *jsonStream) next() map[string]any {
	s.t.Helper()
	rec, err := s.rd.ReadRecord()
	if err != nil {
		s.t.Fatalf("reading the stream: %v", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(rec, &ev); err != nil {
		s.t.Fatalf("event is not JSON: %v: %s", err, rec)
	}
	return ev
}

func (s *jsonStream) until(typ string) map[string]any {
	s.t.Helper()
	for {
		if ev := s.next(); ev["type"] == typ {
			return ev
		}
	}
}

const subscribeBody = `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"raw-json","failover_timeout":60}}}`

func TestRawJSONProtocol(t *testing.T) {
	c := Start(t, Options{HeartbeatInterval: 200 * time.Millisecond})
	url := c.SchedulerURL()
	s := subscribeJSON(t, url, subscribeBody, mediaJSON)
	if ct := s.resp.Header.Get("Content-Type"); ct != mediaJSON {
		t.Fatalf("Content-Type %q", ct)
	}
	if s.streamID == "" {
		t.Fatal("no Mesos-Stream-Id header")
	}
	ev := s.next()
	if ev["type"] != "SUBSCRIBED" {
		t.Fatalf("first event %v", ev)
	}
	sub := ev["subscribed"].(map[string]any)
	fwID := sub["framework_id"].(map[string]any)["value"].(string)
	if sub["heartbeat_interval_seconds"].(float64) != 0.2 || sub["master_info"] == nil {
		t.Fatalf("SUBSCRIBED %v", sub)
	}
	offers := s.until("OFFERS")["offers"].(map[string]any)["offers"].([]any)
	offerID := offers[0].(map[string]any)["id"].(map[string]any)["value"].(string)
	s.until("HEARTBEAT")

	decline := `{"framework_id":{"value":"` + fwID + `"},"type":"DECLINE","decline":{"offer_ids":[{"value":"` + offerID + `"}],"filters":{"refuse_seconds":60}}}`
	cases := []struct {
		name, ct, accept, sid, body string
		code                        int
		want                        string
	}{
		{"decline", mediaJSON, "", s.streamID, decline, 202, ""},
		{"no stream id", mediaJSON, "", "", decline, 400, "Mesos-Stream-Id"},
		{"wrong stream id", mediaJSON, "", "nope", decline, 400, "didn't match"},
		{"unknown framework", mediaJSON, "", s.streamID, strings.Replace(decline, fwID, "x-0001", 1), 400, "cannot be found"},
		{"no framework id", mediaJSON, "", s.streamID, `{"type":"REVIVE"}`, 400, "framework_id"},
		{"no type", mediaJSON, "", s.streamID, `{"framework_id":{"value":"` + fwID + `"}}`, 400, "'type'"},
		{"missing accept body", mediaJSON, "", s.streamID, `{"framework_id":{"value":"` + fwID + `"},"type":"ACCEPT"}`, 400, "'accept'"},
		{"malformed JSON", mediaJSON, "", s.streamID, `{"type":`, 400, "Failed to parse body into scheduler::Call JSON"},
		{"malformed protobuf", mediaProtobuf, "", s.streamID, "\xff\xff\xff", 400, "Failed to parse body into scheduler::Call protobuf"},
		{"bad enum", mediaJSON, "", s.streamID, `{"type":"EXPLODE"}`, 400, "Failed to parse"},
		{"content type", "text/plain", "", s.streamID, decline, 415, "Content-Type"},
		{"recordio request", mediaRecordIO, "", s.streamID, decline, 415, "Content-Type"},
		{"accept", mediaJSON, "text/html", s.streamID, decline, 406, "Accept"},
		{"stream id on subscribe", mediaJSON, "", s.streamID, subscribeBody, 400, "should not include"},
		{"subscribe without user", mediaJSON, "", "", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}`, 400, "user"},
	}
	for _, tc := range cases {
		code, _, body := rawPost(t, url, tc.ct, tc.accept, tc.sid, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: got %d %q, want %d containing %q", tc.name, code, body, tc.code, tc.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp.StatusCode, err)
	}
	if c.Counters().Declines != 1 {
		t.Errorf("declines %d", c.Counters().Declines)
	}
	// the decline's 60s filter holds: no new offer for this agent
	time.Sleep(300 * time.Millisecond)
	if fv, _ := c.Framework(fwID); fv.OfferEvents != 1 {
		t.Errorf("offers after a 60s decline: %d events", fv.OfferEvents)
	}
}

func TestRecordIOAcceptWithMessageAccept(t *testing.T) {
	c := Start(t, Options{})
	req, _ := http.NewRequest(http.MethodPost, c.SchedulerURL(), strings.NewReader(subscribeBody))
	req.Header.Set("Content-Type", mediaJSON)
	req.Header.Set("Accept", mediaRecordIO)
	req.Header.Set("Message-Accept", mediaProtobuf)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != mediaRecordIO || resp.Header.Get("Message-Content-Type") != mediaProtobuf {
		t.Fatalf("headers %v", resp.Header)
	}
	rec, err := recordio.NewReader(resp.Body, 0).ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	var ev scheduler.Event
	if err := proto.Unmarshal(rec, &ev); err != nil || ev.Type != scheduler.Event_SUBSCRIBED {
		t.Fatalf("event %v %v", ev.Type, err)
	}
}

func TestStandbyAnswers307(t *testing.T) {
	c := Start(t, Options{Masters: 2})
	leader, standby := c.Leader(), c.Standby()
	code, h, _ := rawPost(t, standby.SchedulerURL(), mediaJSON, mediaJSON, "", subscribeBody)
	if code != http.StatusTemporaryRedirect || h.Get("Location") != "//"+leader.Addr()+"/api/v1/scheduler" {
		t.Fatalf("standby: %d Location %q", code, h.Get("Location"))
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(standby.URL() + "/master/redirect")
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "//"+leader.Addr() {
		t.Fatalf("/master/redirect: %v %v", resp, err)
	}
	resp.Body.Close()
	// after a failover the old leader redirects to the new one
	newLeader := c.FailoverMaster()
	code, h, _ = rawPost(t, leader.SchedulerURL(), mediaJSON, mediaJSON, "", subscribeBody)
	if code != http.StatusTemporaryRedirect || !strings.Contains(h.Get("Location"), newLeader.Addr()) {
		t.Fatalf("old leader: %d %q", code, h.Get("Location"))
	}
	c.LoseLeadership()
	if code, _, _ = rawPost(t, leader.SchedulerURL(), mediaJSON, mediaJSON, "", subscribeBody); code != http.StatusServiceUnavailable {
		t.Fatalf("no leader: %d", code)
	}
}

func TestAuthenticationRequired(t *testing.T) {
	c := Start(t, Options{Credentials: map[string]string{"p": "s"}})
	code, h, body := rawPost(t, c.SchedulerURL(), mediaJSON, mediaJSON, "", subscribeBody)
	if code != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" || !strings.Contains(body, "credentials") {
		t.Fatalf("no credentials: %d %q %v", code, body, h)
	}
	req, _ := http.NewRequest(http.MethodPost, c.SchedulerURL(), strings.NewReader(subscribeBody))
	req.Header.Set("Content-Type", mediaJSON)
	req.SetBasicAuth("p", "s")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// right secret, but FrameworkInfo.principal does not match
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("principal mismatch: %d", resp.StatusCode)
	}
	if c.Counters().AuthFailures != 0 {
		t.Fatalf("auth failures %d", c.Counters().AuthFailures)
	}
}

// A stream cut mid-frame is reported as a malformed frame, not as an event.
func TestTruncatedStreamIsAnError(t *testing.T) {
	var buf bytes.Buffer
	w := recordio.NewWriter(&buf)
	ev, _ := proto.Marshal(heartbeatEvent())
	_ = w.WriteRecord(ev)
	buf.WriteString("120\n{partial")
	rd := recordio.NewReader(&buf, 0)
	if _, err := rd.ReadRecord(); err != nil {
		t.Fatal(err)
	}
	_, err := rd.ReadRecord()
	if err == nil || !strings.Contains(err.Error(), "announced 120 bytes") {
		t.Fatalf("got %v", err)
	}
}

func TestTestFrameworkAuthenticates(t *testing.T) {
	c := Start(t, Options{Credentials: map[string]string{"stoke": "pw"}})
	f := StartFramework(t, c, mesos.FrameworkInfo{Principal: ptr("stoke")})
	if _, err := f.WaitOffer(5*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	f.WithBasicAuth("stoke", "bad")
	if err := f.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong secret: %v", err)
	}
	if c.Counters().AuthFailures != 1 {
		t.Fatalf("auth failures %d", c.Counters().AuthFailures)
	}
}
