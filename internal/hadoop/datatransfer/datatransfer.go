// Package datatransfer protects DataNode connections as a secure HDFS cluster's
// dfs.data.transfer.protection asks: before the first operation on a connection it runs the
// SASL DIGEST-MD5 handshake with the operation's block token, and then wraps the stream for
// integrity or privacy. colinmarc/hdfs dials DataNodes through Dialer and speaks the data
// transfer protocol over the returned connection as if it were plain.
package datatransfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/hdfspb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
)

// Wire constants of DataTransferProtocol.
const (
	// Version is the data transfer protocol version each operation starts with.
	Version = 28
	// saslMagic opens the SASL handshake (SASL_TRANSFER_MAGIC_NUMBER).
	saslMagic = 0xDEADBEEF

	OpWriteBlock         = 80
	OpReadBlock          = 81
	OpBlockChecksum      = 85
	OpTransferBlock      = 86
	OpBlockGroupChecksum = 90

	// saslProtocol and saslServerID make the DIGEST-MD5 digest-uri "hdfs/0".
	saslProtocol = "hdfs"
	saslServerID = "0"

	// maxHandshakeMessage bounds one handshake message; maxOp bounds the first operation.
	maxHandshakeMessage = 1 << 20
	maxOp               = 1 << 20
	// maxWrapped bounds one wrapped chunk from the DataNode (a data packet is 64 KiB and
	// its checksums; the limit leaves room for a larger dfs.client-write-packet-size).
	maxWrapped = 16 << 20
	// chunk is the most plaintext wrapped at once, well under DIGEST-MD5's 64 KiB maxbuf.
	chunk = 32 << 10
)

// ErrMalformed is wrapped by every error about bytes that cannot be decoded: a DataNode's
// handshake message or wrapped chunk, or the first operation the client wrote.
var ErrMalformed = errors.New("malformed data transfer message")

// ErrBlockToken is wrapped when the DataNode rejects the block token (expired, or signed
// with a key it does not know).
var ErrBlockToken = errors.New("the DataNode rejected the block access token")

func malformed(format string, args ...any) error {
	return fmt.Errorf("datatransfer: %w: "+format, append([]any{ErrMalformed}, args...)...)
}

// QOPs maps a dfs.data.transfer.protection value (a comma-separated list of
// authentication, integrity, privacy) to SASL qualities of protection, strongest first.
func QOPs(protection string) ([]string, error) {
	have := map[string]bool{}
	for _, v := range strings.Split(protection, ",") {
		switch v = strings.ToLower(strings.TrimSpace(v)); v {
		case "":
		case "authentication", "integrity", "privacy":
			have[v] = true
		default:
			return nil, fmt.Errorf("datatransfer: dfs.data.transfer.protection %q: %q is not one of authentication, integrity, privacy", protection, v)
		}
	}
	var out []string
	for _, lv := range [][2]string{{"privacy", "auth-conf"}, {"integrity", "auth-int"}, {"authentication", "auth"}} {
		if have[lv[0]] {
			out = append(out, lv[1])
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("datatransfer: dfs.data.transfer.protection is empty")
	}
	return out, nil
}

// Dialer opens DataNode connections that run the SASL handshake before their first
// operation.
type Dialer struct {
	// Dial opens the TCP connection; net.Dialer when nil.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// QOP lists the acceptable qualities of protection, strongest first (see QOPs).
	QOP []string
	// HandshakeTimeout bounds the handshake (60 s when 0).
	HandshakeTimeout time.Duration
	// SkipPrivilegedPorts leaves connections to DataNodes on ports below 1024 plain, as
	// Hadoop's client does: such DataNodes were started as root and authenticate by port.
	SkipPrivilegedPorts bool
}

// DialContext dials addr. The handshake runs when the first operation is written.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if len(d.QOP) == 0 {
		return nil, errors.New("datatransfer: Dialer.QOP is empty")
	}
	dial := d.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok && d.SkipPrivilegedPorts && a.Port < 1024 {
		return nc, nil
	}
	to := d.HandshakeTimeout
	if to == 0 {
		to = 60 * time.Second
	}
	return &Conn{nc: nc, br: bufio.NewReader(nc), addr: addr, qops: d.QOP, timeout: to, ready: make(chan struct{})}, nil
}

// Conn is a DataNode connection protected after its first operation's handshake.
type Conn struct {
	nc      net.Conn
	br      *bufio.Reader
	addr    string
	qops    []string
	timeout time.Duration

	wmu     sync.Mutex
	op      []byte // the first operation, until it is whole
	started bool
	werr    error

	ready chan struct{} // closed when the handshake ended
	layer ipc.SecurityLayer
	qop   string
	herr  error

	dmu    sync.Mutex
	rdl    time.Time // deadlines the user set, restored after the handshake
	wdl    time.Time
	rmu    sync.Mutex
	unread bytes.Buffer
}

