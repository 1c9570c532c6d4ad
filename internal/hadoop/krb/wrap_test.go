package krb

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/aescts/v2"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/common"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
)

func randomKey(t testing.TB, etype int32) types.EncryptionKey {
	n := 32
	if etype == etypeID.AES128_CTS_HMAC_SHA1_96 {
		n = 16
	}
	k := types.EncryptionKey{KeyType: etype, KeyValue: make([]byte, n)}
	if _, err := rand.Read(k.KeyValue); err != nil {
		t.Fatal(err)
	}
	return k
}

var aesEtypes = []int32{etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96}

// TestIntegrityTokensAgainstGokrb5: our integrity-only wrap tokens and
// gokrb5's independent implementation of the same RFC 4121 token verify
// each other, both ways.
func TestIntegrityTokensAgainstGokrb5(t *testing.T) {
	msg := []byte("\x00\x00\x00\x2a a Hadoop RPC packet")
	for _, et := range aesEtypes {
		key := randomKey(t, et)
		ini, _ := newGSSContext(key, true, false, 7)
		tok, err := ini.Wrap(msg, false)
		if err != nil {
			t.Fatal(err)
		}
		var wt gssapi.WrapToken
		if err := wt.Unmarshal(tok, false); err != nil {
			t.Fatalf("etype %d: gokrb5 cannot parse our token: %v", et, err)
		}
		if ok, err := wt.Verify(key, keyusage.GSSAPI_INITIATOR_SEAL); !ok || err != nil {
			t.Fatalf("etype %d: gokrb5 does not verify our token: %v", et, err)
		}
		if !bytes.Equal(wt.Payload, msg) || wt.SndSeqNum != 7 || wt.Flags != 0 {
			t.Fatalf("etype %d: gokrb5 reads %q seq %d flags %x", et, wt.Payload, wt.SndSeqNum, wt.Flags)
		}

		g, err := gssapi.NewInitiatorWrapToken(msg, key)
		if err != nil {
			t.Fatal(err)
		}
		g.SndSeqNum, g.CheckSum = 99, nil
		if err := g.SetCheckSum(key, keyusage.GSSAPI_INITIATOR_SEAL); err != nil {
			t.Fatal(err)
		}
		b, err := g.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		acc, _ := newGSSContext(key, false, false, 1)
		got, sealed, err := acc.Unwrap(b)
		if err != nil || sealed || !bytes.Equal(got, msg) {
			t.Fatalf("etype %d: gokrb5's token: %v sealed=%v %q", et, err, sealed, got)
		}
		// A checksum made with another key usage (the SIGN one) is refused.
		g.SndSeqNum, g.CheckSum = 100, nil
		g.SetCheckSum(key, keyusage.GSSAPI_INITIATOR_SIGN)
		b, _ = g.Marshal()
		if _, _, err := acc.Unwrap(b); !errors.Is(err, ErrBadToken) {
			t.Fatalf("etype %d: wrong key usage accepted: %v", et, err)
		}
	}
}

