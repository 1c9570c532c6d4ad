package datatransfer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/datatransfer"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/hdfspb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc/ipctest"
)

var blockToken = &commonpb.Token{Identifier: []byte("block-id"), Password: []byte("block-pw"), Kind: proto.String("HDFS_BLOCK_TOKEN"), Service: proto.String("")}

// op encodes a data transfer operation whose header carries tok.
func op(t *testing.T, code byte, tok *commonpb.Token) []byte {
	t.Helper()
	var m proto.Message
	base := &hdfspb.BaseHeaderProto{Block: &hdfspb.ExtendedBlockProto{PoolId: proto.String("bp"), BlockId: proto.Uint64(7)}, Token: tok}
	switch code {
	case datatransfer.OpBlockChecksum:
		m = &hdfspb.OpWithBaseHeaderProto{Header: base}
	default:
		m = &hdfspb.OpWithClientHeaderProto{Header: &hdfspb.ClientOperationHeaderProto{BaseHeader: base, ClientName: proto.String("stoke")}}
	}
	raw, err := (proto.MarshalOptions{AllowPartial: true}).Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0, datatransfer.Version, code}
	b = protowire.AppendVarint(b, uint64(len(raw)))
	return append(b, raw...)
}

func msg(status hdfspb.DataTransferEncryptorMessageProto_DataTransferEncryptorStatus, payload []byte, text string, tokenErr bool) []byte {
	m := &hdfspb.DataTransferEncryptorMessageProto{Status: status.Enum(), Payload: payload}
	if text != "" {
		m.Message = proto.String(text)
	}
	if tokenErr {
		m.AccessTokenError = proto.Bool(true)
	}
	raw, _ := proto.Marshal(m)
	return append(protowire.AppendVarint(nil, uint64(len(raw))), raw...)
}

func readMsg(br *bufio.Reader) (*hdfspb.DataTransferEncryptorMessageProto, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, err
	}
	m := &hdfspb.DataTransferEncryptorMessageProto{}
	return m, proto.Unmarshal(raw, m)
}

// fakeDN is a DataNode's SASL side. afterHandshake, when set, replaces the echo of what
// the client sends after the handshake; final, when set, replaces the server's last
// handshake message.
type fakeDN struct {
	qop            string
	final          []byte
	afterHandshake func(nc net.Conn)
	gotOp          chan []byte
}

func (f *fakeDN) start(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f.gotOp = make(chan []byte, 1)
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				f.serve(nc)
			}()
		}
	}()
	return l.Addr().String()
}

func (f *fakeDN) serve(nc net.Conn) {
	br := bufio.NewReader(nc)
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil || binary.BigEndian.Uint32(magic[:]) != 0xDEADBEEF {
		return
	}
	if m, err := readMsg(br); err != nil || len(m.GetPayload()) != 0 {
		return
	}
	ds := &ipctest.DigestServer{Tokens: map[string][]byte{"block-id": []byte("block-pw")}, QOP: f.qop, Realm: "0"}
	nc.Write(msg(hdfspb.DataTransferEncryptorMessageProto_SUCCESS, ds.Challenge(), "", false))
	resp, err := readMsg(br)
	if err != nil {
		return
	}
	rspauth, layer, err := ds.Verify(resp.GetPayload())
	if err != nil {
		nc.Write(msg(hdfspb.DataTransferEncryptorMessageProto_ERROR, nil, err.Error(), false))
		return
	}
	if f.final != nil {
		nc.Write(f.final)
	} else {
		nc.Write(msg(hdfspb.DataTransferEncryptorMessageProto_SUCCESS, rspauth, "", false))
	}
	if f.afterHandshake != nil {
		f.afterHandshake(nc)
		return
	}
	// Echo: each chunk the client sends comes back the same way (wrapped when the QOP is
	// auth-int); the first chunk, the operation, is also reported.
	first := true
	for {
		var data []byte
		if layer == nil {
			buf := make([]byte, 64<<10)
			n, err := br.Read(buf)
			if err != nil {
				return
			}
			data = buf[:n]
			nc.Write(data)
		} else {
			var hdr [4]byte
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				return
			}
			w := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(br, w); err != nil {
				return
			}
			if data, err = layer.Unwrap(w); err != nil {
				return
			}
			out := layer.Wrap(data)
			nc.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(out))), out...))
		}
		if first {
			f.gotOp <- data
			first = false
		}
	}
}

