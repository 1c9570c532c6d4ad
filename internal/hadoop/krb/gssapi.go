package krb

import (
	"context"
	"crypto/rand"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net"
	"path"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
)

// GSS-API context flags (RFC 4121 §4.1.1.1) requested in the authenticator.
const (
	gssMutual   = 2
	gssSequence = 8
	gssConf     = 16
	gssInteg    = 32
)

// krb5OID is the Kerberos V5 GSS-API mechanism, 1.2.840.113554.1.2.2.
var krb5OID = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}

// SASL GSSAPI security layers (RFC 4752 §3.3).
const (
	layerNone      = 1
	layerIntegrity = 2
	layerPrivacy   = 4
)

// GSSAPIAuth authenticates Hadoop RPC connections as a logged-in Kerberos
// principal (Hadoop method KERBEROS, SASL mechanism GSSAPI).
type GSSAPIAuth struct {
	Login *Login
	// ServerPrincipal is the server's configured principal, such as
	// nn/_HOST@REALM from dfs.namenode.kerberos.principal; _HOST becomes the
	// dialled host, or its canonical name (the reverse lookup of its
	// address, as Java's getCanonicalHostName gives). The principal the
	// server advertises must match it. ""
	// accepts whatever the server advertises (unless ServerPrincipalPattern).
	ServerPrincipal string
	// ServerPrincipalPattern is the configuration's <key>.pattern glob (such
	// as dfs.namenode.kerberos.principal.pattern, path.Match syntax): when
	// set, the advertised principal (service/host, also tried with the
	// realm appended) must match it instead of ServerPrincipal.
	ServerPrincipalPattern string
	// QOP lists the acceptable protections, strongest first; nil accepts
	// whatever the server offers (auth-conf, auth-int, auth).
	QOP []string
	// ProxyUser, when set, is the user the connection acts for (Hadoop
	// impersonation): the connection context names it as the effective
	// user, and the server takes the authenticated principal as the real
	// user, allowed or refused by its hadoop.proxyuser.<real user>.* rules.
	ProxyUser string
}

var _ ipc.Authenticator = (*GSSAPIAuth)(nil)

// Method implements ipc.Authenticator.
func (*GSSAPIAuth) Method() string { return ipc.MethodKerberos }

// ContextUser implements ipc.Authenticator: the full principal name, as
// Java's UserGroupInformation.getUserName gives it, or the proxy user (as
// Java's client sends a proxy UGI's name on a KERBEROS connection, without
// a real user: the server has that from the authentication).
func (a *GSSAPIAuth) ContextUser() string {
	if a.ProxyUser != "" {
		return a.ProxyUser
	}
	return a.Login.Principal()
}

// ExpandHost replaces a _HOST host component of a principal
// (service/_HOST@REALM or service/_HOST) with host, lowercased, as Hadoop's
// SecurityUtil.getServerPrincipal does.
func ExpandHost(principal, host string) string {
	name, realm, hasRealm := strings.Cut(principal, "@")
	svc, h, ok := strings.Cut(name, "/")
	if !ok || h != "_HOST" {
		return principal
	}
	out := svc + "/" + strings.ToLower(strings.TrimSuffix(host, "."))
	if hasRealm {
		out += "@" + realm
	}
	return out
}

// lookupAddr is the reverse lookup behind canonical host names (a variable
// for tests).
var lookupAddr = func(ctx context.Context, addr string) ([]string, error) {
	return net.DefaultResolver.LookupAddr(ctx, addr)
}

// canonicalNames are the names of host's addresses (host itself resolved
// when it is a name), as Java's InetAddress.getCanonicalHostName finds them.
func canonicalNames(host string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	addrs := []string{host}
	if net.ParseIP(host) == nil {
		ips, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			return nil
		}
		addrs = ips
	}
	var names []string
	for _, a := range addrs {
		ns, err := lookupAddr(ctx, a)
		if err != nil {
			continue
		}
		for _, n := range ns {
			names = append(names, strings.ToLower(strings.TrimSuffix(n, ".")))
		}
	}
	return names
}

