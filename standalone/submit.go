package standalone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// SubmitClient talks to the masters for cluster deploy mode: it uploads an
// application binary, starts its driver on a worker, and asks for the
// driver's status or kills it.
type SubmitClient struct{ m *masters }

// NewSubmitClient addresses the masters (host:port) with the cluster secret.
func NewSubmitClient(masterHosts []string, secret string) *SubmitClient {
	return &SubmitClient{m: newMasters(masterHosts, secret)}
}

// Submit uploads binary and asks the leading master to run it as a driver.
func (c *SubmitClient) Submit(ctx context.Context, binary string, sub DriverSubmission) (DriverStatus, error) {
	var st DriverStatus
	sha, err := fileSHA256(binary)
	if err != nil {
		return st, fmt.Errorf("hashing the application binary %s: %w", binary, err)
	}
	sub.SHA256 = sha
	if err := c.upload(ctx, binary, sha); err != nil {
		return st, err
	}
	err = c.m.call(ctx, pathDriverSubmit, sub, &st, 30*time.Second)
	return st, err
}

// Status reports a submitted driver.
func (c *SubmitClient) Status(ctx context.Context, id string) (DriverStatus, error) {
	var st DriverStatus
	err := c.m.call(ctx, pathDriverStatus, DriverRef{DriverID: id}, &st, 30*time.Second)
	return st, err
}

// Kill stops a submitted driver.
func (c *SubmitClient) Kill(ctx context.Context, id string) (DriverStatus, error) {
	var st DriverStatus
	err := c.m.call(ctx, pathDriverKill, DriverRef{DriverID: id}, &st, 30*time.Second)
	return st, err
}

// upload PUTs the binary to every master, so that a standby that takes
// over later can relaunch the driver. It fails only if no master took it;
// the submission then fails on the leader if the leader did not.
func (c *SubmitClient) upload(ctx context.Context, binary, sha string) error {
	var errs []error
	stored := 0
	for _, addr := range c.m.addrs {
		f, err := os.Open(binary)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+addr+pathBinary+sha, f)
		if err != nil {
			f.Close()
			return err
		}
		if fi, err := f.Stat(); err == nil {
			req.ContentLength = fi.Size() // a master over its size limit refuses at once
		}
		if c.m.secret != "" {
			req.Header.Set(SecretHeader, c.m.secret)
		}
		res, err := c.m.hc.Do(req)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("master %s: %w", addr, err))
			continue
		}
		var rep errorReply
		_ = json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&rep)
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusOK:
			stored++
		case http.StatusUnauthorized:
			return fmt.Errorf("master %s refused the submission: wrong or missing cluster secret (give the master's secret file with stoke.authenticate.secret.file)", addr)
		default:
			errs = append(errs, fmt.Errorf("master %s: uploading the binary: HTTP %s %s", addr, res.Status, rep.Error))
		}
	}
	if stored == 0 {
		return fmt.Errorf("uploading the application binary: %w", errors.Join(errs...))
	}
	return nil
}
