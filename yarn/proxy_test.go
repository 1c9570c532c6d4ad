package yarn_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/yarn"
)

// TestSecureYARNProxyUserAndFileSystems runs on one Kerberos minicluster with a second HDFS
// (same KDC, its own NameNode). The test's user (the OS user's principal, logged in from
// its keytab as a gateway would) may impersonate alice but not bob:
//   - a --proxy-user alice submission runs as alice: the RM reports her as the
//     application's user, and the staging directory (in her home) and the job's output
//     are hers on HDFS, in cluster mode and in client mode (where the driver in this
//     process commits the output as her);
//   - a --proxy-user bob submission is refused by the cluster with its reason, and
//     nothing is staged;
//   - a job whose tasks read the second HDFS gets exact counts when that file system is
//     listed in stoke.kerberos.access.hadoopFileSystems, from a ticket cache in cluster mode
//     (every container has tokens only) and in client mode (executors have tokens only);
//     unlisted, it fails saying which token is missing; listed but unreachable, the
//     submission fails before anything is staged.
func TestSecureYARNProxyUserAndFileSystems(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a secure minicluster")
	}
	c := hadooptest.StartWith(t, hadooptest.Options{Secure: "privacy", NodeManagers: 1,
		ProxyUsers: []string{"alice", "bob"}, AllowProxy: []string{"alice"}, SecondHDFS: true})
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("KRB5_CONFIG", c.KDC.Krb5Conf)
	fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
	gateway, _, _ := strings.Cut(c.UserPrincipal, "@")

	t.Run("ProxyUserClusterMode", func(t *testing.T) {
		dir := "/tmp/stoke-proxy-wc"
		want := writeInput(t, c, dir)
		name := "stoke-proxy-wordcount"
		cfg := yarnConfig(stoke.Config{"stoke.app.name": name, "stoke.yarn.maxAppAttempts": "1", "stoke.yarn.proxyUser": "alice",
			"stoke.yarn.preserveStagingFiles": "true", "stoke.yarn.submit.waitAppCompletion": "false"})
		// The output goes to a directory alice may create (/tmp is world-writable, the
		// input's directory is the test user's).
		outDir := "/tmp/stoke-proxy-out-cluster"
		appID, done, out := submitCluster(t, cfg, "wordcount", c.FS+dir+"/input.txt", c.FS+outDir)
		if err := <-done; err != nil {
			t.Fatalf("%s: %v\n%s", appID, err, out)
		}
		r := waitApp(t, appID)
		if r.GetFinalApplicationStatus() != yarnpb.FinalApplicationStatus_APP_SUCCEEDED {
			t.Fatalf("%s\n%s", yarn.Describe(r), out)
		}
		if r.GetUser() != "alice" {
			t.Fatalf("the RM reports user %q for %s, want alice", r.GetUser(), appID)
		}
		got := readCounts(t, c, outDir)
		if len(got) != len(want) || got["common"] != want["common"] || got["w3"] != want["w3"] {
			t.Fatalf("counts = %v, want %v", got, want)
		}
		// The staging directory is alice's alone (700): stat it as her.
		fs := hdfsAs(t, "alice")
		staging := path.Join("/user/alice/.stokeStaging", appID)
		for _, p := range []string{"/user/alice/.stokeStaging", staging, staging + "/stoke-app", outDir, outDir + "/_SUCCESS"} {
			if owner := ownerOf(t, fs, p); owner != "alice" {
				t.Errorf("%s is owned by %q, want alice", p, owner)
			}
		}
		// The gateway logged in from a keytab (as STOKE_KERBEROS_KEYTAB would make it): that
		// keytab is its own identity and must not reach alice's containers.
		if _, kt := fsx.KerberosKeytab(); kt == "" {
			t.Fatal("the test's login is not from a keytab: the check below would prove nothing")
		}
		if _, err := fs.Stat(staging + "/stoke.keytab"); !os.IsNotExist(err) {
			t.Errorf("the gateway's keytab was staged for alice's application: %v", err)
		}
		if _, err := hdfsAdmin(t, "").Stat("/user/" + gateway + "/.stokeStaging/" + appID); !os.IsNotExist(err) {
			t.Errorf("the gateway's home holds a staging directory of %s: %v", appID, err)
		}
	})

	t.Run("ProxyUserClientMode", func(t *testing.T) {
		dir := "/tmp/stoke-proxy-client"
		want := writeInput(t, c, dir)
		sc, err := stoke.New(yarnConfig(stoke.Config{"stoke.app.name": "stoke-proxy-client", "stoke.ui.enabled": "false", "stoke.yarn.proxyUser": "alice"}))
		if err != nil {
			t.Fatal(err)
		}
		appID := sc.AppID()
		// The driver lists the input and commits the output in this process: as alice too.
		lines, err := stoke.TextFile(sc, c.FS+dir+"/input.txt", 3)
		if err != nil {
			sc.Stop()
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testutil.D(3*time.Minute))
		defer cancel()
		outDir := "/tmp/stoke-proxy-out-client"
		err = stoke.SaveAsTextFile(ctx, stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, words), one), sum, 2), c.FS+outDir)
		sc.Stop()
		if err != nil {
			t.Fatal(err)
		}
		if fsx.ProxyUser() != "" {
			t.Fatalf("after Stop this process's HDFS connections still act for %q", fsx.ProxyUser())
		}
		got := readCounts(t, c, outDir)
		if len(got) != len(want) || got["common"] != want["common"] {
			t.Fatalf("counts = %v, want %v", got, want)
		}
		if r := waitApp(t, appID); r.GetUser() != "alice" || r.GetFinalApplicationStatus() != yarnpb.FinalApplicationStatus_APP_SUCCEEDED {
			t.Fatalf("user %q: %s", r.GetUser(), yarn.Describe(r))
		}
		fs := hdfsAdmin(t, "")
		files, err := fs.ReadDir(outDir)
		if err != nil || len(files) < 2 {
			t.Fatalf("the output: %v %v", files, err)
		}
		for _, f := range append([]os.FileInfo{statOf(t, fs, outDir)}, files...) {
			if owner := f.(*hdfs.FileInfo).Owner(); owner != "alice" {
				t.Errorf("%s/%s is owned by %q, want alice", outDir, f.Name(), owner)
			}
		}
	})

	t.Run("ProxyUserRefused", func(t *testing.T) {
		before := stagedOf(t, c, gateway, "bob")
		cfg := newConf(t, yarnConfig(stoke.Config{"stoke.app.name": "stoke-proxy-refused", "stoke.yarn.proxyUser": "bob"}))
		ctx, cancel := context.WithTimeout(context.Background(), testutil.D(2*time.Minute))
		defer cancel()
		exe, _ := os.Executable()
		_, err := yarn.SubmitCluster(ctx, &yarn.ClusterSubmission{Conf: cfg, Binary: exe, Args: []string{testAppArg, "fail"}, Out: os.Stderr})
		if err == nil || !strings.Contains(err.Error(), "not allowed to impersonate bob") || !strings.Contains(err.Error(), gateway) ||
			!strings.Contains(err.Error(), "hadoop.proxyuser."+gateway) {
			t.Fatalf("a proxy user the cluster does not allow: %v; want the server's refusal naming %s, bob and the hadoop.proxyuser rules", err, gateway)
		}
		t.Log(err)
		if after := stagedOf(t, c, gateway, "bob"); after != before {
			t.Fatalf("a refused submission staged something: %d staging directories before, %d after", before, after)
		}
		if _, err := hdfsAdmin(t, "").Stat("/user/bob/.stokeStaging"); !os.IsNotExist(err) {
			t.Fatalf("bob's home has a staging directory: %v", err)
		}
	})

	second := &hadooptest.Cluster{FS: c.SecondFS}
	otherFS := func(t *testing.T, name string, extra stoke.Config) (dir, out string, err error) {
		dir = "/tmp/stoke-otherfs-" + name
		writeInput(t, second, dir)
		// Only the submitting process has Kerberos credentials (a kinit cache): the AM, the
		// driver and the executors reach both file systems with delegation tokens alone.
		t.Setenv("KRB5CCNAME", "FILE:"+c.KDC.Kinit(t, c.UserPrincipal, c.UserKeytab))
		fsx.UseKerberos(krb.LoginOptions{})
		defer fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
		cfg := yarnConfig(stoke.Config{"stoke.app.name": "stoke-otherfs-" + name, "stoke.yarn.maxAppAttempts": "1", "stoke.task.maxFailures": "1"})
		for k, v := range extra {
			cfg[k] = v
		}
		appID, done, w := submitCluster(t, cfg, "wordcount", c.SecondFS+dir+"/input.txt", c.FS+dir+"/out")
		select {
		case err = <-done:
		case <-time.After(testutil.D(4 * time.Minute)):
			t.Fatalf("%s did not end\n%s", appID, w)
		}
		return dir, w.String(), err
	}
	t.Run("OtherFileSystemClusterMode", func(t *testing.T) {
		dir, out, err := otherFS(t, "listed", stoke.Config{"stoke.kerberos.access.hadoopFileSystems": c.SecondFS + "/"})
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		got := readCounts(t, c, dir+"/out")
		want := expectedCounts()
		if len(got) != len(want) || got["common"] != want["common"] || got["w5"] != want["w5"] {
			t.Fatalf("counts = %v, want %v", got, want)
		}
	})
	t.Run("OtherFileSystemNotListed", func(t *testing.T) {
		_, out, err := otherFS(t, "unlisted", nil)
		if err == nil {
			t.Fatalf("read %s without its delegation token\n%s", c.SecondFS, out)
		}
		if !strings.Contains(out, "no HDFS delegation token for") || !strings.Contains(out, "stoke.kerberos.access.hadoopFileSystems") {
			t.Fatalf("the failure does not say which token is missing: %v\n%s", err, out)
		}
	})
	t.Run("OtherFileSystemUnreachable", func(t *testing.T) {
		before := stagedOf(t, c, gateway)
		gone := "hdfs://" + closedPort(t)
		cfg := newConf(t, yarnConfig(stoke.Config{"stoke.kerberos.access.hadoopFileSystems": c.SecondFS + "," + gone}))
		exe, _ := os.Executable()
		_, err := yarn.SubmitCluster(context.Background(), &yarn.ClusterSubmission{Conf: cfg, Binary: exe, Args: []string{testAppArg, "fail"}, Out: os.Stderr})
		if err == nil || !strings.Contains(err.Error(), "stoke.kerberos.access.hadoopFileSystems: "+gone) {
			t.Fatalf("an unreachable file system listed: %v", err)
		}
		t.Log(err)
		if after := stagedOf(t, c, gateway); after != before {
			t.Fatalf("staged %d applications before, %d after", before, after)
		}
	})
	t.Run("OtherFileSystemClientMode", func(t *testing.T) {
		dir := "/tmp/stoke-otherfs-client"
		want := writeInput(t, second, dir)
		sc, err := stoke.New(yarnConfig(stoke.Config{"stoke.app.name": "stoke-otherfs-client", "stoke.ui.enabled": "false",
			"stoke.task.maxFailures": "1", "stoke.kerberos.access.hadoopFileSystems": c.SecondFS}))
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Stop()
		// The driver lists the input with its own login; the executors read it with the token.
		lines, err := stoke.TextFile(sc, c.SecondFS+dir+"/input.txt", 3)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testutil.D(3*time.Minute))
		defer cancel()
		counts, err := stoke.Collect(ctx, stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, words), one), sum, 2))
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != len(want) {
			t.Fatalf("%d words, want %d", len(counts), len(want))
		}
		for _, kv := range counts {
			if want[kv.Key] != kv.Value {
				t.Fatalf("%s: %d, want %d", kv.Key, kv.Value, want[kv.Key])
			}
		}
	})
}

