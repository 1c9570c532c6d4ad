package sched

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A tiny data-driven test format in the spirit of etcd raft's testdata:
//
//	# comment
//	command arg key=value key="quoted value"
//	optional input lines
//	----
//	expected output
//	(blank line ends the block)
//
// go test ./driver/sched -update rewrites the expected output.

var update = flag.Bool("update", false, "rewrite the expected output of testdata/*.txt")

type ddBlock struct {
	prefix []string // comments and blank lines before the command
	line   int
	raw    string
	cmd    string
	args   []ddArg
	input  string
	want   string
	got    string
}

type ddArg struct{ key, val string }

func parseDD(t *testing.T, path string) (blocks []*ddBlock, trailer []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var prefix []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			prefix = append(prefix, l)
			continue
		}
		b := &ddBlock{prefix: prefix, line: i + 1, raw: l}
		prefix = nil
		b.cmd, b.args = parseDDLine(t, path, i+1, l)
		var in []string
		i++
		for ; i < len(lines) && lines[i] != "----"; i++ {
			in = append(in, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: missing ----", path, b.line)
		}
		b.input = strings.Join(in, "\n")
		var out []string
		for i++; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		b.want = strings.Join(out, "\n")
		blocks = append(blocks, b)
		if i < len(lines) {
			prefix = append(prefix, "")
		}
	}
	return blocks, prefix
}

func parseDDLine(t *testing.T, path string, line int, l string) (string, []ddArg) {
	var fields []string
	for l = strings.TrimSpace(l); l != ""; l = strings.TrimSpace(l) {
		end := 0
		inQuote := false
		for end < len(l) && (inQuote || l[end] != ' ') {
			if l[end] == '"' {
				inQuote = !inQuote
			}
			end++
		}
		if inQuote {
			t.Fatalf("%s:%d: unterminated quote", path, line)
		}
		fields = append(fields, l[:end])
		l = l[end:]
	}
	var args []ddArg
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		args = append(args, ddArg{k, strings.Trim(v, `"`)})
	}
	return fields[0], args
}

// runDD runs every testdata file through run and compares or rewrites.
func runDD(t *testing.T, glob string, newRunner func() func(*ddBlock) string) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s (%v)", glob, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			blocks, trailer := parseDD(t, path)
			run := newRunner()
			for _, b := range blocks {
				b.got = strings.TrimRight(run(b), "\n")
				if b.got == "" {
					b.got = "ok"
				}
				if !*update && b.got != b.want {
					t.Errorf("%s:%d: %s\n--- got:\n%s\n--- want:\n%s", path, b.line, b.cmd, b.got, b.want)
				}
			}
			if *update {
				var sb strings.Builder
				for _, b := range blocks {
					for _, p := range b.prefix {
						sb.WriteString(p + "\n")
					}
					sb.WriteString(b.raw + "\n")
					if b.input != "" {
						sb.WriteString(b.input + "\n")
					}
					sb.WriteString("----\n" + b.got + "\n")
				}
				for _, p := range trailer {
					if p != "" {
						sb.WriteString(p + "\n")
					}
				}
				if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func (b *ddBlock) arg(key string) (string, bool) {
	for _, a := range b.args {
		if a.key == key {
			return a.val, true
		}
	}
	return "", false
}

// errorf formats an error as the block's output.
func (b *ddBlock) errorf(format string, args ...any) string {
	return "error: " + fmt.Sprintf(format, args...)
}
