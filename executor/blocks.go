package executor

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/spill"
)

// BlockStore keeps an executor's shuffle buckets and stored task results in
// memory until the driver releases them, and its cached partitions of
// persisted datasets (see cache.go).
type BlockStore struct {
	mu      sync.RWMutex
	shuffle map[shuffleKey]*mapOutput // (shuffle, map task) -> its buckets
	results map[int64][]byte
	cache   *blockCache
	// Where map outputs received from decommissioning executors spill
	// (SetOutputSpill).
	spillDirs *spill.Dirs
	spillMax  int64
}

type shuffleKey struct {
	shuffle int32
	task    int64
}

func NewBlockStore() *BlockStore {
	return &BlockStore{shuffle: map[shuffleKey]*mapOutput{}, results: map[int64][]byte{}, cache: newBlockCache()}
}

// ShuffleBlockName names one reduce bucket of one map task's output.
func ShuffleBlockName(shuffle int32, mapTask int64, reduce int32) string {
	return fmt.Sprintf("shuffle_%d_%d_%d", shuffle, mapTask, reduce)
}

// ResultBlockName names a task result kept on the executor.
func ResultBlockName(task int64) string { return fmt.Sprintf("result_%d", task) }

// PutShuffle keeps a map task's buckets, held in memory.
func (s *BlockStore) PutShuffle(shuffle int32, mapTask int64, buckets [][]byte) {
	s.PutMapOutput(shuffle, mapTask, &mapOutput{buckets: buckets, n: len(buckets)})
}

// PutMapOutput keeps a map task's finished output.
func (s *BlockStore) PutMapOutput(shuffle int32, mapTask int64, out *mapOutput) {
	s.mu.Lock()
	old := s.shuffle[shuffleKey{shuffle, mapTask}]
	s.shuffle[shuffleKey{shuffle, mapTask}] = out
	s.mu.Unlock()
	if old != nil {
		old.discard()
	}
}

func (s *BlockStore) PutResult(task int64, data []byte) string {
	s.mu.Lock()
	s.results[task] = data
	s.mu.Unlock()
	return ResultBlockName(task)
}

// Get returns a block by name; results are removed once read.
func (s *BlockStore) Get(name string) ([]byte, error) {
	parts := strings.Split(name, "_")
	switch {
	case len(parts) == 4 && parts[0] == "shuffle":
		sh, err1 := strconv.ParseInt(parts[1], 10, 32)
		task, err2 := strconv.ParseInt(parts[2], 10, 64)
		red, err3 := strconv.ParseInt(parts[3], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			break
		}
		s.mu.RLock()
		out, ok := s.shuffle[shuffleKey{int32(sh), task}]
		s.mu.RUnlock()
		if !ok || red < 0 || int(red) >= out.numBuckets() {
			return nil, fmt.Errorf("block %s is not on this executor", name)
		}
		return out.bucket(int(red))
	case len(parts) == 2 && parts[0] == "result":
		task, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			break
		}
		s.mu.Lock()
		data, ok := s.results[task]
		delete(s.results, task)
		s.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("block %s is not on this executor", name)
		}
		return data, nil
	}
	return nil, fmt.Errorf("malformed block name %q", name)
}

// ReleaseShuffle drops every bucket of a shuffle.
func (s *BlockStore) ReleaseShuffle(shuffle int32) {
	var gone []*mapOutput
	s.mu.Lock()
	for k, out := range s.shuffle {
		if k.shuffle == shuffle {
			gone = append(gone, out)
			delete(s.shuffle, k)
		}
	}
	s.mu.Unlock()
	for _, out := range gone {
		out.discard()
	}
}

// Bytes reports how much the store holds.
func (s *BlockStore) Bytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for _, out := range s.shuffle {
		n += out.memBytes()
	}
	for _, r := range s.results {
		n += int64(len(r))
	}
	return n
}

// ReleaseCached drops every cached partition of the given datasets (plan
// node ids), from memory and disk.
func (s *BlockStore) ReleaseCached(nodes []int32) { s.cache.release(nodes) }

// TakeBlockUpdates returns the cached blocks stored, moved to disk or
// dropped since the last call, for the driver.
func (s *BlockStore) TakeBlockUpdates() []*pb.BlockUpdate { return s.cache.takeUpdates() }

// CachedBytes reports the bytes of cached partitions in memory and on disk.
func (s *BlockStore) CachedBytes() (memory, disk int64) { return s.cache.sizes() }

// Close removes the cached partitions written to disk.
func (s *BlockStore) Close() error { return s.cache.close() }
