package ipc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

// What a protected server sends is checked before the inner client sees any of it.
func TestTunnelMalformedServer(t *testing.T) {
	ha1 := [16]byte{1, 2, 3}
	server := newDigestIntegrity(ha1)
	server.kic, server.kis = server.kis, server.kic // the server signs with kis
	saslHeader := &commonpb.RpcResponseHeader{CallId: proto.Uint32(uint32(0xFFFFFFDF)), Status: commonpb.RpcResponseHeader_SUCCESS.Enum()}
	inner, _ := encodePacket(&commonpb.RpcResponseHeader{CallId: proto.Uint32(0), Status: commonpb.RpcResponseHeader_SUCCESS.Enum()})
	good, _ := server.Wrap(inner)
	tampered := append([]byte(nil), good...)
	tampered[0] ^= 1
	wrap := func(state commonpb.RpcSasl_State, tok []byte) []byte {
		p, err := encodePacket(saslHeader, &commonpb.RpcSasl{State: state.Enum(), Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"tampered", wrap(commonpb.RpcSasl_WRAP, tampered), "integrity check failed"},
		{"not wrap", wrap(commonpb.RpcSasl_CHALLENGE, good), "expected a SASL WRAP"},
		{"oversized", []byte{0x7f, 0, 0, 0}, "exceeds the limit"},
		{"bad header", []byte{0, 0, 0, 2, 0x05, 0xff}, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			layer := newDigestIntegrity(ha1)
			tn := &tunnel{c: &Conn{addr: "nn:8020", nc: a, br: bufio.NewReader(bytes.NewReader(tc.in)), layer: layer, cfg: Config{MaxResponseLength: 1 << 20}}}
			_, err := tn.Read(make([]byte, 64))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	// The untampered packet is delivered, length prefix and all.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	tn := &tunnel{c: &Conn{addr: "nn:8020", nc: a, br: bufio.NewReader(bytes.NewReader(wrap(commonpb.RpcSasl_WRAP, good))), layer: newDigestIntegrity(ha1), cfg: Config{MaxResponseLength: 1 << 20}}}
	got := make([]byte, 64)
	n, err := tn.Read(got)
	if err != nil || !bytes.Equal(got[:n], inner) {
		t.Fatalf("read %x, %v; want %x", got[:n], err, inner)
	}
	if _, err := tn.Read(got); !errors.Is(err, io.EOF) {
		t.Fatalf("second read: %v, want EOF", err)
	}
}
