// Package shufflesvc is the shuffle service a standalone worker runs
// (stoke.shuffle.service.enabled): executors write each map output to the
// application's shuffle directory on their worker as a data file and an
// index, and the worker serves those files over the executors' own
// FetchBlocks protocol once the executor is gone, to callers that hold
// that application's secret.
//
// Layout, under <work dir>/<app id>/shuffle/: shuffle_<s>_<m>.data holds
// the map output's buckets one after the other; shuffle_<s>_<m>.index
// holds n+1 big-endian int64 offsets into it (bucket r is [off[r],
// off[r+1])), as the reference system's sort shuffle writes them. Both are
// written under temporary names and renamed, data first, so an index
// always names a complete data file.
package shufflesvc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DirName is the shuffle directory under an application's work dir.
const DirName = "shuffle"

// MaxBuckets bounds the buckets of one map output an index may describe.
const MaxBuckets = 1 << 20

func baseName(shuffle int32, mapTask int64) string {
	return fmt.Sprintf("shuffle_%d_%d", shuffle, mapTask)
}

// WriteMapOutput writes one map output's n buckets (read with bucket) into
// dir and returns the bytes written.
func WriteMapOutput(dir string, shuffle int32, mapTask int64, n int, bucket func(int) ([]byte, error)) (int64, error) {
	if shuffle < 0 || mapTask < 0 || n < 1 || n > MaxBuckets {
		return 0, fmt.Errorf("shuffle files: map output %d/%d with %d buckets", shuffle, mapTask, n)
	}
	base := filepath.Join(dir, baseName(shuffle, mapTask))
	data, err := os.CreateTemp(dir, baseName(shuffle, mapTask)+".data.tmp*")
	if err != nil {
		return 0, fmt.Errorf("shuffle files: %w", err)
	}
	defer os.Remove(data.Name()) // no-op once renamed
	index := make([]byte, 8*(n+1))
	var off int64
	for b := 0; b < n; b++ {
		buf, err := bucket(b)
		if err != nil {
			data.Close()
			return 0, err
		}
		if _, err := data.Write(buf); err != nil {
			data.Close()
			return 0, fmt.Errorf("shuffle files: writing %s: %w", data.Name(), err)
		}
		off += int64(len(buf))
		binary.BigEndian.PutUint64(index[8*(b+1):], uint64(off))
	}
	if err := data.Close(); err != nil {
		return 0, fmt.Errorf("shuffle files: %w", err)
	}
	idx, err := os.CreateTemp(dir, baseName(shuffle, mapTask)+".index.tmp*")
	if err != nil {
		return 0, fmt.Errorf("shuffle files: %w", err)
	}
	defer os.Remove(idx.Name())
	_, werr := idx.Write(index)
	if err := errors.Join(werr, idx.Close()); err != nil {
		return 0, fmt.Errorf("shuffle files: writing %s: %w", idx.Name(), err)
	}
	if err := os.Rename(data.Name(), base+".data"); err != nil {
		return 0, fmt.Errorf("shuffle files: %w", err)
	}
	if err := os.Rename(idx.Name(), base+".index"); err != nil {
		return 0, fmt.Errorf("shuffle files: %w", err)
	}
	return off, nil
}

// ReadBucket reads bucket reduce of a map output written to dir. Every
// offset is checked against the files: a corrupt or truncated index is an
// error, never a read outside the data file.
func ReadBucket(dir string, shuffle int32, mapTask int64, reduce int32) ([]byte, error) {
	base := filepath.Join(dir, baseName(shuffle, mapTask))
	idx, err := os.Open(base + ".index")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("block %s is not on this shuffle service", BlockName(shuffle, mapTask, reduce))
		}
		return nil, err
	}
	defer idx.Close()
	st, err := idx.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size%8 != 0 || size < 16 || size > 8*(MaxBuckets+1) {
		return nil, fmt.Errorf("shuffle index %s: %d bytes is not an index", filepath.Base(base)+".index", size)
	}
	n := size/8 - 1
	if reduce < 0 || int64(reduce) >= n {
		return nil, fmt.Errorf("block %s: bucket %d outside 0..%d", BlockName(shuffle, mapTask, reduce), reduce, n-1)
	}
	var pair [16]byte
	if _, err := idx.ReadAt(pair[:], 8*int64(reduce)); err != nil {
		return nil, fmt.Errorf("shuffle index %s: %w", filepath.Base(base)+".index", err)
	}
	start, end := int64(binary.BigEndian.Uint64(pair[:8])), int64(binary.BigEndian.Uint64(pair[8:]))
	data, err := os.Open(base + ".data")
	if err != nil {
		return nil, err
	}
	defer data.Close()
	dst, err := data.Stat()
	if err != nil {
		return nil, err
	}
	if start < 0 || end < start || end > dst.Size() {
		return nil, fmt.Errorf("shuffle index %s: bucket %d at [%d, %d) outside the %d-byte data file", filepath.Base(base)+".index", reduce, start, end, dst.Size())
	}
	out := make([]byte, end-start)
	if _, err := data.ReadAt(out, start); err != nil && !(errors.Is(err, io.EOF) && len(out) == 0) {
		return nil, fmt.Errorf("shuffle data %s: %w", filepath.Base(base)+".data", err)
	}
	return out, nil
}

// BlockName names one reduce bucket of one map output, as executors do.
func BlockName(shuffle int32, mapTask int64, reduce int32) string {
	return fmt.Sprintf("shuffle_%d_%d_%d", shuffle, mapTask, reduce)
}

// ParseBlockName reads shuffle_<s>_<m>_<r>: three decimal numbers, none
// negative, nothing else (a name from the network never becomes a path).
func ParseBlockName(name string) (shuffle int32, mapTask int64, reduce int32, err error) {
	parts := strings.Split(name, "_")
	bad := fmt.Errorf("malformed shuffle block name %q", name)
	if len(parts) != 4 || parts[0] != "shuffle" {
		return 0, 0, 0, bad
	}
	nums := make([]int64, 3)
	for i, p := range parts[1:] {
		bits := 32
		if i == 1 {
			bits = 64
		}
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return 0, 0, 0, bad
		}
		v, err := strconv.ParseInt(p, 10, bits)
		if err != nil {
			return 0, 0, 0, bad
		}
		nums[i] = v
	}
	return int32(nums[0]), nums[1], int32(nums[2]), nil
}
