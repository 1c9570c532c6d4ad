package spill

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkWriteReadRun writes 1e6 records as a zstd run in batches of
// 10,000 and reads them back; MB/s is of the encoded (uncompressed) batches.
func BenchmarkWriteReadRun(b *testing.B) {
	const total, batchSize = 1_000_000, 10_000
	recs := make([]kv, total)
	for i := range recs {
		recs[i] = kv{Key: fmt.Sprintf("key-%08d", i), Value: i * 7}
	}
	raw, _ := kvCodec.Append(nil, recs)
	b.SetBytes(int64(len(raw)))
	d := testDirs(b)
	comp := mustCompression(b, CodecZstd)
	b.ResetTimer()
	for b.Loop() {
		w, err := NewRunWriter(d, comp, kvCodec)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < total; i += batchSize {
			if err := w.Write(recs[i : i+batchSize]); err != nil {
				b.Fatal(err)
			}
		}
		run, err := w.Close()
		if err != nil {
			b.Fatal(err)
		}
		r, err := OpenRun(run, kvCodec)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			batch, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(batch)
		}
		r.Close()
		run.Remove()
		if n != total {
			b.Fatalf("read %d records, want %d", n, total)
		}
		b.ReportMetric(float64(run.Bytes)/float64(len(raw)), "ratio")
	}
}
