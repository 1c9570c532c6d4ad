package fsx

import (
	"compress/gzip"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Codec names. The empty string is "no compression".
const (
	Gzip = "gzip"
	Zstd = "zstd"
)

// CodecForPath returns the codec a file's name says it is compressed with:
// "gzip" for .gz, "zstd" for .zst and .zstd, "" (plain text) otherwise. The
// suffix is matched as written (Hadoop does the same).
func CodecForPath(p string) string {
	switch {
	case strings.HasSuffix(p, ".gz"):
		return Gzip
	case strings.HasSuffix(p, ".zst"), strings.HasSuffix(p, ".zstd"):
		return Zstd
	}
	return ""
}

// CodecExt is the file name extension of a codec's files (".gz", ".zst"),
// "" for no compression or an unknown codec.
func CodecExt(codec string) string {
	switch codec {
	case Gzip:
		return ".gz"
	case Zstd:
		return ".zst"
	}
	return ""
}

// ParseCodec returns the canonical name of a codec setting: "" for "" and
// "none", "gzip" or "zstd" (any case, surrounding spaces ignored), and an
// error listing the valid names for anything else.
func ParseCodec(name string) (string, error) {
	switch n := strings.ToLower(strings.TrimSpace(name)); n {
	case "", "none":
		return "", nil
	case Gzip, Zstd:
		return n, nil
	}
	return "", fmt.Errorf("unknown compression codec %q (valid: none, gzip, zstd)", name)
}

// ValidCodec reports whether name is a codec setting ParseCodec accepts.
func ValidCodec(name string) error {
	_, err := ParseCodec(name)
	return err
}

// NewDecompressor returns a reader of r's decompressed bytes. Codec "" reads
// r as it is. A gzip stream of several members (concatenated .gz files) is
// read to its end. Closing the reader does not close r.
func NewDecompressor(codec string, r io.Reader) (io.ReadCloser, error) {
	c, err := ParseCodec(codec)
	if err != nil {
		return nil, err
	}
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, err // says "gzip: ..." already
		}
		return zr, nil
	case Zstd:
		// One goroutine: a task is one core's work.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(r), nil
}

// NewCompressor returns a writer that compresses into w. Close flushes the
// codec's last block and trailer but does not close w. Codec "" writes to w
// as it is.
func NewCompressor(codec string, w io.Writer) (io.WriteCloser, error) {
	c, err := ParseCodec(codec)
	if err != nil {
		return nil, err
	}
	switch c {
	case Gzip:
		return gzip.NewWriter(w), nil
	case Zstd:
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zw, nil
	}
	return nopWriteCloser{w}, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