// checkServerPrincipal compares the server's advertised principal with the
// configured one (or pattern).
func (a *GSSAPIAuth) checkServerPrincipal(spn string, srv ipc.Server) error {
	if a.ServerPrincipalPattern != "" {
		realm := ""
		if _, r, ok := strings.Cut(a.ServerPrincipal, "@"); ok {
			realm = r
		} else if a.Login != nil {
			_, realm = splitPrincipal(a.Login.Principal(), "")
		}
		for _, cand := range []string{spn, spn + "@" + realm} {
			if ok, err := path.Match(a.ServerPrincipalPattern, cand); err != nil {
				return fmt.Errorf("server principal pattern %q: %w", a.ServerPrincipalPattern, err)
			} else if ok {
				return nil
			}
		}
		return fmt.Errorf("server principal mismatch: %s advertises %s, which does not match the configured pattern %s (check the server's *.kerberos.principal.pattern)", srv.Addr, spn, a.ServerPrincipalPattern)
	}
	if a.ServerPrincipal == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		host = srv.Addr
	}
	want := ExpandHost(a.ServerPrincipal, host)
	tried := []string{want}
	matches := func(p string) bool {
		name, _, _ := strings.Cut(p, "@")
		return strings.EqualFold(name, spn)
	}
	if matches(want) {
		return nil
	}
	if want != a.ServerPrincipal { // _HOST: also the canonical names
		for _, n := range canonicalNames(host) {
			alt := ExpandHost(a.ServerPrincipal, n)
			if matches(alt) {
				return nil
			}
			tried = append(tried, alt)
		}
	}
	return fmt.Errorf("server principal mismatch: %s advertises %s but the configuration expects %s (check the server's *.kerberos.principal)", srv.Addr, spn, strings.Join(tried, " or "))
}

// Mechanism implements ipc.Authenticator.
func (a *GSSAPIAuth) Mechanism(auth *commonpb.RpcSasl_Auth, srv ipc.Server) (ipc.Mechanism, error) {
	if auth.GetMechanism() != "GSSAPI" {
		return nil, nil
	}
	if auth.GetProtocol() == "" || auth.GetServerId() == "" {
		return nil, fmt.Errorf("the server advertises GSSAPI without its principal (protocol %q, server id %q)", auth.GetProtocol(), auth.GetServerId())
	}
	spn := auth.GetProtocol() + "/" + auth.GetServerId()
	if err := a.checkServerPrincipal(spn, srv); err != nil {
		return nil, err
	}
	qop := a.QOP
	if qop == nil {
		qop = []string{"auth-conf", "auth-int", "auth"}
	}
	return &gssapiMech{login: a.Login, spn: spn, qops: qop}, nil
}

type gssapiMech struct {
	login *Login
	spn   string
	qops  []string

	state      int // 0 start, 1 AP-REP awaited, 2 layer offer awaited, 3 done
	sessionKey types.EncryptionKey
	seq        uint64
	ctime      time.Time // the authenticator's, which the AP-REP must echo
	cusec      int
	ctx        *gssContext
	layer      byte
}

func (m *gssapiMech) Name() string { return "GSSAPI" }

// QOP is the negotiated protection, for ipc.Conn.
func (m *gssapiMech) QOP() string {
	switch m.layer {
	case layerPrivacy:
		return "auth-conf"
	case layerIntegrity:
		return "auth-int"
	}
	return "auth"
}

