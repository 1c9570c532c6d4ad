package executor

import (
	"container/list"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sync"

	"github.com/stoke-run/stoke/internal/memory"
	"github.com/stoke-run/stoke/internal/plan"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/spill"
)

// RDDBlockName names one cached partition of a persisted dataset.
func RDDBlockName(node, partition int32) string { return fmt.Sprintf("rdd_%d_%d", node, partition) }

type rddKey struct{ node, part int32 }

// cachedBlock is one cached partition, encoded: in memory (data), on disk
// (path), or both while a MemoryAndDisk block is being read back.
type cachedBlock struct {
	typ   string // element type name
	level int32
	size  int64         // storage memory it takes: len(data) + blockOverhead
	data  []byte        // the encoded records while in memory
	path  string        // "" when not on disk
	elem  *list.Element // position in the LRU list; nil when not in memory
}

// blockOverhead is the storage memory charged per block besides its bytes
// (its bookkeeping), so that even an empty partition has a size.
const blockOverhead = 64

// blockCache holds an executor's cached partitions. Memory blocks are
// charged to the executor's memory manager as storage memory and evicted in
// least-recently-used order through its evictor: a MemoryAndDisk block goes
// to disk, a MemoryOnly block is dropped. Without a manager memory is
// unbounded.
//
// Lock order: the manager's lock (held while it calls evict) before c.mu;
// so c.mu is never held while calling the manager.
type blockCache struct {
	mu      sync.Mutex
	blocks  map[rddKey]*cachedBlock
	lru     *list.List // of rddKey, least recently used first
	mem     *memory.Manager
	dirs    *spill.Dirs
	ownDirs bool // dirs were created here (no spill dirs were given)
	updates []*pb.BlockUpdate
}

func newBlockCache() *blockCache {
	return &blockCache{blocks: map[rddKey]*cachedBlock{}, lru: list.New()}
}

// bind attaches the executor's memory manager and spill directories the
// first time a task brings them (nil: unbounded memory, a private temporary
// directory for disk blocks).
func (c *blockCache) bind(mem *memory.Manager, dirs *spill.Dirs) {
	c.mu.Lock()
	if dirs != nil && c.dirs == nil {
		c.dirs = dirs
	}
	bindMem := mem != nil && c.mem != mem
	if bindMem {
		c.mem = mem
	}
	c.mu.Unlock()
	if bindMem {
		mem.SetEvictor(c.evict)
	}
}

// diskDirsLocked returns where disk blocks go, creating a private
// temporary directory when the executor has no spill directories.
func (c *blockCache) diskDirsLocked() (*spill.Dirs, error) {
	if c.dirs == nil {
		d, err := spill.NewDirs(nil, "blocks")
		if err != nil {
			return nil, err
		}
		c.dirs, c.ownDirs = d, true
	}
	return c.dirs, nil
}

// diskMagic starts a disk block: magic, CRC-32C of the data, data length.
var diskMagic = [4]byte{'S', 'T', 'K', 'B'}

const diskHeader = 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (c *blockCache) writeDiskLocked(k rddKey, data []byte) (string, error) {
	dirs, err := c.diskDirsLocked()
	if err != nil {
		return "", err
	}
	f, err := dirs.Create(RDDBlockName(k.node, k.part))
	if err != nil {
		return "", err
	}
	var h [diskHeader]byte
	copy(h[:4], diskMagic[:])
	binary.LittleEndian.PutUint32(h[4:8], crc32.Checksum(data, castagnoli))
	binary.LittleEndian.PutUint64(h[8:16], uint64(len(data)))
	_, err = f.Write(h[:])
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing cached block %s to disk: %w", RDDBlockName(k.node, k.part), err)
	}
	return f.Name(), nil
}

// readDiskBlock reads a block file written by writeDiskLocked and checks
// its header and checksum.
func readDiskBlock(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < diskHeader || [4]byte(b[:4]) != diskMagic {
		return nil, fmt.Errorf("cached block file %s is not a block (bad header)", path)
	}
	n := binary.LittleEndian.Uint64(b[8:16])
	data := b[diskHeader:]
	if uint64(len(data)) != n {
		return nil, fmt.Errorf("cached block file %s holds %d bytes, its header says %d (truncated?)", path, len(data), n)
	}
	if crc32.Checksum(data, castagnoli) != binary.LittleEndian.Uint32(b[4:8]) {
		return nil, fmt.Errorf("cached block file %s is damaged (checksum mismatch)", path)
	}
	return data, nil
}

func (c *blockCache) noteLocked(k rddKey, b *cachedBlock) {
	u := &pb.BlockUpdate{Node: k.node, Partition: k.part}
	if b != nil {
		if b.elem != nil {
			u.MemSize = b.size
		}
		if b.path != "" {
			u.DiskSize = b.diskSize()
		}
	}
	c.updates = append(c.updates, u)
}

