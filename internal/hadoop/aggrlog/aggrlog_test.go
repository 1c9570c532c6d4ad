package aggrlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
)

const testApp = "application_1733300000000_0042"

func sampleLogs() []testLog {
	return []testLog{
		{"container_1733300000000_0042_01_000001", "stderr", "the AM's stderr\n"},
		{"container_1733300000000_0042_01_000001", "stdout", ""},
		{"container_1733300000000_0042_01_000002", "stderr", strings.Repeat("an executor's line\n", 300)},
		{"container_1733300000000_0042_01_000002", "stdout", "result 42\n"},
		{"container_e17_1733300000000_0042_01_000003", "stderr", "épée 🚀\n"},
	}
}

type readFn func(r io.ReaderAt, size int64, want func(string) bool, visit Visitor) error

func readTFile(r io.ReaderAt, size int64, want func(string) bool, visit Visitor) error {
	return ReadTFile(r, size, want, visit)
}

func readIFile(r io.ReaderAt, size int64, want func(string) bool, visit Visitor) error {
	return ReadIFile(r, size, testApp, want, visit)
}

func collect(read readFn, b []byte, want func(string) bool) ([]testLog, error) {
	var out []testLog
	err := read(bytes.NewReader(b), int64(len(b)), want, func(l Log, content io.Reader) error {
		c, err := io.ReadAll(content)
		if err != nil {
			return err
		}
		if int64(len(c)) != l.Length {
			return fmt.Errorf("%s/%s: %d bytes, Length %d", l.Container, l.Name, len(c), l.Length)
		}
		out = append(out, testLog{l.Container, l.Name, string(c)})
		return nil
	})
	return out, err
}

func TestVLong(t *testing.T) {
	// Encodings of Hadoop's Utils.writeVLong.
	known := map[int64][]byte{
		0: {0}, 127: {0x7f}, -32: {0xe0}, 128: {0xcc, 0x80}, -33: {0xcb, 0xdf},
		5119: {0xdf, 0xff}, 5120: {0xa8, 0x14, 0x00}, math.MaxInt64: {0x87, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for v, want := range known {
		if got := writeVLong(nil, v); !bytes.Equal(got, want) {
			t.Errorf("writeVLong(%d) = %x, want %x", v, got, want)
		}
	}
	vals := []int64{0, 1, -1, 127, 128, -32, -33, 255, 256, -5120, 5119, 5120, -5121, 1 << 20, -(1 << 20), 1<<27 - 1, 1 << 27, -(1 << 27),
		1<<31 - 1, 1 << 31, -(1 << 31), 1 << 40, -(1 << 40), 1 << 55, math.MaxInt64, math.MinInt64}
	for _, v := range vals {
		b := writeVLong(nil, v)
		got, err := readVLong(bytes.NewReader(b))
		if err != nil || got != v {
			t.Errorf("%d encoded as %x reads back as %d, %v", v, b, got, err)
		}
		if len(b) > 1 {
			if _, err := readVLong(bytes.NewReader(b[:len(b)-1])); !errors.Is(err, ErrMalformed) {
				t.Errorf("%x cut short: %v", b[:len(b)-1], err)
			}
		}
	}
	for _, first := range []byte{0x80, 0x81, 0x82} { // lengths 1..3 in the long form do not exist
		if _, err := readVLong(bytes.NewReader([]byte{first, 0, 0, 0, 0, 0, 0, 0, 0})); !errors.Is(err, ErrMalformed) {
			t.Errorf("first byte %x: %v", first, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, algo := range []string{"none", "gz"} {
		for _, tc := range []struct {
			name string
			file []byte
			read readFn
		}{
			{"TFile one block", encodeTFile(sampleLogs(), algo, 100, 1<<20), readTFile},
			{"TFile a block per entry, small chunks", encodeTFile(sampleLogs(), algo, 1, 7), readTFile},
			{"IFile", encodeIFile(testApp, sampleLogs(), algo), readIFile},
		} {
			t.Run(tc.name+" "+algo, func(t *testing.T) {
				got, err := collect(tc.read, tc.file, nil)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(sampleLogs()) {
					t.Fatalf("read %q\nwant %q", got, sampleLogs())
				}
				one := "container_1733300000000_0042_01_000002"
				got, err = collect(tc.read, tc.file, func(c string) bool { return c == one })
				if err != nil || len(got) != 2 || got[0].container != one || got[1].container != one {
					t.Fatalf("only %s: %q, %v", one, got, err)
				}
				f, err := Detect(bytes.NewReader(tc.file), int64(len(tc.file)), testApp)
				if err != nil || (f == TFile) != strings.HasPrefix(tc.name, "TFile") {
					t.Fatalf("Detect: %v, %v", f, err)
				}
				// A visitor that reads nothing or part: the rest is skipped.
				n := 0
				err = tc.read(bytes.NewReader(tc.file), int64(len(tc.file)), nil, func(l Log, c io.Reader) error {
					n++
					if n%2 == 0 {
						_, err := c.Read(make([]byte, 3))
						if err == io.EOF {
							err = nil
						}
						return err
					}
					return nil
				})
				if err != nil || n != len(sampleLogs()) {
					t.Fatalf("skipping visitor: %d logs, %v", n, err)
				}
				// A visitor's error stops the reading and comes back.
				stop := errors.New("enough")
				if err := tc.read(bytes.NewReader(tc.file), int64(len(tc.file)), nil, func(Log, io.Reader) error { return stop }); err != stop {
					t.Fatalf("visitor error: %v", err)
				}
			})
		}
	}
}

// TestTruncated: every prefix of a file is an error wrapping ErrMalformed.
func TestTruncated(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
		read readFn
	}{
		{"TFile", encodeTFile(sampleLogs(), "none", 2, 64), readTFile},
		{"TFile gz", encodeTFile(sampleLogs(), "gz", 2, 64), readTFile},
		{"IFile", encodeIFile(testApp, sampleLogs(), "none"), readIFile},
		{"IFile gz", encodeIFile(testApp, sampleLogs(), "gz"), readIFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n < len(tc.file); n++ {
				logs, err := collect(tc.read, tc.file[:n], nil)
				if n == ifileUUIDLen && strings.HasPrefix(tc.name, "IFile") && err == nil && len(logs) == 0 {
					continue // the UUID alone: a NodeManager that had nothing to upload
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("cut to %d of %d bytes: %v", n, len(tc.file), err)
				}
			}
		})
	}
}

// TestFlipped: any changed byte gives an error or other logs, no panic.
func TestFlipped(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
		read readFn
	}{
		{"TFile", encodeTFile(sampleLogs(), "none", 2, 64), readTFile},
		{"TFile gz", encodeTFile(sampleLogs(), "gz", 2, 64), readTFile},
		{"IFile", encodeIFile(testApp, sampleLogs(), "none"), readIFile},
		{"IFile gz", encodeIFile(testApp, sampleLogs(), "gz"), readIFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.file {
				for _, x := range []byte{0x01, 0x80, 0xff} {
					b := bytes.Clone(tc.file)
					b[i] ^= x
					if _, err := collect(tc.read, b, nil); err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, errors.ErrUnsupported) {
						t.Fatalf("byte %d ^ %#x: %v", i, x, err)
					}
				}
			}
		})
	}
}

