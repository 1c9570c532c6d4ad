package standalone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// apiError is a refusal from a master.
type apiError struct {
	Status int
	Reply  errorReply
	Master string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("master %s: %s", e.Master, e.Reply.Error)
}

// isUnknown says whether err means the master does not know the caller.
func isUnknown(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Reply.Unknown
}

// maxAnswerBytes bounds what a worker, driver or submitter reads back
// from a master.
const maxAnswerBytes = 64 << 20

// masters talks to the leading master among several (stoke://m1,m2): it
// keeps using the one that answered last and moves on to the next when a
// master is unreachable or answers that it is a standby.
type masters struct {
	addrs  []string // host:port
	secret string
	hc     *http.Client

	mu  sync.Mutex
	cur int
}

func newMasters(addrs []string, secret string) *masters {
	return &masters{addrs: addrs, secret: secret, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// call posts req as JSON to path on the leading master and decodes the
// answer into resp (if not nil). timeout bounds each attempt.
func (m *masters) call(ctx context.Context, path string, req, resp any, timeout time.Duration) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	m.mu.Lock()
	start := m.cur
	m.mu.Unlock()
	var errs []error
	for i := range m.addrs {
		idx := (start + i) % len(m.addrs)
		err := m.callOne(ctx, m.addrs[idx], path, body, resp, timeout)
		if err == nil {
			m.mu.Lock()
			m.cur = idx
			m.mu.Unlock()
			return nil
		}
		var ae *apiError
		if errors.As(err, &ae) && !ae.Reply.Standby {
			m.mu.Lock()
			m.cur = idx
			m.mu.Unlock()
			return err // a real answer from the leader
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("no leading master reachable among %v: %w", m.addrs, errors.Join(errs...))
}

func (m *masters) callOne(ctx context.Context, addr, path string, body []byte, resp any, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/json")
	if m.secret != "" {
		r.Header.Set(SecretHeader, m.secret)
	}
	res, err := m.hc.Do(r)
	if err != nil {
		return fmt.Errorf("master %s: %w", addr, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes+1))
	if err != nil {
		return fmt.Errorf("master %s: reading the answer: %w", addr, err)
	}
	if len(data) > maxAnswerBytes {
		return fmt.Errorf("master %s: the answer to %s is larger than the limit of %d bytes", addr, path, maxAnswerBytes)
	}
	if res.StatusCode != http.StatusOK {
		ae := &apiError{Status: res.StatusCode, Master: addr}
		if json.Unmarshal(data, &ae.Reply) != nil || ae.Reply.Error == "" {
			ae.Reply.Error = fmt.Sprintf("HTTP %d: %s", res.StatusCode, bytes.TrimSpace(data))
		}
		return ae
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("master %s: malformed answer to %s: %w", addr, path, err)
	}
	return nil
}

// writeJSON answers with v.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with a JSON error.
func writeError(w http.ResponseWriter, status int, rep errorReply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(rep)
}

// readJSON decodes a request body of at most maxRequestBytes and checks
// its bounds (validator), answering 413 or 400 itself when it fails.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, errorReply{Error: fmt.Sprintf("%s request body is larger than the limit of %d bytes", r.URL.Path, tooBig.Limit)})
			return false
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			writeError(w, http.StatusRequestTimeout, errorReply{Error: fmt.Sprintf("%s request body not received within the read timeout (stoke.deploy.http.readTimeout)", r.URL.Path)})
			return false
		}
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("malformed %s request: %v", r.URL.Path, err)})
		return false
	}
	if val, ok := v.(validator); ok {
		if err := val.validate(); err != nil {
			writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("%s request refused: %v", r.URL.Path, err)})
			return false
		}
	}
	return true
}