// put caches a partition's encoded block at level. A block that fits
// neither in storage memory nor (for MemoryAndDisk) on disk is not cached.
// It reports whether the block is now held.
func (c *blockCache) put(k rddKey, typ string, level int32, data []byte) bool {
	c.mu.Lock()
	_, dup := c.blocks[k]
	mem := c.mem
	c.mu.Unlock()
	if dup {
		return true
	}
	size := int64(len(data)) + blockOverhead
	inMemory := level == plan.MemoryOnly || level == plan.MemoryAndDisk
	if inMemory && mem != nil && !mem.AcquireStorage(size) {
		if level == plan.MemoryOnly {
			return false // does not fit: the task still succeeds
		}
		inMemory = false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.blocks[k]; dup {
		if inMemory && mem != nil {
			// Released after c.mu, keeping the lock order.
			defer mem.ReleaseStorage(size)
		}
		return true
	}
	b := &cachedBlock{typ: typ, level: level, size: size}
	if inMemory {
		b.data = data
		b.elem = c.lru.PushBack(k)
	} else {
		path, err := c.writeDiskLocked(k, data)
		if err != nil {
			return false
		}
		b.path = path
	}
	c.blocks[k] = b
	c.noteLocked(k, b)
	return true
}

// get returns a cached block and its element type. A disk block that
// cannot be read is dropped (the caller recomputes the partition).
func (c *blockCache) get(k rddKey) (data []byte, typ string, ok bool) {
	c.mu.Lock()
	b := c.blocks[k]
	if b == nil {
		c.mu.Unlock()
		return nil, "", false
	}
	if b.elem != nil {
		c.lru.MoveToBack(b.elem)
		data, typ = b.data, b.typ
		c.mu.Unlock()
		return data, typ, true
	}
	path, typ := b.path, b.typ
	c.mu.Unlock()
	data, err := readDiskBlock(path)
	if err != nil {
		c.mu.Lock()
		if c.blocks[k] == b {
			delete(c.blocks, k)
			os.Remove(b.path)
			c.noteLocked(k, nil)
		}
		c.mu.Unlock()
		return nil, "", false
	}
	return data, typ, true
}

// evict is the memory manager's evictor: it frees at least need bytes of
// storage memory, least recently used blocks first, and returns how much
// it freed. It runs under the manager's lock and never calls it.
func (c *blockCache) evict(need int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var freed int64
	for e := c.lru.Front(); e != nil && freed < need; {
		next := e.Next()
		k := e.Value.(rddKey)
		b := c.blocks[k]
		c.lru.Remove(e)
		e = next
		if b.level == plan.MemoryAndDisk && b.path == "" {
			if path, err := c.writeDiskLocked(k, b.data); err == nil {
				b.path = path
			}
		}
		b.data, b.elem = nil, nil
		freed += b.size
		if b.path == "" {
			delete(c.blocks, k)
			c.noteLocked(k, nil)
		} else {
			c.noteLocked(k, b)
		}
	}
	return freed
}

// release drops every block of the given datasets.
func (c *blockCache) release(nodes []int32) {
	drop := map[int32]bool{}
	for _, n := range nodes {
		drop[n] = true
	}
	var freed int64
	c.mu.Lock()
	mem := c.mem
	for k, b := range c.blocks {
		if !drop[k.node] {
			continue
		}
		if b.elem != nil {
			freed += b.size
			c.lru.Remove(b.elem)
		}
		if b.path != "" {
			os.Remove(b.path)
		}
		delete(c.blocks, k)
		c.noteLocked(k, nil)
	}
	c.mu.Unlock()
	if mem != nil {
		mem.ReleaseStorage(freed)
	}
}

// takeUpdates returns the block changes since the last call.
func (c *blockCache) takeUpdates() []*pb.BlockUpdate {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.updates
	c.updates = nil
	return u
}

// close removes the disk blocks and the directory created for them.
func (c *blockCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for k, b := range c.blocks {
		if b.path != "" {
			if err := os.Remove(b.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		delete(c.blocks, k)
	}
	c.lru.Init()
	if c.ownDirs {
		errs = append(errs, c.dirs.Remove())
		c.dirs, c.ownDirs = nil, false
	}
	return errors.Join(errs...)
}

// sizes reports the bytes of cached blocks in memory and on disk.
func (c *blockCache) sizes() (mem, disk int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.blocks {
		if b.elem != nil {
			mem += b.size
		}
		if b.path != "" {
			disk += b.diskSize()
		}
	}
	return mem, disk
}

// release1 drops one block (it could not be decoded).
func (c *blockCache) release1(k rddKey) {
	c.mu.Lock()
	b := c.blocks[k]
	mem := c.mem
	var freed int64
	if b != nil {
		if b.elem != nil {
			freed = b.size
			c.lru.Remove(b.elem)
		}
		if b.path != "" {
			os.Remove(b.path)
		}
		delete(c.blocks, k)
		c.noteLocked(k, nil)
	}
	c.mu.Unlock()
	if mem != nil {
		mem.ReleaseStorage(freed)
	}
}

func (b *cachedBlock) diskSize() int64 { return b.size - blockOverhead + diskHeader }
