package stoke_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/fsx"
)

func codecContext(t *testing.T, cfg stoke.Config) *stoke.Context {
	t.Helper()
	full := stoke.Config{"stoke.master": "local[2]"}
	for k, v := range cfg {
		full[k] = v
	}
	return newContext(t, full)
}

// readAll collects the lines TextFile reads from path, sorted, and checks
// the number of partitions it planned.
func readAll(t *testing.T, sc *stoke.Context, path string, minPartitions, wantPartitions int) []string {
	t.Helper()
	d, err := stoke.TextFile(sc, path, minPartitions)
	if err != nil {
		t.Fatal(err)
	}
	if wantPartitions > 0 && d.NumPartitions() != wantPartitions {
		t.Errorf("TextFile(%s) planned %d partitions, want %d", path, d.NumPartitions(), wantPartitions)
	}
	got, err := stoke.Collect(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func numberLines(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	slices.Sort(out)
	return out
}

var magic = map[string][]byte{"gzip": {0x1f, 0x8b}, "zstd": {0x28, 0xb5, 0x2f, 0xfd}}

// checkParts checks dir holds _SUCCESS and n part files with ext, each
// starting with the codec's magic bytes (or not compressed at all).
func checkParts(t *testing.T, dir, codec string, n int) {
	t.Helper()
	want := []string{"_SUCCESS"}
	for i := range n {
		want = append(want, fmt.Sprintf("part-%05d%s", i, fsx.CodecExt(codec)))
	}
	if got := listNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("%s holds %v, want %v", dir, got, want)
	}
	for _, name := range want[1:] {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for c, m := range magic {
			if bytes.HasPrefix(data, m) != (c == codec) {
				t.Fatalf("%s: starts with %x, codec %q", name, data[:min(len(data), 4)], codec)
			}
		}
	}
}

// SaveAsTextFile with a codec, then TextFile of its directory, gives back
// the records; each compressed part file is one partition.
func TestSaveCompressedThenTextFile(t *testing.T) {
	sc := codecContext(t, nil)
	d, err := stoke.Parallelize(sc, ints(5000), 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, codec := range []string{"gzip", "zstd", "none"} {
		dir := filepath.Join(t.TempDir(), "out")
		if err := stoke.SaveAsTextFile(context.Background(), d, dir, stoke.Compress(codec)); err != nil {
			t.Fatalf("%s: %v", codec, err)
		}
		canon, _ := fsx.ParseCodec(codec)
		checkParts(t, dir, canon, 4)
		want := 4
		if canon == "" {
			want = 0 // plain files split as they always did
		}
		if got := readAll(t, sc, dir, 16, want); !slices.Equal(got, numberLines(5000)) {
			t.Fatalf("%s: read back %d lines, want 5000", codec, len(got))
		}
	}
}

// stoke.output.compression.codec is the default codec; stoke.Compress
// overrides it, "none" included.
func TestSaveCompressionCodecConfig(t *testing.T) {
	sc := codecContext(t, stoke.Config{"stoke.output.compression.codec": "zstd"})
	d, err := stoke.Parallelize(sc, ints(100), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts  []stoke.JobOption
		codec string
	}{
		{nil, "zstd"},
		{[]stoke.JobOption{stoke.Compress("gzip")}, "gzip"},
		{[]stoke.JobOption{stoke.Compress("none")}, ""},
		{[]stoke.JobOption{stoke.Compress("")}, ""},
		{[]stoke.JobOption{stoke.Compress("gzip"), stoke.InPool("p")}, "gzip"},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		if err := stoke.SaveAsTextFile(context.Background(), d, dir, tc.opts...); err != nil {
			t.Fatalf("%q: %v", tc.codec, err)
		}
		checkParts(t, dir, tc.codec, 2)
		if got := readAll(t, sc, dir, 0, 0); !slices.Equal(got, numberLines(100)) {
			t.Fatalf("%q: read back %v", tc.codec, got)
		}
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipped(t *testing.T, text string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	io.WriteString(w, text)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tool(t *testing.T, name string, stdin string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed", name)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// Files written by the gzip and zstd tools, by Go's gzip, and concatenated
// gzip members, are read whole, by one partition each.
func TestTextFileReadsCompressedFiles(t *testing.T) {
	sc := codecContext(t, nil)
	text := strings.Join(numberLines(20000), "\n") + "\n"
	half := strings.Join(numberLines(20000)[:10000], "\n") + "\n"
	rest := strings.Join(numberLines(20000)[10000:], "\n") + "\n"
	dir := t.TempDir()
	files := map[string]func(t *testing.T) []byte{
		"tool.gz":      func(t *testing.T) []byte { return tool(t, "gzip", text, "-c") },
		"tool.zst":     func(t *testing.T) []byte { return tool(t, "zstd", text, "-q", "-c") },
		"go.gz":        func(t *testing.T) []byte { return gzipped(t, text) },
		"members.gz":   func(t *testing.T) []byte { return append(gzipped(t, half), gzipped(t, rest)...) },
		"crlf.zstd":    func(t *testing.T) []byte { return tool(t, "zstd", strings.ReplaceAll(text, "\n", "\r\n"), "-q", "-c") },
		"nofinalnl.gz": func(t *testing.T) []byte { return gzipped(t, strings.TrimSuffix(text, "\n")) },
	}
	for name, make := range files {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			writeFile(t, p, make(t))
			if got := readAll(t, sc, p, 8, 1); !slices.Equal(got, numberLines(20000)) {
				t.Fatalf("read %d lines, want 20000", len(got))
			}
		})
	}
}

// A directory mixing plain and compressed files: the plain file is split
// as before, each compressed one is one partition, hidden and empty files
// add nothing.
func TestTextFileMixedDirectory(t *testing.T) {
	sc := codecContext(t, nil)
	all := numberLines(40000)
	dir := t.TempDir()
	plain := strings.Join(all[:30000], "\n") + "\n"
	writeFile(t, filepath.Join(dir, "a.txt"), []byte(plain))
	writeFile(t, filepath.Join(dir, "b.gz"), gzipped(t, strings.Join(all[30000:35000], "\n")+"\n"))
	var zs bytes.Buffer
	w, err := fsx.NewCompressor("zstd", &zs)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, strings.Join(all[35000:], "\n")+"\n")
	w.Close()
	writeFile(t, filepath.Join(dir, "c.zst"), zs.Bytes())
	writeFile(t, filepath.Join(dir, "empty.gz"), nil)
	writeFile(t, filepath.Join(dir, "_SUCCESS"), nil)
	writeFile(t, filepath.Join(dir, ".hidden.gz"), []byte("not read"))

	var total int64
	for _, name := range []string{"a.txt", "b.gz", "c.zst"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		total += st.Size()
	}
	// The plain file splits into pieces of total/8 bytes, as before; each
	// compressed file is one partition whatever its size.
	goal := total / 8
	want := int((int64(len(plain))+goal-1)/goal) + 2
	if want < 5 {
		t.Fatalf("only %d partitions expected: the test proves nothing", want)
	}
	if got := readAll(t, sc, dir, 8, want); !slices.Equal(got, all) {
		t.Fatalf("read %d lines, want %d", len(got), len(all))
	}
}

// A truncated or corrupt compressed input fails the job with an error that
// names the file.
func TestMalformedCompressedTextFailsTheJob(t *testing.T) {
	sc := codecContext(t, stoke.Config{"stoke.task.maxFailures": "1"})
	text := strings.Join(numberLines(20000), "\n") + "\n"
	gz := gzipped(t, text)
	var zs bytes.Buffer
	w, _ := fsx.NewCompressor("zstd", &zs)
	io.WriteString(w, text)
	w.Close()
	for name, data := range map[string][]byte{
		"truncated.gz":  gz[:len(gz)/2],
		"garbage.gz":    []byte("this was never gzip\n"),
		"truncated.zst": zs.Bytes()[:zs.Len()/2],
		"garbage.zstd":  []byte("this was never zstd\n"),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "good.txt"), []byte("fine\n"))
			p := filepath.Join(dir, name)
			writeFile(t, p, data)
			d, err := stoke.TextFile(sc, dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			n, err := stoke.Count(context.Background(), d)
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), fsx.CodecForPath(name)) {
				t.Fatalf("count = %d, err = %v; want an error naming %s", n, err, p)
			}
			if strings.Contains(err.Error(), "goroutine") {
				t.Fatalf("error carries a panic dump: %v", err)
			}
		})
	}
}

