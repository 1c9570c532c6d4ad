package ipc

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// ErrDigestChallenge is wrapped by errors about a DIGEST-MD5 challenge that cannot be used.
var ErrDigestChallenge = errors.New("bad DIGEST-MD5 challenge")

// digestChallenge is a parsed RFC 2831 digest-challenge.
type digestChallenge struct {
	realms    []string
	nonce     string
	qops      []string
	charset   string
	algorithm string
	maxbuf    int
	ciphers   []string
	stale     bool
}

// parseDigestChallenge parses an RFC 2831 section 2.1.1 challenge.
func parseDigestChallenge(b []byte) (*digestChallenge, error) {
	dirs, err := parseDirectives(b)
	if err != nil {
		return nil, err
	}
	c := &digestChallenge{maxbuf: 65536}
	seen := map[string]bool{}
	for _, d := range dirs {
		k := strings.ToLower(d[0])
		if k != "realm" && seen[k] {
			return nil, fmt.Errorf("ipc: %w: directive %q appears twice", ErrDigestChallenge, k)
		}
		seen[k] = true
		v := d[1]
		switch k {
		case "realm":
			c.realms = append(c.realms, v)
		case "nonce":
			c.nonce = v
		case "qop":
			// Unknown options are ignored, as RFC 2831 asks of clients.
			c.qops = []string{}
			for _, q := range splitList(v) {
				if q == "auth" || q == "auth-int" || q == "auth-conf" {
					c.qops = append(c.qops, q)
				}
			}
			if len(c.qops) == 0 {
				return nil, fmt.Errorf("ipc: %w: no known qop in %q", ErrDigestChallenge, v)
			}
		case "charset":
			c.charset = v
		case "algorithm":
			c.algorithm = v
		case "maxbuf":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("ipc: %w: maxbuf %q", ErrDigestChallenge, v)
			}
			c.maxbuf = n
		case "cipher":
			c.ciphers = splitList(v)
		case "stale":
			c.stale = strings.EqualFold(v, "true")
		}
	}
	if c.nonce == "" {
		return nil, fmt.Errorf("ipc: %w: no nonce", ErrDigestChallenge)
	}
	if c.algorithm != "md5-sess" {
		return nil, fmt.Errorf("ipc: %w: algorithm %q, want md5-sess", ErrDigestChallenge, c.algorithm)
	}
	if c.charset != "" && !strings.EqualFold(c.charset, "utf-8") {
		return nil, fmt.Errorf("ipc: %w: charset %q, want utf-8", ErrDigestChallenge, c.charset)
	}
	if c.qops == nil {
		c.qops = []string{"auth"}
	}
	for _, q := range c.qops {
		if q == "auth-conf" && len(c.ciphers) == 0 {
			return nil, fmt.Errorf("ipc: %w: qop auth-conf offered without a cipher directive", ErrDigestChallenge)
		}
	}
	return c, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseDirectives splits `k=v, k="quoted \" v", ...` into pairs.
func parseDirectives(b []byte) ([][2]string, error) {
	var out [][2]string
	i, n := 0, len(b)
	skipSpace := func() {
		for i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
	}
	for {
		skipSpace()
		for i < n && b[i] == ',' {
			i++
			skipSpace()
		}
		if i >= n {
			return out, nil
		}
		start := i
		for i < n && b[i] != '=' && b[i] != ',' && b[i] != ' ' && b[i] != '\t' {
			if b[i] < 0x21 || b[i] == '"' || b[i] > 0x7e {
				return nil, fmt.Errorf("ipc: %w: invalid byte 0x%02x in a directive name at offset %d", ErrDigestChallenge, b[i], i)
			}
			i++
		}
		key := string(b[start:i])
		skipSpace()
		if key == "" || i >= n || b[i] != '=' {
			return nil, fmt.Errorf("ipc: %w: directive %q without a value at offset %d", ErrDigestChallenge, key, start)
		}
		i++
		skipSpace()
		var val []byte
		if i < n && b[i] == '"' {
			i++
			closed := false
			for i < n {
				c := b[i]
				if c == '\\' && i+1 < n {
					val = append(val, b[i+1])
					i += 2
					continue
				}
				if c == '"' {
					i++
					closed = true
					break
				}
				val = append(val, c)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("ipc: %w: unterminated quoted value of %q", ErrDigestChallenge, key)
			}
		} else {
			vs := i
			for i < n && b[i] != ',' && b[i] != ' ' && b[i] != '\t' {
				i++
			}
			val = b[vs:i]
		}
		out = append(out, [2]string{key, string(val)})
		skipSpace()
		if i < n && b[i] != ',' {
			return nil, fmt.Errorf("ipc: %w: expected ',' after %q at offset %d", ErrDigestChallenge, key, i)
		}
		if len(out) > 64 {
			return nil, fmt.Errorf("ipc: %w: too many directives", ErrDigestChallenge)
		}
	}
}

