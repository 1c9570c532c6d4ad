package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestAttackDispatcherSecretOnCommandLine: a dispatcher given its secret
// with --conf (readable by every local user in the process list) warns and
// names the 0600-file alternative; one without it (the control) does not
// warn, and a dispatcher beyond loopback without any secret names --insecure.
func TestAttackDispatcherSecretOnCommandLine(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var out, errb bytes.Buffer
	// A master that is not mesos:// makes the dispatcher stop right after
	// its configuration is read.
	Execute([]string{"mesos-dispatcher", "--master", "yarn", "--conf", "stoke.authenticate.secret=visible-in-ps"}, nil, &out, &errb)
	if !strings.Contains(errb.String(), "process list") || !strings.Contains(errb.String(), "stoke.authenticate.secret.file") {
		t.Errorf("no warning about a secret on the command line: %q", errb.String())
	}
	errb.Reset()
	Execute([]string{"mesos-dispatcher", "--master", "yarn"}, nil, &out, &errb)
	if strings.Contains(errb.String(), "process list") || !strings.Contains(errb.String(), "mesos://") {
		t.Errorf("control: %q", errb.String())
	}
	errb.Reset()
	if code := Execute([]string{"mesos-dispatcher", "--master", "mesos://127.0.0.1:1", "--host", "0.0.0.0"}, nil, &out, &errb); code == 0 || !strings.Contains(errb.String(), "--insecure") {
		t.Errorf("dispatcher on 0.0.0.0 without a secret: exit %d, %q", code, errb.String())
	}
	// A dispatcher that did not start leaves no temporary work directory.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("dispatchers that did not start left %v in the temporary directory", left)
	}
}
