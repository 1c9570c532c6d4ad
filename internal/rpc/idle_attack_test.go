package rpc

import (
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/stoke-run/stoke/internal/testutil"
)

// TestAttackIdleConnectionClosed: a client that opens an HTTP/2 connection
// to a Stoke gRPC server (the driver's executor endpoint, an executor's
// block service) and never makes a call is disconnected; the control is
// that the server answers its SETTINGS first, so the connection was
// accepted.
func TestAttackIdleConnectionClosed(t *testing.T) {
	defer func(d time.Duration) { maxConnIdle = d }(maxConnIdle)
	maxConnIdle = 100 * time.Millisecond
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(ServerOptions("s3cret-s3cret", 1<<20)...)
	go srv.Serve(lis)
	defer srv.Stop()
	c, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The client preface and an empty SETTINGS frame.
	if _, err := io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(testutil.D(20 * time.Second)))
	head := make([]byte, 9)
	if _, err := io.ReadFull(c, head); err != nil || head[3] != 0x4 {
		t.Fatalf("control: no SETTINGS from the server: %v %x", err, head)
	}
	_, err = io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("an idle connection that never made a call is still open")
	}
}
