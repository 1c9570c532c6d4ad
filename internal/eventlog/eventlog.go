package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/fsx"
)

const (
	// Ext is the extension of a finished event log.
	Ext = ".jsonl"
	// InProgressExt is appended to the name while the application runs.
	InProgressExt = ".inprogress"
	// ZstdExt follows Ext in the name of a zstd-compressed log
	// (<appID>.jsonl.zst).
	ZstdExt = ".zst"
	// RollingExt names the directory of a rolling log's parts
	// (<appID>.rolling).
	RollingExt = ".rolling"

	// FlushInterval is how often buffered lines reach the file.
	FlushInterval = time.Second
	bufferSize    = 256 << 10
)

// ErrTruncated marks a last line without its newline that does not decode:
// the writer stopped mid-line (the driver crashed or is still running).
var ErrTruncated = errors.New("truncated last line (the driver probably stopped while writing it)")

// LineError is a line that cannot be decoded.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("eventlog: line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Stats describes what Read went through.
type Stats struct {
	Lines   int            // lines read, blank ones included
	Events  int            // events handed to fn
	Skipped map[string]int // lines of unknown kinds (from a newer writer), by kind
}

// SkippedTotal is the number of lines of unknown kinds.
func (s Stats) SkippedTotal() int {
	n := 0
	for _, c := range s.Skipped {
		n += c
	}
	return n
}

// Read decodes a log, calling fn with each event in order. It stops at the
// first error from fn or the first malformed line (a *LineError naming the
// line; a damaged unterminated last line wraps ErrTruncated), after the
// earlier events have been delivered. Lines of unknown kinds are skipped.
func Read(r io.Reader, fn func(events.Event) error) error {
	_, err := ReadStats(r, fn)
	return err
}

// ReadLines is ReadStats for a log still being written: it stops before an
// unterminated last line (the writer is mid-line) without an error, and
// returns how many bytes the complete lines read span, so that a later call
// can continue from there on the same file (plain logs only).
func ReadLines(r io.Reader, fn func(events.Event) error) (n int64, st Stats, err error) {
	return read(r, nil, true, fn)
}

// ReadLinesKinds is ReadLines decoding only the events of the given kinds:
// lines of other kinds are counted but not decoded (much faster when a
// reader needs a few kinds of a log made mostly of task events).
func ReadLinesKinds(r io.Reader, kinds []string, fn func(events.Event) error) (n int64, st Stats, err error) {
	return read(r, kindSet(kinds), true, fn)
}

// ReadStats is Read that also reports what it read and skipped.
func ReadStats(r io.Reader, fn func(events.Event) error) (Stats, error) {
	_, st, err := read(r, nil, false, fn)
	return st, err
}

// ReadKinds is Read decoding only the events of the given kinds (see
// ReadLinesKinds).
func ReadKinds(r io.Reader, kinds []string, fn func(events.Event) error) error {
	_, _, err := read(r, kindSet(kinds), false, fn)
	return err
}

func kindSet(kinds []string) map[string]bool {
	m := make(map[string]bool, len(kinds))
	for _, k := range kinds {
		m[k] = true
	}
	return m
}

// read is ReadStats (resumable false) and ReadLines (true); keep, if not
// nil, lists the kinds to decode.
func read(r io.Reader, keep map[string]bool, resumable bool, fn func(events.Event) error) (n int64, st Stats, err error) {
	st = Stats{Skipped: map[string]int{}}
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for {
		line, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it.
			long = append(long[:0], line...)
			for rerr == bufio.ErrBufferFull {
				line, rerr = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			complete := line[len(line)-1] == '\n'
			if resumable && !complete {
				// The writer is mid-line: left for the next read.
			} else {
				st.Lines++
				if !complete && rerr != nil && rerr != io.EOF {
					// The stream broke mid-line: its error says more than the cut line.
					return n, st, fmt.Errorf("eventlog: reading after line %d: %w", st.Lines-1, rerr)
				}
				if err := readLine(line, complete, keep, &st, fn); err != nil {
					return n, st, err
				}
				n += int64(len(line))
			}
		}
		if rerr == io.EOF {
			return n, st, nil
		}
		if rerr != nil {
			return n, st, fmt.Errorf("eventlog: reading after line %d: %w", st.Lines, rerr)
		}
	}
}

