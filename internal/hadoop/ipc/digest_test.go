package ipc

import (
	"bytes"
	"crypto/md5"
	"crypto/rc4"
	"errors"
	"strings"
	"testing"
)

// RFC 2831 section 4 worked example (IMAP).
func TestDigestRFC2831Example(t *testing.T) {
	ch, err := parseDigestChallenge([]byte(`realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8`))
	if err != nil {
		t.Fatal(err)
	}
	if ch.nonce != "OA6MG9tEQGm2hh" || len(ch.realms) != 1 || ch.realms[0] != "elwood.innosoft.com" || ch.qops[0] != "auth" {
		t.Fatalf("parsed %+v", ch)
	}
	resp, ha1 := digestResponse("chris", "elwood.innosoft.com", "secret", ch.nonce, "OA6MHXh6VqTrRk", "00000001", "auth", "imap/elwood.innosoft.com", "AUTHENTICATE")
	if resp != "d388dad90d4bbd760a152321f2143af7" {
		t.Errorf("response = %s, want d388dad90d4bbd760a152321f2143af7", resp)
	}
	if rsp := digestKD(ha1, ch.nonce, "OA6MHXh6VqTrRk", "00000001", "auth", "imap/elwood.innosoft.com", ""); rsp != "ea40f60335c427b5527b84dbabcdfffd" {
		t.Errorf("rspauth = %s, want ea40f60335c427b5527b84dbabcdfffd", rsp)
	}
}

func TestDigestMechanismFlow(t *testing.T) {
	d := &digestMD5{
		username: []byte("aWQ="), password: []byte("cHc="), digestURI: "/default",
		challenge: []byte(`realm="default",nonce="n0nce",qop="auth,auth-int",charset=utf-8,algorithm=md5-sess`),
		qops:      []string{"auth-int", "auth"},
		rand:      func(b []byte) error { copy(b, bytes.Repeat([]byte{7}, len(b))); return nil },
	}
	tok, err := d.Start()
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := parseDirectives(tok)
	if err != nil {
		t.Fatalf("our own response does not parse: %v: %s", err, tok)
	}
	got := map[string]string{}
	for _, kv := range dirs {
		got[kv[0]] = kv[1]
	}
	for k, want := range map[string]string{"username": "aWQ=", "realm": "default", "nonce": "n0nce", "nc": "00000001",
		"qop": "auth-int", "digest-uri": "/default", "charset": "utf-8"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if _, err := d.Finish(nil); err == nil || !strings.Contains(err.Error(), "rspauth") {
		t.Errorf("Finish without rspauth: err = %v", err)
	}
	if _, err := d.Finish([]byte("rspauth=00000000000000000000000000000000")); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("Finish with a wrong rspauth: err = %v", err)
	}
	good := digestKD(d.ha1, "n0nce", d.cnonce, "00000001", "auth-int", "/default", "")
	layer, err := d.Finish([]byte("rspauth=" + good))
	if err != nil || layer == nil {
		t.Fatalf("Finish = %v, %v; want an auth-int layer", layer, err)
	}
}

func TestDigestQOPMismatch(t *testing.T) {
	d := &digestMD5{qops: []string{"auth"}, challenge: []byte(`nonce="x",qop="auth-conf",algorithm=md5-sess`)}
	if _, err := d.Start(); err == nil || !strings.Contains(err.Error(), "auth-conf") {
		t.Fatalf("err = %v", err)
	}
}

