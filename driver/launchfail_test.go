package driver

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/plan"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/testutil"
)

// goneBackend fails every launch on the executors in gone (as the coarse
// server does once an executor's stream is gone but before the driver hears
// it is lost) and completes launches on the others.
type goneBackend struct {
	mu       sync.Mutex
	d        backend.Driver
	gone     map[string]bool
	attempts map[string]int
}

func (b *goneBackend) Start(_ context.Context, d backend.Driver) error { b.d = d; return nil }
func (b *goneBackend) Stop(context.Context) error                      { return nil }
func (b *goneBackend) LaunchTasks(id string, tds []*pb.TaskDesc) error {
	b.mu.Lock()
	b.attempts[id]++
	gone := b.gone[id]
	b.mu.Unlock()
	if gone {
		return errors.New("executor " + id + " is not connected")
	}
	go func() {
		for _, td := range tds {
			b.d.StatusUpdate(id, &pb.TaskStatus{TaskId: td.TaskId, State: pb.TaskState_SUCCEEDED, Result: &pb.TaskResult{}})
		}
	}()
	return nil
}
func (b *goneBackend) KillTask(string, int64, string) error { return nil }
func (b *goneBackend) FetchResult(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("no stored results")
}
func (b *goneBackend) Revive()                         {}
func (b *goneBackend) RequestTotalExecutors(int) error { return nil }
func (b *goneBackend) KillExecutors([]string) error    { return nil }
func (b *goneBackend) DefaultParallelism() int         { return 2 }
func (b *goneBackend) ApplicationID() string           { return "app-launchfail" }

func (b *goneBackend) count(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.attempts[id]
}

func newTestContext(t *testing.T, be backend.Backend) (*Context, *bytes.Buffer) {
	t.Helper()
	c := conf.New()
	c.Set("stoke.ui.enabled", "false", conf.SourceCode)
	c.Set("stoke.ui.showConsoleProgress", "false", conf.SourceCode)
	c.Set("stoke.master", "local[2]", conf.SourceCode)
	var logs bytes.Buffer
	log := logrus.New()
	log.SetOutput(&lockedWriter{w: &logs})
	ctx, err := New(Options{Conf: c, Backend: be, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctx.Stop() })
	return ctx, &logs
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func parallelizeJob(c *Context, parts int) *plan.Node {
	data := make([][]byte, parts)
	return &plan.Node{ID: c.NewNodeID(), Kind: plan.Parallelize, NumPartitions: parts, Type: "string", Data: data}
}

// An executor whose connection is gone while the driver still counts its
// slots must not be offered tasks again and again (issue 11, item 8: a
// SIGSTOPped driver resumed into 11,509 warnings a second).
func TestLaunchFailureMarksExecutorUnusable(t *testing.T) {
	be := &goneBackend{gone: map[string]bool{"gone": true}, attempts: map[string]int{}}
	c, logs := newTestContext(t, be)
	c.ExecutorAdded(backend.ExecutorInfo{ID: "gone", Host: "h1", Cores: 4})

	done := make(chan error, 1)
	go func() {
		_, err := c.RunJob(context.Background(), parallelizeJob(c, 8), &pb.Sink{Kind: &pb.Sink_Collect{Collect: "string"}}, JobOptions{})
		done <- err
	}()
	testutil.Eventually(t, 10*time.Second, "a launch on the gone executor", func() bool { return be.count("gone") > 0 })
	// The tasks wait for a usable executor instead of looping.
	select {
	case err := <-done:
		t.Fatalf("job ended with only an unusable executor: %v", err)
	case <-time.After(testutil.D(200 * time.Millisecond)):
	}
	if n := be.count("gone"); n != 1 {
		t.Fatalf("%d launch attempts on an executor whose connection is gone; want 1", n)
	}
	c.ExecutorAdded(backend.ExecutorInfo{ID: "ok", Host: "h2", Cores: 2})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testutil.D(10 * time.Second)):
		t.Fatal("the job did not finish on the usable executor")
	}
	if n := be.count("gone"); n != 1 {
		t.Fatalf("%d launch attempts on the unusable executor; want 1", n)
	}
	if w := bytes.Count(logs.Bytes(), []byte("level=warning")); w != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", w, logs.String())
	}

	// Registering again makes it usable; being lost forgets it.
	be.mu.Lock()
	be.gone["gone"] = false
	be.mu.Unlock()
	c.ExecutorLost("ok", "test")
	c.ExecutorAdded(backend.ExecutorInfo{ID: "gone", Host: "h1", Cores: 4})
	if _, err := c.RunJob(context.Background(), parallelizeJob(c, 4), &pb.Sink{Kind: &pb.Sink_Collect{Collect: "string"}}, JobOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := be.count("gone"); n < 2 {
		t.Fatalf("the re-registered executor got no tasks (%d launches)", n)
	}
}

func TestWarnLimiter(t *testing.T) {
	var w warnLimiter
	t0 := time.Unix(1000, 0)
	if _, ok := w.allow(t0); !ok {
		t.Fatal("first warning suppressed")
	}
	for i := 0; i < 5; i++ {
		if _, ok := w.allow(t0.Add(time.Second)); ok {
			t.Fatal("warning inside the window let through")
		}
	}
	if n, ok := w.allow(t0.Add(warnWindow)); !ok || n != 5 {
		t.Fatalf("after the window: ok=%v suppressed=%d, want true 5", ok, n)
	}
}
