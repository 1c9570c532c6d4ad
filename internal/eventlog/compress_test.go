package eventlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/fsx"
)

// readFile reads a log file the way the history server does.
func readFile(t *testing.T, path string) ([]events.Event, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text, err := NewReader(f, path)
	if err != nil {
		t.Fatal(err)
	}
	defer text.Close()
	var got []events.Event
	err = Read(text, func(e events.Event) error { got = append(got, e); return nil })
	return got, err
}

func writeCompressed(t *testing.T, dir string, in []events.Event) string {
	t.Helper()
	w, err := NewWriterOptions(dir, "app-z", WriterOptions{Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range in {
		w.OnEvent(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Path()
}

func TestCompressedLogRoundTrips(t *testing.T) {
	dir := t.TempDir()
	in := sample()
	path := writeCompressed(t, dir, in)
	if filepath.Base(path) != "app-z.jsonl.zst" {
		t.Fatalf("finished compressed log named %s, want app-z.jsonl.zst", path)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte(`"Event"`)) {
		t.Fatal("the compressed log holds plain JSON")
	}
	got, err := readFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("read back %d events, differing from the %d written", len(got), len(in))
	}
}

// An in-progress compressed log is readable up to its last flush, and its
// unfinished stream is reported as ErrDamaged (Partial), not as a failure.
func TestInProgressCompressedLogReadable(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriterOptions(dir, "app-z", WriterOptions{Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	in := sample()[:5]
	for _, e := range in {
		w.OnEvent(e)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(w.Path(), ".jsonl.zst.inprogress") {
		t.Fatalf("in-progress name %s", w.Path())
	}
	got, err := readFile(t, w.Path())
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("read %d events of the %d flushed", len(got), len(in))
	}
	if err != nil && !Partial(err) {
		t.Fatalf("in-progress log: %v, want nil or a Partial error", err)
	}
}

// A truncated or corrupted compressed log gives a clear error and the
// events before the damage.
func TestDamagedCompressedLog(t *testing.T) {
	dir := t.TempDir()
	var in []events.Event
	for i := 0; i < 3000; i++ { // several zstd blocks
		in = append(in, events.JobEnd{JobID: i, Succeeded: true, Time: t0})
	}
	path := writeCompressed(t, dir, in)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.jsonl.zst")
	os.WriteFile(cut, raw[:len(raw)*2/3], 0o644)
	flipped := bytes.Clone(raw)
	for i := len(raw) * 2 / 3; i < len(raw)*2/3+64; i++ {
		flipped[i] ^= 0x5a
	}
	corrupt := filepath.Join(dir, "corrupt.jsonl.zst")
	os.WriteFile(corrupt, flipped, 0o644)
	garbage := filepath.Join(dir, "garbage.jsonl.zst")
	os.WriteFile(garbage, []byte("this is not zstd at all\n"), 0o644)
	for _, p := range []string{cut, corrupt, garbage} {
		got, err := readFile(t, p)
		if !errors.Is(err, ErrDamaged) || !Partial(err) {
			t.Errorf("%s: error %v, want ErrDamaged", filepath.Base(p), err)
			continue
		}
		if !strings.Contains(err.Error(), "truncated or corrupt") {
			t.Errorf("%s: unclear error %q", filepath.Base(p), err)
		}
		if len(got) > len(in) || len(got) > 0 && !reflect.DeepEqual(got, in[:len(got)]) {
			t.Errorf("%s: the %d events read are not the log's first ones", filepath.Base(p), len(got))
		}
		if p == cut && len(got) == 0 {
			t.Errorf("%s: no event kept before the cut", filepath.Base(p))
		}
	}
}

func TestAppIDFromFileName(t *testing.T) {
	for name, want := range map[string][2]any{
		"app-1.jsonl":                {"app-1", false},
		"app-1.jsonl.inprogress":     {"app-1", true},
		"app-1.jsonl.zst":            {"app-1", false},
		"app-1.jsonl.zst.inprogress": {"app-1", true},
	} {
		id, inProgress, ok := AppID(name)
		if !ok || id != want[0] || inProgress != want[1] {
			t.Errorf("AppID(%q) = %q, %v, %v", name, id, inProgress, ok)
		}
	}
	for _, bad := range []string{"", ".jsonl", "app.txt", "app.jsonl.gz", "...jsonl", "a/b.jsonl", `a\b.jsonl`, "app.inprogress"} {
		if id, _, ok := AppID(bad); ok {
			t.Errorf("AppID(%q) accepted, id %q", bad, id)
		}
	}
}

// A rolling log is a directory of parts, each ending at a line; read back
// in order, plain or compressed, it is the events written.
func TestRollingLog(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dir := t.TempDir()
		w, err := NewWriterOptions(dir, "app-r", WriterOptions{Compress: compress, RollBytes: 2000})
		if err != nil {
			t.Fatal(err)
		}
		var in []events.Event
		for i := 0; i < 200; i++ {
			e := events.JobEnd{JobID: i, Succeeded: i%3 != 0, Time: t0}
			in = append(in, e)
			w.OnEvent(e)
		}
		if !strings.HasSuffix(w.Path(), "app-r.rolling.inprogress") {
			t.Fatalf("in-progress rolling log at %s", w.Path())
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if filepath.Base(w.Path()) != "app-r.rolling" {
			t.Fatalf("finished rolling log at %s", w.Path())
		}
		parts, err := Parts(fsx.Local{}, w.Path())
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) < 5 {
			t.Fatalf("%d parts for about 14 KB of events rolled at 2000 bytes", len(parts))
		}
		for i, p := range parts {
			if want := PartName(i+1, compress); filepath.Base(p.Path) != want {
				t.Errorf("part %d is %s, want %s", i+1, filepath.Base(p.Path), want)
			}
			if !compress && p.Size > 2000 {
				t.Errorf("part %s holds %d bytes, more than 2000", p.Path, p.Size)
			}
		}
		text, err := Open(fsx.Local{}, w.Path())
		if err != nil {
			t.Fatal(err)
		}
		var got []events.Event
		err = Read(text, func(e events.Event) error { got = append(got, e); return nil })
		text.Close()
		if err != nil || !reflect.DeepEqual(got, in) {
			t.Fatalf("compress=%v: read back %d events (%v), want the %d written", compress, len(got), err, len(in))
		}
		if id, inProgress, ok := AppID("app-r.rolling"); !ok || id != "app-r" || inProgress {
			t.Errorf("AppID of a rolling log: %q %v %v", id, inProgress, ok)
		}
	}
}

// Reading a growing log with ReadLines from where the last read stopped,
// whatever the sizes it grew by, gives the events of one whole read.
func TestReadLinesResumes(t *testing.T) {
	var whole bytes.Buffer
	for _, e := range sample() {
		line, err := appendLine(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		whole.Write(line)
	}
	data := whole.Bytes()
	rapid.Check(t, func(rt *rapid.T) {
		var got []events.Event
		var offset int64
		lines := 0
		for size := 0; size < len(data); {
			size = min(len(data), size+rapid.IntRange(1, 400).Draw(rt, "grow"))
			n, st, err := ReadLines(bytes.NewReader(data[offset:size]), func(e events.Event) error { got = append(got, e); return nil })
			if err != nil {
				rt.Fatalf("at %d..%d: %v", offset, size, err)
			}
			if n > 0 && data[offset+n-1] != '\n' {
				rt.Fatalf("stopped mid-line at %d", offset+n)
			}
			offset += n
			lines += st.Lines
		}
		if offset != int64(len(data)) || lines != len(sample()) || !reflect.DeepEqual(got, sample()) {
			rt.Fatalf("read %d bytes, %d lines, %d events; want %d, %d, %d", offset, lines, len(got), len(data), len(sample()), len(sample()))
		}
	})
	// A bad complete line is an error naming it; an unterminated one is left for later.
	n, _, err := ReadLines(strings.NewReader("{\"Event\":\"ApplicationEnd\",\"time\":\"2026-12-01T10:00:00Z\"}\nnot json\n"), func(events.Event) error { return nil })
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || n == 0 {
		t.Errorf("bad line: n %d, %v", n, err)
	}
	n, st, err := ReadLines(strings.NewReader("{\"Event\":\"ApplicationEnd\",\"ti"), func(events.Event) error { return nil })
	if n != 0 || st.Lines != 0 || err != nil {
		t.Errorf("unterminated line: n %d, %d lines, %v", n, st.Lines, err)
	}
}
