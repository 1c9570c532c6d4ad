package hdfsdata

import (
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/history"
	"github.com/stoke-run/stoke/internal/history/historytest"
)

// TestHistoryServerOnHDFS serves, from a log directory on HDFS, the logs of
// a finished, a failed (compressed), a Ctrl-C'd and a still-running
// application (its in-progress log copied mid-run, then again after one
// more job), as the history server does on local disk; then the log of a
// driver that writes straight to HDFS.
func TestHistoryServerOnHDFS(t *testing.T) {
	local := t.TempDir()
	apps := historytest.FourApps(t, local)
	cluster := hadooptest.Start(t)
	for _, kv := range cluster.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	historyOnHDFS(t, cluster, local, apps)
}

// TestHistoryServerOnSecureHDFS does the same on a Kerberos minicluster
// with privacy: the history server logs in from a keytab (what
// stoke history-server does with stoke.kerberos.principal and
// stoke.kerberos.keytab), the drivers that write to HDFS from the user's
// ticket cache.
func TestHistoryServerOnSecureHDFS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a secure minicluster start")
	}
	local := t.TempDir()
	apps := historytest.FourApps(t, local)
	cluster := hadooptest.StartWith(t, hadooptest.Options{Secure: "privacy"})
	for _, kv := range cluster.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("KRB5_CONFIG", cluster.KDC.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+cluster.KDC.Kinit(t, cluster.UserPrincipal, cluster.UserKeytab))
	fsx.UseKerberos(krb.LoginOptions{Principal: cluster.UserPrincipal, Keytab: cluster.UserKeytab})
	historyOnHDFS(t, cluster, local, apps)
}

func historyOnHDFS(t *testing.T, cluster *hadooptest.Cluster, local string, apps historytest.Apps) {
	dir := cluster.FS + "/tmp/stoke-history"
	fsys, err := fsx.For(dir)
	if err != nil {
		t.Fatal(err)
	}
	fsys.RemoveAll(dir)
	if err := fsys.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(local)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		copyToHDFS(t, fsys, filepath.Join(local, e.Name()), fsys.Join(dir, e.Name()))
	}

	srv, err := history.New(history.Options{LogDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	historytest.CheckListing(t, ts.URL, apps)

	// The running application's log grows; the rescan re-reads it.
	running := apps.Running
	fmt.Fprintln(running.Stdin)
	running.WaitFor(t, "JOB-DONE")
	name := running.ID + ".jsonl.inprogress"
	historytest.WaitForJobs(t, filepath.Join(local, name), 2)
	copyToHDFS(t, fsys, filepath.Join(local, name), fsys.Join(dir, name))
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	page := ts.URL + "/history/" + running.ID + "/jobs/"
	if code, body := historytest.Get(t, page); code != 200 || !strings.Contains(body, `href="jobs/job/?id=1"`) {
		t.Errorf("after the rescan the running app's page on HDFS does not show job 1: %d\n%s", code, body)
	}

	// A driver writes its log straight to HDFS (stoke.eventLog.dir=hdfs://...), compressed.
	direct := historytest.RunApp(t, dir, "direct-app", true, "stoke.eventLog.compress=true")
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	a, ok := historytest.ListApps(t, ts.URL)[direct]
	if !ok || a.Name != "direct-app" || a.State != history.StateFailed || a.Jobs != 2 || a.LogError != "" {
		t.Fatalf("the application that logged to HDFS is listed as %+v (found %v)", a, ok)
	}
	if _, err := fsys.Stat(fsys.Join(dir, direct+".jsonl.zst")); err != nil {
		t.Errorf("its finished log on HDFS: %v", err)
	}
	if code, body := historytest.Get(t, ts.URL+a.UI); code != 200 || !strings.Contains(body, `href="jobs/job/?id=1"`) {
		t.Errorf("its jobs page: %d\n%s", code, body)
	}

	// A driver still running, its log open on HDFS: listed as incomplete,
	// its page served, whatever part of the log HDFS shows readers yet.
	live := historytest.StartChild(t, "running", dir)
	fmt.Fprintln(live.Stdin)
	live.WaitFor(t, "JOB-DONE")
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	a, ok = historytest.ListApps(t, ts.URL)[live.ID]
	if !ok || a.State != history.StateIncomplete || a.LogError != "" {
		t.Errorf("the running application logging to HDFS is listed as %+v (found %v)", a, ok)
	}
	if code, body := historytest.Get(t, ts.URL+"/history/"+live.ID+"/jobs/"); code != 200 {
		t.Errorf("its jobs page: %d\n%s", code, body)
	}
	t.Logf("a running application's log on HDFS shows %d jobs to readers", a.Jobs)
}

func copyToHDFS(t *testing.T, fsys fsx.FS, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := fsys.RemoveAll(to); err != nil {
		t.Fatal(err)
	}
	w, err := fsys.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, strings.NewReader(string(b))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
