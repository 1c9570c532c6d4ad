package registry

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"reflect"
)

// TypeName is the name under which T is registered: its Go type string.
func TypeName[T any]() string { return reflect.TypeFor[T]().String() }

// AddType registers T with a gob codec and returns its name. Registering the
// same type again is a no-op; two different types with one name panic.
func AddType[T any]() string {
	rt := reflect.TypeFor[T]()
	name := rt.String()
	mu.Lock()
	defer mu.Unlock()
	if t, ok := types[name]; ok {
		if t.RType != rt {
			panic(fmt.Sprintf("stoke: two element types share the name %q (%v and %v); rename one", name, t.RType, rt))
		}
		return name
	}
	if frozen {
		panic(fmt.Sprintf("stoke: element type %s registered after the Context started; use it in a function registered at init or call stoke.RegisterType in a package-level variable", name))
	}
	types[name] = &Type{
		Name:   name,
		RType:  rt,
		Encode: encodeAs[T],
		Decode: decodeAs[T],
	}
	return name
}

func encodeAs[T any](records []any) ([]byte, error) {
	typed := make([]T, len(records))
	for i, r := range records {
		v, ok := r.(T)
		if !ok {
			return nil, fmt.Errorf("record %d is %T, want %s", i, r, reflect.TypeFor[T]())
		}
		typed[i] = v
	}
	return EncodeSlice(typed)
}

func decodeAs[T any](data []byte) ([]any, error) {
	typed, err := DecodeSlice[T](data)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(typed))
	for i := range typed {
		out[i] = typed[i]
	}
	return out, nil
}

// EncodeSlice encodes records with gob.
func EncodeSlice[T any](records []T) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(records); err != nil {
		return nil, fmt.Errorf("encoding %d records of %s: %w", len(records), reflect.TypeFor[T](), err)
	}
	return buf.Bytes(), nil
}

// DecodeSlice decodes what EncodeSlice wrote; an empty input is no records.
func DecodeSlice[T any](data []byte) ([]T, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var out []T
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&out); err != nil {
		return nil, fmt.Errorf("decoding records of %s: %w", reflect.TypeFor[T](), err)
	}
	return out, nil
}

func init() {
	// Element types every application may use without registering them.
	AddType[string]()
	AddType[[]byte]()
	AddType[int]()
	AddType[int32]()
	AddType[int64]()
	AddType[uint64]()
	AddType[float64]()
	AddType[bool]()
}
