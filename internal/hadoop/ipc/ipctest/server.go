package ipctest

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

// Call is one request the server received.
type Call struct {
	Conn       int    // connection number, from 1
	Method     string // "" for pings
	Protocol   string
	User       string // effective user of the connection context
	AuthMethod string // SIMPLE or TOKEN
	CallID     int32
	RetryCount int32
	Body       []byte // the encoded request message
	Ping       bool
}

// Exception is a server-side failure returned to the client.
type Exception struct {
	Class, Message string
	Fatal          bool
}

func (e *Exception) Error() string { return e.Class + ": " + e.Message }

// ErrDrop makes the server close the connection instead of answering.
var ErrDrop = errors.New("ipctest: drop connection")

// Handler answers a call with a response message, an *Exception, or ErrDrop.
type Handler func(c Call) (proto.Message, error)

// Server is a fake Hadoop RPC server.
type Server struct {
	// Handler answers calls; nil answers every call with an empty message.
	Handler Handler
	// Tokens maps a token identifier to its password; when non-empty the server offers TOKEN
	// (DIGEST-MD5) in SASL negotiation.
	Tokens map[string][]byte
	// AllowSimple lets clients in without SASL (and offers SIMPLE in negotiation).
	AllowSimple bool
	// QOP is offered in the DIGEST-MD5 challenge: "auth" (default) or "auth-int".
	QOP string

	ln    net.Listener
	mu    sync.Mutex
	calls []Call
	conns int
	open  map[net.Conn]bool
	wg    sync.WaitGroup
}

// Start listens on a local port and serves until Close.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.ln = ln
	s.open = map[net.Conn]bool{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			n := s.conns
			s.open[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(n, c)
				c.Close()
				s.mu.Lock()
				delete(s.open, c)
				s.mu.Unlock()
			}()
		}
	}()
	return nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and closes every connection.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// DropConnections closes every open connection (as an idle timeout would).
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.open {
		c.Close()
	}
}

// Calls returns the calls received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Connections is the number of connections accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

type conn struct {
	s       *Server
	nc      net.Conn
	br      *bufio.Reader
	layer   *integrity
	pending bytes.Buffer
}

func (s *Server) serve(n int, nc net.Conn) {
	c := &conn{s: s, nc: nc, br: bufio.NewReader(nc)}
	var pre [7]byte
	if _, err := io.ReadFull(c.br, pre[:]); err != nil {
		return
	}
	if string(pre[:4]) != "hrpc" || pre[4] != 9 {
		return
	}
	auth := "SIMPLE"
	switch pre[6] {
	case 0x00:
		if !s.AllowSimple {
			c.send(&commonpb.RpcResponseHeader{CallId: proto.Uint32(0xFFFFFFFF), Status: commonpb.RpcResponseHeader_FATAL.Enum(),
				ExceptionClassName: proto.String("org.apache.hadoop.security.AccessControlException"),
				ErrorMsg:           proto.String("SIMPLE authentication is not enabled.  Available:[TOKEN]"),
				ErrorDetail:        commonpb.RpcResponseHeader_FATAL_UNAUTHORIZED.Enum()})
			return
		}
	case 0xDF:
		var err error
		if auth, err = c.sasl(); err != nil {
			return
		}
	default:
		return
	}
	user, protocol := "", ""
	for {
		p, err := c.read()
		if err != nil {
			return
		}
		h := &commonpb.RpcRequestHeader{}
		rest, err := delimited(p, h)
		if err != nil {
			return
		}
		switch h.GetCallId() {
		case -3:
			cc := &commonpb.IpcConnectionContext{}
			if _, err := delimited(rest, cc); err != nil {
				return
			}
			user, protocol = cc.GetUserInfo().GetEffectiveUser(), cc.GetProtocol()
			continue
		case -4:
			s.record(Call{Conn: n, Ping: true, CallID: -4, User: user, Protocol: protocol, AuthMethod: auth})
			continue
		}
		rh := &commonpb.RequestHeader{}
		body, err := delimited(rest, rh)
		if err != nil {
			return
		}
		raw, _, err := split(body)
		if err != nil {
			return
		}
		call := Call{Conn: n, Method: rh.GetMethodName(), Protocol: rh.GetDeclaringClassProtocolName(), User: user,
			AuthMethod: auth, CallID: h.GetCallId(), RetryCount: h.GetRetryCount(), Body: raw}
		s.record(call)
		var resp proto.Message = &commonpb.UserInformation{}
		if s.Handler != nil {
			resp, err = s.Handler(call)
		}
		var ex *Exception
		switch {
		case errors.Is(err, ErrDrop):
			return
		case errors.As(err, &ex):
			st := commonpb.RpcResponseHeader_ERROR
			if ex.Fatal {
				st = commonpb.RpcResponseHeader_FATAL
			}
			c.send(&commonpb.RpcResponseHeader{CallId: proto.Uint32(uint32(h.GetCallId())), Status: st.Enum(),
				ExceptionClassName: proto.String(ex.Class), ErrorMsg: proto.String(ex.Message),
				ErrorDetail: commonpb.RpcResponseHeader_ERROR_APPLICATION.Enum()})
			if ex.Fatal {
				return
			}
		case err != nil:
			c.send(&commonpb.RpcResponseHeader{CallId: proto.Uint32(uint32(h.GetCallId())), Status: commonpb.RpcResponseHeader_ERROR.Enum(),
				ExceptionClassName: proto.String("java.io.IOException"), ErrorMsg: proto.String(err.Error())})
		default:
			c.send(&commonpb.RpcResponseHeader{CallId: proto.Uint32(uint32(h.GetCallId())), Status: commonpb.RpcResponseHeader_SUCCESS.Enum()}, resp)
		}
	}
}

