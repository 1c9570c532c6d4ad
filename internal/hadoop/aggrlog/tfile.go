package aggrlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// BCFile layout facts (org.apache.hadoop.io.file.tfile.BCFile).
const (
	bcTrailerLen   = 8 + 4 + 16 // meta index offset, version (2 shorts), magic
	bcMetaPrefix   = "data:"    // meta index entries name "data:" + the meta block's name
	bcDataIndex    = "BCFile.index"
	tfileMeta      = "TFile.meta"
	maxMetaIndex   = 1 << 20 // a meta index lists a handful of blocks
	maxNameLen     = 1 << 10 // block and compression names
	maxKeyLen      = 1<<16 + 2
	maxDataIndexSz = 64 << 20
)

// Reserved keys of AggregatedLogFormat, not containers.
var reservedKeys = map[string]bool{"VERSION": true, "APPLICATION_ACL": true, "APPLICATION_OWNER": true}

type region struct{ offset, compressed, raw int64 }

type metaEntry struct {
	algo string
	region
}

// ReadTFile reads an aggregated log TFile of size bytes and calls visit for
// every log of every container want accepts (want nil: all), in file order.
func ReadTFile(r io.ReaderAt, size int64, want func(container string) bool, visit Visitor) error {
	if size < bcTrailerLen {
		return malformed("%d bytes is shorter than a BCFile trailer", size)
	}
	var trailer [bcTrailerLen]byte
	if _, err := r.ReadAt(trailer[:], size-bcTrailerLen); err != nil {
		return fmt.Errorf("reading the BCFile trailer: %w", err)
	}
	if !bytes.Equal(trailer[12:], bcfileMagic) {
		return malformed("no BCFile magic at the end: not a TFile")
	}
	if major := binary.BigEndian.Uint16(trailer[8:]); major != 1 {
		return malformed("BCFile version %d.%d (1.x expected)", major, binary.BigEndian.Uint16(trailer[10:]))
	}
	metaOff := int64(binary.BigEndian.Uint64(trailer[:8]))
	end := size - bcTrailerLen
	if metaOff < 0 || metaOff > end {
		return malformed("meta index offset %d outside the file's %d bytes", metaOff, size)
	}
	if end-metaOff > maxMetaIndex {
		return malformed("meta index of %d bytes", end-metaOff)
	}
	buf := make([]byte, end-metaOff)
	if _, err := r.ReadAt(buf, metaOff); err != nil {
		return fmt.Errorf("reading the meta index: %w", err)
	}
	metas, err := parseMetaIndex(bytes.NewReader(buf), metaOff)
	if err != nil {
		return err
	}
	tm, ok := metas[tfileMeta]
	if !ok {
		return malformed("no %s block: a BCFile but not a TFile", tfileMeta)
	}
	if err := checkTFileMeta(r, tm); err != nil {
		return err
	}
	di, ok := metas[bcDataIndex]
	if !ok {
		return malformed("no %s block", bcDataIndex)
	}
	algo, blocks, err := readDataIndex(r, di, metaOff)
	if err != nil {
		return err
	}
	for i, b := range blocks {
		if err := readDataBlock(r, algo, b, i, want, visit); err != nil {
			return err
		}
	}
	return nil
}

func readRegion(br io.ByteReader, limit int64) (region, error) {
	var g region
	var err error
	if g.offset, err = readVLong(br); err != nil {
		return g, err
	}
	if g.compressed, err = readVLong(br); err != nil {
		return g, err
	}
	if g.raw, err = readVLong(br); err != nil {
		return g, err
	}
	if g.offset < 0 || g.compressed < 0 || g.raw < 0 || g.offset > limit || g.compressed > limit-g.offset {
		return g, malformed("block region offset %d size %d does not fit before byte %d", g.offset, g.compressed, limit)
	}
	return g, nil
}

