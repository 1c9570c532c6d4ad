package krb

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/jcmturner/gokrb5/v8/types"
)

// javaVectors are wrap tokens a real Hadoop 3.5 NameNode (Java's Kerberos
// GSS-API) sent, with the acceptor subkey of their context: an
// implementation independent of ours. TestCaptureJavaWrapVectors made them
// (go test -tags capturevectors -run TestCaptureJavaWrapVectors ./internal/hadoop/krb/).
type javaVectors struct {
	Level  string `json:"level"` // hadoop.rpc.protection
	Etype  int32  `json:"etype"`
	Key    string `json:"key"`    // the context key (hex): the acceptor's subkey
	Subkey bool   `json:"subkey"` // the key is the acceptor's subkey
	Offer  string `json:"offer"`  // the security-layer offer token (hex)
	Tokens []struct {
		Token string `json:"token"` // a wrapped RPC response (hex)
		Plain string `json:"plain"` // what it carries (hex)
	} `json:"tokens"`
	Secret string `json:"secret"` // the path the captured calls made
}

const javaVectorsFile = "testdata/java-namenode-wrap-tokens.json"

// TestJavaWrapVectors unwraps the Java NameNode's tokens: the layer offer
// (integrity only, as Java's GSSAPI SASL server sends it) and sealed or
// signed responses, in order, with their sequence numbers.
func TestJavaWrapVectors(t *testing.T) {
	data, err := os.ReadFile(javaVectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var sets []javaVectors
	if err := json.Unmarshal(data, &sets); err != nil {
		t.Fatal(err)
	}
	if len(sets) < 2 {
		t.Fatalf("%d vector sets, want privacy and integrity", len(sets))
	}
	for _, v := range sets {
		key, _ := hex.DecodeString(v.Key)
		ctx, err := newGSSContext(types.EncryptionKey{KeyType: v.Etype, KeyValue: key}, true, v.Subkey, 0)
		if err != nil {
			t.Fatal(err)
		}
		offer, _ := hex.DecodeString(v.Offer)
		got, sealed, err := ctx.Unwrap(offer)
		if err != nil || sealed || len(got) != 4 {
			t.Fatalf("%s: the layer offer: %v sealed=%v %x", v.Level, err, sealed, got)
		}
		wantLayer := map[string]byte{"privacy": layerPrivacy, "integrity": layerIntegrity}[v.Level]
		if got[0] != wantLayer {
			t.Fatalf("%s: offered layers %b", v.Level, got[0])
		}
		if len(v.Tokens) == 0 {
			t.Fatalf("%s: no response tokens", v.Level)
		}
		for i, tk := range v.Tokens {
			tok, _ := hex.DecodeString(tk.Token)
			want, _ := hex.DecodeString(tk.Plain)
			msg, sealed, err := ctx.Unwrap(tok)
			if err != nil || !bytes.Equal(msg, want) {
				t.Fatalf("%s token %d: %v\n got %x\nwant %x", v.Level, i, err, msg, want)
			}
			if sealed != (v.Level == "privacy") {
				t.Fatalf("%s token %d: sealed=%v", v.Level, i, sealed)
			}
			if sealed == bytes.Contains(tok, want) {
				t.Fatalf("%s token %d: the response is visible in the token = %v", v.Level, i, !sealed)
			}
			// A flipped bit anywhere in the token is caught.
			for _, pos := range []int{2, 9, len(tok) / 2, len(tok) - 1} {
				bad := append([]byte(nil), tok...)
				bad[pos] ^= 0x10
				if _, _, err := ctx.Unwrap(bad); err == nil {
					t.Fatalf("%s token %d: a flipped bit at %d went unnoticed", v.Level, i, pos)
				}
			}
		}
		if _, _, err := ctx.Unwrap(offer); err == nil {
			t.Fatalf("%s: the offer unwrapped twice", v.Level)
		}
	}
}
