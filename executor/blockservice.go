package executor

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc"

	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

const chunkSize = rpc.BlockChunkSize

// blockService serves a BlockStore's blocks in 1 MiB chunks.
type blockService struct {
	pb.UnimplementedExecutorServer
	store *BlockStore
}

func (s *blockService) FetchBlocks(req *pb.FetchRequest, stream pb.Executor_FetchBlocksServer) error {
	return rpc.SendBlocks(stream.Send, req.Blocks, s.store.Get)
}

// RegisterBlockService serves store on srv.
func RegisterBlockService(srv *grpc.Server, store *BlockStore) {
	pb.RegisterExecutorServer(srv, &blockService{store: store})
}

// BlockClient fetches blocks from executors, keeping one connection each.
type BlockClient struct {
	// AppID goes with every fetch, for shuffle services that serve
	// several applications; set it before the first Fetch.
	AppID  string
	secret string
	maxMsg int
	tls    rpc.TLS
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
}

func NewBlockClient(secret string, maxMsg int, t rpc.TLS) *BlockClient {
	return &BlockClient{secret: secret, maxMsg: maxMsg, tls: t, conns: map[string]*grpc.ClientConn{}}
}

func (c *BlockClient) conn(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.conns[addr]; cc != nil {
		return cc, nil
	}
	sec, err := c.tls.DialOption()
	if err != nil {
		return nil, err
	}
	cc, err := grpc.NewClient(addr, append(rpc.DialOptions(c.secret, c.maxMsg), sec)...)
	if err != nil {
		return nil, err
	}
	c.conns[addr] = cc
	return cc, nil
}

// Fetch reads one block from the executor at addr.
func (c *BlockClient) Fetch(ctx context.Context, addr, block string) ([]byte, error) {
	if addr == "" {
		return nil, fmt.Errorf("block %s: executor has no block address", block)
	}
	cc, err := c.conn(addr)
	if err != nil {
		return nil, err
	}
	stream, err := pb.NewExecutorClient(cc).FetchBlocks(ctx, &pb.FetchRequest{Blocks: []string{block}, AppId: c.AppID})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for {
		ch, err := stream.Recv()
		if err != nil {
			return nil, fmt.Errorf("block %s from %s: %w", block, addr, err)
		}
		if ch.Error != "" {
			return nil, fmt.Errorf("block %s from %s: %s", block, addr, ch.Error)
		}
		buf.Write(ch.Data)
		if ch.Last {
			return buf.Bytes(), nil
		}
	}
}

// Close drops every connection.
func (c *BlockClient) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for a, cc := range c.conns {
		cc.Close()
		delete(c.conns, a)
	}
}