// expectedCounts are writeInput's counts.
func expectedCounts() map[string]int {
	want := map[string]int{}
	for i := 0; i < 3000; i++ {
		want[fmt.Sprintf("w%d", i%37)]++
		want["common"]++
	}
	return want
}

// waitApp follows an application to its end.
func waitApp(t *testing.T, appID string) *yarnpb.ApplicationReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(4*time.Minute))
	defer cancel()
	r, err := yarnClient(t).Wait(ctx, appID, 200*time.Millisecond, nil, nil)
	if err != nil {
		t.Fatalf("%s: %v", appID, err)
	}
	return r
}

// hdfsAdmin is a colinmarc/hdfs client of authority ("" for fs.defaultFS) as the test's user.
func hdfsAdmin(t *testing.T, authority string) *hdfs.Client { return hdfsClientAs(t, authority, "") }

// hdfsAs is a client of fs.defaultFS for user, whom the test's user impersonates.
func hdfsAs(t *testing.T, user string) *hdfs.Client { return hdfsClientAs(t, "", user) }

func hdfsClientAs(t *testing.T, authority, user string) *hdfs.Client {
	t.Helper()
	hc, err := hadoopconf.LoadFromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	cl, _, err := fsx.NewHDFSClientAs(hc, authority, user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func ownerOf(t *testing.T, fs *hdfs.Client, p string) string {
	t.Helper()
	return statOf(t, fs, p).(*hdfs.FileInfo).Owner()
}

func statOf(t *testing.T, fs *hdfs.Client, p string) os.FileInfo {
	t.Helper()
	st, err := fs.Stat(p)
	if err != nil {
		t.Fatalf("stat %s: %v", p, err)
	}
	return st
}

// stagedOf counts the staging directories in the homes of users (stagedApps counts every
// user's, but alice's staging directory is hers alone).
func stagedOf(t *testing.T, c *hadooptest.Cluster, users ...string) int {
	t.Helper()
	fs := hdfsAdmin(t, "")
	n := 0
	for _, u := range users {
		apps, err := fs.ReadDir("/user/" + u + "/.stokeStaging")
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		n += len(apps)
	}
	return n
}

// TestSecureYARNOtherFSOutlivesTokens: delegation tokens of both HDFS namespaces live 20 s;
// an application submitted with a keytab reads the second HDFS every second for 45 s. Its
// executors never have the keytab: they read with the second HDFS's token, which the AM
// replaces before it ends (as it does fs.defaultFS's) and the driver passes on to them; a
// running executor's token file holds the new token, valid on its own.
func TestSecureYARNOtherFSOutlivesTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a secure minicluster")
	}
	c := hadooptest.StartWith(t, hadooptest.Options{Secure: "authentication", TokenMaxLifetime: 20 * time.Second, SecondHDFS: true})
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("KRB5_CONFIG", c.KDC.Krb5Conf)
	fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
	dir := "/tmp/stoke-otherfs-outlive"
	writeInput(t, &hadooptest.Cluster{FS: c.SecondFS}, dir)
	cfg := yarnConfig(stoke.Config{"stoke.app.name": "stoke-otherfs-outlive", "stoke.yarn.maxAppAttempts": "1", "stoke.task.maxFailures": "1",
		"stoke.kerberos.principal": c.UserPrincipal, "stoke.kerberos.keytab": c.UserKeytab, "stoke.kerberos.access.hadoopFileSystems": c.SecondFS})
	started := time.Now()
	appID, done, out := submitCluster(t, cfg, "outlive", c.SecondFS+dir+"/input.txt", "45")
	// An executor's NameNode connections made before its first token expired stay open, so
	// the reads alone do not show the refresh: its token file must by now hold a second-HDFS
	// token obtained after submission, and that token alone must open the second HDFS.
	time.Sleep(time.Until(started.Add(28 * time.Second)))
	execs := findProcs(t, "STOKE_EXECUTOR_ID=1\n", "CONTAINER_ID=container_"+appIDPart(appID))
	if len(execs) != 1 {
		t.Fatalf("executor 1 of %s: processes %v\n%s", appID, execs, out)
	}
	if strings.Contains(environ(execs[0]), fsx.EnvKeytab+"=") {
		t.Fatal("an executor's environment names the keytab")
	}
	u, err := url.Parse(c.SecondFS)
	if err != nil {
		t.Fatal(err)
	}
	tf, issued := tokenOf(t, execs[0], u.Port())
	if !issued.After(started.Add(10 * time.Second)) {
		t.Fatalf("executor 1 still has the second HDFS's token issued at %v, %v after submission: the AM's new one was not passed on", issued, issued.Sub(started))
	}
	if err := statWithTokenAt(t, c, tf, u.Host, dir+"/input.txt"); err != nil {
		t.Fatalf("the second HDFS with executor 1's token file: %v", err)
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
}

// tokenOf reads the token file of a container process and returns its path and when its HDFS
// delegation token for the NameNode on port was issued.
func tokenOf(t *testing.T, pid int, port string) (string, time.Time) {
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
	for _, tok := range creds.TokenList() {
		if _, p, _ := net.SplitHostPort(tok.GetService()); tok.GetKind() == "HDFS_DELEGATION_TOKEN" && p == port {
			issued, _, err := tokenfile.DelegationTokenTimes(tok)
			if err != nil {
				t.Fatal(err)
			}
			return tf, issued
		}
	}
	t.Fatalf("process %d has no HDFS delegation token for port %s", pid, port)
	return "", time.Time{}
}

// statWithTokenAt stats p on the HDFS at authority authenticated by the token file alone.
func statWithTokenAt(t *testing.T, c *hadooptest.Cluster, tokenFile, authority, p string) error {
	t.Helper()
	t.Setenv("HADOOP_TOKEN_FILE_LOCATION", tokenFile)
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "no-cache"))
	fsx.UseKerberos(krb.LoginOptions{})
	defer fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
	hc, err := hadoopconf.LoadFromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	client, set, err := fsx.NewHDFSClient(hc, authority)
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
