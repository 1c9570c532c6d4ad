package spill

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

type kv struct {
	Key   string
	Value int
}

// kvCodec writes each record as uvarint key length, key, varint value.
var kvCodec = BatchCodec[kv]{
	Append: func(dst []byte, recs []kv) ([]byte, error) {
		for _, r := range recs {
			dst = binary.AppendUvarint(dst, uint64(len(r.Key)))
			dst = append(dst, r.Key...)
			dst = binary.AppendVarint(dst, int64(r.Value))
		}
		return dst, nil
	},
	Decode: func(data []byte, dst []kv) ([]kv, error) {
		for len(data) > 0 {
			n, k := binary.Uvarint(data)
			if k <= 0 || uint64(len(data)-k) < n {
				return nil, errors.New("bad key length")
			}
			key := string(data[k : k+int(n)])
			data = data[k+int(n):]
			v, k := binary.Varint(data)
			if k <= 0 {
				return nil, errors.New("bad value")
			}
			data = data[k:]
			dst = append(dst, kv{key, int(v)})
		}
		return dst, nil
	},
}

// testfatal is what helpers need from *testing.T, *testing.B and *rapid.T.
type testfatal interface {
	Helper()
	Fatal(args ...any)
}

func cmpKV(a, b *kv) int { return strings.Compare(a.Key, b.Key) }

