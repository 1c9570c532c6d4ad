package ui

import (
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
	testutil.IdleConnectionDropped(t, strings.TrimPrefix(srv.URL(), "http://"), "GET /api/v1/applications HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusOK)
}