func dial(t *testing.T, addr string, qop ...string) net.Conn {
	t.Helper()
	d := &datatransfer.Dialer{QOP: qop, HandshakeTimeout: 5 * time.Second}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The handshake runs with the first operation's block token; what follows is wrapped
// (auth-int) or plain (auth), in chunks the DataNode accepts, and comes back intact.
func TestHandshakeAndStream(t *testing.T) {
	for _, qop := range []string{"auth", "auth-int"} {
		t.Run(qop, func(t *testing.T) {
			f := &fakeDN{qop: qop}
			c := dial(t, f.start(t), "auth-conf", "auth-int", "auth")
			o := op(t, datatransfer.OpReadBlock, blockToken)
			// The operation arrives in two writes, as a buffered writer may send it.
			if _, err := c.Write(o[:5]); err != nil {
				t.Fatal(err)
			}
			if got := c.(*datatransfer.Conn).QOP(); got != "" {
				t.Fatalf("QOP before the operation is whole = %q", got)
			}
			if _, err := c.Write(o[5:]); err != nil {
				t.Fatal(err)
			}
			if got := c.(*datatransfer.Conn).QOP(); got != qop {
				t.Fatalf("QOP = %q, want %q", got, qop)
			}
			echoed := make([]byte, len(o))
			if _, err := io.ReadFull(c, echoed); err != nil || !bytes.Equal(echoed, o) {
				t.Fatalf("echo of the operation = %x, %v", echoed, err)
			}
			if got := <-f.gotOp; !bytes.Equal(got, o) {
				t.Fatalf("DataNode got operation %x, want %x", got, o)
			}
			big := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160 KB: several chunks
			go c.Write(big)
			back := make([]byte, len(big))
			if _, err := io.ReadFull(c, back); err != nil || !bytes.Equal(back, big) {
				t.Fatalf("echo of %d bytes: %v", len(big), err)
			}
		})
	}
	// A block checksum operation carries its token in a BaseHeaderProto.
	f := &fakeDN{qop: "auth-int"}
	c := dial(t, f.start(t), "auth-int")
	o := op(t, datatransfer.OpBlockChecksum, blockToken)
	if _, err := c.Write(o); err != nil {
		t.Fatal(err)
	}
	if got := <-f.gotOp; !bytes.Equal(got, o) {
		t.Fatalf("DataNode got %x", got)
	}
}

// The DataNode's refusals reach the caller as clear errors.
func TestHandshakeRefused(t *testing.T) {
	wrongPW := &commonpb.Token{Identifier: []byte("block-id"), Password: []byte("forged")}
	for _, tc := range []struct {
		name  string
		f     *fakeDN
		tok   *commonpb.Token
		qop   []string
		want  string
		isErr error
	}{
		{"wrong password", &fakeDN{}, wrongPW, []string{"auth"}, "refused the SASL handshake: DIGEST-MD5: mismatched response", nil},
		{"expired token", &fakeDN{final: msg(hdfspb.DataTransferEncryptorMessageProto_ERROR, nil, "Block token with block_token_identifier (expiryDate=1) is expired.", true)}, blockToken, []string{"auth"}, "is expired", datatransfer.ErrBlockToken},
		{"unknown key", &fakeDN{final: msg(hdfspb.DataTransferEncryptorMessageProto_ERROR_UNKNOWN_KEY, nil, "Can't re-compute encryption key", false)}, blockToken, []string{"auth"}, "does not know the data encryption key", nil},
		{"qop mismatch", &fakeDN{qop: "auth"}, blockToken, []string{"auth-conf"}, "client accepts [auth-conf]", nil},
		{"forged rspauth", &fakeDN{final: msg(hdfspb.DataTransferEncryptorMessageProto_SUCCESS, []byte("rspauth=00000000000000000000000000000000"), "", false)}, blockToken, []string{"auth"}, "rspauth does not match", nil},
		{"no rspauth", &fakeDN{final: msg(hdfspb.DataTransferEncryptorMessageProto_SUCCESS, nil, "", false)}, blockToken, []string{"auth"}, "no rspauth", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, tc.f.start(t), tc.qop...)
			_, err := c.Write(op(t, datatransfer.OpWriteBlock, tc.tok))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if tc.isErr != nil && !errors.Is(err, tc.isErr) {
				t.Fatalf("err = %v, want errors.Is %v", err, tc.isErr)
			}
			if _, rerr := c.Read(make([]byte, 1)); rerr == nil {
				t.Fatal("read after a failed handshake succeeded")
			}
		})
	}
}