func testDirs(t interface {
	testfatal
	TempDir() string
	Cleanup(func())
}) *Dirs {
	t.Helper()
	d, err := NewDirs([]string{t.TempDir()}, "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Remove() })
	return d
}

func mustCompression(t testfatal, name string) Compression {
	t.Helper()
	c, err := NewCompression(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeRun(t testfatal, d *Dirs, comp Compression, batches [][]kv) *Run {
	t.Helper()
	w, err := NewRunWriter(d, comp, kvCodec)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	run, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// readRun reads a whole run, returning the records and the first error
// other than io.EOF.
func readRun(run *Run) ([]kv, error) {
	r, err := OpenRun(run, kvCodec)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var all []kv
	for {
		b, err := r.Next()
		if err == io.EOF {
			return all, nil
		}
		if err != nil {
			return all, err
		}
		all = append(all, b...)
	}
}

var codecs = []string{CodecZstd, CodecGzip, CodecNone}

func genKV() *rapid.Generator[kv] {
	return rapid.Custom(func(t *rapid.T) kv {
		return kv{
			Key:   rapid.StringMatching(`[a-e]{0,6}`).Draw(t, "key"),
			Value: rapid.Int().Draw(t, "value"),
		}
	})
}

func TestRunRoundTrip(t *testing.T) {
	d := testDirs(t)
	rapid.Check(t, func(t *rapid.T) {
		comp := mustCompression(t, rapid.SampledFrom(codecs).Draw(t, "codec"))
		batches := rapid.SliceOf(rapid.SliceOf(genKV())).Draw(t, "batches")
		run := writeRun(t, d, comp, batches)
		defer run.Remove()
		want := slices.Concat(batches...)
		if run.Records != int64(len(want)) {
			t.Fatalf("run says %d records, wrote %d", run.Records, len(want))
		}
		fi, err := os.Stat(run.Path)
		if err != nil || fi.Size() != run.Bytes {
			t.Fatalf("file size %v (%v), run says %d", fi.Size(), err, run.Bytes)
		}
		got, err := readRun(run)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
			t.Fatalf("read back %v, wrote %v", got, want)
		}
	})
}

func TestCompressionShrinksRepetitiveData(t *testing.T) {
	d := testDirs(t)
	batch := make([]kv, 5000)
	for i := range batch {
		batch[i] = kv{"same-key-over-and-over", 7}
	}
	none := writeRun(t, d, mustCompression(t, CodecNone), [][]kv{batch})
	for _, c := range []string{CodecZstd, CodecGzip} {
		run := writeRun(t, d, mustCompression(t, c), [][]kv{batch})
		if run.Bytes*10 > none.Bytes {
			t.Errorf("%s: %d bytes, uncompressed %d", c, run.Bytes, none.Bytes)
		}
	}
}

// sampleRun writes a small run of three frames.
func sampleRun(t *testing.T, d *Dirs, codec string) *Run {
	return writeRun(t, d, mustCompression(t, codec), [][]kv{
		{{"a", 1}, {"b", 2}},
		{{"c", 3}},
		{{"d", 4}, {"e", 5}, {"f", 6}},
	})
}

func wantCorrupt(t *testing.T, err error, path, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("%s: error %q does not wrap ErrCorrupt and name %s", what, err, path)
	}
}

func TestTruncatedRun(t *testing.T) {
	for _, codec := range codecs {
		t.Run(codec, func(t *testing.T) {
			d := testDirs(t)
			run := sampleRun(t, d, codec)
			data, err := os.ReadFile(run.Path)
			if err != nil {
				t.Fatal(err)
			}
			for n := range len(data) {
				if err := os.WriteFile(run.Path, data[:n], 0o600); err != nil {
					t.Fatal(err)
				}
				// The run's recorded size catches it at open ...
				_, err := readRun(run)
				wantCorrupt(t, err, run.Path, fmt.Sprintf("truncated to %d bytes", n))
				// ... and the format catches it without that size.
				short := *run
				short.Bytes = int64(n)
				_, err = readRun(&short)
				wantCorrupt(t, err, run.Path, fmt.Sprintf("truncated to %d bytes, size matching", n))
			}
		})
	}
}

func TestFlippedByte(t *testing.T) {
	for _, codec := range codecs {
		t.Run(codec, func(t *testing.T) {
			d := testDirs(t)
			run := sampleRun(t, d, codec)
			data, err := os.ReadFile(run.Path)
			if err != nil {
				t.Fatal(err)
			}
			for i := range data {
				bad := slices.Clone(data)
				bad[i] ^= 0x10
				if err := os.WriteFile(run.Path, bad, 0o600); err != nil {
					t.Fatal(err)
				}
				_, err := readRun(run)
				wantCorrupt(t, err, run.Path, fmt.Sprintf("byte %d flipped", i))
			}
		})
	}
}

func TestWrongMagic(t *testing.T) {
	d := testDirs(t)
	run := sampleRun(t, d, CodecZstd)
	data, _ := os.ReadFile(run.Path)
	copy(data, "NOTARUN!")
	if err := os.WriteFile(run.Path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := readRun(run)
	wantCorrupt(t, err, run.Path, "wrong magic")
	if !strings.Contains(err.Error(), "bad magic") {
		t.Errorf("error %q does not say the magic is wrong", err)
	}
}

func TestTrailingData(t *testing.T) {
	d := testDirs(t)
	run := sampleRun(t, d, CodecNone)
	f, _ := os.OpenFile(run.Path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{0})
	f.Close()
	long := *run
	long.Bytes++
	_, err := readRun(&long)
	wantCorrupt(t, err, run.Path, "trailing byte")
}

func TestRecordCountMismatch(t *testing.T) {
	d := testDirs(t)
	run := sampleRun(t, d, CodecZstd)
	other := *run
	other.Records++
	_, err := readRun(&other)
	wantCorrupt(t, err, run.Path, "wrong record count")
}

func TestBatchDecodeErrorNamesFile(t *testing.T) {
	d := testDirs(t)
	run := sampleRun(t, d, CodecZstd)
	bc := kvCodec
	bc.Decode = func([]byte, []kv) ([]kv, error) { return nil, errors.New("boom") }
	r, err := OpenRun(run, bc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Next()
	wantCorrupt(t, err, run.Path, "decode error")
	if !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %q hides the codec's error", err)
	}
	if _, err2 := r.Next(); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("Next after an error = %v, want the same error", err2)
	}
}

func TestMissingRunFile(t *testing.T) {
	_, err := OpenRun(&Run{Path: filepath.Join(t.TempDir(), "gone")}, kvCodec)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want not-exist", err)
	}
}

func TestWriterLifecycle(t *testing.T) {
	d := testDirs(t)
	comp := mustCompression(t, CodecZstd)
	w, err := NewRunWriter(d, comp, kvCodec)
	if err != nil {
		t.Fatal(err)
	}
	path := w.Path()
	if err := w.Write([]kv{{"a", 1}}); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("aborted run still on disk: %v", err)
	}
	if err := w.Write([]kv{{"b", 2}}); err == nil {
		t.Error("Write after Abort succeeded")
	}

	w, _ = NewRunWriter(d, comp, kvCodec)
	run, err := w.Close()
	if err != nil || run.Records != 0 || run.Frames != 0 {
		t.Fatalf("empty run: %+v, %v", run, err)
	}
	if got, err := readRun(run); err != nil || len(got) != 0 {
		t.Errorf("empty run read %v, %v", got, err)
	}
	if _, err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	w.Abort() // no-op after Close
	if _, err := os.Stat(run.Path); err != nil {
		t.Errorf("Abort after Close removed the run: %v", err)
	}

	bad := kvCodec
	bad.Append = func([]byte, []kv) ([]byte, error) { return nil, errors.New("cannot encode") }
	w, _ = NewRunWriter(d, comp, bad)
	if err := w.Write([]kv{{"a", 1}}); err == nil || !strings.Contains(err.Error(), "cannot encode") {
		t.Errorf("Write with a failing codec: %v", err)
	}
	w.Abort()

	if _, err := NewRunWriter(d, comp, BatchCodec[kv]{}); err == nil {
		t.Error("NewRunWriter accepted an empty BatchCodec")
	}
}

