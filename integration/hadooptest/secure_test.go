package hadooptest_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/hdfspb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/hadoop/krb/krbtest"
	"github.com/stoke-run/stoke/internal/testutil"
)

// recorder is a TCP proxy that keeps every byte both ways.
type recorder struct {
	lis net.Listener
	mu  sync.Mutex
	buf bytes.Buffer
}

func record(t *testing.T, target string) *recorder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{lis: l}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						r.mu.Lock()
						r.buf.Write(buf[:n])
						r.mu.Unlock()
						dst.Write(buf[:n])
					}
					if err != nil {
						dst.Close()
						return
					}
				}
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return r
}

func (r *recorder) contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Contains(r.buf.Bytes(), []byte(s))
}

// TestSecureRPC runs the harness in Kerberos mode at each protection level and talks to the
// real NameNode and ResourceManager over SASL GSSAPI, logged in from a keytab and from a ticket
// cache made by MIT kinit. Through a recording proxy, privacy leaves no plaintext payload on the
// wire; authentication does (which shows the check can fail).
func TestSecureRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: three secure minicluster starts")
	}
	for _, tc := range []struct{ level, qop string }{{"privacy", "auth-conf"}, {"integrity", "auth-int"}, {"authentication", "auth"}} {
		t.Run(tc.level, func(t *testing.T) {
			c := hadooptest.StartWith(t, hadooptest.Options{Secure: tc.level})
			keytabLogin, err := krb.NewLogin(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab, Krb5Conf: c.KDC.Krb5Conf})
			if err != nil {
				t.Fatal(err)
			}
			cc := c.KDC.Kinit(t, c.UserPrincipal, c.UserKeytab)
			cacheLogin, err := krb.NewLogin(krb.LoginOptions{CCache: cc, Krb5Conf: c.KDC.Krb5Conf})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), testutil.D(time.Minute))
			defer cancel()
			for name, login := range map[string]*krb.Login{"keytab": keytabLogin, "ccache": cacheLogin} {
				rec := record(t, c.NameNode)
				auth := &krb.GSSAPIAuth{Login: login, ServerPrincipal: c.ServicePrincipal}
				_, port, _ := net.SplitHostPort(rec.lis.Addr().String())
				nn, err := ipc.NewClient([]string{"localhost:" + port}, ipc.Config{Protocol: ipc.ClientNamenodeProtocol, Auth: []ipc.Authenticator{auth}})
				if err != nil {
					t.Fatal(err)
				}
				path := "/tmp/stoke-secret-path-7f3a-" + name
				var resp hdfspb.MkdirsResponseProto
				err = nn.Call(ctx, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(path), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &resp)
				if err != nil || !resp.GetResult() {
					t.Fatalf("%s: mkdirs over GSSAPI: %v (log %s)", name, err, c.LogFile)
				}
				method, qop := nn.Security()
				nn.Close()
				if method != ipc.MethodKerberos || qop != tc.qop {
					t.Fatalf("%s: negotiated %s/%s, want KERBEROS/%s", name, method, qop, tc.qop)
				}
				// Integrity signs but does not hide; privacy hides.
				if leaked := rec.contains("stoke-secret-path-7f3a"); leaked != (tc.level != "privacy") {
					t.Fatalf("%s at %s: the path is visible on the wire = %v", name, tc.level, leaked)
				}
			}

			// The ResourceManager over GSSAPI too.
			rm, err := ipc.NewClient([]string{c.RM}, ipc.Config{Protocol: ipc.ApplicationClientProtocol, Auth: []ipc.Authenticator{&krb.GSSAPIAuth{Login: keytabLogin, ServerPrincipal: c.ServicePrincipal}}})
			if err != nil {
				t.Fatal(err)
			}
			defer rm.Close()
			var m yarnpb.GetClusterMetricsResponse
			if err := rm.Call(ctx, "getClusterMetrics", &yarnpb.GetClusterMetricsRequest{}, &m); err != nil {
				t.Fatalf("getClusterMetrics over GSSAPI: %v", err)
			}
			if m.GetClusterMetrics().GetNumNodeManagers() < 1 {
				t.Fatalf("metrics %v", &m)
			}
			var app yarnpb.GetNewApplicationResponse
			if err := rm.Call(ctx, "getNewApplication", &yarnpb.GetNewApplicationRequest{}, &app); err != nil || app.GetApplicationId().GetId() < 1 {
				t.Fatalf("getNewApplication over GSSAPI: %v %v", err, &app)
			}
			if method, qop := rm.Security(); method != ipc.MethodKerberos || qop != tc.qop {
				t.Fatalf("RM: negotiated %s/%s, want KERBEROS/%s", method, qop, tc.qop)
			}

			// A client that insists on privacy refuses a server offering less.
			if tc.level != "privacy" {
				strict, _ := ipc.NewClient([]string{c.RM}, ipc.Config{Protocol: ipc.ApplicationClientProtocol, Auth: []ipc.Authenticator{&krb.GSSAPIAuth{Login: keytabLogin, ServerPrincipal: c.ServicePrincipal, QOP: []string{"auth-conf"}}}})
				err := strict.Call(ctx, "getClusterMetrics", &yarnpb.GetClusterMetricsRequest{}, &yarnpb.GetClusterMetricsResponse{})
				strict.Close()
				if err == nil || !strings.Contains(err.Error(), "hadoop.rpc.protection") {
					t.Fatalf("privacy-only client against %s: %v", tc.level, err)
				}
			}

			// A server principal that does not match the configuration is refused.
			bad, _ := ipc.NewClient([]string{c.NameNode}, ipc.Config{Protocol: ipc.ClientNamenodeProtocol, Auth: []ipc.Authenticator{&krb.GSSAPIAuth{Login: keytabLogin, ServerPrincipal: "nn/_HOST@STOKE.TEST"}}})
			defer bad.Close()
			err = bad.Call(ctx, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String("/tmp/x"), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &hdfspb.MkdirsResponseProto{})
			if err == nil || !strings.Contains(err.Error(), "server principal mismatch") {
				t.Fatalf("mismatched server principal: %v", err)
			}

			if tc.level == "privacy" {
				badLogins(t, c)
			}
		})
	}
}

