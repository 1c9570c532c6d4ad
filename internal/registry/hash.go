package registry

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
)

// HashKey returns a hash of a shuffle key that is the same in every process
// of the application (unlike maphash, whose seed is per process).
func HashKey(k any) uint64 {
	h := fnv.New64a()
	var b [8]byte
	switch v := k.(type) {
	case string:
		h.Write([]byte(v))
	case int:
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	case int64:
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	case int32:
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	case uint64:
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	case float64:
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	case bool:
		if v {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
	default:
		// The Go-syntax form is the same in every process for keys made of
		// values (gob would not do: its type ids depend on use order).
		fmt.Fprintf(h, "%#v", k)
	}
	return h.Sum64()
}

// Partition maps a key to one of n buckets.
func Partition(k any, n int) int {
	if n <= 1 {
		return 0
	}
	return int(HashKey(k) % uint64(n))
}