// TestSealedTokenLayout takes a sealed token apart with the bare RFC 3961
// primitives (key derivation, AES-CTS with a zero IV, HMAC-SHA1-96) rather
// than the etype's Decrypt, and checks RFC 4121 §4.2.4's layout:
// header | E(Ke, confounder | message | filler | header with RRC 0) | HMAC(Ki, same).
func TestSealedTokenLayout(t *testing.T) {
	msg := []byte("mkdirs /user/alice/a-path-nobody-may-read")
	for _, et := range aesEtypes {
		for _, tc := range []struct {
			initiator, subkey bool
			usage             uint32
			flags             byte
		}{
			{true, false, 24, flagSealed},
			{true, true, 24, flagSealed | flagAcceptorSubkey},
			{false, true, 22, flagSealed | flagAcceptorSubkey | flagSentByAcceptor},
		} {
			key := randomKey(t, et)
			c, _ := newGSSContext(key, tc.initiator, tc.subkey, 0x0102030405)
			tok, err := c.Wrap(msg, true)
			if err != nil {
				t.Fatal(err)
			}
			hdr := tok[:wrapHeaderLen]
			want := []byte{0x05, 0x04, tc.flags, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05}
			if !bytes.Equal(hdr, want) {
				t.Fatalf("etype %d %+v: header % x, want % x", et, tc, hdr, want)
			}
			e, _ := crypto.GetEtype(et)
			ke, _ := e.DeriveKey(key.KeyValue, common.GetUsageKe(tc.usage))
			ki, _ := e.DeriveKey(key.KeyValue, common.GetUsageKi(tc.usage))
			body := tok[wrapHeaderLen:]
			ct, mac := body[:len(body)-12], body[len(body)-12:]
			plain, err := aescts.Decrypt(ke, make([]byte, 16), ct)
			if err != nil {
				t.Fatal(err)
			}
			h := hmac.New(sha1.New, ki)
			h.Write(plain)
			if !hmac.Equal(mac, h.Sum(nil)[:12]) {
				t.Fatalf("etype %d %+v: HMAC-SHA1-96 over the plaintext does not match", et, tc)
			}
			if len(plain) != 16+len(msg)+wrapHeaderLen || !bytes.Equal(plain[16:16+len(msg)], msg) || !bytes.Equal(plain[16+len(msg):], hdr) {
				t.Fatalf("etype %d %+v: plaintext layout % x", et, tc, plain)
			}
			if bytes.Contains(tok, msg) {
				t.Fatal("the message is visible in a sealed token")
			}
		}
	}
}