// digestMD5 is the client side of SASL DIGEST-MD5 (RFC 2831) as Hadoop uses it for TOKEN auth.
type digestMD5 struct {
	username, password []byte
	digestURI          string
	challenge          []byte // from the NEGOTIATE offer, if the server put it there
	qops               []string
	rand               func([]byte) error

	qop    string
	cipher string // for auth-conf
	ha1    [16]byte
	cnonce string
	nonce  string
	sent   bool
	rspOK  bool
}

func (*digestMD5) Name() string { return "DIGEST-MD5" }

// QOP is the negotiated quality of protection.
func (d *digestMD5) QOP() string { return d.qop }

func (d *digestMD5) Start() ([]byte, error) {
	if len(d.challenge) == 0 {
		return nil, nil // wait for the CHALLENGE
	}
	return d.respond(d.challenge)
}

func (d *digestMD5) Step(challenge []byte) ([]byte, error) {
	if !d.sent {
		return d.respond(challenge)
	}
	// Second challenge: rspauth (some servers send it in CHALLENGE, then SUCCESS with nothing).
	if err := d.checkRspauth(challenge); err != nil {
		return nil, err
	}
	return nil, nil
}

func (d *digestMD5) Finish(token []byte) (SecurityLayer, error) {
	if len(token) > 0 {
		if err := d.checkRspauth(token); err != nil {
			return nil, err
		}
	}
	if !d.rspOK {
		return nil, fmt.Errorf("ipc: DIGEST-MD5: server finished without proving it knows the token password (no rspauth)")
	}
	switch d.qop {
	case "auth":
		return nil, nil
	case "auth-int":
		return newDigestIntegrity(d.ha1), nil
	case "auth-conf":
		return newDigestPrivacy(d.ha1, d.cipher)
	}
	return nil, fmt.Errorf("ipc: DIGEST-MD5: qop %s is not implemented", d.qop)
}

func (d *digestMD5) respond(raw []byte) ([]byte, error) {
	c, err := parseDigestChallenge(raw)
	if err != nil {
		return nil, err
	}
	d.qop = ""
	for _, want := range d.qops {
		for _, have := range c.qops {
			if want == have {
				d.qop = want
				break
			}
		}
		if d.qop != "" {
			break
		}
	}
	if d.qop == "" {
		return nil, fmt.Errorf("ipc: DIGEST-MD5: server offers qop %v, client accepts %v (hadoop.rpc.protection mismatch?)", c.qops, d.qops)
	}
	d.cipher = ""
	if d.qop == "auth-conf" {
		for _, want := range supportedCiphers {
			for _, have := range c.ciphers {
				if want == have && d.cipher == "" {
					d.cipher = want
				}
			}
		}
		if d.cipher == "" {
			return nil, fmt.Errorf("ipc: DIGEST-MD5: auth-conf with ciphers %v, client supports %v", c.ciphers, supportedCiphers)
		}
	}
	realm := ""
	if len(c.realms) > 0 {
		realm = c.realms[0]
	}
	cn := make([]byte, 24)
	rnd := d.rand
	if rnd == nil {
		rnd = func(b []byte) error { _, err := rand.Read(b); return err }
	}
	if err := rnd(cn); err != nil {
		return nil, fmt.Errorf("ipc: DIGEST-MD5: client nonce: %w", err)
	}
	d.cnonce = b64(cn)
	d.nonce = c.nonce
	resp, ha1 := digestResponse(string(d.username), realm, string(d.password), c.nonce, d.cnonce, "00000001", d.qop, d.digestURI, "AUTHENTICATE")
	d.ha1 = ha1
	var b strings.Builder
	fmt.Fprintf(&b, `charset=utf-8,username="%s",realm="%s",nonce="%s",nc=00000001,cnonce="%s",digest-uri="%s",maxbuf=65536,response=%s,qop=%s`,
		quote(string(d.username)), quote(realm), quote(c.nonce), quote(d.cnonce), quote(d.digestURI), resp, d.qop)
	if d.cipher != "" {
		fmt.Fprintf(&b, ",cipher=%s", d.cipher)
	}
	d.sent = true
	return []byte(b.String()), nil
}