const nonce = "c3Rva2UtdGVzdC1ub25jZQ=="

func (c *conn) sasl() (string, error) {
	ds := &DigestServer{Tokens: c.s.Tokens, QOP: c.s.QOP}
	for {
		p, err := c.read()
		if err != nil {
			return "", err
		}
		h := &commonpb.RpcRequestHeader{}
		rest, err := delimited(p, h)
		if err != nil || h.GetCallId() != -33 {
			return "", fmt.Errorf("not a SASL packet")
		}
		m := &commonpb.RpcSasl{}
		if _, err := delimited(rest, m); err != nil {
			return "", err
		}
		switch m.GetState() {
		case commonpb.RpcSasl_NEGOTIATE:
			var auths []*commonpb.RpcSasl_Auth
			if len(c.s.Tokens) > 0 {
				ch := ds.Challenge()
				auths = append(auths, &commonpb.RpcSasl_Auth{Method: proto.String("TOKEN"), Mechanism: proto.String("DIGEST-MD5"),
					Protocol: proto.String(""), ServerId: proto.String("default"), Challenge: []byte(ch)})
			}
			if c.s.AllowSimple {
				auths = append(auths, &commonpb.RpcSasl_Auth{Method: proto.String("SIMPLE"), Mechanism: proto.String("")})
			}
			c.saslReply(&commonpb.RpcSasl{State: commonpb.RpcSasl_NEGOTIATE.Enum(), Auths: auths})
		case commonpb.RpcSasl_INITIATE:
			if len(m.GetAuths()) != 1 || m.GetAuths()[0].GetMethod() != "TOKEN" {
				c.saslFail("unsupported auth")
				return "", fmt.Errorf("bad INITIATE")
			}
			rspauth, layer, err := ds.Verify(m.GetToken())
			if err != nil {
				c.saslFail(err.Error())
				return "", err
			}
			c.saslReply(&commonpb.RpcSasl{State: commonpb.RpcSasl_SUCCESS.Enum(), Token: rspauth})
			if layer != nil {
				c.layer = layer.(*integrity)
			}
			return "TOKEN", nil
		default:
			c.saslFail("unexpected state")
			return "", fmt.Errorf("unexpected SASL state")
		}
	}
}

