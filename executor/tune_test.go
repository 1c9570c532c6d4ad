package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Go memory limit leaves a tenth of the executor's memory (at least
// 32 MiB from 128 MiB up) to what the runtime does not count, and never
// reaches zero for small executors.
func TestGoMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ mem, want int64 }{
		{16 * mib, 12 * mib},
		{100 * mib, 75 * mib},
		{200 * mib, 168 * mib},
		{256 * mib, 224 * mib},
		{512 * mib, 512*mib - 512*mib/10},
		{4096 * mib, 4096*mib - 4096*mib/10},
	} {
		got := goMemoryLimit(c.mem)
		if got != c.want || got <= 0 || got >= c.mem {
			t.Errorf("goMemoryLimit(%d MiB) = %d, want %d", c.mem/mib, got, c.want)
		}
	}
}

// An executor id that looks like a path stays a file name inside the
// profile directory, and an existing file (or a symlink planted there) is
// never written through.
func TestCPUProfileStaysInItsDirectory(t *testing.T) {
	dir := t.TempDir()
	stop, err := startCPUProfile(dir, "../../escape/x")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || strings.Contains(entries[0].Name(), "/") || !strings.HasPrefix(entries[0].Name(), "executor-.._.._escape_x-") {
		t.Fatalf("profile files: %v", entries)
	}
	target := filepath.Join(t.TempDir(), "target")
	name := fmt.Sprintf("executor-e-%d.pprof", os.Getpid())
	if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	if _, err := startCPUProfile(dir, "e"); err == nil {
		t.Fatal("profiled through a planted symlink")
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("the symlink's target was created: %v", err)
	}
}
