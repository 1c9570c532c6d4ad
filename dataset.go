package stoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stoke-run/stoke/driver"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/plan"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Dataset is a partitioned collection of T, computed lazily from its
// lineage when an action runs.
type Dataset[T any] struct {
	sc   *Context
	node *plan.Node
}

// NumPartitions is the number of partitions.
func (d Dataset[T]) NumPartitions() int { return d.node.NumPartitions }

// NoSpeculation turns speculative execution off for the stage computing
// this dataset (for example one whose functions write to an external
// system), whatever the application's setting.
func (d Dataset[T]) NoSpeculation() Dataset[T] {
	n := *d.node
	n.ID = d.sc.d.NewNodeID()
	n.NoSpeculation = true
	return Dataset[T]{d.sc, &n}
}

func (sc *Context) node(n *plan.Node) *plan.Node {
	n.ID = sc.d.NewNodeID()
	return n
}

func narrow[T, U any](d Dataset[T], kind, op string) Dataset[U] {
	return Dataset[U]{d.sc, d.sc.node(&plan.Node{
		Kind: plan.Narrow, Op: op, Parents: []*plan.Node{d.node}, NumPartitions: d.node.NumPartitions,
		Type: registry.TypeName[U](), Name: kind + " " + op,
	})}
}

// Parallelize distributes data over numSlices partitions (0: the default
// parallelism). T must be registered (any registered function on T does).
func Parallelize[T any](sc *Context, data []T, numSlices int) (Dataset[T], error) {
	if numSlices <= 0 {
		numSlices = sc.DefaultParallelism()
	}
	name := registry.TypeName[T]()
	if _, err := registry.LookupType(name); err != nil {
		return Dataset[T]{}, err
	}
	limit, err := sc.d.Conf().Bytes("stoke.rpc.message.maxSize")
	if err != nil {
		return Dataset[T]{}, err
	}
	parts := make([][]byte, numSlices)
	for i := range numSlices {
		lo, hi := i*len(data)/numSlices, (i+1)*len(data)/numSlices
		b, err := registry.EncodeSlice(data[lo:hi])
		if err != nil {
			return Dataset[T]{}, err
		}
		// Each partition travels inside its task; leave room for the rest.
		if int64(len(b)) > limit-4<<10 {
			return Dataset[T]{}, fmt.Errorf("Parallelize: partition %d encodes to %d bytes, more than stoke.rpc.message.maxSize (%d) allows in one task; use more slices", i, len(b), limit)
		}
		parts[i] = b
	}
	return Dataset[T]{sc, sc.node(&plan.Node{Kind: plan.Parallelize, NumPartitions: numSlices, Type: name, Data: parts, Name: "parallelize"})}, nil
}

// maxLocalSplit bounds the size of one partition of a local file; HDFS
// files are split at most at their block size.
const maxLocalSplit = 32 << 20

