package yarn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/aggrlog"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/yarn"
)

// marker is written by every task to its executor's stderr, with the
// container it runs in.
var marker = stoke.RegisterMap("yarntest.logmarker", func(i int) int {
	fmt.Fprintf(os.Stderr, "stoke-logs-marker-%d in %s\n", i, os.Getenv("CONTAINER_ID"))
	fmt.Fprintf(os.Stdout, "stoke-logs-stdout-%d\n", i)
	return i
})

// logMarkerApp is the "logmarker" driver: four tasks on the executors.
func logMarkerApp(sc *stoke.Context) int {
	nums, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 4)
	if _, err := stoke.Collect(context.Background(), stoke.Map(nums, marker)); err != nil {
		fmt.Fprintln(os.Stderr, "test app:", err)
		return 1
	}
	return 0
}

// logRollApp writes the markers, then keeps the application (and its
// executors) running until flag exists on HDFS, for at most three minutes.
func logRollApp(sc *stoke.Context, flag string) int {
	if code := logMarkerApp(sc); code != 0 {
		return code
	}
	fs, err := fsx.For(flag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test app:", err)
		return 1
	}
	for end := time.Now().Add(3 * time.Minute); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if _, err := fs.Stat(flag); err == nil {
			return 0
		}
	}
	return 1
}

var markerLine = regexp.MustCompile(`stoke-logs-marker-\d in (container_\S+)`)

// TestYARNLogs: an application whose tasks write a marker to their
// executors' stderr ends; once the NodeManagers aggregated its logs to HDFS
// (the RM reports LOG_SUCCEEDED), stoke logs prints the marker in the
// section of the executor container that wrote it, --container narrows to
// that container, --log-files to stderr; in each of Hadoop's formats,
// uncompressed and gz. The aggregated file the NodeManager wrote, cut and
// damaged, gives errors, never a panic.
func TestYARNLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts Hadoop miniclusters")
	}
	for _, format := range []string{"TFile", "IndexedFormat:gz", "IndexedFormat", "TFile:gz"} {
		t.Run(strings.ReplaceAll(format, ":", "-"), func(t *testing.T) {
			c := hadooptest.StartWith(t, hadooptest.Options{NodeManagers: 2, LogAggregation: format})
			for _, kv := range c.Env() {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			testLogs(t, c, format == "TFile")
		})
	}
}

// TestYARNRolledLogs: with stoke.yarn.rolledLog.includePattern=stderr the
// RM hands the submission's LogAggregationContext to the NodeManagers, which
// (rolling every 2 s) upload the executors' stderr while the application
// runs, and not their stdout; stoke logs shows the markers then and says the
// application still runs. When it ends, every log is aggregated.
func TestYARNRolledLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a Hadoop minicluster")
	}
	c := hadooptest.StartWith(t, hadooptest.Options{NodeManagers: 1, LogAggregation: "TFile", LogRollInterval: 2 * time.Second})
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	flag := c.FS + "/tmp/stoke-logroll-done"
	cfg := yarnConfig(stoke.Config{"stoke.app.name": "stoke-logs-rolled", "stoke.yarn.maxAppAttempts": "1",
		"stoke.yarn.rolledLog.includePattern": "stderr"})
	appID, done, out := submitCluster(t, cfg, "logroll", flag)
	yc := yarnClient(t)
	ctx := context.Background()
	var running bytes.Buffer
	testutil.Eventually(t, 2*time.Minute, "the executors' stderr of the running "+appID+" uploaded", func() bool {
		select {
		case err := <-done:
			t.Fatalf("%s ended before its logs were rolled: %v\n%s", appID, err, out)
		default:
		}
		time.Sleep(300 * time.Millisecond)
		running.Reset()
		err := yc.Logs(ctx, yarn.LogsRequest{AppID: appID}, &running)
		if err != nil && !errors.Is(err, yarn.ErrLogsNotReady) {
			t.Fatal(err)
		}
		return len(markerLine.FindAllString(running.String(), -1)) == 4
	})
	for id, text := range logSections(running.String()) {
		if !strings.HasSuffix(id, "_000001") && strings.Contains(text, "LogType:stdout") {
			t.Fatalf("the stdout of %s was uploaded while the application ran (rolled include pattern stderr):\n%s", id, tail(text, 3000))
		}
	}
	fs, err := fsx.For(flag)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.MkdirAll(flag); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", appID, err, out)
		}
	case <-time.After(testutil.D(4 * time.Minute)):
		t.Fatalf("%s did not end\n%s", appID, out)
	}
	testutil.Eventually(t, 3*time.Minute, "the executors' stdout of "+appID+" aggregated at its end", func() bool {
		time.Sleep(300 * time.Millisecond)
		var all bytes.Buffer
		if err := yc.Logs(ctx, yarn.LogsRequest{AppID: appID, LogFiles: []string{"stdout"}}, &all); err != nil && !errors.Is(err, yarn.ErrLogsNotReady) && !strings.Contains(err.Error(), "no log named") {
			t.Fatal(err)
		}
		return strings.Contains(all.String(), "stoke-logs-stdout-")
	})
}

