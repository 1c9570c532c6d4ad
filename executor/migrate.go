package executor

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/spill"
)

// Graceful decommission: before the driver releases an executor that holds
// shuffle output, the executor copies the map outputs the driver names to
// live executors of the same application (PutMapOutput, on the block
// service, authenticated with the application's secret like every other
// call) and reports which ones a target stored. The driver points those
// outputs at their target; the others stay where they were.

// maxMigratedBuckets bounds the buckets of one received map output (a
// header is trusted for nothing it would make the receiver allocate).
const maxMigratedBuckets = 1 << 20

// SetOutputSpill makes map outputs received from decommissioning executors
// go to dirs once larger than maxMem, as task outputs do.
func (s *BlockStore) SetOutputSpill(dirs *spill.Dirs, maxMem int64) {
	s.mu.Lock()
	s.spillDirs, s.spillMax = dirs, maxMem
	s.mu.Unlock()
}

func (s *BlockStore) newReceivedOutput(n int) *mapOutput {
	s.mu.RLock()
	defer s.mu.RUnlock()
	maxMem := s.spillMax
	if maxMem <= 0 {
		maxMem = defaultMemOutput
	}
	return &mapOutput{buckets: make([][]byte, n), n: n, dirs: s.spillDirs, maxMem: maxMem}
}

func (s *BlockStore) mapOutput(shuffle int32, task int64) (*mapOutput, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out, ok := s.shuffle[shuffleKey{shuffle, task}]
	return out, ok
}

// HasMapOutput says whether the store holds a map task's output.
func (s *BlockStore) HasMapOutput(shuffle int32, task int64) bool {
	_, ok := s.mapOutput(shuffle, task)
	return ok
}

// PutMapOutput receives one map output; see the proto for the protocol.
func (s *blockService) PutMapOutput(stream pb.Executor_PutMapOutputServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	n := int(first.NumBuckets)
	switch {
	case first.ShuffleId < 0 || first.MapTaskId < 0:
		return status.Errorf(codes.InvalidArgument, "map output of shuffle %d, map task %d: negative id", first.ShuffleId, first.MapTaskId)
	case n < 1 || n > maxMigratedBuckets:
		return status.Errorf(codes.InvalidArgument, "map output of shuffle %d, map task %d: %d buckets is outside 1..%d", first.ShuffleId, first.MapTaskId, n, maxMigratedBuckets)
	case first.TotalSize < 0:
		return status.Errorf(codes.InvalidArgument, "map output of shuffle %d, map task %d: negative size %d", first.ShuffleId, first.MapTaskId, first.TotalSize)
	}
	out := s.store.newReceivedOutput(n)
	stored := false
	defer func() {
		if !stored {
			out.discard()
		}
	}()
	crc := crc32.New(castagnoli)
	var got int64
	bucket := 0
	take := func(ch *pb.MapOutputChunk) error {
		if len(ch.Data) == 0 {
			return nil
		}
		b := int(ch.Bucket)
		if b < bucket || b >= n {
			return status.Errorf(codes.InvalidArgument, "map output of shuffle %d, map task %d: bucket %d after bucket %d (of %d)", first.ShuffleId, first.MapTaskId, b, bucket, n)
		}
		bucket = b
		got += int64(len(ch.Data))
		if got > first.TotalSize {
			return status.Errorf(codes.InvalidArgument, "map output of shuffle %d, map task %d: more than the %d bytes announced", first.ShuffleId, first.MapTaskId, first.TotalSize)
		}
		crc.Write(ch.Data)
		if err := out.Append(b, ch.Data); err != nil {
			return status.Errorf(codes.ResourceExhausted, "storing map output: %v", err)
		}
		return nil
	}
	if err := take(first); err != nil {
		return err
	}
	for {
		ch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := take(ch); err != nil {
			return err
		}
	}
	if got != first.TotalSize {
		return status.Errorf(codes.InvalidArgument, "map output of shuffle %d, map task %d: ended after %d of %d bytes", first.ShuffleId, first.MapTaskId, got, first.TotalSize)
	}
	if sum := crc.Sum32(); sum != first.Crc32C {
		return status.Errorf(codes.DataLoss, "map output of shuffle %d, map task %d: CRC-32C %08x, header says %08x", first.ShuffleId, first.MapTaskId, sum, first.Crc32C)
	}
	if _, err := out.finish(); err != nil {
		return status.Errorf(codes.ResourceExhausted, "storing map output: %v", err)
	}
	// Stored only now, whole: a stream broken earlier leaves nothing.
	s.store.PutMapOutput(first.ShuffleId, first.MapTaskId, out)
	stored = true
	return stream.SendAndClose(&pb.PutMapOutputResponse{Bytes: got})
}

