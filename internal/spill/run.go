package spill

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// BatchCodec turns batches of records into bytes and back. Append appends
// the encoding of recs to dst; Decode appends the records encoded in data
// to dst. Decode must not keep data, which is reused.
type BatchCodec[T any] struct {
	Append func(dst []byte, recs []T) ([]byte, error)
	Decode func(data []byte, dst []T) ([]T, error)
}

// ErrCorrupt is wrapped by every error about a damaged, truncated or
// foreign run file.
var ErrCorrupt = errors.New("corrupt spill run")

// Run file layout, all integers little-endian:
//
//	header: magic "STOKERUN", version 1, codec id, crc32c of those 10 bytes
//	frame:  payload length u32, raw length u32, records u32,
//	        crc32c of these 12 bytes and the payload, payload
//	end:    0xFFFFFFFF, total records u64, crc32c of these 12 bytes
const (
	magic      = "STOKERUN"
	version    = 1
	headerSize = len(magic) + 2 + 4
	frameHead  = 16
	endSize    = 16
	endMarker  = 0xFFFFFFFF
	// maxFrame bounds a frame's payload and raw size.
	maxFrame = 1<<31 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Run describes a closed run file.
type Run struct {
	Path    string
	Bytes   int64 // size of the file on disk
	Records int64
	Frames  int
}

// Remove deletes the run file.
func (r *Run) Remove() error { return os.Remove(r.Path) }

// RunWriter writes batches of records to a new run file. It is not safe
// for concurrent use.
type RunWriter[T any] struct {
	f       *os.File
	w       *bufio.Writer
	comp    Compression
	bc      BatchCodec[T]
	raw     []byte
	payload []byte
	bytes   int64
	records int64
	frames  int
	err     error // sticky; set once closed or failed
}

var errClosed = errors.New("spill run writer is closed")

// NewRunWriter creates a run file in dirs whose frames are compressed with
// comp and encoded with bc.
func NewRunWriter[T any](dirs *Dirs, comp Compression, bc BatchCodec[T]) (*RunWriter[T], error) {
	if bc.Append == nil || bc.Decode == nil {
		return nil, errors.New("spill: BatchCodec needs both Append and Decode")
	}
	f, err := dirs.Create("run")
	if err != nil {
		return nil, err
	}
	w := &RunWriter[T]{f: f, w: bufio.NewWriterSize(f, 256<<10), comp: comp, bc: bc}
	var h [headerSize]byte
	copy(h[:], magic)
	h[len(magic)] = version
	h[len(magic)+1] = comp.id
	binary.LittleEndian.PutUint32(h[len(magic)+2:], crc32.Checksum(h[:len(magic)+2], castagnoli))
	if err := w.write(h[:]); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

func (w *RunWriter[T]) write(p []byte) error {
	if _, err := w.w.Write(p); err != nil {
		w.err = fmt.Errorf("writing spill run %s: %w", w.f.Name(), err)
		return w.err
	}
	w.bytes += int64(len(p))
	return nil
}

// Path returns the run file's path.
func (w *RunWriter[T]) Path() string { return w.f.Name() }

// Write appends batch as one frame. Empty batches are skipped.
func (w *RunWriter[T]) Write(batch []T) error {
	if w.err != nil {
		return w.err
	}
	if len(batch) == 0 {
		return nil
	}
	if int64(len(batch)) > maxFrame {
		return fmt.Errorf("spill batch of %d records is too large; split it", len(batch))
	}
	var err error
	if w.raw, err = w.bc.Append(w.raw[:0], batch); err != nil {
		return fmt.Errorf("encoding spill batch: %w", err)
	}
	if len(w.raw) > maxFrame {
		return fmt.Errorf("spill batch encodes to %d bytes, more than %d; split it", len(w.raw), maxFrame)
	}
	w.payload = append(w.payload[:0], make([]byte, frameHead)...)
	if w.payload, err = compress(w.comp.id, w.payload, w.raw); err != nil {
		return fmt.Errorf("compressing spill batch with %s: %w", w.comp.Name(), err)
	}
	n := len(w.payload) - frameHead
	if n > maxFrame {
		return fmt.Errorf("compressed spill batch is %d bytes, more than %d; split it", n, maxFrame)
	}
	h := w.payload[:frameHead]
	binary.LittleEndian.PutUint32(h[0:], uint32(n))
	binary.LittleEndian.PutUint32(h[4:], uint32(len(w.raw)))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(batch)))
	crc := crc32.Update(crc32.Checksum(h[:12], castagnoli), castagnoli, w.payload[frameHead:])
	binary.LittleEndian.PutUint32(h[12:], crc)
	if err := w.write(w.payload); err != nil {
		return err
	}
	w.records += int64(len(batch))
	w.frames++
	return nil
}

