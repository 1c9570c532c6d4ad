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
	"github.com/stoke-run/stoke/internal/memory"
	"github.com/stoke-run/stoke/internal/plan"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/shared"
	"github.com/stoke-run/stoke/internal/shufflesvc"
	"github.com/stoke-run/stoke/internal/spill"
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
	// Memory divides the executor's memory between execution and storage
	// (nil: unbounded, nothing spills).
	Memory *memory.Manager
	// Spill holds the executor's spill files and on-disk shuffle output
	// (nil: everything stays in memory).
	Spill            *spill.Dirs
	SpillCompression spill.Compression
	// ShuffleServiceDir, when set, also receives every map output as
	// files the worker's shuffle service serves (stoke.shuffle.service.enabled).
	ShuffleServiceDir string
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
	task := shared.NewTask(t, env.ExecutorID)
	ctx = shared.WithTask(ctx, task)
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
	withAccumUpdates(st, task)
	return st
}

func runSafely(ctx context.Context, env *Env, t *pb.TaskDesc, m *pb.TaskMetrics) (res *pb.TaskResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			if se, ok := r.(registry.AbortError); ok {
				res, err = nil, se.Err
				return
			}
			err = fmt.Errorf("panic: %v\n%s", r, trimStack(debug.Stack()))
		}
	}()
	tenv := env.taskEnv(t, m)
	defer tenv.close()
	records, typeName, err := openPipeline(ctx, env, tenv, t.Source, t.Steps, m)
	if err != nil {
		return nil, err
	}
	typ, err := registry.LookupType(typeName)
	if err != nil {
		return nil, err
	}
	records = typ.Watch(records, func() bool { return ctx.Err() != nil }, &m.RecordsOut)
	return runSink(ctx, env, tenv, t, typ, records, m)
}

// openPipeline returns the partition a pipeline computes (an iter.Seq of
// its element type) and that type's name. It starts from the last cached
// partition this executor holds among the pipeline's persisted steps (or
// its persisted source), skipping the work before it; a persisted step it
// computes is cached once its output has been read to the end.
func openPipeline(ctx context.Context, env *Env, tenv *taskEnv, src *pb.Source, steps []*pb.Step, m *pb.TaskMetrics) (any, string, error) {
	var records any
	var typeName string
	first := 0
	for i := len(steps) - 1; i >= 0 && records == nil; i-- {
		if recs, name, ok := env.readCached(steps[i].Persist, m); ok {
			records, typeName, first = recs, name, i+1
		}
	}
	if records == nil {
		var ok bool
		if records, typeName, ok = env.readCached(src.GetPersist(), m); !ok {
			var err error
			if records, typeName, err = openSource(ctx, env, tenv, src, m); err != nil {
				return nil, "", err
			}
			if records, err = env.teeCached(src.Persist, records, typeName); err != nil {
				return nil, "", err
			}
		}
	}
	for _, step := range steps[first:] {
		f, err := registry.LookupFunc(step.Func)
		if err != nil {
			return nil, "", err
		}
		if f.In != typeName {
			return nil, "", fmt.Errorf("function %q takes %s but its input holds %s", step.Func, f.In, typeName)
		}
		if records, err = applyFunc(ctx, f, records, step.Params); err != nil {
			return nil, "", err
		}
		typeName = f.Out
		if records, err = env.teeCached(step.Persist, records, typeName); err != nil {
			return nil, "", err
		}
	}
	return records, typeName, nil
}

// readCached opens the cached block p names, if this executor holds it.
// A block that does not decode is dropped and the partition recomputed.
func (env *Env) readCached(p *pb.Persist, m *pb.TaskMetrics) (any, string, bool) {
	if p == nil || env.Blocks == nil {
		return nil, "", false
	}
	c := env.Blocks.cache
	c.bind(env.Memory, env.Spill)
	k := rddKey{p.Node, p.Partition}
	data, typeName, ok := c.get(k)
	if !ok {
		return nil, "", false
	}
	typ, err := registry.LookupType(typeName)
	if err != nil {
		return nil, "", false
	}
	recs, n, err := typ.Decode(data)
	if err != nil {
		c.release1(k)
		return nil, "", false
	}
	m.RecordsIn += n
	return recs, typeName, true
}

