package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --status and --kill act for --proxy-user as a submission does: the name
// is checked, and a cluster without Kerberos (which takes any user a client
// names) is refused before anything is contacted.
func TestYARNRequestsActForTheProxyUser(t *testing.T) {
	dir := t.TempDir()
	site := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("<configuration>"+body+"</configuration>"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	site("core-site.xml", "<property><name>fs.defaultFS</name><value>hdfs://127.0.0.1:1</value></property>")
	site("yarn-site.xml", "<property><name>yarn.resourcemanager.address</name><value>127.0.0.1:1</value></property>")
	t.Setenv("HADOOP_CONF_DIR", dir)
	t.Setenv("YARN_CONF_DIR", "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--proxy-user", "alice", "--status", "application_1_0001"}, "--proxy-user alice (stoke.yarn.proxyUser) needs a Kerberos cluster"},
		{[]string{"--proxy-user", "alice", "--kill", "application_1_0001"}, "needs a Kerberos cluster"},
		{[]string{"--conf", "stoke.yarn.proxyUser=alice", "--kill", "application_1_0001"}, "needs a Kerberos cluster"},
		{[]string{"--proxy-user", "alice@EXAMPLE.COM", "--status", "application_1_0001"}, "is not a short user name"},
		{[]string{"--proxy-user", " ", "--status", "application_1_0001"}, "empty: name the user"},
	} {
		var out, errb bytes.Buffer
		code := Execute(append([]string{"submit", "--master", "yarn"}, tt.args...), nil, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, errb.String(), tt.want)
		}
	}
}
