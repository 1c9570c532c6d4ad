package stoke_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/testutil"
)

const saveMarker = "_STOKE_SAVE_IN_PROGRESS"

var (
	failDir     atomic.Value // string: the output dir the failing save writes
	sawPart     atomic.Bool
	failAtSeven = stoke.RegisterMap("test.failAtSeven", func(n int) int {
		if n != 7 {
			return n
		}
		// Fail only once another partition has committed its part file,
		// so the abort has something to remove.
		dir, _ := failDir.Load().(string)
		deadline := time.Now().Add(testutil.D(10 * time.Second))
		for time.Now().Before(deadline) {
			if m, _ := filepath.Glob(filepath.Join(dir, "part-*")); len(m) > 0 {
				sawPart.Store(true)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		panic("no space left on device (simulated)")
	})
	blockAtSeven = stoke.RegisterMap("test.blockAtSeven", func(n int) int {
		if n == 7 {
			select {} // the driver is killed while this task runs
		}
		return n
	})
)

func listNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// A save that fails after some partitions committed leaves nothing behind:
// no part file without _SUCCESS (issue 11, item 10).
func TestFailedSaveRemovesItsOutput(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.task.maxFailures": "1"})
	dir := filepath.Join(t.TempDir(), "out")
	failDir.Store(dir)
	d, err := stoke.Parallelize(sc, ints(8), 4)
	if err != nil {
		t.Fatal(err)
	}
	err = stoke.SaveAsTextFile(context.Background(), stoke.Map(d, failAtSeven), dir)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("save error = %v", err)
	}
	if !sawPart.Load() {
		t.Fatal("no partition committed before the failure: the test proves nothing")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the failed save left %s behind: %v (%v)", dir, err, listNames(t, dir))
	}
	// The same path takes a later save.
	if err := stoke.SaveAsTextFile(context.Background(), stoke.Map(d, double), dir); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, dir); strings.Join(got, ",") != "_SUCCESS,part-00000,part-00001,part-00002,part-00003" {
		t.Fatalf("output holds %v", got)
	}
}

// A directory Stoke did not start, or a finished save, is never reused.
func TestSaveRefusesDirectoriesItDidNotStart(t *testing.T) {
	sc := newContext(t, nil)
	d, err := stoke.Parallelize(sc, ints(4), 2)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"empty", nil, "already exists; remove it"},
		{"foreign parts", []string{"part-00000"}, "already exists; remove it"},
		{"finished", []string{saveMarker, "part-00000", "_SUCCESS"}, "finished save (_SUCCESS)"},
		{"foreign file", []string{saveMarker, "part-00000", "notes.txt"}, "did not write (notes.txt)"},
		{"hidden file", []string{saveMarker, ".keep"}, "did not write (.keep)"},
	} {
		dir := filepath.Join(root, strings.ReplaceAll(tc.name, " ", "-"))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range tc.files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("kept\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		before := listNames(t, dir)
		err := stoke.SaveAsTextFile(context.Background(), d, dir)
		if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if after := listNames(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("%s: the refused save changed the directory: %v -> %v", tc.name, before, after)
		}
	}
	file := filepath.Join(root, "plainfile")
	os.WriteFile(file, nil, 0o644)
	if err := stoke.SaveAsTextFile(context.Background(), d, file); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("saving onto a file: %v", err)
	}
}

// TestHelperSaveThenBlock is the driver process killed mid-save by
// TestSaveAfterDriverKilledMidSave.
func TestHelperSaveThenBlock(t *testing.T) {
	dir := os.Getenv("STOKE_TEST_BLOCKED_SAVE_DIR")
	if dir == "" {
		t.Skip("run by TestSaveAfterDriverKilledMidSave")
	}
	sc := newContext(t, nil)
	d, err := stoke.Parallelize(sc, ints(8), 4)
	if err != nil {
		t.Fatal(err)
	}
	stoke.SaveAsTextFile(context.Background(), stoke.Map(d, blockAtSeven), dir)
	t.Fatal("the blocked save returned")
}

// A supervised driver relaunched after being killed mid-save can save into
// the same path again (issue 11, item 10).
func TestSaveAfterDriverKilledMidSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSaveThenBlock$")
	cmd.Env = append(os.Environ(), "STOKE_TEST_BLOCKED_SAVE_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() { cmd.Process.Kill(); <-done }()
	testutil.Eventually(t, 60*time.Second, "the first partitions committed", func() bool {
		_, err := os.Stat(filepath.Join(dir, "part-00000"))
		return err == nil
	})
	cmd.Process.Kill()
	<-done
	if got := strings.Join(listNames(t, dir), ","); !strings.Contains(got, saveMarker) || strings.Contains(got, "_SUCCESS") {
		t.Fatalf("after the kill the directory holds %s", got)
	}

	sc := newContext(t, nil)
	d, err := stoke.Parallelize(sc, ints(8), 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := stoke.SaveAsTextFile(context.Background(), stoke.Map(d, double), dir); err != nil {
		t.Fatalf("saving again after the crash: %v", err)
	}
	if got := strings.Join(listNames(t, dir), ","); got != "_SUCCESS,part-00000,part-00001,part-00002,part-00003" {
		t.Fatalf("output holds %s", got)
	}
	var lines []string
	for i := 0; i < 4; i++ {
		data, err := os.ReadFile(filepath.Join(dir, "part-0000"+string(rune('0'+i))))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Fields(string(data))...)
	}
	if strings.Join(lines, " ") != "0 2 4 6 8 10 12 14" {
		t.Fatalf("output lines %v", lines)
	}
	// Finished now: a third save is refused.
	if err := stoke.SaveAsTextFile(context.Background(), d, dir); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("third save: %v", err)
	}
}

// A job whose input file vanished after listing fails with the path and the
// OS error, after its retries, without a goroutine dump (issue 11, item 9).
func TestVanishedInputFailsTheJob(t *testing.T) {
	sc := newContext(t, stoke.Config{"stoke.task.maxFailures": "2"})
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := stoke.TextFile(sc, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	_, err = stoke.Collect(context.Background(), d)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no such file or directory") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "goroutine") || strings.Contains(err.Error(), "panic") {
		t.Fatalf("error carries a panic dump: %v", err)
	}
}