// patch returns b with the bytes at off replaced.
func patch(b []byte, off int, with []byte) []byte {
	c := bytes.Clone(b)
	copy(c[off:], with)
	return c
}

func TestMalformedTFile(t *testing.T) {
	good := encodeTFile(sampleLogs(), "none", 2, 64)
	n := len(good)
	metaOff := int(binary.BigEndian.Uint64(good[n-bcTrailerLen:]))
	be64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	for _, tc := range []struct {
		name, want string
		file       []byte
	}{
		{"bad magic", "no BCFile magic", patch(good, n-1, []byte{0})},
		{"BCFile version 2", "BCFile version 2", patch(good, n-20, []byte{0, 2})},
		{"meta index offset past the end", "outside the file", patch(good, n-28, be64(uint64(n)))},
		{"negative meta index offset", "outside the file", patch(good, n-28, be64(1<<63))},
		{"meta index of a billion entries", "entries", patch(good, metaOff, writeVLong(nil, 1<<30))},
		{"a meta entry without data:", "prefix", patch(good, metaOff+2, []byte("x"))},
		{"empty", "shorter than", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := collect(readTFile, tc.file, nil)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v (want ErrMalformed saying %q)", err, tc.want)
			}
		})
	}
	// Entries built by hand: a bad key, a bad length string, a log longer
	// than its value.
	for _, tc := range []struct {
		name, want string
		logs       []testLog
		edit       func(raw []byte) []byte
	}{
		{"length not a number", "has length", []testLog{{"c_1", "stderr", "xyz"}}, func(b []byte) []byte {
			return bytes.Replace(b, javaUTFBytes("3"), javaUTFBytes("x"), 1)
		}},
		{"negative length", "has length", []testLog{{"c_1", "stderr", "xyz"}}, func(b []byte) []byte {
			return bytes.Replace(b, append(javaUTFBytes("3"), "xyz"...), append(javaUTFBytes("-"), "xyz"...), 1)
		}},
		{"length past the value", "short", []testLog{{"c_1", "stderr", "xyz"}}, func(b []byte) []byte {
			return bytes.Replace(b, javaUTFBytes("3"), javaUTFBytes("9"), 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.edit(encodeTFile(tc.logs, "none", 100, 1<<20))
			_, err := collect(readTFile, file, nil)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v (want ErrMalformed saying %q)", err, tc.want)
			}
		})
	}
	lzo := encodeTFile(sampleLogs(), "lzo", 2, 64)
	if _, err := collect(readTFile, lzo, nil); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "lzo") {
		t.Fatalf("lzo: %v", err)
	}
}

