// Package krb logs in to Kerberos (keytab or the user's ticket cache, with
// gokrb5) and authenticates Hadoop RPC connections with SASL GSSAPI,
// including the RFC 4121 wrap tokens of the integrity and privacy
// protection levels (gokrb5 has no sealed wrap token; wrap.go is ours).
package krb

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// LoginOptions say how to log in. With Keytab (or Password), Principal is
// required; without either, the ticket cache (CCache, else KRB5CCNAME, else
// /tmp/krb5cc_<uid>) is used.
type LoginOptions struct {
	Principal string // user@REALM (or user, in the default realm)
	Keytab    string
	Password  string // a password login, as kinit without -k does (tools and tests)
	CCache    string
	Krb5Conf  string // krb5.conf: else KRB5_CONFIG, else /etc/krb5.conf
}

// Login is a logged-in Kerberos identity.
type Login struct {
	opts      LoginOptions
	conf      *config.Config
	mu        sync.Mutex
	cl        *client.Client
	principal string // name@REALM
	fromCache bool
	// The TGT's validity: exact for cache logins and for keytab and password
	// logins (asked of the KDC), see TGTLifetime.
	tgtStart, tgtEnd time.Time
}

// Errors a login can end with, for errors.Is.
var (
	ErrBadCredentials   = errors.New("wrong password or keytab key for the principal")
	ErrUnknownPrincipal = errors.New("the KDC does not know the principal")
	ErrClockSkew        = errors.New("the clock differs from the KDC's by more than the allowed skew")
	ErrKDCUnreachable   = errors.New("no KDC of the realm answered")
	ErrExpired          = errors.New("the ticket in the cache has expired")
	ErrNotInKeytab      = errors.New("the keytab has no key for the principal")
	ErrUnknownRealm     = errors.New("krb5.conf names no KDC for the realm")
)

// ConfigPath is the krb5.conf to use.
func ConfigPath(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if p := os.Getenv("KRB5_CONFIG"); p != "" {
		return p
	}
	return "/etc/krb5.conf"
}

// CCachePath is the ticket cache to use (FILE: caches only).
func CCachePath(explicit string) (string, error) {
	p := explicit
	if p == "" {
		p = os.Getenv("KRB5CCNAME")
	}
	if p == "" {
		p = fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid())
	}
	if rest, ok := strings.CutPrefix(p, "FILE:"); ok {
		p = rest
	} else if i := strings.Index(p, ":"); i > 0 && !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("ticket cache %q: only FILE: caches are supported", p)
	}
	return p, nil
}