// readLine decodes one line and hands its event to fn.
func readLine(line []byte, complete bool, keep map[string]bool, st *Stats, fn func(events.Event) error) error {
	if keep != nil {
		if kind, ok := sniffKind(bytes.TrimSpace(line)); ok && !keep[kind] && complete {
			if decoders[kind] == nil {
				st.Skipped[kind]++
			}
			return nil
		}
	}
	e, kind, err := decodeLine(line)
	switch {
	case err != nil && !complete:
		return &LineError{Line: st.Lines, Err: fmt.Errorf("%w: %v", ErrTruncated, err)}
	case err != nil:
		return &LineError{Line: st.Lines, Err: err}
	case e == nil && kind != "":
		st.Skipped[kind]++
	case e != nil:
		if err := fn(e); err != nil {
			return err
		}
		st.Events++
	}
	return nil
}

// sniffKind reads the kind of a line as the writer writes it,
// {"Event":"<kind>",...}, without decoding the line; ok is false for any
// other form.
func sniffKind(b []byte) (string, bool) {
	const prefix = `{"Event":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return "", false
	}
	rest := b[len(prefix):]
	i := bytes.IndexByte(rest, '"')
	if i <= 0 || bytes.IndexByte(rest[:i], '\\') >= 0 {
		return "", false
	}
	return string(rest[:i]), true
}

// decodeLine returns the event on a line; (nil, kind, nil) for an unknown
// kind and (nil, "", nil) for a blank line.
func decodeLine(line []byte) (events.Event, string, error) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 {
		return nil, "", nil
	}
	if kind, ok := sniffKind(trimmed); ok {
		// The writer's form: the kind is known without decoding the line twice.
		if dec := decoders[kind]; dec != nil {
			e, err := dec(trimmed)
			if err != nil {
				if !json.Valid(trimmed) {
					return nil, "", fmt.Errorf("not a JSON object: %v", jsonError(trimmed))
				}
				return nil, "", fmt.Errorf("decoding %s: %v", kind, err)
			}
			return e, kind, nil
		}
	}
	var head struct {
		Event *string `json:"Event"`
	}
	if err := json.Unmarshal(trimmed, &head); err != nil {
		return nil, "", fmt.Errorf("not a JSON object: %v", err)
	}
	if head.Event == nil || *head.Event == "" {
		return nil, "", errors.New(`no "Event" field`)
	}
	dec, ok := decoders[*head.Event]
	if !ok {
		return nil, *head.Event, nil
	}
	e, err := dec(trimmed)
	if err != nil {
		return nil, "", fmt.Errorf("decoding %s: %v", *head.Event, err)
	}
	return e, *head.Event, nil
}

// jsonError is the syntax error of invalid JSON.
func jsonError(b []byte) error {
	var v any
	return json.Unmarshal(b, &v)
}

func decode[T events.Event](b []byte) (events.Event, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// decoders maps each known kind to its decoder. A kind added to package
// events must be added here (TestEveryKindRoundTrips checks the list).
var decoders = map[string]func([]byte) (events.Event, error){}

func register[T events.Event]() {
	var zero T
	decoders[zero.Kind()] = decode[T]
}

func init() {
	register[events.ApplicationStart]()
	register[events.ApplicationEnd]()
	register[events.Environment]()
	register[events.Pools]()
	register[events.JobStart]()
	register[events.JobEnd]()
	register[events.StageSubmitted]()
	register[events.StageCompleted]()
	register[events.TaskStart]()
	register[events.TaskEnd]()
	register[events.ExecutorAdded]()
	register[events.ExecutorRemoved]()
	register[events.ExecutorExcluded]()
	register[events.ExecutorTarget]()
	register[events.ExecutorMetrics]()
	register[events.RDDPersisted]()
	register[events.RDDUnpersisted]()
	register[events.BlockUpdated]()
}

// Kinds lists the event kinds Read understands.
func Kinds() []string {
	out := make([]string, 0, len(decoders))
	for k := range decoders {
		out = append(out, k)
	}
	return out
}

// ErrDamaged marks a compressed log whose stream ends early or is corrupt:
// the driver stopped while writing it, it is still running, or the file was
// damaged. The events before the damage have been delivered.
var ErrDamaged = errors.New("the compressed log is truncated or corrupt (the driver probably stopped while writing it, or still runs)")

// Partial reports whether a Read error means the log ends early (a cut last
// line or a damaged compressed stream) after the earlier events were
// delivered, so that what was read can still be shown.
func Partial(err error) bool { return errors.Is(err, ErrTruncated) || errors.Is(err, ErrDamaged) }

// Compressed reports whether a log's file name says it is zstd-compressed
// (<appID>.jsonl.zst, with or without .inprogress).
func Compressed(name string) bool {
	return strings.HasSuffix(strings.TrimSuffix(name, InProgressExt), ZstdExt)
}

// NewReader returns the text of a log read from r: r itself for a plain
// log, the decompressed stream when name is a compressed log's. Read errors
// of a damaged stream wrap ErrDamaged. Close releases the decoder (not r).
func NewReader(r io.Reader, name string) (io.ReadCloser, error) {
	if !Compressed(name) {
		return io.NopCloser(r), nil
	}
	dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("eventlog: starting the zstd decoder: %w", err)
	}
	return &zstdReader{dec: dec}, nil
}

type zstdReader struct{ dec *zstd.Decoder }

func (z *zstdReader) Read(p []byte) (int, error) {
	n, err := z.dec.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	return n, err
}

func (z *zstdReader) Close() error { z.dec.Close(); return nil }

// AppID returns the application id a log's name carries (<appID>.jsonl,
// .jsonl.zst, the directory <appID>.rolling, each with or without
// .inprogress) and whether the log is still in progress; ok is false for a
// name that is not an event log's.
func AppID(name string) (id string, inProgress, ok bool) {
	name, inProgress = strings.CutSuffix(name, InProgressExt)
	if id, ok = strings.CutSuffix(name, RollingExt); !ok {
		name = strings.TrimSuffix(name, ZstdExt)
		id, ok = strings.CutSuffix(name, Ext)
	}
	if !ok || id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) {
		return "", false, false
	}
	return id, inProgress, true
}

// IsRolling reports whether a log's name is a rolling log's directory.
func IsRolling(name string) bool {
	return strings.HasSuffix(strings.TrimSuffix(name, InProgressExt), RollingExt)
}

// PartName is the file name of part n (from 1) of a rolling log.
func PartName(n int, compressed bool) string {
	name := fmt.Sprintf("events-%05d%s", n, Ext)
	if compressed {
		name += ZstdExt
	}
	return name
}

// partNumber parses a part's file name; 0 if it is not one.
func partNumber(name string) int {
	rest, ok := strings.CutPrefix(name, "events-")
	if !ok {
		return 0
	}
	rest = strings.TrimSuffix(rest, ZstdExt)
	digits, ok := strings.CutSuffix(rest, Ext)
	if !ok || len(digits) < 5 {
		return 0
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' || n > 1e8 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Parts lists the part files of the rolling log in directory p, in order.
func Parts(fs fsx.FS, p string) ([]fsx.FileInfo, error) {
	entries, err := fs.List(p)
	if err != nil {
		return nil, fmt.Errorf("eventlog: listing the parts of %s: %w", p, err)
	}
	var parts []fsx.FileInfo
	for _, e := range entries {
		if !e.IsDir && partNumber(path.Base(e.Path)) > 0 {
			parts = append(parts, e)
		}
	}
	sort.Slice(parts, func(i, j int) bool {
		return partNumber(path.Base(parts[i].Path)) < partNumber(path.Base(parts[j].Path))
	})
	return parts, nil
}

// Open returns the event text of the log at p on fs: a plain or compressed
// file, or a rolling log's parts one after the other. Read errors of a
// damaged compressed stream wrap ErrDamaged.
func Open(fs fsx.FS, p string) (io.ReadCloser, error) {
	if !IsRolling(path.Base(p)) {
		f, err := fs.Open(p)
		if err != nil {
			return nil, fmt.Errorf("eventlog: opening %s: %w", p, err)
		}
		text, err := NewReader(f, p)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &fileText{ReadCloser: text, f: f}, nil
	}
	parts, err := Parts(fs, p)
	if err != nil {
		return nil, err
	}
	return &partsReader{fs: fs, parts: parts}, nil
}

type fileText struct {
	io.ReadCloser
	f io.Closer
}

func (t *fileText) Close() error {
	t.ReadCloser.Close()
	return t.f.Close()
}

// partsReader reads the parts of a rolling log in turn.
type partsReader struct {
	fs    fsx.FS
	parts []fsx.FileInfo
	cur   io.ReadCloser
}

func (r *partsReader) Read(b []byte) (int, error) {
	for {
		if r.cur == nil {
			if len(r.parts) == 0 {
				return 0, io.EOF
			}
			cur, err := Open(r.fs, r.parts[0].Path)
			if err != nil {
				return 0, err
			}
			r.cur, r.parts = cur, r.parts[1:]
		}
		n, err := r.cur.Read(b)
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (r *partsReader) Close() error {
	if r.cur != nil {
		return r.cur.Close()
	}
	return nil
}
