package krb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/hadoop/krb/krbtest"
	"github.com/stoke-run/stoke/internal/testutil"
)

// gssNameNode is a fake NameNode that authenticates clients with SASL GSSAPI (the test's
// acceptor) at one offered layer, keeps every byte it receives, and answers each call with
// "reply-" and the request's effective user, wrapped as the security layer says.
type gssNameNode struct {
	t      *testing.T
	kt     *keytab.Keytab
	layers byte
	ln     net.Listener

	mu      sync.Mutex
	wire    bytes.Buffer // every byte both ways
	users   []string     // connection contexts' users
	reals   []string     // and their real users ("" when none was sent)
	methods []string
	errs    []error
}

func (s *gssNameNode) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

func (s *gssNameNode) serve() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer nc.Close()
			if err := s.conn(nc); err != nil && !errors.Is(err, io.EOF) {
				s.fail(err)
			}
		}()
	}
}

// rw records both directions of a connection.
type rw struct {
	nc net.Conn
	s  *gssNameNode
}

func (r rw) Read(p []byte) (int, error) {
	n, err := r.nc.Read(p)
	r.s.mu.Lock()
	r.s.wire.Write(p[:n])
	r.s.mu.Unlock()
	return n, err
}

func (r rw) Write(p []byte) (int, error) {
	r.s.mu.Lock()
	r.s.wire.Write(p)
	r.s.mu.Unlock()
	return r.nc.Write(p)
}

func readPkt(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	p := make([]byte, binary.BigEndian.Uint32(n[:]))
	_, err := io.ReadFull(r, p)
	return p, err
}