// teeCached passes records through, caching them as the block p names
// when they have been read to the end (p nil: not persisted).
func (env *Env) teeCached(p *pb.Persist, records any, typeName string) (any, error) {
	if p == nil || env.Blocks == nil {
		return records, nil
	}
	switch p.Level {
	case plan.MemoryOnly, plan.MemoryAndDisk, plan.DiskOnly:
	default:
		return nil, fmt.Errorf("dataset %d is persisted at unknown storage level %d", p.Node, p.Level)
	}
	typ, err := registry.LookupType(typeName)
	if err != nil {
		return nil, err
	}
	c := env.Blocks.cache
	c.bind(env.Memory, env.Spill)
	k := rddKey{p.Node, p.Partition}
	return typ.Cache(records, func(block []byte, err error) {
		if err == nil {
			c.put(k, typeName, p.Level, block)
		}
	}), nil
}

// openSource returns the partition a pipeline starts from.
func openSource(ctx context.Context, env *Env, tenv *taskEnv, src *pb.Source, m *pb.TaskMetrics) (any, string, error) {
	if src == nil {
		return nil, "", errors.New("task has no source")
	}
	switch k := src.Kind.(type) {
	case *pb.Source_Parallelize:
		typ, err := registry.LookupType(src.Type)
		if err != nil {
			return nil, "", err
		}
		recs, n, err := typ.Decode(k.Parallelize)
		if err != nil {
			return nil, "", err
		}
		m.RecordsIn += n // a concatenation reads several sources
		return recs, src.Type, nil
	case *pb.Source_Text:
		return textLines(k.Text, &m.RecordsIn), registry.TypeName[string](), nil
	case *pb.Source_Shuffle:
		op, err := registry.LookupShuffle(k.Shuffle.Op)
		if err != nil {
			return nil, "", err
		}
		if len(k.Shuffle.Sides) != op.Sides {
			return nil, "", fmt.Errorf("keyed operator %q reads %d sides, the task names %d", op.Name, op.Sides, len(k.Shuffle.Sides))
		}
		sides := make([]registry.BlockIter, len(k.Shuffle.Sides))
		for i, side := range k.Shuffle.Sides {
			sides[i] = fetchSide(ctx, env, side, k.Shuffle.ReducePartition, m)
		}
		recs, err := op.Read(tenv.shuffle, sides, k.Shuffle.Params)
		if err != nil {
			return nil, "", err
		}
		return recs, op.Out, nil
	case *pb.Source_Concat:
		typ, err := registry.LookupType(src.Type)
		if err != nil {
			return nil, "", err
		}
		parts := make([]func() (any, error), len(k.Concat.Parts))
		for i, part := range k.Concat.Parts {
			parts[i] = func() (any, error) {
				recs, name, err := openPipeline(ctx, env, tenv, part.Source, part.Steps, m)
				if err == nil && name != typ.Name {
					err = fmt.Errorf("part %d of a concatenation holds %s, not %s", i, name, typ.Name)
				}
				return recs, err
			}
		}
		return typ.Concat(parts), typ.Name, nil
	default:
		return nil, "", fmt.Errorf("unknown source kind %T", k)
	}
}

// fetchSide yields the blocks of one side of a shuffle for one reduce
// partition, fetching each when the reader wants it, so that only one is
// held at a time.
func fetchSide(ctx context.Context, env *Env, side *pb.ShuffleSide, reduce int32, m *pb.TaskMetrics) registry.BlockIter {
	return func(yield func([]byte) bool) error {
		for _, out := range side.Outputs {
			if out.Size == 0 {
				continue
			}
			if out.Size < 0 {
				return &FetchError{Shuffle: side.ShuffleId, MapPartition: out.MapPartition, ExecutorID: out.ExecutorId, Err: errors.New("map output is lost")}
			}
			data, err := env.Fetch(ctx, out, ShuffleBlockName(side.ShuffleId, out.TaskId, reduce))
			if err != nil {
				if ctx.Err() != nil {
					return errKilled
				}
				return &FetchError{Shuffle: side.ShuffleId, MapPartition: out.MapPartition, ExecutorID: out.ExecutorId, Err: err}
			}
			m.ShuffleReadBytes += int64(len(data))
			if !yield(data) {
				return nil
			}
		}
		return nil
	}
}