// TextFile reads the lines of a file, of every visible file of a directory,
// or of the files a glob matches (local paths), in at least minPartitions
// partitions (0: the default parallelism). Paths may be local, file:// or
// hdfs://namenode:port/path (hdfs:///path uses fs.defaultFS). Files named
// *.gz (gzip) and *.zst or *.zstd (zstd) are decompressed; each is read
// whole by one partition, as a compressed stream cannot be split.
func TextFile(sc *Context, path string, minPartitions int) (Dataset[string], error) {
	if minPartitions <= 0 {
		minPartitions = min(sc.DefaultParallelism(), 2)
	}
	fsys, err := fsx.For(path)
	if err != nil {
		return Dataset[string]{}, fmt.Errorf("TextFile(%q): %w", path, err)
	}
	// Executors may run in other directories: resolve local paths here.
	path, err = fsx.Absolute(path)
	if err != nil {
		return Dataset[string]{}, fmt.Errorf("TextFile(%q): %w", path, err)
	}
	files, err := listFiles(fsys, path)
	if err != nil {
		return Dataset[string]{}, fmt.Errorf("TextFile(%q): %w", path, err)
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	goal := max(total/int64(minPartitions), 1)
	var splits []plan.TextSplit
	for _, f := range files {
		split := min(goal, maxLocalSplit)
		if f.BlockSize > 0 {
			split = min(goal, f.BlockSize)
		}
		var blocks []fsx.Block
		if bl, ok := fsys.(fsx.BlockLocator); ok && f.Size > 0 {
			// Locality is a preference: without block locations the job
			// still runs, just without it.
			if blocks, err = bl.Blocks(f.Path, f.Size); err != nil {
				sc.d.Log().WithError(err).Warn("TextFile: no block locations; tasks will not prefer the data's hosts")
			}
		}
		if fsx.CodecForPath(f.Path) != "" {
			// A compressed stream cannot be read from the middle: the
			// whole file is one split (Hadoop reads gzip the same way).
			split = max(f.Size, 1)
		}
		for off := int64(0); off < f.Size; off += split {
			n := min(split, f.Size-off)
			splits = append(splits, plan.TextSplit{Path: f.Path, Start: off, Length: n, Hosts: fsx.HostsFor(blocks, off, n)})
		}
	}
	return Dataset[string]{sc, sc.node(&plan.Node{Kind: plan.TextFile, NumPartitions: len(splits), Type: registry.TypeName[string](), Splits: splits, Name: "textFile " + path})}, nil
}

func listFiles(fsys fsx.FS, path string) ([]fsx.FileInfo, error) {
	matches := []string{path}
	if _, local := fsys.(fsx.Local); local && strings.ContainsAny(path, "*?[") {
		m, err := filepath.Glob(strings.TrimPrefix(path, "file://"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("no file matches the pattern")
		}
		matches = m
	}
	var out []fsx.FileInfo
	for _, m := range matches {
		st, err := fsys.Stat(m)
		if err != nil {
			return nil, err
		}
		if !st.IsDir {
			out = append(out, st)
			continue
		}
		entries, err := fsys.List(m)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir {
				out = append(out, e)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Map applies f to every record.
func Map[T, U any](d Dataset[T], f MapFunc[T, U]) Dataset[U] { return narrow[T, U](d, "map", f.name) }

// FlatMap applies f to every record and flattens the results.
func FlatMap[T, U any](d Dataset[T], f FlatMapFunc[T, U]) Dataset[U] {
	return narrow[T, U](d, "flatMap", f.name)
}

// Filter keeps the records f accepts.
func Filter[T any](d Dataset[T], f FilterFunc[T]) Dataset[T] {
	return narrow[T, T](d, "filter", f.name)
}

// MapPartitions applies f to each partition as a whole.
func MapPartitions[T, U any](d Dataset[T], f MapPartitionsFunc[T, U]) Dataset[U] {
	return narrow[T, U](d, "mapPartitions", f.name)
}

func shuffled[U any](sc *Context, op, kind string, n int, parents ...*plan.Node) Dataset[U] {
	if n <= 0 {
		n = sc.shufflePartitions(parents)
	}
	return Dataset[U]{sc, sc.node(&plan.Node{Kind: plan.Shuffle, Op: op, Parents: parents, NumPartitions: n, Type: registry.TypeName[U](), Name: kind + " " + op})}
}

// shufflePartitions is how many partitions a keyed operator makes when its
// caller gives none, by Spark's rule: stoke.default.parallelism when set,
// else as many as its largest input has (so each reduce task reads about
// what each input task read, not all of it split in a few).
func (sc *Context) shufflePartitions(parents []*plan.Node) int {
	if _, set := sc.d.Conf().Get("stoke.default.parallelism"); set {
		return sc.DefaultParallelism()
	}
	n := 0
	for _, p := range parents {
		n = max(n, p.NumPartitions)
	}
	if n == 0 {
		return sc.DefaultParallelism()
	}
	return n
}

// ReduceByKey merges the values of each key with f into numPartitions
// partitions (0: stoke.default.parallelism if set, else as many as the
// input has, as Spark).
func ReduceByKey[K comparable, V any](d Dataset[KV[K, V]], f ReduceByKeyFunc[K, V], numPartitions int) Dataset[KV[K, V]] {
	return shuffled[KV[K, V]](d.sc, f.name, "reduceByKey", numPartitions, d.node)
}

// GroupByKey gathers the values of each key.
func GroupByKey[K comparable, V any](d Dataset[KV[K, V]], op GroupByKeyOp[K, V], numPartitions int) Dataset[KV[K, []V]] {
	return shuffled[KV[K, []V]](d.sc, op.name, "groupByKey", numPartitions, d.node)
}

// Join pairs the values of each key present on both sides.
func Join[K comparable, V, W any](l Dataset[KV[K, V]], r Dataset[KV[K, W]], op JoinOp[K, V, W], numPartitions int) Dataset[KV[K, Joined[V, W]]] {
	return shuffled[KV[K, Joined[V, W]]](l.sc, op.name, "join", numPartitions, l.node, r.node)
}

// JobOption sets a property of one job.
type JobOption func(*driver.JobOptions)

// InPool runs the job in the named FAIR pool (stoke.WithPool does the same
// through a context.Context).
func InPool(name string) JobOption { return func(o *driver.JobOptions) { o.Pool = name } }

// Describe names the job in the UI.
func Describe(s string) JobOption { return func(o *driver.JobOptions) { o.Description = s } }

// WithoutSpeculation turns speculative execution off for this job.
func WithoutSpeculation() JobOption { return func(o *driver.JobOptions) { o.NoSpeculation = true } }

// Compress makes SaveAsTextFile compress its part files with codec: "gzip"
// (part-00000.gz), "zstd" (part-00000.zst) or "none" (also ""). It
// overrides stoke.output.compression.codec for that save; other actions
// refuse it.
func Compress(codec string) JobOption {
	if codec == "" {
		codec = "none" // set, so it overrides the configured default
	}
	return func(o *driver.JobOptions) { o.OutputCodec = codec }
}

func jobOptions(opts []JobOption) driver.JobOptions {
	var o driver.JobOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

func run[T any](ctx context.Context, d Dataset[T], sink *pb.Sink, action string, opts []JobOption) ([]*pb.TaskResult, error) {
	o := jobOptions(opts)
	if _, save := sink.Kind.(*pb.Sink_SaveText); o.OutputCodec != "" && !save {
		return nil, fmt.Errorf("%s: stoke.Compress applies to SaveAsTextFile only", action)
	}
	if o.Description == "" {
		o.Description = action + " of " + d.node.Name
	}
	return d.sc.d.RunJob(ctx, d.node, sink, o)
}

// Collect returns every record, partition by partition.
func Collect[T any](ctx context.Context, d Dataset[T], opts ...JobOption) ([]T, error) {
	results, err := run(ctx, d, &pb.Sink{Kind: &pb.Sink_Collect{Collect: d.node.Type}}, "collect", opts)
	if err != nil {
		return nil, err
	}
	var out []T
	for p, r := range results {
		recs, err := registry.DecodeSlice[T](r.Value)
		if err != nil {
			return nil, fmt.Errorf("collect: partition %d: %w", p, err)
		}
		out = append(out, recs...)
	}
	return out, nil
}

// Count returns the number of records.
func Count[T any](ctx context.Context, d Dataset[T], opts ...JobOption) (int64, error) {
	results, err := run(ctx, d, &pb.Sink{Kind: &pb.Sink_Count{Count: true}}, "count", opts)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range results {
		n += r.Count
	}
	return n, nil
}

// ErrEmpty is returned by Reduce and First on a dataset without records.
var ErrEmpty = errors.New("stoke: the dataset has no records")

// Reduce combines every record with f.
func Reduce[T any](ctx context.Context, d Dataset[T], f ReduceFunc[T], opts ...JobOption) (T, error) {
	var zero T
	results, err := run(ctx, d, &pb.Sink{Kind: &pb.Sink_Reduce{Reduce: f.name}}, "reduce", opts)
	if err != nil {
		return zero, err
	}
	var acc T
	have := false
	for p, r := range results {
		if r.Empty {
			continue
		}
		vals, err := registry.DecodeSlice[T](r.Value)
		if err != nil || len(vals) != 1 {
			return zero, fmt.Errorf("reduce: partition %d: malformed partial result: %v", p, err)
		}
		if !have {
			acc, have = vals[0], true
		} else {
			acc = f.f(acc, vals[0])
		}
	}
	if !have {
		return zero, ErrEmpty
	}
	return acc, nil
}

// Foreach runs f on every record, on the executors.
func Foreach[T any](ctx context.Context, d Dataset[T], f ForeachFunc[T], opts ...JobOption) error {
	_, err := run(ctx, d, &pb.Sink{Kind: &pb.Sink_Foreach{Foreach: f.name}}, "foreach", opts)
	return err
}

// SaveAsTextFile writes one line per record (fmt.Sprint) into dir, one
// part-NNNNN file per partition, and _SUCCESS when the job succeeded. The
// part files are compressed, and named with the codec's extension
// (part-00000.gz), when stoke.Compress or stoke.output.compression.codec
// says so; TextFile reads them back. Only
// one attempt of each partition commits its file. dir must not exist, or
// hold only an unfinished Stoke save (its driver died mid-save: a
// _STOKE_SAVE_IN_PROGRESS marker, part files and _temporary, no _SUCCESS),
// which is cleaned and reused. A save that fails removes what it wrote.
func SaveAsTextFile[T any](ctx context.Context, d Dataset[T], dir string, opts ...JobOption) error {
	fsys, err := fsx.For(dir)
	if err != nil {
		return fmt.Errorf("SaveAsTextFile(%q): %w", dir, err)
	}
	if dir, err = fsx.Absolute(dir); err != nil {
		return fmt.Errorf("SaveAsTextFile(%q): %w", dir, err)
	}
	codec, err := outputCodec(d.sc, jobOptions(opts))
	if err != nil {
		return fmt.Errorf("SaveAsTextFile(%q): %w", dir, err)
	}
	token := fmt.Sprintf("job-%s-%d", tokenSafe(d.sc.AppID()), d.sc.d.NewNodeID())
	reused, err := prepareOutput(fsys, dir, "application "+d.sc.AppID()+", "+token)
	if err != nil {
		return err
	}
	if reused {
		d.sc.d.Log().Warnf("SaveAsTextFile: %s held an unfinished save (its driver stopped mid-save); removed its part files and saving again", dir)
	}
	_, err = run(ctx, d, &pb.Sink{Kind: &pb.Sink_SaveText{SaveText: &pb.SaveText{Dir: dir, JobToken: token, Codec: codec}}}, "saveAsTextFile", opts)
	fsys.RemoveAll(fsys.Join(dir, "_temporary"))
	if err == nil {
		var w io.WriteCloser
		if w, err = fsys.Create(fsys.Join(dir, "_SUCCESS")); err == nil {
			err = w.Close()
		}
		if err != nil {
			err = fmt.Errorf("SaveAsTextFile: writing _SUCCESS: %w", err)
		}
	}
	if err != nil {
		if aerr := abortOutput(fsys, dir); aerr != nil {
			d.sc.d.Log().WithError(aerr).Warnf("SaveAsTextFile: removing the failed save's files from %s; the next save into it cleans them", dir)
		}
		return err
	}
	if err := fsys.RemoveAll(fsys.Join(dir, saveMarker)); err != nil {
		d.sc.d.Log().WithError(err).Warnf("SaveAsTextFile: removing %s from %s", saveMarker, dir)
	}
	return nil
}
