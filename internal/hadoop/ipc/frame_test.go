package ipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

func okHeader(id int32) *commonpb.RpcResponseHeader {
	return &commonpb.RpcResponseHeader{CallId: proto.Uint32(uint32(id)), Status: commonpb.RpcResponseHeader_SUCCESS.Enum()}
}

func TestFrameRoundTrip(t *testing.T) {
	body := &commonpb.UserInformation{EffectiveUser: proto.String("alice")}
	p, err := encodePacket(okHeader(-33), body)
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := readPacket(bytes.NewReader(p), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	h, rest, err := decodeResponse(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if responseCallID(h) != -33 {
		t.Fatalf("call id %d, want -33 (uint32 on the wire)", responseCallID(h))
	}
	var got commonpb.UserInformation
	if err := decodeBody(rest, &got); err != nil || got.GetEffectiveUser() != "alice" {
		t.Fatalf("body = %v, %v", &got, err)
	}
}

func TestPreamble(t *testing.T) {
	if got := preamble(authProtocolSASL); !bytes.Equal(got, []byte{'h', 'r', 'p', 'c', 9, 0, 0xDF}) {
		t.Fatalf("preamble = %x", got)
	}
}

func TestMalformedFrames(t *testing.T) {
	hdr, _ := proto.Marshal(okHeader(1))
	delim := func(b []byte) []byte { return append(protowire.AppendVarint(nil, uint64(len(b))), b...) }
	cases := []struct {
		name string
		pkt  []byte
		want string
	}{
		{"empty", nil, "missing response header"},
		{"bad varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "bad varint"},
		{"truncated varint", []byte{0x80}, "bad varint"},
		{"header longer than packet", append([]byte{100}, hdr...), "claims 100 bytes"},
		{"garbage header", delim([]byte{0xff, 0xff}), "response header"},
		{"missing required", delim(nil), "response header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeResponse(tc.pkt)
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformed mentioning %q", err, tc.want)
			}
		})
	}
	// Body problems.
	var m commonpb.UserInformation
	if err := decodeBody(nil, &m); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "missing response message") {
		t.Errorf("empty body: %v", err)
	}
	if err := decodeBody(append(delim(nil), 1, 2), &m); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("trailing bytes: %v", err)
	}
	// Packet length problems.
	big := make([]byte, 4)
	binary.BigEndian.PutUint32(big, 1<<30)
	if _, err := readPacket(bytes.NewReader(big), DefaultMaxResponseLength); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("oversized: %v", err)
	}
	short := []byte{0, 0, 0, 10, 1, 2, 3}
	if _, err := readPacket(bytes.NewReader(short), 100); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "closed inside") {
		t.Errorf("truncated packet: %v", err)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	p, _ := encodePacket(okHeader(5), &commonpb.UserInformation{EffectiveUser: proto.String("x")})
	f.Add(p)
	p, _ = encodePacket(&commonpb.RpcResponseHeader{CallId: proto.Uint32(7), Status: commonpb.RpcResponseHeader_ERROR.Enum(),
		ExceptionClassName: proto.String("java.io.IOException"), ErrorMsg: proto.String("boom")})
	f.Add(p)
	f.Add([]byte{0, 0, 0, 1, 0x80})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		pkt, err := readPacket(bytes.NewReader(in), 1<<16)
		if err != nil {
			return
		}
		h, body, err := decodeResponse(pkt)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if h.GetStatus() != commonpb.RpcResponseHeader_SUCCESS {
			_ = remoteError(h, "m", "a").Error()
			return
		}
		var m commonpb.RpcSasl
		if err := decodeBody(body, &m); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("body error %v does not wrap ErrMalformed", err)
		}
	})
}
