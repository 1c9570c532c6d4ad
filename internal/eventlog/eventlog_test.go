package eventlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/events"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.UTC)

// sample has one event of every kind, with every field set.
func sample() []events.Event {
	return []events.Event{
		events.ApplicationStart{AppID: "app-1", AppName: "wc <x>", User: "ann", Master: "local[2]", Time: t0},
		events.Environment{Properties: [][2]string{{"a", "1"}, {"b", "2"}}, Sources: [][2]string{{"a", "flag"}}},
		events.Pools{Mode: "FAIR", Pools: []events.Pool{{Name: "p", Mode: "FIFO", Weight: 2, MinShare: 1}}},
		events.ExecutorAdded{ExecutorID: "1", Host: "h1", Cores: 4, LogURL: "http://h1/log", Reason: "backlog of 9 pending tasks", Time: t0},
		events.JobStart{JobID: 0, Description: "count", Pool: "p", StageIDs: []int{0, 1}, Time: t0},
		events.StageSubmitted{StageID: 0, Attempt: 0, JobID: 0, Name: "map", NumTasks: 2, ParentIDs: []int{}, Pool: "p", Time: t0},
		events.TaskStart{StageID: 0, StageAttempt: 0, TaskID: 7, Index: 1, Partition: 1, Attempt: 2, ExecutorID: "1", Host: "h1", Locality: "NODE_LOCAL", Speculative: true, Time: t0},
		events.TaskEnd{StageID: 0, StageAttempt: 0, TaskID: 7, Index: 1, ExecutorID: "1", Status: events.TaskFailed, Reason: "boom\n\"quoted\"", Duration: 1500 * time.Millisecond, ResultBytes: 1, RecordsIn: 2, RecordsOut: 3, ShuffleWrite: 4, ShuffleRead: 5, Time: t0},
		events.StageCompleted{StageID: 0, Attempt: 0, Failure: "too many failures", Time: t0},
		events.ExecutorExcluded{ExecutorID: "1", Scope: "stage", Reason: "2 failures", Time: t0},
		events.ExecutorRemoved{ExecutorID: "1", Reason: "lost", Time: t0},
		events.ExecutorTarget{Target: 3, Reason: "backlog of 9 pending tasks", Time: t0},
		events.ExecutorMetrics{ExecutorID: "1", ProcessMetrics: events.ProcessMetrics{RSSBytes: 64 << 20, HeapBytes: 20 << 20, MemoryLimit: 1 << 30}, Time: t0},
		events.JobEnd{JobID: 0, Succeeded: false, Error: "stage 0 failed", Time: t0},
		events.RDDPersisted{RDDID: 3, Name: "map f", Level: "MEMORY_ONLY", NumPartitions: 2},
		events.BlockUpdated{ExecutorID: "1", RDDID: 3, Partition: 1, MemSize: 10, DiskSize: 20, Time: t0},
		events.RDDUnpersisted{RDDID: 3},
		events.ApplicationEnd{Time: t0, Reason: "interrupted by SIGINT"},
	}
}

func readAll(t *testing.T, data []byte) ([]events.Event, Stats, error) {
	t.Helper()
	var got []events.Event
	st, err := ReadStats(bytes.NewReader(data), func(e events.Event) error {
		got = append(got, e)
		return nil
	})
	return got, st, err
}

