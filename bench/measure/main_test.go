package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestSharesMemory(t *testing.T) {
	if sysKcmp < 0 {
		t.Skip("kcmp(2) number unknown on this architecture")
	}
	if !sharesMemory(os.Getpid(), os.Getpid()) {
		t.Error("a process does not share memory with itself: kcmp is not called right")
	}
	if sharesMemory(os.Getpid(), os.Getppid()) {
		t.Error("this process shares memory with its parent")
	}
}

// A command whose child holds memory: the tree's peak must count the child,
// and the report must carry the exit code.
func TestMeasureTree(t *testing.T) {
	// sh starts a child that holds about 64 MiB, then exits 3.
	cmd := exec.Command("sh", "-c", `head -c 67108864 /dev/zero | tail -c 1 >/dev/null; sleep 0.3; exit 3`)
	r, err := measure(cmd, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.exit != 3 {
		t.Errorf("exit = %d, want 3", r.exit)
	}
	if r.procs < 2 {
		t.Errorf("procs = %d, want the shell and its children", r.procs)
	}
	if r.wall < 300*time.Millisecond {
		t.Errorf("wall = %v, want at least the 0.3 s sleep", r.wall)
	}
	if !strings.Contains(r.String(), " exit=3") {
		t.Errorf("report %q lacks exit=3", r.String())
	}
}

func TestParent(t *testing.T) {
	ppid, ok := parent(os.Getpid())
	if !ok || ppid != os.Getppid() {
		t.Errorf("parent(self) = %d, %v; want %d", ppid, ok, os.Getppid())
	}
	if _, ok := parent(-1); ok {
		t.Error("parent(-1) succeeded")
	}
}
