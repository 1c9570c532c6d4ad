package ipc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
)

// Protocol names (declaringClassProtocolName) of the Hadoop services Stoke talks to.
const (
	ApplicationClientProtocol    = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"
	ApplicationMasterProtocol    = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB"
	ContainerManagementProtocol  = "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB"
	ClientNamenodeProtocol       = "org.apache.hadoop.hdfs.protocol.ClientProtocol"
	ResourceManagerAdminProtocol = "org.apache.hadoop.yarn.server.api.ResourceManagerAdministrationProtocolPB"
)

// Client calls one protocol on a service that may have several addresses (RM HA: one per
// yarn.resourcemanager.ha.rm-ids entry). It keeps one connection to the current address,
// reconnects when the connection went idle or broke, and fails over to the next address when a
// server cannot be reached or answers StandbyException.
type Client struct {
	addrs []string
	cfg   Config
	// MaxFailovers bounds the address switches per call (default 2 rounds over all addresses).
	MaxFailovers int
	// Backoff is the pause after a full round over the addresses failed (default 500 ms,
	// doubling, at most 15 s).
	Backoff time.Duration
	// Sleep waits between attempts; tests replace it. Returns ctx.Err() if ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now reads the time for idle checks; tests replace it.
	Now func() time.Time

	mu       sync.Mutex
	cur      int
	conn     *Conn
	lastUsed time.Time // of conn
}

// NewClient returns a client for cfg.Protocol at addrs, tried in order.
func NewClient(addrs []string, cfg Config) (*Client, error) {
	if len(addrs) == 0 {
		return nil, errors.New("ipc: no server addresses")
	}
	return &Client{addrs: append([]string(nil), addrs...), cfg: cfg.withDefaults()}, nil
}

// Current returns the address calls currently go to.
func (c *Client) Current() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs[c.cur]
}

// Security describes the open connection: its auth method (SIMPLE, TOKEN, ...) and SASL QOP
// ("" without SASL). Both are "" when no connection is open.
func (c *Client) Security() (method, qop string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return "", ""
	}
	return c.conn.AuthMethod(), c.conn.QOP()
}

// Close closes the open connection, if any.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		err := c.conn.Close()
		c.conn = nil
		return err
	}
	return nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Call invokes method on the current server, failing over as described on Client.
func (c *Client) Call(ctx context.Context, method string, req, resp proto.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	maxFail := c.MaxFailovers
	if maxFail == 0 {
		maxFail = 2 * len(c.addrs)
	}
	backoff := c.Backoff
	if backoff == 0 {
		backoff = 500 * time.Millisecond
	}
	var errs []error
	retry := int32(-1)
	failovers := 0
	reconnected := false
	for {
		if err := ctx.Err(); err != nil {
			return c.giveUp(method, errs, err)
		}
		addr := c.addrs[c.cur]
		if c.conn != nil && (!c.conn.usable() || c.now().Sub(c.lastUsed) >= c.cfg.MaxIdle) {
			c.conn.Close()
			c.conn = nil
		}
		fresh := false
		if c.conn == nil {
			conn, err := Dial(ctx, addr, c.cfg)
			if err != nil {
				errs = append(errs, err)
				var re *RemoteError
				if errors.As(err, &re) && !isFailoverClass(re.Class) {
					return err // the server refused us: authentication or protocol trouble
				}
				if !c.failover(ctx, &failovers, maxFail, &backoff) {
					return c.giveUp(method, errs, nil)
				}
				continue
			}
			c.conn, fresh = conn, true
		}
		err := c.conn.call(ctx, method, req, resp, retry)
		c.lastUsed = c.now()
		if err == nil {
			return nil
		}
		var re *RemoteError
		if errors.As(err, &re) {
			if re.Fatal {
				c.conn.Close()
				c.conn = nil
			}
			if !isFailoverClass(re.Class) {
				return err
			}
			errs = append(errs, err)
			if re.Class == RetriableException {
				if serr := c.sleep(ctx, backoff); serr != nil {
					return c.giveUp(method, errs, serr)
				}
				retry++
				continue
			}
			c.conn.Close()
			c.conn = nil
			if !c.failover(ctx, &failovers, maxFail, &backoff) {
				return c.giveUp(method, errs, nil)
			}
			continue
		}
		// I/O trouble: the connection is gone.
		c.conn.Close()
		c.conn = nil
		if ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
		if !fresh && !reconnected {
			// A reused connection may have been closed by the server while idle: redo it once
			// against the same server. The retry count lets the server's retry cache spot a
			// duplicate of a call it already ran.
			reconnected = true
			retry++
			continue
		}
		if errors.Is(err, ErrMalformed) {
			return err
		}
		retry++
		if !c.failover(ctx, &failovers, maxFail, &backoff) {
			return c.giveUp(method, errs, nil)
		}
	}
}

func isFailoverClass(cls string) bool {
	return cls == StandbyException || cls == RetriableException
}

// failover moves to the next address; after a full round it backs off. It reports false when
// the failover budget is spent.
func (c *Client) failover(ctx context.Context, n *int, max int, backoff *time.Duration) bool {
	*n++
	if *n > max {
		return false
	}
	c.cur = (c.cur + 1) % len(c.addrs)
	if c.cur == 0 || len(c.addrs) == 1 {
		if c.sleep(ctx, *backoff) != nil {
			return false
		}
		*backoff = min(*backoff*2, 15*time.Second)
	}
	return true
}

func (c *Client) giveUp(method string, errs []error, cause error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ipc: %s failed on %s", method, strings.Join(c.addrs, ", "))
	if cause != nil {
		fmt.Fprintf(&b, ": %v", cause)
	}
	if len(errs) == 0 {
		return errors.New(b.String())
	}
	// Keep the message readable: the last few attempts say enough; the last one is wrapped.
	shown := errs
	if len(shown) > 4 {
		shown = shown[len(shown)-4:]
	}
	b.WriteString("; attempts: ")
	for i, e := range shown[:len(shown)-1] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	if len(shown) > 1 {
		b.WriteString("; ")
	}
	return fmt.Errorf("%s%w", b.String(), shown[len(shown)-1])
}