// Start builds the GSS initial context token: an AP-REQ asking for mutual
// authentication, integrity and confidentiality.
func (m *gssapiMech) Start() ([]byte, error) {
	tkt, key, err := m.login.ServiceTicket(m.spn)
	if err != nil {
		return nil, err
	}
	m.sessionKey = key
	princ := m.login.Principal()
	user, realm := splitPrincipal(princ, "")
	auth, err := types.NewAuthenticator(realm, types.NewPrincipalName(1, user))
	if err != nil {
		return nil, fmt.Errorf("kerberos: authenticator: %w", err)
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1<<31-1))
	if err != nil {
		return nil, err
	}
	auth.SeqNumber = n.Int64()
	m.seq = uint64(auth.SeqNumber)
	m.ctime, m.cusec = auth.CTime, auth.Cusec
	sum := make([]byte, 24)
	binary.LittleEndian.PutUint32(sum[0:4], 16) // channel bindings: none
	binary.LittleEndian.PutUint32(sum[20:24], gssMutual|gssSequence|gssConf|gssInteg)
	auth.Cksum = types.Checksum{CksumType: 0x8003, Checksum: sum}
	apreq, err := messages.NewAPReq(tkt, key, auth)
	if err != nil {
		return nil, fmt.Errorf("kerberos: AP-REQ for %s: %w", m.spn, err)
	}
	types.SetFlag(&apreq.APOptions, flags.APOptionMutualRequired)
	der, err := apreq.Marshal()
	if err != nil {
		return nil, fmt.Errorf("kerberos: AP-REQ for %s: %w", m.spn, err)
	}
	m.state = 1
	return gssFrame([]byte{0x01, 0x00}, der)
}

// Step answers the server: first its AP-REP (mutual authentication), then
// its security-layer offer (RFC 4752 §3.1).
func (m *gssapiMech) Step(challenge []byte) ([]byte, error) {
	switch m.state {
	case 1:
		if err := m.apRep(challenge); err != nil {
			return nil, err
		}
		m.state = 2
		return []byte{}, nil
	case 2:
		offer, _, err := m.ctx.Unwrap(challenge)
		if err != nil {
			return nil, fmt.Errorf("kerberos: the server's security-layer offer: %w", err)
		}
		if len(offer) != 4 {
			return nil, fmt.Errorf("kerberos: the server's security-layer offer has %d bytes, want 4", len(offer))
		}
		m.layer = 0
		for _, q := range m.qops {
			var l byte
			switch q {
			case "auth-conf":
				l = layerPrivacy
			case "auth-int":
				l = layerIntegrity
			case "auth":
				l = layerNone
			}
			if offer[0]&l != 0 {
				m.layer = l
				break
			}
		}
		if m.layer == 0 {
			return nil, fmt.Errorf("kerberos: the server offers protection %s, the client accepts only %v (hadoop.rpc.protection differs)", layersText(offer[0]), m.qops)
		}
		reply := []byte{m.layer, 0x01, 0x00, 0x00} // our largest buffer: 64 KiB
		m.state = 3
		return m.ctx.Wrap(reply, false)
	}
	return nil, fmt.Errorf("kerberos: unexpected GSSAPI challenge in state %d", m.state)
}

func layersText(b byte) string {
	var s []string
	if b&layerPrivacy != 0 {
		s = append(s, "auth-conf")
	}
	if b&layerIntegrity != 0 {
		s = append(s, "auth-int")
	}
	if b&layerNone != 0 {
		s = append(s, "auth")
	}
	return "[" + strings.Join(s, " ") + "]"
}

