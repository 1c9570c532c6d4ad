package ipc

import (
	"fmt"
	"net"
	"strings"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

// Hadoop authentication methods as advertised in SASL NEGOTIATE.
const (
	MethodSimple   = "SIMPLE"
	MethodToken    = "TOKEN"
	MethodKerberos = "KERBEROS"
)

// Server identifies the peer a mechanism authenticates to.
type Server struct {
	Addr     string // host:port dialled
	Protocol string // Hadoop protocol name, e.g. ApplicationClientProtocolPB's
}

// Mechanism runs the client side of one SASL mechanism on one connection.
type Mechanism interface {
	// Name is the SASL mechanism name, e.g. DIGEST-MD5 or GSSAPI.
	Name() string
	// Start returns the token sent with INITIATE (nil for none).
	Start() ([]byte, error)
	// Step answers a server CHALLENGE.
	Step(challenge []byte) ([]byte, error)
	// Finish checks the token of the server's SUCCESS (may be empty) and returns the negotiated
	// security layer, nil when the quality of protection is plain authentication.
	Finish(token []byte) (SecurityLayer, error)
}

// SecurityLayer protects every packet after SASL when the QOP is integrity or privacy. Wrap
// and Unwrap are called with whole packets, in order, from one goroutine at a time.
type SecurityLayer interface {
	Wrap(p []byte) ([]byte, error)
	Unwrap(p []byte) ([]byte, error)
}

// Authenticator holds the credentials of one Hadoop authentication method. The Kerberos issue
// adds a GSSAPI Authenticator beside TokenAuth.
type Authenticator interface {
	// Method is the Hadoop method it serves: TOKEN or KERBEROS.
	Method() string
	// Mechanism returns a mechanism for auth as offered by srv, or nil when the authenticator has
	// no credentials for that server (so the next offer is tried).
	Mechanism(auth *commonpb.RpcSasl_Auth, srv Server) (Mechanism, error)
	// ContextUser is the effectiveUser for the connection context after this method succeeds
	// ("" for TOKEN: the server takes the user from the token).
	ContextUser() string
}

// chooseAuth picks the first server offer the client holds credentials for, as Java's
// SaslRpcClient does. A nil mechanism with method SIMPLE means the server switched to SIMPLE.
func chooseAuth(offers []*commonpb.RpcSasl_Auth, auths []Authenticator, srv Server) (*commonpb.RpcSasl_Auth, Mechanism, Authenticator, error) {
	var tried []string
	for _, o := range offers {
		if o.GetMethod() == MethodSimple {
			return o, nil, nil, nil
		}
		for _, a := range auths {
			if a.Method() != o.GetMethod() {
				continue
			}
			m, err := a.Mechanism(o, srv)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("ipc: SASL %s/%s with %s: %w", o.GetMethod(), o.GetMechanism(), srv.Addr, err)
			}
			if m != nil {
				return o, m, a, nil
			}
			tried = append(tried, o.GetMethod()+" (no matching credentials)")
		}
	}
	var offered []string
	for _, o := range offers {
		offered = append(offered, o.GetMethod()+"/"+o.GetMechanism())
	}
	var have []string
	for _, a := range auths {
		have = append(have, a.Method())
	}
	return nil, nil, nil, fmt.Errorf("ipc: no usable SASL method for %s: server offers [%s], client has [%s]%s",
		srv.Addr, strings.Join(offered, ", "), strings.Join(have, ", "), triedSuffix(tried))
}

func triedSuffix(t []string) string {
	if len(t) == 0 {
		return ""
	}
	return "; tried " + strings.Join(t, ", ")
}

// TokenAuth authenticates with a Hadoop token over SASL DIGEST-MD5 (method TOKEN): the AMRM
// token at the scheduler, NM tokens at NodeManagers, delegation tokens at the NameNode or RM.
type TokenAuth struct {
	// Tokens to choose from; the first whose kind and service fit the server is used.
	Tokens []*commonpb.Token
	// Kind restricts the choice to one token kind (e.g. YARN_AM_RM_TOKEN); "" accepts any.
	Kind string
	// AnyService skips matching the token's service against the server address; Java does the
	// same for the AMRM token, whose service it rewrites before connecting.
	AnyService bool
	// QOP lists the acceptable qualities of protection, strongest first; nil means
	// auth-conf, auth-int, auth: whatever the server's hadoop.rpc.protection offers.
	QOP []string
	// rand supplies the client nonce; nil uses crypto/rand.
	rand func([]byte) error
}

var _ Authenticator = (*TokenAuth)(nil)

// Method implements Authenticator.
func (*TokenAuth) Method() string { return MethodToken }

// ContextUser implements Authenticator: TOKEN connections send no user.
func (*TokenAuth) ContextUser() string { return "" }

// Mechanism implements Authenticator.
func (a *TokenAuth) Mechanism(auth *commonpb.RpcSasl_Auth, srv Server) (Mechanism, error) {
	if auth.GetMechanism() != "DIGEST-MD5" {
		return nil, nil
	}
	tok := SelectToken(a.Tokens, a.Kind, srv.Addr, a.AnyService)
	if tok == nil {
		return nil, nil
	}
	qop := a.QOP
	if qop == nil {
		qop = []string{"auth-conf", "auth-int", "auth"}
	}
	return &digestMD5{
		username:  []byte(b64(tok.GetIdentifier())),
		password:  []byte(b64(tok.GetPassword())),
		digestURI: auth.GetProtocol() + "/" + auth.GetServerId(),
		challenge: auth.GetChallenge(),
		qops:      qop,
		rand:      a.rand,
	}, nil
}

// SelectToken returns the first token of kind (any kind when "") whose service names addr
// (host:port, or the IP of host with the port), or the first of kind when anyService is set.
func SelectToken(tokens []*commonpb.Token, kind, addr string, anyService bool) *commonpb.Token {
	want := map[string]bool{addr: true}
	if !anyService {
		if host, port, err := net.SplitHostPort(addr); err == nil {
			if ips, err := net.LookupHost(host); err == nil {
				for _, ip := range ips {
					want[net.JoinHostPort(ip, port)] = true
				}
			}
		}
	}
	for _, t := range tokens {
		if kind != "" && t.GetKind() != kind {
			continue
		}
		if anyService || want[t.GetService()] {
			return t
		}
	}
	return nil
}

// NewDigestMD5 returns the client side of DIGEST-MD5 with a token, for SASL that runs outside
// Hadoop RPC (the DataNode data transfer handshake): as for TOKEN auth, the user name and
// password are the token's identifier and password in base64, and the digest-uri is
// protocol/serverID. qops lists the acceptable qualities of protection, strongest first.
// The mechanism's QOP method reports the negotiated one. Its security layer keeps separate
// state for each direction, so one goroutine may Wrap while another Unwraps.
func NewDigestMD5(tok *commonpb.Token, protocol, serverID string, qops []string) Mechanism {
	return &digestMD5{
		username:  []byte(b64(tok.GetIdentifier())),
		password:  []byte(b64(tok.GetPassword())),
		digestURI: protocol + "/" + serverID,
		qops:      qops,
	}
}
