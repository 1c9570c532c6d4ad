package registry

// KeyHasher returns the stable hash function for keys of type K.
// (Temporary: replaced by the allocation-free hasher.)
func KeyHasher[K comparable]() func(K) uint64 { return func(k K) uint64 { return HashKey(k) } }

// PartitionOf maps a key hash to one of n buckets.
func PartitionOf(h uint64, n int) int {
	if n <= 1 {
		return 0
	}
	return int(h % uint64(n))
}

// AppendSlice appends the encoded block of recs to dst.
// (Temporary: replaced by the typed codec.)
func AppendSlice[T any](dst []byte, recs []T) ([]byte, error) {
	b, err := EncodeSlice(recs)
	return append(dst, b...), err
}
