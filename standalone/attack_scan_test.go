package standalone_test

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/standalone"
)

// recorder is a testing.TB that keeps failures instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Errorf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }
func (r *recorder) Fatalf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }

// TestAttackScanCanFail is the positive control of assertNoSecret, which
// every secrets-at-rest attack test relies on: a secret in a file (plain,
// hex, base64 at each alignment), a page or a command line is reported, an
// empty directory is reported, and the 0600 secret file alone is not.
func TestAttackScanCanFail(t *testing.T) {
	secret := randomSecret(t)
	clean := t.TempDir()
	os.WriteFile(filepath.Join(clean, "log"), []byte("nothing to see\n"), 0o644)
	os.WriteFile(filepath.Join(clean, standalone.SecretFileName), []byte(secret+"\n"), 0o600)
	r := &recorder{TB: t}
	assertNoSecret(r, secret, secretScan{dirs: []string{clean}})
	if len(r.errs) != 0 {
		t.Fatalf("a clean directory with a 0600 secret file: %v", r.errs)
	}

	for name, content := range map[string]string{
		"plain":    "x " + secret + " y",
		"hex":      "conf=" + hex.EncodeToString([]byte(secret)),
		"base64/0": base64.StdEncoding.EncodeToString([]byte(`[{"key":"k","value":"` + secret + `"}]`)),
		"base64/1": base64.StdEncoding.EncodeToString([]byte(`x[{"key":"k","value":"` + secret + `"}]`)),
		"base64/2": base64.StdEncoding.EncodeToString([]byte(`xy[{"key":"k","value":"` + secret + `"}]`)),
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "state"), []byte(content), 0o600)
		r := &recorder{TB: t}
		assertNoSecret(r, secret, secretScan{dirs: []string{dir}})
		if len(r.errs) != 1 || !strings.Contains(r.errs[0], "state") {
			t.Errorf("%s: the secret in a file was not reported: %v", name, r.errs)
		}
	}

	r = &recorder{TB: t}
	assertNoSecret(r, secret, secretScan{dirs: []string{t.TempDir()}})
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "no files") {
		t.Errorf("an empty directory passed as checked: %v", r.errs)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<p>"+secret+"</p>") }))
	defer srv.Close()
	cmd := exec.Command("sh", "-c", "read x", "sh", "--conf", "stoke.authenticate.secret="+secret)
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	r = &recorder{TB: t}
	assertNoSecret(r, secret, secretScan{urls: []string{srv.URL}, pids: []int{cmd.Process.Pid}})
	if len(r.errs) != 2 || !strings.Contains(r.errs[0], srv.URL) || !strings.Contains(r.errs[1], "arguments") {
		t.Errorf("a page and a command line holding the secret: %v", r.errs)
	}
}
