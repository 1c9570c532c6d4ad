package yarn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/stoke-run/stoke/internal/rpc"
)

// The driver and the AM talk over a small authenticated HTTP/JSON API served by the AM:
// the driver says how many executors it wants and how to start them, follows the
// executors' container exits (the reasons it shows for lost executors), and, in client
// mode, tells the AM how the application ended.

// executorsRequest is POST /v1/executors.
type executorsRequest struct {
	Target    int               `json:"target"`
	Cores     int               `json:"cores"`
	MemoryMiB int64             `json:"memoryMiB"` // container memory, overhead included
	Env       map[string]string `json:"env"`       // executor environment (driver address)
	// Secret is the driver's secret; executors get it in their container's credentials, not
	// their environment, which NodeManager administrators can see.
	Secret string `json:"secret"`
	// DriverUI is the driver's web UI: the AM serves it at its tracking URL,
	// so the ResourceManager's proxy (/proxy/<application>/) shows it.
	DriverUI string `json:"driverUI,omitempty"`
	// NodeLabel is the executors' node label (first request only).
	NodeLabel string `json:"nodeLabel,omitempty"`
	// LocalExecutors and Hosts are the driver's locality hints: how many
	// executors the pending host-preferring tasks fill, and how many of
	// those tasks prefer each host.
	LocalExecutors int            `json:"localExecutors,omitempty"`
	Hosts          map[string]int `json:"hosts,omitempty"`
}

// maxAMHintHosts bounds the hosts of one executors request.
const maxAMHintHosts = 5000

// checkHints refuses locality hints the AM cannot turn into YARN asks.
func (r *executorsRequest) checkHints() error {
	if r.LocalExecutors < 0 || r.LocalExecutors > 1<<20 {
		return fmt.Errorf("localExecutors must be from 0 to %d, got %d", 1<<20, r.LocalExecutors)
	}
	if len(r.Hosts) > maxAMHintHosts {
		return fmt.Errorf("at most %d hosts in locality hints, got %d", maxAMHintHosts, len(r.Hosts))
	}
	for h, n := range r.Hosts {
		if !validHost(h) {
			return fmt.Errorf("locality hint host %q is not a host name", truncate(h, 80))
		}
		if n < 0 || n > 1<<30 {
			return fmt.Errorf("locality hint for %s: task count %d out of range", h, n)
		}
	}
	if r.NodeLabel != "" {
		if err := nodeLabel(r.NodeLabel); err != nil {
			return err
		}
	}
	return nil
}

// validHost is a DNS name or an IP address: what YARN names nodes by (not
// "*" or a /rack).
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == ':') {
			return false
		}
	}
	return h[0] != '.' && h[0] != '-'
}

// eventsResponse answers GET /v1/events?after=N.
type eventsResponse struct {
	Events []exitEvent `json:"events"`
	Next   int         `json:"next"`
	// Credentials are the delegation tokens executors should use now (Writable format), sent
	// when the AM has newer ones than the caller's CredentialsVersion.
	Credentials        []byte `json:"credentials,omitempty"`
	CredentialsVersion int    `json:"credentialsVersion"`
}

// finishRequest is POST /v1/finish (client mode).
type finishRequest struct {
	Status      string `json:"status"` // SUCCEEDED, FAILED or KILLED
	Diagnostics string `json:"diagnostics"`
}

// killRequest is POST /v1/kill.
type killRequest struct {
	Executors []string `json:"executors"`
}

// amClient is the driver's side of the API.
type amClient struct {
	base   string // http://host:port
	secret string
	http   *http.Client
}

func newAMClient(base, secret string) *amClient {
	return &amClient{base: base, secret: secret, http: &http.Client{Timeout: 30 * time.Second}}
}

func (c *amClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	rpc.SetBearer(req, c.secret)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("application master at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("application master at %s: reading the answer: %w", c.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("application master at %s: %s %s: %s: %s", c.base, method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("application master at %s: malformed answer to %s: %w", c.base, path, err)
		}
	}
	return nil
}

func (c *amClient) executors(ctx context.Context, r executorsRequest) error {
	return c.do(ctx, http.MethodPost, "/v1/executors", r, nil)
}

// events waits up to wait for executor exits after the first after ones, or for credentials
// newer than version credsVersion.
func (c *amClient) events(ctx context.Context, after, credsVersion int, wait time.Duration, progress float64) (eventsResponse, error) {
	var r eventsResponse
	err := c.do(ctx, http.MethodGet, "/v1/events?after="+strconv.Itoa(after)+"&creds="+strconv.Itoa(credsVersion)+"&wait="+strconv.FormatInt(wait.Milliseconds(), 10)+
		"&progress="+strconv.FormatFloat(progress, 'f', 4, 64), nil, &r)
	return r, err
}

func (c *amClient) finish(ctx context.Context, r finishRequest) error {
	return c.do(ctx, http.MethodPost, "/v1/finish", r, nil)
}

func (c *amClient) kill(ctx context.Context, ids []string) error {
	return c.do(ctx, http.MethodPost, "/v1/kill", killRequest{Executors: ids}, nil)
}
