package shared

import (
	"fmt"
	"sync"
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

var ex = struct {
	sync.Mutex
	fetch   Fetcher
	owner   *byte // which SetFetcher call installed fetch
	entries map[string]*cached
}{entries: map[string]*cached{}}

// SetFetcher makes this process an executor for broadcast variables: their
// values come from f instead of the driver's copy in this process. The
// returned func removes f (if no later SetFetcher replaced it) and drops the
// cache. One executor runs per process; a second SetFetcher replaces the first.
func SetFetcher(f Fetcher) (remove func()) {
	owner := new(byte)
	ex.Lock()
	ex.fetch, ex.owner = f, owner
	ex.entries = map[string]*cached{}
	ex.Unlock()
	return func() {
		ex.Lock()
		if ex.owner == owner {
			ex.fetch, ex.owner = nil, nil
			ex.entries = map[string]*cached{}
		}
		ex.Unlock()
	}
}

// InExecutor says whether a fetcher is installed: broadcast values must be
// fetched from the driver rather than read from this process's copy.
func InExecutor() bool {
	ex.Lock()
	defer ex.Unlock()
	return ex.fetch != nil
}

// Get returns the decoded value of the named variable: the cached one, or
// else it is fetched and decoded once while concurrent callers wait for the
// same fetch. A failed fetch is not cached (the next Get tries again).
func Get(name string, decode func([]byte) (any, error)) (any, error) {
	ex.Lock()
	fetch := ex.fetch
	if fetch == nil {
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

	_, data, err := fetch(name)
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
	ex.Lock()
	defer ex.Unlock()
	return ex.entries[name] != nil
}
