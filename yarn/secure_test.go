package yarn_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/yarn"
)

// TestSecureYARN runs on a Kerberos minicluster at each protection level, the same for RPC
// and DataNode transfer. With a keytab, the client gets an HDFS delegation token for the
// NodeManagers to localize the staged files, ships the keytab, and the AM, driver and
// executors log in themselves. From a ticket cache, nothing can be shipped: the containers
// reach HDFS with the delegation token alone. The word count reads and writes HDFS in cluster
// mode both ways; the conformance suite runs in client mode; a login that fails stages
// nothing.
func TestSecureYARN(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: secure miniclusters")
	}
	for _, level := range []string{"privacy", "integrity", "authentication"} {
		t.Run(level, func(t *testing.T) { testSecureYARN(t, level) })
	}
}

func testSecureYARN(t *testing.T, level string) {
	c := hadooptest.StartWith(t, hadooptest.Options{Secure: level, NodeManagers: 2})
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("KRB5_CONFIG", c.KDC.Krb5Conf)
	secure := stoke.Config{"stoke.kerberos.principal": c.UserPrincipal, "stoke.kerberos.keytab": c.UserKeytab}
	// The test's own HDFS access (input, output checks) uses the user's keytab.
	fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})

	t.Run("WrongKeytab", func(t *testing.T) {
		other := c.KDC.AddPrincipal(t, "mallory@STOKE.TEST")
		before := stagedApps(t, c)
		_, err := stoke.New(yarnConfig(stoke.Config{"stoke.kerberos.principal": c.UserPrincipal, "stoke.kerberos.keytab": other, "stoke.ui.enabled": "false"}))
		if err == nil || !errors.Is(err, krb.ErrNotInKeytab) {
			t.Fatalf("wrong keytab: %v", err)
		}
		if after := stagedApps(t, c); after != before {
			t.Fatalf("a failed login staged something: %d staging directories before, %d after", before, after)
		}
		// This process's HDFS access goes back to the user's keytab.
		fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
	})
	wordCount := func(t *testing.T, name string, extra stoke.Config) {
		dir := "/tmp/stoke-secure-wc-" + level + "-" + name
		want := writeInput(t, c, dir)
		cfg := yarnConfig(stoke.Config{"stoke.app.name": "stoke-secure-wordcount-" + name, "stoke.yarn.maxAppAttempts": "1"})
		for k, v := range extra {
			cfg[k] = v
		}
		appID, done, out := submitCluster(t, cfg, "wordcount", c.FS+dir+"/input.txt", c.FS+dir+"/out")
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v\n%s\nharness log: %s", appID, err, out, grepLog(c.LogFile, "Localiz", "SASL", "Sasl"))
			}
		case <-time.After(testutil.D(4 * time.Minute)):
			t.Fatalf("%s did not end\n%s", appID, out)
		}
		got := readCounts(t, c, dir+"/out")
		if len(got) != len(want) || got["common"] != want["common"] {
			t.Fatalf("counts = %v, want %v", got, want)
		}
	}
	t.Run("WordCountClusterModeKeytab", func(t *testing.T) { wordCount(t, "keytab", secure) })
	t.Run("WordCountClusterModeTicketCache", func(t *testing.T) {
		// Only the submitting process has Kerberos credentials (an MIT kinit cache).
		t.Setenv("KRB5CCNAME", "FILE:"+c.KDC.Kinit(t, c.UserPrincipal, c.UserKeytab))
		fsx.UseKerberos(krb.LoginOptions{})
		defer fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
		wordCount(t, "ticketcache", nil)
	})
	t.Run("ConformanceClientModeTicketCache", func(t *testing.T) {
		// The driver logs in from a ticket cache made by MIT kinit; executors need no
		// Kerberos for these jobs (no HDFS access).
		t.Setenv("KRB5CCNAME", "FILE:"+c.KDC.Kinit(t, c.UserPrincipal, c.UserKeytab))
		fsx.UseKerberos(krb.LoginOptions{})
		defer fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
		cfg := yarnConfig(nil)
		backendtest.Run(t, backendtest.Harness{
			Config: cfg, Executors: 2, CoresPerExecutor: 2, Timeout: 3 * time.Minute,
			NewBackend: func(t *testing.T) backend.Backend {
				m, _ := conf.ParseMaster("yarn")
				b, err := yarn.New(m, newConf(t, cfg), nil)
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			KillExecutor: func(t *testing.T, sc *stoke.Context, id string) { killExecutor(t, sc, id) },
		})
	})
}

