package mesos

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

// TestAttackGrantServerIdleConnectionsDropped: a client holding a
// kept-alive connection to the grant server after a request is dropped (the
// control: its request, for an unknown token, is answered 404).
func TestAttackGrantServerIdleConnectionsDropped(t *testing.T) {
	defer func(d time.Duration) { grantIdleTimeout = d }(grantIdleTimeout)
	grantIdleTimeout = 200 * time.Millisecond
	fs, err := serveGrants("127.0.0.1", "/nonexistent/binary", newGrants(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.close()
	c, err := net.Dial("tcp", strings.TrimPrefix(fs.base(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /b/0123456789abcdef0123/app HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(testutil.D(10 * time.Second)))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("control: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("control: unknown token answered %s", resp.Status)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("the server sent more on an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("an idle kept-alive connection is still open")
	}
}
