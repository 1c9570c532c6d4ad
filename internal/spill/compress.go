package spill

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Configuration keys read by CompressionFrom.
const (
	KeySpillCompress = "stoke.shuffle.spill.compress"
	KeyCodec         = "stoke.io.compression.codec"
)

// Codec names.
const (
	CodecZstd = "zstd"
	CodecGzip = "gzip"
	CodecNone = "none"
)

const validCodecs = "zstd, gzip or none"

// Compression is how frame payloads are compressed. The zero value is no
// compression.
type Compression struct {
	id byte
}

// Codec ids as stored in run file headers.
const (
	idNone byte = 0
	idZstd byte = 1
	idGzip byte = 2
)

// NewCompression returns the Compression for a codec name (zstd, gzip or
// none, case-insensitive).
func NewCompression(codec string) (Compression, error) {
	switch strings.ToLower(strings.TrimSpace(codec)) {
	case CodecZstd:
		return Compression{idZstd}, nil
	case CodecGzip:
		return Compression{idGzip}, nil
	case CodecNone:
		return Compression{idNone}, nil
	}
	return Compression{}, fmt.Errorf("%s must be %s, got %q", KeyCodec, validCodecs, codec)
}

// CompressionFrom reads stoke.shuffle.spill.compress (default true) and
// stoke.io.compression.codec (default zstd) through get.
func CompressionFrom(get func(key string) (string, bool)) (Compression, error) {
	codec := CodecZstd
	if v, ok := get(KeyCodec); ok {
		codec = v
	}
	c, err := NewCompression(codec)
	if err != nil {
		return c, err
	}
	if v, ok := get(KeySpillCompress); ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
		case "false":
			return Compression{idNone}, nil
		default:
			return c, fmt.Errorf("%s must be true or false, got %q", KeySpillCompress, v)
		}
	}
	return c, nil
}

// Name returns the codec name.
func (c Compression) Name() string { return codecName(c.id) }

func codecName(id byte) string {
	switch id {
	case idNone:
		return CodecNone
	case idZstd:
		return CodecZstd
	case idGzip:
		return CodecGzip
	}
	return fmt.Sprintf("unknown codec %d", id)
}

func knownCodec(id byte) bool { return id <= idGzip }

var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		panic(err) // only on invalid options
	}
	return e
})

var zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxFrame))
	if err != nil {
		panic(err)
	}
	return d
})

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// compress appends the compressed src to dst.
func compress(id byte, dst, src []byte) ([]byte, error) {
	switch id {
	case idNone:
		return append(dst, src...), nil
	case idZstd:
		return zstdEncoder().EncodeAll(src, dst), nil
	case idGzip:
		buf := bytes.NewBuffer(dst)
		w := gzipWriters.Get().(*gzip.Writer)
		defer func() {
			w.Reset(io.Discard) // drop the reference to dst
			gzipWriters.Put(w)
		}()
		w.Reset(buf)
		if _, err := w.Write(src); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("unknown codec %d", id)
}

// decompress appends the decompressed src, which must be exactly rawLen
// bytes, to dst.
func decompress(id byte, dst, src []byte, rawLen int) ([]byte, error) {
	var out []byte
	var err error
	switch id {
	case idNone:
		out = append(dst, src...)
	case idZstd:
		out, err = zstdDecoder().DecodeAll(src, dst)
	case idGzip:
		var r *gzip.Reader
		if r, err = gzip.NewReader(bytes.NewReader(src)); err == nil {
			out, err = readAllLimit(r, dst, rawLen)
		}
	default:
		err = fmt.Errorf("unknown codec %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("%s decompression failed: %v", codecName(id), err)
	}
	if got := len(out) - len(dst); got != rawLen {
		return nil, fmt.Errorf("%s payload is %d bytes, frame says %d", codecName(id), got, rawLen)
	}
	return out, nil
}

// readAllLimit appends r's content to dst, failing if it is longer than n.
func readAllLimit(r io.Reader, dst []byte, n int) ([]byte, error) {
	dst = append(dst, make([]byte, n)...)
	got, err := io.ReadFull(r, dst[len(dst)-n:])
	if err != nil {
		return nil, err
	}
	// Reading on to the end also checks the gzip trailer.
	extra, err := io.Copy(io.Discard, io.LimitReader(r, 1))
	if err != nil {
		return nil, err
	}
	if extra > 0 {
		return nil, fmt.Errorf("more than %d bytes", n)
	}
	return dst[:len(dst)-n+got], nil
}
