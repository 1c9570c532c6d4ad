package fsx

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestCodecForPath(t *testing.T) {
	for p, want := range map[string]string{
		"a.gz": "gzip", "/d/part-00000.gz": "gzip", "hdfs://nn:8020/x/y.gz": "gzip",
		"a.zst": "zstd", "a.zstd": "zstd",
		"a.txt": "", "a": "", "a.gz.txt": "", "gz": "", "a.GZ": "", "a.tgz": "",
	} {
		if got := CodecForPath(p); got != want {
			t.Errorf("CodecForPath(%q) = %q; want %q", p, got, want)
		}
	}
}

func TestCodecNamesAndExtensions(t *testing.T) {
	for name, want := range map[string]string{"": "", "none": "", "NONE": "", "gzip": "gzip", " Gzip ": "gzip", "zstd": "zstd", "ZSTD": "zstd"} {
		got, err := ParseCodec(name)
		if err != nil || got != want {
			t.Errorf("ParseCodec(%q) = %q, %v; want %q", name, got, err, want)
		}
		if err := ValidCodec(name); err != nil {
			t.Errorf("ValidCodec(%q) = %v", name, err)
		}
	}
	for _, bad := range []string{"snappy", "gz", "lz4", "gzip2", "zstd ,gzip", "org.apache.hadoop.io.compress.GzipCodec"} {
		err := ValidCodec(bad)
		if err == nil || !strings.Contains(err.Error(), "valid: none, gzip, zstd") || !strings.Contains(err.Error(), bad) {
			t.Errorf("ValidCodec(%q) = %v; want an error naming it and the valid codecs", bad, err)
		}
		if _, err := NewCompressor(bad, io.Discard); err == nil {
			t.Errorf("NewCompressor(%q) accepted an unknown codec", bad)
		}
		if _, err := NewDecompressor(bad, strings.NewReader("")); err == nil {
			t.Errorf("NewDecompressor(%q) accepted an unknown codec", bad)
		}
	}
	for codec, ext := range map[string]string{"gzip": ".gz", "zstd": ".zst", "": ""} {
		if got := CodecExt(codec); got != ext {
			t.Errorf("CodecExt(%q) = %q; want %q", codec, got, ext)
		}
		if codec != "" && CodecForPath("part-00000"+ext) != codec {
			t.Errorf("CodecForPath does not recognise CodecExt(%q)", codec)
		}
	}
}

// fataler is what compress needs of *testing.T and *rapid.T.
type fataler interface{ Fatal(args ...any) }

func compress(t fataler, codec string, data []byte) []byte {
	var buf bytes.Buffer
	w, err := NewCompressor(codec, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decompress(codec string, data []byte) ([]byte, error) {
	r, err := NewDecompressor(codec, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Random data survives a round trip through every codec.
func TestCompressRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		codec := rapid.SampledFrom([]string{"", "none", "gzip", "zstd"}).Draw(t, "codec")
		data := rapid.SliceOfN(rapid.Byte(), 0, 100_000).Draw(t, "data")
		if rapid.Bool().Draw(t, "repetitive") {
			data = bytes.Repeat(data, 20)
		}
		got, err := decompress(codec, compress(t, codec, data))
		if err != nil {
			t.Fatalf("%s: %v", codec, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: round trip changed %d bytes into %d", codec, len(data), len(got))
		}
	})
}

// Concatenated gzip members (cat a.gz b.gz) read as one stream, to the end.
func TestGzipMultiMember(t *testing.T) {
	var all []byte
	for _, part := range []string{"first\n", "second\nthird\n", "", "fourth\n"} {
		all = append(all, compress(t, "gzip", []byte(part))...)
	}
	got, err := decompress("gzip", all)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "first\nsecond\nthird\nfourth\n" {
		t.Fatalf("multi-member gzip read as %q", got)
	}
}

// Files made by the gzip and zstd tools read back.
func TestDecompressToolOutput(t *testing.T) {
	text := strings.Repeat("the quick brown fox jumps over the lazy dog\n", 1000)
	for codec, tool := range map[string][]string{"gzip": {"gzip", "-c"}, "zstd": {"zstd", "-q", "-c"}} {
		if _, err := exec.LookPath(tool[0]); err != nil {
			t.Logf("%s not installed: skipping it", tool[0])
			continue
		}
		cmd := exec.Command(tool[0], tool[1:]...)
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", tool[0], err)
		}
		got, err := decompress(codec, out)
		if err != nil || string(got) != text {
			t.Errorf("%s output: %d bytes, %v; want %d bytes", tool[0], len(got), err, len(text))
		}
	}
}

// Truncated or foreign bytes are errors, never a silent short read.
func TestDecompressMalformed(t *testing.T) {
	text := []byte(strings.Repeat("line of text that compresses\n", 5000))
	gz := compress(t, "gzip", text)
	zs := compress(t, "zstd", text)
	cases := map[string]struct {
		codec string
		data  []byte
	}{
		"gzip truncated in the middle":   {"gzip", gz[:len(gz)/2]},
		"gzip without its trailer":       {"gzip", gz[:len(gz)-4]},
		"gzip header only":               {"gzip", gz[:10]},
		"gzip garbage":                   {"gzip", []byte("this is not gzip at all\n")},
		"gzip trailing garbage":          {"gzip", append(append([]byte{}, gz...), "junk after the member"...)},
		"zstd truncated in the middle":   {"zstd", zs[:len(zs)/2]},
		"zstd without its last byte":     {"zstd", zs[:len(zs)-1]},
		"zstd garbage":                   {"zstd", []byte("this is not zstd at all\n")},
		"zstd given gzip":                {"zstd", gz},
		"gzip given zstd":                {"gzip", zs},
		"zstd corrupt block (bit flips)": {"zstd", flip(zs)},
		"gzip corrupt block (bit flips)": {"gzip", flip(gz)},
	}
	for name, c := range cases {
		got, err := decompress(c.codec, c.data)
		if err == nil {
			t.Errorf("%s: read %d bytes without an error", name, len(got))
		}
	}
}

// flip returns data with bytes in its middle inverted.
func flip(data []byte) []byte {
	out := append([]byte{}, data...)
	for i := len(out) / 2; i < len(out)/2+8; i++ {
		out[i] ^= 0xff
	}
	return out
}
