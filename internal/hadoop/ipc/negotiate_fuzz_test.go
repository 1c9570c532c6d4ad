package ipc

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/testutil"
)

// FuzzNegotiate feeds arbitrary server bytes to a client doing SASL TOKEN negotiation: it must
// end with an error or a connection, never panic or hang.
func FuzzNegotiate(f *testing.F) {
	neg, _ := encodePacket(okHeader(callIDSASL), &commonpb.RpcSasl{State: commonpb.RpcSasl_NEGOTIATE.Enum(),
		Auths: []*commonpb.RpcSasl_Auth{{Method: proto.String("TOKEN"), Mechanism: proto.String("DIGEST-MD5"),
			Protocol: proto.String(""), ServerId: proto.String("default"),
			Challenge: []byte(`realm="default",nonce="abc",qop="auth",charset=utf-8,algorithm=md5-sess`)}}})
	succ, _ := encodePacket(okHeader(callIDSASL), &commonpb.RpcSasl{State: commonpb.RpcSasl_SUCCESS.Enum(), Token: []byte("rspauth=0")})
	simple, _ := encodePacket(okHeader(callIDSASL), &commonpb.RpcSasl{State: commonpb.RpcSasl_NEGOTIATE.Enum(),
		Auths: []*commonpb.RpcSasl_Auth{{Method: proto.String("SIMPLE"), Mechanism: proto.String("")}}})
	f.Add(append(append([]byte(nil), neg...), succ...))
	f.Add(simple)
	f.Add(succ)
	f.Add(neg[:len(neg)/2])
	f.Fuzz(func(t *testing.T, server []byte) {
		cli, srv := net.Pipe()
		go io.Copy(io.Discard, srv)
		go func() {
			srv.Write(server)
			srv.Close()
		}()
		auth := &TokenAuth{Tokens: []*commonpb.Token{{Identifier: []byte("i"), Password: []byte("p"), Kind: proto.String("K"), Service: proto.String("")}}, AnyService: true}
		cfg := Config{Protocol: "p", Auth: []Authenticator{auth}, ConnectTimeout: 2 * time.Second,
			Dial: func(context.Context, string, string) (net.Conn, error) { return cli, nil }}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if c, err := Dial(context.Background(), "fuzz:1", cfg); err == nil {
				c.Close()
			}
		}()
		select {
		case <-done:
		case <-time.After(testutil.D(5 * time.Second)):
			t.Fatal("negotiation hung")
		}
	})
}
