package executor

import (
	"fmt"

	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// taskEnv is what one running task holds of its executor's memory and disk:
// the environment its keyed operators see, released when the task ends.
type taskEnv struct {
	shuffle *registry.ShuffleEnv
	spilled int64
	m       *pb.TaskMetrics
}

func (env *Env) taskEnv(t *pb.TaskDesc, m *pb.TaskMetrics) *taskEnv {
	te := &taskEnv{m: m}
	te.shuffle = &registry.ShuffleEnv{Spilled: &te.spilled}
	return te
}

func (te *taskEnv) close() {
	te.m.SpilledBytes += te.spilled
}

// mapOutput collects a map task's buckets.
type mapOutput struct {
	buckets [][]byte
}

func (te *taskEnv) newMapOutput(n int) *mapOutput { return &mapOutput{buckets: make([][]byte, n)} }

func (o *mapOutput) Append(bucket int, frames []byte) error {
	if bucket < 0 || bucket >= len(o.buckets) {
		return fmt.Errorf("bucket %d outside 0..%d", bucket, len(o.buckets)-1)
	}
	o.buckets[bucket] = append(o.buckets[bucket], frames...)
	return nil
}

func (o *mapOutput) discard() { o.buckets = nil }

// finish closes the output and returns each bucket's size.
func (o *mapOutput) finish() ([]int64, error) {
	sizes := make([]int64, len(o.buckets))
	for i, b := range o.buckets {
		sizes[i] = int64(len(b))
	}
	return sizes, nil
}
