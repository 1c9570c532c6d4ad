package executor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime/debug"
	"strings"
	"time"

	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Env is what a running task may use of its executor.
type Env struct {
	ExecutorID string
	Blocks     *BlockStore
	// Fetch reads one reduce bucket of one map output, local or remote.
	Fetch func(ctx context.Context, out *pb.MapOutput, block string) ([]byte, error)
	// CanCommit asks the driver whether this attempt may commit its output.
	CanCommit func(ctx context.Context, req *pb.CommitRequest) (bool, error)
	// MaxDirectResult is the largest result sent inline; larger ones are
	// stored and fetched by the driver.
	MaxDirectResult int
}

// FetchError is a shuffle input that could not be read.
type FetchError struct {
	Shuffle      int32
	MapPartition int32
	ExecutorID   string
	Err          error
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("fetching shuffle %d map output %d from executor %s: %v", e.Shuffle, e.MapPartition, e.ExecutorID, e.Err)
}

// errKilled is returned when the task's context was cancelled.
var errKilled = errors.New("task killed")

// ErrCommitDenied is returned when another attempt committed first.
var ErrCommitDenied = errors.New("commit denied: another attempt of this partition committed its output")

// Run executes one task and reports its final status. It never panics: a
// panic in user code becomes a failed task with the panic's message.
func Run(ctx context.Context, env *Env, t *pb.TaskDesc) *pb.TaskStatus {
	start := time.Now()
	st := &pb.TaskStatus{TaskId: t.TaskId}
	m := &pb.TaskMetrics{}
	res, err := runSafely(ctx, env, t, m)
	m.DurationNs = int64(time.Since(start))
	st.Metrics = m
	var fe *FetchError
	switch {
	case err == nil:
		st.State = pb.TaskState_SUCCEEDED
		st.Result = res
	case errors.As(err, &fe):
		st.State = pb.TaskState_FETCH_FAILED
		st.Error = err.Error()
		st.FetchFailure = &pb.FetchFailure{ShuffleId: fe.Shuffle, MapPartition: fe.MapPartition, ExecutorId: fe.ExecutorID, Message: fe.Err.Error()}
	case errors.Is(err, errKilled), ctx.Err() != nil:
		st.State = pb.TaskState_KILLED
		st.Error = "killed"
	case errors.Is(err, ErrCommitDenied):
		st.State = pb.TaskState_KILLED
		st.Error = err.Error()
	default:
		st.State = pb.TaskState_FAILED
		st.Error = err.Error()
	}
	return st
}

func runSafely(ctx context.Context, env *Env, t *pb.TaskDesc, m *pb.TaskMetrics) (res *pb.TaskResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			if se, ok := r.(sourceError); ok {
				res, err = nil, se.err
				return
			}
			err = fmt.Errorf("panic: %v\n%s", r, trimStack(debug.Stack()))
		}
	}()
	records, err := openSource(ctx, env, t, m)
	if err != nil {
		return nil, err
	}
	for _, name := range t.Ops {
		f, err := registry.LookupFunc(name)
		if err != nil {
			return nil, err
		}
		if f.Apply == nil {
			return nil, fmt.Errorf("function %q is a %s function and cannot transform records", name, f.Kind)
		}
		records = f.Apply(records)
	}
	return runSink(ctx, env, t, counting(ctx, records, &m.RecordsOut), m)
}

// counting counts records and stops early when the task is killed.
func counting(ctx context.Context, in iter.Seq[any], n *int64) iter.Seq[any] {
	return func(yield func(any) bool) {
		for r := range in {
			*n++
			if *n&1023 == 0 && ctx.Err() != nil {
				return
			}
			if !yield(r) {
				return
			}
		}
	}
}

