package ipc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os/user"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

// Config describes connections to one Hadoop RPC protocol.
type Config struct {
	// Protocol is the declaring protocol name, e.g. ApplicationClientProtocol.
	Protocol string
	// User is the effective user sent for SIMPLE (and later KERBEROS proxy) connections;
	// the current OS user when "".
	User string
	// RealUser, when set, makes User a proxy (impersonated) user of RealUser.
	RealUser string
	// Auth lists the credentials to offer. Empty means SIMPLE without SASL, as a Java client
	// on an insecure cluster does; servers that insist on TOKEN then refuse the connection.
	Auth []Authenticator
	// ConnectTimeout bounds dialling and the handshake (ipc.client.connect.timeout, 20 s).
	ConnectTimeout time.Duration
	// CallTimeout bounds a call when its context has no earlier deadline
	// (ipc.client.rpc-timeout.ms, 120 s); 0 means only the context bounds it.
	CallTimeout time.Duration
	// PingInterval is how long a call waits for its response before a ping is sent on the
	// connection (ipc.ping.interval, 60 s); 0 disables pings.
	PingInterval time.Duration
	// MaxIdle closes a connection unused this long before the next call reuses it; the server
	// drops idle connections after 2 x ipc.client.connection.maxidletime (10 s).
	MaxIdle time.Duration
	// MaxResponseLength caps a response packet (ipc.maximum.response.length, 128 MiB).
	MaxResponseLength int
	// Dial opens the TCP connection; net.Dialer when nil.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.ConnectTimeout == 0 {
		out.ConnectTimeout = 20 * time.Second
	}
	if out.MaxIdle == 0 {
		out.MaxIdle = 10 * time.Second
	}
	if out.MaxResponseLength == 0 {
		out.MaxResponseLength = DefaultMaxResponseLength
	}
	if out.Dial == nil {
		d := &net.Dialer{}
		out.Dial = d.DialContext
	}
	if out.User == "" {
		if u, err := user.Current(); err == nil {
			out.User = u.Username
		}
	}
	return out
}

// Conn is one established connection to one server for one protocol. Calls are serialised.
type Conn struct {
	addr     string
	cfg      Config
	nc       net.Conn
	br       *bufio.Reader
	clientID []byte
	method   string // SIMPLE, TOKEN, ...
	qop      string // auth, auth-int, auth-conf; "" without SASL
	layer    SecurityLayer
	pending  bytes.Buffer // unwrapped bytes not yet consumed

	mu       sync.Mutex
	nextCall int32
	broken   error
}