// TestReplayWindow: each token is accepted once, in any order within the
// window, and not when older than it.
func TestReplayWindow(t *testing.T) {
	key := randomKey(t, etypeID.AES256_CTS_HMAC_SHA1_96)
	acc, _ := newGSSContext(key, false, true, 1000)
	ini, _ := newGSSContext(key, true, true, 5)
	var toks [][]byte
	for i := 0; i < replayWindowSize+10; i++ {
		tok, err := acc.Wrap([]byte{byte(i)}, i%2 == 0)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	for _, i := range []int{1, 0, 2} { // out of order is fine
		if got, _, err := ini.Unwrap(toks[i]); err != nil || got[0] != byte(i) {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	if _, _, err := ini.Unwrap(toks[1]); !errors.Is(err, ErrBadToken) || !strings.Contains(err.Error(), "replayed") {
		t.Fatalf("replayed token: %v", err)
	}
	// A forged token with a fresh number does not use the number up.
	forged := append([]byte(nil), toks[3]...)
	forged[len(forged)-1] ^= 1
	if _, _, err := ini.Unwrap(forged); !errors.Is(err, ErrBadToken) {
		t.Fatalf("forged: %v", err)
	}
	if _, _, err := ini.Unwrap(toks[3]); err != nil {
		t.Fatalf("token 3 after a forgery with its number: %v", err)
	}
	last := len(toks) - 1
	if _, _, err := ini.Unwrap(toks[last]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ini.Unwrap(toks[last-replayWindowSize+1]); err != nil { // the oldest inside the window
		t.Fatalf("token %d: %v", last-replayWindowSize+1, err)
	}
	if _, _, err := ini.Unwrap(toks[last-replayWindowSize]); !errors.Is(err, ErrBadToken) || !strings.Contains(err.Error(), "too old") {
		t.Fatalf("token older than the window: %v", err)
	}
}

// TestAPRepReplay: an AP-REP recorded on one connection is refused on the
// next, although gokrb5 reuses the service ticket and so the session key.
func TestAPRepReplay(t *testing.T) {
	_, l, kt := setupGSS(t)
	offer := &commonpb.RpcSasl_Auth{Method: strPtr("KERBEROS"), Mechanism: strPtr("GSSAPI"), Protocol: strPtr("nn"), ServerId: strPtr("localhost")}
	auth := &GSSAPIAuth{Login: l}
	m1, _ := auth.Mechanism(offer, ipc.Server{Addr: "localhost:8020"})
	first, err := m1.Start()
	if err != nil {
		t.Fatal(err)
	}
	rep := (&acceptor{t: t, kt: kt, layers: layerPrivacy}).accept(first)
	if _, err := m1.Step(rep); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // another microsecond in the next authenticator
	m2, _ := auth.Mechanism(offer, ipc.Server{Addr: "localhost:8020"})
	if _, err := m2.Start(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m1.(*gssapiMech).sessionKey.KeyValue, m2.(*gssapiMech).sessionKey.KeyValue) {
		t.Fatal("expected the cached service ticket's session key on both connections")
	}
	if _, err := m2.Step(rep); !errors.Is(err, ErrBadToken) || !strings.Contains(err.Error(), "another authenticator") {
		t.Fatalf("replayed AP-REP: %v", err)
	}
}

// FuzzAPRep feeds arbitrary bytes where the server's AP-REP belongs: always
// an error, never a panic or an established context.
func FuzzAPRep(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x60, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02})
	f.Add([]byte{0x60, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x02, 0x00})
	f.Add([]byte{0x60, 0x10, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x02, 0x00, 0x6f, 0x01, 0x00})
	f.Add([]byte{0x60, 0x10, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03, 0x00, 0x7e, 0x01, 0x00})
	key := types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: bytes.Repeat([]byte{3}, 32)}
	f.Fuzz(func(t *testing.T, tok []byte) {
		m := &gssapiMech{spn: "nn/localhost", state: 1, sessionKey: key, ctime: time.Unix(1, 0)}
		out, err := m.Step(tok)
		if err == nil || out != nil || m.ctx != nil {
			t.Fatalf("junk AP-REP accepted: %v %x", err, out)
		}
	})
}

// Sequence numbers go out big-endian in octets 8..15 and advance by one.
func TestWrapSequenceNumbers(t *testing.T) {
	key := randomKey(t, etypeID.AES128_CTS_HMAC_SHA1_96)
	c, _ := newGSSContext(key, true, false, 1<<32-1)
	for i, conf := range []bool{true, false, true} {
		tok, _ := c.Wrap([]byte("x"), conf)
		if got := binary.BigEndian.Uint64(tok[8:16]); got != 1<<32-1+uint64(i) {
			t.Fatalf("token %d: sequence %d", i, got)
		}
	}
}

// TestReplayWindowModel compares the bit ring with the plain definition
// (refused: seen before, or replayWindowSize or more below the newest) on
// random streams with jumps, reorderings and repeats.
func TestReplayWindowModel(t *testing.T) {
	var seed [8]byte
	rand.Read(seed[:])
	r := binary.LittleEndian.Uint64(seed[:])
	next := func(n uint64) uint64 { // xorshift
		r ^= r << 13
		r ^= r >> 7
		r ^= r << 17
		return r % n
	}
	for round := 0; round < 20; round++ {
		var w replayWindow
		seen := map[uint64]bool{}
		var highest uint64
		started := false
		cur := next(1 << 40)
		for i := 0; i < 20000; i++ {
			var seq uint64
			switch next(10) {
			case 0:
				seq = cur + next(3*replayWindowSize) // a jump ahead
			case 1:
				seq = cur - next(2*replayWindowSize) // far behind, maybe too old
			case 2:
				seq = cur - next(8) // a repeat or a near reordering
			default:
				seq = cur + 1
			}
			want := !started || seq > highest || (highest-seq < replayWindowSize && !seen[seq])
			err := w.check(seq)
			if (err == nil) != want {
				t.Fatalf("seed %x step %d: seq %d highest %d: check %v, want ok=%v", seed, i, seq, highest, err, want)
			}
			if err == nil {
				w.record(seq)
				seen[seq] = true
				if !started || seq > highest {
					highest, started = seq, true
				}
			}
			if seq > cur {
				cur = seq
			}
		}
	}
}
