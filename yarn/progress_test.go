package yarn_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/yarn"
)

// gated holds a task until a file named by its element exists (the
// containers run on this machine): the test decides when each task ends.
var gated = stoke.RegisterMap("yarntest.gated", func(path string) string {
	for {
		if _, err := os.Stat(path); err == nil {
			return path
		}
		time.Sleep(20 * time.Millisecond)
	}
})

// The progress the RM reports follows the application's jobs: the AM
// sends the share of result partitions done with its heartbeats (at least
// 10 % while running, as YARN shows a started application), so the RM's
// report rises from 10 % to 50 % when two of four tasks end, then to 100 %.
func testProgress(t *testing.T) {
	gates := t.TempDir()
	sc, err := stoke.New(yarnConfig(stoke.Config{"stoke.ui.enabled": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	yc, err := yarn.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer yc.Close()
	progress := func() float32 {
		r, err := yc.Report(context.Background(), sc.AppID())
		if err != nil {
			t.Fatal(err)
		}
		return r.GetProgress()
	}
	paths := make([]string, 4)
	for i := range paths {
		paths[i] = filepath.Join(gates, strconv.Itoa(i))
	}
	ds, err := stoke.Parallelize(sc, paths, 4)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		out, err := stoke.Collect(context.Background(), stoke.Map(ds, gated))
		if err == nil && len(out) != 4 {
			err = strconv.ErrRange
		}
		done <- err
	}()
	release := func(i int) {
		if err := os.WriteFile(paths[i], nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var seen []float32
	// reach waits for the RM to report at least want, noting each value seen.
	reach := func(want float32, what string) {
		testutil.Eventually(t, time.Minute, "the RM to report "+what, func() bool {
			p := progress()
			if len(seen) == 0 || seen[len(seen)-1] != p {
				seen = append(seen, p)
			}
			return p >= want
		})
	}
	reach(0.1, "the running application at 10 %")
	if p := progress(); p >= 0.5 {
		t.Fatalf("progress %v before any task ended", p)
	}
	release(0)
	release(1)
	reach(0.5, "50 %")
	if p := progress(); p >= 0.75 {
		t.Fatalf("progress %v with two of four tasks done", p)
	}
	release(2)
	release(3)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	reach(1, "100 %")
	t.Logf("progress in the RM's reports: %v", seen)
}