// testLogsDisabled: on a cluster that does not aggregate logs, stoke logs
// says so (the RM reports LOG_DISABLED) instead of searching HDFS.
func testLogsDisabled(t *testing.T) {
	appID, done, out := submitCluster(t, yarnConfig(stoke.Config{"stoke.app.name": "stoke-logs-disabled", "stoke.yarn.maxAppAttempts": "1"}), "logmarker")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", appID, err, out)
		}
	case <-time.After(testutil.D(4 * time.Minute)):
		t.Fatalf("%s did not end\n%s", appID, out)
	}
	err := yarnClient(t).Logs(context.Background(), yarn.LogsRequest{AppID: appID}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "yarn.log-aggregation-enable") {
		t.Fatalf("logs on a cluster without aggregation: %v", err)
	}
}

// TestSecureYARNLogs reads aggregated logs on a Kerberos cluster (privacy):
// the client asks the RM for the application over GSSAPI and reads HDFS with
// the user's keytab. The harness's NodeManagers cannot aggregate there
// (reading container logs on a secure cluster needs libhadoop's native code,
// which the harness lacks), so the user puts a file a NodeManager wrote
// (aggrlog's testdata) where the application's logs go. Without a Kerberos
// login stoke logs fails before reading anything.
func TestSecureYARNLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: secure minicluster")
	}
	c := hadooptest.StartWith(t, hadooptest.Options{Secure: "privacy", NodeManagers: 1, LogAggregation: "TFile"})
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("KRB5_CONFIG", c.KDC.Krb5Conf)
	fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
	cfg := yarnConfig(stoke.Config{"stoke.app.name": "stoke-logs-secure", "stoke.yarn.maxAppAttempts": "1",
		"stoke.kerberos.principal": c.UserPrincipal, "stoke.kerberos.keytab": c.UserKeytab})
	appID, done, out := submitCluster(t, cfg, "logmarker")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", appID, err, out)
		}
	case <-time.After(testutil.D(4 * time.Minute)):
		t.Fatalf("%s did not end\n%s", appID, out)
	}
	yc := yarnClient(t)
	r, err := yc.Report(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := yc.AppLogDirs(appID, r.GetUser())
	if err != nil {
		t.Fatal(err)
	}
	hc, err := hadoopconf.Load(c.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	fs, _, err := fsx.NewHDFSClient(hc, "")
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	// What the failed aggregation left (a .tmp file) goes; a NodeManager's
	// file comes instead.
	if err := fs.RemoveAll(dirs[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if err := fs.MkdirAll(dirs[0], 0o770); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../internal/hadoop/aggrlog/testdata/application_1796367742699_0001-TFile")
	if err != nil {
		t.Fatal(err)
	}
	w, err := fs.Create(dirs[0] + "/localhost_12345")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	testutil.Eventually(t, time.Minute, "the uploaded log file to close", func() bool {
		err := w.Close()
		if err != nil && !errors.Is(err, hdfs.ErrReplicating) {
			t.Fatal(err)
		}
		return err == nil
	})
	var all bytes.Buffer
	if err := yc.Logs(context.Background(), yarn.LogsRequest{AppID: appID, LogFiles: []string{"stderr"}}, &all); err != nil {
		t.Fatalf("stoke logs %s: %v", appID, err)
	}
	if n := len(markerLine.FindAllString(all.String(), -1)); n != 4 || strings.Contains(all.String(), "LogType:stdout") {
		t.Fatalf("%d markers (want 4):\n%s", n, tail(all.String(), 4000))
	}
	// No keytab, no ticket cache: a clear error, nothing read.
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "none"))
	fsx.UseKerberos(krb.LoginOptions{})
	defer fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
	if _, err := yarn.NewClient(nil); err == nil || !strings.Contains(err.Error(), "Kerberos") {
		t.Fatalf("stoke logs without a Kerberos login: %v", err)
	}
}

func testLogs(t *testing.T, c *hadooptest.Cluster, withBinary bool, extraConf ...string) {
	cfg := yarnConfig(stoke.Config{"stoke.app.name": "stoke-logs", "stoke.yarn.maxAppAttempts": "1"})
	for i := 0; i+1 < len(extraConf); i += 2 {
		cfg[extraConf[i]] = extraConf[i+1]
	}
	appID, done, out := submitCluster(t, cfg, "logmarker")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", appID, err, out)
		}
	case <-time.After(testutil.D(4 * time.Minute)):
		t.Fatalf("%s did not end\n%s", appID, out)
	}
	yc := yarnClient(t)
	ctx := context.Background()
	var status yarnpb.LogAggregationStatus
	var owner string
	testutil.Eventually(t, 3*time.Minute, "the RM to report the logs of "+appID+" aggregated", func() bool {
		r, err := yc.Report(ctx, appID)
		if err != nil {
			t.Fatal(err)
		}
		status, owner = r.GetLogAggregationStatus(), r.GetUser()
		if status == yarnpb.LogAggregationStatus_LOG_FAILED || status == yarnpb.LogAggregationStatus_LOG_DISABLED {
			t.Fatalf("log aggregation status %v", status)
		}
		time.Sleep(200 * time.Millisecond)
		return status == yarnpb.LogAggregationStatus_LOG_SUCCEEDED
	})
	var all bytes.Buffer
	if err := yc.Logs(ctx, yarn.LogsRequest{AppID: appID}, &all); err != nil {
		t.Fatalf("stoke logs %s: %v\nharness log:\n%s", appID, err, grepLog(c.LogFile, "ggregat"))
	}
	sections := logSections(all.String())
	// The marker of every task, each in the section of the container it names.
	var executor string
	n := 0
	for container, text := range sections {
		for _, m := range markerLine.FindAllStringSubmatch(text, -1) {
			if m[1] != container {
				t.Errorf("the marker of %s is in the section of %s", m[1], container)
			}
			executor = container
			n++
		}
	}
	if n != 4 || strings.HasSuffix(executor, "_000001") {
		t.Fatalf("%d markers (want 4), last in %q; logs:\n%s\nharness log:\n%s", n, executor, tail(all.String(), 6000), grepLog(c.LogFile, "ggregat", "IndexedFile", "Exception"))
	}
	if !strings.Contains(sections[executor], "LogType:stderr") || !strings.Contains(all.String(), "LogType:stdout") || !strings.Contains(all.String(), "stoke-logs-stdout-") {
		t.Fatalf("the logs lack stderr/stdout sections:\n%s", tail(all.String(), 6000))
	}
	t.Logf("%s: %d containers, %d bytes of logs", appID, len(sections), all.Len())

	var one bytes.Buffer
	if err := yc.Logs(ctx, yarn.LogsRequest{AppID: appID, Container: executor, LogFiles: []string{"stderr"}}, &one); err != nil {
		t.Fatal(err)
	}
	only := logSections(one.String())
	if len(only) != 1 || !markerLine.MatchString(only[executor]) || strings.Contains(one.String(), "LogType:stdout") {
		t.Fatalf("--container %s --log-files stderr printed:\n%s", executor, tail(one.String(), 4000))
	}
	// A container of another application and an unknown one.
	other := strings.Replace(executor, strings.TrimPrefix(appID, "application_"), "1_0001", 1)
	if err := yc.Logs(ctx, yarn.LogsRequest{AppID: appID, Container: other}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "not one of") {
		t.Fatalf("--container of another application: %v", err)
	}
	missing := executor[:len(executor)-6] + "000099"
	if err := yc.Logs(ctx, yarn.LogsRequest{AppID: appID, Container: missing}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no logs of container") {
		t.Fatalf("--container %s: %v", missing, err)
	}
	// An application the RM does not know.
	unknown := appID[:len(appID)-4] + "9999"
	if err := yc.Logs(ctx, yarn.LogsRequest{AppID: unknown}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "does not know") {
		t.Fatalf("logs of %s: %v", unknown, err)
	}

	dirs, err := yc.AppLogDirs(appID, owner)
	if err != nil {
		t.Fatal(err)
	}
	file, node := aggregatedFile(t, c, dirs[0])
	// --node: that NodeManager's logs; an unknown one is an error.
	var byNode bytes.Buffer
	if err := yc.Logs(ctx, yarn.LogsRequest{AppID: appID, Node: strings.Replace(node, "_", ":", 1)}, &byNode); err != nil || byNode.Len() == 0 {
		t.Fatalf("--node %s: %v", node, err)
	}
	for id := range logSections(byNode.String()) {
		if !strings.Contains(sections[id], " on "+node+"\n") {
			t.Errorf("--node %s printed %s, aggregated by another NodeManager", node, id)
		}
	}
	if err := yc.Logs(ctx, yarn.LogsRequest{AppID: appID, Node: "nosuchhost:1"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no aggregated logs from a NodeManager") {
		t.Fatalf("--node nosuchhost:1: %v", err)
	}
	damageAggregatedFile(t, appID, file)
	if withBinary {
		runLogsBinary(t, appID, executor)
		notPermitted(t, c, appID, dirs[0])
	}
}

