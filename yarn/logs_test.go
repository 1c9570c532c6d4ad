package yarn

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/conf"
)

func logsClient(t *testing.T, props map[string]string) *Client {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("<configuration>\n")
	for k, v := range props {
		b.WriteString("<property><name>" + k + "</name><value>" + v + "</value></property>\n")
	}
	b.WriteString("</configuration>\n")
	if err := os.WriteFile(filepath.Join(dir, "yarn-site.xml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HADOOP_CONF_DIR", dir)
	t.Setenv("YARN_CONF_DIR", "")
	// Nothing listens here: a test that dials fails fast.
	t.Setenv("HADOOP_USER_NAME", "alice")
	c, err := NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The directories of Hadoop 3.3+'s bucket layout and the older ones, for
// the configured formats and then TFile and IndexedFormat, from the keys a
// cluster sets.
func TestAppLogDirs(t *testing.T) {
	app := "application_1733300000000_12345"
	for _, tc := range []struct {
		props map[string]string
		want  []string
	}{
		{nil, []string{
			"/tmp/logs/alice/bucket-logs-tfile/2345/" + app,
			"/tmp/logs/alice/bucket-logs-indexedformat/2345/" + app,
			"/tmp/logs/alice/logs-tfile/" + app,
			"/tmp/logs/alice/logs-indexedformat/" + app,
			"/tmp/logs/alice/logs/" + app,
		}},
		{map[string]string{
			"yarn.log-aggregation.file-formats":                            "IFile,TFile",
			"yarn.nodemanager.remote-app-log-dir":                          "hdfs://nn:8020/app-logs",
			"yarn.nodemanager.remote-app-log-dir-suffix":                   "agg",
			"yarn.log-aggregation.IFile.remote-app-log-dir":                "/ifile-logs",
			"yarn.log-aggregation.TFile.remote-app-log-dir-suffix":         "t",
			"yarn.log-aggregation.file-controller.IFile.class":             "org.apache.hadoop.yarn.logaggregation.filecontroller.ifile.LogAggregationIndexedFileController",
			"yarn.log-aggregation.IndexedFormat.remote-app-log-dir":        "/indexed",
			"yarn.log-aggregation.IndexedFormat.remote-app-log-dir-suffix": "",
		}, []string{
			"/ifile-logs/alice/bucket-agg-ifile/2345/" + app,
			"/app-logs/alice/bucket-t/2345/" + app,
			"/indexed/alice/bucket-agg-indexedformat/2345/" + app,
			"/ifile-logs/alice/agg-ifile/" + app,
			"/app-logs/alice/t/" + app,
			"/indexed/alice/agg-indexedformat/" + app,
			"/ifile-logs/alice/agg/" + app,
			"/app-logs/alice/agg/" + app,
			"/indexed/alice/agg/" + app,
		}},
	} {
		c := logsClient(t, tc.props)
		got, err := c.AppLogDirs(app, "alice")
		if err != nil || strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%v:\n%s\nwant\n%s\n%v", tc.props, strings.Join(got, "\n"), strings.Join(tc.want, "\n"), err)
		}
	}
	c := logsClient(t, nil)
	if got, err := c.AppLogDirs("application_1733300000000_7", "alice"); err != nil || got[0] != "/tmp/logs/alice/bucket-logs-tfile/0007/application_1733300000000_0007" {
		t.Errorf("an id without the zeros: %v %v", got, err)
	}
	// An owner that would leave the user's directory.
	for _, owner := range []string{"", "..", ".", "a/b", "../bob", "x\x00"} {
		if _, err := c.AppLogDirs(app, owner); err == nil {
			t.Errorf("owner %q accepted", owner)
		}
	}
	if _, err := c.AppLogDirs("application_x", "alice"); err == nil {
		t.Error("a malformed application id accepted")
	}
	c = logsClient(t, map[string]string{"yarn.nodemanager.remote-app-log-dir": "s3a://bucket/logs"})
	if _, err := c.AppLogDirs(app, "alice"); err == nil || !strings.Contains(err.Error(), "not on HDFS") {
		t.Errorf("an s3a remote dir: %v", err)
	}
}

// Requests refused before anything is dialed.
func TestLogsBadRequests(t *testing.T) {
	c := logsClient(t, map[string]string{"yarn.resourcemanager.address": "127.0.0.1:1"})
	app := "application_1733300000000_0042"
	for _, tc := range []struct {
		req  LogsRequest
		want string
	}{
		{LogsRequest{AppID: "app_1"}, "not of the form"},
		{LogsRequest{AppID: app, Container: "container_x"}, "not of the form"},
		{LogsRequest{AppID: app, Container: "container_1733300000000_0043_01_000002"}, "not one of"},
	} {
		if err := c.Logs(context.Background(), tc.req, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v (want %q)", tc.req, err, tc.want)
		}
	}
}

// stoke.yarn.rolledLog.* reach the submission's LogAggregationContext; a
// pattern Java could not compile either is refused with its key.
func TestRolledLogPatterns(t *testing.T) {
	c := conf.New()
	s, err := submissionFromConf(c, "client")
	if err != nil || s.LogAggregation != nil {
		t.Fatalf("no patterns: %v, %v", s.LogAggregation, err)
	}
	for _, tc := range []struct{ include, exclude, wantInc, wantExc string }{
		{"stderr|app.*\\.log", "", "stderr|app.*\\.log", ""},
		{"std.*", "stdout", "std.*", "stdout"},
		{"", "gc\\.log.*", ".*", "gc\\.log.*"},
		{"(?=x).*", "", "(?=x).*", ""}, // Java's lookahead
	} {
		c := conf.New()
		if tc.include != "" {
			c.Set("stoke.yarn.rolledLog.includePattern", tc.include, conf.SourceConfFlag)
		}
		if tc.exclude != "" {
			c.Set("stoke.yarn.rolledLog.excludePattern", tc.exclude, conf.SourceConfFlag)
		}
		if warns, err := c.Validate(); err != nil || len(warns) != 0 {
			t.Fatalf("%+v: %v %v", tc, warns, err)
		}
		s, err := submissionFromConf(c, "client")
		if err != nil {
			t.Fatal(err)
		}
		lc := s.LogAggregation
		if lc.GetRolledLogsIncludePattern() != tc.wantInc || lc.GetRolledLogsExcludePattern() != tc.wantExc && tc.wantExc != "" ||
			lc.IncludePattern != nil || lc.ExcludePattern != nil {
			t.Errorf("%+v: context %v", tc, lc)
		}
	}
	for _, bad := range []string{"(stderr", "*x", "a{2,1}"} {
		for _, key := range []string{"stoke.yarn.rolledLog.includePattern", "stoke.yarn.rolledLog.excludePattern"} {
			c := conf.New()
			c.Set(key, bad, conf.SourceConfFlag)
			if _, err := c.Validate(); err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("%s=%q: %v", key, bad, err)
			}
		}
	}
}
