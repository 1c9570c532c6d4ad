package tokenfile

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

func sampleCreds() *Credentials {
	c := &Credentials{}
	c.AddToken("10.0.0.1:8020", &commonpb.Token{Identifier: bytes.Repeat([]byte{0xfe}, 300), Password: []byte("pw"), Kind: proto.String("HDFS_DELEGATION_TOKEN"), Service: proto.String("10.0.0.1:8020")})
	c.AddToken("appattempt", &commonpb.Token{Identifier: []byte{1, 2}, Password: []byte{}, Kind: proto.String("YARN_AM_RM_TOKEN"), Service: proto.String("")})
	c.SetSecret("stoke.secret", []byte("s3cret"))
	return c
}

func TestVLongRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 127, 128, -112, -113, 255, 256, 1 << 20, -(1 << 20), 1<<62 + 5, -(1 << 62), 9223372036854775807, -9223372036854775808} {
		var b bytes.Buffer
		writeVLong(&b, v)
		got, err := readVLong(&b)
		if err != nil || got != v || b.Len() != 0 {
			t.Fatalf("vlong %d: got %d, %v, %d bytes left", v, got, err, b.Len())
		}
	}
	// Known encodings from Hadoop's WritableUtils: 300 = 0x8e 0x01 0x2c, -200 = 0x87 0xc7.
	for v, want := range map[int64][]byte{300: {0x8e, 0x01, 0x2c}, -200: {0x87, 0xc7}, 100: {100}} {
		var b bytes.Buffer
		writeVLong(&b, v)
		if !bytes.Equal(b.Bytes(), want) {
			t.Fatalf("vlong %d = % x, want % x", v, b.Bytes(), want)
		}
	}
}

func TestCredentialsBothFormats(t *testing.T) {
	c := sampleCreds()
	pb, err := c.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"writable": c.Marshal(), "protobuf": pb} {
		got, err := Unmarshal(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got.Tokens) != 2 || got.Tokens[0].Alias != "10.0.0.1:8020" || !proto.Equal(got.Tokens[0].Token, c.Tokens[0].Token) ||
			got.Tokens[1].Token.GetKind() != "YARN_AM_RM_TOKEN" || string(got.Secrets["stoke.secret"]) != "s3cret" {
			t.Fatalf("%s: round trip = %+v", name, got)
		}
	}
	if w := c.Without("YARN_AM_RM_TOKEN"); len(w.Tokens) != 1 || w.Tokens[0].Token.GetKind() != "HDFS_DELEGATION_TOKEN" {
		t.Fatalf("Without = %+v", w.Tokens)
	}
}

func TestCredentialsMalformed(t *testing.T) {
	good := sampleCreds().Marshal()
	pb, _ := sampleCreds().MarshalProto()
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":            {nil, "no HDTS header"},
		"wrong magic":      {[]byte("HDTX\x00\x00\x00"), "no HDTS header"},
		"future version":   {[]byte("HDTS\x07"), "version 7"},
		"truncated tokens": {good[:40], "unexpected EOF"},
		"no secret count":  {good[:len(good)-len("stoke.secret")-len("s3cret")-3], "secret"},
		"huge count":       {[]byte("HDTS\x00\x8c\x7f\xff\xff\xff"), "out of range"},
		"huge field":       {[]byte("HDTS\x00\x01\x8c\x7f\xff\xff\xff"), "out of range"},
		"negative field":   {[]byte("HDTS\x00\x01\xff"), "out of range"},
		"proto bad length": {append([]byte("HDTS\x01"), 0xff, 0xff, 0x7f), "length prefix"},
		"proto garbage":    {append([]byte("HDTS\x01\x03"), 0xff, 0xff, 0xff), "protobuf format"},
		"proto truncated":  {pb[:len(pb)-4], "length prefix"},
	}
	for name, tc := range cases {
		_, err := Unmarshal(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
	}
}

func FuzzUnmarshalCredentials(f *testing.F) {
	f.Add(sampleCreds().Marshal())
	pb, _ := sampleCreds().MarshalProto()
	f.Add(pb)
	f.Add([]byte("HDTS\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Unmarshal(data)
		if err != nil {
			return
		}
		// What decodes re-encodes and decodes to the same tokens.
		again, err := Unmarshal(c.Marshal())
		if err != nil || len(again.Tokens) != len(c.Tokens) || len(again.Secrets) != len(c.Secrets) {
			t.Fatalf("re-decode: %v (%d/%d tokens)", err, len(again.Tokens), len(c.Tokens))
		}
	})
}
