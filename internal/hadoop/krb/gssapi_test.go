package krb

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	gasn1 "github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/hadoop/krb/krbtest"
)

// acceptor is the server side of the Kerberos GSS exchange, written for the
// test from RFC 4121 and RFC 4752: it checks the client's AP-REQ with the
// service keytab (a ticket a real KDC issued), answers with an AP-REP
// carrying a subkey, and offers security layers.
type acceptor struct {
	t      *testing.T
	kt     *keytab.Keytab
	ctx    *gssContext
	layers byte
}

func (a *acceptor) accept(tok []byte) []byte {
	a.t.Helper()
	id, body, err := gssUnframe(tok)
	if err != nil || id != [2]byte{0x01, 0x00} {
		a.t.Fatalf("initial token: %v %x", err, id)
	}
	var req messages.APReq
	if err := req.Unmarshal(body); err != nil {
		a.t.Fatal(err)
	}
	ok, _, err := service.VerifyAPREQ(&req, service.NewSettings(a.kt, service.DecodePAC(false)))
	if !ok || err != nil {
		a.t.Fatalf("AP-REQ does not verify: %v", err)
	}
	if req.APOptions.At(2) != 1 {
		a.t.Fatal("mutual authentication not requested")
	}
	ck := req.Authenticator.Cksum
	if ck.CksumType != 0x8003 || len(ck.Checksum) < 24 || binary.LittleEndian.Uint32(ck.Checksum[20:24])&(gssMutual|gssConf|gssInteg) != gssMutual|gssConf|gssInteg {
		a.t.Fatalf("GSS checksum %+v", ck)
	}
	session := req.Ticket.DecryptedEncPart.Key
	sub := types.EncryptionKey{KeyType: session.KeyType, KeyValue: make([]byte, len(session.KeyValue))}
	rand.Read(sub.KeyValue)
	var seq [4]byte
	rand.Read(seq[:])
	accSeq := int64(binary.BigEndian.Uint32(seq[:]) >> 1)
	part := messages.EncAPRepPart{CTime: req.Authenticator.CTime, Cusec: req.Authenticator.Cusec, Subkey: sub, SequenceNumber: accSeq}
	pb, err := gasn1.Marshal(part)
	pb = asn1tools.AddASNAppTag(pb, 27)
	if err != nil {
		a.t.Fatal(err)
	}
	enc, err := crypto.GetEncryptedData(pb, session, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		a.t.Fatal(err)
	}
	rb, err := gasn1.Marshal(messages.APRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: enc})
	rb = asn1tools.AddASNAppTag(rb, 15)
	if err != nil {
		a.t.Fatal(err)
	}
	a.ctx, err = newGSSContext(sub, false, true, uint64(accSeq))
	if err != nil {
		a.t.Fatal(err)
	}
	out, err := gssFrame([]byte{0x02, 0x00}, rb)
	if err != nil {
		a.t.Fatal(err)
	}
	return out
}