func openSource(ctx context.Context, env *Env, t *pb.TaskDesc, m *pb.TaskMetrics) (iter.Seq[any], error) {
	src := t.Source
	if src == nil {
		return nil, errors.New("task has no source")
	}
	switch k := src.Kind.(type) {
	case *pb.Source_Parallelize:
		typ, err := registry.LookupType(src.Type)
		if err != nil {
			return nil, err
		}
		recs, err := typ.Decode(k.Parallelize)
		if err != nil {
			return nil, err
		}
		m.RecordsIn = int64(len(recs))
		return sliceSeq(recs), nil
	case *pb.Source_Text:
		return textLines(ctx, k.Text, &m.RecordsIn), nil
	case *pb.Source_Shuffle:
		op, err := registry.LookupShuffle(k.Shuffle.Op)
		if err != nil {
			return nil, err
		}
		sides := make([][][]byte, len(k.Shuffle.Sides))
		for i, side := range k.Shuffle.Sides {
			for _, out := range side.Outputs {
				if out.Size == 0 {
					continue
				}
				if out.Size < 0 {
					return nil, &FetchError{Shuffle: side.ShuffleId, MapPartition: out.MapPartition, ExecutorID: out.ExecutorId, Err: errors.New("map output is lost")}
				}
				name := ShuffleBlockName(side.ShuffleId, out.TaskId, k.Shuffle.ReducePartition)
				data, err := env.Fetch(ctx, out, name)
				if err != nil {
					if ctx.Err() != nil {
						return nil, errKilled
					}
					return nil, &FetchError{Shuffle: side.ShuffleId, MapPartition: out.MapPartition, ExecutorID: out.ExecutorId, Err: err}
				}
				m.ShuffleReadBytes += int64(len(data))
				sides[i] = append(sides[i], data)
			}
		}
		return op.Read(sides)
	default:
		return nil, fmt.Errorf("unknown source kind %T", k)
	}
}

func sliceSeq(recs []any) iter.Seq[any] {
	return func(yield func(any) bool) {
		for _, r := range recs {
			if !yield(r) {
				return
			}
		}
	}
}

// textLines reads the lines whose first byte lies in the split: a split that
// does not start at 0 skips the line it starts inside (its previous split
// owns it), and the last line may run past the split's end.
func textLines(ctx context.Context, sp *pb.TextSplit, n *int64) iter.Seq[any] {
	return func(yield func(any) bool) {
		err := readLines(sp, func(line string) bool {
			*n++
			return yield(line)
		})
		if err != nil {
			panic(sourceError{fmt.Errorf("reading input file %s: %w", sp.Path, err)})
		}
	}
}

// sourceError stops a task whose input cannot be read. A record iterator
// cannot return an error, so it panics with this value and runSafely turns
// it back into the task's error, without a stack (it is not a bug).
type sourceError struct{ err error }

