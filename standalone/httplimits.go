package standalone

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// HTTPLimits bound what one of the standalone HTTP servers (master API and
// UI, worker UI, a driver's binary server) holds on behalf of clients.
// Zero fields take the defaults below.
type HTTPLimits struct {
	ReadHeaderTimeout time.Duration // 10s
	// ReadTimeout bounds reading a whole request (30s); large uploads get
	// more time, in proportion to their size at MinRate.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from its headers to the end of the
	// answer; the master sets it above its long-poll wait. Large downloads
	// get more time at MinRate.
	WriteTimeout   time.Duration // 60s
	IdleTimeout    time.Duration // 120s
	MaxConnections int           // open connections at once (1024)
	// MinRate (bytes/s) is the slowest transfer of a binary that is still
	// waited for (256 KiB/s).
	MinRate int64
}

func (l HTTPLimits) withDefaults() HTTPLimits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = 10 * time.Second
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 30 * time.Second
	}
	l.ReadHeaderTimeout = min(l.ReadHeaderTimeout, l.ReadTimeout)
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 60 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 120 * time.Second
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = 1024
	}
	if l.MinRate <= 0 {
		l.MinRate = 256 << 10
	}
	return l
}

// serve starts an http.Server with these limits on lis.
func (l HTTPLimits) serve(lis net.Listener, h http.Handler) *http.Server {
	l = l.withDefaults()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: 64 << 10}
	go srv.Serve(netutil.LimitListener(lis, l.MaxConnections))
	return srv
}

// transferTime is how long moving size bytes may take.
func (l HTTPLimits) transferTime(size int64) time.Duration {
	l = l.withDefaults()
	return l.ReadTimeout + time.Duration(float64(size)/float64(l.MinRate)*float64(time.Second))
}

// allowRead gives a request body of size bytes time to arrive.
func (l HTTPLimits) allowRead(w http.ResponseWriter, size int64) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(l.transferTime(size)))
}

// allowWrite gives an answer of size bytes time to leave.
func (l HTTPLimits) allowWrite(w http.ResponseWriter, size int64) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(l.transferTime(size)))
}
