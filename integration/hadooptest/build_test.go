package hadooptest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without Java or Maven the harness cannot be built, and the error must say what is missing
// (Start turns it into a test failure, never a silent skip).
func TestMissingToolsAreReported(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	_, err := doBuild()
	if err == nil || !strings.Contains(err.Error(), "java is not on PATH") {
		t.Fatalf("no java: err = %v", err)
	}
	if err := os.WriteFile(filepath.Join(empty, "java"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = doBuild()
	if err == nil || !strings.Contains(err.Error(), "javac is not on PATH") {
		t.Fatalf("no javac: err = %v", err)
	}
	if err := os.WriteFile(filepath.Join(empty, "javac"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = doBuild()
	if err == nil || !strings.Contains(err.Error(), "mvn is not on PATH") {
		t.Fatalf("no mvn: err = %v", err)
	}
}

func TestUpToDate(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "target", "classpath.txt")
	if upToDate(dir, out) {
		t.Fatal("missing output counted as up to date")
	}
	os.MkdirAll(filepath.Dir(out), 0o755)
	jar := filepath.Join(dir, "dep.jar")
	os.WriteFile(jar, nil, 0o644)
	os.WriteFile(out, []byte(jar), 0o644)
	if !upToDate(dir, out) {
		t.Fatal("fresh output counted as stale")
	}
	os.Remove(jar)
	if upToDate(dir, out) {
		t.Fatal("output naming a missing jar counted as up to date")
	}
}
