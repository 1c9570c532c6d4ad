package yarn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
	"github.com/stoke-run/stoke/internal/testutil"
)

func TestAMAPIRejectsBadRequests(t *testing.T) {
	m := &am{secret: "s3cret", wake: make(chan struct{}, 1), eventsCh: make(chan struct{}), maxFailures: -1, maxPerNode: 2}
	srv := httptest.NewServer(m.handler())
	defer srv.Close()
	do := func(method, path, secret, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	for _, tc := range []struct {
		method, path, secret, body string
		code                       int
		want                       string
	}{
		{"POST", "/v1/executors", "", `{"target":1,"cores":1,"memoryMiB":512}`, 401, "unauthorized"},
		{"POST", "/v1/executors", "wrong", `{"target":1,"cores":1,"memoryMiB":512}`, 401, "unauthorized"},
		{"POST", "/v1/executors", "s3cret", `{"target":1,`, 400, "malformed"},
		{"POST", "/v1/executors", "s3cret", `{"target":-1,"cores":1,"memoryMiB":512}`, 400, "target"},
		{"POST", "/v1/executors", "s3cret", `{"target":1,"cores":0,"memoryMiB":512}`, 400, "cores"},
		{"POST", "/v1/finish", "s3cret", `{"status":"DONE"}`, 400, "SUCCEEDED, FAILED or KILLED"},
		{"POST", "/v1/finish", "s3cret", `[]`, 400, "malformed"},
		{"GET", "/v1/events?after=x&wait=0", "s3cret", ``, 400, "non-negative"},
		{"GET", "/v1/events?after=-1&wait=0", "s3cret", ``, 400, "non-negative"},
		{"GET", "/v1/events?after=0&creds=z&wait=0", "s3cret", ``, 400, "non-negative"},
		{"GET", "/v1/events?after=0&creds=-2&wait=0", "s3cret", ``, 400, "non-negative"},
		{"POST", "/v1/kill", "s3cret", `{"executors":"1"}`, 400, "malformed"},
	} {
		code, body := do(tc.method, tc.path, tc.secret, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %q: %d %q, want %d %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	if m.finish != nil || m.alloc != nil {
		t.Fatal("a rejected request changed the AM's state")
	}
	// A good request still works after the bad ones.
	if code, _ := do("POST", "/v1/executors", "s3cret", `{"target":2,"cores":1,"memoryMiB":512}`); code != 200 || m.alloc == nil || m.alloc.target != 2 {
		t.Fatalf("good request: %d", code)
	}
	if code, body := do("GET", "/v1/events?after=99&wait=0", "s3cret", ""); code != 200 || !strings.Contains(body, `"next":0`) {
		t.Fatalf("events past the end: %d %s", code, body)
	}
}

func TestAMStartupNeedsItsEnvironment(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "container_tokens")
	good := &tokenfile.Credentials{}
	good.AddToken("amrm", &commonpb.Token{Identifier: []byte{1}, Password: []byte{2}, Kind: proto.String(amRMTokenKind), Service: proto.String("")})
	good.SetSecret(amSecretAlias, []byte("x"))
	noAMRM := &tokenfile.Credentials{}
	noAMRM.SetSecret(amSecretAlias, []byte("x"))
	noSecret := &tokenfile.Credentials{Tokens: good.Tokens}
	log := logrus.New()
	for _, tc := range []struct {
		name   string
		env    map[string]string
		tokens []byte
		want   string
	}{
		{"mode", map[string]string{EnvAM: "sideways"}, good.Marshal(), "want client or cluster"},
		{"container id", map[string]string{EnvAM: "client", "CONTAINER_ID": "bogus"}, good.Marshal(), "CONTAINER_ID"},
		{"no token file", map[string]string{EnvAM: "client", "CONTAINER_ID": "container_1_0001_01_000001", hadoopTokenEnv: ""}, nil, hadoopTokenEnv},
		{"garbage token file", map[string]string{EnvAM: "client", "CONTAINER_ID": "container_1_0001_01_000001"}, []byte("not tokens"), "HDTS"},
		{"no AMRM token", map[string]string{EnvAM: "client", "CONTAINER_ID": "container_1_0001_01_000001"}, noAMRM.Marshal(), amRMTokenKind},
		{"no secret", map[string]string{EnvAM: "client", "CONTAINER_ID": "container_1_0001_01_000001"}, noSecret.Marshal(), amSecretAlias},
		{"bad resources", map[string]string{EnvAM: "client", "CONTAINER_ID": "container_1_0001_01_000001", EnvResources: "!!"}, good.Marshal(), EnvResources},
		{"bad conf", map[string]string{EnvAM: "client", "CONTAINER_ID": "container_1_0001_01_000001", EnvConf: "e30K"}, good.Marshal(), "STOKE_SUBMIT_CONF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(hadoopTokenEnv, tokens)
			t.Setenv(EnvResources, "")
			t.Setenv(EnvConf, "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			os.WriteFile(tokens, tc.tokens, 0o600)
			_, err := newAM(log)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// Executors take the driver's secret from their token file, not their environment.
func TestExecutorSecretFromTokens(t *testing.T) {
	dir := t.TempDir()
	with := &tokenfile.Credentials{}
	with.SetSecret(execSecretAlias, []byte("s3cret"))
	good := filepath.Join(dir, "good")
	os.WriteFile(good, with.Marshal(), 0o600)
	without := filepath.Join(dir, "without")
	os.WriteFile(without, (&tokenfile.Credentials{}).Marshal(), 0o600)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("HDTS\x07junk"), 0o600)

	t.Setenv(executor.EnvSecret, "")
	t.Setenv("CONTAINER_ID", "")
	t.Setenv(hadoopTokenEnv, good)
	if err := ExecutorSecretFromTokens(); err != nil || os.Getenv(executor.EnvSecret) != "" {
		t.Fatalf("outside a container: %v, secret %q", err, os.Getenv(executor.EnvSecret))
	}
	t.Setenv("CONTAINER_ID", "container_1_0001_01_000002")
	if err := ExecutorSecretFromTokens(); err != nil || os.Getenv(executor.EnvSecret) != "s3cret" {
		t.Fatalf("in a container: %v, secret %q", err, os.Getenv(executor.EnvSecret))
	}
	for _, f := range []string{without, bad, filepath.Join(dir, "missing")} {
		t.Setenv(executor.EnvSecret, "")
		t.Setenv(hadoopTokenEnv, f)
		if err := ExecutorSecretFromTokens(); err == nil {
			t.Errorf("%s: no error", filepath.Base(f))
		}
	}
}

// The events long-poll hands the driver the AM's newer tokens (never the AMRM token), at once
// when the driver's version is older, and not at all when it is current.
func TestAMEventsCarryNewCredentials(t *testing.T) {
	creds := &tokenfile.Credentials{}
	creds.AddToken("amrm", &commonpb.Token{Identifier: []byte{1}, Password: []byte{2}, Kind: proto.String(amRMTokenKind), Service: proto.String("")})
	creds.AddToken("nn", &commonpb.Token{Identifier: []byte{3}, Password: []byte{4}, Kind: proto.String("HDFS_DELEGATION_TOKEN"), Service: proto.String("10.0.0.1:8020")})
	m := &am{secret: "s3cret", wake: make(chan struct{}, 1), eventsCh: make(chan struct{}), creds: creds, credsVer: 2}
	srv := httptest.NewServer(m.handler())
	defer srv.Close()
	c := newAMClient(srv.URL, "s3cret")
	// The long poll would wait an hour: an answer within the context's
	// deadline is one given at once, whatever the machine's load.
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(30*time.Second))
	defer cancel()
	r, err := c.events(ctx, 0, 1, time.Hour, 0.25)
	if err != nil || r.CredentialsVersion != 2 {
		t.Fatalf("events with older credentials: %+v, %v", r, err)
	}
	got, err := tokenfile.Unmarshal(r.Credentials)
	if err != nil || len(got.Tokens) != 1 || got.Tokens[0].Token.GetKind() != "HDFS_DELEGATION_TOKEN" {
		t.Fatalf("credentials sent: %+v, %v", got, err)
	}
	r, err = c.events(ctx, 0, 2, 0, 0.5)
	if err != nil || r.Credentials != nil || r.CredentialsVersion != 2 {
		t.Fatalf("events with current credentials: %+v, %v", r, err)
	}
	// The poll carries the application's progress for the AM's heartbeat.
	m.mu.Lock()
	p := m.progress
	m.mu.Unlock()
	if p != 0.5 {
		t.Errorf("the AM took progress %v, want 0.5", p)
	}
	for _, bad := range []string{"-0.1", "1.5", "NaN", "x"} {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/events?after=0&creds=2&wait=0&progress="+bad, nil)
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("progress=%s: %s, want 400", bad, resp.Status)
		}
	}
}

// An executor takes the driver's tokens into its token file, keeping its secret; malformed
// tokens leave the file as it was.
func TestUpdateContainerTokens(t *testing.T) {
	tf := filepath.Join(t.TempDir(), "container_tokens")
	cur := &tokenfile.Credentials{}
	cur.AddToken("10.0.0.1:8020", &commonpb.Token{Identifier: []byte("old"), Password: []byte{1}, Kind: proto.String("HDFS_DELEGATION_TOKEN"), Service: proto.String("10.0.0.1:8020")})
	cur.SetSecret(execSecretAlias, []byte("s3cret"))
	os.WriteFile(tf, cur.Marshal(), 0o600)
	t.Setenv(hadoopTokenEnv, tf)
	fresh := &tokenfile.Credentials{}
	fresh.AddToken("10.0.0.1:8020", &commonpb.Token{Identifier: []byte("new"), Password: []byte{2}, Kind: proto.String("HDFS_DELEGATION_TOKEN"), Service: proto.String("10.0.0.1:8020")})
	if err := UpdateContainerTokens(fresh.Marshal()); err != nil {
		t.Fatal(err)
	}
	got, err := tokenfile.Read(tf)
	if err != nil || len(got.Tokens) != 1 || string(got.Tokens[0].Token.GetIdentifier()) != "new" || string(got.Secrets[execSecretAlias]) != "s3cret" {
		t.Fatalf("token file after the update: %+v, %v", got, err)
	}
	before, _ := os.ReadFile(tf)
	if err := UpdateContainerTokens([]byte("HDTS\x00garbage")); err == nil {
		t.Fatal("malformed tokens accepted")
	}
	if after, _ := os.ReadFile(tf); string(after) != string(before) {
		t.Fatal("malformed tokens changed the token file")
	}
	t.Setenv(hadoopTokenEnv, "")
	if err := UpdateContainerTokens(fresh.Marshal()); err == nil {
		t.Fatal("no token file: no error")
	}
}