// QOP is the negotiated quality of protection, "" before the handshake.
func (c *Conn) QOP() string {
	select {
	case <-c.ready:
		return c.qop
	default:
		return ""
	}
}

func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if c.started {
		if err := c.send(p); err != nil {
			c.werr = err
			return 0, err
		}
		return len(p), nil
	}
	c.op = append(c.op, p...)
	tok, whole, err := parseOp(c.op)
	if err == nil && !whole {
		return len(p), nil
	}
	c.started = true
	if err == nil {
		err = c.handshake(tok)
	}
	c.herr = err
	close(c.ready)
	if err == nil {
		err = c.send(c.op)
	}
	c.op = nil
	if err != nil {
		c.werr = err
		return 0, err
	}
	return len(p), nil
}

// send writes p, wrapped in chunks when the QOP is integrity or privacy.
func (c *Conn) send(p []byte) error {
	if c.layer == nil {
		_, err := c.nc.Write(p)
		return err
	}
	for len(p) > 0 {
		n := min(len(p), chunk)
		w, err := c.layer.Wrap(p[:n])
		if err != nil {
			return fmt.Errorf("datatransfer: wrapping for %s: %w", c.addr, err)
		}
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(w)))
		bufs := net.Buffers{hdr[:], w} // one writev, no copy of the chunk
		if _, err := bufs.WriteTo(c.nc); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (c *Conn) Read(p []byte) (int, error) {
	select {
	case <-c.ready:
	default:
		return 0, errors.New("datatransfer: read before the first operation was written")
	}
	if c.herr != nil {
		return 0, c.herr
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.layer == nil {
		return c.br.Read(p)
	}
	for c.unread.Len() == 0 {
		var hdr [4]byte
		if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
			return 0, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxWrapped {
			return 0, malformed("%s sent a wrapped chunk of %d bytes (limit %d)", c.addr, n, maxWrapped)
		}
		w := make([]byte, n)
		if _, err := io.ReadFull(c.br, w); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, malformed("%s closed the connection inside a wrapped chunk of %d bytes", c.addr, n)
			}
			return 0, err
		}
		u, err := c.layer.Unwrap(w)
		if err != nil {
			return 0, fmt.Errorf("datatransfer: from %s: %w", c.addr, err)
		}
		c.unread.Write(u)
	}
	return c.unread.Read(p)
}

// parseOp returns the block token of a whole first operation; whole is false while more
// bytes are needed.
func parseOp(b []byte) (tok *commonpb.Token, whole bool, err error) {
	if len(b) < 4 {
		return nil, false, nil
	}
	if v := binary.BigEndian.Uint16(b); v != Version {
		return nil, false, malformed("the first operation has data transfer version %d, want %d", v, Version)
	}
	code := b[2]
	n, vlen := protowire.ConsumeVarint(b[3:])
	if vlen < 0 {
		if len(b) < 3+binary.MaxVarintLen64 {
			return nil, false, nil
		}
		return nil, false, malformed("operation %d: bad length varint", code)
	}
	if n > maxOp {
		return nil, false, malformed("operation %d of %d bytes exceeds %d", code, n, maxOp)
	}
	if len(b) < 3+vlen+int(n) {
		return nil, false, nil
	}
	body := b[3+vlen : 3+vlen+int(n)]
	switch code {
	case OpWriteBlock, OpReadBlock, OpTransferBlock:
		m := &hdfspb.OpWithClientHeaderProto{}
		if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(body, m); err != nil {
			return nil, false, malformed("operation %d: %v", code, err)
		}
		tok = m.GetHeader().GetBaseHeader().GetToken()
	case OpBlockChecksum, OpBlockGroupChecksum:
		m := &hdfspb.OpWithBaseHeaderProto{}
		if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(body, m); err != nil {
			return nil, false, malformed("operation %d: %v", code, err)
		}
		tok = m.GetHeader().GetToken()
	default:
		return nil, false, malformed("operation %d is not one the SASL dialer knows how to authenticate", code)
	}
	if len(tok.GetIdentifier()) == 0 {
		return nil, false, fmt.Errorf("datatransfer: operation %d carries no block access token, which SASL data transfer protection needs (is dfs.block.access.token.enable on?)", code)
	}
	return tok, true, nil
}