func (d *digestMD5) checkRspauth(tok []byte) error {
	dirs, err := parseDirectives(tok)
	if err != nil {
		return err
	}
	got := ""
	for _, kv := range dirs {
		if strings.EqualFold(kv[0], "rspauth") {
			got = kv[1]
		}
	}
	if got == "" {
		return fmt.Errorf("ipc: DIGEST-MD5: server's final message has no rspauth")
	}
	want := digestKD(d.ha1, d.nonce, d.cnonce, "00000001", d.qop, d.digestURI, "")
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("ipc: DIGEST-MD5: server's rspauth does not match: the server does not know the token password")
	}
	d.rspOK = true
	return nil
}

func quote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// digestResponse computes the RFC 2831 response value and H(A1) for md5-sess.
func digestResponse(user, realm, pass, nonce, cnonce, nc, qop, uri, method string) (string, [16]byte) {
	inner := md5.Sum([]byte(user + ":" + realm + ":" + pass))
	a1 := append(inner[:], []byte(":"+nonce+":"+cnonce)...)
	ha1 := md5.Sum(a1)
	return digestKD(ha1, nonce, cnonce, nc, qop, uri, method), ha1
}

func digestKD(ha1 [16]byte, nonce, cnonce, nc, qop, uri, method string) string {
	a2 := method + ":" + uri
	if qop == "auth-int" || qop == "auth-conf" {
		a2 += ":00000000000000000000000000000000"
	}
	ha2 := md5.Sum([]byte(a2))
	kd := md5.Sum([]byte(hex.EncodeToString(ha1[:]) + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + hex.EncodeToString(ha2[:])))
	return hex.EncodeToString(kd[:])
}

// digestIntegrity is the auth-int security layer (RFC 2831 section 2.3): each message is
// followed by the first 10 bytes of HMAC-MD5(Ki, seq || msg), the type 0x0001 and seq.
type digestIntegrity struct {
	kic, kis        [16]byte
	sendSeq, rcvSeq uint32
}

func newDigestIntegrity(ha1 [16]byte) *digestIntegrity {
	return &digestIntegrity{
		kic: md5.Sum(append(ha1[:], "Digest session key to client-to-server signing key magic constant"...)),
		kis: md5.Sum(append(ha1[:], "Digest session key to server-to-client signing key magic constant"...)),
	}
}

func digestMAC(key []byte, seq uint32, msg []byte) []byte {
	m := hmac.New(md5.New, key)
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], seq)
	m.Write(s[:])
	m.Write(msg)
	return m.Sum(nil)[:10]
}

func (l *digestIntegrity) Wrap(p []byte) ([]byte, error) {
	out := append(append([]byte(nil), p...), digestMAC(l.kic[:], l.sendSeq, p)...)
	out = append(out, 0, 1)
	out = binary.BigEndian.AppendUint32(out, l.sendSeq)
	l.sendSeq++
	return out, nil
}