func packet(msgs ...proto.Message) []byte {
	var body []byte
	for _, m := range msgs {
		b, _ := proto.Marshal(m)
		body = protowire.AppendVarint(body, uint64(len(b)))
		body = append(body, b...)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func split(p []byte) (parts [][]byte, err error) {
	for len(p) > 0 {
		n, k := protowire.ConsumeVarint(p)
		if k < 0 || uint64(len(p)-k) < n {
			return nil, errors.New("bad delimited message")
		}
		parts, p = append(parts, p[k:k+int(n)]), p[k+int(n):]
	}
	return parts, nil
}

func saslReply(m *commonpb.RpcSasl) []byte {
	return packet(&commonpb.RpcResponseHeader{CallId: proto.Uint32(0xFFFFFFDF), Status: commonpb.RpcResponseHeader_SUCCESS.Enum()}, m)
}

// readSASL reads one client packet that must be a SASL message.
func readSASL(r io.Reader) (*commonpb.RpcSasl, error) {
	p, err := readPkt(r)
	if err != nil {
		return nil, err
	}
	parts, err := split(p)
	if err != nil || len(parts) != 2 {
		return nil, fmt.Errorf("client packet of %d parts (%v)", len(parts), err)
	}
	h := &commonpb.RpcRequestHeader{}
	m := &commonpb.RpcSasl{}
	if err := proto.Unmarshal(parts[0], h); err != nil {
		return nil, err
	}
	if h.GetCallId() != -33 {
		return nil, fmt.Errorf("client packet with call id %d outside the SASL layer", h.GetCallId())
	}
	return m, proto.Unmarshal(parts[1], m)
}

func (s *gssNameNode) conn(nc net.Conn) error {
	c := rw{nc: nc, s: s}
	pre := make([]byte, 7)
	if _, err := io.ReadFull(c, pre); err != nil {
		return err
	}
	if !bytes.Equal(pre, []byte{'h', 'r', 'p', 'c', 9, 0, 0xDF}) {
		return fmt.Errorf("preamble %x", pre)
	}
	if m, err := readSASL(c); err != nil || m.GetState() != commonpb.RpcSasl_NEGOTIATE {
		return fmt.Errorf("want NEGOTIATE: %v %v", m, err)
	}
	auth := &commonpb.RpcSasl_Auth{Method: proto.String("KERBEROS"), Mechanism: proto.String("GSSAPI"), Protocol: proto.String("nn"), ServerId: proto.String("localhost")}
	c.Write(saslReply(&commonpb.RpcSasl{State: commonpb.RpcSasl_NEGOTIATE.Enum(), Auths: []*commonpb.RpcSasl_Auth{auth}}))
	init, err := readSASL(c)
	if err != nil || init.GetState() != commonpb.RpcSasl_INITIATE {
		return fmt.Errorf("want INITIATE: %v %v", init, err)
	}
	acc := &acceptor{t: s.t, kt: s.kt, layers: s.layers}
	c.Write(saslReply(&commonpb.RpcSasl{State: commonpb.RpcSasl_CHALLENGE.Enum(), Token: acc.accept(init.GetToken())}))
	if _, err := readSASL(c); err != nil {
		return err
	}
	c.Write(saslReply(&commonpb.RpcSasl{State: commonpb.RpcSasl_CHALLENGE.Enum(), Token: acc.offer()}))
	choice, err := readSASL(c)
	if err != nil {
		return err
	}
	layer, _, err := acc.ctx.Unwrap(choice.GetToken())
	if err != nil || len(layer) != 4 {
		return fmt.Errorf("layer choice: %v", err)
	}
	c.Write(saslReply(&commonpb.RpcSasl{State: commonpb.RpcSasl_SUCCESS.Enum()}))
	sealed := layer[0] == layerPrivacy
	plain := layer[0] == layerNone
	var in bytes.Buffer // unwrapped client packets not yet handled
	for {
		var pkt []byte
		if plain {
			if pkt, err = readPkt(c); err != nil {
				return err
			}
		} else {
			if in.Len() == 0 {
				m, err := readSASL(c)
				if err != nil {
					return err
				}
				if m.GetState() != commonpb.RpcSasl_WRAP {
					return fmt.Errorf("SASL %v after the handshake", m.GetState())
				}
				u, gotSealed, err := acc.ctx.Unwrap(m.GetToken())
				if err != nil || gotSealed != sealed {
					return fmt.Errorf("client token (sealed %v): %v", gotSealed, err)
				}
				in.Write(u)
			}
			if pkt, err = readPkt(&in); err != nil {
				return fmt.Errorf("unwrapped client data: %v", err)
			}
		}
		parts, err := split(pkt)
		if err != nil || len(parts) < 2 {
			return fmt.Errorf("client packet: %v", err)
		}
		h := &commonpb.RpcRequestHeader{}
		proto.Unmarshal(parts[0], h)
		if h.GetCallId() == -3 {
			cc := &commonpb.IpcConnectionContext{}
			proto.Unmarshal(parts[1], cc)
			s.mu.Lock()
			s.users = append(s.users, cc.GetUserInfo().GetEffectiveUser())
			s.reals = append(s.reals, cc.GetUserInfo().GetRealUser())
			s.mu.Unlock()
			continue
		}
		rh := &commonpb.RequestHeader{}
		req := &commonpb.UserInformation{}
		if len(parts) != 3 || proto.Unmarshal(parts[1], rh) != nil || proto.Unmarshal(parts[2], req) != nil {
			return fmt.Errorf("call %d: %d parts", h.GetCallId(), len(parts))
		}
		s.mu.Lock()
		s.methods = append(s.methods, rh.GetMethodName())
		s.mu.Unlock()
		resp := packet(&commonpb.RpcResponseHeader{CallId: proto.Uint32(uint32(h.GetCallId())), Status: commonpb.RpcResponseHeader_SUCCESS.Enum()},
			&commonpb.UserInformation{EffectiveUser: proto.String("reply-" + req.GetEffectiveUser())})
		if !plain {
			tok, err := acc.ctx.Wrap(resp, sealed)
			if err != nil {
				return err
			}
			resp = saslReply(&commonpb.RpcSasl{State: commonpb.RpcSasl_WRAP.Enum(), Token: tok})
		}
		c.Write(resp)
	}
}

// A client that speaks only SIMPLE runs its calls through a Tunnel authenticated with a
// Kerberos login (as fsx does for colinmarc/hdfs): the server sees the login's principal,
// not the inner client's user; at integrity and privacy every packet after the handshake is
// a WRAP token both ways (the fake server refuses anything else), and at privacy neither the
// request nor the reply nor the user appears on the wire. At auth (the control) they do.
func TestTunnelGSSAPI(t *testing.T) {
	_, l, kt := setupGSS(t)
	for _, tc := range []struct {
		qop    string
		layers byte
	}{{"auth-conf", layerPrivacy}, {"auth-int", layerIntegrity}, {"auth", layerNone}} {
		t.Run(tc.qop, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			s := &gssNameNode{t: t, kt: kt, layers: tc.layers, ln: ln}
			go s.serve()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			auth := &GSSAPIAuth{Login: l, ServerPrincipal: "nn/_HOST@" + krbtest.Realm}
			tunnels := 0
			dial := func(ctx context.Context, _, addr string) (net.Conn, error) {
				tunnels++
				return ipc.Tunnel(ctx, addr, ipc.Config{Protocol: ipc.ClientNamenodeProtocol, Auth: []ipc.Authenticator{auth}})
			}
			cl, err := ipc.NewClient([]string{"localhost:" + port}, ipc.Config{Protocol: ipc.ClientNamenodeProtocol, User: "mallory", Dial: dial})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), testutil.D(20*time.Second))
			defer cancel()
			for _, secret := range []string{"/very-secret-path-1", strings.Repeat("/big-secret", 20000), "/very-secret-path-3"} {
				var resp commonpb.UserInformation
				if err := cl.Call(ctx, "getFileInfo", &commonpb.UserInformation{EffectiveUser: proto.String(secret)}, &resp); err != nil {
					s.mu.Lock()
					t.Fatalf("call through the tunnel: %v (server: %v)", err, s.errs)
				}
				if resp.GetEffectiveUser() != "reply-"+secret {
					t.Fatalf("reply %.40q", resp.GetEffectiveUser())
				}
			}
			if tunnels != 1 {
				t.Fatalf("%d tunnels dialled, want 1", tunnels)
			}
			cl.Close()
			ln.Close()
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.errs) > 0 {
				t.Fatalf("server: %v", s.errs)
			}
			if len(s.users) != 1 || s.users[0] != l.Principal() || strings.Join(s.methods, ",") != "getFileInfo,getFileInfo,getFileInfo" {
				t.Fatalf("server saw users %q, methods %q; want one context of %s", s.users, s.methods, l.Principal())
			}
			wire := s.wire.Bytes()
			for _, plain := range []string{"very-secret-path", "reply-/very", "getFileInfo", ipc.ClientNamenodeProtocol, l.Principal(), "mallory"} {
				visible := bytes.Contains(wire, []byte(plain))
				switch {
				case tc.qop == "auth-conf" && visible:
					t.Errorf("privacy: %q on the wire", plain)
				case tc.qop == "auth" && !visible && plain != "mallory":
					t.Errorf("auth (the control): %q not on the wire", plain)
				case plain == "mallory" && visible:
					t.Errorf("the inner client's user reached the server")
				}
			}
		})
	}
}