// NewLogin logs in and returns the identity.
func NewLogin(opts LoginOptions) (*Login, error) {
	path := ConfigPath(opts.Krb5Conf)
	cfg, err := config.Load(path)
	if err != nil {
		return nil, fmt.Errorf("kerberos: reading %s: %w", path, err)
	}
	l := &Login{opts: opts, conf: cfg}
	if err := l.login(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Login) login() error {
	opts := l.opts
	if opts.Keytab != "" || opts.Password != "" {
		return l.credentialLogin()
	}
	path, err := CCachePath(opts.CCache)
	if err != nil {
		return fmt.Errorf("kerberos: %w", err)
	}
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		return fmt.Errorf("kerberos: no usable ticket cache at %s (run kinit, or give --principal and --keytab): %w", path, err)
	}
	princ := cc.DefaultPrincipal
	name := strings.Join(princ.PrincipalName.NameString, "/") + "@" + princ.Realm
	if opts.Principal != "" && !samePrincipal(opts.Principal, name, l.conf.LibDefaults.DefaultRealm) {
		return fmt.Errorf("kerberos: the ticket cache %s belongs to %s, not %s", path, name, opts.Principal)
	}
	tgt, ok := cc.GetEntry(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", princ.Realm}})
	if !ok {
		return fmt.Errorf("kerberos: the ticket cache %s holds no ticket-granting ticket for %s (run kinit again)", path, name)
	}
	if now := time.Now(); !now.Before(tgt.EndTime) {
		return fmt.Errorf("kerberos: %w: the ticket-granting ticket of %s in %s expired at %s (run kinit again)", ErrExpired, name, path, tgt.EndTime.Local().Format(time.RFC3339))
	}
	cl, err := client.NewFromCCache(cc, l.conf, client.DisablePAFXFAST(true))
	if err != nil {
		return fmt.Errorf("kerberos: ticket cache %s: %w", path, err)
	}
	start := tgt.StartTime
	if start.IsZero() {
		start = tgt.AuthTime
	}
	l.mu.Lock()
	l.cl, l.principal, l.fromCache = cl, name, true
	l.tgtStart, l.tgtEnd = start, tgt.EndTime
	l.mu.Unlock()
	return nil
}

// credentialLogin logs in with a keytab or a password (an AS exchange).
// Logging in again reuses the gokrb5 client, so clients handed out (to
// colinmarc/hdfs) see the new TGT and the old one's renewal goroutine ends.
func (l *Login) credentialLogin() error {
	opts := l.opts
	if opts.Principal == "" {
		return errors.New("kerberos: a keytab or password login needs the principal (--principal)")
	}
	user, realm := splitPrincipal(opts.Principal, l.conf.LibDefaults.DefaultRealm)
	if realm == "" {
		return fmt.Errorf("kerberos: principal %q names no realm and %s sets no default_realm", opts.Principal, ConfigPath(opts.Krb5Conf))
	}
	if _, _, err := l.conf.GetKDCs(realm, true); err != nil {
		return fmt.Errorf("kerberos: %w: %s (add it to [realms] in %s): %v", ErrUnknownRealm, realm, ConfigPath(opts.Krb5Conf), err)
	}
	name := user + "@" + realm
	l.mu.Lock()
	cl := l.cl
	l.mu.Unlock()
	if opts.Keytab != "" {
		kt, err := keytab.Load(opts.Keytab)
		if err != nil {
			return fmt.Errorf("kerberos: reading the keytab %s: %w", opts.Keytab, err)
		}
		if !keytabHas(kt, user, realm) {
			return fmt.Errorf("kerberos: %w: %s is not in %s", ErrNotInKeytab, name, opts.Keytab)
		}
		if cl == nil {
			cl = client.NewWithKeytab(user, realm, kt, l.conf, client.DisablePAFXFAST(true))
		} else if err := cl.Login(); err == nil {
			return l.noteTGT(cl, name)
		} else {
			// The keys on disk may have changed (a new kvno): a new client.
			cl = client.NewWithKeytab(user, realm, kt, l.conf, client.DisablePAFXFAST(true))
		}
	} else if cl == nil {
		cl = client.NewWithPassword(user, realm, opts.Password, l.conf, client.DisablePAFXFAST(true))
	}
	if err := cl.Login(); err != nil {
		return classify(name, err)
	}
	return l.noteTGT(cl, name)
}

// noteTGT records a fresh login and learns the TGT's lifetime, which gokrb5
// keeps to itself: one more AS exchange whose reply (verified with the
// principal's key) carries the times the KDC grants. The first login's TGT
// ends no later than this one's.
func (l *Login) noteTGT(cl *client.Client, name string) error {
	start := time.Now()
	end := start.Add(l.conf.LibDefaults.TicketLifetime)
	user, realm := splitPrincipal(name, "")
	req, err := messages.NewASReqForTGT(realm, l.conf, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, user))
	if err == nil {
		if rep, err := cl.ASExchange(realm, req, 0); err == nil {
			start, end = rep.DecryptedEncPart.StartTime, rep.DecryptedEncPart.EndTime
			if start.IsZero() {
				start = rep.DecryptedEncPart.AuthTime
			}
		}
	}
	l.mu.Lock()
	l.cl, l.principal, l.fromCache = cl, name, false
	l.tgtStart, l.tgtEnd = start, end
	l.mu.Unlock()
	return nil
}

func splitPrincipal(p, defRealm string) (user, realm string) {
	if i := strings.LastIndex(p, "@"); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, defRealm
}

func samePrincipal(a, b, defRealm string) bool {
	ua, ra := splitPrincipal(a, defRealm)
	ub, rb := splitPrincipal(b, defRealm)
	return ua == ub && ra == rb
}

func keytabHas(kt *keytab.Keytab, user, realm string) bool {
	for _, e := range kt.Entries {
		if e.Principal.Realm == realm && strings.Join(e.Principal.Components, "/") == user {
			return true
		}
	}
	return false
}

