package ui

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

type fakeKiller struct {
	mu     sync.Mutex
	jobs   []int
	stages []int
}

func (k *fakeKiller) KillJob(id int, _ string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.jobs = append(k.jobs, id)
	return id == 0
}

func (k *fakeKiller) KillStage(id int, _ string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stages = append(k.stages, id)
	return id == 1
}

var tokenRE = regexp.MustCompile(`name="token" value="([0-9a-f]+)"`)

// The kill buttons: a running job's and stage's forms carry the page's
// token; a POST without it, from another site, with a malformed id, or
// (with a secret) without the secret is refused, and nothing is killed.
func TestKillButtons(t *testing.T) {
	for _, secret := range []string{"", "s3cret"} {
		k := &fakeKiller{}
		srv := startServer(t, scenarioStore(), WithKiller(k, secret))
		_, _, page := get(t, srv.URL()+"/jobs/")
		m := tokenRE.FindStringSubmatch(page)
		if m == nil || !strings.Contains(page, `action="jobs/kill/"`) {
			t.Fatalf("no kill form on the running job:\n%s", page)
		}
		_, _, stages := get(t, srv.URL()+"/stages/")
		if !strings.Contains(stages, `action="stages/kill/"`) {
			t.Fatalf("no kill form on the running stage")
		}
		token := m[1]
		post := func(path string, form url.Values, header map[string]string, pass string) int {
			t.Helper()
			req, _ := http.NewRequest("POST", srv.URL()+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range header {
				req.Header.Set(k, v)
			}
			if pass != "" {
				req.SetBasicAuth("anyone", pass)
			}
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		good := url.Values{"id": {"0"}, "token": {token}}
		attacks := map[string]int{}
		attacks["no token"] = post("/jobs/kill/", url.Values{"id": {"0"}}, nil, secret)
		attacks["wrong token"] = post("/jobs/kill/", url.Values{"id": {"0"}, "token": {"00" + token[2:]}}, nil, secret)
		attacks["cross-site"] = post("/jobs/kill/", good, map[string]string{"Sec-Fetch-Site": "cross-site"}, secret)
		attacks["other origin"] = post("/jobs/kill/", good, map[string]string{"Origin": "http://evil.example"}, secret)
		for name, code := range attacks {
			if code != http.StatusForbidden {
				t.Errorf("secret %q, %s: %d, want 403", secret, name, code)
			}
		}
		if code := post("/jobs/kill/", url.Values{"id": {"x"}, "token": {token}}, nil, secret); code != http.StatusBadRequest {
			t.Errorf("malformed id: %d", code)
		}
		if secret != "" {
			if code := post("/jobs/kill/", good, nil, ""); code != http.StatusUnauthorized {
				t.Errorf("without the secret: %d", code)
			}
			if code := post("/jobs/kill/", good, nil, "wrong"); code != http.StatusUnauthorized {
				t.Errorf("with a wrong secret: %d", code)
			}
		}
		if len(k.jobs) != 0 {
			t.Fatalf("secret %q: refused requests killed jobs %v", secret, k.jobs)
		}
		if code := post("/jobs/kill/", good, map[string]string{"Sec-Fetch-Site": "same-origin"}, secret); code != http.StatusSeeOther {
			t.Errorf("secret %q: a good kill: %d", secret, code)
		}
		if code := post("/jobs/kill/", url.Values{"id": {"5"}, "token": {token}}, nil, secret); code != http.StatusConflict {
			t.Errorf("killing a job that is not running: %d", code)
		}
		if code := post("/stages/kill/", url.Values{"id": {"1"}, "token": {token}}, nil, secret); code != http.StatusSeeOther {
			t.Errorf("a good stage kill: %d", code)
		}
		if len(k.jobs) != 2 || k.jobs[0] != 0 || len(k.stages) != 1 {
			t.Errorf("secret %q: kills %v %v", secret, k.jobs, k.stages)
		}
		if code, _, _ := get(t, srv.URL()+"/jobs/kill/"); code != http.StatusMethodNotAllowed {
			t.Errorf("GET of the kill action: %d, want 405", code)
		}
	}
	// Without a killer there is no button and no action.
	srv := startServer(t, scenarioStore())
	if _, _, page := get(t, srv.URL()+"/jobs/"); strings.Contains(page, `action="jobs/kill/"`) {
		t.Error("kill buttons without a killer")
	}
	resp, err := http.PostForm(srv.URL()+"/jobs/kill/", url.Values{"id": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("kill action without a killer: %d", resp.StatusCode)
	}
}