// With ProxyUser, a Kerberos connection (through a Tunnel, as fsx makes them, and a direct
// one, as the YARN client's RM and NameNode calls are) names the proxy user as the effective
// user and sends no real user, as Java's client does for a proxy UGI: the server takes the
// authenticated principal as the real user and checks hadoop.proxyuser.* itself.
func TestGSSAPIProxyUser(t *testing.T) {
	_, l, kt := setupGSS(t)
	for _, tunnel := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := &gssNameNode{t: t, kt: kt, layers: layerPrivacy, ln: ln}
		go s.serve()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		auth := &GSSAPIAuth{Login: l, ServerPrincipal: "nn/_HOST@" + krbtest.Realm, ProxyUser: "alice"}
		cfg := ipc.Config{Protocol: ipc.ClientNamenodeProtocol, Auth: []ipc.Authenticator{auth}}
		if tunnel {
			cfg = ipc.Config{Protocol: ipc.ClientNamenodeProtocol, User: "mallory", Dial: func(ctx context.Context, _, addr string) (net.Conn, error) {
				return ipc.Tunnel(ctx, addr, ipc.Config{Protocol: ipc.ClientNamenodeProtocol, Auth: []ipc.Authenticator{auth}})
			}}
		}
		cl, err := ipc.NewClient([]string{"localhost:" + port}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testutil.D(20*time.Second))
		var resp commonpb.UserInformation
		err = cl.Call(ctx, "getFileInfo", &commonpb.UserInformation{EffectiveUser: proto.String("/p")}, &resp)
		cancel()
		cl.Close()
		ln.Close()
		if err != nil {
			t.Fatalf("tunnel %v: %v", tunnel, err)
		}
		s.mu.Lock()
		if len(s.users) != 1 || s.users[0] != "alice" || s.reals[0] != "" {
			t.Fatalf("tunnel %v: the server saw effective users %q, real users %q; want alice and none", tunnel, s.users, s.reals)
		}
		s.mu.Unlock()
	}
}
