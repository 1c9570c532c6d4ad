package recordio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxRecord is the largest record a Reader accepts unless told
// otherwise; it matches the 4 MiB ceiling Mesos clients use for one message.
const DefaultMaxRecord = 4 << 20

// maxHeader bounds the length prefix: 20 digits hold any uint64.
const maxHeader = 20

// FrameError describes a malformed RecordIO frame.
type FrameError struct {
	Offset int64  // byte offset of the frame's header in the stream
	Reason string // what was wrong with it
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("recordio: malformed frame at byte %d: %s", e.Offset, e.Reason)
}

// ErrTruncated is wrapped by errors for a stream that ends inside a frame.
var ErrTruncated = errors.New("stream ends inside a frame")

// Reader reads records from a RecordIO stream.
type Reader struct {
	r      *bufio.Reader
	max    int
	offset int64
}

// NewReader returns a Reader that refuses records longer than max bytes
// (DefaultMaxRecord when max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxRecord
	}
	return &Reader{r: bufio.NewReader(r), max: max}
}

// Offset is the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.offset }

// ReadRecord returns the next record. It returns io.EOF only at a clean end
// of stream (between frames); any other failure is a *FrameError or an I/O
// error from the underlying reader.
func (r *Reader) ReadRecord() ([]byte, error) {
	start := r.offset
	n, err := r.readHeader(start)
	if err != nil {
		return nil, err
	}
	rec := make([]byte, n)
	got, err := io.ReadFull(r.r, rec)
	r.offset += int64(got)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &FrameError{Offset: start, Reason: fmt.Sprintf("%v: header announced %d bytes, only %d followed", ErrTruncated, n, got)}
		}
		return nil, err
	}
	return rec, nil
}

func (r *Reader) readHeader(start int64) (int, error) {
	var n uint64
	digits := 0
	for {
		b, err := r.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if digits == 0 {
					return 0, io.EOF
				}
				return 0, &FrameError{Offset: start, Reason: fmt.Sprintf("%v: length header has no line feed", ErrTruncated)}
			}
			return 0, err
		}
		r.offset++
		switch {
		case b == '\n':
			if digits == 0 {
				return 0, &FrameError{Offset: start, Reason: "empty length header"}
			}
			if n == 0 {
				return 0, &FrameError{Offset: start, Reason: "record length 0 (RecordIO records are never empty)"}
			}
			if n > uint64(r.max) {
				return 0, &FrameError{Offset: start, Reason: fmt.Sprintf("record length %d exceeds the limit of %d bytes", n, r.max)}
			}
			return int(n), nil
		case b >= '0' && b <= '9':
			digits++
			if digits > maxHeader {
				return 0, &FrameError{Offset: start, Reason: fmt.Sprintf("length header longer than %d digits", maxHeader)}
			}
			n = n*10 + uint64(b-'0')
			if n > uint64(r.max) {
				return 0, &FrameError{Offset: start, Reason: fmt.Sprintf("record length exceeds the limit of %d bytes", r.max)}
			}
		default:
			return 0, &FrameError{Offset: start, Reason: fmt.Sprintf("length header contains byte %q at byte %d; want decimal digits then a line feed", b, r.offset-1)}
		}
	}
}