// PushMapOutput copies one map output of store to the executor at addr and
// returns the bytes it stored.
func (c *BlockClient) PushMapOutput(ctx context.Context, addr string, store *BlockStore, shuffle int32, task int64) (int64, error) {
	out, ok := store.mapOutput(shuffle, task)
	if !ok {
		return 0, fmt.Errorf("map output of shuffle %d, map task %d is not on this executor", shuffle, task)
	}
	// First pass: size and checksum, so the header is complete.
	crc := crc32.New(castagnoli)
	var total int64
	for b := range out.numBuckets() {
		data, err := out.bucket(b)
		if err != nil {
			return 0, err
		}
		crc.Write(data)
		total += int64(len(data))
	}
	cc, err := c.conn(addr)
	if err != nil {
		return 0, err
	}
	stream, err := pb.NewExecutorClient(cc).PutMapOutput(ctx)
	if err != nil {
		return 0, err
	}
	hdr := &pb.MapOutputChunk{ShuffleId: shuffle, MapTaskId: task, NumBuckets: int32(out.numBuckets()), TotalSize: total, Crc32C: crc.Sum32()}
	if err := stream.Send(hdr); err != nil {
		return 0, sendError(stream, err)
	}
	for b := range out.numBuckets() {
		data, err := out.bucket(b)
		if err != nil {
			stream.CloseSend()
			return 0, err
		}
		for off := 0; off < len(data); off += chunkSize {
			end := min(off+chunkSize, len(data))
			if err := stream.Send(&pb.MapOutputChunk{Bucket: int32(b), Data: data[off:end]}); err != nil {
				return 0, sendError(stream, err)
			}
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return 0, err
	}
	if resp.Bytes != total {
		return 0, fmt.Errorf("the target stored %d of %d bytes", resp.Bytes, total)
	}
	return total, nil
}

// sendError is the server's reason for a broken client stream, when it
// gave one.
func sendError(stream pb.Executor_PutMapOutputClient, err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := stream.CloseAndRecv(); rerr != nil {
			return rerr
		}
	}
	return err
}

// Migrate copies the map outputs d names to its targets, spread over them in
// turn; a target that fails once takes nothing more, and an output it did
// not store goes to the next one. It reports every output a target stored.
func Migrate(ctx context.Context, client *BlockClient, store *BlockStore, d *pb.Decommission, perOutput time.Duration) *pb.MigrationReport {
	rep := &pb.MigrationReport{Id: d.Id}
	dead := make([]bool, len(d.Targets))
	next := 0
	for _, o := range d.Outputs {
		stored := false
		for tries := 0; tries < len(d.Targets) && !stored; tries++ {
			k := next % len(d.Targets)
			next++
			if dead[k] {
				continue
			}
			t := d.Targets[k]
			octx, cancel := context.WithTimeout(ctx, perOutput)
			n, err := client.PushMapOutput(octx, t.Address, store, o.ShuffleId, o.MapTaskId)
			cancel()
			if err != nil {
				if !store.HasMapOutput(o.ShuffleId, o.MapTaskId) {
					// Released meanwhile: no job reads it any more.
					tries = len(d.Targets)
				} else {
					dead[k] = true
				}
				if rep.Error == "" {
					rep.Error = fmt.Sprintf("map output of shuffle %d, map task %d to executor %s: %v", o.ShuffleId, o.MapTaskId, t.ExecutorId, err)
				}
				continue
			}
			stored = true
			rep.Moved = append(rep.Moved, &pb.MigratedOutput{ShuffleId: o.ShuffleId, MapTaskId: o.MapTaskId, ExecutorId: t.ExecutorId, Bytes: n})
		}
		if !stored {
			rep.Failed++
		}
	}
	return rep
}
