package stoke

import (
	"fmt"
	"sync"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/internal/shared"
)

// BroadcastVar is a read-only value sent to every executor once, rather
// than with every task: a lookup table, a model, a dictionary.
//
// Register it by name in a package-level variable, like a function, and
// set its value on the driver:
//
//	var lookup = stoke.RegisterBroadcast[map[string]int]("app.lookup")
//
//	var score = stoke.RegisterMap("app.score", func(w string) int {
//		return lookup.Value()[w]
//	})
//
//	func main() {
//		sc, _ := stoke.New(nil)
//		if err := lookup.Set(sc, table); err != nil { ... }
//		stoke.Collect(ctx, stoke.Map(words, score))
//	}
//
// Why by name: registered functions are package-level (they exist before
// main runs), and executor processes run the same binary but never run main
// past stoke.New, so a variable assigned in main would be unset there. A
// registered name exists in every process; Value resolves it wherever it
// runs:
//
//   - on the driver, and in executors inside the driver's process
//     (local[N]), it returns the driver's copy directly;
//   - in an executor process, the first Value call fetches the value from
//     the driver over its gRPC endpoint (authenticated with the
//     application's secret) in chunks of stoke.broadcast.blockSize, checks
//     its CRC-32C, decodes it once and caches it for all the executor's
//     tasks; concurrent first calls share one fetch. An executor process
//     learns where to fetch from when it starts (a process-global fetcher:
//     one executor per process).
//
// The value is encoded once, by Set, with the same codec as records (gob
// for most types). Tasks on one executor share the decoded value: do not
// modify it.
type BroadcastVar[T any] struct {
	name string

	mu        sync.RWMutex
	sc        *Context // of the last Set: whose executors to tell
	v         T
	set       bool
	destroyed bool
}

var broadcastNames = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// RegisterBroadcast registers a broadcast variable under name; call it in a
// package-level variable so that every process (driver and executors) has
// it. Registering a name twice panics.
func RegisterBroadcast[T any](name string) *BroadcastVar[T] {
	broadcastNames.Lock()
	defer broadcastNames.Unlock()
	if name == "" {
		panic("stoke: a broadcast variable needs a name")
	}
	if broadcastNames.m[name] {
		panic(fmt.Sprintf("stoke: broadcast variable %q is registered twice", name))
	}
	broadcastNames.m[name] = true
	return &BroadcastVar[T]{name: name}
}

// Name is the registered name.
func (b *BroadcastVar[T]) Name() string { return b.name }

// Set makes v the variable's value, on the driver: it is encoded once here
// and served to executors as they first read it. Setting it again replaces
// the value: executors drop their copy, and tasks launched afterwards read
// the new one (this also gives a destroyed variable a new value).
func (b *BroadcastVar[T]) Set(sc *Context, v T) error {
	data, err := registry.EncodeSlice([]T{v})
	if err != nil {
		return fmt.Errorf("broadcast variable %q: %w", b.name, err)
	}
	b.mu.Lock()
	if _, err := shared.Publish(b.name, data); err != nil {
		b.mu.Unlock()
		return err
	}
	replaced := b.set || b.destroyed
	b.v, b.set, b.sc, b.destroyed = v, true, sc, false
	b.mu.Unlock()
	if replaced {
		releaseBroadcast(sc, b.name)
	}
	return nil
}

// Broadcast sets the value of the registered variable b and returns b:
// the functional form of b.Set(sc, v).
func Broadcast[T any](sc *Context, b *BroadcastVar[T], v T) (*BroadcastVar[T], error) {
	if err := b.Set(sc, v); err != nil {
		return nil, err
	}
	return b, nil
}

// Value returns the variable's value, on the driver or inside a registered
// function on an executor. It panics (failing the task, with the reason) if
// the value was never set, was destroyed, or cannot be fetched.
func (b *BroadcastVar[T]) Value() T {
	if shared.InExecutor() {
		v, err := shared.Get(b.name, func(data []byte) (any, error) {
			vs, err := registry.DecodeSlice[T](data)
			if err != nil {
				return nil, err
			}
			if len(vs) != 1 {
				return nil, fmt.Errorf("the value holds %d records, not one", len(vs))
			}
			return vs[0], nil
		})
		if err != nil {
			panic(fmt.Sprintf("stoke: broadcast variable %q: %v", b.name, err))
		}
		return v.(T)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	switch {
	case b.destroyed:
		panic(fmt.Sprintf("stoke: broadcast variable %q was destroyed; it cannot be used after Destroy", b.name))
	case !b.set:
		panic(fmt.Sprintf("stoke: broadcast variable %q has no value: call its Set on the driver before running jobs that read it", b.name))
	}
	return b.v
}

// Unpersist drops the executors' copies; the driver keeps its own, and an
// executor that reads the variable again fetches it again.
func (b *BroadcastVar[T]) Unpersist() {
	b.mu.Lock()
	sc := b.sc
	b.mu.Unlock()
	releaseBroadcast(sc, b.name)
}

// Destroy removes the value everywhere, for good: executors drop their
// copies, the driver forgets it, and Value panics from then on (a task that
// reads it fails, saying the variable was destroyed) until a later Set
// gives the name a new value.
func (b *BroadcastVar[T]) Destroy() {
	b.mu.Lock()
	var zero T
	sc := b.sc
	b.v, b.set, b.destroyed = zero, false, true
	b.mu.Unlock()
	shared.Destroy(b.name)
	releaseBroadcast(sc, b.name)
}

func releaseBroadcast(sc *Context, name string) {
	if sc == nil {
		return
	}
	if r, ok := sc.be.(backend.BroadcastReleaser); ok {
		r.ReleaseBroadcasts([]string{name})
	}
}