// An unknown codec is refused: in the configuration when the Context is
// made, and in stoke.Compress before the save touches its directory.
// stoke.Compress on another action is refused too.
func TestUnknownCodecRefused(t *testing.T) {
	for _, bad := range []string{"snappy", "gz", "lz4", "zstd,gzip"} {
		sc, err := stoke.New(stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "false", "stoke.output.compression.codec": bad})
		if err == nil {
			sc.Stop()
			t.Errorf("config codec %q accepted", bad)
		} else if !strings.Contains(err.Error(), "stoke.output.compression.codec") || !strings.Contains(err.Error(), "valid: none, gzip, zstd") {
			t.Errorf("config codec %q: %v", bad, err)
		}
	}
	sc := codecContext(t, nil)
	d, err := stoke.Parallelize(sc, ints(10), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"snappy", "bzip2", "GzipCodec"} {
		dir := filepath.Join(t.TempDir(), "out")
		err := stoke.SaveAsTextFile(context.Background(), d, dir, stoke.Compress(bad))
		if err == nil || !strings.Contains(err.Error(), "stoke.Compress") || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "valid: none, gzip, zstd") {
			t.Errorf("Compress(%q): %v", bad, err)
		}
		if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
			t.Errorf("Compress(%q): the refused save created %s", bad, dir)
		}
	}
	if _, err := stoke.Count(context.Background(), d, stoke.Compress("gzip")); err == nil || !strings.Contains(err.Error(), "SaveAsTextFile only") {
		t.Errorf("Count with Compress: %v", err)
	}
}

// The configuration check and fsx.ParseCodec accept the same names.
func TestCodecConfigCheckMatchesFsx(t *testing.T) {
	k, ok := conf.Known("stoke.output.compression.codec")
	if !ok || k.Check == nil {
		t.Fatal("stoke.output.compression.codec is not registered with a check")
	}
	for _, name := range []string{"", "none", "NONE", "gzip", "Gzip", "zstd", "ZSTD", "snappy", "gz", "zst", "lz4", "bzip2", "deflate", "gzip,zstd"} {
		confOK := k.Check(name) == nil
		fsxOK := fsx.ValidCodec(name) == nil
		if confOK != fsxOK {
			t.Errorf("%q: configuration check %v, fsx %v", name, confOK, fsxOK)
		}
	}
}

// An unfinished compressed save (driver died) is cleaned and reused like a
// plain one.
func TestUnfinishedCompressedSaveIsReused(t *testing.T) {
	sc := codecContext(t, nil)
	d, err := stoke.Parallelize(sc, ints(10), 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, saveMarker), []byte("old\n"))
	writeFile(t, filepath.Join(dir, "part-00007.gz"), gzipped(t, "stale\n"))
	writeFile(t, filepath.Join(dir, "part-00008.zst"), []byte("stale"))
	if err := stoke.SaveAsTextFile(context.Background(), d, dir, stoke.Compress("gzip")); err != nil {
		t.Fatal(err)
	}
	checkParts(t, dir, "gzip", 2)
}
