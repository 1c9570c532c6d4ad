package eventlog

import (
	"bufio"
	"encoding/json"
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

// Writer appends events to <dir>/<appID>.jsonl.inprogress and renames the
// file to <appID>.jsonl on Close (with Compress: <appID>.jsonl.zst). A
// rolling log is a directory, <appID>.rolling.inprogress renamed to
// <appID>.rolling, of parts events-00001.jsonl[.zst], events-00002... It
// is an events.Listener. After the first write error it stops writing; Err
// and Close report that error.
type Writer struct {
	final, temp string // the log's (file's or directory's) names
	opts        WriterOptions
	fs          fsx.FS // nil: a local file
	part        int    // number of the current part (rolling)
	partPath    string // the file being written
	partBytes   int64  // event text written to the current part

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
	// RollBytes, if positive, makes the log a directory of parts: a new
	// part starts once the current one holds RollBytes of event text
	// (before compression).
	RollBytes int64
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
	w := &Writer{opts: o, stop: make(chan struct{}), done: make(chan struct{})}
	join := filepath.Join
	if strings.Contains(dir, "://") && !strings.HasPrefix(dir, "file://") {
		fs, err := fsx.For(dir)
		if err != nil {
			return nil, fmt.Errorf("eventlog: stoke.eventLog.dir: %w", err)
		}
		w.fs, join = fs, func(elem ...string) string { return fs.Join(elem[0], elem[1:]...) }
	} else {
		dir = strings.TrimPrefix(dir, "file://")
	}
	if err := w.mkdir(dir); err != nil {
		return nil, fmt.Errorf("eventlog: creating the event log directory %s: %w", dir, err)
	}
	if o.RollBytes > 0 {
		w.final = join(dir, appID+RollingExt)
		w.temp = w.final + InProgressExt
		if err := w.removeAll(w.temp); err != nil {
			return nil, fmt.Errorf("eventlog: removing an old %s: %w", w.temp, err)
		}
		if err := w.mkdir(w.temp); err != nil {
			return nil, fmt.Errorf("eventlog: creating %s: %w", w.temp, err)
		}
	} else {
		name := appID + Ext
		if o.Compress {
			name += ZstdExt
		}
		w.final = join(dir, name)
		w.temp = w.final + InProgressExt
	}
	if err := w.openPart(); err != nil {
		return nil, err
	}
	go w.flushLoop()
	return w, nil
}

func (w *Writer) mkdir(dir string) error {
	if w.fs != nil {
		return w.fs.MkdirAll(dir)
	}
	return os.MkdirAll(dir, 0o755)
}

func (w *Writer) removeAll(p string) error {
	if w.fs != nil {
		return w.fs.RemoveAll(p)
	}
	return os.RemoveAll(p)
}

// openPart opens the next file: the log itself, or the next part of a
// rolling log.
func (w *Writer) openPart() error {
	w.partPath = w.temp
	if w.opts.RollBytes > 0 {
		w.part++
		name := PartName(w.part, w.opts.Compress)
		if w.fs != nil {
			w.partPath = w.fs.Join(w.temp, name)
		} else {
			w.partPath = filepath.Join(w.temp, name)
		}
	}
	w.partBytes = 0
	if w.fs != nil {
		if err := w.fs.RemoveAll(w.partPath); err != nil {
			return fmt.Errorf("eventlog: removing an old %s: %w", w.partPath, err)
		}
		f, err := w.fs.Create(w.partPath)
		if err != nil {
			return fmt.Errorf("eventlog: opening the event log %s: %w", w.partPath, err)
		}
		w.f = f
	} else {
		f, err := os.OpenFile(w.partPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("eventlog: opening the event log: %w", err)
		}
		w.f = f
	}
	var out io.Writer = w.f
	w.enc = nil
	if w.opts.Compress {
		enc, err := zstd.NewWriter(w.f, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			w.f.Close()
			return fmt.Errorf("eventlog: starting the zstd encoder: %w", err)
		}
		w.enc, out = enc, enc
	}
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(out, bufferSize)
	} else {
		w.bw.Reset(out)
	}
	return nil
}

// closePart flushes and closes the current file (its zstd stream ended).
func (w *Writer) closePart() {
	w.flushLocked()
	if w.enc != nil {
		if err := w.enc.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("eventlog: ending the zstd stream of %s: %w", w.partPath, err)
		}
	}
	if f, ok := w.f.(*os.File); ok {
		if err := f.Sync(); err != nil && w.err == nil {
			w.err = fmt.Errorf("eventlog: syncing %s: %w", w.partPath, err)
		}
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("eventlog: closing %s: %w", w.partPath, err)
	}
}

// Path is where the log is being written (the in-progress name until Close,
// the final name after; a directory for a rolling log).
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
	if w.opts.RollBytes > 0 && w.partBytes > 0 && w.partBytes+int64(len(line)) > w.opts.RollBytes {
		w.closePart()
		if w.err != nil {
			return
		}
		if err := w.openPart(); err != nil {
			w.err = err
			return
		}
	}
	if _, err := w.bw.Write(line); err != nil {
		w.err = fmt.Errorf("eventlog: writing %s: %w", w.partPath, err)
	}
	w.partBytes += int64(len(line))
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
	if w.closed {
		return w.err
	}
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("eventlog: writing %s: %w", w.partPath, err)
	} else if w.enc != nil {
		if err := w.enc.Flush(); err != nil {
			w.err = fmt.Errorf("eventlog: writing %s: %w", w.partPath, err)
		}
	}
	if fl, ok := w.f.(interface{ Flush() error }); ok && w.err == nil {
		// HDFS: send the buffered packets to the DataNodes.
		if err := fl.Flush(); err != nil {
			w.err = fmt.Errorf("eventlog: writing %s: %w", w.partPath, err)
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

// Close flushes, syncs and closes the file and renames the log to its
// final name. On a write error the in-progress log is left in place.
// Calling Close again returns the first result.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		err := w.err
		w.mu.Unlock()
		return err
	}
	close(w.stop)
	w.closePart()
	w.closed = true
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
