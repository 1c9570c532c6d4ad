package registry

import (
	"fmt"
	"reflect"
)

// HashKey returns a hash of a shuffle key that is the same in every process
// of the application (unlike maphash, whose seed is per process). It agrees
// with KeyHasher: HashKey(k) == KeyHasher[K]()(k). Strings hash as FNV-1a 64
// of their bytes, integers as FNV-1a 64 of the 8 little-endian bytes of the
// value widened to 64 bits.
func HashKey(k any) uint64 {
	switch v := k.(type) {
	case string:
		return fnvString(fnvOffset, v)
	case int:
		return fnvUint64(fnvOffset, uint64(v))
	case int64:
		return fnvUint64(fnvOffset, uint64(v))
	case int32:
		return fnvUint64(fnvOffset, uint64(v))
	case uint64:
		return fnvUint64(fnvOffset, v)
	case float64:
		return fnvFloat64(fnvOffset, v)
	case bool:
		return fnvBool(fnvOffset, v)
	case nil:
		return fnvOffset
	}
	t := reflect.TypeOf(k)
	if ops, ok := hashOpsOf(t); ok {
		v := reflect.New(t)
		v.Elem().Set(reflect.ValueOf(k))
		return runHash(fnvOffset, ops, v.UnsafePointer())
	}
	// Slices, maps and keys holding non-empty interfaces: the Go-syntax form
	// is the same in every process (gob would not do: its type ids depend
	// on use order).
	return fnvString(fnvOffset, fmt.Sprintf("%#v", k))
}

// Partition maps a key to one of n buckets.
func Partition(k any, n int) int {
	return PartitionOf(HashKey(k), n)
}

// PartitionOf maps a key hash (from HashKey or a KeyHasher) to one of n
// buckets; n <= 1 is one bucket.
func PartitionOf(h uint64, n int) int {
	if n <= 1 {
		return 0
	}
	return int(h % uint64(n))
}
