package shuffle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
)

// A bucket (one reduce partition of one map output) is a sequence of
// frames, each an encoded batch of records: uvarint length, then the block
// registry.EncodeSlice wrote. Batches keep both encoding and decoding
// memory bounded however large the bucket.

// appendFrame appends one encoded batch as a frame.
func appendFrame[T any](dst []byte, recs []T) ([]byte, error) {
	if len(recs) == 0 {
		return dst, nil
	}
	block, err := registry.EncodeSlice(recs)
	if err != nil {
		return dst, err
	}
	dst = binary.AppendUvarint(dst, uint64(len(block)))
	return append(dst, block...), nil
}

var errFrame = errors.New("malformed shuffle block: frame length runs past the end")

// Records decodes every record of a bucket, batch by batch.
func Records[T any](bucket []byte) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		for len(bucket) > 0 {
			n, k := binary.Uvarint(bucket)
			if k <= 0 || n > uint64(len(bucket)-k) {
				yield(nil, errFrame)
				return
			}
			recs, err := registry.DecodeSlice[T](bucket[k : k+int(n)])
			if err != nil {
				yield(nil, fmt.Errorf("malformed shuffle block: %w", err))
				return
			}
			if !yield(recs, nil) {
				return
			}
			bucket = bucket[k+int(n):]
		}
	}
}

// EncodeBucket encodes records as one bucket of frames of at most
// batchSize records.
func EncodeBucket[T any](recs []T) ([]byte, error) {
	var out []byte
	for lo := 0; lo < len(recs); lo += batchSize {
		var err error
		if out, err = appendFrame(out, recs[lo:min(lo+batchSize, len(recs))]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const batchSize = 4096

// ForEachRecord runs fn on each record of every block of one side; a fetch
// or decoding error ends it.
func ForEachRecord[T any](blocks registry.BlockIter, fn func(*T)) error {
	return ForEachRecordUntil(blocks, func(r *T) bool { fn(r); return true })
}

// ForEachRecordUntil is ForEachRecord that stops, without error, once fn
// returns false.
func ForEachRecordUntil[T any](blocks registry.BlockIter, fn func(*T) bool) error {
	var inner error
	err := blocks(func(block []byte) bool {
		for batch, err := range Records[T](block) {
			if err != nil {
				inner = err
				return false
			}
			for i := range batch {
				if !fn(&batch[i]) {
					return false
				}
			}
		}
		return true
	})
	if inner != nil {
		return inner
	}
	return err
}
