package aggrlog

import (
	"errors"
	"io"
	"math"
)

// TFile's variable-length integers (org.apache.hadoop.io.file.tfile.Utils,
// not WritableUtils'): -32..127 in one byte; otherwise the first byte says
// how many bytes follow and carries the high bits:
//
//	first byte -72..-33: 1 more byte,  value ((first+52)<<8)  | next byte
//	first byte -104..-73: 2 more bytes, value ((first+88)<<16) | next 2 bytes
//	first byte -120..-105: 3 more bytes, value ((first+112)<<24) | next 3 bytes
//	first byte -128..-121: first+129 (4..8) more bytes, big-endian, sign-extended
func readVLong(r io.ByteReader) (int64, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, eofIsUnexpected(err)
	}
	first := int64(int8(b))
	if first >= -32 {
		return first, nil
	}
	next := func(n int) (uint64, error) {
		var v uint64
		for i := 0; i < n; i++ {
			c, err := r.ReadByte()
			if err != nil {
				return 0, eofIsUnexpected(err)
			}
			v = v<<8 | uint64(c)
		}
		return v, nil
	}
	switch (first + 128) / 8 {
	case 7, 8, 9, 10, 11:
		v, err := next(1)
		return (first+52)<<8 | int64(v), err
	case 3, 4, 5, 6:
		v, err := next(2)
		return (first+88)<<16 | int64(v), err
	case 1, 2:
		v, err := next(3)
		return (first+112)<<24 | int64(v), err
	}
	n := int(first + 129)
	if n < 4 || n > 8 {
		return 0, malformed("bad variable-length integer (first byte %d)", first)
	}
	v, err := next(n)
	if err != nil {
		return 0, err
	}
	// Sign-extend from n bytes.
	shift := uint(64 - 8*n)
	return int64(v<<shift) >> shift, nil
}

func readVInt(r io.ByteReader) (int, error) {
	v, err := readVLong(r)
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, malformed("variable-length integer %d is out of int range", v)
	}
	return int(v), nil
}

// writeVLong is readVLong's inverse (for tests and the test encoder).
func writeVLong(out []byte, n int64) []byte {
	if n >= -32 && n < 128 {
		return append(out, byte(n))
	}
	switch {
	case n >= -20<<8 && n < 20<<8:
		return append(out, byte((n>>8)-52), byte(n))
	case n >= -16<<16 && n < 16<<16:
		return append(out, byte((n>>16)-88), byte(n>>8), byte(n))
	case n >= -8<<24 && n < 8<<24:
		return append(out, byte((n>>24)-112), byte(n>>16), byte(n>>8), byte(n))
	}
	un := n
	if n < 0 {
		un = ^n
	}
	size := 4
	for size < 8 && un >= 1<<(uint(8*size)-1) {
		size++
	}
	out = append(out, byte(size-129))
	for i := size - 1; i >= 0; i-- {
		out = append(out, byte(n>>(uint(8*i))))
	}
	return out
}

// readString reads Utils.writeString: a VInt byte count (-1: null) and
// UTF-8 bytes, at most max of them.
func readString(r io.ByteReader, max int) (string, error) {
	n, err := readVInt(r)
	if err != nil {
		return "", err
	}
	if n == -1 {
		return "", nil
	}
	if n < 0 || n > max {
		return "", malformed("string of %d bytes (at most %d expected)", n, max)
	}
	b := make([]byte, n)
	for i := range b {
		if b[i], err = r.ReadByte(); err != nil {
			return "", eofIsUnexpected(err)
		}
	}
	return string(b), nil
}

func eofIsUnexpected(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed("unexpected end of data")
	}
	return err
}