func parseMetaIndex(br *bytes.Reader, limit int64) (map[string]metaEntry, error) {
	n, err := readVInt(br)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > br.Len() {
		return nil, malformed("meta index of %d entries in %d bytes", n, br.Len())
	}
	out := map[string]metaEntry{}
	for i := 0; i < n; i++ {
		name, err := readString(br, maxNameLen)
		if err != nil {
			return nil, err
		}
		if len(name) < len(bcMetaPrefix) || name[:len(bcMetaPrefix)] != bcMetaPrefix {
			return nil, malformed("meta index entry %q lacks the %q prefix", name, bcMetaPrefix)
		}
		algo, err := readString(br, maxNameLen)
		if err != nil {
			return nil, err
		}
		g, err := readRegion(br, limit)
		if err != nil {
			return nil, err
		}
		out[name[len(bcMetaPrefix):]] = metaEntry{algo, g}
	}
	return out, nil
}

// openBlock gives the decompressed bytes of a region, exactly g.raw of them.
func openBlock(r io.ReaderAt, algo string, g region, what string) (*bufio.Reader, *exactReader, error) {
	d, err := decompressor(algo, io.NewSectionReader(r, g.offset, g.compressed))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	ex := &exactReader{r: &countReader{r: d}, left: g.raw, what: func() string { return what }}
	// Large reads: an HDFS file reads best in long sequential runs.
	return bufio.NewReaderSize(ex, 64<<10), ex, nil
}

func checkTFileMeta(r io.ReaderAt, m metaEntry) error {
	if m.raw > maxMetaIndex {
		return malformed("%s of %d bytes", tfileMeta, m.raw)
	}
	br, _, err := openBlock(r, m.algo, m.region, tfileMeta)
	if err != nil {
		return err
	}
	var v [4]byte
	if _, err := io.ReadFull(br, v[:]); err != nil {
		return fmt.Errorf("%s: %w", tfileMeta, eofIsUnexpected(err))
	}
	if major := binary.BigEndian.Uint16(v[:]); major != 1 {
		return malformed("TFile version %d.%d (1.x expected)", major, binary.BigEndian.Uint16(v[2:]))
	}
	return nil
}

func readDataIndex(r io.ReaderAt, m metaEntry, limit int64) (string, []region, error) {
	if m.raw > maxDataIndexSz {
		return "", nil, malformed("%s of %d bytes", bcDataIndex, m.raw)
	}
	br, _, err := openBlock(r, m.algo, m.region, bcDataIndex)
	if err != nil {
		return "", nil, err
	}
	algo, err := readString(br, maxNameLen)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", bcDataIndex, err)
	}
	n, err := readVInt(br)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", bcDataIndex, err)
	}
	// Each region takes at least 3 bytes.
	if n < 0 || int64(n) > m.raw/3 {
		return "", nil, malformed("%s lists %d blocks in %d bytes", bcDataIndex, n, m.raw)
	}
	var blocks []region
	for i := 0; i < n; i++ {
		g, err := readRegion(br, limit)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", bcDataIndex, err)
		}
		blocks = append(blocks, g)
	}
	return algo, blocks, nil
}

// readDataBlock reads the key/value entries of one data block: a VInt key
// length and the key, then the value in chunks (a negative VInt -n: n bytes
// and more chunks follow; n >= 0: the last n bytes).
func readDataBlock(r io.ReaderAt, algo string, g region, idx int, want func(string) bool, visit Visitor) error {
	what := fmt.Sprintf("data block %d", idx)
	br, ex, err := openBlock(r, algo, g, what)
	if err != nil {
		return err
	}
	for {
		if _, err := br.Peek(1); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		klen, err := readVInt(br)
		if err != nil {
			return fmt.Errorf("%s: key length: %w", what, err)
		}
		if klen < 2 || klen > maxKeyLen {
			return malformed("%s: key of %d bytes", what, klen)
		}
		key := make([]byte, klen)
		if _, err := io.ReadFull(br, key); err != nil {
			return fmt.Errorf("%s: key: %w", what, eofIsUnexpected(err))
		}
		// The key is Java's writeUTF of the container id.
		if int(binary.BigEndian.Uint16(key)) != klen-2 {
			return malformed("%s: key of %d bytes holds a string of %d", what, klen, binary.BigEndian.Uint16(key))
		}
		name, err := javaUTF(key[2:])
		if err != nil {
			return fmt.Errorf("%s: key: %w", what, err)
		}
		val := &chunkReader{r: br}
		if !reservedKeys[name] && (want == nil || want(name)) {
			if err := readContainerValue(name, val, visit); err != nil {
				return err
			}
		}
		if _, err := io.Copy(io.Discard, val); err != nil {
			return fmt.Errorf("%s: value of %s: %w", what, name, err)
		}
	}
	if ex.left != 0 {
		return malformed("%s ends %d bytes before its declared size", what, ex.left)
	}
	return nil
}

