package driver

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stuckBackend's Stop waits until released: a backend slow to release its
// executors.
type stuckBackend struct {
	goneBackend
	stopping chan struct{}
	release  chan struct{}
}

func (b *stuckBackend) Stop(context.Context) error {
	close(b.stopping)
	<-b.release
	return nil
}

// A second signal exits at once while the first one's clean stop is still
// under way; the first one exits with its own code once the stop is done.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	exited := make(chan int, 2)
	exit = func(code int) { exited <- code; select {} }
	duplicateWindow = time.Hour // the repeated SIGTERM below comes "at once"
	defer func() { exit, duplicateWindow = osExit, time.Second }()

	be := &stuckBackend{goneBackend: goneBackend{gone: map[string]bool{}, attempts: map[string]int{}},
		stopping: make(chan struct{}), release: make(chan struct{})}
	c, logs := newTestContext(t, be)
	stop := c.HandleSignals()
	defer stop()

	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	select {
	case <-be.stopping:
	case <-time.After(30 * time.Second):
		t.Fatal("SIGTERM did not stop the backend")
	}
	// The same signal again right away is a copy (terminal and stoke
	// submit), not a second signal.
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond) // a wrong exit would be seen below
	select {
	case code := <-exited:
		t.Fatalf("exited (%d) before the stop was done", code)
	default:
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	select {
	case code := <-exited:
		if code != ExitSIGINT {
			t.Errorf("the second signal (SIGINT) exited with %d, want %d", code, ExitSIGINT)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second signal did not exit")
	}
	close(be.release)
	select {
	case code := <-exited:
		if code != ExitSIGTERM {
			t.Errorf("the first signal (SIGTERM) exited with %d, want %d", code, ExitSIGTERM)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the clean stop did not exit")
	}
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	// The process would have exited: let the test's cleanup Stop return.
	c.interrupted.Store(false)
	if !stopped {
		t.Error("the Context is not stopped")
	}
	if !strings.Contains(logs.String(), "second signal") {
		t.Errorf("the second signal was not logged:\n%s", logs)
	}
}

// Once the handler is stopped, signals are no longer taken.
func TestHandleSignalsStop(t *testing.T) {
	be := &goneBackend{gone: map[string]bool{}, attempts: map[string]int{}}
	c, _ := newTestContext(t, be)
	stop := c.HandleSignals()
	stop()
	stop() // twice is fine
	if c.interrupted.Load() {
		t.Fatal("interrupted without a signal")
	}
}
