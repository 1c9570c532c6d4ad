package mesos

import (
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
}

func serveGrants(host, binary string, gs *grants, logf func(string, ...any)) (*fileServer, error) {
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("serving executors' one-time grants (binary and secrets) to Mesos agents on %s: %w", host, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /b/{token}/{name}", func(w http.ResponseWriter, r *http.Request) {
		gs.serveFile(w, r, r.PathValue("token"), logf)
	})
	mux.HandleFunc("/g/{token}", func(w http.ResponseWriter, r *http.Request) {
		gs.serveEnv(w, r, r.PathValue("token"), logf)
	})
	fs := &fileServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}, lis: lis, binary: binary, grants: gs}
	go fs.srv.Serve(lis)
	return fs, nil
}

func (fs *fileServer) base() string { return "http://" + fs.lis.Addr().String() }

// binaryURL is a one-time URL of the application binary for owner.
func (fs *fileServer) binaryURL(owner string) string {
	tok := fs.grants.issue(grant{file: fs.binary, owner: owner})
	return fs.base() + "/b/" + tok + "/" + filepath.Base(fs.binary)
}

// envURL is a one-time URL of env for owner.
func (fs *fileServer) envURL(owner string, env map[string]string) string {
	return fs.base() + "/g/" + fs.grants.issue(grant{env: env, owner: owner})
}

func (fs *fileServer) close() { fs.srv.Close() }
