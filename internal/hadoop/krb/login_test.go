package krb_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/hadoop/krb/krbtest"
	"github.com/stoke-run/stoke/internal/testutil"
)

func TestLogin(t *testing.T) {
	k := krbtest.Start(t)
	kt := k.AddPrincipal(t, "alice@"+krbtest.Realm)
	other := k.AddPrincipal(t, "bob@"+krbtest.Realm)

	l, err := krb.NewLogin(krb.LoginOptions{Principal: "alice", Keytab: kt, Krb5Conf: k.Krb5Conf})
	if err != nil {
		t.Fatalf("keytab login: %v", err)
	}
	if l.Principal() != "alice@"+krbtest.Realm || l.ShortName() != "alice" {
		t.Fatalf("principal %q", l.Principal())
	}
	if err := l.Relogin(); err != nil {
		t.Fatalf("relogin: %v", err)
	}

	// Ticket cache made by MIT kinit.
	cc := k.Kinit(t, "alice@"+krbtest.Realm, kt)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+cc)
	l2, err := krb.NewLogin(krb.LoginOptions{})
	if err != nil {
		t.Fatalf("ticket cache login: %v", err)
	}
	if l2.Principal() != "alice@"+krbtest.Realm {
		t.Fatalf("cache principal %q", l2.Principal())
	}
	// A service ticket through the cached TGT.
	k.AddPrincipal(t, "nn/localhost@"+krbtest.Realm)
	if _, key, err := l2.ServiceTicket("nn/localhost"); err != nil || len(key.KeyValue) == 0 {
		t.Fatalf("service ticket from the cache login: %v", err)
	}
	if _, _, err := l2.ServiceTicket("nosuch/localhost"); err == nil || !strings.Contains(err.Error(), "does not know the service principal") {
		t.Fatalf("unknown service principal: %v", err)
	}

	for _, tc := range []struct {
		name string
		opts krb.LoginOptions
		is   error
		want string
	}{
		{"wrong keytab", krb.LoginOptions{Principal: "alice", Keytab: other, Krb5Conf: k.Krb5Conf}, krb.ErrNotInKeytab, "alice@STOKE.TEST is not in"},
		{"unknown principal", krb.LoginOptions{Principal: "carol", Keytab: kt, Krb5Conf: k.Krb5Conf}, krb.ErrNotInKeytab, "carol@STOKE.TEST"},
		{"no principal", krb.LoginOptions{Keytab: kt, Krb5Conf: k.Krb5Conf}, nil, "needs the principal"},
		{"missing keytab", krb.LoginOptions{Principal: "alice", Keytab: filepath.Join(t.TempDir(), "none"), Krb5Conf: k.Krb5Conf}, nil, "reading the keytab"},
		{"missing cache", krb.LoginOptions{CCache: filepath.Join(t.TempDir(), "none"), Krb5Conf: k.Krb5Conf}, nil, "run kinit"},
		{"cache of someone else", krb.LoginOptions{Principal: "bob", CCache: cc, Krb5Conf: k.Krb5Conf}, nil, "belongs to alice@STOKE.TEST"},
		{"missing krb5.conf", krb.LoginOptions{Principal: "alice", Keytab: kt, Krb5Conf: filepath.Join(t.TempDir(), "krb5.conf")}, nil, "reading"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := krb.NewLogin(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}

	// Stale key: the principal's key changed after the keytab was written.
	k.AddPrincipal(t, "dave@"+krbtest.Realm)
	stale := filepath.Join(t.TempDir(), "stale.keytab")
	data, _ := os.ReadFile(filepath.Join(k.Dir, "dave_STOKE.TEST.keytab"))
	os.WriteFile(stale, data, 0o600)
	k.AddPrincipal(t, "dave@"+krbtest.Realm) // ktadd again: new random key, new kvno
	if _, err := krb.NewLogin(krb.LoginOptions{Principal: "dave", Keytab: stale, Krb5Conf: k.Krb5Conf}); err == nil || !errors.Is(err, krb.ErrBadCredentials) {
		t.Fatalf("stale keytab: %v", err)
	}

	// KDC unreachable: a krb5.conf pointing at a closed port.
	conf, _ := os.ReadFile(k.Krb5Conf)
	dead := filepath.Join(t.TempDir(), "krb5.conf")
	os.WriteFile(dead, []byte(strings.ReplaceAll(string(conf), k.Addr, "127.0.0.1:1")), 0o644)
	if _, err := krb.NewLogin(krb.LoginOptions{Principal: "alice", Keytab: kt, Krb5Conf: dead}); err == nil || !errors.Is(err, krb.ErrKDCUnreachable) {
		t.Fatalf("unreachable KDC: %v", err)
	}
	// Unknown realm: no KDC configured for it.
	if _, err := krb.NewLogin(krb.LoginOptions{Principal: "alice@NOWHERE.TEST", Keytab: kt, Krb5Conf: k.Krb5Conf}); !errors.Is(err, krb.ErrUnknownRealm) || !strings.Contains(err.Error(), "NOWHERE.TEST") {
		t.Fatalf("unknown realm: %v", err)
	}

	// The KDC goes away after the login: the next service ticket says so.
	k.AddPrincipal(t, "rm/localhost@"+krbtest.Realm)
	k.Stop()
	if _, _, err := l.ServiceTicket("rm/localhost"); !errors.Is(err, krb.ErrKDCUnreachable) {
		t.Fatalf("service ticket with the KDC down: %v", err)
	}
}

func TestLoginPasswordAndClockSkew(t *testing.T) {
	k := krbtest.Start(t)
	k.AddPasswordPrincipal(t, "erin@"+krbtest.Realm, "correct-horse")
	l, err := krb.NewLogin(krb.LoginOptions{Principal: "erin", Password: "correct-horse", Krb5Conf: k.Krb5Conf})
	if err != nil || l.Principal() != "erin@"+krbtest.Realm {
		t.Fatalf("password login: %v", err)
	}
	_, err = krb.NewLogin(krb.LoginOptions{Principal: "erin", Password: "battery-staple", Krb5Conf: k.Krb5Conf})
	if !errors.Is(err, krb.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	_, err = krb.NewLogin(krb.LoginOptions{Principal: "frank", Password: "x", Krb5Conf: k.Krb5Conf})
	if !errors.Is(err, krb.ErrUnknownPrincipal) || !strings.Contains(err.Error(), "frank@STOKE.TEST") {
		t.Fatalf("unknown principal: %v", err)
	}
	// A client that tolerates no skew at all sees the KDC's clock (whole
	// seconds) as skewed: the same check a clock minutes off fails.
	conf, _ := os.ReadFile(k.Krb5Conf)
	strict := filepath.Join(t.TempDir(), "krb5.conf")
	os.WriteFile(strict, []byte(strings.Replace(string(conf), "[libdefaults]\n", "[libdefaults]\n  clockskew = 0\n", 1)), 0o644)
	_, err = krb.NewLogin(krb.LoginOptions{Principal: "erin", Password: "correct-horse", Krb5Conf: strict})
	if !errors.Is(err, krb.ErrClockSkew) {
		t.Fatalf("clock skew: %v", err)
	}
}

// TestTGTLifetimeAndKeepFresh: with 8-second tickets, KeepFresh logs in
// again from the keytab before the TGT ends, and a ticket cache that nobody
// refreshes ends in ErrExpired (at login and from KeepFresh).
func TestTGTLifetimeAndKeepFresh(t *testing.T) {
	k := krbtest.Start(t)
	kt := k.AddPrincipal(t, "alice@"+krbtest.Realm)
	k.AddPrincipal(t, "nn/localhost@"+krbtest.Realm)
	conf, _ := os.ReadFile(k.Krb5Conf)
	short := filepath.Join(t.TempDir(), "krb5.conf")
	os.WriteFile(short, []byte(strings.Replace(string(conf), "ticket_lifetime = 10h", "ticket_lifetime = 8s", 1)), 0o644)

	l, err := krb.NewLogin(krb.LoginOptions{Principal: "alice", Keytab: kt, Krb5Conf: short})
	if err != nil {
		t.Fatal(err)
	}
	start, end := l.TGTLifetime()
	if d := end.Sub(start); d < 7*time.Second || d > 9*time.Second {
		t.Fatalf("TGT lifetime %v (%v to %v), want the 8 s asked for", d, start, end)
	}

	// A cache made with a 4-second ticket.
	cc := k.Kinit(t, "alice@"+krbtest.Realm, kt, "-l", "4s")
	cl, err := krb.NewLogin(krb.LoginOptions{CCache: cc, Krb5Conf: k.Krb5Conf})
	if err != nil {
		t.Fatalf("fresh cache: %v", err)
	}
	if s, e := cl.TGTLifetime(); e.Sub(s) > 5*time.Second || e.Before(time.Now()) {
		t.Fatalf("cache TGT lifetime %v to %v", s, e)
	}

	stop := make(chan struct{})
	defer close(stop)
	errs := make(chan error, 100)
	go l.KeepFresh(time.Second, stop, func(err error) { errs <- err })
	cacheErrs := make(chan error, 100)
	go cl.KeepFresh(200*time.Millisecond, stop, func(err error) { cacheErrs <- err })

	var renewedAt time.Time
	for deadline := end.Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, e := l.TGTLifetime(); e.After(end) {
			renewedAt = time.Now()
			break
		}
	}
	select {
	case err := <-errs:
		t.Fatalf("keytab relogin: %v", err)
	default:
	}
	if renewedAt.IsZero() {
		t.Fatal("KeepFresh did not log in again")
	}
	if !renewedAt.Before(end) {
		t.Fatalf("KeepFresh logged in again at %v, after the TGT ended at %v", renewedAt, end)
	}
	for time.Now().Before(end.Add(500 * time.Millisecond)) {
		time.Sleep(100 * time.Millisecond)
	}
	if _, key, err := l.ServiceTicket("nn/localhost"); err != nil || len(key.KeyValue) == 0 {
		t.Fatalf("service ticket after the first TGT ended: %v", err)
	}

	select {
	case err := <-cacheErrs:
		if !errors.Is(err, krb.ErrExpired) || !strings.Contains(err.Error(), "kinit") {
			t.Fatalf("KeepFresh of a stale cache: %v", err)
		}
	case <-time.After(testutil.D(10 * time.Second)):
		t.Fatal("KeepFresh did not report the expired cache")
	}
	if _, err := krb.NewLogin(krb.LoginOptions{CCache: cc, Krb5Conf: k.Krb5Conf}); !errors.Is(err, krb.ErrExpired) {
		t.Fatalf("expired cache: %v", err)
	}
}

// TestExpiredTicketCache: a cache whose TGT has expired is refused with a clear error.
func TestExpiredTicketCache(t *testing.T) {
	k := krbtest.Start(t)
	kt := k.AddPrincipal(t, "erin@"+krbtest.Realm)
	cc := k.Kinit(t, "erin@"+krbtest.Realm, kt, "-l", "2s")
	time.Sleep(3 * time.Second)
	_, err := krb.NewLogin(krb.LoginOptions{CCache: cc, Krb5Conf: k.Krb5Conf})
	if err == nil || !errors.Is(err, krb.ErrExpired) || !strings.Contains(err.Error(), "kinit") {
		t.Fatalf("expired cache: %v", err)
	}
}

// TestKDCClockSkew: a KDC whose clock runs ten minutes ahead (libfaketime) refuses the
// client's pre-authentication timestamp itself; the login fails with ErrClockSkew and the
// KDC's own error code.
func TestKDCClockSkew(t *testing.T) {
	k := krbtest.StartWith(t, krbtest.Options{ClockOffset: 10 * time.Minute})
	kt := k.AddPrincipal(t, "gina@"+krbtest.Realm)
	k.RequirePreauth(t, "gina@"+krbtest.Realm)
	_, err := krb.NewLogin(krb.LoginOptions{Principal: "gina", Keytab: kt, Krb5Conf: k.Krb5Conf})
	if !errors.Is(err, krb.ErrClockSkew) || !strings.Contains(err.Error(), "KRB_AP_ERR_SKEW") {
		t.Fatalf("login against a KDC ten minutes ahead: %v; want ErrClockSkew from the KDC (KRB_AP_ERR_SKEW)", err)
	}
}