// Dial connects to addr, negotiates authentication and sends the connection context.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	cfg = cfg.withDefaults()
	if cfg.Protocol == "" {
		return nil, errors.New("ipc: Config.Protocol is empty")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	nc, err := cfg.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, &DialError{Addr: addr, Err: err}
	}
	c := &Conn{addr: addr, cfg: cfg, nc: nc, br: bufio.NewReader(nc), clientID: make([]byte, 16), method: MethodSimple}
	if _, err := rand.Read(c.clientID); err != nil {
		nc.Close()
		return nil, err
	}
	stop := watchContext(ctx, nc)
	err = c.handshake()
	if stop() && err != nil {
		err = fmt.Errorf("ipc: connecting to %s: %w (%v)", addr, ctx.Err(), err)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// DialError means the TCP connection could not be opened; the client fails over on it.
type DialError struct {
	Addr string
	Err  error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("ipc: cannot connect to %s: %v", e.Addr, e.Err)
}
func (e *DialError) Unwrap() error { return e.Err }

// watchContext makes blocked I/O on nc fail when ctx ends. stop reports whether it did.
func watchContext(ctx context.Context, nc net.Conn) (stop func() bool) {
	fired := make(chan struct{})
	stopAF := context.AfterFunc(ctx, func() {
		nc.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	return func() bool {
		if stopAF() {
			return false
		}
		<-fired
		nc.SetDeadline(time.Time{})
		return true
	}
}

// Addr is the server address.
func (c *Conn) Addr() string { return c.addr }

// AuthMethod is the negotiated method: SIMPLE, TOKEN or KERBEROS.
func (c *Conn) AuthMethod() string { return c.method }

// QOP is the negotiated SASL quality of protection (auth, auth-int, auth-conf), "" when the
// connection did not use SASL.
func (c *Conn) QOP() string { return c.qop }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

func (c *Conn) rpcHeader(callID int32, retry int32) *commonpb.RpcRequestHeader {
	clientID := c.clientID
	if callID < 0 {
		clientID = []byte{}
	}
	return &commonpb.RpcRequestHeader{
		RpcKind:    commonpb.RpcKind_RPC_PROTOCOL_BUFFER.Enum(),
		RpcOp:      commonpb.RpcRequestHeader_RPC_FINAL_PACKET.Enum(),
		CallId:     proto.Int32(callID),
		ClientId:   clientID,
		RetryCount: proto.Int32(retry),
	}
}

func (c *Conn) handshake() error {
	useSASL := len(c.cfg.Auth) > 0
	ap := byte(authProtocolNone)
	if useSASL {
		ap = authProtocolSASL
	}
	if _, err := c.nc.Write(preamble(ap)); err != nil {
		return c.serverReason(fmt.Errorf("ipc: connecting to %s: %w", c.addr, err))
	}
	ctxUser := c.cfg.User
	if useSASL {
		a, err := c.negotiate()
		if err != nil {
			return err
		}
		if a != nil {
			ctxUser = a.ContextUser()
		}
	}
	cc := &commonpb.IpcConnectionContext{Protocol: proto.String(c.cfg.Protocol)}
	if ctxUser != "" {
		cc.UserInfo = &commonpb.UserInformation{EffectiveUser: proto.String(ctxUser)}
		if c.cfg.RealUser != "" {
			cc.UserInfo.RealUser = proto.String(c.cfg.RealUser)
		}
	}
	return c.writePacket(c.rpcHeader(callIDConnectionContext, -1), cc)
}

// negotiate runs the SASL exchange; it returns the authenticator used, nil for SIMPLE.
func (c *Conn) negotiate() (Authenticator, error) {
	srv := Server{Addr: c.addr, Protocol: c.cfg.Protocol}
	send := func(m *commonpb.RpcSasl) error {
		return c.writePacket(c.rpcHeader(callIDSASL, -1), m)
	}
	recv := func() (*commonpb.RpcSasl, error) {
		h, body, err := c.readResponse()
		if err != nil {
			return nil, err
		}
		if h.GetStatus() != commonpb.RpcResponseHeader_SUCCESS {
			return nil, remoteError(h, "", c.addr)
		}
		if id := responseCallID(h); id != callIDSASL {
			return nil, malformed("SASL negotiation got a response for call id %d", id)
		}
		m := &commonpb.RpcSasl{}
		if err := decodeBody(body, m); err != nil {
			return nil, err
		}
		return m, nil
	}
	if err := send(&commonpb.RpcSasl{State: commonpb.RpcSasl_NEGOTIATE.Enum()}); err != nil {
		return nil, err
	}
	var mech Mechanism
	var chosen Authenticator
	for step := 0; step < 32; step++ {
		m, err := recv()
		if err != nil {
			return nil, err
		}
		switch m.GetState() {
		case commonpb.RpcSasl_NEGOTIATE:
			if mech != nil {
				return nil, malformed("SASL: second NEGOTIATE from %s", c.addr)
			}
			offer, mm, a, err := chooseAuth(m.GetAuths(), c.cfg.Auth, srv)
			if err != nil {
				return nil, err
			}
			if mm == nil { // server allows SIMPLE
				c.method = MethodSimple
				return nil, nil
			}
			mech, chosen = mm, a
			tok, err := mech.Start()
			if err != nil {
				return nil, err
			}
			init := &commonpb.RpcSasl{
				State: commonpb.RpcSasl_INITIATE.Enum(),
				Token: tok,
				Auths: []*commonpb.RpcSasl_Auth{{
					Method: offer.Method, Mechanism: offer.Mechanism, Protocol: offer.Protocol, ServerId: offer.ServerId,
				}},
			}
			if err := send(init); err != nil {
				return nil, err
			}
		case commonpb.RpcSasl_CHALLENGE:
			if mech == nil {
				return nil, malformed("SASL: CHALLENGE before a mechanism was chosen")
			}
			tok, err := mech.Step(m.GetToken())
			if err != nil {
				return nil, err
			}
			if err := send(&commonpb.RpcSasl{State: commonpb.RpcSasl_RESPONSE.Enum(), Token: tok}); err != nil {
				return nil, err
			}
		case commonpb.RpcSasl_SUCCESS:
			if mech == nil {
				// The server accepted us without a mechanism: it runs SIMPLE.
				c.method = MethodSimple
				return nil, nil
			}
			layer, err := mech.Finish(m.GetToken())
			if err != nil {
				return nil, err
			}
			c.layer = layer
			c.method = chosen.Method()
			c.qop = "auth"
			if q, ok := mech.(interface{ QOP() string }); ok {
				c.qop = q.QOP()
			}
			return chosen, nil
		default:
			return nil, malformed("SASL: unexpected state %v from %s", m.GetState(), c.addr)
		}
	}
	return nil, malformed("SASL: negotiation with %s did not finish in 32 steps", c.addr)
}

// writePacket sends one packet, wrapped when a security layer is in force.
func (c *Conn) writePacket(msgs ...proto.Message) error {
	p, err := encodePacket(msgs...)
	if err != nil {
		return err
	}
	return c.writeRaw(p)
}

// writeRaw sends one encoded packet (length prefix included), wrapped when a security layer
// is in force.
func (c *Conn) writeRaw(p []byte) error {
	if c.layer != nil {
		w, err := c.layer.Wrap(p)
		if err != nil {
			return fmt.Errorf("ipc: wrapping request to %s: %w", c.addr, err)
		}
		p, err = encodePacket(c.rpcHeader(callIDSASL, -1), &commonpb.RpcSasl{State: commonpb.RpcSasl_WRAP.Enum(), Token: w})
		if err != nil {
			return err
		}
	}
	if _, err := c.nc.Write(p); err != nil {
		return c.serverReason(fmt.Errorf("ipc: writing to %s: %w", c.addr, err))
	}
	return nil
}

// serverReason is called when a write failed: a server that refuses a connection (say,
// "SIMPLE authentication is not enabled") sends a fatal response and closes, and that
// response explains the failure better than the broken pipe does.
func (c *Conn) serverReason(werr error) error {
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	defer c.nc.SetReadDeadline(time.Time{})
	h, _, err := c.readResponse()
	if err != nil || h.GetStatus() == commonpb.RpcResponseHeader_SUCCESS {
		return werr
	}
	return remoteError(h, "", c.addr)
}

// readResponse reads one response packet (unwrapping it when a security layer is in force).
func (c *Conn) readResponse() (*commonpb.RpcResponseHeader, []byte, error) {
	if c.layer == nil {
		p, err := readPacket(c.br, c.cfg.MaxResponseLength)
		if err != nil {
			return nil, nil, err
		}
		return decodeResponse(p)
	}
	for c.pending.Len() == 0 {
		p, err := readPacket(c.br, c.cfg.MaxResponseLength)
		if err != nil {
			return nil, nil, err
		}
		h, body, err := decodeResponse(p)
		if err != nil {
			return nil, nil, err
		}
		if responseCallID(h) != callIDSASL || h.GetStatus() != commonpb.RpcResponseHeader_SUCCESS {
			if h.GetStatus() != commonpb.RpcResponseHeader_SUCCESS {
				return nil, nil, remoteError(h, "", c.addr)
			}
			return nil, nil, malformed("server %s sent a non-wrapped response on a protected connection", c.addr)
		}
		m := &commonpb.RpcSasl{}
		if err := decodeBody(body, m); err != nil {
			return nil, nil, err
		}
		if m.GetState() != commonpb.RpcSasl_WRAP {
			return nil, nil, malformed("expected a SASL WRAP packet, got %v", m.GetState())
		}
		u, err := c.layer.Unwrap(m.GetToken())
		if err != nil {
			return nil, nil, err
		}
		c.pending.Write(u)
	}
	p, err := readPacket(&c.pending, c.cfg.MaxResponseLength)
	if err != nil {
		return nil, nil, malformed("unwrapped data: %v", err)
	}
	return decodeResponse(p)
}

// Call invokes method with req and decodes the answer into resp. It is safe for concurrent use;
// calls run one at a time.
func (c *Conn) Call(ctx context.Context, method string, req, resp proto.Message) error {
	return c.call(ctx, method, req, resp, -1)
}

func (c *Conn) call(ctx context.Context, method string, req, resp proto.Message, retry int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	if c.cfg.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
	}
	id := c.nextCall
	c.nextCall++
	if c.nextCall < 0 {
		c.nextCall = 0
	}
	stop := watchContext(ctx, c.nc)
	err := c.roundTrip(ctx, id, retry, method, req, resp)
	if stop() && err != nil {
		err = fmt.Errorf("ipc: %s on %s: %w", method, c.addr, ctx.Err())
		c.broken = err
	}
	var re *RemoteError
	if err != nil && (!errors.As(err, &re) || re.Fatal) {
		// Framing state is unknown after an I/O or decoding error: the connection is done.
		if c.broken == nil {
			c.broken = err
		}
		c.nc.Close()
	}
	return err
}

func (c *Conn) roundTrip(ctx context.Context, id, retry int32, method string, req, resp proto.Message) error {
	rh := &commonpb.RequestHeader{
		MethodName:                 proto.String(method),
		DeclaringClassProtocolName: proto.String(c.cfg.Protocol),
		ClientProtocolVersion:      proto.Uint64(1),
	}
	if err := c.writePacket(c.rpcHeader(id, retry), rh, req); err != nil {
		return err
	}
	for {
		if c.cfg.PingInterval > 0 {
			c.nc.SetReadDeadline(time.Now().Add(c.cfg.PingInterval))
			if err := ctx.Err(); err != nil {
				// The context ended while the deadline was being re-armed.
				return err
			}
		}
		h, body, err := c.readResponse()
		var ne net.Error
		if err != nil && ctx.Err() == nil && c.cfg.PingInterval > 0 && errors.As(err, &ne) && ne.Timeout() && c.pending.Len() == 0 && c.br.Buffered() == 0 {
			// Still waiting: tell the server we are alive, as Java's client does.
			if perr := c.writePacket(c.rpcHeader(callIDPing, -1)); perr != nil {
				return perr
			}
			continue
		}
		if c.cfg.PingInterval > 0 {
			c.nc.SetReadDeadline(time.Time{})
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("ipc: %s on %s: connection closed by the server before the response: %w", method, c.addr, err)
			}
			return fmt.Errorf("ipc: %s on %s: %w", method, c.addr, err)
		}
		got := responseCallID(h)
		if h.GetStatus() != commonpb.RpcResponseHeader_SUCCESS {
			if got != id && h.GetStatus() != commonpb.RpcResponseHeader_FATAL {
				return malformed("error response for call id %d while waiting for %d", got, id)
			}
			return remoteError(h, method, c.addr)
		}
		if got != id {
			return malformed("response for call id %d while waiting for %d", got, id)
		}
		if err := decodeBody(body, resp); err != nil {
			return fmt.Errorf("ipc: %s on %s: %w", method, c.addr, err)
		}
		return nil
	}
}

// usable reports whether the connection may carry another call.
func (c *Conn) usable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken == nil
}
