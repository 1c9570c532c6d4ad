package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

// Wire constants of Hadoop RPC v9.
const (
	rpcVersion   = 9
	serviceClass = 0

	authProtocolNone = 0x00
	authProtocolSASL = 0xDF // -33

	// Special call ids.
	callIDConnectionContext = -3
	callIDPing              = -4
	callIDSASL              = -33

	// DefaultMaxResponseLength is ipc.maximum.response.length's default (128 MiB).
	DefaultMaxResponseLength = 128 << 20
)

// ErrMalformed is wrapped by every error about a frame that cannot be decoded.
var ErrMalformed = errors.New("malformed Hadoop RPC frame")

func malformed(format string, args ...any) error {
	return fmt.Errorf("ipc: %w: "+format, append([]any{ErrMalformed}, args...)...)
}

// preamble is sent once per connection.
func preamble(authProtocol byte) []byte {
	return []byte{'h', 'r', 'p', 'c', rpcVersion, serviceClass, authProtocol}
}

// appendDelimited appends m, prefixed with its varint length.
func appendDelimited(b []byte, m proto.Message) ([]byte, error) {
	raw, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("ipc: encoding %T: %w", m, err)
	}
	b = protowire.AppendVarint(b, uint64(len(raw)))
	return append(b, raw...), nil
}

// encodePacket returns a whole packet: a 4-byte big-endian length, then each message
// varint-delimited.
func encodePacket(msgs ...proto.Message) ([]byte, error) {
	b := make([]byte, 4, 128)
	var err error
	for _, m := range msgs {
		if b, err = appendDelimited(b, m); err != nil {
			return nil, err
		}
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b, nil
}

// readPacket reads one length-prefixed packet of at most max bytes.
func readPacket(r io.Reader, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if int64(n) > int64(max) {
		return nil, malformed("response length %d exceeds the limit of %d bytes (ipc.maximum.response.length)", n, max)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, malformed("connection closed inside a %d-byte response", n)
		}
		return nil, err
	}
	return buf, nil
}

// nextDelimited splits one varint-delimited message off b.
func nextDelimited(b []byte, what string) (msg, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, malformed("missing %s", what)
	}
	n, k := protowire.ConsumeVarint(b)
	if k < 0 {
		return nil, nil, malformed("bad varint length of %s: %v", what, protowire.ParseError(k))
	}
	if n > uint64(len(b)-k) {
		return nil, nil, malformed("%s claims %d bytes but only %d remain", what, n, len(b)-k)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// decodeResponse splits a response packet into its header and the (still encoded) body.
func decodeResponse(packet []byte) (*commonpb.RpcResponseHeader, []byte, error) {
	raw, rest, err := nextDelimited(packet, "response header")
	if err != nil {
		return nil, nil, err
	}
	h := &commonpb.RpcResponseHeader{}
	if err := proto.Unmarshal(raw, h); err != nil {
		return nil, nil, malformed("response header: %v", err)
	}
	return h, rest, nil
}

// decodeBody unmarshals the varint-delimited response message into m.
func decodeBody(body []byte, m proto.Message) error {
	raw, rest, err := nextDelimited(body, "response message")
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return malformed("%d trailing bytes after the response message", len(rest))
	}
	if err := proto.Unmarshal(raw, m); err != nil {
		return malformed("response message %T: %v", m, err)
	}
	return nil
}

// responseCallID converts the unsigned call id of a response header to the signed id of the call.
func responseCallID(h *commonpb.RpcResponseHeader) int32 { return int32(h.GetCallId()) }