// Close writes the end marker, closes the file and returns its Run. On
// error the file is removed.
func (w *RunWriter[T]) Close() (*Run, error) {
	if w.err != nil {
		w.Abort()
		return nil, w.err
	}
	var e [endSize]byte
	binary.LittleEndian.PutUint32(e[0:], endMarker)
	binary.LittleEndian.PutUint64(e[4:], uint64(w.records))
	binary.LittleEndian.PutUint32(e[12:], crc32.Checksum(e[:12], castagnoli))
	if err := w.write(e[:]); err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.w.Flush(); err != nil {
		w.err = fmt.Errorf("writing spill run %s: %w", w.f.Name(), err)
		w.Abort()
		return nil, w.err
	}
	if err := w.f.Close(); err != nil {
		w.err = fmt.Errorf("closing spill run %s: %w", w.f.Name(), err)
		_ = os.Remove(w.f.Name())
		return nil, w.err
	}
	w.err = errClosed
	return &Run{Path: w.f.Name(), Bytes: w.bytes, Records: w.records, Frames: w.frames}, nil
}

// Abort closes and removes the file without finishing the run. It is a
// no-op after Close succeeded.
func (w *RunWriter[T]) Abort() {
	if w.err == errClosed {
		return
	}
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
	if w.err == nil {
		w.err = errClosed
	}
}

// RunReader reads a run file back batch by batch. It is not safe for
// concurrent use.
type RunReader[T any] struct {
	run     Run
	f       *os.File
	r       *bufio.Reader
	codec   byte
	bc      BatchCodec[T]
	off     int64 // offset of the next unread byte
	frame   int
	records int64
	payload []byte
	raw     []byte
	batch   []T
	err     error // sticky
}

// OpenRun opens run for reading with the batch codec it was written with.
// The compression codec is read from the file.
func OpenRun[T any](run *Run, bc BatchCodec[T]) (*RunReader[T], error) {
	if bc.Decode == nil {
		return nil, errors.New("spill: BatchCodec needs Decode")
	}
	f, err := os.Open(run.Path)
	if err != nil {
		return nil, fmt.Errorf("opening spill run: %w", err)
	}
	r := &RunReader[T]{run: *run, f: f, r: bufio.NewReaderSize(f, 256<<10), bc: bc}
	if err := r.open(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *RunReader[T]) corrupt(format string, args ...any) error {
	return fmt.Errorf("spill run %s: %w: %s", r.run.Path, ErrCorrupt, fmt.Sprintf(format, args...))
}

func (r *RunReader[T]) open() error {
	fi, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("spill run %s: %w", r.run.Path, err)
	}
	if fi.Size() != r.run.Bytes {
		return r.corrupt("file is %d bytes, expected %d (truncated or overwritten)", fi.Size(), r.run.Bytes)
	}
	var h [headerSize]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		return r.corrupt("file is too short for a header (%d bytes)", fi.Size())
	}
	r.off = int64(headerSize)
	if string(h[:len(magic)]) != magic {
		return r.corrupt("not a spill run file (bad magic %q)", h[:len(magic)])
	}
	if crc32.Checksum(h[:len(magic)+2], castagnoli) != binary.LittleEndian.Uint32(h[len(magic)+2:]) {
		return r.corrupt("header checksum mismatch")
	}
	if v := h[len(magic)]; v != version {
		return r.corrupt("unsupported version %d (this build reads %d)", v, version)
	}
	r.codec = h[len(magic)+1]
	if !knownCodec(r.codec) {
		return r.corrupt("unknown compression codec id %d", r.codec)
	}
	return nil
}