// textLines reads the lines whose first byte lies in the split: a split that
// does not start at 0 skips the line it starts inside (its previous split
// owns it), and the last line may run past the split's end.
func textLines(sp *pb.TextSplit, n *int64) iter.Seq[string] {
	return func(yield func(string) bool) {
		err := readLines(sp, func(line string) bool {
			*n++
			return yield(line)
		})
		if err != nil {
			registry.Abort(fmt.Errorf("reading input file %s: %w", sp.Path, err))
		}
	}
}

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

func runSink(ctx context.Context, env *Env, tenv *taskEnv, t *pb.TaskDesc, typ *registry.Type, records any, m *pb.TaskMetrics) (*pb.TaskResult, error) {
	sink := t.Sink
	if sink == nil {
		return nil, errors.New("task has no sink")
	}
	switch k := sink.Kind.(type) {
	case *pb.Sink_Count:
		c := typ.Count(records)
		if ctx.Err() != nil {
			return nil, errKilled
		}
		return &pb.TaskResult{Count: c}, nil
	case *pb.Sink_Collect:
		if k.Collect != typ.Name {
			return nil, fmt.Errorf("collect of %s but the partition holds %s", k.Collect, typ.Name)
		}
		data, err := typ.Encode(records)
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, errKilled
		}
		return result(env, t, data), nil
	case *pb.Sink_Reduce:
		f, err := registry.LookupFunc(k.Reduce)
		if err != nil {
			return nil, err
		}
		if f.Reduce == nil {
			return nil, fmt.Errorf("function %q is a %s function, not a reduce function", k.Reduce, f.Kind)
		}
		if f.In != typ.Name {
			return nil, fmt.Errorf("reduce function %q takes %s but the partition holds %s", k.Reduce, f.In, typ.Name)
		}
		data, empty, err := f.Reduce(records)
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, errKilled
		}
		if empty {
			return &pb.TaskResult{Empty: true}, nil
		}
		return result(env, t, data), nil
	case *pb.Sink_Foreach:
		f, err := registry.LookupFunc(k.Foreach)
		if err != nil {
			return nil, err
		}
		if !f.Consumes() {
			return nil, fmt.Errorf("function %q is a %s function, not a foreach function", k.Foreach, f.Kind)
		}
		if f.In != typ.Name {
			return nil, fmt.Errorf("foreach function %q takes %s but the partition holds %s", k.Foreach, f.In, typ.Name)
		}
		eachFunc(ctx, f, records)
		if ctx.Err() != nil {
			return nil, errKilled
		}
		return &pb.TaskResult{}, nil
	case *pb.Sink_Shuffle:
		op, err := registry.LookupShuffle(k.Shuffle.Op)
		if err != nil {
			return nil, err
		}
		side := int(k.Shuffle.Side)
		if side < 0 || side >= op.Sides || op.In[side] != typ.Name {
			return nil, fmt.Errorf("keyed operator %q cannot take side %d of %s", op.Name, side, typ.Name)
		}
		n := int(k.Shuffle.NumPartitions)
		if n <= 0 {
			return nil, fmt.Errorf("shuffle into %d partitions", n)
		}
		out := tenv.newMapOutput(n)
		tenv.shuffle.Out = out
		if _, err := op.Write(tenv.shuffle, side, records, n, k.Shuffle.Params); err != nil {
			out.discard()
			return nil, err
		}
		if ctx.Err() != nil {
			out.discard()
			return nil, errKilled
		}
		sizes, err := out.finish()
		if err != nil {
			return nil, err
		}
		for _, sz := range sizes {
			m.ShuffleWriteBytes += sz
		}
		if env.ShuffleServiceDir != "" {
			// Where the worker's shuffle service serves it once this
			// executor is gone; written before the task reports success.
			if _, err := shufflesvc.WriteMapOutput(env.ShuffleServiceDir, k.Shuffle.ShuffleId, t.TaskId, out.numBuckets(), out.bucket); err != nil {
				out.discard()
				return nil, err
			}
		}
		env.Blocks.PutMapOutput(k.Shuffle.ShuffleId, t.TaskId, out)
		return &pb.TaskResult{BucketSizes: sizes}, nil
	case *pb.Sink_SaveText:
		return saveText(ctx, env, t, k.SaveText, typ, records)
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
func saveText(ctx context.Context, env *Env, t *pb.TaskDesc, st *pb.SaveText, typ *registry.Type, records any) (*pb.TaskResult, error) {
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
	size, err := writeLines(f, codec, typ, records)
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
