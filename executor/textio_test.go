package executor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// compressed is text through codec; t is a *testing.T or *rapid.T.
func compressed(t interface{ Fatal(...any) }, codec, text string) []byte {
	var buf bytes.Buffer
	w, err := fsx.NewCompressor(codec, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, text); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func allLines(sp *pb.TextSplit) ([]string, error) {
	var got []string
	err := readLines(sp, func(l string) bool {
		got = append(got, l)
		return true
	})
	return got, err
}

// A compressed file's split gives every line of the decompressed stream,
// whatever length the split claims, as a plain file's splits together do.
func TestCompressedTextReadsEveryLine(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		lines := rapid.SliceOfN(rapid.StringMatching(`[a-z \t]{0,30}`), 0, 300).Draw(t, "lines")
		sep := rapid.SampledFrom([]string{"\n", "\r\n"}).Draw(t, "sep")
		content := strings.Join(lines, sep)
		if len(lines) > 0 && rapid.Bool().Draw(t, "trailingNewline") {
			content += sep
		}
		plain := filepath.Join(dir, "plain.txt")
		if err := os.WriteFile(plain, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		want, err := allLines(&pb.TextSplit{Path: plain, Length: int64(len(content))})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"x.gz", "x.zst", "x.zstd"} {
			data := compressed(t, fsx.CodecForPath(name), content)
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			// The length is the compressed size, smaller or larger than the text.
			got, err := allLines(&pb.TextSplit{Path: p, Length: int64(len(data))})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
				t.Fatalf("%s:\n got %q\nwant %q", name, got, want)
			}
		}
	})
}

// An empty .gz file (zero bytes) holds no lines.
func TestEmptyCompressedFileHasNoLines(t *testing.T) {
	for _, name := range []string{"empty.gz", "empty.zst"} {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := allLines(&pb.TextSplit{Path: p})
		if err != nil || len(got) != 0 {
			t.Errorf("%s: %q, %v; want no lines", name, got, err)
		}
	}
}

// runText runs a task that collects the lines of one split.
func runText(sp *pb.TextSplit) *pb.TaskStatus {
	return Run(context.Background(), &Env{Blocks: NewBlockStore()}, &pb.TaskDesc{TaskId: 1,
		Source: &pb.Source{Kind: &pb.Source_Text{Text: sp}, Type: "string"},
		Sink:   &pb.Sink{Kind: &pb.Sink_Collect{Collect: "string"}}})
}

// A truncated or corrupt compressed file fails its task with an error that
// names the file and the codec, not a short read or a panic dump.
func TestMalformedCompressedInputFailsTheTask(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&b, "line %d of the input: %x\n", i, uint32(i)*2654435761)
	}
	text := b.String()
	gz := compressed(t, "gzip", text)
	zs := compressed(t, "zstd", text)
	cases := map[string][]byte{
		"truncated.gz":      gz[:len(gz)/2],
		"notrailer.gz":      gz[:len(gz)-3],
		"garbage.gz":        []byte("plain text wearing a .gz name\n"),
		"truncated.zst":     zs[:len(zs)/2],
		"lastbytegone.zst":  zs[:len(zs)-1],
		"garbage.zst":       []byte("plain text wearing a .zst name\n"),
		"gzipinside.zst":    gz,
		"trailingjunk.gz":   append(append([]byte{}, gz...), "junk"...),
		"headeronly.gz":     gz[:5],
		"truncated.zstd":    zs[:len(zs)-100],
		"zstdinside.gz":     zs,
		"truncatedsmall.gz": compressed(t, "gzip", "one\ntwo\n")[:15],
	}
	for name, data := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st := runText(&pb.TextSplit{Path: p, Length: int64(len(data))})
		if st.State != pb.TaskState_FAILED {
			t.Errorf("%s: state %v, want FAILED", name, st.State)
			continue
		}
		codec := fsx.CodecForPath(name)
		if !strings.Contains(st.Error, p) || !strings.Contains(st.Error, codec) {
			t.Errorf("%s: error %q lacks the path or %q", name, st.Error, codec)
		}
		if strings.Contains(st.Error, "panic") || strings.Contains(st.Error, "goroutine") {
			t.Errorf("%s: error carries a panic dump: %q", name, st.Error)
		}
	}
}

// A compressed file cannot be read from the middle: a split that starts
// past 0 is a planning bug, reported as such instead of wrong lines.
func TestCompressedSplitMustStartAtZero(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.gz")
	data := compressed(t, "gzip", "a\nb\nc\n")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	st := runText(&pb.TextSplit{Path: p, Start: 4, Length: int64(len(data)) - 4})
	if st.State != pb.TaskState_FAILED || !strings.Contains(st.Error, p) || !strings.Contains(st.Error, "offset 4") {
		t.Fatalf("state %v, error %q; want FAILED naming the file and the offset", st.State, st.Error)
	}
}

// runSave runs a task that saves the given lines as partition 3 of dir.
func runSave(t *testing.T, dir, codec string, lines []string) *pb.TaskStatus {
	t.Helper()
	data, err := registry.EncodeSlice(lines)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Blocks: NewBlockStore(), CanCommit: func(context.Context, *pb.CommitRequest) (bool, error) { return true, nil }}
	return Run(context.Background(), env, &pb.TaskDesc{TaskId: 7, Partition: 3,
		Source: &pb.Source{Kind: &pb.Source_Parallelize{Parallelize: data}, Type: "string"},
		Sink:   &pb.Sink{Kind: &pb.Sink_SaveText{SaveText: &pb.SaveText{Dir: dir, JobToken: "job-1", Codec: codec}}}})
}

// A save with a codec writes part-00003 with the codec's extension, and
// its stream decompresses to the records' lines.
func TestSaveTextCompresses(t *testing.T) {
	lines := []string{"alpha", "", "gamma delta", strings.Repeat("x", 100_000)}
	for _, codec := range []string{"", "gzip", "zstd"} {
		dir := t.TempDir()
		if st := runSave(t, dir, codec, lines); st.State != pb.TaskState_SUCCEEDED {
			t.Fatalf("%q: %v %s", codec, st.State, st.Error)
		}
		name := "part-00003" + fsx.CodecExt(codec)
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%q: %v", codec, err)
		}
		r, err := fsx.NewDecompressor(codec, bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%q: %v", codec, err)
		}
		text, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%q: %v", codec, err)
		}
		if want := strings.Join(lines, "\n") + "\n"; string(text) != want {
			t.Fatalf("%q: %s holds %d bytes of text, want %d", codec, name, len(text), len(want))
		}
		if codec != "" && len(raw) >= len(text) {
			t.Errorf("%q: %d bytes of text stored in %d bytes: not compressed", codec, len(text), len(raw))
		}
	}
}

// The executor refuses a codec it does not know and writes nothing.
func TestSaveTextRefusesUnknownCodec(t *testing.T) {
	for _, codec := range []string{"snappy", "gz", "lzo", "gzip " + "\x00"} {
		dir := t.TempDir()
		st := runSave(t, dir, codec, []string{"a"})
		if st.State != pb.TaskState_FAILED || !strings.Contains(st.Error, "unknown compression codec") || !strings.Contains(st.Error, "valid: none, gzip, zstd") {
			t.Errorf("codec %q: state %v, error %q", codec, st.State, st.Error)
		}
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Errorf("codec %q: the refused save wrote %v", codec, es)
		}
	}
}
