package eventlog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

	// FlushInterval is how often buffered lines reach the file.
	FlushInterval = time.Second
	bufferSize    = 256 << 10
)

// Writer appends events to <dir>/<appID>.jsonl.inprogress and renames the
// file to <appID>.jsonl on Close (with Compress: <appID>.jsonl.zst). It is an
// events.Listener. After the first write error it stops writing; Err and
// Close report that error.
type Writer struct {
	final, temp string
	fs          fsx.FS // nil: a local file

	mu     sync.Mutex
	f      io.WriteCloser // *os.File when local
	enc    *zstd.Encoder  // nil unless compressed
	bw     *bufio.Writer
	line   []byte
	err    error
	closed bool

	stop chan struct{}
	done chan struct{}
}

var _ events.Listener = (*Writer)(nil)

// WriterOptions tune a Writer.
type WriterOptions struct {
	// Compress writes the log as a zstd stream. Each flush ends a zstd
	// block, so an in-progress log can be read up to its last flush.
	Compress bool
}

// NewWriter creates dir if needed and opens the in-progress log of appID.
// dir is a local path or an hdfs:// URL: on HDFS a running application's
// log is seen by readers when a block is complete or the log closed.
func NewWriter(dir, appID string) (*Writer, error) {
	return NewWriterOptions(dir, appID, WriterOptions{})
}

