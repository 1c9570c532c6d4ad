package aggrlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// IFile layout facts (LogAggregationIndexedFileController).
const (
	ifileUUIDLen = 32
	maxIndexLen  = 128 << 20
	// ChecksumSuffix names the file an IndexedFormat NodeManager keeps while
	// it appends to a log file (rolling aggregation): it holds how much of
	// the log file is whole.
	ChecksumSuffix = "-checksum"
)

// IFileIndex is what an IFile's index says.
type IFileIndex struct {
	User        string
	NodeID      string
	Compression string
	Logs        []ifileLog
}

type ifileLog struct {
	Log
	start, compressed int64
}

// ReadIFileIndex reads the index at the end of the first size bytes of an
// IFile of application appID.
func ReadIFileIndex(r io.ReaderAt, size int64, appID string) (*IFileIndex, error) {
	if size < 2*ifileUUIDLen+4 {
		return nil, malformed("%d bytes is too short for an IFile", size)
	}
	var tail [4 + ifileUUIDLen]byte
	if _, err := r.ReadAt(tail[:], size-int64(len(tail))); err != nil {
		return nil, fmt.Errorf("reading the IFile trailer: %w", err)
	}
	if !bytes.Equal(tail[4:], ifileUUID(appID)) {
		return nil, malformed("the IFile does not end with the SHA-256 of %s", appID)
	}
	n := int64(int32(binary.BigEndian.Uint32(tail[:4])))
	indexEnd := size - int64(len(tail))
	if n <= 0 || n > indexEnd-ifileUUIDLen || n > maxIndexLen {
		return nil, malformed("IFile index of %d bytes in a file of %d", n, size)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, indexEnd-n); err != nil {
		return nil, fmt.Errorf("reading the IFile index: %w", err)
	}
	root, err := decodeJava(buf)
	if err != nil {
		return nil, err
	}
	return indexFrom(root, indexEnd-n)
}

// ReadIFile reads the logs of an IFile of application appID (size: the
// file's length, or the whole part a checksum file names) and calls visit
// for every log of every container want accepts (want nil: all).
func ReadIFile(r io.ReaderAt, size int64, appID string, want func(container string) bool, visit Visitor) error {
	if size == ifileUUIDLen {
		// A NodeManager that found nothing to upload leaves the UUID alone.
		head := make([]byte, ifileUUIDLen)
		if _, err := r.ReadAt(head, 0); err != nil {
			return fmt.Errorf("reading the IFile: %w", err)
		}
		if bytes.Equal(head, ifileUUID(appID)) {
			return nil
		}
	}
	idx, err := ReadIFileIndex(r, size, appID)
	if err != nil {
		return err
	}
	for _, l := range idx.Logs {
		if want != nil && !want(l.Container) {
			continue
		}
		d, err := decompressor(idx.Compression, io.NewSectionReader(r, l.start, l.compressed))
		if err != nil {
			return fmt.Errorf("log %s of container %s: %w", l.Name, l.Container, err)
		}
		l := l
		ex := &exactReader{r: &countReader{r: d}, left: l.Length, what: func() string { return fmt.Sprintf("log %s of container %s", l.Name, l.Container) }}
		if err := visit(l.Log, ex); err != nil {
			return err
		}
		if err := ex.drain(); err != nil {
			return err
		}
	}
	return nil
}

func field[T any](o *jobject, name string) (T, error) {
	var zero T
	v, ok := o.fields[name]
	if !ok {
		return zero, malformed("index: %s has no field %s", o.class.name, name)
	}
	if v == nil {
		return zero, nil
	}
	t, ok := v.(T)
	if !ok {
		return zero, malformed("index: %s.%s is a %T", o.class.name, name, v)
	}
	return t, nil
}

func asObject(v any, class string) (*jobject, error) {
	o, ok := v.(*jobject)
	if !ok {
		return nil, malformed("index: a %T where %s was expected", v, class)
	}
	if !strings.HasSuffix(o.class.name, class) {
		return nil, malformed("index: a %s where %s was expected", o.class.name, class)
	}
	return o, nil
}

// elements are a list's elements or a map's keys and values in turn: what
// its writeObject wrote, or an array's elements.
func elements(v any) ([]any, error) {
	switch c := v.(type) {
	case nil:
		return nil, nil
	case *jobject:
		return c.extra, nil
	case *jarray:
		return c.elems, nil
	}
	return nil, malformed("index: a %T where a collection was expected", v)
}