// handshake runs SASL DIGEST-MD5 with the block token, as Hadoop's SaslDataTransferClient
// does: magic number, an empty first message, the challenge and our response, then the
// server's rspauth.
func (c *Conn) handshake(tok *commonpb.Token) error {
	c.dmu.Lock()
	rdl, wdl := c.rdl, c.wdl
	c.dmu.Unlock()
	limit := time.Now().Add(c.timeout)
	c.nc.SetReadDeadline(earliest(rdl, limit))
	c.nc.SetWriteDeadline(earliest(wdl, limit))
	defer func() {
		c.dmu.Lock()
		c.nc.SetReadDeadline(c.rdl)
		c.nc.SetWriteDeadline(c.wdl)
		c.dmu.Unlock()
	}()

	mech := ipc.NewDigestMD5(tok, saslProtocol, saslServerID, c.qops)
	first := binary.BigEndian.AppendUint32(nil, saslMagic)
	first, err := appendMessage(first, &hdfspb.DataTransferEncryptorMessageProto{
		Status: hdfspb.DataTransferEncryptorMessageProto_SUCCESS.Enum(), Payload: []byte{}})
	if err != nil {
		return err
	}
	if _, err := c.nc.Write(first); err != nil {
		return fmt.Errorf("datatransfer: SASL handshake with %s: %w", c.addr, err)
	}
	challenge, err := c.readMessage()
	if err != nil {
		return err
	}
	resp, err := mech.Step(challenge)
	if err != nil {
		return fmt.Errorf("datatransfer: SASL handshake with %s: %w", c.addr, err)
	}
	second, err := appendMessage(nil, &hdfspb.DataTransferEncryptorMessageProto{
		Status: hdfspb.DataTransferEncryptorMessageProto_SUCCESS.Enum(), Payload: resp})
	if err != nil {
		return err
	}
	if _, err := c.nc.Write(second); err != nil {
		return fmt.Errorf("datatransfer: SASL handshake with %s: %w", c.addr, err)
	}
	final, err := c.readMessage()
	if err != nil {
		return err
	}
	layer, err := mech.Finish(final)
	if err != nil {
		return fmt.Errorf("datatransfer: SASL handshake with %s: %w", c.addr, err)
	}
	c.layer = layer
	c.qop = mech.(interface{ QOP() string }).QOP()
	return nil
}

func earliest(a, b time.Time) time.Time {
	if !a.IsZero() && a.Before(b) {
		return a
	}
	return b
}

func appendMessage(b []byte, m proto.Message) ([]byte, error) {
	raw, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(protowire.AppendVarint(b, uint64(len(raw))), raw...), nil
}

// readMessage reads one handshake message and returns its payload, or the DataNode's error.
func (c *Conn) readMessage() ([]byte, error) {
	n, err := binary.ReadUvarint(c.br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("datatransfer: %s closed the connection during the SASL handshake (does it expect dfs.data.transfer.protection?): %w", c.addr, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, malformed("%s closed the connection inside a handshake message", c.addr)
		}
		var ne net.Error
		if errors.As(err, &ne) {
			return nil, fmt.Errorf("datatransfer: SASL handshake with %s: %w", c.addr, err)
		}
		return nil, malformed("%s: handshake message length: %v", c.addr, err)
	}
	if n > maxHandshakeMessage {
		return nil, malformed("%s sent a handshake message of %d bytes (limit %d)", c.addr, n, maxHandshakeMessage)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(c.br, raw); err != nil {
		return nil, malformed("%s closed the connection inside a %d-byte handshake message", c.addr, n)
	}
	m := &hdfspb.DataTransferEncryptorMessageProto{}
	if err := proto.Unmarshal(raw, m); err != nil {
		return nil, malformed("%s: handshake message: %v", c.addr, err)
	}
	switch m.GetStatus() {
	case hdfspb.DataTransferEncryptorMessageProto_SUCCESS:
		return m.GetPayload(), nil
	case hdfspb.DataTransferEncryptorMessageProto_ERROR_UNKNOWN_KEY:
		return nil, fmt.Errorf("datatransfer: %s does not know the data encryption key: %s", c.addr, m.GetMessage())
	}
	if m.GetAccessTokenError() {
		return nil, fmt.Errorf("datatransfer: %s: %w: %s", c.addr, ErrBlockToken, m.GetMessage())
	}
	return nil, fmt.Errorf("datatransfer: %s refused the SASL handshake: %s", c.addr, m.GetMessage())
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// LocalAddr is the local address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr is the DataNode's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.rdl, c.wdl = t, t
	return c.nc.SetDeadline(t)
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.rdl = t
	return c.nc.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.wdl = t
	return c.nc.SetWriteDeadline(t)
}
