package registry

import (
	"bufio"
	"fmt"
	"iter"
	"reflect"
	"sort"
	"sync"
)

// Kind says how a narrow function transforms a partition.
type Kind int

const (
	Map Kind = iota
	FlatMap
	Filter
	MapPartitions
	Reduce
	Foreach
)

func (k Kind) String() string {
	return [...]string{"map", "flatMap", "filter", "mapPartitions", "reduce", "foreach"}[k]
}

// Records stay in their Go types inside a stage. A partition is an
// iter.Seq[T] of its element type; the registry holds it in an `any` only
// to pass it between type-erased pieces (once per task, never per record),
// so a stage's functions fuse into nested loops over typed values.

// Func is a registered function in type-erased form.
type Func struct {
	Name    string
	Kind    Kind
	In, Out string // element type names
	// Apply transforms a partition (Map, FlatMap, Filter, MapPartitions):
	// an iter.Seq[In] in, an iter.Seq[Out] out.
	Apply func(in any) any
	// ApplyParams is Apply for functions that take per-partition
	// parameters from the driver (built-in operators such as sample).
	ApplyParams func(in any, params []byte) (any, error)
	// Reduce folds a partition (an iter.Seq[In]) with the function and
	// returns the encoded result, or empty for a partition without records.
	Reduce func(in any) (data []byte, empty bool, err error)
	// Each runs the function on every record of a partition (Foreach).
	Each func(in any)
	// ApplyTask and EachTask replace Apply and Each for functions that take
	// their task's context: task is the running attempt (a *shared.Task).
	ApplyTask func(task any, in any) any
	EachTask  func(task any, in any)
}

// Transforms says whether f transforms a partition (a Map, FlatMap,
// Filter or MapPartitions function, with or without a task context or
// parameters).
func (f *Func) Transforms() bool { return f.Apply != nil || f.ApplyTask != nil || f.ApplyParams != nil }

// Consumes says whether f is run on every record for its effect (Foreach).
func (f *Func) Consumes() bool { return f.Each != nil || f.EachTask != nil }

// BlockIter yields the fetched blocks of one side of a shuffle, one at a
// time, and returns the error that stopped it (a fetch failure).
type BlockIter func(yield func(block []byte) bool) error

// Shuffle is a registered keyed operator: its map side splits records into
// buckets by key (combining where it can), its reduce side merges buckets.
type Shuffle struct {
	Name  string
	Sides int      // 1, or 2 for a join
	In    []string // element type of each side
	Out   string
	// Write splits one side's records (an iter.Seq[In[side]]) into n
	// buckets, appending encoded frames to env.Out. params are the
	// operator's parameters from the driver (for example range bounds).
	Write func(env *ShuffleEnv, side int, in any, n int, params []byte) (records int64, err error)
	// Read merges the blocks of every side into the output records (an
	// iter.Seq[Out]).
	Read func(env *ShuffleEnv, sides []BlockIter, params []byte) (any, error)
}

// ShuffleEnv is what a shuffle's map or reduce side may use of its task:
// execution memory and the spill directory. A nil Env means unbounded
// memory and no spilling (tests).
type ShuffleEnv struct {
	// Acquire asks for execution memory and returns what was granted.
	Acquire func(want int64) int64
	// Release gives execution memory back.
	Release func(n int64)
	// Spill is where sorted runs go when memory runs out; nil: no spill.
	Spill Spiller
	// Spilled counts bytes written to disk by spills (task metrics).
	Spilled *int64
	// Out receives the map side's buckets.
	Out BucketWriter
}

// BucketWriter receives a map task's output: frames of one bucket, in any
// order of buckets; a bucket is the concatenation of its frames in the
// order appended.
type BucketWriter interface {
	Append(bucket int, frames []byte) error
}

// Spiller creates and reads spill files (internal/spill behind an
// interface so the registry does not depend on it).
type Spiller interface {
	Create() (SpillWriter, error)
}

// SpillWriter is one spill run being written.
type SpillWriter interface {
	Write(frame []byte) error
	// Close finishes the run; frames come back from Open in order.
	Close() (SpillRun, error)
}

// SpillRun is one finished run on disk.
type SpillRun interface {
	// Frames yields the frames in the order written.
	Frames() iter.Seq2[[]byte, error]
	Remove() error
	Bytes() int64
}

