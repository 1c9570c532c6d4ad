package registry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
)

// A shuffle bucket (one reduce partition of one map output) is a sequence
// of frames, each an encoded batch of records: uvarint length, then the
// block EncodeSlice wrote. Batches keep both encoding and decoding memory
// bounded however large the bucket. Every shuffle writes and reads its
// buckets through these functions.

// AppendFrame appends recs to dst as one frame (nothing for no records).
func AppendFrame[T any](dst []byte, recs []T) ([]byte, error) {
	if len(recs) == 0 {
		return dst, nil
	}
	block, err := EncodeSlice(recs)
	if err != nil {
		return dst, err
	}
	dst = binary.AppendUvarint(dst, uint64(len(block)))
	return append(dst, block...), nil
}

var errFrame = errors.New("malformed shuffle block: frame length runs past the end")

// FrameBatches decodes every record of a bucket, batch by batch.
func FrameBatches[T any](bucket []byte) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		for len(bucket) > 0 {
			n, k := binary.Uvarint(bucket)
			if k <= 0 || n > uint64(len(bucket)-k) {
				yield(nil, errFrame)
				return
			}
			recs, err := DecodeSlice[T](bucket[k : k+int(n)])
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

// EachRecord runs fn on each record of every block of one side of a
// shuffle, until fn returns false (no error) or a fetch or decoding error.
func EachRecord[T any](blocks BlockIter, fn func(*T) bool) error {
	var inner error
	err := blocks(func(block []byte) bool {
		for batch, err := range FrameBatches[T](block) {
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

// WriteBuckets is the map side of a shuffle that does not combine: route
// gives each input record's bucket (0..n-1) and the record written there,
// and each bucket goes to env.Out a batch at a time.
func WriteBuckets[T, R any](env *ShuffleEnv, in iter.Seq[T], n int, route func(*T) (int, R)) (int64, error) {
	per := max(64, 32768/max(n, 1))
	bufs := make([][]R, n)
	var frame []byte
	var count int64
	flush := func(p int) error {
		var err error
		if frame, err = AppendFrame(frame[:0], bufs[p]); err != nil {
			return err
		}
		bufs[p] = bufs[p][:0]
		return env.Out.Append(p, frame)
	}
	for r := range in {
		count++
		p, rec := route(&r)
		bufs[p] = append(bufs[p], rec)
		if len(bufs[p]) >= per {
			if err := flush(p); err != nil {
				return count, err
			}
		}
	}
	for p := range bufs {
		if len(bufs[p]) > 0 {
			if err := flush(p); err != nil {
				return count, err
			}
		}
	}
	return count, nil
}
