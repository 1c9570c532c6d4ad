package fsx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostsForOverlappingBlocks(t *testing.T) {
	blocks := []Block{{0, 100, []string{"a", "b"}}, {100, 100, []string{"b", "c"}}, {200, 50, []string{"d"}}}
	for _, c := range []struct {
		start, length int64
		want          string
	}{
		{0, 100, "[a b]"}, {50, 100, "[a b c]"}, {100, 1, "[b c]"}, {199, 2, "[b c d]"}, {250, 10, "[]"},
	} {
		if got := fmt.Sprint(HostsFor(blocks, c.start, c.length)); got != c.want {
			t.Errorf("HostsFor(%d, %d) = %s, want %s", c.start, c.length, got, c.want)
		}
	}
}

func TestForRefusesUnknownSchemesAndListsVisibleFiles(t *testing.T) {
	for _, p := range []string{"s3://bucket/x", "ftp://h/x", "hdfs://bad host:1/x"} {
		if _, err := For(p); err == nil {
			t.Errorf("For(%q) succeeded", p)
		}
	}
	dir := t.TempDir()
	for _, n := range []string{"a", "_SUCCESS", ".hidden", "b"} {
		os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644)
	}
	fsys, err := For("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fsys.List("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f.Path))
	}
	if strings.Join(names, ",") != "a,b" {
		t.Fatalf("visible files = %v", names)
	}
	abs, _ := Absolute("rel/x")
	if !filepath.IsAbs(abs) {
		t.Errorf("Absolute(rel/x) = %s", abs)
	}
	if p, _ := Absolute("hdfs://nn:8020/x"); p != "hdfs://nn:8020/x" {
		t.Errorf("Absolute changed an HDFS path: %s", p)
	}
}
