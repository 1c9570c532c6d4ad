// Package krbtest starts a real MIT Kerberos KDC (Debian's krb5-kdc) for
// tests: a throwaway realm in a temporary directory, principals with
// keytabs, and ticket caches made with kinit.
package krbtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvSkip, set to 1, skips tests that need the KDC instead of failing them.
const EnvSkip = "STOKE_SKIP_KDC"

// Realm is the test realm.
const Realm = "STOKE.TEST"

// KDC is a running krb5kdc.
type KDC struct {
	Dir      string
	Krb5Conf string // krb5.conf naming this KDC (TCP only)
	Addr     string // 127.0.0.1:port
	env      []string
	cmd      *exec.Cmd
	stopOnce sync.Once
}

// Stop stops the KDC (for tests of an unreachable KDC); the test's end
// stops it too.
func (k *KDC) Stop() {
	k.stopOnce.Do(func() {
		k.cmd.Process.Kill()
		k.cmd.Wait()
	})
}

// Start starts a KDC and stops it when the test ends.
func Start(t testing.TB) *KDC { t.Helper(); return StartWith(t, Options{}) }

// Options vary the KDC.
type Options struct {
	// ClockOffset runs the KDC with its clock this far from the real one (through libfaketime,
	// Debian's faketime package), to provoke the KDC's own clock-skew check.
	ClockOffset time.Duration
}

// faketimeLib is libfaketime's preload library, "" when it is not installed.
func faketimeLib() string {
	m, _ := filepath.Glob("/usr/lib/*/faketime/libfaketime.so.1")
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// StartWith starts a KDC with options and stops it when the test ends.
func StartWith(t testing.TB, opts Options) *KDC {
	t.Helper()
	if os.Getenv(EnvSkip) == "1" {
		t.Skipf("%s=1: skipping a test that needs a Kerberos KDC", EnvSkip)
	}
	for _, tool := range []string{"krb5kdc", "kdb5_util", "kadmin.local", "kinit"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + tool); err2 != nil {
				t.Fatalf("krbtest: %s not found (apt-get install krb5-kdc krb5-admin-server krb5-user; or set %s=1 to skip)", tool, EnvSkip)
			}
		}
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	k := &KDC{Dir: dir, Krb5Conf: filepath.Join(dir, "krb5.conf"), Addr: "127.0.0.1:" + strconv.Itoa(port)}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("krb5.conf", fmt.Sprintf(`[libdefaults]
  default_realm = %[1]s
  dns_lookup_realm = false
  dns_lookup_kdc = false
  rdns = false
  udp_preference_limit = 1
  ticket_lifetime = 10h
  renew_lifetime = 7d
  forwardable = true
  default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
  default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
  permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96

[realms]
  %[1]s = {
    kdc = %[2]s
    admin_server = %[2]s
  }

[domain_realm]
  localhost = %[1]s
`, Realm, k.Addr))
	write("kdc.conf", fmt.Sprintf(`[kdcdefaults]
  kdc_ports = %[2]d
  kdc_tcp_ports = %[2]d

[realms]
  %[1]s = {
    database_name = %[3]s/principal
    key_stash_file = %[3]s/stash
    acl_file = %[3]s/kadm5.acl
    max_life = 10h
    max_renewable_life = 7d
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }
`, Realm, port, dir))
	write("kadm5.acl", "*/admin@"+Realm+" *\n")
	k.env = append(os.Environ(), "KRB5_CONFIG="+k.Krb5Conf, "KRB5_KDC_PROFILE="+filepath.Join(dir, "kdc.conf"))
	k.run(t, "kdb5_util", "create", "-s", "-r", Realm, "-P", "stoke-master-password")
	k.cmd = exec.Command(tool("krb5kdc"), "-n", "-r", Realm)
	k.cmd.Env = k.env
	if opts.ClockOffset != 0 {
		lib := faketimeLib()
		if lib == "" {
			t.Fatalf("krbtest: a KDC clock offset needs libfaketime (apt-get install faketime)")
		}
		k.cmd.Env = append(append([]string(nil), k.env...), "LD_PRELOAD="+lib, fmt.Sprintf("FAKETIME=%+ds", int(opts.ClockOffset.Seconds())))
	}
	logf, _ := os.Create(filepath.Join(dir, "kdc.log"))
	k.cmd.Stdout, k.cmd.Stderr = logf, logf
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("krbtest: starting krb5kdc: %v", err)
	}
	t.Cleanup(func() {
		k.Stop()
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", k.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "kdc.log"))
			t.Fatalf("krbtest: the KDC did not listen on %s: %s", k.Addr, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return k
}

func tool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}

func (k *KDC) run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool(name), args...)
	cmd.Env = k.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("krbtest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// AddPrincipal creates a principal with a random key and exports it to a
// keytab, whose path it returns.
func (k *KDC) AddPrincipal(t testing.TB, name string) string {
	t.Helper()
	kt := filepath.Join(k.Dir, strings.NewReplacer("/", "_", "@", "_").Replace(name)+".keytab")
	k.run(t, "kadmin.local", "-q", "addprinc -randkey "+name)
	k.run(t, "kadmin.local", "-q", "ktadd -k "+kt+" "+name)
	return kt
}

// AddPasswordPrincipal creates a principal with a password.
func (k *KDC) AddPasswordPrincipal(t testing.TB, name, password string) {
	t.Helper()
	k.run(t, "kadmin.local", "-q", "addprinc -pw "+password+" "+name)
}

// Kinit fills a new ticket cache for principal from its keytab and returns
// the cache path.
func (k *KDC) Kinit(t testing.TB, principal, keytab string, extra ...string) string {
	t.Helper()
	cc := filepath.Join(k.Dir, "ccache-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	args := append([]string{"-c", "FILE:" + cc, "-kt", keytab}, extra...)
	k.run(t, "kinit", append(args, principal)...)
	return cc
}

// Env is KRB5_CONFIG for child processes.
func (k *KDC) Env() []string { return []string{"KRB5_CONFIG=" + k.Krb5Conf} }

// AddPrincipalTo creates a principal and appends its key to an existing keytab.
func (k *KDC) AddPrincipalTo(t testing.TB, name, keytab string) {
	t.Helper()
	k.run(t, "kadmin.local", "-q", "addprinc -randkey "+name)
	k.run(t, "kadmin.local", "-q", "ktadd -k "+keytab+" "+name)
}

// RequirePreauth makes the KDC insist on pre-authentication for a principal, so that it checks
// the client's encrypted timestamp (and with it the clocks) before issuing a ticket.
func (k *KDC) RequirePreauth(t testing.TB, name string) {
	t.Helper()
	k.run(t, "kadmin.local", "-r", Realm, "-q", "modprinc +requires_preauth "+name)
}