// logSections splits stoke logs' output by container.
func logSections(s string) map[string]string {
	out := map[string]string{}
	parts := strings.Split(s, "Container: ")
	for _, p := range parts[1:] {
		id, _, _ := strings.Cut(p, " ")
		out[id] += p
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// aggregatedFile reads one NodeManager's aggregated file of the application.
func aggregatedFile(t *testing.T, c *hadooptest.Cluster, dir string) ([]byte, string) {
	t.Helper()
	if !strings.HasPrefix(dir, hadooptest.LogAggregationDir+"/") {
		t.Fatalf("the logs are looked for in %s, not under the cluster's %s", dir, hadooptest.LogAggregationDir)
	}
	hc, err := hadoopconf.Load(c.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	fs, _, err := fsx.NewHDFSClient(hc, "")
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	infos, err := fs.ReadDir(dir)
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	// The largest: a NodeManager whose containers wrote logs.
	sort.Slice(infos, func(i, j int) bool { return infos[i].Size() > infos[j].Size() })
	for _, fi := range infos {
		if !strings.HasSuffix(fi.Name(), ".tmp") && !strings.HasSuffix(fi.Name(), aggrlog.ChecksumSuffix) {
			b, err := fs.ReadFile(dir + "/" + fi.Name())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s/%s: %d bytes", dir, fi.Name(), len(b))
			// To refresh internal/hadoop/aggrlog/testdata.
			if save := os.Getenv("STOKE_SAVE_AGGREGATED_LOG"); save != "" {
				name := filepath.Join(save, path.Base(dir)+"-"+path.Base(t.Name()))
				if err := os.WriteFile(name, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			return b, fi.Name()
		}
	}
	t.Fatalf("no aggregated file in %s", dir)
	return nil, ""
}

func readAll(appID string, b []byte) (int, error) {
	r := bytes.NewReader(b)
	f, err := aggrlog.Detect(r, int64(len(b)), appID)
	if err != nil {
		return 0, err
	}
	n := 0
	visit := func(l aggrlog.Log, content io.Reader) error {
		n++
		_, err := io.Copy(io.Discard, content)
		return err
	}
	if f == aggrlog.TFile {
		return n, aggrlog.ReadTFile(r, int64(len(b)), nil, visit)
	}
	return n, aggrlog.ReadIFile(r, int64(len(b)), appID, nil, visit)
}

// damageAggregatedFile: the real file reads whole; every cut of it fails
// with ErrMalformed; flipped bytes give an error or other content, never a
// panic.
func damageAggregatedFile(t *testing.T, appID string, b []byte) {
	t.Helper()
	n, err := readAll(appID, b)
	if err != nil || n == 0 {
		t.Fatalf("reading the NodeManager's file: %d logs, %v", n, err)
	}
	step := len(b)/200 + 1
	for cut := 0; cut < len(b); cut += step {
		n, err := readAll(appID, b[:cut])
		if cut == 32 && err == nil && n == 0 {
			continue // an IFile's UUID alone: a NodeManager that had nothing to upload
		}
		if err == nil || !errors.Is(err, aggrlog.ErrMalformed) {
			t.Fatalf("the file cut to %d of %d bytes: %v", cut, len(b), err)
		}
	}
	for i := 0; i < len(b); i += step {
		c := bytes.Clone(b)
		c[i] ^= 0x5a
		if _, err := readAll(appID, c); err != nil && !errors.Is(err, aggrlog.ErrMalformed) && !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("byte %d flipped: an error that is not ErrMalformed: %v", i, err)
		}
	}
}

// runLogsBinary runs the stoke binary as a user would.
func runLogsBinary(t *testing.T, appID, container string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(t.TempDir(), "stoke")
	build := exec.Command("go", "build", "-o", bin, "./cmd/stoke")
	build.Dir = filepath.Join(filepath.Dir(file), "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/stoke: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "logs", appID, "--container", container, "--size-limit", "-4k")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("stoke logs: %v\n%s", err, stderr.String())
	}
	if !markerLine.MatchString(stdout.String()) || strings.Count(stdout.String(), "Container: ") != 1 {
		t.Fatalf("stoke logs %s --container %s:\n%s", appID, container, tail(stdout.String(), 4000))
	}
	cmd = exec.Command(bin, "logs", "application_x")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "not of the form") {
		t.Fatalf("stoke logs application_x: %v\n%s", err, out)
	}
}

// notPermitted: another user cannot read the application's logs (the
// NodeManager makes them readable by the owner and the cluster's group
// only) and is told so.
func notPermitted(t *testing.T, c *hadooptest.Cluster, appID, dir string) {
	t.Helper()
	t.Setenv("HADOOP_USER_NAME", "mallory")
	yc := yarnClient(t)
	err := yc.Logs(context.Background(), yarn.LogsRequest{AppID: appID}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "not permitted") {
		t.Fatalf("logs of %s read as mallory: %v", appID, err)
	}
	t.Log(err)
}
