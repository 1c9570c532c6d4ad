package shuffle

import (
	"github.com/stoke-run/stoke/internal/registry"
)

// Buckets are sequences of frames (registry.AppendFrame).

// EncodeBucket encodes records as one bucket of frames of at most
// batchSize records.
func EncodeBucket[T any](recs []T) ([]byte, error) {
	var out []byte
	for lo := 0; lo < len(recs); lo += batchSize {
		var err error
		if out, err = registry.AppendFrame(out, recs[lo:min(lo+batchSize, len(recs))]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const batchSize = 4096

// ForEachRecord runs fn on each record of every block of one side; a fetch
// or decoding error ends it.
func ForEachRecord[T any](blocks registry.BlockIter, fn func(*T)) error {
	return registry.EachRecord(blocks, func(r *T) bool { fn(r); return true })
}
