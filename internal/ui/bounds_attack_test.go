package ui

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

// TestAttackUIIdleConnectionsDropped: a client that makes one request on a
// kept-alive connection and then holds it open is dropped (the control:
// the request itself is answered).
func TestAttackUIIdleConnectionsDropped(t *testing.T) {
	defer func(d time.Duration) { idleTimeout = d }(idleTimeout)
	idleTimeout = 200 * time.Millisecond
	srv := startServer(t, NewStore())
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /api/v1/applications HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(testutil.D(10 * time.Second)))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("control: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("control: %s", resp.Status)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("the server sent more on an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("an idle kept-alive connection is still open")
	}
}
