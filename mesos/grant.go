package mesos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stoke-run/stoke/internal/rpc"
)

// How secrets reach processes Mesos starts.
//
// Mesos shows a task's or executor's CommandInfo (value, arguments, URIs,
// every environment variable) to anyone who can read the master's
// /master/state and /master/frameworks or the agent's /state and v1
// operator API, unauthenticated by default. A SECRET environment variable
// with a VALUE secret is no way out: src/common/http.cpp writes the
// environment with JSON::Protobuf, secret value included. ExecutorInfo.data
// is not on the JSON state endpoints, but the v1 operator API's
// GET_EXECUTORS and GET_STATE return the whole ExecutorInfo, data included;
// and a command task's data never reaches its process.
//
// So nothing secret goes into a TaskInfo or ExecutorInfo. What the process
// needs (the application secret, a dispatched driver's secret settings) is
// held by the framework behind a one-time grant: a random token, named in
// the process's environment as a URL, that the process redeems once over
// HTTP at start. A redeemed or expired token is refused, so the token that
// state endpoints show is useless once the process has started. The
// application binary's URL works the same way: each executor gets its own
// one-time token for it. Without TLS, a reader of state who redeems a grant
// before the process does gets the secret, but the process then fails
// loudly (its grant is refused) and the framework logs the second attempt.
// With stoke.rpc.tls the secrets are served over mutual TLS, so the token
// alone is useless to whoever lacks a certificate the trust file signs.

// EnvGrant names the grant URL a process started by Mesos redeems.
const EnvGrant = "STOKE_MESOS_GRANT"

// grantTTL bounds how long an unredeemed grant stays valid: the agent must
// have fetched and started the process by then.
const grantTTL = 15 * time.Minute

// maxGrantBody bounds a grant's reply.
const maxGrantBody = 1 << 20

// grant is what one token gives, once: environment entries (env) or a file.
type grant struct {
	env     map[string]string
	file    string
	owner   string // the executor or driver the grant is for (for logs)
	expires time.Time
}

// grants holds unredeemed grants by token.
type grants struct {
	mu    sync.Mutex
	m     map[string]grant
	spent map[string]string // redeemed tokens, to name a second attempt
	now   func() time.Time
}

func newGrants() *grants {
	return &grants{m: map[string]grant{}, spent: map[string]string{}, now: time.Now}
}

// issue stores g and returns its token.
func (gs *grants) issue(g grant) string {
	tok := rpc.NewSecret()
	gs.mu.Lock()
	defer gs.mu.Unlock()
	now := gs.now()
	for t, x := range gs.m {
		if now.After(x.expires) {
			delete(gs.m, t)
		}
	}
	if len(gs.spent) > 10000 {
		gs.spent = map[string]string{}
	}
	g.expires = now.Add(grantTTL)
	gs.m[tok] = g
	return tok
}

// take redeems tok: the grant, once. A second attempt returns the owner of
// the spent grant, so the caller can log it.
func (gs *grants) take(tok string) (g grant, ok bool, spentBy string) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	g, ok = gs.m[tok]
	if !ok {
		return grant{}, false, gs.spent[tok]
	}
	delete(gs.m, tok)
	if gs.now().After(g.expires) {
		return grant{}, false, ""
	}
	gs.spent[tok] = g.owner
	return g, true, ""
}

// revoke drops the unredeemed grants of owner (its process will not start).
func (gs *grants) revoke(owner string) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	for t, g := range gs.m {
		if g.owner == owner {
			delete(gs.m, t)
		}
	}
}

// serveEnv answers POST <prefix><token> with the grant's environment
// entries as a JSON object; logf hears refused attempts on spent tokens.
func (gs *grants) serveEnv(w http.ResponseWriter, r *http.Request, tok string, logf func(string, ...any)) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "a grant is redeemed with POST", http.StatusMethodNotAllowed)
		return
	}
	g, ok, spentBy := gs.take(tok)
	if !ok || g.env == nil {
		if spentBy != "" && logf != nil {
			logf("refused a second redemption of the grant of %s: the state endpoints showed its token and someone redeemed it, or the process started twice", spentBy)
		}
		http.Error(w, "no such grant: unknown, expired or already redeemed", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(g.env)
}

// serveFile answers GET <prefix><token>/<name> with the grant's file, once.
func (gs *grants) serveFile(w http.ResponseWriter, r *http.Request, tok string, logf func(string, ...any)) {
	g, ok, spentBy := gs.take(tok)
	if !ok || g.file == "" {
		if spentBy != "" && logf != nil {
			logf("refused a second download, on its one-time URL, of a file granted to %s (the binary, or one of stoke.files, stoke.archives)", spentBy)
		}
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(g.file)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		// Replaced by a directory since: never list one.
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// EnvFromGrant redeems the grant named by EnvGrant, if any, and sets the
// environment entries it gives (STOKE_* names only), then unsets EnvGrant.
// A process Mesos started calls it before reading its configuration.
func EnvFromGrant() error {
	u := os.Getenv(EnvGrant)
	if u == "" {
		return nil
	}
	os.Unsetenv(EnvGrant)
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return fmt.Errorf("%s is not an http(s) URL", EnvGrant)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(nil))
	if err != nil {
		return fmt.Errorf("%s: %v", EnvGrant, err)
	}
	client := http.DefaultClient
	if strings.HasPrefix(u, "https://") {
		// The driver serves secrets over mutual TLS with stoke.rpc.tls.
		if t := rpc.TLSFromEnv(); t.Enabled() {
			cfg, err := t.ClientConfig()
			if err != nil {
				return fmt.Errorf("redeeming this process's secrets: %v", err)
			}
			client = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL holds the token: name only the host.
		return fmt.Errorf("redeeming this process's secrets at %s (%s): %v", req.URL.Host, EnvGrant, redactURLErr(err, u))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGrantBody+1))
	if err != nil {
		return fmt.Errorf("redeeming this process's secrets at %s: %v", req.URL.Host, redactURLErr(err, u))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("redeeming this process's secrets at %s: %s: %s (a grant works once: if this process did not redeem it, someone who read the Mesos state did)",
			req.URL.Host, resp.Status, strings.TrimSpace(string(body)))
	}
	if len(body) > maxGrantBody {
		return fmt.Errorf("redeeming this process's secrets at %s: reply over %d bytes", req.URL.Host, maxGrantBody)
	}
	var env map[string]string
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("redeeming this process's secrets at %s: malformed reply: %v", req.URL.Host, err)
	}
	for k := range env {
		if !strings.HasPrefix(k, "STOKE_") {
			return fmt.Errorf("redeeming this process's secrets at %s: the grant sets %q, not a STOKE_ variable", req.URL.Host, k)
		}
	}
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("setting %s from the grant: %v", k, err)
		}
	}
	return nil
}

// redactURLErr removes the grant URL (and its token) from a client error.
func redactURLErr(err error, u string) string {
	return strings.ReplaceAll(err.Error(), u, "<grant URL>")
}