// classify words gokrb5's login errors.
func classify(principal string, err error) error {
	var ke messages.KRBError
	if errors.As(err, &ke) {
		switch ke.ErrorCode {
		case errorcode.KDC_ERR_PREAUTH_FAILED, errorcode.KRB_AP_ERR_BAD_INTEGRITY:
			return fmt.Errorf("kerberos: login of %s: %w (%v)", principal, ErrBadCredentials, ke.Error())
		case errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN:
			return fmt.Errorf("kerberos: login of %s: %w (%v)", principal, ErrUnknownPrincipal, ke.Error())
		case errorcode.KRB_AP_ERR_SKEW:
			return fmt.Errorf("kerberos: login of %s: %w (%v)", principal, ErrClockSkew, ke.Error())
		case errorcode.KDC_ERR_WRONG_REALM:
			return fmt.Errorf("kerberos: login of %s: %w (%v)", principal, ErrUnknownRealm, ke.Error())
		}
	}
	msg := err.Error()
	var ne net.Error
	switch {
	// gokrb5 words its own skew check "AS_REP is not valid or client
	// password/keytab incorrect < ... clock skew with KDC too large".
	case strings.Contains(msg, "SKEW") || strings.Contains(strings.ToLower(msg), "clock skew"):
		return fmt.Errorf("kerberos: login of %s: %w (%v)", principal, ErrClockSkew, err)
	case strings.Contains(msg, "PREAUTH_FAILED") || strings.Contains(strings.ToLower(msg), "integrity verification failed") || strings.Contains(msg, "password/keytab incorrect"):
		return fmt.Errorf("kerberos: login of %s: %w (%v)", principal, ErrBadCredentials, err)
	case strings.Contains(msg, "C_PRINCIPAL_UNKNOWN"):
		return fmt.Errorf("kerberos: login of %s: %w (%v)", principal, ErrUnknownPrincipal, err)
	case strings.Contains(msg, "no KDCs defined in configuration for realm") || strings.Contains(msg, "WRONG_REALM"):
		return fmt.Errorf("kerberos: login of %s: %w (%v)", principal, ErrUnknownRealm, err)
	case errors.As(err, &ne) || strings.Contains(msg, "connection refused") || strings.Contains(msg, "failed to communicate with KDC") || strings.Contains(msg, "no KDC") || strings.Contains(msg, "error sending to KDC"):
		return fmt.Errorf("kerberos: login of %s: %w (check the realm's kdc in krb5.conf): %v", principal, ErrKDCUnreachable, err)
	}
	return fmt.Errorf("kerberos: login of %s: %w", principal, err)
}

// Principal is the logged-in principal, name@REALM.
func (l *Login) Principal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.principal
}

// ShortName is the principal's first component (the Hadoop user name
// without auth_to_local rules).
func (l *Login) ShortName() string {
	p := l.Principal()
	if i := strings.IndexAny(p, "/@"); i >= 0 {
		return p[:i]
	}
	return p
}

// ServiceTicket gets a ticket and session key for spn (service/host or
// service/host@REALM).
func (l *Login) ServiceTicket(spn string) (messages.Ticket, types.EncryptionKey, error) {
	l.mu.Lock()
	cl := l.cl
	l.mu.Unlock()
	tkt, key, err := cl.GetServiceTicket(strings.SplitN(spn, "@", 2)[0])
	if err != nil {
		var ke messages.KRBError
		if errors.As(err, &ke) && ke.ErrorCode == errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN || strings.Contains(err.Error(), "S_PRINCIPAL_UNKNOWN") {
			return tkt, key, fmt.Errorf("kerberos: the KDC does not know the service principal %s (check the server's *.kerberos.principal): %w", spn, err)
		}
		return tkt, key, classify(l.Principal(), err)
	}
	return tkt, key, nil
}

// Client is the gokrb5 client (for libraries that take one, such as colinmarc/hdfs).
func (l *Login) Client() *client.Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cl
}

// TGTLifetime is when the login's ticket-granting ticket became valid and
// when it ends. gokrb5 renews or replaces a keytab login's TGT by itself as
// it nears its end; Relogin and KeepFresh do it on our schedule.
func (l *Login) TGTLifetime() (start, end time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tgtStart, l.tgtEnd
}

// Relogin logs in again: a new TGT from the keytab (or password), or the
// ticket cache read again (kinit -R, k5start and the like refresh it).
func (l *Login) Relogin() error { return l.login() }

// reloginAt is when KeepFresh logs in again: at 80% of the TGT's lifetime,
// as Java's UserGroupInformation does.
func reloginAt(start, end time.Time) time.Time {
	return start.Add(end.Sub(start) * 4 / 5)
}

// KeepFresh keeps the login's TGT valid in a long-running process: it logs
// in again once 80% of the TGT's lifetime has passed, checking at least
// every maxWait (Spark's relogin period is a minute), until stop is closed.
// Failures go to onErr and are retried at the next check; a cache login
// whose cache nobody refreshes ends in ErrExpired.
func (l *Login) KeepFresh(maxWait time.Duration, stop <-chan struct{}, onErr func(error)) {
	if maxWait <= 0 {
		maxWait = time.Minute
	}
	for {
		start, end := l.TGTLifetime()
		if !time.Now().Before(reloginAt(start, end)) {
			// A cache nobody refreshed gives back the same TGT until it
			// expires; then Relogin fails with ErrExpired.
			if err := l.Relogin(); err != nil && onErr != nil {
				onErr(err)
			}
		}
		start, end = l.TGTLifetime()
		wait := time.Until(reloginAt(start, end))
		if wait > maxWait || wait <= 0 {
			wait = maxWait
		}
		if wait < 100*time.Millisecond {
			wait = 100 * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}
