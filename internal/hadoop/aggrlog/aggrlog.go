package aggrlog

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrMalformed is wrapped by every error about a file's content.
var ErrMalformed = errors.New("malformed aggregated log file")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Format is an aggregated log file's format.
type Format int

const (
	TFile Format = iota + 1 // LogAggregationTFileController
	IFile                   // LogAggregationIndexedFileController
)

func (f Format) String() string {
	switch f {
	case TFile:
		return "TFile"
	case IFile:
		return "IndexedFormat"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Log is one log file of one container.
type Log struct {
	Container string
	Name      string // stdout, stderr, ...
	Length    int64
	ModTime   time.Time // when the NodeManager last saw it change (IFile only)
}

// Visitor receives each log with a reader of exactly l.Length bytes; the
// reader is valid until Visitor returns. Reading it may fail with an error
// wrapping ErrMalformed when the file is truncated. Returning an error stops
// the reading and is returned as is.
type Visitor func(l Log, content io.Reader) error

// bcfileMagic ends every BCFile (and so every TFile).
var bcfileMagic = []byte{0xd1, 0x11, 0xd3, 0x68, 0x91, 0xb5, 0xd7, 0xb6, 0x39, 0xdf, 0x41, 0x40, 0x92, 0xba, 0xe1, 0x50}

// Detect tells the format of an aggregated log file of application appID by
// its trailer: BCFile's magic, or the IFile's SHA-256 of the application id.
func Detect(r io.ReaderAt, size int64, appID string) (Format, error) {
	if size < int64(len(bcfileMagic)) {
		return 0, malformed("%d bytes is too short for an aggregated log file", size)
	}
	tail := make([]byte, 32)
	n := int64(len(tail))
	if size < n {
		n = size
	}
	if _, err := r.ReadAt(tail[32-n:], size-n); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	if bytes.Equal(tail[16:], bcfileMagic) {
		return TFile, nil
	}
	if n == 32 && bytes.Equal(tail, ifileUUID(appID)) {
		return IFile, nil
	}
	return 0, malformed("neither a TFile (no BCFile magic at the end) nor an IFile of %s (no SHA-256 of the application id at the end)", appID)
}

// ifileUUID is the 32 bytes an IFile of appID starts and ends with.
func ifileUUID(appID string) []byte {
	s := sha256.Sum256([]byte(appID))
	return s[:]
}

// decompressor opens a compressed region with one of TFile's algorithms.
func decompressor(algo string, r io.Reader) (io.Reader, error) {
	switch algo {
	case "none":
		return r, nil
	case "gz":
		// TFile's "gz" is Hadoop's DefaultCodec: a zlib stream. Accept a
		// gzip stream too.
		br := bufio.NewReader(r)
		if h, err := br.Peek(2); err == nil && h[0] == 0x1f && h[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return nil, malformed("gz block: %v", err)
			}
			return zr, nil
		}
		zr, err := zlib.NewReader(br)
		if err != nil {
			return nil, malformed("gz block: %v", err)
		}
		return zr, nil
	case "lzo":
		return nil, fmt.Errorf("%w: the file is compressed with lzo, which stoke does not read (set yarn.nodemanager.log-aggregation.compression-type to none or gz)", errors.ErrUnsupported)
	}
	return nil, malformed("unknown compression %q", algo)
}

// countReader counts the bytes read through it and turns a decompressor's
// errors into ErrMalformed ones.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && !errors.Is(err, ErrMalformed) {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zlib.ErrChecksum) || errors.Is(err, zlib.ErrHeader) ||
			errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || isFlateError(err) {
			err = malformed("compressed data: %v", err)
		}
	}
	return n, err
}

func isFlateError(err error) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce)
}

// exactReader gives n bytes of r and fails with ErrMalformed when r ends
// before them.
type exactReader struct {
	r    io.Reader
	left int64
	what func() string
	read int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	e.read += int64(n)
	if err == io.EOF {
		if e.left > 0 {
			return n, malformed("%s ends after %d bytes, %d short", e.what(), e.read, e.left)
		}
		err = nil
	}
	return n, err
}

// drain reads what the visitor left of an exactReader.
func (e *exactReader) drain() error {
	_, err := io.Copy(io.Discard, e)
	return err
}
