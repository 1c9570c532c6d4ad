package mesos_test

import (
	"context"
	"net"
	"net/http"
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