func (c *conn) saslReply(m *commonpb.RpcSasl) {
	c.send(&commonpb.RpcResponseHeader{CallId: proto.Uint32(uint32(0xFFFFFFDF)), Status: commonpb.RpcResponseHeader_SUCCESS.Enum()}, m)
}

func (c *conn) saslFail(msg string) {
	c.send(&commonpb.RpcResponseHeader{CallId: proto.Uint32(uint32(0xFFFFFFDF)), Status: commonpb.RpcResponseHeader_FATAL.Enum(),
		ExceptionClassName: proto.String("javax.security.sasl.SaslException"), ErrorMsg: proto.String(msg),
		ErrorDetail: commonpb.RpcResponseHeader_FATAL_UNAUTHORIZED.Enum()})
}

func kd(ha1 [16]byte, cnonce, qop, uri, method string) string {
	a2 := method + ":" + uri
	if qop != "auth" {
		a2 += ":00000000000000000000000000000000"
	}
	ha2 := md5.Sum([]byte(a2))
	r := md5.Sum([]byte(hex.EncodeToString(ha1[:]) + ":" + nonce + ":00000001:" + cnonce + ":" + qop + ":" + hex.EncodeToString(ha2[:])))
	return hex.EncodeToString(r[:])
}

// parse reads a DIGEST-MD5 response leniently (the client under test is checked, not this).
func parse(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.TrimSpace(strings.TrimLeft(k, ", "))
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				break
			}
			v, s = rest[1:1+end], rest[2+end:]
		} else {
			v, s, _ = strings.Cut(rest, ",")
		}
		out[k] = v
		s = strings.TrimLeft(s, ", ")
	}
	return out
}

// send writes one packet (wrapped when the integrity layer is on).
func (c *conn) send(msgs ...proto.Message) {
	b := encode(msgs...)
	if c.layer != nil {
		b = encode(&commonpb.RpcResponseHeader{CallId: proto.Uint32(uint32(0xFFFFFFDF)), Status: commonpb.RpcResponseHeader_SUCCESS.Enum()},
			&commonpb.RpcSasl{State: commonpb.RpcSasl_WRAP.Enum(), Token: c.layer.wrap(b)})
	}
	c.nc.Write(b)
}

