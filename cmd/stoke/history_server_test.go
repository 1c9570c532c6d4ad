package main

import (
	"bytes"
	"strings"
	"testing"
)

// Bad settings of the history server are refused with the key and the
// reason, before it serves anything.
func TestHistoryServerRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--conf", "stoke.history.fs.update.interval=0s", dir}, "stoke.history.fs.update.interval"},
		{[]string{"--conf", "stoke.history.fs.update.interval=-5s", dir}, "stoke.history.fs.update.interval"},
		{[]string{"--conf", "stoke.history.fs.cleaner.maxAge=soon", dir}, "stoke.history.fs.cleaner.maxAge"},
		{[]string{"--conf", "stoke.history.fs.cleaner.maxAge=0", dir}, "stoke.history.fs.cleaner.maxAge"},
		{[]string{"--conf", "stoke.history.fs.cleaner.interval=1.5d", dir}, "stoke.history.fs.cleaner.interval"},
		{[]string{"--conf", "stoke.history.fs.cleaner.enabled=perhaps", dir}, "stoke.history.fs.cleaner.enabled"},
		{[]string{"--conf", "stoke.history.ui.port=70000", dir}, "stoke.history.ui.port"},
		{[]string{"--conf", "stoke.history.ui.port=http", dir}, "stoke.history.ui.port"},
		{[]string{"--conf", "stoke.history.retainedApplications=0", dir}, "stoke.history.retainedApplications"},
		{[]string{"--conf", "stoke.history.fs.logDirectory=s3://bucket/logs"}, `unsupported scheme "s3"`},
		{[]string{"/no/such/directory"}, "no such file or directory"},
		{[]string{"--port", "-3", dir}, "port"},
	} {
		var out, errb bytes.Buffer
		code := Execute(append([]string{"history-server"}, c.args...), nil, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("history-server %v: code %d, stderr %q; want an error mentioning %q", c.args, code, errb.String(), c.want)
		}
	}
}
