package yarn

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/testutil"
)

// TestAttackAMServerBounds: a client that opens the AM's API port and never
// finishes its headers is dropped, and a long poll asking to wait an hour
// ends at the cap; a complete request (the control) is answered.
func TestAttackAMServerBounds(t *testing.T) {
	defer func(h, w time.Duration) { amHeaderTimeout, maxEventsWait = h, w }(amHeaderTimeout, maxEventsWait)
	amHeaderTimeout, maxEventsWait = 200*time.Millisecond, 100*time.Millisecond
	m := &am{secret: "s3cret", wake: make(chan struct{}, 1), eventsCh: make(chan struct{}), maxFailures: -1, maxPerNode: 2}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := amServer(m.handler())
	go srv.Serve(lis)
	defer srv.Close()
	base := "http://" + lis.Addr().String()

	hc := &http.Client{Timeout: testutil.D(10 * time.Second)}
	resp, err := hc.Get(base + "/")
	if err != nil {
		t.Fatalf("control: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("control: %s", resp.Status)
	}

	c, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(testutil.D(10 * time.Second)))
	if line, err := bufio.NewReader(c).ReadString('\n'); err == nil && !strings.Contains(line, "408") {
		t.Errorf("a client that never ends its headers got %q", line)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("a client that never ends its headers is still connected")
	}

	req, _ := http.NewRequest("GET", base+"/v1/events?after=0&wait=3600000", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatalf("an hour-long poll was not cut short: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("long poll: %s", resp.Status)
	}
}
