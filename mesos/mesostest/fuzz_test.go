package mesostest

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// FuzzSchedulerCallBody posts arbitrary bodies, as protobuf and as JSON, to
// the scheduler endpoint: the answer is always a clear 4xx (or a valid
// 200/202), never a 5xx or a crash.
func FuzzSchedulerCallBody(f *testing.F) {
	sub, _ := proto.Marshal(&scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{
		FrameworkInfo: &mesos.FrameworkInfo{User: "u", Name: "n"}}})
	rev, _ := proto.Marshal(&scheduler.Call{Type: scheduler.Call_REVIVE, FrameworkID: &mesos.FrameworkID{Value: "x"}})
	for _, s := range [][]byte{sub, rev, []byte(`{"type":"SUBSCRIBE"}`), []byte(`{"type":"ACCEPT","accept":{"offer_ids":[{}]}}`),
		[]byte("\x08\x02\x1a\x00"), []byte("{"), nil} {
		f.Add(s, true)
		f.Add(s, false)
	}
	c := Start(f, Options{})
	url := c.SchedulerURL()
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := mediaProtobuf
		if asJSON {
			ct = mediaJSON
		}
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Accept", ct)
		req.Header.Set(headerStreamID, "fuzz")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 500 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%d for %q: %s", resp.StatusCode, body, b)
		}
		if resp.StatusCode >= 400 {
			if b, _ := io.ReadAll(resp.Body); len(b) == 0 {
				t.Fatalf("%d without an explanation", resp.StatusCode)
			}
		}
	})
}
