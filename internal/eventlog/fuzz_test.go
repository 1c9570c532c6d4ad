package eventlog

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stoke-run/stoke/internal/events"
)

// Any log is read up to its first malformed line, which is named; every
// event delivered re-encodes to a line that decodes to the same line again.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		`{"Event":"ApplicationStart","appId":"app-1","appName":"x","time":"2024-01-01T00:00:00Z"}` + "\n" + `{"Event":"JobStart","jobId":1,"stageIds":[0,1]}` + "\n",
		`{"Event":"TaskEnd","stageId":0,"taskId":3,"status":"SUCCESS","durationNs":12}` + "\n\n" + `{"Event":"Unknown"}` + "\n",
		`{"Event":"JobStart","jobId":"one"}` + "\n",
		`{"Event":""}` + "\n",
		`{"Event":"JobEnd","jobId":2`,
		"not json\n",
		`{"Event":"Environment","properties":{"a":"b"}}` + "\n" + `{"Event":"Pools","pools":[{"name":"p"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		var got []events.Event
		st, err := ReadStats(bytes.NewReader(data), func(e events.Event) error {
			got = append(got, e)
			return nil
		})
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) || le.Line < 1 || le.Line > lines {
				t.Fatalf("error %v (%d lines)", err, lines)
			}
		}
		if st.Events != len(got) {
			t.Fatalf("stats count %d events, %d delivered", st.Events, len(got))
		}
		for _, e := range got {
			line, err := appendLine(nil, e)
			if err != nil {
				t.Fatalf("re-encoding %#v: %v", e, err)
			}
			e2, kind, err := decodeLine(line)
			if err != nil || e2 == nil || kind != e.Kind() {
				t.Fatalf("re-reading %s: %v", line, err)
			}
			line2, err := appendLine(nil, e2)
			if err != nil || !bytes.Equal(line, line2) {
				t.Fatalf("not stable:\n%s\n%s", line, line2)
			}
		}
	})
}
