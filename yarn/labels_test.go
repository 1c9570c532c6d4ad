package yarn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/conf"
)

// Node label keys take one YARN label; anything else is refused before
// a submission, naming the key.
func TestNodeLabelKeysRefuseMalformedLabels(t *testing.T) {
	for _, key := range []string{"stoke.yarn.am.nodeLabelExpression", "stoke.yarn.executor.nodeLabelExpression"} {
		for _, ok := range []string{"", "gpu", "GPU_2", "x-1", "0fast"} {
			c := conf.New()
			c.Set(key, ok, conf.SourceCode)
			if _, err := c.Validate(); err != nil {
				t.Errorf("%s=%q refused: %v", key, ok, err)
			}
		}
		for _, bad := range []string{"gpu && ssd", "gpu||ssd", "-gpu", "_x", "a b", "x/y", "é", strings.Repeat("x", 256)} {
			c := conf.New()
			c.Set(key, bad, conf.SourceCode)
			_, err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "label") {
				t.Errorf("%s=%q: %v, want an error naming the key and saying what a label is", key, truncate(bad, 20), err)
			}
		}
	}
}

// TestAttackAMLocalityHints: the AM's executors endpoint refuses locality
// hints it could not turn into YARN asks (a rack or "*" posing as a host,
// odd characters, negative or huge counts, too many hosts, a bad label),
// and its asks stay as they were; sound hints are taken.
func TestAttackAMLocalityHints(t *testing.T) {
	m := &am{secret: "s3cret", wake: make(chan struct{}, 1), eventsCh: make(chan struct{}), maxFailures: -1, maxPerNode: 2}
	h := m.handler()
	post := func(req executorsRequest) int {
		b, _ := json.Marshal(req)
		r := httptest.NewRequest(http.MethodPost, "/v1/executors", bytes.NewReader(b))
		r.Header.Set("Authorization", "Bearer s3cret")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	base := executorsRequest{Target: 2, Cores: 1, MemoryMiB: 512}
	many := map[string]int{}
	for i := 0; i <= maxAMHintHosts; i++ {
		many[fmt.Sprintf("host-%d", i)] = 1
	}
	for name, hints := range map[string]func(r *executorsRequest){
		"star host":        func(r *executorsRequest) { r.LocalExecutors, r.Hosts = 1, map[string]int{"*": 1} },
		"rack as host":     func(r *executorsRequest) { r.LocalExecutors, r.Hosts = 1, map[string]int{"/default-rack": 1} },
		"space":            func(r *executorsRequest) { r.LocalExecutors, r.Hosts = 1, map[string]int{"a b": 1} },
		"empty host":       func(r *executorsRequest) { r.LocalExecutors, r.Hosts = 1, map[string]int{"": 1} },
		"long host":        func(r *executorsRequest) { r.LocalExecutors, r.Hosts = 1, map[string]int{strings.Repeat("a", 256): 1} },
		"negative count":   func(r *executorsRequest) { r.LocalExecutors, r.Hosts = 1, map[string]int{"a": -1} },
		"huge count":       func(r *executorsRequest) { r.LocalExecutors, r.Hosts = 1, map[string]int{"a": 1 << 40} },
		"negative execs":   func(r *executorsRequest) { r.LocalExecutors, r.Hosts = -1, map[string]int{"a": 1} },
		"too many hosts":   func(r *executorsRequest) { r.LocalExecutors, r.Hosts = 1, many },
		"label expression": func(r *executorsRequest) { r.NodeLabel = "a&&b" },
	} {
		req := base
		hints(&req)
		if code := post(req); code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, code)
		}
	}
	if m.alloc != nil {
		t.Fatal("a refused request set up the allocator")
	}
	good := base
	good.LocalExecutors, good.Hosts, good.NodeLabel = 1, map[string]int{"node-1.example.com": 3, "10.0.0.7": 1}, "gpu"
	if code := post(good); code != http.StatusOK {
		t.Fatalf("sound hints: status %d", code)
	}
	if m.alloc.label != "gpu" || m.alloc.hints.Hosts["node-1.example.com"] != 3 {
		t.Fatalf("the AM took label %q and hints %+v", m.alloc.label, m.alloc.hints)
	}
}
