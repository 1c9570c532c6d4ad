package registry

import (
	"math"
	"reflect"
	"sync"
	"unsafe"
)

// FNV-1a 64 parameters.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// fnvUint64 hashes the 8 little-endian bytes of v.
func fnvUint64(h, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

func fnvBool(h uint64, v bool) uint64 {
	if v {
		h ^= 1
	}
	return h * fnvPrime
}

// fnvFloat64 hashes the bits of v, with -0 as +0 since they are equal keys.
func fnvFloat64(h uint64, v float64) uint64 {
	if v == 0 {
		v = 0
	}
	return fnvUint64(h, math.Float64bits(v))
}

// hashOp hashes one leaf of a key's memory, or an array of a sub-program.
type hashOp struct {
	kind reflect.Kind
	off  uintptr
	// withLen mixes a string's length in after its bytes, so ("ab", "c")
	// and ("a", "bc") differ. A plain string key hashes its bytes only.
	withLen bool
	// Arrays too long to unroll: n elements of stride bytes, each hashed by sub.
	n      int
	stride uintptr
	sub    []hashOp
}

// maxUnrolled bounds the ops an array is unrolled into.
const maxUnrolled = 64

type hashProgram struct {
	ops []hashOp
	ok  bool
}

var hashPrograms sync.Map // reflect.Type -> hashProgram

// hashOpsOf compiles the hash program of a comparable type; ok is false for
// types it cannot hash by memory (not comparable, or holding non-empty
// interfaces), which HashKey hashes by their printed form.
func hashOpsOf(t reflect.Type) ([]hashOp, bool) {
	if p, ok := hashPrograms.Load(t); ok {
		hp := p.(hashProgram)
		return hp.ops, hp.ok
	}
	var hp hashProgram
	if t.Comparable() {
		hp.ops, hp.ok = appendHashOps(nil, t, 0)
		if hp.ok && t.Kind() == reflect.String {
			hp.ops[0].withLen = false
		}
	}
	hashPrograms.Store(t, hp)
	return hp.ops, hp.ok
}

func appendHashOps(ops []hashOp, t reflect.Type, off uintptr) ([]hashOp, bool) {
	switch k := t.Kind(); k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128,
		reflect.Pointer, reflect.Chan, reflect.UnsafePointer:
		return append(ops, hashOp{kind: k, off: off}), true
	case reflect.String:
		return append(ops, hashOp{kind: k, off: off, withLen: true}), true
	case reflect.Interface:
		if t.NumMethod() > 0 {
			return nil, false
		}
		return append(ops, hashOp{kind: k, off: off}), true
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" { // blank fields take no part in ==
				continue
			}
			var ok bool
			if ops, ok = appendHashOps(ops, f.Type, off+f.Offset); !ok {
				return nil, false
			}
		}
		return ops, true
	case reflect.Array:
		sub, ok := appendHashOps(nil, t.Elem(), 0)
		if !ok {
			return nil, false
		}
		n, stride := t.Len(), t.Elem().Size()
		if n*len(sub) <= maxUnrolled {
			for i := range n {
				for _, op := range sub {
					op.off += off + uintptr(i)*stride
					ops = append(ops, op)
				}
			}
			return ops, true
		}
		return append(ops, hashOp{kind: k, off: off, n: n, stride: stride, sub: sub}), true
	}
	return nil, false
}

// runHash folds the key at p into h. It only reads through p, so a key
// hashed from a local variable stays on the stack.
func runHash(h uint64, ops []hashOp, p unsafe.Pointer) uint64 {
	for i := range ops {
		op := &ops[i]
		q := unsafe.Add(p, op.off)
		switch op.kind {
		case reflect.String:
			s := *(*string)(q)
			h = fnvString(h, s)
			if op.withLen {
				h = fnvUint64(h, uint64(len(s)))
			}
		case reflect.Int:
			h = fnvUint64(h, uint64(*(*int)(q)))
		case reflect.Int8:
			h = fnvUint64(h, uint64(*(*int8)(q)))
		case reflect.Int16:
			h = fnvUint64(h, uint64(*(*int16)(q)))
		case reflect.Int32:
			h = fnvUint64(h, uint64(*(*int32)(q)))
		case reflect.Int64:
			h = fnvUint64(h, uint64(*(*int64)(q)))
		case reflect.Uint:
			h = fnvUint64(h, uint64(*(*uint)(q)))
		case reflect.Uint8:
			h = fnvUint64(h, uint64(*(*uint8)(q)))
		case reflect.Uint16:
			h = fnvUint64(h, uint64(*(*uint16)(q)))
		case reflect.Uint32:
			h = fnvUint64(h, uint64(*(*uint32)(q)))
		case reflect.Uint64:
			h = fnvUint64(h, *(*uint64)(q))
		case reflect.Uintptr:
			h = fnvUint64(h, uint64(*(*uintptr)(q)))
		case reflect.Bool:
			h = fnvBool(h, *(*bool)(q))
		case reflect.Float32:
			h = fnvFloat64(h, float64(*(*float32)(q)))
		case reflect.Float64:
			h = fnvFloat64(h, *(*float64)(q))
		case reflect.Complex64:
			c := *(*complex64)(q)
			h = fnvFloat64(fnvFloat64(h, float64(real(c))), float64(imag(c)))
		case reflect.Complex128:
			c := *(*complex128)(q)
			h = fnvFloat64(fnvFloat64(h, real(c)), imag(c))
		case reflect.Pointer, reflect.Chan, reflect.UnsafePointer:
			// Only the address identifies these: such keys hash the same
			// within one process, not across processes.
			h = fnvUint64(h, uint64(*(*uintptr)(q)))
		case reflect.Interface:
			h = fnvUint64(h, HashKey(*(*any)(q)))
		case reflect.Array:
			for j := range op.n {
				h = runHash(h, op.sub, unsafe.Add(q, uintptr(j)*op.stride))
			}
		}
	}
	return h
}

// KeyHasher returns a hash function for keys of type K that gives the same
// value in every process and run, and equals HashKey(k). Strings, numbers,
// bools and structs and arrays of them hash without allocating, named types
// (type Word string) included; pointer and channel keys hash their address,
// which is only stable within one process.
func KeyHasher[K comparable]() func(K) uint64 {
	t := reflect.TypeFor[K]()
	ops, ok := hashOpsOf(t)
	if !ok || t.Kind() == reflect.Interface {
		return func(k K) uint64 { return HashKey(k) }
	}
	return func(k K) uint64 { return runHash(fnvOffset, ops, unsafe.Pointer(&k)) }
}
