package rpc

import pb "github.com/stoke-run/stoke/internal/rpc/stokepb"

// BlockChunkSize is the most data one BlockChunk carries.
const BlockChunkSize = 1 << 20

// SendBlocks answers a FetchBlocks request: each named block, read by get,
// in chunks of at most BlockChunkSize, the last one marked; a block that
// cannot be read is one chunk with its error. Executors and the worker's
// shuffle service answer alike.
func SendBlocks(send func(*pb.BlockChunk) error, names []string, get func(string) ([]byte, error)) error {
	for i, name := range names {
		data, err := get(name)
		if err != nil {
			if err := send(&pb.BlockChunk{Index: int32(i), Error: err.Error(), Last: true}); err != nil {
				return err
			}
			continue
		}
		for off := 0; ; off += BlockChunkSize {
			end := min(off+BlockChunkSize, len(data))
			last := end == len(data)
			if err := send(&pb.BlockChunk{Index: int32(i), Data: data[off:end], Last: last}); err != nil {
				return err
			}
			if last {
				break
			}
		}
	}
	return nil
}
