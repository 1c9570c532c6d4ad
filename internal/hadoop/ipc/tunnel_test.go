package ipc_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/hadoop/ipc/ipctest"
)

func tunnelTo(s *ipctest.Server, qop []string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	auth := &ipc.TokenAuth{Tokens: []*commonpb.Token{token("dt-id", "dt-pw", "HDFS_DELEGATION_TOKEN", s.Addr())}, QOP: qop}
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		return ipc.Tunnel(ctx, s.Addr(), ipc.Config{Protocol: proto1, Auth: []ipc.Authenticator{auth}})
	}
}

// A client that speaks only SIMPLE (here Stoke's own, without credentials) runs its calls
// through the tunnel: the server sees TOKEN authentication and no user from the inner
// client, and large requests and responses survive wrapping.
func TestTunnel(t *testing.T) {
	for _, qop := range []string{"auth", "auth-int"} {
		t.Run(qop, func(t *testing.T) {
			s := startServer(t, &ipctest.Server{Tokens: map[string][]byte{"dt-id": []byte("dt-pw")}, QOP: qop, Handler: echo})
			cl := newClient(t, ipc.Config{User: "mallory", Dial: tunnelTo(s, nil)}, s.Addr())
			for _, u := range []string{"one", strings.Repeat("big", 100000), "three"} {
				if err := call(t, cl, u); err != nil {
					t.Fatal(err)
				}
			}
			calls := s.Calls()
			if len(calls) != 3 {
				t.Fatalf("server saw %d calls, want 3", len(calls))
			}
			for _, c := range calls {
				if c.AuthMethod != "TOKEN" || c.User != "" || c.Protocol != proto1 {
					t.Fatalf("call = %+v; want TOKEN auth, no user, protocol %s", c, proto1)
				}
			}
		})
	}
}

// A server error sent in the clear after SASL reaches the inner client as is.
func TestTunnelRemoteError(t *testing.T) {
	s := startServer(t, &ipctest.Server{Tokens: map[string][]byte{"dt-id": []byte("dt-pw")}, QOP: "auth-int",
		Handler: func(ipctest.Call) (proto.Message, error) {
			return nil, &ipctest.Exception{Class: "org.apache.hadoop.security.token.SecretManager$InvalidToken", Message: "token expired"}
		}})
	cl := newClient(t, ipc.Config{Dial: tunnelTo(s, nil)}, s.Addr())
	err := call(t, cl, "x")
	if !ipc.IsRemote(err, "org.apache.hadoop.security.token.SecretManager$InvalidToken") {
		t.Fatalf("err = %v", err)
	}
}

// The tunnel fails when it cannot authenticate: no token for the server, a wrong password,
// or a QOP the server does not offer.
func TestTunnelAuthFailures(t *testing.T) {
	s := startServer(t, &ipctest.Server{Tokens: map[string][]byte{"dt-id": []byte("other")}, QOP: "auth"})
	ctx := context.Background()
	_, err := tunnelTo(s, nil)(ctx, "tcp", s.Addr())
	if !ipc.IsRemote(err, "javax.security.sasl.SaslException") {
		t.Fatalf("wrong password: %v", err)
	}
	_, err = tunnelTo(s, []string{"auth-conf"})(ctx, "tcp", s.Addr())
	if err == nil || !strings.Contains(err.Error(), "hadoop.rpc.protection") {
		t.Fatalf("qop mismatch: %v", err)
	}
	none := &ipc.TokenAuth{Tokens: []*commonpb.Token{token("dt-id", "x", "HDFS_DELEGATION_TOKEN", "10.9.9.9:8020")}}
	_, err = ipc.Tunnel(ctx, s.Addr(), ipc.Config{Protocol: proto1, Auth: []ipc.Authenticator{none}})
	if err == nil || !strings.Contains(err.Error(), "no usable SASL method") {
		t.Fatalf("no token for the server: %v", err)
	}
}

func packet(parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = protowire.AppendVarint(body, uint64(len(p)))
		body = append(body, p...)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func rpcHeader(t *testing.T, id int32) []byte {
	b, err := proto.Marshal(&commonpb.RpcRequestHeader{CallId: proto.Int32(id), ClientId: []byte{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// What the inner client writes is checked: it must be a SIMPLE client that starts with
// its connection context, in packets of sane size. The error is kept for later writes.
func TestTunnelMalformedInnerClient(t *testing.T) {
	s := startServer(t, &ipctest.Server{Tokens: map[string][]byte{"dt-id": []byte("dt-pw")}, Handler: echo})
	simple := []byte{'h', 'r', 'p', 'c', 9, 0, 0}
	for _, tc := range []struct {
		name   string
		writes [][]byte
		want   string
	}{
		{"sasl preamble", [][]byte{{'h', 'r', 'p', 'c', 9, 0, 0xDF}}, "without SASL"},
		{"old version", [][]byte{{'h', 'r', 'p', 'c', 7, 0, 0}}, "preamble"},
		{"not hrpc", [][]byte{[]byte("GET / HTTP/1.1\r\n")}, "preamble"},
		{"call before context", [][]byte{simple, packet(rpcHeader(t, 0), []byte{})}, "want the connection context"},
		{"garbage header", [][]byte{simple, packet([]byte{0xff, 0xff})}, "malformed"},
		{"oversized", [][]byte{simple, {0x7f, 0xff, 0xff, 0xff}}, "exceeds"},
		{"byte by byte", splitBytes(append(append([]byte{}, simple...), packet(rpcHeader(t, 1))...)), "want the connection context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := tunnelTo(s, nil)(context.Background(), "tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			var werr error
			for _, w := range tc.writes {
				if _, werr = nc.Write(w); werr != nil {
					break
				}
			}
			if werr == nil || !errors.Is(werr, ipc.ErrMalformed) || !strings.Contains(werr.Error(), tc.want) {
				t.Fatalf("write error = %v, want ErrMalformed mentioning %q", werr, tc.want)
			}
			if _, err := nc.Write([]byte{0}); err == nil {
				t.Fatal("a write after the error succeeded")
			}
		})
	}
}

func splitBytes(b []byte) [][]byte {
	var out [][]byte
	for i := range b {
		out = append(out, b[i:i+1])
	}
	return out
}
