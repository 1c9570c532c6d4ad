package mesos

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"

	"github.com/stoke-run/stoke/internal/rpc"
)

// fileServer serves the application binary for agents' fetchers. The
// fetcher cannot send credentials, so the URL carries a random token: only
// the task descriptions the framework sends name it.
type fileServer struct {
	srv  *http.Server
	lis  net.Listener
	name string
}

func serveFile(host, path string) (*fileServer, error) {
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("serving the application binary to Mesos agents on %s: %w", host, err)
	}
	name := rpc.NewSecret() + "/" + filepath.Base(path)
	mux := http.NewServeMux()
	mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, path) })
	fs := &fileServer{srv: &http.Server{Handler: mux}, lis: lis, name: name}
	go fs.srv.Serve(lis)
	return fs, nil
}

func (fs *fileServer) url() string { return "http://" + fs.lis.Addr().String() + "/" + fs.name }

func (fs *fileServer) close() { fs.srv.Close() }
