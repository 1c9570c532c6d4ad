package yarn

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
)

// The AM's tracking URL serves the driver's UI once the driver has said
// where it is, so the ResourceManager's proxy (/proxy/<application>/)
// shows the UI, not the AM's one-line status; the driver API stays behind
// the secret, a malformed UI address is refused, and a driver UI that is
// gone answers 502.
func TestAMTrackingURLServesTheDriverUI(t *testing.T) {
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("driver UI page " + r.URL.Path + "?" + r.URL.RawQuery))
	}))
	defer ui.Close()
	m := &am{secret: "s3cret", wake: make(chan struct{}, 1), eventsCh: make(chan struct{}), maxFailures: -1, maxPerNode: 2}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := amServer(m.handler())
	go srv.Serve(lis)
	defer srv.Close()
	base := "http://" + lis.Addr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(req executorsRequest, secret string) int {
		t.Helper()
		body, _ := json.Marshal(req)
		r, _ := http.NewRequest("POST", base+"/v1/executors", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "Stoke application master") {
		t.Fatalf("before the driver: %d %q", code, body)
	}
	if code, _ := get("/jobs/"); code != 404 {
		t.Fatalf("a UI page before the driver said where its UI is: %d", code)
	}
	for _, bad := range []string{"ftp://x/", "http://", "not a url at all", "http://x/" + strings.Repeat("a", 3000)} {
		if code := post(executorsRequest{Target: 0, Cores: 1, MemoryMiB: 1, DriverUI: bad}, "s3cret"); code != 400 {
			t.Errorf("driverUI %.40q: %d, want 400", bad, code)
		}
	}
	if code := post(executorsRequest{Target: 0, Cores: 1, MemoryMiB: 1, DriverUI: ui.URL}, "wrong"); code != 401 {
		t.Fatalf("without the secret: %d", code)
	}
	if code := post(executorsRequest{Target: 0, Cores: 1, MemoryMiB: 1, DriverUI: ui.URL}, "s3cret"); code != 200 {
		t.Fatalf("with the secret: %d", code)
	}
	if code, body := get("/jobs/job/?id=3"); code != 200 || body != "driver UI page /jobs/job/?id=3" {
		t.Fatalf("the tracking URL's /jobs/job/?id=3: %d %q", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.HasPrefix(body, "driver UI page /") {
		t.Fatalf("the tracking URL: %d %q", code, body)
	}
	if code, _ := get("/v1/events?after=0&wait=0"); code != 401 {
		t.Fatalf("the driver API without the secret through the UI path: %d", code)
	}
	ui.Close()
	if code, body := get("/jobs/"); code != 502 || !strings.Contains(body, "does not answer") {
		t.Fatalf("the driver UI gone: %d %q", code, body)
	}
}

// After the end the RM links to the history server's page of the
// application when stoke.yarn.historyServer.address is set; a malformed
// address is refused with the key.
func TestFinalTrackingURL(t *testing.T) {
	for addr, want := range map[string]string{
		"":                          "",
		"history.example:18080":     "http://history.example:18080/history/application_1_0002/",
		"https://history.example/":  "https://history.example/history/application_1_0002/",
		"http://10.0.0.4:18080/sub": "http://10.0.0.4:18080/sub/history/application_1_0002/",
	} {
		if got := finalTrackingURL(addr, "application_1_0002"); got != want {
			t.Errorf("finalTrackingURL(%q) = %q, want %q", addr, got, want)
		}
	}
	for _, bad := range []string{"ftp://h:1", "http://", ":18080", "http://[::1"} {
		if err := conf.HistoryServerAddress(bad); err == nil {
			t.Errorf("history server address %q accepted", bad)
		}
	}
	c := conf.New()
	c.Set("stoke.yarn.historyServer.address", "ftp://h:1", conf.SourceConfFlag)
	if _, err := c.Validate(); err == nil || !strings.Contains(err.Error(), "stoke.yarn.historyServer.address") {
		t.Errorf("a malformed address in the configuration: %v", err)
	}
}

// A priority the cluster capped is said, with the key and the cluster's
// setting; one granted, or not asked, is not.
func TestPriorityCapped(t *testing.T) {
	report := func(p int32) *yarnpb.ApplicationReport {
		return &yarnpb.ApplicationReport{ApplicationId: &yarnpb.ApplicationId{ClusterTimestamp: proto.Int64(1), Id: proto.Int32(2)},
			Priority: &yarnpb.Priority{Priority: proto.Int32(p)}}
	}
	if w := PriorityCapped(3, report(0)); !strings.Contains(w, "priority 0, not the 3 asked (stoke.yarn.priority)") || !strings.Contains(w, "yarn.cluster.max-application-priority") {
		t.Errorf("capped: %q", w)
	}
	if w := PriorityCapped(3, report(3)); w != "" {
		t.Errorf("granted: %q", w)
	}
	if w := PriorityCapped(0, report(0)); w != "" {
		t.Errorf("not asked: %q", w)
	}
	if w := PriorityCapped(3, &yarnpb.ApplicationReport{}); w != "" {
		t.Errorf("a report without a priority (an older RM): %q", w)
	}
}
