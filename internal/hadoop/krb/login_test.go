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
	if _, err := krb.NewLogin(krb.LoginOptions{Principal: "alice@NOWHERE.TEST", Keytab: kt, Krb5Conf: k.Krb5Conf}); err == nil || !strings.Contains(err.Error(), "NOWHERE.TEST") {
		t.Fatalf("unknown realm: %v", err)
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
