package shufflesvc

import (
	"path/filepath"
	"sync"

	"google.golang.org/grpc"

	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

const chunkSize = rpc.BlockChunkSize

// Server serves the shuffle files of the applications it knows, each to
// callers holding that application's secret. Only FetchBlocks is served.
type Server struct {
	pb.UnimplementedExecutorServer
	root     string
	validApp func(string) bool
	mu       sync.RWMutex
	secrets  map[string]string // application id -> its secret
}

// NewServer serves files under root/<app id>/shuffle; validApp says
// which application ids are well formed (they become path elements).
func NewServer(root string, validApp func(string) bool) *Server {
	return &Server{root: root, validApp: validApp, secrets: map[string]string{}}
}

// Register serves s on srv.
func (s *Server) Register(srv *grpc.Server) { pb.RegisterExecutorServer(srv, s) }

// AddApp serves an application's files to holders of its secret.
func (s *Server) AddApp(appID, secret string) {
	if !s.validApp(appID) || secret == "" {
		return
	}
	s.mu.Lock()
	s.secrets[appID] = secret
	s.mu.Unlock()
}

// RemoveApp stops serving an application (it ended).
func (s *Server) RemoveApp(appID string) {
	s.mu.Lock()
	delete(s.secrets, appID)
	s.mu.Unlock()
}

// Apps lists the applications served.
func (s *Server) Apps() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.secrets))
	for id := range s.secrets {
		out = append(out, id)
	}
	return out
}

// Dir is an application's shuffle directory ("" for an id that is not
// one).
func (s *Server) Dir(appID string) string {
	if !s.validApp(appID) {
		return ""
	}
	return filepath.Join(s.root, appID, DirName)
}

// FetchBlocks serves shuffle buckets of req.AppId to a caller holding its
// secret. An unknown or malformed application id is refused the same way
// as a wrong secret, before anything is read.
func (s *Server) FetchBlocks(req *pb.FetchRequest, stream pb.Executor_FetchBlocksServer) error {
	s.mu.RLock()
	secret := s.secrets[req.AppId]
	s.mu.RUnlock()
	if err := rpc.CheckSecret(stream.Context(), secret); err != nil {
		return err
	}
	dir := s.Dir(req.AppId)
	return rpc.SendBlocks(stream.Send, req.Blocks, func(name string) ([]byte, error) { return s.read(dir, name) })
}

func (s *Server) read(dir, name string) ([]byte, error) {
	sh, m, r, err := ParseBlockName(name)
	if err != nil {
		return nil, err
	}
	return ReadBucket(dir, sh, m, r)
}