// stagedApps counts the applications' staging directories of every HDFS user.
func stagedApps(t *testing.T, c *hadooptest.Cluster) int {
	t.Helper()
	fs, err := fsx.For(c.FS + "/user")
	if err != nil {
		t.Fatal(err)
	}
	users, err := fs.List(c.FS + "/user")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	n := 0
	for _, u := range users {
		apps, err := fs.List(u.Path + "/.stokeStaging")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		n += len(apps)
	}
	return n
}

func grepLog(path string, words ...string) string {
	data, _ := os.ReadFile(path)
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	if len(out) > 40 {
		out = out[len(out)-40:]
	}
	return strings.Join(out, "\n")
}

// TestSecureYARNOutlivesTokens: HDFS delegation tokens live 20 s; an application runs for
// 50 s reading HDFS every second. The AM logs in from the shipped keytab; executors use
// tokens only: the running ones are sent the AM's new token through the driver, and an
// executor container killed after the first token expired is replaced and gets a token the
// AM obtained after the first expired, valid on its own. (Localization with that token is not
// shown: a NodeManager that already localized the application's files for an earlier
// container does not download them again.)
func TestSecureYARNOutlivesTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a secure minicluster")
	}
	c := hadooptest.StartWith(t, hadooptest.Options{Secure: "authentication", NodeManagers: 2, TokenMaxLifetime: 20 * time.Second})
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("KRB5_CONFIG", c.KDC.Krb5Conf)
	fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
	dir := "/tmp/stoke-outlive"
	writeInput(t, c, dir)
	// A delegation token obtained now opens HDFS without Kerberos (the way containers of a
	// ticket-cache submission use it) until it expires; after the run it must be refused
	// with a clear error.
	tokenFile := delegationTokenFile(t)
	if err := statWithToken(t, c, tokenFile, dir+"/input.txt"); err != nil {
		t.Fatalf("HDFS with a fresh delegation token: %v", err)
	}
	cfg := yarnConfig(stoke.Config{"stoke.app.name": "stoke-outlive", "stoke.yarn.maxAppAttempts": "1",
		"stoke.kerberos.principal": c.UserPrincipal, "stoke.kerberos.keytab": c.UserKeytab})
	started := time.Now()
	appID, done, out := submitCluster(t, cfg, "outlive", c.FS+dir+"/input.txt", "50")
	time.Sleep(time.Until(started.Add(28 * time.Second)))
	victims := findProcs(t, "STOKE_EXECUTOR_ID=1\n", "CONTAINER_ID=container_"+appIDPart(appID))
	if len(victims) != 1 {
		t.Fatalf("executor 1 of %s: processes %v\n%s", appID, victims, out)
	}
	// Executors never get the keytab: they read HDFS with delegation tokens, and the running
	// ones have by now been sent (through the driver) the token the AM obtained when the
	// submission's neared its end.
	if strings.Contains(environ(victims[0]), fsx.EnvKeytab+"=") {
		t.Fatal("an executor's environment names the keytab")
	}
	survivor := findProcs(t, "STOKE_EXECUTOR_ID=2\n", "CONTAINER_ID=container_"+appIDPart(appID))
	if len(survivor) != 1 {
		t.Fatalf("executor 2 of %s: processes %v\n%s", appID, survivor, out)
	}
	if tf, issued := hdfsTokenOf(t, survivor[0]); !issued.After(started.Add(10 * time.Second)) {
		t.Fatalf("executor 2 (started at submission) still has the token issued at %v, %v after submission; the AM's new one was not passed on", issued, issued.Sub(started))
	} else if err := statWithToken(t, c, tf, dir+"/input.txt"); err != nil {
		t.Fatalf("HDFS with executor 2's updated token file: %v", err)
	}
	if err := syscall.Kill(victims[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testutil.D(60 * time.Second))
	var replacement []int
	for len(replacement) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no replacement executor started after the first delegation token expired\n%s\nharness log: %s", out, grepLog(c.LogFile, "Localiz", "token", "Token"))
		}
		time.Sleep(200 * time.Millisecond)
		replacement = findProcs(t, "STOKE_EXECUTOR_ID=3\n", "CONTAINER_ID=container_"+appIDPart(appID))
	}
	// The replacement's container got a delegation token the AM obtained after the first one
	// (issued at submission) expired, and that token alone opens HDFS now.
	execTokens, issued := hdfsTokenOf(t, replacement[0])
	if !issued.After(started.Add(10 * time.Second)) {
		t.Fatalf("the replacement executor's HDFS token was issued at %v, %v after submission: not a refreshed token", issued, issued.Sub(started))
	}
	if err := statWithToken(t, c, execTokens, dir+"/input.txt"); err != nil {
		t.Fatalf("HDFS with the replacement executor's token: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", appID, err, out)
		}
	case <-time.After(testutil.D(3 * time.Minute)):
		t.Fatalf("%s did not end\n%s", appID, out)
	}
	if time.Since(started) < 40*time.Second {
		t.Fatalf("the application ended after %v, before outliving its tokens", time.Since(started))
	}
	err := statWithToken(t, c, tokenFile, dir+"/input.txt")
	if err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "InvalidToken") {
		t.Fatalf("HDFS with an expired delegation token: %v; want the NameNode's InvalidToken (expired)", err)
	}
}

