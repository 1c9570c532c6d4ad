package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestStandaloneDaemonBadInput(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"worker", "stoke://127.0.0.1:1", "--memory", "100000g", "--work-dir", t.TempDir()}, "but this machine has only"},
		{[]string{"worker", "yarn"}, "a worker joins a standalone master"},
		{[]string{"worker", "stoke://"}, `cannot parse master URL "stoke://"`},
		{[]string{"worker", "stoke://127.0.0.1:1", "--memory", "lots"}, `--memory: memory size "lots"`},
		{[]string{"master", "--port", "0", "--webui-port", "-1", "--conf", "stoke.deploy.recoveryMode=PAPER"}, "stoke.deploy.recoveryMode"},
		{[]string{"master", "--port", "0", "--webui-port", "-1", "--conf", "stoke.deploy.recoveryMode=FILESYSTEM"}, "needs stoke.deploy.recoveryDirectory"},
		{[]string{"master", "--port", "0", "--webui-port", "-1", "--conf", "stoke.deploy.recoveryMode=ZOOKEEPER"}, "needs stoke.deploy.zookeeper.url"},
		{[]string{"submit", "--master", "local[2]", "--status", "driver-1"}, "need a standalone master"},
	} {
		var out, errb bytes.Buffer
		code := Execute(tc.args, nil, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("stoke %v: exit %d, stderr %q; want %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

func TestParseMiB(t *testing.T) {
	for in, want := range map[string]int{"512": 512, "512m": 512, "4g": 4096, "4G": 4096, "1.5g": 1536, "2048k": 2, "1t": 1 << 20, "1gb": 1024} {
		if got, err := parseMiB(in); err != nil || got != want {
			t.Errorf("parseMiB(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1g", "g", "x"} {
		if _, err := parseMiB(bad); err == nil {
			t.Errorf("parseMiB(%q) accepted", bad)
		}
	}
}