func TestRunRemoveAndDirsRemove(t *testing.T) {
	d := testDirs(t)
	run := sampleRun(t, d, CodecZstd)
	if err := run.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(run.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run file still there: %v", err)
	}
	run = sampleRun(t, d, CodecZstd)
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(d.Paths(), run.Path) {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Remove: %v", p, err)
		}
	}
	if _, err := NewRunWriter(d, mustCompression(t, CodecNone), kvCodec); err == nil {
		t.Error("created a run after Remove")
	}
}

// genSortedRuns draws up to 5 sorted runs, each split into random batches.
// Values are unique (run*1e6 + position) so stability is visible.
func genSortedRuns(t *rapid.T) [][][]kv {
	var runs [][][]kv
	for ri := range rapid.IntRange(0, 5).Draw(t, "runs") {
		recs := rapid.SliceOf(genKV()).Draw(t, "records")
		slices.SortStableFunc(recs, func(a, b kv) int { return cmpKV(&a, &b) })
		for i := range recs {
			recs[i].Value = ri*1_000_000 + i
		}
		var batches [][]kv
		for len(recs) > 0 {
			n := rapid.IntRange(1, len(recs)).Draw(t, "batch")
			batches = append(batches, recs[:n])
			recs = recs[n:]
		}
		runs = append(runs, batches)
	}
	return runs
}

func TestMergeEqualsSort(t *testing.T) {
	d := testDirs(t)
	rapid.Check(t, func(t *rapid.T) {
		runs := genSortedRuns(t)
		mem := rapid.SliceOf(genKV()).Draw(t, "memory")
		slices.SortStableFunc(mem, func(a, b kv) int { return cmpKV(&a, &b) })
		for i := range mem {
			mem[i].Value = -1 - i
		}
		withMem := rapid.Bool().Draw(t, "withMemory")
		codec := mustCompression(t, rapid.SampledFrom(codecs).Draw(t, "codec"))

		var readers []*RunReader[kv]
		var all []kv
		for _, batches := range runs {
			run := writeRun(t, d, codec, batches)
			defer run.Remove()
			r, err := OpenRun(run, kvCodec)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			readers = append(readers, r)
			all = append(all, slices.Concat(batches...)...)
		}
		seq := Merge(readers, cmpKV)
		if withMem {
			all = append(all, mem...)
			seq = MergeWithSorted(readers, mem, cmpKV)
		}
		// Stable sort of the concatenation in source order is exactly the
		// order a stable k-way merge must produce.
		slices.SortStableFunc(all, func(a, b kv) int { return cmpKV(&a, &b) })
		var got []kv
		for rec, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rec)
		}
		if len(got) != len(all) || (len(all) > 0 && !slices.Equal(got, all)) {
			t.Fatalf("merged\n%v\nwant\n%v", got, all)
		}
	})
}

func TestMergeStopsEarly(t *testing.T) {
	d := testDirs(t)
	comp := mustCompression(t, CodecZstd)
	var readers []*RunReader[kv]
	for range 3 {
		r, err := OpenRun(writeRun(t, d, comp, [][]kv{{{"a", 1}, {"b", 2}}, {{"c", 3}}}), kvCodec)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		readers = append(readers, r)
	}
	n := 0
	for _, err := range Merge(readers, cmpKV) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 4 {
			break
		}
	}
	if n != 4 {
		t.Errorf("got %d records before break, want 4", n)
	}
}

func TestMergeReportsCorruption(t *testing.T) {
	d := testDirs(t)
	comp := mustCompression(t, CodecNone)
	good := writeRun(t, d, comp, [][]kv{{{"a", 1}}, {{"b", 2}}})
	bad := writeRun(t, d, comp, [][]kv{{{"a", 1}}, {{"c", 3}}})
	data, _ := os.ReadFile(bad.Path)
	data[len(data)-endSize-1] ^= 1 // last byte of the second frame
	os.WriteFile(bad.Path, data, 0o600)
	var readers []*RunReader[kv]
	for _, run := range []*Run{good, bad} {
		r, err := OpenRun(run, kvCodec)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		readers = append(readers, r)
	}
	var got []kv
	var mergeErr error
	for rec, err := range Merge(readers, cmpKV) {
		if err != nil {
			mergeErr = err
			continue // the merge must stop by itself
		}
		got = append(got, rec)
	}
	wantCorrupt(t, mergeErr, bad.Path, "merge of a corrupt run")
	if len(got) > 2 {
		t.Errorf("merge went on after the error: %v", got)
	}
}