func encode(msgs ...proto.Message) []byte {
	b := make([]byte, 4)
	for _, m := range msgs {
		raw, _ := proto.Marshal(m)
		b = protowire.AppendVarint(b, uint64(len(raw)))
		b = append(b, raw...)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// read returns the next packet (unwrapped when the integrity layer is on).
func (c *conn) read() ([]byte, error) {
	if c.layer == nil {
		return readRaw(c.br)
	}
	for c.pending.Len() == 0 {
		p, err := readRaw(c.br)
		if err != nil {
			return nil, err
		}
		h := &commonpb.RpcRequestHeader{}
		rest, err := delimited(p, h)
		if err != nil || h.GetCallId() != -33 {
			return nil, fmt.Errorf("non-wrapped request on a protected connection")
		}
		m := &commonpb.RpcSasl{}
		if _, err := delimited(rest, m); err != nil || m.GetState() != commonpb.RpcSasl_WRAP {
			return nil, fmt.Errorf("expected WRAP")
		}
		u, err := c.layer.unwrap(m.GetToken())
		if err != nil {
			return nil, err
		}
		c.pending.Write(u)
	}
	return readRaw(&c.pending)
}

func readRaw(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > 64<<20 {
		return nil, fmt.Errorf("packet too large")
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

func split(b []byte) ([]byte, []byte, error) {
	n, k := protowire.ConsumeVarint(b)
	if k < 0 || n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("bad delimited message")
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

func delimited(b []byte, m proto.Message) ([]byte, error) {
	raw, rest, err := split(b)
	if err != nil {
		return nil, err
	}
	return rest, proto.Unmarshal(raw, m)
}

// integrity is the server side of the DIGEST-MD5 auth-int layer.
type integrity struct {
	kic, kis        [16]byte
	sendSeq, rcvSeq uint32
}

func newIntegrity(ha1 [16]byte) *integrity {
	return &integrity{
		kic: md5.Sum(append(ha1[:], "Digest session key to client-to-server signing key magic constant"...)),
		kis: md5.Sum(append(ha1[:], "Digest session key to server-to-client signing key magic constant"...)),
	}
}

func mac(key []byte, seq uint32, msg []byte) []byte {
	h := hmac.New(md5.New, key)
	binary.Write(h, binary.BigEndian, seq)
	h.Write(msg)
	return h.Sum(nil)[:10]
}

func (l *integrity) wrap(p []byte) []byte {
	out := append(append([]byte(nil), p...), mac(l.kis[:], l.sendSeq, p)...)
	out = append(out, 0, 1)
	out = binary.BigEndian.AppendUint32(out, l.sendSeq)
	l.sendSeq++
	return out
}

func (l *integrity) unwrap(p []byte) ([]byte, error) {
	if len(p) < 16 {
		return nil, fmt.Errorf("short")
	}
	msg := p[:len(p)-16]
	seq := binary.BigEndian.Uint32(p[len(p)-4:])
	if seq != l.rcvSeq || !hmac.Equal(p[len(p)-16:len(p)-6], mac(l.kic[:], seq, msg)) {
		return nil, fmt.Errorf("integrity check failed")
	}
	l.rcvSeq++
	return msg, nil
}

// DigestServer is the server side of DIGEST-MD5 with token passwords, for fakes of other
// protocols that run SASL themselves (the DataNode data transfer handshake).
type DigestServer struct {
	// Tokens maps a token identifier to its password.
	Tokens map[string][]byte
	// QOP is offered in the challenge: "auth" (default) or "auth-int".
	QOP string
	// Realm is the challenge's realm ("default" when "").
	Realm string
}

// Layer is a server-side security layer.
type Layer interface {
	Wrap(p []byte) []byte
	Unwrap(p []byte) ([]byte, error)
}

// Challenge is the server's first message.
func (d *DigestServer) Challenge() []byte {
	q, r := d.QOP, d.Realm
	if q == "" {
		q = "auth"
	}
	if r == "" {
		r = "default"
	}
	return []byte(fmt.Sprintf(`realm="%s",nonce="%s",qop="%s",charset=utf-8,algorithm=md5-sess`, r, nonce, q))
}

// Verify checks the client's response to Challenge. It returns the server's final message
// (rspauth) and, for auth-int, the security layer.
func (d *DigestServer) Verify(resp []byte) (rspauth []byte, layer Layer, err error) {
	dirs := parse(string(resp))
	id, err := base64.StdEncoding.DecodeString(dirs["username"])
	pw, ok := d.Tokens[string(id)]
	if err != nil || !ok {
		return nil, nil, fmt.Errorf("DIGEST-MD5: unknown token")
	}
	qop, cnonce, uri := dirs["qop"], dirs["cnonce"], dirs["digest-uri"]
	if dirs["nonce"] != nonce || dirs["nc"] != "00000001" {
		return nil, nil, fmt.Errorf("DIGEST-MD5: bad nonce")
	}
	inner := md5.Sum([]byte(dirs["username"] + ":" + dirs["realm"] + ":" + base64.StdEncoding.EncodeToString(pw)))
	ha1 := md5.Sum(append(inner[:], []byte(":"+nonce+":"+cnonce)...))
	if kd(ha1, cnonce, qop, uri, "AUTHENTICATE") != dirs["response"] {
		return nil, nil, fmt.Errorf("DIGEST-MD5: mismatched response")
	}
	if qop == "auth-int" {
		layer = newIntegrity(ha1)
	}
	return []byte("rspauth=" + kd(ha1, cnonce, qop, uri, "")), layer, nil
}

// Wrap implements Layer.
func (l *integrity) Wrap(p []byte) []byte { return l.wrap(p) }

// Unwrap implements Layer.
func (l *integrity) Unwrap(p []byte) ([]byte, error) { return l.unwrap(p) }