// rawDN answers the handshake's first message with fixed bytes.
func rawDN(t *testing.T, reply []byte) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			io.ReadFull(nc, make([]byte, 6)) // magic and the empty first message
			nc.Write(reply)
			nc.(*net.TCPConn).CloseWrite()
			time.Sleep(100 * time.Millisecond)
			nc.Close()
		}
	}()
	return l.Addr().String()
}

// Malformed handshake messages from the DataNode are errors that say so.
func TestMalformedDataNode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply []byte
		want  string
	}{
		{"closed", nil, "does it expect dfs.data.transfer.protection"},
		{"oversized message", protowire.AppendVarint(nil, 10<<20), "limit"},
		{"truncated message", append(protowire.AppendVarint(nil, 50), 1, 2, 3), "inside a 50-byte handshake message"},
		{"not a proto", append(protowire.AppendVarint(nil, 3), 0xff, 0xff, 0xff), "handshake message"},
		{"bad challenge", msg(hdfspb.DataTransferEncryptorMessageProto_SUCCESS, []byte(`nonce="x",algorithm=md5`), "", false), "bad DIGEST-MD5 challenge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, rawDN(t, tc.reply), "auth")
			_, err := c.Write(op(t, datatransfer.OpReadBlock, blockToken))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// After the handshake, wrapped chunks are checked: a tampered or oversized chunk is an
// error, never data handed to the reader.
func TestMalformedWrappedStream(t *testing.T) {
	for _, tc := range []struct {
		name string
		send []byte
		want string
	}{
		{"oversized", []byte{0x7f, 0, 0, 0}, "wrapped chunk of"},
		{"tampered", append([]byte{0, 0, 0, 20}, bytes.Repeat([]byte{1}, 20)...), "DIGEST-MD5 auth-int"},
		{"truncated", []byte{0, 0, 0, 20, 1, 2}, "inside a wrapped chunk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDN{qop: "auth-int", afterHandshake: func(nc net.Conn) {
				nc.Write(tc.send)
				nc.(*net.TCPConn).CloseWrite()
				time.Sleep(100 * time.Millisecond)
			}}
			c := dial(t, f.start(t), "auth-int")
			if _, err := c.Write(op(t, datatransfer.OpReadBlock, blockToken)); err != nil {
				t.Fatal(err)
			}
			_, err := c.Read(make([]byte, 10))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// The first thing written must be an operation with a block token.
func TestMalformedOperation(t *testing.T) {
	noToken := &commonpb.Token{}
	bad := func(b []byte) []byte { return b }
	for _, tc := range []struct {
		name string
		op   func(t *testing.T) []byte
		want string
	}{
		{"wrong version", func(t *testing.T) []byte { o := op(t, datatransfer.OpReadBlock, blockToken); o[1] = 27; return o }, "version 27"},
		{"unknown op", func(t *testing.T) []byte { return op(t, 99, blockToken) }, "operation 99"},
		{"no token", func(t *testing.T) []byte { return op(t, datatransfer.OpReadBlock, noToken) }, "dfs.block.access.token.enable"},
		{"oversized", func(*testing.T) []byte { return bad(append([]byte{0, 28, 81}, protowire.AppendVarint(nil, 2<<20)...)) }, "exceeds"},
		{"bad varint", func(*testing.T) []byte { return bad(append([]byte{0, 28, 81}, bytes.Repeat([]byte{0xff}, 11)...)) }, "bad length varint"},
		{"not a proto", func(*testing.T) []byte { return []byte{0, 28, 81, 2, 0xff, 0xff} }, "operation 81"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, (&fakeDN{}).start(t), "auth")
			_, err := c.Write(tc.op(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if _, err2 := c.Write([]byte{1}); err2 == nil {
				t.Fatal("a write after the error succeeded")
			}
		})
	}
	c := dial(t, (&fakeDN{}).start(t), "auth")
	if _, err := c.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "before the first operation") {
		t.Fatalf("read first: %v", err)
	}
}

func TestQOPs(t *testing.T) {
	for in, want := range map[string]string{
		"privacy":                           "auth-conf",
		"authentication, Integrity":         "auth-int auth",
		"authentication,integrity,privacy,": "auth-conf auth-int auth",
	} {
		got, err := datatransfer.QOPs(in)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("QOPs(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "secret", "privacy,none"} {
		if _, err := datatransfer.QOPs(in); err == nil {
			t.Errorf("QOPs(%q) accepted", in)
		}
	}
	if _, err := (&datatransfer.Dialer{}).DialContext(context.Background(), "tcp", "127.0.0.1:1"); err == nil {
		t.Error("a Dialer without QOP dialled")
	}
}
