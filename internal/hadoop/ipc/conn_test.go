package ipc_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/hadoop/ipc/ipctest"
	"github.com/stoke-run/stoke/internal/testutil"
)

const proto1 = "org.example.TestProtocolPB"

func startServer(t *testing.T, s *ipctest.Server) *ipctest.Server {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// echo answers with the request's user info, so the body round-trips.
func echo(c ipctest.Call) (proto.Message, error) {
	var in commonpb.UserInformation
	if err := proto.Unmarshal(c.Body, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

func call(t *testing.T, cl *ipc.Client, user string) error {
	t.Helper()
	var out commonpb.UserInformation
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(10*time.Second))
	defer cancel()
	err := cl.Call(ctx, "echo", &commonpb.UserInformation{EffectiveUser: proto.String(user)}, &out)
	if err == nil && out.GetEffectiveUser() != user {
		t.Fatalf("echo returned %q, want %q", out.GetEffectiveUser(), user)
	}
	return err
}

func newClient(t *testing.T, cfg ipc.Config, addrs ...string) *ipc.Client {
	t.Helper()
	if cfg.Protocol == "" {
		cfg.Protocol = proto1
	}
	cl, err := ipc.NewClient(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl.Sleep = func(context.Context, time.Duration) error { return nil }
	t.Cleanup(func() { cl.Close() })
	return cl
}

func TestSimple(t *testing.T) {
	s := startServer(t, &ipctest.Server{AllowSimple: true, Handler: echo})
	cl := newClient(t, ipc.Config{User: "alice"}, s.Addr())
	for _, u := range []string{"a", "b", "c"} {
		if err := call(t, cl, u); err != nil {
			t.Fatal(err)
		}
	}
	calls := s.Calls()
	if len(calls) != 3 || s.Connections() != 1 {
		t.Fatalf("%d calls on %d connections, want 3 on 1", len(calls), s.Connections())
	}
	for i, c := range calls {
		if c.CallID != int32(i) || c.User != "alice" || c.Protocol != proto1 || c.AuthMethod != "SIMPLE" || c.RetryCount != -1 {
			t.Errorf("call %d = %+v", i, c)
		}
	}
}

func TestSimpleRefused(t *testing.T) {
	s := startServer(t, &ipctest.Server{Tokens: map[string][]byte{"id": []byte("pw")}})
	cl := newClient(t, ipc.Config{}, s.Addr())
	err := call(t, cl, "x")
	if !ipc.IsRemote(err, ipc.AccessControlException) || !strings.Contains(err.Error(), "SIMPLE authentication is not enabled") {
		t.Fatalf("err = %v", err)
	}
}

func token(id, pw, kind, service string) *commonpb.Token {
	return &commonpb.Token{Identifier: []byte(id), Password: []byte(pw), Kind: proto.String(kind), Service: proto.String(service)}
}

func TestTokenDigestMD5(t *testing.T) {
	for _, qop := range []string{"auth", "auth-int"} {
		t.Run(qop, func(t *testing.T) {
			s := startServer(t, &ipctest.Server{Tokens: map[string][]byte{"amrm-id": []byte("secret")}, QOP: qop, Handler: echo})
			auth := &ipc.TokenAuth{
				Tokens:     []*commonpb.Token{token("other", "x", "HDFS_DELEGATION_TOKEN", "10.0.0.1:8020"), token("amrm-id", "secret", "YARN_AM_RM_TOKEN", "")},
				Kind:       "YARN_AM_RM_TOKEN",
				AnyService: true,
			}
			cl := newClient(t, ipc.Config{User: "alice", Auth: []ipc.Authenticator{auth}}, s.Addr())
			for _, u := range []string{"one", strings.Repeat("big", 10000)} {
				if err := call(t, cl, u); err != nil {
					t.Fatal(err)
				}
			}
			if m, q := cl.Security(); m != "TOKEN" || q != qop {
				t.Fatalf("Security() = %s, %s; want TOKEN, %s", m, q, qop)
			}
			c := s.Calls()[0]
			if c.AuthMethod != "TOKEN" || c.User != "" {
				t.Fatalf("call = %+v; want TOKEN auth and no user in the context", c)
			}
		})
	}
}

func TestTokenWrongPassword(t *testing.T) {
	s := startServer(t, &ipctest.Server{Tokens: map[string][]byte{"id": []byte("right")}})
	auth := &ipc.TokenAuth{Tokens: []*commonpb.Token{token("id", "wrong", "K", "")}, AnyService: true}
	cl := newClient(t, ipc.Config{Auth: []ipc.Authenticator{auth}}, s.Addr())
	err := call(t, cl, "x")
	if !ipc.IsRemote(err, "javax.security.sasl.SaslException") {
		t.Fatalf("err = %v", err)
	}
}

func TestTokenSelection(t *testing.T) {
	s := startServer(t, &ipctest.Server{Tokens: map[string][]byte{"id": []byte("pw")}, Handler: echo})
	// A token for another service is not offered.
	auth := &ipc.TokenAuth{Tokens: []*commonpb.Token{token("id", "pw", "K", "127.0.0.1:1")}}
	cl := newClient(t, ipc.Config{Auth: []ipc.Authenticator{auth}}, s.Addr())
	if err := call(t, cl, "x"); err == nil || !strings.Contains(err.Error(), "no usable SASL method") {
		t.Fatalf("err = %v", err)
	}
	// The token whose service is the server address is.
	auth = &ipc.TokenAuth{Tokens: []*commonpb.Token{token("id", "pw", "K", s.Addr())}}
	cl = newClient(t, ipc.Config{Auth: []ipc.Authenticator{auth}}, s.Addr())
	if err := call(t, cl, "x"); err != nil {
		t.Fatal(err)
	}
	// localhost:port matches a token for 127.0.0.1:port.
	_, port, _ := net.SplitHostPort(s.Addr())
	if tok := ipc.SelectToken(auth.Tokens, "K", "localhost:"+port, false); tok == nil {
		t.Fatal("a token for 127.0.0.1 was not selected for localhost")
	}
	if tok := ipc.SelectToken(auth.Tokens, "OTHER", s.Addr(), false); tok != nil {
		t.Fatal("a token of the wrong kind was selected")
	}
}

func TestRemoteErrors(t *testing.T) {
	s := startServer(t, &ipctest.Server{AllowSimple: true, Handler: func(c ipctest.Call) (proto.Message, error) {
		switch c.Method {
		case "fail":
			return nil, &ipctest.Exception{Class: "org.apache.hadoop.yarn.exceptions.YarnException", Message: "no such queue"}
		case "fatal":
			return nil, &ipctest.Exception{Class: "java.io.IOException", Message: "bye", Fatal: true}
		}
		return echo(c)
	}})
	cl := newClient(t, ipc.Config{}, s.Addr())
	ctx := context.Background()
	var out commonpb.UserInformation
	err := cl.Call(ctx, "fail", &commonpb.UserInformation{}, &out)
	var re *ipc.RemoteError
	if !errors.As(err, &re) || re.Class != "org.apache.hadoop.yarn.exceptions.YarnException" || re.Message != "no such queue" || re.Fatal || re.Method != "fail" {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "YarnException: no such queue") {
		t.Fatalf("message %q does not name the class", err)
	}
	if err := call(t, cl, "still-works"); err != nil {
		t.Fatal(err)
	}
	err = cl.Call(ctx, "fatal", &commonpb.UserInformation{}, &out)
	if !errors.As(err, &re) || !re.Fatal {
		t.Fatalf("err = %v, want a fatal RemoteError", err)
	}
	// A fatal error closes the connection; the next call reconnects.
	if err := call(t, cl, "again"); err != nil {
		t.Fatal(err)
	}
	if s.Connections() != 2 {
		t.Fatalf("%d connections, want 2", s.Connections())
	}
}

func TestPingWhileWaiting(t *testing.T) {
	s := startServer(t, &ipctest.Server{AllowSimple: true, Handler: func(c ipctest.Call) (proto.Message, error) {
		time.Sleep(300 * time.Millisecond)
		return echo(c)
	}})
	cl := newClient(t, ipc.Config{PingInterval: 50 * time.Millisecond}, s.Addr())
	if err := call(t, cl, "slow"); err != nil {
		t.Fatal(err)
	}
	// The fake server reads the pings only after it has answered, so wait for them a little.
	pings := 0
	for deadline := time.Now().Add(testutil.D(5 * time.Second)); pings == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, c := range s.Calls() {
			if c.Ping {
				pings++
			}
		}
	}
	if pings == 0 {
		t.Fatal("no ping was sent while the call was pending")
	}
}

func TestCallTimeout(t *testing.T) {
	release := make(chan struct{})
	s := startServer(t, &ipctest.Server{AllowSimple: true, Handler: func(c ipctest.Call) (proto.Message, error) {
		<-release
		return echo(c)
	}})
	defer close(release)
	cl := newClient(t, ipc.Config{PingInterval: 20 * time.Millisecond}, s.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	var out commonpb.UserInformation
	start := time.Now()
	err := cl.Call(ctx, "hang", &commonpb.UserInformation{}, &out)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > testutil.D(5*time.Second) { // it would hang without the deadline
		t.Fatalf("the call took %v to time out", d)
	}
}

func TestReconnectAfterServerClosedIdleConnection(t *testing.T) {
	s := startServer(t, &ipctest.Server{AllowSimple: true, Handler: echo})
	cl := newClient(t, ipc.Config{}, s.Addr())
	if err := call(t, cl, "1"); err != nil {
		t.Fatal(err)
	}
	s.DropConnections()
	time.Sleep(20 * time.Millisecond)
	if err := call(t, cl, "2"); err != nil {
		t.Fatal(err)
	}
	if s.Connections() != 2 {
		t.Fatalf("%d connections, want 2", s.Connections())
	}
}

func TestIdleConnectionIsReplaced(t *testing.T) {
	s := startServer(t, &ipctest.Server{AllowSimple: true, Handler: echo})
	now := time.Unix(1000, 0)
	cl := newClient(t, ipc.Config{MaxIdle: time.Second}, s.Addr())
	cl.Now = func() time.Time { return now }
	if err := call(t, cl, "1"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if err := call(t, cl, "2"); err != nil {
		t.Fatal(err)
	}
	if s.Connections() != 2 {
		t.Fatalf("%d connections, want 2 (idle connection replaced)", s.Connections())
	}
}

func TestFailoverOnStandbyAndDeadServer(t *testing.T) {
	standby := startServer(t, &ipctest.Server{AllowSimple: true, Handler: func(c ipctest.Call) (proto.Message, error) {
		return nil, &ipctest.Exception{Class: ipc.StandbyException, Message: "Operation category READ is not supported in state standby"}
	}})
	active := startServer(t, &ipctest.Server{AllowSimple: true, Handler: echo})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	cl := newClient(t, ipc.Config{}, dead, standby.Addr(), active.Addr())
	if err := call(t, cl, "x"); err != nil {
		t.Fatal(err)
	}
	if cl.Current() != active.Addr() {
		t.Fatalf("on %s, want the active %s", cl.Current(), active.Addr())
	}
	// All standby: the error says so and names the exception.
	cl = newClient(t, ipc.Config{}, standby.Addr())
	err := call(t, cl, "x")
	if !ipc.IsRemote(err, ipc.StandbyException) || !strings.Contains(err.Error(), "failed on") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetriable(t *testing.T) {
	var n atomic.Int32
	s := startServer(t, &ipctest.Server{AllowSimple: true, Handler: func(c ipctest.Call) (proto.Message, error) {
		if n.Add(1) < 3 {
			return nil, &ipctest.Exception{Class: ipc.RetriableException, Message: "try again"}
		}
		return echo(c)
	}})
	cl := newClient(t, ipc.Config{}, s.Addr())
	if err := call(t, cl, "x"); err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	if len(calls) != 3 || calls[2].RetryCount != 1 {
		t.Fatalf("calls = %+v, want 3 with retry counts -1, 0, 1", calls)
	}
}

// A server that answers with garbage yields a clear error, not a hang or a panic.
func TestMalformedServer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply []byte
		want  string
	}{
		{"oversized", []byte{0x7f, 0xff, 0xff, 0xff}, "exceeds the limit"},
		{"truncated", []byte{0, 0, 0, 50, 1, 2}, "closed inside"},
		{"bad varint", []byte{0, 0, 0, 3, 0xff, 0xff, 0xff}, "bad varint"},
		{"closed", nil, "connection closed by the server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					// Take everything the client sends (preamble, context, request), so closing
					// does not reset the connection, then answer with the bad bytes.
					buf := make([]byte, 4096)
					for {
						c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
						if _, err := c.Read(buf); err != nil {
							break
						}
					}
					c.Write(tc.reply)
					c.(*net.TCPConn).CloseWrite()
					time.Sleep(50 * time.Millisecond)
					c.Close()
				}
			}()
			cl := newClient(t, ipc.Config{MaxResponseLength: 1 << 20}, l.Addr().String())
			cl.MaxFailovers = 1
			err = call(t, cl, "x")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
