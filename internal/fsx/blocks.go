package fsx

import (
	"context"
	"fmt"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/hdfspb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
)

// Block is one block of a file and the hosts holding a replica.
type Block struct {
	Offset, Length int64
	Hosts          []string
}

// BlockLocator is implemented by file systems that know where data lives.
type BlockLocator interface {
	Blocks(p string, size int64) ([]Block, error)
}

// Blocks asks the NameNode where the blocks of a file are.
func (h *HDFS) Blocks(p string, size int64) ([]Block, error) {
	cfg := ipc.Config{Protocol: ipc.ClientNamenodeProtocol, User: HadoopUser()}
	auth, err := h.settings.RPCAuth()
	if err != nil {
		return nil, err
	}
	cfg.Auth = auth
	client, err := ipc.NewClient(h.namenodes(), cfg)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var resp hdfspb.GetBlockLocationsResponseProto
	req := &hdfspb.GetBlockLocationsRequestProto{Src: proto.String(h.path(p)), Offset: proto.Uint64(0), Length: proto.Uint64(uint64(size))}
	if err := client.Call(ctx, "getBlockLocations", req, &resp); err != nil {
		return nil, fmt.Errorf("block locations of %s: %w", p, err)
	}
	var out []Block
	for _, b := range resp.GetLocations().GetBlocks() {
		blk := Block{Offset: int64(b.GetOffset()), Length: int64(b.GetB().GetNumBytes())}
		for _, loc := range b.GetLocs() {
			host := loc.GetId().GetHostName()
			if host == "" {
				host = loc.GetId().GetIpAddr()
			}
			blk.Hosts = append(blk.Hosts, host)
		}
		sort.Strings(blk.Hosts)
		out = append(out, blk)
	}
	return out, nil
}

// HostsFor lists the hosts holding any block that overlaps [start, start+length).
func HostsFor(blocks []Block, start, length int64) []string {
	seen := map[string]bool{}
	var hosts []string
	for _, b := range blocks {
		if b.Offset < start+length && start < b.Offset+b.Length {
			for _, h := range b.Hosts {
				if !seen[h] {
					seen[h] = true
					hosts = append(hosts, h)
				}
			}
		}
	}
	sort.Strings(hosts)
	return hosts
}