func readLines(sp *pb.TextSplit, fn func(string) bool) error {
	fsys, err := fsx.For(sp.Path)
	if err != nil {
		return err
	}
	f, err := fsys.Open(sp.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	if codec := fsx.CodecForPath(sp.Path); codec != "" {
		return readCompressedLines(codec, sp, f, fn)
	}
	pos := sp.Start
	if pos > 0 {
		pos--
	}
	if _, err := f.Seek(pos, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	if sp.Start > 0 {
		skipped, err := r.ReadString('\n')
		pos += int64(len(skipped))
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
	end := sp.Start + sp.Length
	for pos < end {
		line, err := r.ReadString('\n')
		if len(line) > 0 {
			pos += int64(len(line))
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			if !fn(line) {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}

func runSink(ctx context.Context, env *Env, t *pb.TaskDesc, records iter.Seq[any], m *pb.TaskMetrics) (*pb.TaskResult, error) {
	sink := t.Sink
	if sink == nil {
		return nil, errors.New("task has no sink")
	}
	switch k := sink.Kind.(type) {
	case *pb.Sink_Count:
		var c int64
		for range records {
			c++
		}
		if ctx.Err() != nil {
			return nil, errKilled
		}
		return &pb.TaskResult{Count: c}, nil
	case *pb.Sink_Collect:
		typ, err := registry.LookupType(k.Collect)
		if err != nil {
			return nil, err
		}
		var recs []any
		for r := range records {
			recs = append(recs, r)
		}
		if ctx.Err() != nil {
			return nil, errKilled
		}
		data, err := typ.Encode(recs)
		if err != nil {
			return nil, err
		}
		return result(env, t, data), nil
	case *pb.Sink_Reduce:
		f, err := registry.LookupFunc(k.Reduce)
		if err != nil {
			return nil, err
		}
		if f.Combine == nil {
			return nil, fmt.Errorf("function %q is a %s function, not a reduce function", k.Reduce, f.Kind)
		}
		var acc any
		have := false
		for r := range records {
			if !have {
				acc, have = r, true
			} else {
				acc = f.Combine(acc, r)
			}
		}
		if ctx.Err() != nil {
			return nil, errKilled
		}
		if !have {
			return &pb.TaskResult{Empty: true}, nil
		}
		typ, err := registry.LookupType(f.In)
		if err != nil {
			return nil, err
		}
		data, err := typ.Encode([]any{acc})
		if err != nil {
			return nil, err
		}
		return result(env, t, data), nil
	case *pb.Sink_Foreach:
		f, err := registry.LookupFunc(k.Foreach)
		if err != nil {
			return nil, err
		}
		if f.Each == nil {
			return nil, fmt.Errorf("function %q is a %s function, not a foreach function", k.Foreach, f.Kind)
		}
		for r := range records {
			f.Each(r)
		}
		if ctx.Err() != nil {
			return nil, errKilled
		}
		return &pb.TaskResult{}, nil
	case *pb.Sink_Shuffle:
		op, err := registry.LookupShuffle(k.Shuffle.Op)
		if err != nil {
			return nil, err
		}
		buckets, _, err := op.Write(int(k.Shuffle.Side), records, int(k.Shuffle.NumPartitions))
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, errKilled
		}
		sizes := make([]int64, len(buckets))
		for i, b := range buckets {
			sizes[i] = int64(len(b))
			m.ShuffleWriteBytes += int64(len(b))
		}
		env.Blocks.PutShuffle(k.Shuffle.ShuffleId, t.TaskId, buckets)
		return &pb.TaskResult{BucketSizes: sizes}, nil
	case *pb.Sink_SaveText:
		return saveText(ctx, env, t, k.SaveText, records)
	default:
		return nil, fmt.Errorf("unknown sink kind %T", k)
	}
}

func result(env *Env, t *pb.TaskDesc, data []byte) *pb.TaskResult {
	if env.MaxDirectResult > 0 && len(data) > env.MaxDirectResult {
		return &pb.TaskResult{StoredBlock: env.Blocks.PutResult(t.TaskId, data), Size: int64(len(data))}
	}
	return &pb.TaskResult{Value: data, Size: int64(len(data))}
}

// saveText writes the partition to a temporary file, asks the driver for the
// right to commit, and renames it into place: only one attempt per
// partition commits, whatever speculation or retries ran.
func saveText(ctx context.Context, env *Env, t *pb.TaskDesc, st *pb.SaveText, records iter.Seq[any]) (*pb.TaskResult, error) {
	fsys, err := fsx.For(st.Dir)
	if err != nil {
		return nil, err
	}
	codec, err := fsx.ParseCodec(st.Codec)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	if !validJobToken(st.JobToken) {
		return nil, fmt.Errorf("invalid output job token %q (it names a directory: letters, digits, '.', '_' and '-' only)", st.JobToken)
	}
	if _, err := fsys.Stat(st.Dir); err != nil {
		// The job ended and its output was removed: do not recreate it.
		return nil, fmt.Errorf("output directory: %w", err)
	}
	tmpDir := fsys.Join(st.Dir, "_temporary", st.JobToken, fmt.Sprintf("task_%d", t.TaskId))
	if err := fsys.MkdirAll(tmpDir); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("part-%05d", t.Partition) + fsx.CodecExt(codec)
	tmp := fsys.Join(tmpDir, name)
	f, err := fsys.Create(tmp)
	if err != nil {
		return nil, err
	}
	size, err := writeLines(f, codec, records)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		fsys.RemoveAll(tmpDir)
		return nil, errKilled
	}
	ok, err := env.CanCommit(ctx, &pb.CommitRequest{StageId: t.StageId, StageAttempt: t.StageAttempt, Partition: t.Partition, TaskId: t.TaskId})
	if err != nil {
		fsys.RemoveAll(tmpDir)
		return nil, fmt.Errorf("asking to commit: %w", err)
	}
	if !ok {
		fsys.RemoveAll(tmpDir)
		return nil, ErrCommitDenied
	}
	if err := fsys.Rename(tmp, fsys.Join(st.Dir, name)); err != nil {
		return nil, err
	}
	fsys.RemoveAll(tmpDir)
	return &pb.TaskResult{Size: size}, nil
}

func trimStack(s []byte) string {
	lines := strings.Split(string(s), "\n")
	if len(lines) > 24 {
		lines = lines[:24]
	}
	return strings.Join(lines, "\n")
}

// validJobToken: a SaveText job token becomes a directory name under
// _temporary, so it may not hold separators or be "." or "..".
func validJobToken(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
