package shared

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Fetcher reads the current encoded value of a named broadcast variable
// from the driver (an executor process installs one at start).
type Fetcher func(name string) (version int64, data []byte, err error)

// cached is one variable's value on an executor: fetched once, decoded
// once, shared by every task.
type cached struct {
	done  chan struct{} // closed when value/err are set
	value any
	err   error
}

// installed is a fetcher with the identity of the SetFetcher call that
// installed it.
type installed struct{ fetch Fetcher }

var ex = struct {
	sync.RWMutex
	cur     atomic.Pointer[installed] // nil: not an executor process
	entries map[string]*cached
}{entries: map[string]*cached{}}

// SetFetcher makes this process an executor for broadcast variables: their
// values come from f instead of the driver's copy in this process. The
// returned func removes f (if no later SetFetcher replaced it) and drops the
// cache. One executor runs per process; a second SetFetcher replaces the first.
func SetFetcher(f Fetcher) (remove func()) {
	in := &installed{f}
	ex.Lock()
	ex.cur.Store(in)
	ex.entries = map[string]*cached{}
	ex.Unlock()
	return func() {
		ex.Lock()
		if ex.cur.CompareAndSwap(in, nil) {
			ex.entries = map[string]*cached{}
		}
		ex.Unlock()
	}
}

// InExecutor says whether a fetcher is installed: broadcast values must be
// fetched from the driver rather than read from this process's copy.
func InExecutor() bool { return ex.cur.Load() != nil }

// Get returns the decoded value of the named variable: the cached one, or
// else it is fetched and decoded once while concurrent callers wait for the
// same fetch. A failed fetch is not cached (the next Get tries again).
func Get(name string, decode func([]byte) (any, error)) (any, error) {
	// The common case, a value already here: a shared lock only.
	ex.RLock()
	if e := ex.entries[name]; e != nil {
		ex.RUnlock()
		<-e.done
		return e.value, e.err
	}
	ex.RUnlock()
	ex.Lock()
	in := ex.cur.Load()
	if in == nil {
		ex.Unlock()
		return nil, fmt.Errorf("broadcast variable %q: this process is not an executor", name)
	}
	if e := ex.entries[name]; e != nil {
		ex.Unlock()
		<-e.done
		return e.value, e.err
	}
	e := &cached{done: make(chan struct{})}
	ex.entries[name] = e
	ex.Unlock()

	_, data, err := in.fetch(name)
	if err == nil {
		e.value, err = decode(data)
	}
	e.err = err
	close(e.done)
	if err != nil {
		ex.Lock()
		if ex.entries[name] == e {
			delete(ex.entries, name)
		}
		ex.Unlock()
	}
	return e.value, e.err
}

// Drop forgets the cached values of the named variables (the driver
// released them); the next Get fetches again. A fetch under way completes for
// its callers but is not kept.
func Drop(names []string) {
	ex.Lock()
	defer ex.Unlock()
	for _, n := range names {
		delete(ex.entries, n)
	}
}

// Cached says whether the executor holds a value of name (tests).
func Cached(name string) bool {
	ex.RLock()
	defer ex.RUnlock()
	return ex.entries[name] != nil
}