// hdfsTokenOf reads the token file of a container process and returns its path and when its
// HDFS delegation token was issued.
func hdfsTokenOf(t *testing.T, pid int) (string, time.Time) {
	t.Helper()
	var tf string
	for _, kv := range strings.Split(environ(pid), "\n") {
		if v, ok := strings.CutPrefix(kv, "HADOOP_TOKEN_FILE_LOCATION="); ok {
			tf = v
		}
	}
	creds, err := tokenfile.Read(tf)
	if err != nil {
		t.Fatalf("the token file %q of process %d: %v", tf, pid, err)
	}
	var issued time.Time
	for _, tok := range creds.TokenList() {
		if tok.GetKind() == "HDFS_DELEGATION_TOKEN" {
			if issued, _, err = tokenfile.DelegationTokenTimes(tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	return tf, issued
}

// delegationTokenFile writes a token file with a fresh HDFS delegation token.
func delegationTokenFile(t *testing.T) string {
	t.Helper()
	cl, err := yarn.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(30*time.Second))
	defer cancel()
	tok, err := yarn.HDFSDelegationToken(cl, ctx)
	if err != nil {
		t.Fatal(err)
	}
	creds := &tokenfile.Credentials{}
	creds.AddToken(tok.GetService(), tok)
	p := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(p, creds.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// statWithToken stats p on fs.defaultFS authenticated by the token file alone (no keytab
// configured, no ticket cache); it fails the test if the token is not used.
func statWithToken(t *testing.T, c *hadooptest.Cluster, tokenFile, p string) error {
	t.Helper()
	t.Setenv("HADOOP_TOKEN_FILE_LOCATION", tokenFile)
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "no-cache"))
	fsx.UseKerberos(krb.LoginOptions{})
	defer fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
	conf, err := hadoopconf.LoadFromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	client, set, err := fsx.NewHDFSClient(conf, "")
	if set.TokenFile == "" || set.Login != nil {
		t.Fatalf("fsx.Options did not choose the delegation token: %+v (%v)", set, err)
	}
	if err != nil {
		return err
	}
	defer client.Close()
	_, err = client.Stat(p)
	return err
}