func (l *digestIntegrity) Unwrap(p []byte) ([]byte, error) {
	if len(p) < 16 {
		return nil, fmt.Errorf("ipc: DIGEST-MD5 auth-int: wrapped message of %d bytes is too short", len(p))
	}
	msg, mac, typ, seq := p[:len(p)-16], p[len(p)-16:len(p)-6], p[len(p)-6:len(p)-4], binary.BigEndian.Uint32(p[len(p)-4:])
	if !bytes.Equal(typ, []byte{0, 1}) {
		return nil, fmt.Errorf("ipc: DIGEST-MD5 auth-int: bad message type %x", typ)
	}
	if seq != l.rcvSeq {
		return nil, fmt.Errorf("ipc: DIGEST-MD5 auth-int: sequence number %d, want %d", seq, l.rcvSeq)
	}
	if !hmac.Equal(mac, digestMAC(l.kis[:], seq, msg)) {
		return nil, fmt.Errorf("ipc: DIGEST-MD5 auth-int: message integrity check failed")
	}
	l.rcvSeq++
	return msg, nil
}

// supportedCiphers are the auth-conf ciphers implemented, strongest first. 3DES and DES
// (RFC 2831's other options) are not implemented yet.
var supportedCiphers = []string{"rc4", "rc4-56", "rc4-40"}

// digestPrivacy is the auth-conf security layer with an RC4 cipher (RFC 2831 section 2.4):
// each message becomes RC4(msg || HMAC-MD5(Ki, seq || msg)[:10]) || 0x0001 || seq, with one
// cipher stream per direction for the whole connection.
type digestPrivacy struct {
	kic, kis        [16]byte
	enc, dec        *rc4.Cipher
	sendSeq, rcvSeq uint32
}

func newDigestPrivacy(ha1 [16]byte, cipher string) (*digestPrivacy, error) {
	n := map[string]int{"rc4": 16, "rc4-56": 7, "rc4-40": 5}[cipher]
	if n == 0 {
		return nil, fmt.Errorf("ipc: DIGEST-MD5: cipher %q is not implemented", cipher)
	}
	kcc := md5.Sum(append(append([]byte(nil), ha1[:n]...), "Digest H(A1) to client-to-server sealing key magic constant"...))
	kcs := md5.Sum(append(append([]byte(nil), ha1[:n]...), "Digest H(A1) to server-to-client sealing key magic constant"...))
	enc, err := rc4.NewCipher(kcc[:])
	if err != nil {
		return nil, err
	}
	dec, err := rc4.NewCipher(kcs[:])
	if err != nil {
		return nil, err
	}
	in := newDigestIntegrity(ha1)
	return &digestPrivacy{kic: in.kic, kis: in.kis, enc: enc, dec: dec}, nil
}

func (l *digestPrivacy) Wrap(p []byte) ([]byte, error) {
	out := make([]byte, 0, len(p)+16)
	out = append(append(out, p...), digestMAC(l.kic[:], l.sendSeq, p)...)
	l.enc.XORKeyStream(out, out) // in place
	out = append(out, 0, 1)
	out = binary.BigEndian.AppendUint32(out, l.sendSeq)
	l.sendSeq++
	return out, nil
}

func (l *digestPrivacy) Unwrap(p []byte) ([]byte, error) {
	if len(p) < 16 {
		return nil, fmt.Errorf("ipc: DIGEST-MD5 auth-conf: wrapped message of %d bytes is too short", len(p))
	}
	body, typ, seq := p[:len(p)-6], p[len(p)-6:len(p)-4], binary.BigEndian.Uint32(p[len(p)-4:])
	if !bytes.Equal(typ, []byte{0, 1}) {
		return nil, fmt.Errorf("ipc: DIGEST-MD5 auth-conf: bad message type %x", typ)
	}
	if seq != l.rcvSeq {
		return nil, fmt.Errorf("ipc: DIGEST-MD5 auth-conf: sequence number %d, want %d", seq, l.rcvSeq)
	}
	plain := make([]byte, len(body)) // body is the caller's: not decrypted in place
	l.dec.XORKeyStream(plain, body)
	msg, mac := plain[:len(plain)-10], plain[len(plain)-10:]
	if !hmac.Equal(mac, digestMAC(l.kis[:], seq, msg)) {
		return nil, fmt.Errorf("ipc: DIGEST-MD5 auth-conf: message integrity check failed (wrong key or corrupted data)")
	}
	l.rcvSeq++
	return msg, nil
}
