package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

func buildStoke(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stoke")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeTCPPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runMaster starts `stoke master` on 0.0.0.0 and returns its /json.
// syncBuffer is a log buffer that the process's output copier writes
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runMaster(t *testing.T, bin string, env []string, args ...string) (standalone.MasterState, string, *syncBuffer) {
	t.Helper()
	port, ui := freeTCPPort(t), freeTCPPort(t)
	logs := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"master", "--host", "0.0.0.0", "--port", strconv.Itoa(port), "--webui-port", strconv.Itoa(ui)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	uiURL := "http://127.0.0.1:" + strconv.Itoa(ui)
	var s standalone.MasterState
	testutil.Eventually(t, 30*time.Second, "the master's /json", func() bool {
		res, err := http.Get(uiURL + "/json")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		return json.NewDecoder(res.Body).Decode(&s) == nil && s.Status == "ALIVE"
	})
	res, err := http.Get(uiURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return s, string(page), logs
}

// A master or worker beyond loopback without a secret refuses to start
// (naming --secret-file and --insecure); --insecure starts and says so in
// its log, UI and /json; by default the master creates its secret file
// (0600 in a 0700 directory) and logs its path, never the secret.
func TestDaemonsBeyondLoopbackNeedASecret(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts stoke master")
	}
	dir := isolate(t)
	// A configuration directory where the secret file cannot be made.
	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(filepath.Join(bad, standalone.SecretFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STOKE_CONF_DIR", bad)
	var out, errb bytes.Buffer
	code := Execute([]string{"master", "--host", "0.0.0.0", "--port", "0", "--webui-port", "-1"}, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--insecure") || !strings.Contains(errb.String(), "secret") {
		t.Errorf("master on 0.0.0.0 with no secret and no way to create one: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	t.Setenv("STOKE_CONF_DIR", dir)
	code = Execute([]string{"worker", "stoke://127.0.0.1:1", "--host", "0.0.0.0", "--memory", "1g", "--work-dir", t.TempDir()}, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--secret-file") || !strings.Contains(errb.String(), "--insecure") {
		t.Errorf("worker on 0.0.0.0 without a secret: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	Execute([]string{"master", "--port", "0", "--webui-port", "-1", "--conf", "stoke.authenticate.secret=visible-in-ps", "--conf", "stoke.deploy.recoveryMode=FILESYSTEM"}, nil, &out, &errb)
	if !strings.Contains(errb.String(), "process list") {
		t.Errorf("no warning about a secret on the command line: %q", errb.String())
	}
	errb.Reset()
	Execute([]string{"submit", "--master", "local[1]", "--conf", "stoke.authenticate.secret=visible-in-ps", "/no/such/binary"}, nil, &out, &errb)
	if !strings.Contains(errb.String(), "process list") {
		t.Errorf("stoke submit: no warning about a secret on the command line: %q", errb.String())
	}

	bin := buildStoke(t)
	s, page, logs := runMaster(t, bin, []string{"STOKE_CONF_DIR=" + bad}, "--insecure")
	if !s.Insecure || !strings.Contains(s.Warning, "INSECURE") || !strings.Contains(page, `id="insecure"`) {
		t.Errorf("--insecure master: /json insecure=%v warning %q; banner in UI %v", s.Insecure, s.Warning, strings.Contains(page, `id="insecure"`))
	}
	testutil.Eventually(t, 10*time.Second, "the insecure warning in the log", func() bool { return strings.Contains(logs.String(), "INSECURE") })

	confDir := filepath.Join(dir, "conf")
	s, page, logs = runMaster(t, bin, []string{"STOKE_CONF_DIR=" + confDir})
	path := filepath.Join(confDir, standalone.SecretFileName)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("default secret file: %v, %v", fi, err)
	}
	if di, _ := os.Stat(confDir); di.Mode().Perm() != 0o700 {
		t.Errorf("its directory has mode %v", di.Mode().Perm())
	}
	secret, err := standalone.ReadSecretFile(path)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the log to name the secret file", func() bool { return strings.Contains(logs.String(), path) })
	if s.Insecure || strings.Contains(page, `id="insecure"`) || strings.Contains(logs.String(), secret) || strings.Contains(page, secret) {
		t.Errorf("secured master: insecure=%v, secret in log %v, in UI %v", s.Insecure, strings.Contains(logs.String(), secret), strings.Contains(page, secret))
	}
}