// apRep checks the server's AP-REP and establishes the context: the
// acceptor's subkey when it sent one, else the session key.
func (m *gssapiMech) apRep(tok []byte) error {
	id, body, err := gssUnframe(tok)
	if err != nil {
		return err
	}
	if id[0] == 0x03 && id[1] == 0x00 {
		var ke messages.KRBError
		if err := ke.Unmarshal(body); err == nil {
			return fmt.Errorf("kerberos: %s refused the authentication: %s", m.spn, ke.Error())
		}
		return fmt.Errorf("kerberos: %s refused the authentication", m.spn)
	}
	if id[0] != 0x02 || id[1] != 0x00 {
		return fmt.Errorf("%w: GSS token id %02x %02x, want an AP-REP (02 00)", ErrBadToken, id[0], id[1])
	}
	var rep messages.APRep
	if err := rep.Unmarshal(body); err != nil {
		return fmt.Errorf("%w: AP-REP: %v", ErrBadToken, err)
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, m.sessionKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		return fmt.Errorf("kerberos: the server's AP-REP does not decrypt with the session key (not the server we asked for?): %w", err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return fmt.Errorf("%w: AP-REP encrypted part: %v", ErrBadToken, err)
	}
	// RFC 4120 §3.2.5: the reply echoes our authenticator's time, so it is
	// not one replayed from an earlier connection under the same ticket.
	if part.CTime.Unix() != m.ctime.Unix() || part.Cusec != m.cusec { // KerberosTime has whole seconds
		return fmt.Errorf("%w: the AP-REP answers another authenticator (time %d.%06d, ours %d.%06d): a replayed reply?", ErrBadToken, part.CTime.Unix(), part.Cusec, m.ctime.Unix(), m.cusec)
	}
	key, sub := m.sessionKey, false
	if len(part.Subkey.KeyValue) > 0 {
		key, sub = part.Subkey, true
	}
	m.ctx, err = newGSSContext(key, true, sub, m.seq)
	return err
}

// Finish implements ipc.Mechanism.
func (m *gssapiMech) Finish(token []byte) (ipc.SecurityLayer, error) {
	if m.state != 3 {
		return nil, errors.New("kerberos: the server ended GSSAPI negotiation early")
	}
	switch m.layer {
	case layerIntegrity:
		return &gssLayer{ctx: m.ctx, conf: false}, nil
	case layerPrivacy:
		return &gssLayer{ctx: m.ctx, conf: true}, nil
	}
	return nil, nil
}

// gssLayer wraps every RPC packet after SASL with GSS wrap tokens.
type gssLayer struct {
	ctx  *gssContext
	conf bool
}

func (l *gssLayer) Wrap(p []byte) ([]byte, error) { return l.ctx.Wrap(p, l.conf) }

func (l *gssLayer) Unwrap(p []byte) ([]byte, error) {
	msg, sealed, err := l.ctx.Unwrap(p)
	if err != nil {
		return nil, err
	}
	if l.conf && !sealed {
		return nil, fmt.Errorf("%w: an unsealed token on a privacy connection", ErrBadToken)
	}
	return msg, nil
}

// gssFrame adds the GSS-API initial-token framing (RFC 2743 §3.1):
// [APPLICATION 0] { mech OID, token id, inner token }.
func gssFrame(id, inner []byte) ([]byte, error) {
	oid, err := asn1.Marshal(krb5OID)
	if err != nil {
		return nil, err
	}
	body := append(append(append([]byte{}, oid...), id...), inner...)
	return append(append([]byte{0x60}, derLength(len(body))...), body...), nil
}

func derLength(n int) []byte {
	if n < 128 {
		return []byte{byte(n)}
	}
	var b []byte
	for v := n; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

// gssUnframe splits a framed Kerberos GSS token into its 2-byte token id
// and inner message.
func gssUnframe(tok []byte) ([2]byte, []byte, error) {
	var id [2]byte
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(tok, &raw)
	if err != nil || raw.Class != asn1.ClassApplication || raw.Tag != 0 || len(rest) != 0 {
		return id, nil, fmt.Errorf("%w: not a framed GSS-API token", ErrBadToken)
	}
	var oid asn1.ObjectIdentifier
	inner, err := asn1.Unmarshal(raw.Bytes, &oid)
	if err != nil || !oid.Equal(krb5OID) {
		return id, nil, fmt.Errorf("%w: GSS token of mechanism %v, want Kerberos V5", ErrBadToken, oid)
	}
	if len(inner) < 2 {
		return id, nil, fmt.Errorf("%w: GSS token without a token id", ErrBadToken)
	}
	copy(id[:], inner[:2])
	return id, inner[2:], nil
}
