// Package shared holds the process-wide state behind Stoke's shared
// variables: the broadcast values a driver publishes and serves in chunks,
// the executor's cache of fetched values, and the accumulators with the
// per-attempt updates a task collects.
//
// The state is process-global because user functions are registered at
// init and run on executors that never reach the program's main past
// stoke.New: a broadcast variable or accumulator is a package-level handle
// found by its registered name, and one process is one driver or one
// executor (tests that run several contexts in one process share it).
package shared

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/stoke-run/stoke/internal/conf"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// BlockSizeKey is the configuration key of the broadcast chunk size.
const BlockSizeKey = "stoke.broadcast.blockSize"

// DefaultBlockSize is the chunk size when none is configured.
const DefaultBlockSize = 4 << 20

func init() {
	conf.Register(conf.Key{Name: BlockSizeKey, Default: "4m", Type: conf.TypeBytes, Unit: "k",
		Check: func(v any) error {
			if n := v.(int64); n < 1 || n > 64<<20 {
				return fmt.Errorf("must be between 1 byte and 64m, got %d bytes", n)
			}
			return nil
		},
		Doc: "Size of each chunk of a broadcast variable's value as executors fetch it from the driver (bare number: KiB)."})
}

// BlockSize reads stoke.broadcast.blockSize from c (nil: the default).
func BlockSize(c *conf.Conf) (int, error) {
	if c == nil {
		return DefaultBlockSize, nil
	}
	n, err := c.Bytes(BlockSizeKey)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > 64<<20 {
		return 0, fmt.Errorf("%s must be between 1 byte and 64m, got %d bytes", BlockSizeKey, n)
	}
	return int(n), nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C of an encoded value, as BroadcastChunk carries it.
func Checksum(data []byte) uint32 { return crc32.Checksum(data, castagnoli) }

// ---- driver side: published values ----

// published is a broadcast variable's value as its driver holds it.
type published struct {
	version   int64
	data      []byte // encoded once, at Publish
	crc       uint32
	destroyed bool
	fetches   int // fetches served for this name (all versions)
}

var drv = struct {
	sync.Mutex
	vars    map[string]*published
	version int64
}{vars: map[string]*published{}}

// ErrDestroyed is the error for a broadcast variable whose Destroy ran.
var ErrDestroyed = errors.New("destroyed")

// Publish makes data the value of the named broadcast variable, served to
// executors from now on, and returns its version (a destroyed variable
// gets a new value).
func Publish(name string, data []byte) (int64, error) {
	drv.Lock()
	defer drv.Unlock()
	p := drv.vars[name]
	if p == nil {
		p = &published{}
		drv.vars[name] = p
	}
	drv.version++
	p.version, p.data, p.crc, p.destroyed = drv.version, data, Checksum(data), false
	return p.version, nil
}

// Destroy forgets the named variable's value for good: it is not served
// again (until Publish gives the name a new value).
func Destroy(name string) {
	drv.Lock()
	defer drv.Unlock()
	p := drv.vars[name]
	if p == nil {
		p = &published{}
		drv.vars[name] = p
	}
	p.destroyed, p.data = true, nil
}

// Destroyed says whether Destroy ran for name.
func Destroyed(name string) bool {
	drv.Lock()
	defer drv.Unlock()
	p := drv.vars[name]
	return p != nil && p.destroyed
}

// Fetches counts the fetches of the named variable the driver served
// completely (for tests and metrics).
func Fetches(name string) int {
	drv.Lock()
	defer drv.Unlock()
	if p := drv.vars[name]; p != nil {
		return p.fetches
	}
	return 0
}

// lookup returns the value to serve for name or an error saying why not.
func lookup(name string) (version int64, data []byte, crc uint32, err error) {
	drv.Lock()
	defer drv.Unlock()
	p := drv.vars[name]
	switch {
	case p == nil:
		return 0, nil, 0, fmt.Errorf("broadcast variable %q has no value on the driver: call its Set before running jobs that read it", name)
	case p.destroyed:
		return 0, nil, 0, fmt.Errorf("broadcast variable %q was %w on the driver", name, ErrDestroyed)
	}
	return p.version, p.data, p.crc, nil
}

// ErrNotFound wraps the refusals of Serve for a variable without a value.
var ErrNotFound = errors.New("broadcast variable not found")

// Serve sends the named variable's current value in chunks of blockSize.
// It returns an error wrapping ErrNotFound (the variable has no value or was
// destroyed) or the send's error.
func Serve(name string, blockSize int, send func(*pb.BroadcastChunk) error) error {
	if blockSize < 1 {
		blockSize = DefaultBlockSize
	}
	version, data, crc, err := lookup(name)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	count := (len(data) + blockSize - 1) / blockSize
	if count == 0 {
		count = 1 // an empty value is one empty chunk
	}
	for i := 0; i < count; i++ {
		lo, hi := i*blockSize, min((i+1)*blockSize, len(data))
		err := send(&pb.BroadcastChunk{Version: version, Index: int32(i), Count: int32(count),
			TotalSize: int64(len(data)), Crc32C: crc, Data: data[lo:hi]})
		if err != nil {
			return err
		}
	}
	drv.Lock()
	if p := drv.vars[name]; p != nil {
		p.fetches++
	}
	drv.Unlock()
	return nil
}

// ---- executor side: fetching and the cache ----

// Receive reads one value from a FetchBroadcast stream (recv returns
// io.EOF at its end), checking that the chunks come in order, agree on the
// header, add up to the announced size and match the checksum.
// maxSize bounds the announced size (0: no bound).
func Receive(recv func() (*pb.BroadcastChunk, error), maxSize int64) (version int64, data []byte, err error) {
	var first *pb.BroadcastChunk
	next := 0 // index of the chunk expected next
	for {
		c, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, nil, err
		}
		if first == nil {
			first = c
			switch {
			case c.Count < 1:
				return 0, nil, fmt.Errorf("malformed broadcast chunk: %d chunks announced", c.Count)
			case c.TotalSize < 0 || (maxSize > 0 && c.TotalSize > maxSize):
				return 0, nil, fmt.Errorf("malformed broadcast chunk: a value of %d bytes announced (at most %d accepted)", c.TotalSize, maxSize)
			}
			data = make([]byte, 0, min(c.TotalSize, 64<<20)) // grows past 64 MiB as chunks arrive
		}
		switch {
		case c.Version != first.Version || c.Count != first.Count || c.TotalSize != first.TotalSize || c.Crc32C != first.Crc32C:
			return 0, nil, fmt.Errorf("malformed broadcast chunk %d: its header differs from the first chunk's", c.Index)
		case int(c.Index) != next || next >= int(first.Count):
			return 0, nil, fmt.Errorf("malformed broadcast chunk: got chunk %d, expected chunk %d of %d", c.Index, next, first.Count)
		case int64(len(data))+int64(len(c.Data)) > first.TotalSize:
			return 0, nil, fmt.Errorf("malformed broadcast chunk %d: the chunks exceed the announced %d bytes", c.Index, first.TotalSize)
		}
		data = append(data, c.Data...)
		next++
	}
	switch {
	case first == nil:
		return 0, nil, errors.New("malformed broadcast: the driver sent no chunks")
	case next != int(first.Count):
		return 0, nil, fmt.Errorf("broadcast ended after %d of %d chunks", next, first.Count)
	case int64(len(data)) != first.TotalSize:
		return 0, nil, fmt.Errorf("broadcast value has %d bytes, %d were announced", len(data), first.TotalSize)
	}
	if got := Checksum(data); got != first.Crc32C {
		return 0, nil, fmt.Errorf("broadcast value fails its checksum (CRC-32C %08x, expected %08x)", got, first.Crc32C)
	}
	return first.Version, data, nil
}