// chunkReader decodes TFile's chunked value encoding.
type chunkReader struct {
	r      *bufio.Reader
	remain int64
	last   bool
	header bool // a chunk header was read
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.remain == 0 {
		if c.header && c.last {
			return 0, io.EOF
		}
		n, err := readVInt(c.r)
		if err != nil {
			return 0, fmt.Errorf("value chunk header: %w", err)
		}
		c.header = true
		if n < 0 {
			c.remain, c.last = -int64(n), false
		} else {
			c.remain, c.last = int64(n), true
		}
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	n, err := c.r.Read(p)
	c.remain -= int64(n)
	if err == io.EOF {
		if c.remain > 0 {
			return n, malformed("value chunk ends %d bytes early", c.remain)
		}
		err = nil
	}
	return n, err
}

// readContainerValue reads AggregatedLogFormat's LogValue: per log file,
// writeUTF(name), writeUTF(decimal length), the bytes; until the value ends.
func readContainerValue(container string, val io.Reader, visit Visitor) error {
	for {
		name, err := readJavaUTF(val, true)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("container %s: log file name: %w", container, err)
		}
		lenStr, err := readJavaUTF(val, false)
		if err != nil {
			return fmt.Errorf("container %s: length of %s: %w", container, name, err)
		}
		length, err := strconv.ParseInt(lenStr, 10, 64)
		if err != nil || length < 0 {
			return malformed("container %s: log %s has length %q", container, name, lenStr)
		}
		ex := &exactReader{r: val, left: length, what: func() string { return fmt.Sprintf("log %s of container %s", name, container) }}
		if err := visit(Log{Container: container, Name: name, Length: length}, ex); err != nil {
			return err
		}
		if err := ex.drain(); err != nil {
			return err
		}
	}
}

// readJavaUTF reads DataOutput.writeUTF: a 2-byte length and modified UTF-8.
// With eofOK an end of data before the first byte is io.EOF.
func readJavaUTF(r io.Reader, eofOK bool) (string, error) {
	var l [2]byte
	if n, err := io.ReadFull(r, l[:]); err != nil {
		if eofOK && n == 0 && err == io.EOF {
			return "", io.EOF
		}
		return "", eofIsUnexpected(err)
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return "", eofIsUnexpected(err)
	}
	return javaUTF(b)
}

// javaUTF decodes Java's modified UTF-8 (NUL as C0 80, supplementary
// characters as surrogate pairs of 3 bytes each).
func javaUTF(b []byte) (string, error) {
	if utf8.Valid(b) && !bytes.Contains(b, []byte{0xed}) {
		return string(b), nil
	}
	var units []uint16
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			units = append(units, uint16(c))
			i++
		case c&0xe0 == 0xc0 && i+1 < len(b) && b[i+1]&0xc0 == 0x80:
			units = append(units, uint16(c&0x1f)<<6|uint16(b[i+1]&0x3f))
			i += 2
		case c&0xf0 == 0xe0 && i+2 < len(b) && b[i+1]&0xc0 == 0x80 && b[i+2]&0xc0 == 0x80:
			units = append(units, uint16(c&0x0f)<<12|uint16(b[i+1]&0x3f)<<6|uint16(b[i+2]&0x3f))
			i += 3
		default:
			return "", malformed("bad modified UTF-8 at byte %d", i)
		}
	}
	return string(utf16Decode(units)), nil
}

func utf16Decode(u []uint16) []rune {
	out := make([]rune, 0, len(u))
	for i := 0; i < len(u); i++ {
		c := rune(u[i])
		if c >= 0xd800 && c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000 {
			c = (c-0xd800)<<10 + (rune(u[i+1]) - 0xdc00) + 0x10000
			i++
		} else if c >= 0xd800 && c < 0xe000 {
			c = utf8.RuneError
		}
		out = append(out, c)
	}
	return out
}