func (a *acceptor) offer() []byte {
	tok, err := a.ctx.Wrap([]byte{a.layers, 0x00, 0xff, 0xff}, false)
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

func setupGSS(t *testing.T) (*krbtest.KDC, *Login, *keytab.Keytab) {
	k := krbtest.Start(t)
	ukt := k.AddPrincipal(t, "alice@"+krbtest.Realm)
	skt := k.AddPrincipal(t, "nn/localhost@"+krbtest.Realm)
	l, err := NewLogin(LoginOptions{Principal: "alice", Keytab: ukt, Krb5Conf: k.Krb5Conf})
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(skt)
	if err != nil {
		t.Fatal(err)
	}
	return k, l, kt
}

func negotiate(t *testing.T, l *Login, kt *keytab.Keytab, qop []string, offered byte) (*acceptor, ipc.SecurityLayer, *gssapiMech) {
	t.Helper()
	auth := &GSSAPIAuth{Login: l, ServerPrincipal: "nn/_HOST@" + krbtest.Realm, QOP: qop}
	mech, err := auth.Mechanism(&commonpb.RpcSasl_Auth{Method: strPtr("KERBEROS"), Mechanism: strPtr("GSSAPI"), Protocol: strPtr("nn"), ServerId: strPtr("localhost")}, ipc.Server{Addr: "localhost:8020"})
	if err != nil || mech == nil {
		t.Fatalf("mechanism: %v", err)
	}
	acc := &acceptor{t: t, kt: kt, layers: offered}
	first, err := mech.Start()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := mech.Step(acc.accept(first)); err != nil || len(r) != 0 {
		t.Fatalf("after the AP-REP: %v %x", err, r)
	}
	resp, err := mech.Step(acc.offer())
	if err != nil {
		t.Fatal(err)
	}
	choice, sealed, err := acc.ctx.Unwrap(resp)
	if err != nil || sealed || len(choice) != 4 {
		t.Fatalf("layer choice: %v sealed=%v %x", err, sealed, choice)
	}
	layer, err := mech.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	return acc, layer, mech.(*gssapiMech)
}

func strPtr(s string) *string { return &s }

func TestGSSAPIPrivacyAndIntegrity(t *testing.T) {
	_, l, kt := setupGSS(t)
	secret := []byte("getFileInfo /user/alice/very-secret-path")
	for _, tc := range []struct {
		qop    []string
		offer  byte
		want   string
		sealed bool
	}{
		{nil, layerNone | layerIntegrity | layerPrivacy, "auth-conf", true},
		{[]string{"auth-int"}, layerNone | layerIntegrity | layerPrivacy, "auth-int", false},
		{nil, layerIntegrity, "auth-int", false},
		{nil, layerNone, "auth", false},
	} {
		acc, layer, mech := negotiate(t, l, kt, tc.qop, tc.offer)
		if mech.QOP() != tc.want {
			t.Fatalf("qop %v offer %b: negotiated %s, want %s", tc.qop, tc.offer, mech.QOP(), tc.want)
		}
		if tc.want == "auth" {
			if layer != nil {
				t.Fatal("a security layer without protection")
			}
			continue
		}
		for i := 0; i < 3; i++ { // sequence numbers advance
			tok, err := layer.Wrap(secret)
			if err != nil {
				t.Fatal(err)
			}
			if tc.sealed == bytes.Contains(tok, secret) {
				t.Fatalf("%s: plaintext visible in the token = %v", tc.want, bytes.Contains(tok, secret))
			}
			got, sealed, err := acc.ctx.Unwrap(tok)
			if err != nil || sealed != tc.sealed || !bytes.Equal(got, secret) {
				t.Fatalf("acceptor unwrap: %v sealed=%v %q", err, sealed, got)
			}
			back, err := acc.ctx.Wrap(append([]byte("reply "), secret...), tc.sealed)
			if err != nil {
				t.Fatal(err)
			}
			got, err = layer.Unwrap(back)
			if err != nil || string(got) != "reply "+string(secret) {
				t.Fatalf("client unwrap: %v %q", err, got)
			}
			// Tampering, reflection and truncation are caught.
			bad := append([]byte(nil), back...)
			bad[len(bad)-3] ^= 0x40
			if _, err := layer.Unwrap(bad); !errors.Is(err, ErrBadToken) {
				t.Fatalf("tampered token: %v", err)
			}
			if _, err := layer.Unwrap(tok); !errors.Is(err, ErrBadToken) {
				t.Fatalf("reflected token: %v", err)
			}
			if _, err := layer.Unwrap(back[:10]); !errors.Is(err, ErrBadToken) {
				t.Fatalf("truncated token: %v", err)
			}
		}
		// A rotated body (RRC, as some acceptors send) unwraps too.
		back, _ := acc.ctx.Wrap([]byte("rotated"), tc.sealed)
		body := back[wrapHeaderLen:]
		rrc := 5
		rot := append(append([]byte{}, body[len(body)-rrc:]...), body[:len(body)-rrc]...)
		tok := append(append([]byte{}, back[:wrapHeaderLen]...), rot...)
		binary.BigEndian.PutUint16(tok[6:8], uint16(rrc))
		if got, err := layer.Unwrap(tok); err != nil || string(got) != "rotated" {
			t.Fatalf("rotated token: %v %q", err, got)
		}
	}
	// The client refuses weaker protection than it accepts.
	auth := &GSSAPIAuth{Login: l, QOP: []string{"auth-conf"}}
	mech, _ := auth.Mechanism(&commonpb.RpcSasl_Auth{Method: strPtr("KERBEROS"), Mechanism: strPtr("GSSAPI"), Protocol: strPtr("nn"), ServerId: strPtr("localhost")}, ipc.Server{Addr: "localhost:8020"})
	acc := &acceptor{t: t, kt: kt, layers: layerIntegrity}
	first, _ := mech.Start()
	mech.Step(acc.accept(first))
	if _, err := mech.Step(acc.offer()); err == nil || !strings.Contains(err.Error(), "hadoop.rpc.protection") {
		t.Fatalf("weaker offer: %v", err)
	}
}

func TestGSSAPIServerPrincipal(t *testing.T) {
	_, l, kt := setupGSS(t)
	auth := &GSSAPIAuth{Login: l, ServerPrincipal: "rm/_HOST@" + krbtest.Realm}
	_, err := auth.Mechanism(&commonpb.RpcSasl_Auth{Method: strPtr("KERBEROS"), Mechanism: strPtr("GSSAPI"), Protocol: strPtr("nn"), ServerId: strPtr("localhost")}, ipc.Server{Addr: "localhost:8020"})
	if err == nil || !strings.Contains(err.Error(), "server principal mismatch") || !strings.Contains(err.Error(), "rm/localhost") {
		t.Fatalf("mismatch: %v", err)
	}
	if m, err := auth.Mechanism(&commonpb.RpcSasl_Auth{Method: strPtr("TOKEN"), Mechanism: strPtr("DIGEST-MD5")}, ipc.Server{Addr: "localhost:8020"}); m != nil || err != nil {
		t.Fatalf("DIGEST offer taken by GSSAPI: %v %v", m, err)
	}
	// A server unknown to the KDC.
	auth = &GSSAPIAuth{Login: l}
	mech, _ := auth.Mechanism(&commonpb.RpcSasl_Auth{Method: strPtr("KERBEROS"), Mechanism: strPtr("GSSAPI"), Protocol: strPtr("dn"), ServerId: strPtr("elsewhere")}, ipc.Server{Addr: "elsewhere:1"})
	if _, err := mech.Start(); err == nil || !strings.Contains(err.Error(), "does not know the service principal dn/elsewhere") {
		t.Fatalf("unknown server principal: %v", err)
	}
	// An AP-REP that is not one, or from a server without the right key.
	auth = &GSSAPIAuth{Login: l}
	mech, _ = auth.Mechanism(&commonpb.RpcSasl_Auth{Method: strPtr("KERBEROS"), Mechanism: strPtr("GSSAPI"), Protocol: strPtr("nn"), ServerId: strPtr("localhost")}, ipc.Server{Addr: "localhost:8020"})
	mech.Start()
	for _, junk := range [][]byte{nil, {0x60, 0x01}, []byte("not a token at all")} {
		if _, err := mech.Step(junk); !errors.Is(err, ErrBadToken) {
			t.Fatalf("junk AP-REP %q: %v", junk, err)
		}
	}
	_ = kt
	_ = time.Second
}

func FuzzUnwrap(f *testing.F) {
	key := types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)}
	acc, _ := newGSSContext(key, false, true, 1)
	ini, _ := newGSSContext(key, true, true, 1)
	s, _ := acc.Wrap([]byte("sealed"), true)
	i, _ := acc.Wrap([]byte("signed"), false)
	f.Add(s)
	f.Add(i)
	f.Add([]byte{0x05, 0x04, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, tok []byte) {
		msg, _, err := ini.Unwrap(tok)
		if err == nil && msg == nil {
			t.Fatal("nil message without error")
		}
		if err != nil && !errors.Is(err, ErrBadToken) {
			t.Fatalf("error not marked ErrBadToken: %v", err)
		}
	})
}
