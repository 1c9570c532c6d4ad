package mesos

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/rpc"
)

// testTLS makes a CA and a certificate it signs for 127.0.0.1.
func testTLS(t *testing.T) rpc.TLS {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "grant test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "stoke"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(k)
	tl := rpc.TLS{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"), TrustFile: filepath.Join(dir, "ca.pem")}
	os.WriteFile(tl.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(tl.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	os.WriteFile(tl.TrustFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	return tl
}

// With stoke.rpc.tls, secrets are served over mutual TLS: the token that the
// state endpoints show is not enough without a trusted client certificate
// (and a refused handshake does not spend it); the executor, holding one,
// redeems it.
func TestAttackGrantUnderTLSNeedsClientCert(t *testing.T) {
	tl := testTLS(t)
	cfg, err := tl.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	fs, err := serveGrants("127.0.0.1", "", newGrants(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.close()
	u := fs.envURL("exec-1", map[string]string{"STOKE_TEST_TLS_GRANTED": "yes"})
	if !strings.HasPrefix(u, "https://") {
		t.Fatalf("secrets served at %s, want https", u)
	}
	// A thief with the token and the CA (no client certificate).
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(tl.TrustFile)
	pool.AppendCertsFromPEM(b)
	thief := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, err := thief.Post(u, "", nil); err == nil {
		resp.Body.Close()
		t.Fatalf("a client without a certificate redeemed the grant: %s", resp.Status)
	}

	for _, kv := range tl.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv(EnvGrant, u)
	t.Setenv("STOKE_TEST_TLS_GRANTED", "")
	if err := EnvFromGrant(); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("STOKE_TEST_TLS_GRANTED") != "yes" {
		t.Fatal("the executor's redemption over mutual TLS did not set the variable")
	}
}
