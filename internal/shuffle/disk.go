package shuffle

import (
	"errors"
	"io"
	"iter"

	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/spill"
)

// DiskSpiller writes spill runs into an executor's spill directories,
// compressed as configured. Each frame an operator writes is one batch of
// the run file.
type DiskSpiller struct {
	Dirs *spill.Dirs
	Comp spill.Compression
}

// frameCodec stores frames (already encoded batches) as they are.
var frameCodec = spill.BatchCodec[byte]{
	Append: func(dst []byte, recs []byte) ([]byte, error) { return append(dst, recs...), nil },
	Decode: func(data []byte, dst []byte) ([]byte, error) { return append(dst, data...), nil },
}

// Create starts a run.
func (d *DiskSpiller) Create() (registry.SpillWriter, error) {
	w, err := spill.NewRunWriter(d.Dirs, d.Comp, frameCodec)
	if err != nil {
		return nil, err
	}
	return &diskWriter{w: w}, nil
}

type diskWriter struct{ w *spill.RunWriter[byte] }

func (w *diskWriter) Write(frame []byte) error {
	if len(frame) == 0 {
		return nil
	}
	return w.w.Write(frame)
}

func (w *diskWriter) Close() (registry.SpillRun, error) {
	run, err := w.w.Close()
	if err != nil {
		w.w.Abort()
		return nil, err
	}
	return &diskRun{run: run}, nil
}

type diskRun struct{ run *spill.Run }

func (r *diskRun) Bytes() int64  { return r.run.Bytes }
func (r *diskRun) Remove() error { return r.run.Remove() }

// Frames yields the run's frames in order; each is valid until the next.
func (r *diskRun) Frames() iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		rd, err := spill.OpenRun(r.run, frameCodec)
		if err != nil {
			yield(nil, err)
			return
		}
		defer rd.Close()
		for {
			frame, err := rd.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(frame, nil) {
				return
			}
		}
	}
}