func TestDigestChallengeMalformed(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "no nonce"},
		{`realm="x",qop="auth",algorithm=md5-sess`, "no nonce"},
		{`nonce="a",nonce="b",algorithm=md5-sess`, "appears twice"},
		{`nonce="a"`, "algorithm"},
		{`nonce="a",algorithm=md5`, "algorithm"},
		{`nonce="a,algorithm=md5-sess`, "unterminated"},
		{`nonce`, "without a value"},
		{`=x`, "without a value"},
		{`nonce="a" algorithm=md5-sess`, "expected ','"},
		{`nonce="a",algorithm=md5-sess,maxbuf=-1`, "maxbuf"},
		{`nonce="a",algorithm=md5-sess,charset=latin1`, "charset"},
		{"no\x00nce=a", "invalid byte"},
	} {
		_, err := parseDigestChallenge([]byte(tc.in))
		if err == nil || !errors.Is(err, ErrDigestChallenge) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) err = %v, want ErrDigestChallenge mentioning %q", tc.in, err, tc.want)
		}
	}
	// Escapes, spaces and empty elements are fine.
	c, err := parseDigestChallenge([]byte(` , realm = "a\"b" ,, nonce="n\\x", algorithm=md5-sess ,`))
	if err != nil || c.realms[0] != `a"b` || c.nonce != `n\x` {
		t.Fatalf("parse = %+v, %v", c, err)
	}
}

func TestDigestIntegrityLayer(t *testing.T) {
	var ha1 [16]byte
	copy(ha1[:], "0123456789abcdef")
	client := newDigestIntegrity(ha1)
	// The server's layer is the client's with the keys swapped.
	server := &digestIntegrity{kic: client.kis, kis: client.kic}
	for i, msg := range []string{"first", "", "third packet"} {
		w, _ := client.Wrap([]byte(msg))
		got, err := server.Unwrap(w)
		if err != nil || string(got) != msg {
			t.Fatalf("message %d: Unwrap = %q, %v", i, got, err)
		}
	}
	w, _ := client.Wrap([]byte("tamper"))
	w[0] ^= 1
	if _, err := server.Unwrap(w); err == nil || !strings.Contains(err.Error(), "integrity") {
		t.Fatalf("tampered: err = %v", err)
	}
	w, _ = client.Wrap([]byte("replay"))
	if _, err := server.Unwrap(w); err == nil || !strings.Contains(err.Error(), "sequence") {
		t.Fatalf("out of sequence: err = %v", err)
	}
	if _, err := server.Unwrap([]byte("short")); err == nil {
		t.Fatal("short message accepted")
	}
}

func FuzzDigestChallenge(f *testing.F) {
	f.Add([]byte(`realm="default",nonce="abc",qop="auth",charset=utf-8,algorithm=md5-sess`))
	f.Add([]byte(`realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8`))
	f.Add([]byte(`nonce="a\"b",qop="auth-int,auth-conf",cipher="rc4,3des",maxbuf=2048,algorithm=md5-sess,stale=true`))
	f.Add([]byte(`nonce="unterminated`))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := parseDigestChallenge(in)
		if err != nil {
			if !errors.Is(err, ErrDigestChallenge) {
				t.Fatalf("error %v does not wrap ErrDigestChallenge", err)
			}
			return
		}
		if c.nonce == "" || c.algorithm != "md5-sess" || len(c.qops) == 0 {
			t.Fatalf("accepted an unusable challenge: %+v", c)
		}
		// A usable challenge always yields a response that parses.
		d := &digestMD5{username: []byte("u"), password: []byte("p"), digestURI: "/default", qops: c.qops}
		tok, err := d.respond(in)
		if err != nil {
			if strings.Contains(err.Error(), "client supports") {
				return // auth-conf offered only with ciphers we do not implement
			}
			t.Fatal(err)
		}
		if _, err := parseDirectives(tok); err != nil {
			t.Fatalf("response %q does not parse: %v", tok, err)
		}
	})
}

