package registry

import (
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

// Func is a registered function in type-erased form.
type Func struct {
	Name    string
	Kind    Kind
	In, Out string // element type names
	// Apply transforms a partition (Map, FlatMap, Filter, MapPartitions).
	Apply func(in iter.Seq[any]) iter.Seq[any]
	// Combine merges two values (Reduce).
	Combine func(a, b any) any
	// Each consumes one value (Foreach).
	Each func(any)
}

// Shuffle is a registered keyed operator: its map side splits records into
// buckets by key (combining where it can), its reduce side merges buckets.
type Shuffle struct {
	Name  string
	Sides int      // 1, or 2 for a join
	In    []string // element type of each side
	Out   string
	// Write splits one side's records into n encoded buckets.
	Write func(side int, in iter.Seq[any], n int) (buckets [][]byte, records int64, err error)
	// Read merges the decoded buckets of every side into the output records.
	Read func(sides [][][]byte) (iter.Seq[any], error)
}

// Type is a registered element type with its codec.
type Type struct {
	Name   string
	RType  reflect.Type
	Encode func(records []any) ([]byte, error)
	Decode func(data []byte) ([]any, error)
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
	checkName("function", f.Name)
	funcs[f.Name] = f
}

// AddShuffle registers a keyed operator.
func AddShuffle(s *Shuffle) {
	mu.Lock()
	defer mu.Unlock()
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
