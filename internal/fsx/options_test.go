package fsx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/hadoop/ipc/ipctest"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/hadoop/krb/krbtest"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
)

func writeTokens(t *testing.T, toks ...*commonpb.Token) string {
	t.Helper()
	creds := &tokenfile.Credentials{}
	for _, tok := range toks {
		creds.AddToken(tok.GetService(), tok)
	}
	p := filepath.Join(t.TempDir(), "container_tokens")
	if err := os.WriteFile(p, creds.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noKerberosEnv(t *testing.T) {
	t.Setenv(EnvPrincipal, "")
	t.Setenv(EnvKeytab, "")
	krbMu.Lock()
	krbOpts, krbLogin = nil, nil
	krbMu.Unlock()
}

// In a container of an application submitted from a ticket cache there is no keytab but
// a delegation token: colinmarc/hdfs's NameNode calls go through a token tunnel, and the
// NameNode sees TOKEN authentication (here a fake NameNode that answers getFileInfo with
// "no such file").
func TestOptionsDelegationToken(t *testing.T) {
	noKerberosEnv(t)
	nn := &ipctest.Server{Tokens: map[string][]byte{"dt-id": []byte("dt-pw")}, QOP: "auth-int"}
	if err := nn.Start(); err != nil {
		t.Fatal(err)
	}
	defer nn.Close()
	dt := &commonpb.Token{Identifier: []byte("dt-id"), Password: []byte("dt-pw"), Kind: proto.String("HDFS_DELEGATION_TOKEN"), Service: proto.String(nn.Addr())}
	other := &commonpb.Token{Identifier: []byte("x"), Password: []byte("y"), Kind: proto.String("HDFS_DELEGATION_TOKEN"), Service: proto.String("10.1.2.3:8020")}
	t.Setenv("HADOOP_TOKEN_FILE_LOCATION", writeTokens(t, other, dt))
	conf := hadoopconf.HadoopConf{
		"fs.defaultFS":                    "hdfs://" + nn.Addr(),
		"hadoop.security.authentication":  "kerberos",
		"dfs.namenode.kerberos.principal": "nn/_HOST@STOKE.TEST",
		"dfs.data.transfer.protection":    "integrity",
	}
	set, err := Options(conf, "")
	if err != nil {
		t.Fatal(err)
	}
	if set.Login != nil || set.Client.KerberosClient != nil || set.TokenFile == "" || set.Client.NamenodeDialFunc == nil {
		t.Fatalf("settings = %+v; want the token tunnel, no Kerberos", set)
	}
	if set.Client.DataTransferProtection != "" || set.Client.DatanodeDialFunc == nil {
		t.Fatalf("data transfer: protection %q, dialer set %v; want Stoke's dialer", set.Client.DataTransferProtection, set.Client.DatanodeDialFunc != nil)
	}
	auth, err := set.RPCAuth()
	if err != nil || len(auth) != 1 || auth[0].Method() != ipc.MethodToken {
		t.Fatalf("RPCAuth = %v, %v", auth, err)
	}
	client, err := hdfs.NewClient(set.Client)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.Stat("/no/such"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat through the tunnel: %v", err)
	}
	calls := nn.Calls()
	if len(calls) != 1 || calls[0].Method != "getFileInfo" || calls[0].AuthMethod != "TOKEN" || calls[0].Protocol != clientProtocol {
		t.Fatalf("NameNode saw %+v", calls)
	}
}

// A keytab wins over the token file; without a token for this NameNode (or without a token
// file) the ticket cache is used; bad files and values are clear errors.
func TestOptionsChoices(t *testing.T) {
	noKerberosEnv(t)
	t.Setenv("KRB5_CONFIG", filepath.Join(t.TempDir(), "missing-krb5.conf"))
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "missing-cache"))
	dt := &commonpb.Token{Identifier: []byte("i"), Password: []byte("p"), Kind: proto.String("HDFS_DELEGATION_TOKEN"), Service: proto.String("127.0.0.1:8020")}
	secure := hadoopconf.HadoopConf{"fs.defaultFS": "hdfs://127.0.0.1:8020", "hadoop.security.authentication": "kerberos"}

	t.Setenv("HADOOP_TOKEN_FILE_LOCATION", writeTokens(t, dt))
	t.Setenv(EnvPrincipal, "alice@STOKE.TEST")
	t.Setenv(EnvKeytab, filepath.Join(t.TempDir(), "alice.keytab"))
	if _, err := Options(secure, ""); err == nil || !strings.Contains(err.Error(), "Kerberos") {
		t.Fatalf("with a keytab configured: %v; want a Kerberos login (failing here)", err)
	}
	noKerberosEnv(t)
	if _, err := Options(secure, "127.0.0.1:9000"); err == nil || !strings.Contains(err.Error(), "Kerberos") {
		t.Fatalf("no token for the NameNode: %v; want the ticket cache (failing here)", err)
	}
	t.Setenv("HADOOP_TOKEN_FILE_LOCATION", filepath.Join(t.TempDir(), "none"))
	if _, err := Options(secure, ""); err == nil || !strings.Contains(err.Error(), "container's tokens") {
		t.Fatalf("missing token file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("HDTS\x00garbage"), 0o600)
	t.Setenv("HADOOP_TOKEN_FILE_LOCATION", bad)
	if _, err := Options(secure, ""); err == nil || !strings.Contains(err.Error(), "container's tokens") {
		t.Fatalf("malformed token file: %v", err)
	}
	if _, err := Options(hadoopconf.HadoopConf{"fs.defaultFS": "hdfs://nn:8020", "dfs.data.transfer.protection": "secret"}, ""); err == nil || !strings.Contains(err.Error(), "dfs.data.transfer.protection") {
		t.Fatalf("bad protection: %v", err)
	}
	if _, err := Options(hadoopconf.HadoopConf{}, ""); err == nil {
		t.Fatal("no NameNode: no error")
	}
	// dfs.encrypt.data.transfer stays with colinmarc/hdfs's own SASL.
	set, err := Options(hadoopconf.HadoopConf{"fs.defaultFS": "hdfs://nn:8020", "dfs.data.transfer.protection": "privacy", "dfs.encrypt.data.transfer": "true"}, "")
	if err != nil || set.Client.DatanodeDialFunc != nil || set.Client.DataTransferProtection != "privacy" {
		t.Fatalf("encrypt data transfer: %+v, %v", set.Client, err)
	}
}

// With a Kerberos login, colinmarc/hdfs's own Kerberos transport (which sends requests
// unwrapped) is not used: its NameNode connections go through the GSSAPI tunnel, and
// Stoke's own calls authenticate with the same login.
func TestOptionsKerberosTunnel(t *testing.T) {
	noKerberosEnv(t)
	k := krbtest.Start(t)
	kt := k.AddPrincipal(t, "alice@"+krbtest.Realm)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	UseKerberos(krb.LoginOptions{Principal: "alice@" + krbtest.Realm, Keytab: kt})
	defer noKerberosEnv(t)
	conf := hadoopconf.HadoopConf{
		"fs.defaultFS":                    "hdfs://127.0.0.1:8020",
		"hadoop.security.authentication":  "kerberos",
		"dfs.namenode.kerberos.principal": "nn/_HOST@" + krbtest.Realm,
	}
	set, err := Options(conf, "")
	if err != nil {
		t.Fatal(err)
	}
	if set.Login == nil || set.Client.KerberosClient != nil || set.Client.NamenodeDialFunc == nil || set.TokenFile != "" {
		t.Fatalf("settings = %+v; want the Kerberos login through the tunnel, not colinmarc/hdfs's Kerberos", set)
	}
	if set.Client.User != "alice" {
		t.Fatalf("colinmarc/hdfs user %q, want the login's short name", set.Client.User)
	}
	auth, err := set.RPCAuth()
	if err != nil || len(auth) != 1 || auth[0].Method() != ipc.MethodKerberos {
		t.Fatalf("RPCAuth = %v, %v", auth, err)
	}
	// Without the NameNode's principal the server could not be authenticated: refused.
	delete(conf, "dfs.namenode.kerberos.principal")
	if _, err := Options(conf, ""); err == nil || !strings.Contains(err.Error(), "dfs.namenode.kerberos.principal") {
		t.Fatalf("no NameNode principal: %v", err)
	}
	conf["dfs.namenode.kerberos.principal.pattern"] = "nn/*"
	if set, err := Options(conf, ""); err != nil || set.NameNodePrincipalPattern != "nn/*" {
		t.Fatalf("a principal pattern: %+v, %v", set, err)
	}
}

// Impersonation needs a Kerberos login: without Kerberos the cluster takes any user name,
// and a delegation token names its own user. A container without a token for a NameNode
// (and no login) is told which token is missing and which key lists the file system.
func TestImpersonateAndMissingToken(t *testing.T) {
	noKerberosEnv(t)
	t.Setenv("KRB5_CONFIG", filepath.Join(t.TempDir(), "missing-krb5.conf"))
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "missing-cache"))
	simple := hadoopconf.HadoopConf{"fs.defaultFS": "hdfs://127.0.0.1:8020"}
	set, err := Options(simple, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Impersonate("alice"); err == nil || !strings.Contains(err.Error(), "does not use Kerberos") {
		t.Fatalf("impersonating without Kerberos: %v", err)
	}
	if _, _, err := NewHDFSClientAs(simple, "", "alice"); err == nil || !strings.Contains(err.Error(), "proxy user \"alice\"") {
		t.Fatalf("NewHDFSClientAs without Kerberos: %v", err)
	}
	dt := &commonpb.Token{Identifier: []byte("i"), Password: []byte("p"), Kind: proto.String("HDFS_DELEGATION_TOKEN"), Service: proto.String("127.0.0.1:8020")}
	t.Setenv("HADOOP_TOKEN_FILE_LOCATION", writeTokens(t, dt))
	secure := hadoopconf.HadoopConf{"fs.defaultFS": "hdfs://127.0.0.1:8020", "hadoop.security.authentication": "kerberos", nnPrincipalKey: "nn/_HOST@STOKE.TEST"}
	set, err = Options(secure, "")
	if err != nil || set.TokenFile == "" {
		t.Fatalf("settings with the container's token: %+v, %v", set, err)
	}
	if _, err := set.Impersonate("alice"); err == nil || !strings.Contains(err.Error(), "delegation token") {
		t.Fatalf("impersonating with a delegation token: %v", err)
	}
	_, err = Options(secure, "127.0.0.1:9000")
	if err == nil || !strings.Contains(err.Error(), "no HDFS delegation token for 127.0.0.1:9000") || !strings.Contains(err.Error(), "stoke.kerberos.access.hadoopFileSystems") {
		t.Fatalf("another NameNode without its token: %v", err)
	}
}
