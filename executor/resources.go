package executor

import (
	"fmt"
	"os"

	"github.com/stoke-run/stoke/internal/memory"
	"github.com/stoke-run/stoke/internal/spill"
)

// Resources are an executor's memory manager and local disk.
type Resources struct {
	Memory      *memory.Manager
	Spill       *spill.Dirs
	Compression spill.Compression
}

// NewResources reads the memory and spill settings (stoke.memory.*,
// stoke.local.dir unless the cluster manager gave scratch directories, stoke.shuffle.spill.compress, stoke.io.compression.codec)
// for an executor of memBytes bytes.
func NewResources(get func(key string) (string, bool), executorID string, memBytes int64) (*Resources, error) {
	mc, err := memory.ConfigFrom(get, memBytes)
	if err != nil {
		return nil, err
	}
	comp, err := spill.CompressionFrom(get)
	if err != nil {
		return nil, err
	}
	dirs, err := spill.DirsFrom(get, os.Getenv, executorID)
	if err != nil {
		return nil, err
	}
	return &Resources{Memory: memory.New(mc), Spill: dirs, Compression: comp}, nil
}

// Apply gives env the resources.
func (r *Resources) Apply(env *Env) {
	env.Memory, env.Spill, env.SpillCompression = r.Memory, r.Spill, r.Compression
}

// Close removes the spill directories.
func (r *Resources) Close() error {
	if r == nil || r.Spill == nil {
		return nil
	}
	if err := r.Spill.Remove(); err != nil {
		return fmt.Errorf("removing spill directories: %w", err)
	}
	return nil
}
