package ipc

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

// Tunnel dials addr, authenticates with cfg.Auth (a delegation token over DIGEST-MD5, or a
// Kerberos login over GSSAPI) and sends the connection context, then hands the connection
// to another Hadoop RPC client that speaks only SIMPLE, as if it had just dialled:
// colinmarc/hdfs, which cannot authenticate with a token and whose Kerberos transport sends
// its requests unwrapped, runs its NameNode calls through it. That client's preamble and
// connection context are checked and dropped (the server already has Stoke's); after that
// its request packets are wrapped, and the server's responses unwrapped, when the
// negotiated QOP is integrity or privacy.
func Tunnel(ctx context.Context, addr string, cfg Config) (net.Conn, error) {
	c, err := Dial(ctx, addr, cfg)
	if err != nil {
		return nil, err
	}
	return &tunnel{c: c}, nil
}

// Tunnel states: what the inner client must send next.
const (
	tunnelPreamble = iota
	tunnelContext
	tunnelCalls
)

type tunnel struct {
	c *Conn

	wmu   sync.Mutex
	state int
	in    []byte // written by the inner client, not yet a whole packet
	werr  error

	rmu sync.Mutex
	out bytes.Buffer // whole packets for the inner client, length-prefixed
}

// maxTunnelRequest bounds one request packet of the inner client (Hadoop's server default
// for ipc.maximum.data.length is 128 MiB).
const maxTunnelRequest = 128 << 20

func (t *tunnel) Write(p []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.werr != nil {
		return 0, t.werr
	}
	t.in = append(t.in, p...)
	for {
		var err error
		more := false
		switch t.state {
		case tunnelPreamble:
			if len(t.in) < 7 {
				return len(p), nil
			}
			if want := preamble(authProtocolNone); !bytes.Equal(t.in[:7], want) {
				err = malformed("tunnel to %s: the client's preamble is %x, want %x (Hadoop RPC v9 without SASL)", t.c.addr, t.in[:7], want)
				break
			}
			t.in, t.state, more = t.in[7:], tunnelContext, true
		default:
			var pkt []byte
			if pkt, err = t.nextPacket(); err != nil || pkt == nil {
				break
			}
			more = true
			if t.state == tunnelContext {
				err = t.checkContext(pkt)
				t.state = tunnelCalls
				break
			}
			err = t.c.writeRaw(pkt)
		}
		if err != nil {
			t.werr = err
			return 0, err
		}
		if !more {
			return len(p), nil
		}
	}
}

// nextPacket takes one whole length-prefixed packet off t.in, nil when it is incomplete.
func (t *tunnel) nextPacket() ([]byte, error) {
	if len(t.in) < 4 {
		return nil, nil
	}
	n := binary.BigEndian.Uint32(t.in)
	if n > maxTunnelRequest {
		return nil, malformed("tunnel to %s: the client's packet of %d bytes exceeds %d", t.c.addr, n, maxTunnelRequest)
	}
	if len(t.in) < 4+int(n) {
		return nil, nil
	}
	pkt := t.in[: 4+n : 4+n]
	t.in = t.in[4+n:]
	return pkt, nil
}

// checkContext makes sure the inner client's first packet is its connection context.
func (t *tunnel) checkContext(pkt []byte) error {
	hdr, _, err := nextDelimited(pkt[4:], "request header")
	if err != nil {
		return err
	}
	h := &commonpb.RpcRequestHeader{}
	if err := proto.Unmarshal(hdr, h); err != nil {
		return malformed("tunnel to %s: the client's first request header: %v", t.c.addr, err)
	}
	if h.GetCallId() != callIDConnectionContext {
		return malformed("tunnel to %s: the client's first packet has call id %d, want the connection context (%d)", t.c.addr, h.GetCallId(), callIDConnectionContext)
	}
	return nil
}

func (t *tunnel) Read(p []byte) (int, error) {
	t.rmu.Lock()
	defer t.rmu.Unlock()
	if t.c.layer == nil {
		return t.c.br.Read(p)
	}
	for t.out.Len() == 0 {
		if err := t.fill(); err != nil {
			return 0, err
		}
	}
	return t.out.Read(p)
}

// fill moves what the next server packet holds to t.out: the packets a WRAP token carries,
// or the packet itself when the server sent it in the clear (a fatal error, say), so that
// the inner client decodes it.
func (t *tunnel) fill() error {
	if t.c.pending.Len() > 0 {
		t.out.ReadFrom(&t.c.pending)
		return nil
	}
	pkt, err := readPacket(t.c.br, t.c.cfg.MaxResponseLength)
	if err != nil {
		return err
	}
	h, body, err := decodeResponse(pkt)
	if err != nil {
		return err
	}
	if responseCallID(h) != callIDSASL {
		t.out.Write(binary.BigEndian.AppendUint32(nil, uint32(len(pkt))))
		t.out.Write(pkt)
		return nil
	}
	m := &commonpb.RpcSasl{}
	if err := decodeBody(body, m); err != nil {
		return err
	}
	if m.GetState() != commonpb.RpcSasl_WRAP {
		return malformed("tunnel from %s: expected a SASL WRAP packet, got %v", t.c.addr, m.GetState())
	}
	u, err := t.c.layer.Unwrap(m.GetToken())
	if err != nil {
		return fmt.Errorf("ipc: tunnel from %s: %w", t.c.addr, err)
	}
	t.out.Write(u)
	return nil
}

func (t *tunnel) Close() error                       { return t.c.Close() }
func (t *tunnel) LocalAddr() net.Addr                { return t.c.nc.LocalAddr() }
func (t *tunnel) RemoteAddr() net.Addr               { return t.c.nc.RemoteAddr() }
func (t *tunnel) SetDeadline(d time.Time) error      { return t.c.nc.SetDeadline(d) }
func (t *tunnel) SetReadDeadline(d time.Time) error  { return t.c.nc.SetReadDeadline(d) }
func (t *tunnel) SetWriteDeadline(d time.Time) error { return t.c.nc.SetWriteDeadline(d) }
