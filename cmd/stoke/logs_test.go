package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// stoke logs refuses malformed command lines with exit status 2 and
// reports a missing cluster configuration or a half Kerberos login with 1,
// before dialing anything.
func TestLogsCommandLine(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	t.Setenv("YARN_CONF_DIR", "")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"logs"}, 1, "accepts 1 arg"},
		{[]string{"logs", "application_x"}, 2, "not of the form"},
		{[]string{"logs", "application_1_0001", "--size-limit", "lots"}, 2, "--size-limit"},
		{[]string{"logs", "application_1_0001", "--size-limit", "-"}, 2, "--size-limit"},
		{[]string{"logs", "application_1_0001", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"logs", "application_1_0001"}, 1, "HADOOP_CONF_DIR"},
		{[]string{"logs", "application_1_0001", "--principal", "alice@EXAMPLE.COM"}, 1, "go together"},
		{[]string{"logs", "application_1_0001", "--keytab", filepath.Join(t.TempDir(), "k")}, 1, "go together"},
	} {
		var out, errb bytes.Buffer
		code := Execute(tc.args, nil, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("stoke %s: exit %d (want %d), stderr %q (want %q)", strings.Join(tc.args, " "), code, tc.code, errb.String(), tc.want)
		}
	}
}
