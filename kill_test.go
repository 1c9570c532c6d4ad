package stoke_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/driver"
	"github.com/stoke-run/stoke/internal/testutil"
)

// Killing a running stage (the web UI's button) fails the jobs that need
// it with the reason; a job or stage that is not running is not killed.
func TestKillStageAndJob(t *testing.T) {
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	d := sc.Driver()
	if d.KillJob(0, "x") || d.KillStage(0, "x") {
		t.Fatal("killed work that does not exist")
	}
	nums, _ := stoke.Parallelize(sc, []int{3000, 3000}, 2) // tasks of 3 s
	done := make(chan error, 1)
	go func() {
		_, err := stoke.Collect(context.Background(), stoke.Map(nums, nap))
		done <- err
	}()
	testutil.Eventually(t, 10*time.Second, "stage 0 killed", func() bool { return d.KillStage(0, "stopped by the test") })
	select {
	case err := <-done:
		if !errors.Is(err, driver.ErrKilled) || !strings.Contains(err.Error(), "stopped by the test (stage 0)") {
			t.Fatalf("the job ended with %v", err)
		}
	case <-time.After(testutil.D(10 * time.Second)):
		t.Fatal("killing the stage did not end its job")
	}
	if d.KillJob(0, "again") {
		t.Error("a finished job was killed again")
	}
}

// The application's progress (what YARN shows): the share of the result
// partitions of every job so far that are computed.
func TestProgress(t *testing.T) {
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	if p := sc.Driver().Progress(); p != 0 {
		t.Fatalf("before any job: %v", p)
	}
	nums, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 4)
	if _, err := stoke.Count(context.Background(), nums); err != nil {
		t.Fatal(err)
	}
	if p := sc.Driver().Progress(); p != 1 {
		t.Fatalf("after a finished job: %v", p)
	}
	// A job stuck on its second of two partitions: half done overall.
	slow, _ := stoke.Parallelize(sc, []int{0, 60000}, 2)
	go stoke.Collect(context.Background(), stoke.Map(slow, nap))
	testutil.Eventually(t, 10*time.Second, "the quick partition done", func() bool { return sc.Driver().Progress() == 5.0/6 })
	sc.Driver().KillJob(1, "test over")
}
