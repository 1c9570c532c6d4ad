package yarn_test

import (
	"context"
	"fmt"
	"os"
	"path"
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
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/yarn"
)

// TestSecureYARNProxyUserAndFileSystems runs on one Kerberos minicluster with a second HDFS
// (same KDC, its own NameNode). The test's user (the OS user's principal, logged in from
// its keytab as a gateway would) may impersonate alice but not bob:
//   - a --proxy-user alice submission runs as alice: the RM reports her as the
//     application's user, and the staging directory (in her home) and the job's output
//     are hers on HDFS;
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
		appID, done, out := submitCluster(t, cfg, "wordcount", c.FS+dir+"/input.txt", c.FS+dir+"/out")
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
		got := readCounts(t, c, dir+"/out")
		if len(got) != len(want) || got["common"] != want["common"] || got["w3"] != want["w3"] {
			t.Fatalf("counts = %v, want %v", got, want)
		}
		fs := hdfsAdmin(t, "")
		staging := path.Join("/user/alice/.stokeStaging", appID)
		for _, p := range []string{"/user/alice/.stokeStaging", staging, staging + "/stoke-app", dir + "/out", dir + "/out/_SUCCESS"} {
			if owner := ownerOf(t, fs, p); owner != "alice" {
				t.Errorf("%s is owned by %q, want alice", p, owner)
			}
		}
		if _, err := fs.Stat("/user/" + gateway + "/.stokeStaging/" + appID); !os.IsNotExist(err) {
			t.Errorf("the gateway's home holds a staging directory of %s: %v", appID, err)
		}
	})

	t.Run("ProxyUserRefused", func(t *testing.T) {
		before := stagedApps(t, c)
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
		if after := stagedApps(t, c); after != before {
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
		before := stagedApps(t, c)
		gone := "hdfs://" + closedPort(t)
		cfg := newConf(t, yarnConfig(stoke.Config{"stoke.kerberos.access.hadoopFileSystems": c.SecondFS + "," + gone}))
		exe, _ := os.Executable()
		_, err := yarn.SubmitCluster(context.Background(), &yarn.ClusterSubmission{Conf: cfg, Binary: exe, Args: []string{testAppArg, "fail"}, Out: os.Stderr})
		if err == nil || !strings.Contains(err.Error(), "stoke.kerberos.access.hadoopFileSystems: "+gone) {
			t.Fatalf("an unreachable file system listed: %v", err)
		}
		t.Log(err)
		if after := stagedApps(t, c); after != before {
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
func hdfsAdmin(t *testing.T, authority string) *hdfs.Client {
	t.Helper()
	hc, err := hadoopconf.LoadFromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	cl, _, err := fsx.NewHDFSClient(hc, authority)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func ownerOf(t *testing.T, fs *hdfs.Client, p string) string {
	t.Helper()
	st, err := fs.Stat(p)
	if err != nil {
		t.Fatalf("stat %s: %v", p, err)
	}
	return st.(*hdfs.FileInfo).Owner()
}