// Type is a registered element type with its codec and the typed
// operations the executor runs over a partition of it (each seq is an
// iter.Seq[T]).
type Type struct {
	Name  string
	RType reflect.Type
	// Decode reads an encoded block as a partition and its record count.
	Decode func(data []byte) (seq any, n int64, err error)
	// Encode encodes a whole partition (Collect).
	Encode func(seq any) ([]byte, error)
	// Count counts a partition's records.
	Count func(seq any) int64
	// Watch counts records into n and ends the partition early once stop
	// reports true (checked every 1024 records).
	Watch func(seq any, stop func() bool, n *int64) any
	// WriteText writes one line per record (fmt.Sprint) and returns the
	// bytes written.
	WriteText func(seq any, w *bufio.Writer) (int64, error)
	// Concat is the partition made of parts in order; each part is opened
	// only when the previous one is done.
	Concat func(parts []func() (any, error)) any
	// Cache passes a partition through unchanged and, once it has been
	// read to its end (not when the reader stops early), calls done with
	// the records encoded as one block (the executor caches it).
	Cache func(seq any, done func(block []byte, err error)) any

	level int // which built-ins are registered (levelType..levelFull)
}

var (
	mu       sync.RWMutex
	frozen   bool
	funcs    = map[string]*Func{}
	shuffles = map[string]*Shuffle{}
	types    = map[string]*Type{}
)

// Freeze forbids further registration: executors are started with the
// registry as it is now, so a later registration could never reach them.
func Freeze() {
	mu.Lock()
	frozen = true
	mu.Unlock()
}

func checkName(kind, name string) {
	if frozen {
		panic(fmt.Sprintf("stoke: %s %q registered after the Context started; register functions in package-level variables so executors have them too", kind, name))
	}
	if name == "" {
		panic(fmt.Sprintf("stoke: %s registered with an empty name", kind))
	}
	if _, dup := funcs[name]; dup {
		panic(fmt.Sprintf("stoke: function name %q registered twice", name))
	}
	if _, dup := shuffles[name]; dup {
		panic(fmt.Sprintf("stoke: function name %q registered twice", name))
	}
}

// AddFunc registers f. It panics on a duplicate or late registration: both
// are programming errors that must surface at init, on every process.
func AddFunc(f *Func) {
	mu.Lock()
	defer mu.Unlock()
	addFuncLocked(f)
}

func addFuncLocked(f *Func) {
	checkName("function", f.Name)
	funcs[f.Name] = f
}

// AddShuffle registers a keyed operator.
func AddShuffle(s *Shuffle) {
	mu.Lock()
	defer mu.Unlock()
	addShuffleLocked(s)
}

func addShuffleLocked(s *Shuffle) {
	checkName("keyed operator", s.Name)
	shuffles[s.Name] = s
}

// LookupFunc finds a registered function.
func LookupFunc(name string) (*Func, error) {
	mu.RLock()
	f := funcs[name]
	mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("function %q is not registered in this binary", name)
	}
	return f, nil
}

// LookupShuffle finds a registered keyed operator.
func LookupShuffle(name string) (*Shuffle, error) {
	mu.RLock()
	s := shuffles[name]
	mu.RUnlock()
	if s == nil {
		return nil, fmt.Errorf("keyed operator %q is not registered in this binary", name)
	}
	return s, nil
}

// LookupType finds a registered element type.
func LookupType(name string) (*Type, error) {
	mu.RLock()
	t := types[name]
	mu.RUnlock()
	if t == nil {
		return nil, fmt.Errorf("element type %q is not registered in this binary (stoke.RegisterType[%s]() registers it)", name, name)
	}
	return t, nil
}

// FuncNames lists every registered function and keyed operator, sorted.
func FuncNames() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(funcs)+len(shuffles))
	for n := range funcs {
		out = append(out, n)
	}
	for n := range shuffles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TypeNames lists every registered element type, sorted.
func TypeNames() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(types))
	for n := range types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Diff compares a remote registry with this one and describes what differs,
// or returns "" when they hold the same names.
func Diff(remoteFuncs, remoteTypes []string) string {
	missF, extraF := setDiff(FuncNames(), remoteFuncs)
	missT, extraT := setDiff(TypeNames(), remoteTypes)
	var msg string
	add := func(label string, names []string) {
		if len(names) == 0 {
			return
		}
		if msg != "" {
			msg += "; "
		}
		msg += fmt.Sprintf("%s: %v", label, names)
	}
	add("functions missing on the executor", missF)
	add("functions unknown to the driver", extraF)
	add("types missing on the executor", missT)
	add("types unknown to the driver", extraT)
	return msg
}

func setDiff(local, remote []string) (missing, extra []string) {
	r := make(map[string]bool, len(remote))
	for _, n := range remote {
		r[n] = true
	}
	l := make(map[string]bool, len(local))
	for _, n := range local {
		l[n] = true
		if !r[n] {
			missing = append(missing, n)
		}
	}
	for _, n := range remote {
		if !l[n] {
			extra = append(extra, n)
		}
	}
	return missing, extra
}
