package mesos

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"
)

// fileServer serves the driver's one-time grants to the processes Mesos
// starts (see grant.go): the application binary for agents' fetchers (the
// fetcher cannot send credentials, so each executor's URL carries its own
// one-time token) and each executor's secrets.
type fileServer struct {
	srv    *http.Server
	lis    net.Listener
	binary string // "" with stoke.executor.uri
	grants *grants
	// With TLS, secrets are served on their own mutual-TLS listener: a
	// token read from the state endpoints is not enough without a
	// certificate the trust file signs. The fetcher cannot present one, so
	// the binary stays on plain HTTP.
	tsrv *http.Server
	tlis net.Listener
}

// grantIdleTimeout drops kept-alive connections that send nothing more
// (the grant server is reachable by anyone who reaches the driver).
var grantIdleTimeout = 2 * time.Minute

// serveGrants serves gs; tlsConf (nil without stoke.rpc.tls) guards the
// secrets.
func serveGrants(host, binary string, gs *grants, tlsConf *tls.Config, logf func(string, ...any)) (*fileServer, error) {
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("serving executors' one-time grants (binary and secrets) to Mesos agents on %s: %w", host, err)
	}
	files := http.NewServeMux()
	files.HandleFunc("GET /b/{token}/{name}", func(w http.ResponseWriter, r *http.Request) {
		gs.serveFile(w, r, r.PathValue("token"), logf)
	})
	secrets := files
	fs := &fileServer{srv: &http.Server{Handler: files, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: grantIdleTimeout}, lis: lis, binary: binary, grants: gs}
	if tlsConf != nil {
		tlis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			lis.Close()
			return nil, fmt.Errorf("serving executors' secrets over TLS on %s: %w", host, err)
		}
		secrets = http.NewServeMux()
		fs.tlis = tls.NewListener(tlis, tlsConf)
		fs.tsrv = &http.Server{Handler: secrets, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: grantIdleTimeout}
		go fs.tsrv.Serve(fs.tlis)
	}
	secrets.HandleFunc("/g/{token}", func(w http.ResponseWriter, r *http.Request) {
		gs.serveEnv(w, r, r.PathValue("token"), logf)
	})
	go fs.srv.Serve(lis)
	return fs, nil
}

func (fs *fileServer) base() string { return "http://" + fs.lis.Addr().String() }

func (fs *fileServer) secretsBase() string {
	if fs.tlis != nil {
		return "https://" + fs.tlis.Addr().String()
	}
	return fs.base()
}

// binaryURL is a one-time URL of the application binary for owner.
func (fs *fileServer) binaryURL(owner string) string {
	tok := fs.grants.issue(grant{file: fs.binary, owner: owner})
	return fs.base() + "/b/" + tok + "/" + filepath.Base(fs.binary)
}

// envURL is a one-time URL of env for owner.
func (fs *fileServer) envURL(owner string, env map[string]string) string {
	return fs.secretsBase() + "/g/" + fs.grants.issue(grant{env: env, owner: owner})
}

func (fs *fileServer) close() {
	fs.srv.Close()
	if fs.tsrv != nil {
		fs.tsrv.Close()
	}
}

// fileURL is a one-time URL of the local file path for owner (stoke.files,
// stoke.archives). The name in the URL is fixed: the grant alone says which
// file is served, and the fetcher names it by output_file.
func (fs *fileServer) fileURL(owner, path string) string {
	return fs.base() + "/b/" + fs.grants.issue(grant{file: path, owner: owner}) + "/file"
}
