package standalone

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/stoke-run/stoke/internal/conf"
)

// SecretFileName is the cluster secret file's name in its default
// directory: $STOKE_CONF_DIR, else ~/.stoke.
const SecretFileName = "cluster.secret"

// Configuration keys of the cluster secret.
const (
	KeySecret     = "stoke.authenticate.secret"
	KeySecretFile = "stoke.authenticate.secret.file"
)

// DefaultSecretFile is where `stoke master` creates the cluster secret
// when none is given, and where workers and `stoke submit` look for it:
// $STOKE_CONF_DIR/cluster.secret, else ~/.stoke/cluster.secret.
func DefaultSecretFile() (string, error) {
	if d := os.Getenv("STOKE_CONF_DIR"); d != "" {
		return filepath.Join(d, SecretFileName), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the default cluster secret file (set STOKE_CONF_DIR or give --secret-file): %w", err)
	}
	return filepath.Join(home, ".stoke", SecretFileName), nil
}

// ReadSecretFile reads a cluster secret file: one non-empty line. It
// refuses a file others can read.
func ReadSecretFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("cluster secret file: %w", err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("cluster secret file %s is a directory", path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("cluster secret file %s has mode %04o: others can read it; run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cluster secret file: %w", err)
	}
	s := strings.TrimSpace(string(data))
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("cluster secret file %s: expected one non-empty line", path)
	}
	return s, nil
}

// EnsureSecretFile reads the secret file at path, or creates it (mode
// 0600, its directory 0700) with a new random secret.
func EnsureSecretFile(path string) (secret string, created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		s, err := ReadSecretFile(path)
		return s, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("creating the directory of the cluster secret file %s: %w", path, err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", false, err
	}
	secret = hex.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it meanwhile
		s, err := ReadSecretFile(path)
		return s, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("creating the cluster secret file %s: %w", path, err)
	}
	_, err = f.WriteString(secret + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("writing the cluster secret file %s: %w", path, err)
	}
	return secret, true, nil
}

// ClientSecret is the cluster secret a worker, driver or submitter
// presents: stoke.authenticate.secret, else the file named by
// stoke.authenticate.secret.file, else the default secret file if it
// exists, else none (file "" then).
func ClientSecret(c *conf.Conf) (secret, file string, err error) {
	if s := c.String(KeySecret); s != "" {
		return s, "", nil
	}
	if p := c.String(KeySecretFile); p != "" {
		s, err := ReadSecretFile(p)
		return s, p, err
	}
	p, err := DefaultSecretFile()
	if err != nil {
		return "", "", nil
	}
	if _, err := os.Stat(p); err != nil {
		return "", "", nil
	}
	s, err := ReadSecretFile(p)
	return s, p, err
}

// IsLoopback says whether a listen host reaches only this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// appSecretHash is what the master keeps of an application's secret: an
// HMAC keyed by the cluster secret (a SHA-256 without one).
func appSecretHash(clusterSecret, appSecret string) string {
	mac := hmac.New(sha256.New, []byte("stoke-app-secret:"+clusterSecret))
	mac.Write([]byte(appSecret))
	return hex.EncodeToString(mac.Sum(nil))
}

// IsSecretKey says whether a configuration key holds a secret that a
// cluster-mode submission must not carry: conf.IsSensitive's keys, except a
// keytab's path (the file itself stays on the submitting side's paths).
func IsSecretKey(key string) bool {
	return conf.IsSensitive(key) && !strings.Contains(strings.ToLower(key), "keytab")
}

// StripSecrets removes every secret entry from a STOKE_SUBMIT_CONF value,
// returning it re-encoded and the keys removed.
func StripSecrets(submitEnv string) (string, []string, error) {
	if strings.TrimSpace(submitEnv) == "" {
		return submitEnv, nil, nil
	}
	entries, err := conf.DecodeSubmit(submitEnv)
	if err != nil {
		return "", nil, err
	}
	kept := entries[:0]
	var removed []string
	for _, e := range entries {
		if IsSecretKey(e.Key) {
			removed = append(removed, e.Key)
			continue
		}
		kept = append(kept, e)
	}
	return conf.EncodeSubmit(kept), removed, nil
}
