package mesos

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A grant works once, only within its time, only with POST; a spent or
// expired token is refused; revoking drops an owner's unredeemed grants.
func TestAttackGrantOneTime(t *testing.T) {
	gs := newGrants()
	now := time.Unix(1000, 0)
	gs.now = func() time.Time { return now }
	var logged []string
	logf := func(f string, a ...any) { logged = append(logged, f) }
	mux := http.NewServeMux()
	mux.HandleFunc("/g/{token}", func(w http.ResponseWriter, r *http.Request) { gs.serveEnv(w, r, r.PathValue("token"), logf) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(method, tok string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+"/g/"+tok, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	tok := gs.issue(grant{env: map[string]string{"STOKE_APP_SECRET": "s3"}, owner: "exec-1"})
	if code, _ := do("GET", tok); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET of a grant: %d, want 405", code)
	}
	if code, body := do("POST", tok); code != 200 || !strings.Contains(body, `"s3"`) {
		t.Fatalf("first redemption: %d %s", code, body)
	}
	if code, body := do("POST", tok); code != http.StatusNotFound || strings.Contains(body, "s3") {
		t.Fatalf("second redemption: %d %s, want 404", code, body)
	}
	if len(logged) != 1 {
		t.Fatalf("a second redemption must be logged; logged %q", logged)
	}
	if code, _ := do("POST", "not-a-token"); code != http.StatusNotFound {
		t.Fatalf("unknown token: %d", code)
	}

	late := gs.issue(grant{env: map[string]string{"STOKE_APP_SECRET": "s4"}, owner: "exec-2"})
	now = now.Add(grantTTL + time.Second)
	if code, _ := do("POST", late); code != http.StatusNotFound {
		t.Fatalf("expired grant: %d, want 404", code)
	}

	gone := gs.issue(grant{env: map[string]string{"STOKE_APP_SECRET": "s5"}, owner: "exec-3"})
	gs.revoke("exec-3")
	if code, _ := do("POST", gone); code != http.StatusNotFound {
		t.Fatalf("revoked grant: %d, want 404", code)
	}
}

// EnvFromGrant sets what the grant gives, refuses names outside STOKE_, and
// its errors never show the token.
func TestAttackEnvFromGrant(t *testing.T) {
	gs := newGrants()
	mux := http.NewServeMux()
	mux.HandleFunc("/g/{token}", func(w http.ResponseWriter, r *http.Request) { gs.serveEnv(w, r, r.PathValue("token"), nil) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tok := gs.issue(grant{env: map[string]string{"STOKE_TEST_GRANTED": "yes"}})
	t.Setenv(EnvGrant, srv.URL+"/g/"+tok)
	t.Setenv("STOKE_TEST_GRANTED", "")
	if err := EnvFromGrant(); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("STOKE_TEST_GRANTED") != "yes" || os.Getenv(EnvGrant) != "" {
		t.Fatalf("after redeeming: STOKE_TEST_GRANTED=%q, %s=%q", os.Getenv("STOKE_TEST_GRANTED"), EnvGrant, os.Getenv(EnvGrant))
	}

	// Spent: a clear error, without the token.
	t.Setenv(EnvGrant, srv.URL+"/g/"+tok)
	err := EnvFromGrant()
	if err == nil || strings.Contains(err.Error(), tok) || !strings.Contains(err.Error(), "already redeemed") {
		t.Fatalf("spent grant: %v", err)
	}

	bad := gs.issue(grant{env: map[string]string{"LD_PRELOAD": "/tmp/x.so"}})
	t.Setenv(EnvGrant, srv.URL+"/g/"+bad)
	if err := EnvFromGrant(); err == nil || !strings.Contains(err.Error(), "LD_PRELOAD") {
		t.Fatalf("a grant setting LD_PRELOAD: %v", err)
	}

	t.Setenv(EnvGrant, "file:///etc/passwd")
	if err := EnvFromGrant(); err == nil {
		t.Fatal("a non-http grant URL was accepted")
	}

	// Unreachable: the error names the host, not the token.
	t.Setenv(EnvGrant, "http://127.0.0.1:1/g/sekrit-token-value")
	if err := EnvFromGrant(); err == nil || strings.Contains(err.Error(), "sekrit-token-value") {
		t.Fatalf("unreachable grant: %v", err)
	}
}

// The binary's URL works once.
func TestAttackBinaryURLOneTime(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	os.WriteFile(bin, []byte("binary"), 0o755)
	fs, err := serveGrants("127.0.0.1", bin, newGrants(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.close()
	u := fs.binaryURL("exec-1")
	get := func() int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 200 {
		t.Fatalf("first fetch: %d", code)
	}
	if code := get(); code != http.StatusNotFound {
		t.Fatalf("second fetch: %d, want 404", code)
	}
	if other := fs.binaryURL("exec-2"); other == u {
		t.Fatal("two executors share a binary URL")
	}
}