func TestMalformedIFile(t *testing.T) {
	good := encodeIFile(testApp, sampleLogs(), "none")
	n := len(good)
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	indexLen := int(binary.BigEndian.Uint32(good[n-36:]))
	indexAt := n - 36 - indexLen
	for _, tc := range []struct {
		name, want string
		file       []byte
	}{
		{"another application's", "SHA-256", patch(good, n-1, []byte{good[n-1] ^ 1})},
		{"index length negative", "index of", patch(good, n-36, be32(0xffffffff))},
		{"index length zero", "index of", patch(good, n-36, be32(0))},
		{"index longer than the file", "index of", patch(good, n-36, be32(uint32(n)))},
		{"not a serialization stream", "header", patch(good, indexAt, []byte{0xca, 0xfe})},
		{"too short", "too short", good[n-40:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := collect(readIFile, tc.file, nil)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v (want ErrMalformed saying %q)", err, tc.want)
			}
		})
	}
	// Offsets of a log outside the data.
	for _, tc := range []struct {
		name  string
		start int64
		size  int64
	}{
		{"start inside the UUID", 3, 1},
		{"start past the data", 1 << 40, 1},
		{"compressed size past the data", 40, 1 << 40},
		{"negative size", 40, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &jwriter{strs: map[string]int{}, classes: map[string]int{}}
			w.b = []byte{0xac, 0xed, 0, 5}
			w.indexedLogsMeta("h:1", "none", []ifileEntry{{testLog{"c_1", "stderr", "x"}, tc.start, tc.size}})
			file := append(ifileUUID(testApp), 'x')
			file = append(file, w.b...)
			file = binary.BigEndian.AppendUint32(file, uint32(len(w.b)))
			file = append(file, ifileUUID(testApp)...)
			if _, err := collect(readIFile, file, nil); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "outside") {
				t.Fatalf("%v", err)
			}
		})
	}
	lzo := encodeIFile(testApp, sampleLogs(), "lzo")
	if _, err := collect(readIFile, lzo, nil); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("lzo: %v", err)
	}
}

// TestJavaStreamLimits: hostile serialization streams are refused without
// allocating what they claim.
func TestJavaStreamLimits(t *testing.T) {
	head := []byte{0xac, 0xed, 0, 5}
	deep := append([]byte{}, head...)
	for i := 0; i < 10000; i++ {
		// An array of objects holding an array of objects ...
		deep = append(deep, tcArray, tcClassDesc)
		deep = append(deep, javaUTFBytes("[Ljava.lang.Object;")...)
		deep = append(deep, make([]byte, 8)...)
		deep = append(deep, scSerializable, 0, 0, tcEndBlockData, tcNull, 0, 0, 0, 1)
	}
	for _, tc := range []struct {
		name, want string
		b          []byte
	}{
		{"array of 2^31 elements", "elements", append(append(append([]byte{}, head...), tcArray, tcClassDesc), append(append(javaUTFBytes("[I"), make([]byte, 8)...), scSerializable, 0, 0, tcEndBlockData, tcNull, 0x7f, 0xff, 0xff, 0xff)...)},
		{"long string of 2^62 bytes", "string of", append(append([]byte{}, head...), tcLongString, 0x40, 0, 0, 0, 0, 0, 0, 0)},
		{"reference to a handle never made", "reference", append(append([]byte{}, head...), tcReference, 0, 0x7e, 0, 5)},
		{"nested 10000 deep", "deeper", deep},
		{"unknown type code", "unknown type code", append(append([]byte{}, head...), 0x42)},
		{"an exception", "exception", append(append([]byte{}, head...), tcException)},
		{"class both serializable and externalizable", "both", append(append(append([]byte{}, head...), tcObject, tcClassDesc), append(append(javaUTFBytes("X"), make([]byte, 8)...), scSerializable|scExternalizable, 0, 0)...)},
		{"enum name not a string", "enum constant", append(append(append([]byte{}, head...), tcEnum, tcClassDesc), append(append(javaUTFBytes("E"), make([]byte, 8)...), scSerializable|0x10, 0, 0, tcEndBlockData, tcNull, tcNull)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := decodeJava(tc.b)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v (want ErrMalformed saying %q)", err, tc.want)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Fatalf("allocated %d bytes for a %d-byte stream", grew, len(tc.b))
			}
		})
	}
}

