package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func files(t *testing.T, m map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range m {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckSort(t *testing.T) {
	in := filepath.Join(files(t, map[string]string{"in": "b\t1\na\t2\nc\t3\na\t4\n"}), "in")
	good := files(t, map[string]string{"part-00000": "a\t2\na\t4\n", "part-00001": "b\t1\nc\t3\n", "_SUCCESS": ""})
	var out strings.Builder
	if err := run(in, good, &out); err != nil {
		t.Fatalf("a sorted output: %v", err)
	}
	if !strings.HasPrefix(out.String(), "checksum: sort n=4 total=12 ") {
		t.Errorf("output %q, want the checksum of 4 lines, 12 bytes", out.String())
	}
	for name, m := range map[string]map[string]string{
		"unsorted across parts": {"part-00000": "b\t1\nc\t3\n", "part-00001": "a\t2\na\t4\n", "_SUCCESS": ""},
		"unsorted in a part":    {"part-00000": "a\t2\nb\t1\na\t4\nc\t3\n", "_SUCCESS": ""},
		"a line lost":           {"part-00000": "a\t2\nb\t1\nc\t3\n", "_SUCCESS": ""},
		"a value changed":       {"part-00000": "a\t2\na\t5\nb\t1\nc\t3\n", "_SUCCESS": ""},
		"no _SUCCESS":           {"part-00000": "a\t2\na\t4\nb\t1\nc\t3\n"},
		"no parts":              {"_SUCCESS": ""},
	} {
		if err := run(in, files(t, m), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