// Next returns the next batch, or io.EOF after the last one. The batch is
// valid until the next call to Next. A damaged file gives an error wrapping
// ErrCorrupt and naming the file.
func (r *RunReader[T]) Next() ([]T, error) {
	if r.err != nil {
		return nil, r.err
	}
	b, err := r.next()
	if err != nil {
		r.err = err
	}
	return b, err
}

func (r *RunReader[T]) next() ([]T, error) {
	var h [frameHead]byte
	if _, err := io.ReadFull(r.r, h[:4]); err != nil {
		return nil, r.readErr(err, "frame %d header at offset %d", r.frame, r.off)
	}
	if binary.LittleEndian.Uint32(h[:4]) == endMarker {
		return nil, r.end(h[:4])
	}
	if _, err := io.ReadFull(r.r, h[4:]); err != nil {
		return nil, r.readErr(err, "frame %d header at offset %d", r.frame, r.off)
	}
	n := binary.LittleEndian.Uint32(h[0:])
	rawLen := binary.LittleEndian.Uint32(h[4:])
	nrec := binary.LittleEndian.Uint32(h[8:])
	if left := r.run.Bytes - r.off - frameHead - endSize; int64(n) > left {
		return nil, r.corrupt("frame %d at offset %d claims %d bytes, only %d left before the end marker", r.frame, r.off, n, max(0, left))
	}
	if cap(r.payload) < int(n) {
		r.payload = make([]byte, n)
	}
	r.payload = r.payload[:n]
	if _, err := io.ReadFull(r.r, r.payload); err != nil {
		return nil, r.readErr(err, "frame %d payload at offset %d", r.frame, r.off)
	}
	crc := crc32.Update(crc32.Checksum(h[:12], castagnoli), castagnoli, r.payload)
	if crc != binary.LittleEndian.Uint32(h[12:]) {
		return nil, r.corrupt("frame %d at offset %d: checksum mismatch", r.frame, r.off)
	}
	if rawLen > maxFrame {
		return nil, r.corrupt("frame %d at offset %d: raw size %d too large", r.frame, r.off, rawLen)
	}
	raw, err := decompress(r.codec, r.raw[:0], r.payload, int(rawLen))
	if err != nil {
		return nil, r.corrupt("frame %d at offset %d: %v", r.frame, r.off, err)
	}
	r.raw = raw
	batch, err := r.bc.Decode(raw, r.batch[:0])
	if err != nil {
		return nil, r.corrupt("frame %d at offset %d: decoding batch: %v", r.frame, r.off, err)
	}
	if len(batch) != int(nrec) {
		return nil, r.corrupt("frame %d at offset %d: decoded %d records, frame says %d", r.frame, r.off, len(batch), nrec)
	}
	r.batch = batch
	r.off += frameHead + int64(n)
	r.frame++
	r.records += int64(nrec)
	return batch, nil
}

// end checks the end marker whose first 4 bytes are m and that nothing
// follows it.
func (r *RunReader[T]) end(m []byte) error {
	var e [endSize]byte
	copy(e[:], m)
	if _, err := io.ReadFull(r.r, e[4:]); err != nil {
		return r.readErr(err, "end marker at offset %d", r.off)
	}
	if crc32.Checksum(e[:12], castagnoli) != binary.LittleEndian.Uint32(e[12:]) {
		return r.corrupt("end marker at offset %d: checksum mismatch", r.off)
	}
	total := int64(binary.LittleEndian.Uint64(e[4:]))
	if total != r.records || total != r.run.Records {
		return r.corrupt("end marker says %d records, read %d, run says %d", total, r.records, r.run.Records)
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		return r.corrupt("data after the end marker at offset %d", r.off+endSize)
	}
	return io.EOF
}

func (r *RunReader[T]) readErr(err error, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.corrupt("truncated in "+format, args...)
	}
	return fmt.Errorf("reading spill run %s: %s: %w", r.run.Path, fmt.Sprintf(format, args...), err)
}

// Run returns the run being read.
func (r *RunReader[T]) Run() Run { return r.run }

// Close closes the file; it does not remove it.
func (r *RunReader[T]) Close() error { return r.f.Close() }
