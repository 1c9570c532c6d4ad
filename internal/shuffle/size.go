package shuffle

import (
	"reflect"
	"unsafe"
)

// Sizer estimates the memory a record holds: its fixed size plus the bytes
// of the strings and slices it points to (one level deep, which covers
// keys and values made of strings, numbers and slices of them). Other
// pointers count a fixed guess. It is an estimate for spill decisions, not
// an accounting.
func Sizer[T any]() func(*T) int64 {
	t := reflect.TypeFor[T]()
	base := int64(t.Size())
	f := dynamicSize(t)
	if f == nil {
		return func(*T) int64 { return base }
	}
	return func(p *T) int64 { return base + f(unsafe.Pointer(p)) }
}

const pointerGuess = 64

// dynamicSize returns the size held outside a value of t, or nil when t
// holds no pointers.
func dynamicSize(t reflect.Type) func(unsafe.Pointer) int64 {
	switch t.Kind() {
	case reflect.String:
		return func(p unsafe.Pointer) int64 { return int64(len(*(*string)(p))) }
	case reflect.Slice:
		elem := t.Elem()
		es := int64(elem.Size())
		inner := dynamicSize(elem)
		return func(p unsafe.Pointer) int64 {
			h := (*sliceHeader)(p)
			n := int64(h.cap) * es
			if inner != nil {
				for i := 0; i < h.len; i++ {
					n += inner(unsafe.Add(h.data, uintptr(i)*uintptr(es)))
				}
			}
			return n
		}
	case reflect.Struct:
		var fields []func(unsafe.Pointer) int64
		var offs []uintptr
		for i := range t.NumField() {
			f := t.Field(i)
			if g := dynamicSize(f.Type); g != nil {
				fields, offs = append(fields, g), append(offs, f.Offset)
			}
		}
		if len(fields) == 0 {
			return nil
		}
		return func(p unsafe.Pointer) int64 {
			var n int64
			for i, g := range fields {
				n += g(unsafe.Add(p, offs[i]))
			}
			return n
		}
	case reflect.Array:
		inner := dynamicSize(t.Elem())
		if inner == nil {
			return nil
		}
		es, n := t.Elem().Size(), t.Len()
		return func(p unsafe.Pointer) int64 {
			var s int64
			for i := range n {
				s += inner(unsafe.Add(p, uintptr(i)*es))
			}
			return s
		}
	case reflect.Pointer, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return func(unsafe.Pointer) int64 { return pointerGuess }
	}
	return nil
}

type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}

// HoldsReferences reports whether a T points to memory outside itself
// (strings, slices, maps, pointers), so that values of it may grow.
func HoldsReferences[T any]() bool { return dynamicSize(reflect.TypeFor[T]()) != nil }