// badLogins: the login errors against the harness's KDC. A principal missing
// from the keytab, a keytab whose key the KDC has replaced, and a krb5.conf
// naming a port where no KDC listens each end in their own error.
func badLogins(t *testing.T, c *hadooptest.Cluster) {
	other := c.KDC.AddPrincipal(t, "mallory@"+krbtest.Realm)
	if _, err := krb.NewLogin(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: other, Krb5Conf: c.KDCConf}); !errors.Is(err, krb.ErrNotInKeytab) {
		t.Errorf("principal not in the keytab: %v", err)
	}
	stale := filepath.Join(t.TempDir(), "stale.keytab")
	data, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(stale, data, 0o600)
	c.KDC.AddPrincipalTo(t, "mallory@"+krbtest.Realm, filepath.Join(t.TempDir(), "new.keytab")) // a new key
	if _, err := krb.NewLogin(krb.LoginOptions{Principal: "mallory@" + krbtest.Realm, Keytab: stale, Krb5Conf: c.KDCConf}); !errors.Is(err, krb.ErrBadCredentials) {
		t.Errorf("stale keytab: %v", err)
	}
	conf, _ := os.ReadFile(c.KDCConf)
	dead := filepath.Join(t.TempDir(), "krb5.conf")
	os.WriteFile(dead, []byte(strings.ReplaceAll(string(conf), c.KDC.Addr, "127.0.0.1:1")), 0o644)
	if _, err := krb.NewLogin(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab, Krb5Conf: dead}); !errors.Is(err, krb.ErrKDCUnreachable) {
		t.Errorf("unreachable KDC: %v", err)
	}
}
