package mesos_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

// TestAttackDispatcherOpenByDefault: the dispatcher takes binaries and runs
// them on the cluster, so beyond loopback it refuses to start without a
// secret unless told Insecure; with Insecure (the control) an
// unauthenticated caller reaches the API, with a secret it is refused.
func TestAttackDispatcherOpenByDefault(t *testing.T) {
	c := mesostest.Start(t, mesostest.Options{})
	open := func(o mesos.DispatcherOptions) (*mesos.Dispatcher, error) {
		o.Master, o.WorkDir = c.Leader().MesosURL(), t.TempDir()
		d, err := mesos.StartDispatcher(context.Background(), o)
		if err == nil {
			t.Cleanup(d.Stop)
		}
		return d, err
	}
	if d, err := open(mesos.DispatcherOptions{Host: "0.0.0.0"}); err == nil {
		t.Fatalf("a dispatcher on every interface without a secret started at %s", d.Address())
	} else if !strings.Contains(err.Error(), "--insecure") || !strings.Contains(err.Error(), "stoke.authenticate.secret") {
		t.Errorf("refusal does not say what to do: %v", err)
	}
	status := func(d *mesos.Dispatcher) int {
		_, port, _ := net.SplitHostPort(d.Address())
		hc := &http.Client{Timeout: testutil.D(10 * time.Second)}
		resp, err := hc.Get("http://127.0.0.1:" + port + "/v1/submissions/driver-x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	d, err := open(mesos.DispatcherOptions{Host: "0.0.0.0", Insecure: true})
	if err != nil {
		t.Fatalf("--insecure dispatcher: %v", err)
	}
	if got := status(d); got != http.StatusNotFound {
		t.Errorf("insecure dispatcher (control): unauthenticated status %d, want 404", got)
	}
	d, err = open(mesos.DispatcherOptions{Host: "0.0.0.0", Secret: "s3cr3t"})
	if err != nil {
		t.Fatalf("dispatcher with a secret: %v", err)
	}
	if got := status(d); got != http.StatusUnauthorized {
		t.Errorf("dispatcher with a secret: unauthenticated status %d, want 401", got)
	}
	if _, err := open(mesos.DispatcherOptions{Host: "127.0.0.1"}); err != nil {
		t.Errorf("loopback dispatcher without a secret: %v", err)
	}
}

// TestAttackDispatcherBinaryBound: an authenticated submitter cannot fill
// the dispatcher's disk: a binary over MaxBinarySize is refused with 413 and
// nothing is kept; one within it (the control) is queued.
func TestAttackDispatcherBinaryBound(t *testing.T) {
	c := mesostest.Start(t, mesostest.Options{})
	work := t.TempDir()
	d, err := mesos.StartDispatcher(context.Background(), mesos.DispatcherOptions{
		Master: c.Leader().MesosURL(), Host: "127.0.0.1", WorkDir: work, Secret: "d1sp", MaxBinarySize: 4 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	cl := &mesos.DispatcherClient{Addr: d.Address(), Secret: "d1sp"}
	bin := func(n int) string {
		p := filepath.Join(t.TempDir(), "app")
		if err := os.WriteFile(p, make([]byte, n), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(30*time.Second))
	defer cancel()
	sub := mesos.DriverSubmission{Args: []string{"sleep"}, Conf: handOff(), CPUs: 0.1, MemMB: 64}
	if _, err := cl.Submit(ctx, bin(1<<20), sub); err == nil || !strings.Contains(err.Error(), "413") || !strings.Contains(err.Error(), "4096") {
		t.Errorf("a 1 MiB binary over a 4 KiB bound: %v, want 413 naming the bound", err)
	}
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Errorf("the refused binary left %d file(s) in the work dir", len(ents))
	}
	st, err := cl.Submit(ctx, bin(1<<10), sub)
	if err != nil {
		t.Fatalf("a 1 KiB binary (control): %v", err)
	}
	cl.Kill(ctx, st.ID)
}

// TestAttackDispatcherRetention: submissions cannot pile up without bound:
// an ended driver's binary leaves the work dir at once, and only the last
// RetainedDrivers ended drivers are remembered (the control: a queued
// driver's binary is there, and the last ended driver is still known).
func TestAttackDispatcherRetention(t *testing.T) {
	// One agent too small for a driver (0.1 CPU, 64 MB): drivers stay queued.
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 0.05, MemMB: 32}}})
	work := t.TempDir()
	d, err := mesos.StartDispatcher(context.Background(), mesos.DispatcherOptions{
		Master: c.Leader().MesosURL(), Host: "127.0.0.1", WorkDir: work, Secret: "d1sp", RetainedDrivers: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	cl := &mesos.DispatcherClient{Addr: d.Address(), Secret: "d1sp"}
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(30*time.Second))
	defer cancel()
	files := func() int { ents, _ := os.ReadDir(work); return len(ents) }
	var ids []string
	for i := 0; i < 2; i++ {
		st, err := cl.Submit(ctx, bin, mesos.DriverSubmission{Args: []string{"x"}, Conf: handOff(), CPUs: 0.1, MemMB: 64})
		if err != nil {
			t.Fatal(err)
		}
		if files() != 1 {
			t.Fatalf("control: the queued driver's binary is not in the work dir (%d files)", files())
		}
		if st, err = cl.Kill(ctx, st.ID); err != nil || st.State != mesos.DriverKilled {
			t.Fatalf("killing queued driver %s: %+v %v", st.ID, st, err)
		}
		if files() != 0 {
			t.Errorf("the killed driver %s left its binary in the work dir", st.ID)
		}
		ids = append(ids, st.ID)
	}
	if _, err := cl.Status(ctx, ids[0]); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("the older ended driver beyond RetainedDrivers=1 is still kept: %v", err)
	}
	if st, err := cl.Status(ctx, ids[1]); err != nil || st.State != mesos.DriverKilled {
		t.Errorf("control: the last ended driver: %+v %v", st, err)
	}
}
