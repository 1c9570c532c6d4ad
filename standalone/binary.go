package standalone

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
)

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// defaultMaxBinarySize is stoke.deploy.maxBinarySize's default.
const defaultMaxBinarySize = 1 << 30

// fileSHA256 hashes a file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// secretOK says whether r carries secret in SecretHeader (constant time).
func secretOK(r *http.Request, secret string) bool {
	return subtle.ConstantTimeCompare([]byte(r.Header.Get(SecretHeader)), []byte(secret)) == 1
}

// serveFile serves one file to callers presenting secret.
func serveFile(path, secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if secret != "" && !secretOK(r, secret) {
			http.Error(w, "wrong or missing secret", http.StatusUnauthorized)
			return
		}
		if fi, err := os.Stat(path); err == nil {
			HTTPLimits{}.allowWrite(w, fi.Size())
		}
		http.ServeFile(w, r, path)
	})
}

// binaryCache downloads application binaries once per SHA-256 into dir.
type binaryCache struct {
	dir     string
	maxSize int64 // a larger download is refused
	hc      *http.Client
	mu      sync.Mutex
	per     map[string]*sync.Mutex
}

func newBinaryCache(dir string) (*binaryCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("binary cache %s: %w", dir, err)
	}
	return &binaryCache{dir: dir, maxSize: defaultMaxBinarySize, hc: &http.Client{Timeout: 5 * time.Minute}, per: map[string]*sync.Mutex{}}, nil
}

// get returns the path of the binary src names, downloading and verifying
// it unless the cache holds it.
func (c *binaryCache) get(ctx context.Context, src BinarySource) (string, error) {
	if !sha256Hex.MatchString(src.SHA256) {
		return "", fmt.Errorf("binary %s: %q is not a SHA-256", src.URL, src.SHA256)
	}
	c.mu.Lock()
	l := c.per[src.SHA256]
	if l == nil {
		l = &sync.Mutex{}
		c.per[src.SHA256] = l
	}
	c.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	path := filepath.Join(c.dir, src.SHA256)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return "", err
	}
	if src.Secret != "" {
		req.Header.Set(SecretHeader, src.Secret)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading the application binary from %s: %w", src.URL, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading the application binary from %s: HTTP %s", src.URL, res.Status)
	}
	if res.ContentLength > c.maxSize {
		return "", fmt.Errorf("the application binary at %s is %d bytes, larger than the limit of %d (stoke.deploy.maxBinarySize)", src.URL, res.ContentLength, c.maxSize)
	}
	tmp, err := os.CreateTemp(c.dir, "download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(res.Body, c.maxSize+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > c.maxSize {
		err = fmt.Errorf("larger than the limit of %d bytes (stoke.deploy.maxBinarySize)", c.maxSize)
	}
	if err != nil {
		return "", fmt.Errorf("downloading the application binary from %s: %w", src.URL, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != src.SHA256 {
		return "", fmt.Errorf("the application binary from %s is corrupted or not the one registered: SHA-256 %s, expected %s", src.URL, got, src.SHA256)
	}
	// Only the worker's user (who runs the executors) may read application code.
	if err := os.Chmod(tmp.Name(), 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// binaryStore keeps binaries uploaded for cluster-mode drivers on the master.
type binaryStore struct {
	dir     string
	temp    string // a temporary directory to remove at close, if made here
	maxSize int64  // larger uploads are refused
	limits  HTTPLimits
}

func newBinaryStore(dir string) (*binaryStore, error) {
	s := &binaryStore{maxSize: defaultMaxBinarySize}
	if dir == "" {
		d, err := os.MkdirTemp("", "stoke-master-")
		if err != nil {
			return nil, err
		}
		dir, s.temp = d, d
	}
	s.dir = filepath.Join(dir, "binaries")
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("master binary store %s: %w", s.dir, err)
	}
	return s, nil
}

func (s *binaryStore) close() {
	if s.temp != "" {
		os.RemoveAll(s.temp)
	}
}

func (s *binaryStore) handlePut(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	if !sha256Hex.MatchString(sha) {
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("%q is not a SHA-256", sha)})
		return
	}
	if r.ContentLength > s.maxSize {
		writeError(w, http.StatusRequestEntityTooLarge, errorReply{Error: fmt.Sprintf("binary of %d bytes is larger than the limit of %d bytes (stoke.deploy.maxBinarySize)", r.ContentLength, s.maxSize)})
		return
	}
	size := r.ContentLength
	if size < 0 {
		size = s.maxSize
	}
	s.limits.allowRead(w, size)
	r.Body = http.MaxBytesReader(w, r.Body, s.maxSize)
	tmp, err := os.CreateTemp(s.dir, "upload-*")
	if err != nil {
		writeError(w, http.StatusInternalServerError, errorReply{Error: err.Error()})
		return
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), r.Body)
	tmp.Close()
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, errorReply{Error: fmt.Sprintf("binary is larger than the limit of %d bytes (stoke.deploy.maxBinarySize)", s.maxSize)})
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		writeError(w, http.StatusRequestTimeout, errorReply{Error: fmt.Sprintf("upload slower than %d bytes/s: %v", s.limits.withDefaults().MinRate, err)})
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, errorReply{Error: "upload: " + err.Error()})
		return
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		writeError(w, http.StatusBadRequest, errorReply{Error: fmt.Sprintf("uploaded binary has SHA-256 %s, not %s: corrupted in transit", got, sha)})
		return
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, sha)); err != nil {
		writeError(w, http.StatusInternalServerError, errorReply{Error: err.Error()})
		return
	}
	writeJSON(w, struct{}{})
}

func (s *binaryStore) has(sha string) bool {
	_, err := os.Stat(filepath.Join(s.dir, sha))
	return sha256Hex.MatchString(sha) && err == nil
}

func (s *binaryStore) handleGet(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	if !s.has(sha) {
		http.Error(w, "no such binary", http.StatusNotFound)
		return
	}
	if fi, err := os.Stat(filepath.Join(s.dir, sha)); err == nil {
		s.limits.allowWrite(w, fi.Size())
	}
	http.ServeFile(w, r, filepath.Join(s.dir, sha))
}
