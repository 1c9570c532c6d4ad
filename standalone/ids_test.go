package standalone

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/conf"
)

func TestIDPatterns(t *testing.T) {
	now := time.Date(2026, 12, 3, 21, 0, 0, 0, time.UTC)
	good := map[string]func(string) bool{
		newAppID(now, 1):                     ValidAppID,
		newAppID(now, 123456789):             ValidAppID,
		newDriverID(now, 7):                  ValidDriverID,
		"0":                                  ValidExecutorID,
		"123":                                ValidExecutorID,
		newWorkerID(now, "10.0.0.1", "8081"): ValidWorkerID,
		newWorkerID(now, "::1", "0-4242"):    ValidWorkerID,
		newWorkerID(now, "höst/../../x\x00y", "1"):       ValidWorkerID,
		newWorkerID(now, strings.Repeat("h", 5000), "1"): ValidWorkerID,
	}
	for id, valid := range good {
		if !valid(id) {
			t.Errorf("%q: a made id is refused", id)
		}
	}
	bad := []string{"", ".", "..", "../../../../tmp/x/app", "app-20261203210000-0001/../x", "app-20261203210000-0001\x00",
		"app-20261203210000-0001\n", "/etc", "app-2026120321000-0001", "app-20261203210000-" + strings.Repeat("1", 200),
		"app-２０２６１２０３２１００００-0001", "app-20261203210000-0001/..", `app-20261203210000-0001\x`, "driver-20261203210000-0001 ",
		strings.Repeat("a", 100000), "worker-20261203210000-a/b", "worker-20261203210000-" + strings.Repeat("x", 300), "-1", "1e3", "０", "worker-20261203210000-é"}
	for _, id := range bad {
		for name, valid := range map[string]func(string) bool{"app": ValidAppID, "driver": ValidDriverID, "executor": ValidExecutorID, "worker": ValidWorkerID} {
			if valid(id) {
				t.Errorf("%s id %q accepted", name, id)
			}
		}
	}
	if q := quoteID(strings.Repeat("x", 1000)); len(q) > 100 {
		t.Errorf("quoteID does not bound its output: %d chars", len(q))
	}
}

func TestStripSecrets(t *testing.T) {
	env := conf.EncodeSubmit([]conf.Entry{
		{Key: "stoke.app.name", Value: "x", Source: conf.SourceConfFlag},
		{Key: "stoke.authenticate.secret", Value: "hunter2hunter2hunter2", Source: conf.SourceConfFlag},
		{Key: "stoke.mesos.secret", Value: "m3sos", Source: conf.SourceConfFlag},
		{Key: "stoke.hadoop.fs.s3a.access.Password", Value: "pw", Source: conf.SourcePropertiesFile},
		{Key: "stoke.some.token", Value: "t0kval", Source: conf.SourcePropertiesFile},
	})
	out, removed, err := StripSecrets(env)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hunter2", "m3sos", `"pw"`, "t0kval"} {
		if strings.Contains(out, s) {
			t.Errorf("stripped submission still holds %s: %s", s, out)
		}
	}
	if !strings.Contains(out, "stoke.app.name") || len(removed) != 4 {
		t.Errorf("stripped = %s, removed %v", out, removed)
	}
	if _, _, err := StripSecrets("not json"); err == nil {
		t.Error("a malformed submission is accepted")
	}
}

func TestSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf", "cluster.secret")
	s, created, err := EnsureSecretFile(path)
	if err != nil || !created || len(s) < 32 {
		t.Fatalf("EnsureSecretFile = %q, %v, %v", s, created, err)
	}
	st, _ := os.Stat(path)
	dst, _ := os.Stat(filepath.Dir(path))
	if st.Mode().Perm() != 0o600 || dst.Mode().Perm() != 0o700 {
		t.Errorf("modes: file %v, dir %v; want 0600, 0700", st.Mode().Perm(), dst.Mode().Perm())
	}
	again, created, err := EnsureSecretFile(path)
	if err != nil || created || again != s {
		t.Errorf("second EnsureSecretFile = %v, %v (same secret: %v)", created, err, again == s)
	}
	os.Chmod(path, 0o644)
	if _, err := ReadSecretFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable secret file: %v", err)
	}
	short := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(short, []byte("\n"), 0o600)
	if _, err := ReadSecretFile(short); err == nil {
		t.Error("an empty secret is accepted")
	}
	if appSecretHash("c", "a") == appSecretHash("c", "b") || appSecretHash("c", "a") == appSecretHash("d", "a") || strings.Contains(appSecretHash("c", "a"), "a") && len(appSecretHash("c", "a")) != 64 {
		t.Error("app secret hash does not depend on both secrets")
	}
	for h, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "0.0.0.0": false, "10.1.2.3": false, "": false, "example.com": false} {
		if IsLoopback(h) != want {
			t.Errorf("IsLoopback(%q) = %v", h, !want)
		}
	}
}

// A binary still open for writing (by a child forked meanwhile) makes exec
// fail with ETXTBSY until it is closed; the worker retries briefly.
func TestStartRetriesBusyBinary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bin")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("#!/bin/sh\nexit 0\n")
	if err := exec.Command(path).Start(); !errors.Is(err, syscall.ETXTBSY) {
		f.Close()
		t.Skipf("exec of a file open for writing: %v (no ETXTBSY here)", err)
	}
	closed := make(chan struct{})
	go func() {
		time.Sleep(30 * time.Millisecond)
		f.Close()
		close(closed)
	}()
	cmd := exec.Command(path)
	if err := startRetryingBusy(cmd); err != nil {
		t.Fatalf("start after the writer closed: %v", err)
	}
	<-closed
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestIsSecretKeyKeepsKeytabPath(t *testing.T) {
	if IsSecretKey("stoke.kerberos.keytab") || !IsSecretKey("fs.s3a.access.key") || !IsSecretKey("stoke.authenticate.secret") {
		t.Fatal("IsSecretKey: a keytab path is kept; access keys and secrets are stripped")
	}
}
