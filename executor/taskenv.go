package executor

import (
	"bufio"
	"fmt"
	"os"

	"github.com/stoke-run/stoke/internal/memory"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/shuffle"
	"github.com/stoke-run/stoke/internal/spill"
)

// taskEnv is what one running task holds of its executor's memory and disk:
// the environment its keyed operators see, released when the task ends.
type taskEnv struct {
	shuffle      *registry.ShuffleEnv
	spilled      int64
	held, peak   int64
	m            *pb.TaskMetrics
	task         int64
	mem          *memory.Manager
	dirs         *spill.Dirs
	runs         []registry.SpillRun
	maxMemOutput int64
}

// defaultMemOutput bounds the map output a task keeps in memory when the
// executor has no memory manager to size it from.
const defaultMemOutput = 8 << 20

func (env *Env) taskEnv(t *pb.TaskDesc, m *pb.TaskMetrics) *taskEnv {
	te := &taskEnv{m: m, task: t.TaskId, mem: env.Memory, dirs: env.Spill, maxMemOutput: defaultMemOutput}
	te.shuffle = &registry.ShuffleEnv{Spilled: &te.spilled}
	if te.mem != nil {
		te.shuffle.Acquire = te.acquire
		te.shuffle.Release = te.release
		// A map output beyond a slice of execution memory goes to disk.
		te.maxMemOutput = max(1<<20, min(defaultMemOutput, te.mem.Stats().Unified/16))
	}
	if te.dirs != nil {
		te.shuffle.Spill = &taskSpiller{te: te, disk: &shuffle.DiskSpiller{Dirs: te.dirs, Comp: env.SpillCompression}}
	}
	return te
}

func (te *taskEnv) acquire(want int64) int64 {
	if want <= 0 {
		return 0
	}
	got := te.mem.AcquireExecution(te.task, want)
	te.held += got
	te.peak = max(te.peak, te.held)
	return got
}

func (te *taskEnv) release(n int64) {
	n = min(n, te.held)
	if n <= 0 {
		return
	}
	te.held -= n
	te.mem.ReleaseExecution(te.task, n)
}

// close gives back whatever the task still holds (memory its operators did
// not release, spill runs of iterators never finished).
func (te *taskEnv) close() {
	te.m.SpilledBytes += te.spilled
	te.m.PeakExecutionMemory = max(te.m.PeakExecutionMemory, te.peak)
	if te.mem != nil {
		te.mem.ReleaseAllExecution(te.task)
		te.held = 0
	}
	for _, r := range te.runs {
		r.Remove()
	}
	te.runs = nil
}

// taskSpiller remembers the task's runs so that close removes them.
type taskSpiller struct {
	te   *taskEnv
	disk *shuffle.DiskSpiller
}

func (s *taskSpiller) Create() (registry.SpillWriter, error) {
	w, err := s.disk.Create()
	if err != nil {
		return nil, err
	}
	return &taskSpillWriter{SpillWriter: w, te: s.te}, nil
}

type taskSpillWriter struct {
	registry.SpillWriter
	te *taskEnv
}

func (w *taskSpillWriter) Close() (registry.SpillRun, error) {
	r, err := w.SpillWriter.Close()
	if err == nil {
		w.te.runs = append(w.te.runs, r)
	}
	return r, err
}

// mapOutput is a map task's output: its buckets in memory while small,
// else a file in the executor's spill directories with an index of where
// each bucket's frames lie.
type mapOutput struct {
	buckets [][]byte // in memory; nil once on disk
	n       int
	mem     int64

	// On disk: frames appended in any order of buckets.
	file     *os.File
	w        *bufio.Writer
	off      int64
	segments [][]segment // per bucket
	sizes    []int64
	dirs     *spill.Dirs
	maxMem   int64
}

type segment struct{ off, n int64 }

func (te *taskEnv) newMapOutput(n int) *mapOutput {
	return &mapOutput{buckets: make([][]byte, n), n: n, dirs: te.dirs, maxMem: te.maxMemOutput}
}

func (o *mapOutput) Append(bucket int, frames []byte) error {
	if bucket < 0 || bucket >= o.n {
		return fmt.Errorf("bucket %d outside 0..%d", bucket, o.n-1)
	}
	if o.file == nil {
		if o.dirs == nil || o.mem+int64(len(frames)) <= o.maxMem {
			o.buckets[bucket] = append(o.buckets[bucket], frames...)
			o.mem += int64(len(frames))
			return nil
		}
		if err := o.toDisk(); err != nil {
			return err
		}
	}
	return o.appendDisk(bucket, frames)
}

// toDisk moves what is held in memory into a new file.
func (o *mapOutput) toDisk() error {
	f, err := o.dirs.Create("shuffle")
	if err != nil {
		return err
	}
	o.file, o.w = f, bufio.NewWriterSize(f, 256<<10)
	o.segments, o.sizes = make([][]segment, o.n), make([]int64, o.n)
	held := o.buckets
	o.buckets, o.mem = nil, 0
	for b, data := range held {
		if len(data) > 0 {
			if err := o.appendDisk(b, data); err != nil {
				return err
			}
		}
	}
	return nil
}

func (o *mapOutput) appendDisk(bucket int, frames []byte) error {
	if _, err := o.w.Write(frames); err != nil {
		return fmt.Errorf("writing shuffle output: %w", err)
	}
	segs := o.segments[bucket]
	if k := len(segs) - 1; k >= 0 && segs[k].off+segs[k].n == o.off {
		segs[k].n += int64(len(frames))
	} else {
		o.segments[bucket] = append(segs, segment{o.off, int64(len(frames))})
	}
	o.off += int64(len(frames))
	o.sizes[bucket] += int64(len(frames))
	return nil
}

// finish closes the output and returns each bucket's size.
func (o *mapOutput) finish() ([]int64, error) {
	if o.file != nil {
		if err := o.w.Flush(); err != nil {
			o.discard()
			return nil, fmt.Errorf("writing shuffle output: %w", err)
		}
		return o.sizes, nil
	}
	sizes := make([]int64, len(o.buckets))
	for i, b := range o.buckets {
		sizes[i] = int64(len(b))
	}
	return sizes, nil
}

func (o *mapOutput) numBuckets() int { return o.n }

// bucket reads one bucket.
func (o *mapOutput) bucket(b int) ([]byte, error) {
	if o.file == nil {
		if o.buckets == nil {
			return nil, fmt.Errorf("shuffle output was released")
		}
		return o.buckets[b], nil
	}
	out := make([]byte, 0, o.sizes[b])
	for _, s := range o.segments[b] {
		chunk := out[len(out) : len(out)+int(s.n)]
		if _, err := o.file.ReadAt(chunk, s.off); err != nil {
			return nil, fmt.Errorf("reading shuffle output %s: %w", o.file.Name(), err)
		}
		out = out[:len(out)+int(s.n)]
	}
	return out, nil
}

func (o *mapOutput) memBytes() int64 { return o.mem }

// discard frees the output (its file too).
func (o *mapOutput) discard() {
	o.buckets = nil
	if o.file != nil {
		o.file.Close()
		os.Remove(o.file.Name())
	}
}