func TestDigestPrivacyLayer(t *testing.T) {
	var ha1 [16]byte
	copy(ha1[:], "fedcba9876543210")
	for _, cipher := range supportedCiphers {
		client, err := newDigestPrivacy(ha1, cipher)
		if err != nil {
			t.Fatal(err)
		}
		// The server's view: the same keys with the directions swapped.
		mirror, _ := newDigestPrivacy(ha1, cipher)
		server := &digestPrivacy{kic: mirror.kis, kis: mirror.kic}
		n := map[string]int{"rc4": 16, "rc4-56": 7, "rc4-40": 5}[cipher]
		server.enc = rc4For(t, ha1[:n], "server-to-client")
		server.dec = rc4For(t, ha1[:n], "client-to-server")
		for i, msg := range []string{"hello", strings.Repeat("x", 5000), ""} {
			w, _ := client.Wrap([]byte(msg))
			if msg != "" && bytes.Contains(w, []byte(msg)) {
				t.Fatalf("%s: message %d travels in cleartext", cipher, i)
			}
			got, err := server.Unwrap(w)
			if err != nil || string(got) != msg {
				t.Fatalf("%s: message %d: %q, %v", cipher, i, got, err)
			}
			back, _ := server.Wrap([]byte("re:" + msg))
			got, err = client.Unwrap(back)
			if err != nil || string(got) != "re:"+msg {
				t.Fatalf("%s: reply %d: %q, %v", cipher, i, got, err)
			}
		}
		w, _ := client.Wrap([]byte("tamper"))
		w[2] ^= 0x40
		if _, err := server.Unwrap(w); err == nil {
			t.Fatalf("%s: tampered message accepted", cipher)
		}
	}
	if _, err := newDigestPrivacy(ha1, "3des"); err == nil || !strings.Contains(err.Error(), "not implemented") {
		t.Fatalf("3des: err = %v", err)
	}
}

func rc4For(t *testing.T, key []byte, dir string) *rc4.Cipher {
	k := md5.Sum(append(append([]byte(nil), key...), "Digest H(A1) to "+dir+" sealing key magic constant"...))
	c, err := rc4.NewCipher(k[:])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDigestCipherChoice(t *testing.T) {
	d := &digestMD5{username: []byte("u"), password: []byte("p"), digestURI: "/default", qops: []string{"auth-conf"},
		challenge: []byte(`nonce="n",qop="auth-conf",cipher="3des,rc4,des,rc4-56,rc4-40",algorithm=md5-sess`)}
	tok, err := d.Start()
	if err != nil || !strings.Contains(string(tok), ",cipher=rc4") {
		t.Fatalf("Start = %s, %v", tok, err)
	}
	d = &digestMD5{qops: []string{"auth-conf"}, challenge: []byte(`nonce="n",qop="auth-conf",cipher="3des,des",algorithm=md5-sess`)}
	if _, err := d.Start(); err == nil || !strings.Contains(err.Error(), "ciphers") {
		t.Fatalf("only 3des/des: err = %v", err)
	}
}

// BenchmarkDigestLayers wraps and unwraps 32 KiB chunks (what datatransfer sends) with the
// auth-int and auth-conf (RC4) layers.
func BenchmarkDigestLayers(b *testing.B) {
	chunk := bytes.Repeat([]byte{7}, 32<<10)
	ha1 := [16]byte{1}
	b.Run("integrity", func(b *testing.B) {
		c, s := newDigestIntegrity(ha1), newDigestIntegrity(ha1)
		s.kis = s.kic // let the same side unwrap what it wrapped
		b.SetBytes(int64(len(chunk)))
		for i := 0; i < b.N; i++ {
			w, _ := c.Wrap(chunk)
			if _, err := s.Unwrap(w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("privacy", func(b *testing.B) {
		c, _ := newDigestPrivacy(ha1, "rc4")
		s, _ := newDigestPrivacy(ha1, "rc4")
		fresh, _ := newDigestPrivacy(ha1, "rc4")
		// The receiving side decrypts with the client-to-server key and checks its MAC key.
		s.dec, s.kis = fresh.enc, s.kic
		b.SetBytes(int64(len(chunk)))
		for i := 0; i < b.N; i++ {
			w, _ := c.Wrap(chunk)
			if _, err := s.Unwrap(w); err != nil {
				b.Fatal(err)
			}
		}
	})
}