func TestParseChecksum(t *testing.T) {
	b := binary.BigEndian.AppendUint32(nil, 11)
	b = append(b, "host_1234_9"...)
	b = binary.BigEndian.AppendUint64(b, 777)
	name, end, err := ParseChecksum(b)
	if err != nil || name != "host_1234_9" || end != 777 {
		t.Fatalf("%q %d %v", name, end, err)
	}
	for _, bad := range [][]byte{nil, b[:3], b[:len(b)-1], patch(b, 0, []byte{0xff, 0xff, 0xff, 0xff}), patch(b, len(b)-8, []byte{0x80})} {
		if _, _, err := ParseChecksum(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: %v", bad, err)
		}
	}
}

func TestJavaUTF(t *testing.T) {
	// NUL as C0 80 and a supplementary character as a surrogate pair.
	got, err := javaUTF([]byte{'a', 0xc0, 0x80, 0xed, 0xa0, 0xbd, 0xed, 0xba, 0x80})
	if err != nil || got != "a\x00🚀" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := javaUTF([]byte{0xff}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("0xff: %v", err)
	}
	if _, err := readJavaUTF(bufio.NewReader(bytes.NewReader([]byte{0, 5, 'a'})), false); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short string: %v", err)
	}
}

func FuzzTFile(f *testing.F) {
	f.Add(encodeTFile(sampleLogs(), "none", 2, 64))
	f.Add(encodeTFile(sampleLogs(), "gz", 1, 7))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := collect(readTFile, b, nil)
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("an error not wrapping ErrMalformed: %v", err)
		}
	})
}

func FuzzIFile(f *testing.F) {
	f.Add(encodeIFile(testApp, sampleLogs(), "none"))
	f.Add(encodeIFile(testApp, sampleLogs(), "gz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := collect(readIFile, b, nil)
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("an error not wrapping ErrMalformed: %v", err)
		}
	})
}

// FuzzIFileIndex fuzzes the serialization stream reader and the index
// behind the UUID checks FuzzIFile rarely gets past.
func FuzzIFileIndex(f *testing.F) {
	b := encodeIFile(testApp, sampleLogs(), "none")
	n := int(binary.BigEndian.Uint32(b[len(b)-36:]))
	f.Add(b[len(b)-36-n : len(b)-36])
	f.Fuzz(func(t *testing.T, index []byte) {
		root, err := decodeJava(index)
		if err == nil {
			_, err = indexFrom(root, 1<<20)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("an error not wrapping ErrMalformed: %v", err)
		}
	})
}

// FuzzTFileBlock fuzzes a data block's entries (keys, value chunks, log
// headers) behind the BCFile checks FuzzTFile rarely gets past.
func FuzzTFileBlock(f *testing.F) {
	b := encodeTFile(sampleLogs(), "none", 100, 16)
	// The one data block starts the file; the TFile.meta block follows it.
	metaOff := int(binary.BigEndian.Uint64(b[len(b)-bcTrailerLen:]))
	metas, err := parseMetaIndex(bytes.NewReader(b[metaOff:len(b)-bcTrailerLen]), int64(metaOff))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:metas[tfileMeta].offset])
	f.Fuzz(func(t *testing.T, block []byte) {
		g := region{0, int64(len(block)), int64(len(block))}
		err := readDataBlock(bytes.NewReader(block), "none", g, 0, nil, func(l Log, c io.Reader) error {
			_, err := io.Copy(io.Discard, c)
			return err
		})
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("an error not wrapping ErrMalformed: %v", err)
		}
	})
}

// A gzip (not zlib) stream in a "gz" block is read too; a damaged one is
// ErrMalformed.
func TestGzipBlock(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("hello"))
	zw.Close()
	d, err := decompressor("gz", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(d); err != nil || string(b) != "hello" {
		t.Fatalf("%q %v", b, err)
	}
	bad := bytes.Clone(buf.Bytes())
	bad[len(bad)-5] ^= 0xff // the CRC
	d, err = decompressor("gz", bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(&countReader{r: d}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad CRC: %v", err)
	}
}
