package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"reflect"
)

// TypeName is the name under which T is registered: its Go type string.
func TypeName[T any]() string { return reflect.TypeFor[T]().String() }

// AddType registers T with a gob codec and returns its name. Registering the
// same type again is a no-op; two different types with one name panic.
//
// It also registers T's built-in operators (see builtins.go): sample, limit,
// zipWithIndex and the repartition shuffle, named after T, so that every
// process of the application has them without the program registering
// anything. They depend only on T, so the driver's and the executors'
// function lists (FuncNames) stay equal.
func AddType[T any]() string {
	mu.Lock()
	defer mu.Unlock()
	t := ensureOps[T]()
	if t.level < levelFull {
		checkUpgrade(t.Name)
		ensureOps[Indexed[T]]()
		addFuncLocked(zipWithIndexFunc[T](t.Name))
		t.level = levelFull
	}
	return t.Name
}

// ensureType registers T with its codec alone (mu held).
func ensureType[T any]() *Type {
	rt := reflect.TypeFor[T]()
	name := rt.String()
	if t, ok := types[name]; ok {
		if t.RType != rt {
			panic(fmt.Sprintf("stoke: two element types share the name %q (%v and %v); rename one", name, t.RType, rt))
		}
		return t
	}
	if frozen {
		panic(fmt.Sprintf("stoke: element type %s registered after the Context started; use it in a function registered at init or call stoke.RegisterType in a package-level variable", name))
	}
	t := newType[T](name, rt)
	types[name] = t
	return t
}

// ensureOps registers T with the built-ins that need no type derived from
// T beyond Indexed[T] (mu held).
func ensureOps[T any]() *Type {
	t := ensureType[T]()
	if t.level >= levelOps {
		return t
	}
	checkUpgrade(t.Name)
	indexed := ensureType[Indexed[T]]().Name
	addFuncLocked(sampleFunc[T](t.Name))
	addFuncLocked(limitFunc[T](t.Name))
	addFuncLocked(roundRobinFunc[T](t.Name, indexed))
	addShuffleLocked(repartitionShuffle[T](t.Name, indexed))
	t.level = levelOps
	return t
}

// checkUpgrade refuses to add built-ins to a type after the registry froze:
// executors started without them.
func checkUpgrade(name string) {
	if frozen {
		panic(fmt.Sprintf("stoke: element type %s registered after the Context started; call stoke.RegisterType[%s]() in a package-level variable", name, name))
	}
}

// EncodeSlice encodes records: no bytes for none, a compact binary form
// for strings and integers, gob for everything else.
func EncodeSlice[T any](records []T) ([]byte, error) {
	if len(records) == 0 {
		return nil, nil
	}
	switch rs := any(records).(type) {
	case []string:
		return encodeStrings(rs), nil
	case []int:
		return encodeInts(rs), nil
	case []int64:
		return encodeInts(rs), nil
	}
	var buf bytes.Buffer
	buf.WriteByte(tagGob)
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
	var err error
	switch data[0] {
	case tagGob:
		err = gob.NewDecoder(bytes.NewReader(data[1:])).Decode(&out)
	case tagStrings:
		if p, ok := any(&out).(*[]string); ok {
			*p, err = decodeStrings(data[1:])
		} else {
			err = fmt.Errorf("the data holds strings")
		}
	case tagInts:
		switch p := any(&out).(type) {
		case *[]int:
			*p, err = decodeInts[int](data[1:])
		case *[]int64:
			*p, err = decodeInts[int64](data[1:])
		default:
			err = fmt.Errorf("the data holds integers")
		}
	default:
		err = fmt.Errorf("unknown encoding tag %#x", data[0])
	}
	if err != nil {
		return nil, fmt.Errorf("decoding records of %s: %w", reflect.TypeFor[T](), err)
	}
	return out, nil
}

const (
	tagGob     = 'g'
	tagStrings = 's'
	tagInts    = 'i'
)

func encodeStrings(rs []string) []byte {
	n := 1 + binary.MaxVarintLen64
	for _, r := range rs {
		n += len(r) + binary.MaxVarintLen32
	}
	b := make([]byte, 0, n)
	b = append(b, tagStrings)
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	return b
}

func decodeStrings(b []byte) ([]string, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errMalformed
	}
	b = b[k:]
	out := make([]string, n)
	for i := range out {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, errMalformed
		}
		out[i] = string(b[k : k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return nil, errMalformed
	}
	return out, nil
}

func encodeInts[I int | int64](rs []I) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64*(len(rs)+1))
	b = append(b, tagInts)
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		b = binary.AppendVarint(b, int64(r))
	}
	return b
}

func decodeInts[I int | int64](b []byte) ([]I, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errMalformed
	}
	b = b[k:]
	out := make([]I, n)
	for i := range out {
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, errMalformed
		}
		out[i] = I(v)
		b = b[k:]
	}
	if len(b) != 0 {
		return nil, errMalformed
	}
	return out, nil
}

var errMalformed = fmt.Errorf("malformed or truncated data")

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