// indexFrom reads IndexedLogsMeta{version, user, compressName, acls,
// nodeId, logMetas: [IndexedPerAggregationLogMeta{remoteNodeLogFileName,
// logMetas: {containerId: [IndexedFileLogMeta{containerId, fileName,
// fileSize, fileCompressedSize, lastModifiedTime, startIndex}]},
// uploadTimeStamp}]}. Every log must lie between the leading UUID and
// dataEnd.
func indexFrom(root any, dataEnd int64) (*IFileIndex, error) {
	o, err := asObject(root, "$IndexedLogsMeta")
	if err != nil {
		return nil, err
	}
	idx := &IFileIndex{}
	if idx.User, err = field[string](o, "user"); err != nil {
		return nil, err
	}
	if idx.NodeID, err = field[string](o, "nodeId"); err != nil {
		return nil, err
	}
	if idx.Compression, err = field[string](o, "compressName"); err != nil {
		return nil, err
	}
	if idx.Compression == "" {
		idx.Compression = "none"
	}
	lm, err := field[any](o, "logMetas")
	if err != nil {
		return nil, err
	}
	cycles, err := elements(lm)
	if err != nil {
		return nil, err
	}
	for _, c := range cycles {
		co, err := asObject(c, "$IndexedPerAggregationLogMeta")
		if err != nil {
			return nil, err
		}
		m, err := field[any](co, "logMetas")
		if err != nil {
			return nil, err
		}
		kv, err := elements(m)
		if err != nil {
			return nil, err
		}
		if len(kv)%2 != 0 {
			return nil, malformed("index: a map with %d keys and values", len(kv))
		}
		var cycle []ifileLog
		for i := 1; i < len(kv); i += 2 {
			files, err := elements(kv[i])
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				l, err := fileLog(f, dataEnd)
				if err != nil {
					return nil, err
				}
				cycle = append(cycle, l)
			}
		}
		// A HashMap's order is arbitrary: containers in id order, each
		// container's files as written.
		sort.SliceStable(cycle, func(i, j int) bool { return cycle[i].Container < cycle[j].Container })
		idx.Logs = append(idx.Logs, cycle...)
	}
	return idx, nil
}

func fileLog(v any, dataEnd int64) (ifileLog, error) {
	var l ifileLog
	o, err := asObject(v, "$IndexedFileLogMeta")
	if err != nil {
		return l, err
	}
	if l.Container, err = field[string](o, "containerId"); err != nil {
		return l, err
	}
	if l.Name, err = field[string](o, "fileName"); err != nil {
		return l, err
	}
	if l.Length, err = field[int64](o, "fileSize"); err != nil {
		return l, err
	}
	if l.compressed, err = field[int64](o, "fileCompressedSize"); err != nil {
		return l, err
	}
	if l.start, err = field[int64](o, "startIndex"); err != nil {
		return l, err
	}
	mod, err := field[int64](o, "lastModifiedTime")
	if err != nil {
		return l, err
	}
	if mod > 0 {
		l.ModTime = time.UnixMilli(mod)
	}
	if l.Length < 0 || l.compressed < 0 || l.start < ifileUUIDLen || l.start > dataEnd || l.compressed > dataEnd-l.start {
		return l, malformed("index: log %s of container %s at offset %d, %d bytes (%d compressed), outside the data's %d bytes",
			l.Name, l.Container, l.start, l.Length, l.compressed, dataEnd)
	}
	return l, nil
}

// ParseChecksum reads an IFile checksum file: a 4-byte name length, the
// name of the log file it is about, and how many bytes of it are whole.
func ParseChecksum(b []byte) (name string, end int64, err error) {
	if len(b) < 4 {
		return "", 0, malformed("checksum file of %d bytes", len(b))
	}
	n := int64(binary.BigEndian.Uint32(b))
	if n > int64(len(b))-12 {
		return "", 0, malformed("checksum file names %d bytes in %d", n, len(b))
	}
	name = string(b[4 : 4+n])
	end = int64(binary.BigEndian.Uint64(b[4+n:]))
	if end < 0 {
		return "", 0, malformed("checksum file gives length %d", end)
	}
	return name, end, nil
}
