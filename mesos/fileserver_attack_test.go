package mesos

import (
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
	testutil.IdleConnectionDropped(t, strings.TrimPrefix(fs.base(), "http://"), "GET /b/0123456789abcdef0123/app HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusNotFound)
}
