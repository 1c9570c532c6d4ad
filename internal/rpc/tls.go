package rpc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// TLS names the PEM files of a process's certificate and of the
// certificates it trusts. The zero value means plaintext.
type TLS struct {
	CertFile  string
	KeyFile   string
	TrustFile string // CA bundle the peers' certificates must chain to
}

// Environment of executor processes carrying the TLS files.
const (
	EnvTLSCert  = "STOKE_TLS_CERT"
	EnvTLSKey   = "STOKE_TLS_KEY"
	EnvTLSTrust = "STOKE_TLS_TRUST"
)

// Enabled says whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.TrustFile != "" }

// Env returns the environment entries that hand t to an executor process.
func (t TLS) Env() []string {
	if !t.Enabled() {
		return nil
	}
	return []string{EnvTLSCert + "=" + t.CertFile, EnvTLSKey + "=" + t.KeyFile, EnvTLSTrust + "=" + t.TrustFile}
}

// TLSFromEnv reads what Env wrote.
func TLSFromEnv() TLS {
	return TLS{CertFile: os.Getenv(EnvTLSCert), KeyFile: os.Getenv(EnvTLSKey), TrustFile: os.Getenv(EnvTLSTrust)}
}

func (t TLS) check() error {
	if t.CertFile == "" || t.KeyFile == "" || t.TrustFile == "" {
		return errors.New("TLS needs a certificate, its key and a trust file (stoke.rpc.tls.certFile, .keyFile, .trustFile)")
	}
	return nil
}

func (t TLS) pool() (*x509.CertPool, error) {
	pem, err := os.ReadFile(t.TrustFile)
	if err != nil {
		return nil, fmt.Errorf("TLS trust file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("TLS trust file %s holds no PEM certificate", t.TrustFile)
	}
	return pool, nil
}

// load reads the certificate, its key and the trust bundle.
func (t TLS) load() (tls.Certificate, *x509.CertPool, error) {
	if err := t.check(); err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("TLS certificate %s / key %s: %w", t.CertFile, t.KeyFile, err)
	}
	pool, err := t.pool()
	return cert, pool, err
}

// ServerOption is the transport security of a server: mutual TLS when
// configured (clients must present a certificate the trust file signs).
func (t TLS) ServerOption() (grpc.ServerOption, error) {
	if !t.Enabled() {
		return grpc.Creds(insecure.NewCredentials()), nil
	}
	cert, pool, err := t.load()
	if err != nil {
		return nil, err
	}
	return grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})), nil
}

// DialOption is the transport security of a client.
func (t TLS) DialOption() (grpc.DialOption, error) {
	if !t.Enabled() {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	cert, pool, err := t.load()
	if err != nil {
		return nil, err
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		MinVersion:   tls.VersionTLS12,
	})), nil
}

// ServerConfig is ServerOption's mutual TLS for an HTTP server.
func (t TLS) ServerConfig() (*tls.Config, error) {
	cert, pool, err := t.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

// ClientConfig is DialOption's TLS for an HTTP client.
func (t TLS) ClientConfig() (*tls.Config, error) {
	cert, pool, err := t.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