func TestEveryKindRoundTrips(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "app-1.jsonl.inprogress")); err != nil {
		t.Fatalf("in-progress file: %v", err)
	}
	in := sample()
	for _, e := range in {
		w.OnEvent(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "app-1.jsonl.inprogress")); !os.IsNotExist(err) {
		t.Fatalf("in-progress file still there after Close: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "app-1.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(in) {
		t.Fatalf("%d lines for %d events", len(lines), len(in))
	}
	if !strings.HasPrefix(lines[7], `{"Event":"TaskEnd","stageId":0,`) {
		t.Fatalf("line format: %s", lines[7])
	}
	got, st, err := readAll(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip differs:\n got %#v\nwant %#v", got, in)
	}
	if st.Events != len(in) || st.SkippedTotal() != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Every registered kind is covered by the sample, and vice versa.
	var kinds []string
	for _, e := range in {
		kinds = append(kinds, e.Kind())
	}
	sort.Strings(kinds)
	reg := Kinds()
	sort.Strings(reg)
	if !reflect.DeepEqual(kinds, reg) {
		t.Fatalf("sample kinds %v, registered %v", kinds, reg)
	}
}

func TestMalformedLineNamesTheLine(t *testing.T) {
	for name, bad := range map[string]string{
		"not json":      "hello\n",
		"no kind":       `{"jobId":1}` + "\n",
		"wrong type":    `{"Event":"JobStart","jobId":"one"}` + "\n",
		"array":         `[1,2]` + "\n",
		"empty kind":    `{"Event":""}` + "\n",
		"kind not text": `{"Event":3}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			data := `{"Event":"JobEnd","jobId":1}` + "\n\n" + bad + `{"Event":"JobEnd","jobId":2}` + "\n"
			got, _, err := readAll(t, []byte(data))
			var le *LineError
			if !errors.As(err, &le) || le.Line != 3 {
				t.Fatalf("err = %v, want a LineError on line 3", err)
			}
			if errors.Is(err, ErrTruncated) {
				t.Fatalf("a bad complete line reported as truncated: %v", err)
			}
			if !strings.Contains(err.Error(), "line 3") {
				t.Fatalf("message does not name the line: %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("delivered %d events before the bad line, want 1", len(got))
			}
		})
	}
}

func TestTruncatedLastLineKeepsEarlierEvents(t *testing.T) {
	data := `{"Event":"JobStart","jobId":1}` + "\n" + `{"Event":"JobEnd","jobId":1}` + "\n" + `{"Event":"TaskEnd","stageId":0,"ta`
	got, _, err := readAll(t, []byte(data))
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 {
		t.Fatalf("err = %v, want line 3", err)
	}
	if len(got) != 2 {
		t.Fatalf("kept %d events, want 2", len(got))
	}
	// A complete last line without its newline is fine.
	got, _, err = readAll(t, []byte(`{"Event":"JobEnd","jobId":1}`))
	if err != nil || len(got) != 1 {
		t.Fatalf("unterminated but complete line: %v, %d events", err, len(got))
	}
}

func TestUnknownKindsAreSkippedAndCounted(t *testing.T) {
	data := `{"Event":"FutureThing","x":1}` + "\n" + `{"Event":"JobEnd","jobId":1}` + "\n" + `{"Event":"FutureThing"}` + "\n"
	got, st, err := readAll(t, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || st.Skipped["FutureThing"] != 2 || st.SkippedTotal() != 2 || st.Lines != 3 {
		t.Fatalf("got %d events, stats %+v", len(got), st)
	}
}

func TestCallbackErrorStopsRead(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Read(strings.NewReader(`{"Event":"JobEnd"}`+"\n"+`{"Event":"JobEnd"}`+"\n"), func(events.Event) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d calls", err, n)
	}
}

func TestNewWriterRejectsBadAppID(t *testing.T) {
	for _, id := range []string{"", "..", "a/b", `a\b`} {
		if _, err := NewWriter(t.TempDir(), id); err == nil {
			t.Errorf("NewWriter accepted app id %q", id)
		}
	}
}

func TestFlushMakesLinesVisible(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, "app-2")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.OnEvent(events.JobEnd{JobID: 3, Succeeded: true})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := readAll(t, data)
	if err != nil || len(got) != 1 || got[0].(events.JobEnd).JobID != 3 {
		t.Fatalf("in-progress log: %v %v", got, err)
	}
}

func BenchmarkWriterTaskEnd(b *testing.B) {
	w, err := NewWriter(b.TempDir(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	e := events.TaskEnd{StageID: 1, TaskID: 2, ExecutorID: "3", Status: events.TaskSuccess, Duration: time.Second, Time: t0}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.TaskID = int64(i)
		w.OnEvent(e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkEncodeTaskEnd(b *testing.B) {
	var e events.Event = events.TaskEnd{StageID: 1, TaskID: 2, ExecutorID: "3", Status: events.TaskSuccess, Duration: time.Second, Time: t0}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = appendFast(buf[:0], e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkEncodeTaskEndJSON(b *testing.B) {
	var e events.Event = events.TaskEnd{StageID: 1, TaskID: 2, ExecutorID: "3", Status: events.TaskSuccess, Duration: time.Second, Time: t0}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = appendLine(buf[:0], e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
