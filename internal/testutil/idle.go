package testutil

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// IdleConnectionDropped sends request (a raw HTTP/1.1 request, kept alive)
// to addr, checks the answer has status want (the control), then holds the
// connection open and fails unless the server closes it within D(10s).
func IdleConnectionDropped(t testing.TB, addr, request string, want int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, request)
	c.SetReadDeadline(time.Now().Add(D(10 * time.Second)))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("control: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("control: %s, want %d", resp.Status, want)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("the server sent more on an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("an idle kept-alive connection is still open")
	}
}
