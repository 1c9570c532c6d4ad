package mesos_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mesosproto "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/recordio"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// silentMaster answers SUBSCRIBE with SUBSCRIBED (heartbeat every 100ms)
// and then never sends another event, as a master whose connection hangs.
type silentMaster struct {
	mu         sync.Mutex
	subscribes []time.Time
	ids        []string
}

func (m *silentMaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/master/redirect":
		w.Header().Set("Location", "//"+r.Host)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	case "/api/v1/scheduler":
	default:
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var call scheduler.Call
	if err := call.Unmarshal(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if call.Type != scheduler.Call_SUBSCRIBE {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	m.mu.Lock()
	m.subscribes = append(m.subscribes, time.Now())
	m.ids = append(m.ids, call.GetSubscribe().GetFrameworkInfo().GetID().GetValue())
	m.mu.Unlock()
	hb := 0.1
	ev := scheduler.Event{Type: scheduler.Event_SUBSCRIBED, Subscribed: &scheduler.Event_Subscribed{
		FrameworkID: &mesosproto.FrameworkID{Value: "fw-silent"}, HeartbeatIntervalSeconds: &hb}}
	b, _ := ev.Marshal()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Header().Set("Mesos-Stream-Id", "stream-1")
	w.WriteHeader(http.StatusOK)
	recordio.NewWriter(w).WriteFrame(b)
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// Missed heartbeats end the subscription; the framework subscribes again
// with its id, with backoff rather than in a tight loop.
func TestMissedHeartbeatsResubscribe(t *testing.T) {
	m := &silentMaster{}
	srv := httptest.NewServer(m)
	defer srv.Close()
	b := newBackend(t, map[string]string{
		"stoke.master":                "mesos://" + strings.TrimPrefix(srv.URL, "http://"),
		"stoke.mesos.heartbeatMisses": "3",
		"stoke.mesos.failoverTimeout": "60s",
	})
	if err := b.Start(context.Background(), nopDriver{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	b.Stop(context.Background())
	m.mu.Lock()
	defer m.mu.Unlock()
	// 300ms of silence, then backoff of at least 125ms doubling: a few
	// subscriptions in 3s, never dozens.
	if n := len(m.subscribes); n < 2 || n > 8 {
		t.Fatalf("%d SUBSCRIBEs in 3s, want between 2 and 8 (%v)", n, m.subscribes)
	}
	for i, id := range m.ids[1:] {
		if id != "fw-silent" {
			t.Fatalf("re-subscription %d with framework id %q, want fw-silent", i+1, id)
		}
	}
}
