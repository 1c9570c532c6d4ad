package standalone_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

// secretScan is where assertNoSecret looks: every file under dirs, the
// pages at urls, and the command lines of pids.
type secretScan struct {
	dirs []string
	urls []string
	pids []int
}

// assertNoSecret fails if secret appears, as is or hex- or base64-encoded,
// in a file (other than a 0600 cluster secret file), an HTTP page or a
// process's arguments. Every dir must hold at least one file.
func assertNoSecret(t testing.TB, secret string, s secretScan) {
	t.Helper()
	if len(secret) < 8 {
		t.Fatalf("assertNoSecret: secret too short to search for reliably")
		return
	}
	forms := map[string][]byte{"": []byte(secret), " (hex)": []byte(hex.EncodeToString([]byte(secret)))}
	// A base64 encoding of a longer text holds the secret's own encoding
	// at one of three alignments; the middle part is stable for each.
	for pad := 0; pad < 3; pad++ {
		enc := base64.StdEncoding.EncodeToString(append(bytes.Repeat([]byte{0}, pad), secret...))
		forms[fmt.Sprintf(" (base64/%d)", pad)] = []byte(enc[4 : len(enc)-4])
	}
	found := func(data []byte) string {
		for name, f := range forms {
			if bytes.Contains(data, f) {
				return "found" + name
			}
		}
		return ""
	}
	for _, dir := range s.dirs {
		scanned := 0
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			scanned++
			how := found(data)
			if how == "" {
				return nil
			}
			if st, err := os.Stat(path); err == nil && st.Mode().Perm() == 0o600 && filepath.Base(path) == standalone.SecretFileName && how == "found" {
				return nil // a secret file is where the secret belongs
			}
			t.Errorf("the secret is written in plain text in %s (%s)", path, how)
			return nil
		})
		if scanned == 0 {
			t.Errorf("assertNoSecret: no files under %s: nothing was checked there", dir)
		}
	}
	for _, u := range s.urls {
		res, err := http.Get(u)
		if err != nil {
			t.Errorf("GET %s: %v", u, err)
			continue
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", u, res.Status)
		}
		if how := found(body); how != "" {
			t.Errorf("the secret appears in %s (%s)", u, how)
		}
	}
	for _, pid := range s.pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			t.Errorf("reading the command line of pid %d: %v", pid, err)
			continue
		}
		if how := found(data); how != "" {
			t.Errorf("the secret is in the arguments of pid %d (%s): %q", pid, how, bytes.ReplaceAll(data, []byte{0}, []byte{' '}))
		}
	}
}

func randomSecret(t *testing.T) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// secureCluster is a process cluster whose master and workers read a
// cluster secret file given with --secret-file.
type secureCluster struct {
	*processCluster
	secret, secretFile string
}

func writeSecretFile(t *testing.T) (secret, path string) {
	secret = randomSecret(t)
	path = filepath.Join(t.TempDir(), standalone.SecretFileName)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return secret, path
}

func startSecureCluster(t *testing.T, n, cores, memMiB int, extra ...string) *secureCluster {
	t.Helper()
	secret, path := writeSecretFile(t)
	pc := startProcessCluster(t, n, cores, memMiB, append([]string{"--secret-file", path}, extra...)...)
	return &secureCluster{processCluster: pc, secret: secret, secretFile: path}
}

// root is the test's temporary directory: the daemons' logs, work dirs
// and secret file are under it.
func (sc *secureCluster) root() string { return filepath.Dir(filepath.Dir(sc.master.log)) }

// pages are the master's and workers' /json and UI pages.
func (sc *secureCluster) pages(t *testing.T) []string {
	t.Helper()
	urls := []string{"http://" + sc.addr + "/json", "http://" + sc.uiAddr + "/json", "http://" + sc.uiAddr + "/"}
	s, err := masterState(sc.uiAddr)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range s.Workers {
		if w.WebUIURL != "" {
			urls = append(urls, w.WebUIURL+"/json", w.WebUIURL+"/")
		}
		for _, e := range w.Executors {
			if e.LogURL != "" {
				urls = append(urls, e.LogURL+"&file=stderr", e.LogURL+"&file=stdout")
			}
		}
	}
	return urls
}

// pids are the daemons' and their executors' process ids.
func (sc *secureCluster) pids(t *testing.T) []int {
	pids := []int{sc.master.cmd.Process.Pid}
	for _, w := range sc.workers {
		pids = append(pids, w.cmd.Process.Pid)
	}
	if s, err := masterState(sc.uiAddr); err == nil {
		for _, a := range s.Apps {
			for _, e := range a.Executors {
				if e.PID > 0 {
					pids = append(pids, e.PID)
				}
			}
		}
	}
	return pids
}

// post sends body to a master API path with the given secret ("" none)
// and returns the status and answer.
func post(t *testing.T, addr, path, secret string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set(standalone.SecretHeader, secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

// procEnv reads one variable of a process's environment.
func procEnv(t *testing.T, pid int, name string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatalf("environment of pid %d: %v", pid, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok && k == name {
			return v
		}
	}
	t.Fatalf("pid %d has no %s", pid, name)
	return ""
}

// Environment of a test driver process (this test binary run again).
const (
	envTestDriverMaster = "STOKE_TEST_DRIVER_MASTER"
	envTestDriverSecret = "STOKE_TEST_DRIVER_SECRET_FILE"
)

// runTestDriverIfAsked makes this test binary a client-mode driver when
// envTestDriverMaster is set: it registers, waits for two executors,
// prints "APP <id>" and waits to be killed.
func runTestDriverIfAsked() {
	master := os.Getenv(envTestDriverMaster)
	if master == "" {
		return
	}
	sc, err := stoke.New(stoke.Config{"stoke.master": master, "stoke.ui.enabled": "false", "stoke.app.name": "test-driver", "stoke.executor.memory": "256m",
		standalone.KeySecretFile: os.Getenv(envTestDriverSecret)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "test driver:", err)
		os.Exit(1)
	}
	for len(sc.Driver().Executors()) < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("APP %s\n", sc.AppID())
	select {}
}

// startTestDriver runs a client-mode driver process against the cluster
// and returns it with its application id once it has two executors.
func startTestDriver(t *testing.T, sc *secureCluster) (*exec.Cmd, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envTestDriverMaster+"=stoke://"+sc.addr, envTestDriverSecret+"="+sc.secretFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ids := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "APP "); ok {
				ids <- id
			}
		}
		close(ids)
	}()
	select {
	case id, ok := <-ids:
		if !ok {
			t.Fatalf("the test driver ended before registering: %s", stderr.String())
		}
		return cmd, id
	case <-time.After(testutil.D(60 * time.Second)):
		t.Fatalf("the test driver did not get two executors: %s", stderr.String())
	}
	return nil, ""
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
