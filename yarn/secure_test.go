package yarn_test

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
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
		_, err := stoke.New(yarnConfig(stoke.Config{"stoke.kerberos.principal": c.UserPrincipal, "stoke.kerberos.keytab": other, "stoke.ui.enabled": "false"}))
		if err == nil || !errors.Is(err, krb.ErrNotInKeytab) {
			t.Fatalf("wrong keytab: %v", err)
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
		case <-time.After(4 * time.Minute):
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
// 50 s reading HDFS every second (its processes log in from the shipped keytab), and an
// executor container killed after the first token expired is replaced. The AM also obtains
// fresh tokens for new containers' localization, but this test cannot prove that part: a
// NodeManager that already localized the application's files for an earlier container does
// not download them again.
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
	cfg := yarnConfig(stoke.Config{"stoke.app.name": "stoke-outlive", "stoke.yarn.maxAppAttempts": "1",
		"stoke.kerberos.principal": c.UserPrincipal, "stoke.kerberos.keytab": c.UserKeytab})
	started := time.Now()
	appID, done, out := submitCluster(t, cfg, "outlive", c.FS+dir+"/input.txt", "50")
	time.Sleep(time.Until(started.Add(28 * time.Second)))
	victims := findProcs(t, "STOKE_EXECUTOR_ID=1\n", "CONTAINER_ID=container_"+appIDPart(appID))
	if len(victims) != 1 {
		t.Fatalf("executor 1 of %s: processes %v\n%s", appID, victims, out)
	}
	if err := syscall.Kill(victims[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(findProcs(t, "STOKE_EXECUTOR_ID=3\n", "CONTAINER_ID=container_"+appIDPart(appID))) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no replacement executor started after the first delegation token expired\n%s\nharness log: %s", out, grepLog(c.LogFile, "Localiz", "token", "Token"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", appID, err, out)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s did not end\n%s", appID, out)
	}
	if time.Since(started) < 40*time.Second {
		t.Fatalf("the application ended after %v, before outliving its tokens", time.Since(started))
	}
}
