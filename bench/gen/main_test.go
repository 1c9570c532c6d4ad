package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "32m": 32 << 20, "32M": 32 << 20, "1g": 1 << 30, "1GiB": 1 << 30, "2kb": 2048, " 7 ": 7} {
		if got, err := parseSize("-size", in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "m", "1.5g", "1t", "abc", "99999999999999999999", "2000000g"} {
		if got, err := parseSize("-size", in); err == nil || !strings.Contains(err.Error(), "-size") {
			t.Errorf("parseSize(%q) = %d, %v; want an error naming -size", in, got, err)
		}
	}
}

func gen(t *testing.T, args ...string) {
	t.Helper()
	if err := run(args, io.Discard); err != nil {
		t.Fatalf("gen %v: %v", args, err)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every kind of input: exact size, deterministic by seed, and the shape the
// jobs expect.
func TestInputs(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	gen(t, "text", "-size", "100k", "-out", p("a.txt"))
	gen(t, "text", "-size", "100k", "-out", p("b.txt"))
	gen(t, "text", "-size", "100k", "-seed", "2", "-out", p("c.txt"))
	a := read(t, p("a.txt"))
	if len(a) != 100<<10 || !bytes.Equal(a, read(t, p("b.txt"))) || bytes.Equal(a, read(t, p("c.txt"))) {
		t.Fatalf("text: %d bytes, want 102400, equal for one seed and different for another", len(a))
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(a), "\n"), "\n") {
		words := strings.Fields(line)
		if len(words) < 1 || len(words) > 20 || strings.Trim(line, "abcdefghijklmnopqrstuvwxyz ") != "" {
			t.Fatalf("text line %q: want 10–20 lowercase words (fewer only on the last line)", line)
		}
	}

	gen(t, "kv", "-size", "50k", "-out", p("kv.txt"))
	kv := read(t, p("kv.txt"))
	if len(kv) != 50<<10 || kv[len(kv)-1] != '\n' {
		t.Fatalf("kv: %d bytes, want 51200 ending with a newline", len(kv))
	}
	keys := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(string(kv), "\n"), "\n")
	for _, line := range lines {
		k, v, ok := strings.Cut(line, "\t")
		if !ok || len(k) != keyLen || len(v) < 1 || strings.ContainsAny(v, "\t\r") {
			t.Fatalf("kv line %q: want a 10-character key, a tab and a value", line)
		}
		keys[k]++
	}
	if len(keys) > len(lines)/5 {
		t.Errorf("kv: %d distinct keys in %d lines, want about one per 10 lines (-per-key 10)", len(keys), len(lines))
	}

	gen(t, "join", "-small-size", "20k", "-small", p("s.txt"), "-big-size", "60k", "-big", p("b.txt"))
	small := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(read(t, p("s.txt"))), "\n"), "\n") {
		k, _, _ := strings.Cut(line, "\t")
		if small[k] {
			t.Fatalf("join small side: key %q twice", k)
		}
		small[k] = true
	}
	big := read(t, p("b.txt"))
	if len(big) != 60<<10 {
		t.Fatalf("join big side: %d bytes, want 61440", len(big))
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(big), "\n"), "\n") {
		if k, _, _ := strings.Cut(line, "\t"); !small[k] {
			t.Fatalf("join big side: key %q is not on the small side", k)
		}
	}
}

// A file of the right size is kept; one of another size is replaced.
func TestIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.txt")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	gen(t, "text", "-size", "1000", "-out", path)
	if got := read(t, path); got[0] != 'x' {
		t.Error("a file of the requested size was rewritten")
	}
	gen(t, "text", "-size", "999", "-out", path)
	if got := read(t, path); len(got) != 999 || got[0] == 'x' {
		t.Errorf("a file of another size was not regenerated (%d bytes)", len(got))
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"nope"},
		{"text", "-size", "1m"},
		{"text", "-out", "x"},
		{"text", "-size", "1m", "-out", "x", "-zipf", "1"},
		{"kv", "-size", "1m", "-out", "x", "-per-key", "0"},
		{"kv", "-size", "5", "-out", filepath.Join(t.TempDir(), "x")},
		{"join", "-small-size", "1m", "-big-size", "1m", "-small", "x"},
		{"join", "-small-size", "0", "-big-size", "1m", "-small", "x", "-big", "y"},
	} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("gen %q succeeded, want an error", args)
		}
	}
}