// NewWriterOptions is NewWriter with options.
func NewWriterOptions(dir, appID string, o WriterOptions) (*Writer, error) {
	if appID == "" || appID == "." || appID == ".." || strings.ContainsAny(appID, `/\`) {
		return nil, fmt.Errorf("eventlog: application id %q cannot name a file", appID)
	}
	name := appID + Ext
	if o.Compress {
		name += ZstdExt
	}
	w := &Writer{stop: make(chan struct{}), done: make(chan struct{})}
	if strings.Contains(dir, "://") && !strings.HasPrefix(dir, "file://") {
		fs, err := fsx.For(dir)
		if err != nil {
			return nil, fmt.Errorf("eventlog: stoke.eventLog.dir: %w", err)
		}
		if err := fs.MkdirAll(dir); err != nil {
			return nil, fmt.Errorf("eventlog: creating the event log directory %s: %w", dir, err)
		}
		w.fs, w.final = fs, fs.Join(dir, name)
		w.temp = w.final + InProgressExt
		if err := fs.RemoveAll(w.temp); err != nil {
			return nil, fmt.Errorf("eventlog: removing an old %s: %w", w.temp, err)
		}
		if w.f, err = fs.Create(w.temp); err != nil {
			return nil, fmt.Errorf("eventlog: opening the event log %s: %w", w.temp, err)
		}
	} else {
		dir = strings.TrimPrefix(dir, "file://")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("eventlog: creating the event log directory: %w", err)
		}
		w.final = filepath.Join(dir, name)
		w.temp = w.final + InProgressExt
		f, err := os.OpenFile(w.temp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("eventlog: opening the event log: %w", err)
		}
		w.f = f
	}
	f := w.f
	var out io.Writer = f
	if o.Compress {
		enc, err := zstd.NewWriter(f, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("eventlog: starting the zstd encoder: %w", err)
		}
		w.enc, out = enc, enc
	}
	w.bw = bufio.NewWriterSize(out, bufferSize)
	go w.flushLoop()
	return w, nil
}

// Path is where the log is being written (the in-progress name until Close,
// the final name after).
func (w *Writer) Path() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.final
	}
	return w.temp
}

// OnEvent appends one line. Errors are kept for Err and Close.
func (w *Writer) OnEvent(e events.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil {
		return
	}
	line, ok := appendFast(w.line[:0], e)
	var err error
	if !ok {
		line, err = appendLine(w.line[:0], e)
	}
	if err != nil {
		w.err = fmt.Errorf("eventlog: encoding %s: %w", e.Kind(), err)
		return
	}
	w.line = line
	if _, err := w.bw.Write(line); err != nil {
		w.err = fmt.Errorf("eventlog: writing %s: %w", w.temp, err)
	}
}

// appendLine appends `{"Event":"<kind>",<fields>}\n`.
func appendLine(dst []byte, e events.Event) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return dst, err
	}
	if len(body) < 2 || body[0] != '{' {
		return dst, fmt.Errorf("event %T does not encode as a JSON object", e)
	}
	dst = append(dst, `{"Event":`...)
	kind, _ := json.Marshal(e.Kind())
	dst = append(dst, kind...)
	if len(body) > 2 { // not "{}"
		dst = append(dst, ',')
	}
	dst = append(dst, body[1:]...)
	return append(dst, '\n'), nil
}

// Flush writes buffered lines to the file.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if w.closed || w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("eventlog: writing %s: %w", w.temp, err)
	} else if w.enc != nil {
		if err := w.enc.Flush(); err != nil {
			w.err = fmt.Errorf("eventlog: writing %s: %w", w.temp, err)
		}
	}
	if fl, ok := w.f.(interface{ Flush() error }); ok && w.err == nil {
		// HDFS: send the buffered packets to the DataNodes.
		if err := fl.Flush(); err != nil {
			w.err = fmt.Errorf("eventlog: writing %s: %w", w.temp, err)
		}
	}
	return w.err
}

// Err is the first write or encoding error, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) flushLoop() {
	defer close(w.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Flush() // kept in w.err
		}
	}
}

// Close flushes, syncs and closes the file and renames it to its final name.
// On a write error the in-progress file is left in place. Calling Close
// again returns the first result.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		err := w.err
		w.mu.Unlock()
		return err
	}
	close(w.stop)
	w.flushLocked()
	w.closed = true
	if w.enc != nil {
		if err := w.enc.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("eventlog: ending the zstd stream of %s: %w", w.temp, err)
		}
	}
	if f, ok := w.f.(*os.File); ok {
		if err := f.Sync(); err != nil && w.err == nil {
			w.err = fmt.Errorf("eventlog: syncing %s: %w", w.temp, err)
		}
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("eventlog: closing %s: %w", w.temp, err)
	}
	if w.err == nil {
		rename := os.Rename
		if w.fs != nil {
			rename = w.fs.Rename
		}
		if err := rename(w.temp, w.final); err != nil {
			w.err = fmt.Errorf("eventlog: renaming the finished log: %w", err)
		}
	}
	err := w.err
	w.mu.Unlock()
	<-w.done
	return err
}

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

// ReadStats is Read that also reports what it read and skipped.
func ReadStats(r io.Reader, fn func(events.Event) error) (Stats, error) {
	st := Stats{Skipped: map[string]int{}}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, rerr := br.ReadBytes('\n')
		if len(line) > 0 {
			st.Lines++
			complete := line[len(line)-1] == '\n'
			if !complete && rerr != nil && rerr != io.EOF {
				// The stream broke mid-line: its error says more than the cut line.
				return st, fmt.Errorf("eventlog: reading after line %d: %w", st.Lines-1, rerr)
			}
			e, kind, err := decodeLine(line)
			switch {
			case err != nil && !complete:
				return st, &LineError{Line: st.Lines, Err: fmt.Errorf("%w: %v", ErrTruncated, err)}
			case err != nil:
				return st, &LineError{Line: st.Lines, Err: err}
			case e == nil && kind != "":
				st.Skipped[kind]++
			case e != nil:
				if err := fn(e); err != nil {
					return st, err
				}
				st.Events++
			}
		}
		if rerr == io.EOF {
			return st, nil
		}
		if rerr != nil {
			return st, fmt.Errorf("eventlog: reading after line %d: %w", st.Lines, rerr)
		}
	}
}

// decodeLine returns the event on a line; (nil, kind, nil) for an unknown
// kind and (nil, "", nil) for a blank line.
func decodeLine(line []byte) (events.Event, string, error) {
	trimmed := strings.TrimSpace(string(line))
	if trimmed == "" {
		return nil, "", nil
	}
	var head struct {
		Event *string `json:"Event"`
	}
	if err := json.Unmarshal([]byte(trimmed), &head); err != nil {
		return nil, "", fmt.Errorf("not a JSON object: %v", err)
	}
	if head.Event == nil || *head.Event == "" {
		return nil, "", errors.New(`no "Event" field`)
	}
	dec, ok := decoders[*head.Event]
	if !ok {
		return nil, *head.Event, nil
	}
	e, err := dec([]byte(trimmed))
	if err != nil {
		return nil, "", fmt.Errorf("decoding %s: %v", *head.Event, err)
	}
	return e, *head.Event, nil
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

// AppID returns the application id a log's file name carries
// (<appID>.jsonl, .jsonl.zst, either with .inprogress) and whether the log
// is still in progress; ok is false for a name that is not an event log's.
func AppID(name string) (id string, inProgress, ok bool) {
	name, inProgress = strings.CutSuffix(name, InProgressExt)
	name = strings.TrimSuffix(name, ZstdExt)
	id, ok = strings.CutSuffix(name, Ext)
	if !ok || id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) {
		return "", false, false
	}
	return id, inProgress, true
}
