package main

import (
	"strings"
	"testing"
)

// --proxy-user sets stoke.yarn.proxyUser; a value that cannot be a user is refused naming the key.
func TestSubmitProxyUserFlag(t *testing.T) {
	needBinaries(t)
	isolate(t)
	p, err := resolveArgs(t, "--master", "yarn", "--proxy-user", "alice", printApp)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.conf.String("stoke.yarn.proxyUser"); got != "alice" {
		t.Fatalf("stoke.yarn.proxyUser = %q", got)
	}
	for _, bad := range []string{"", "a/b", "alice@EXAMPLE.COM", "al ice"} {
		_, err := resolveArgs(t, "--master", "yarn", "--proxy-user", bad, printApp)
		if err == nil || !strings.Contains(err.Error(), "for stoke.yarn.proxyUser") {
			t.Errorf("--proxy-user %q: %v", bad, err)
		}
	}
	_, err = resolveArgs(t, "--master", "yarn", "--conf", "stoke.kerberos.access.hadoopFileSystems=hdfs://nn", printApp)
	if err == nil || !strings.Contains(err.Error(), "for stoke.kerberos.access.hadoopFileSystems") {
		t.Errorf("a file system without a port: %v", err)
	}
}
