package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"reflect"
	"slices"
	"unsafe"
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

// EncodeSlice encodes records as one block: no bytes for none, the typed
// codec (see codec.go) for every type it supports, gob for the others.
func EncodeSlice[T any](records []T) ([]byte, error) {
	if len(records) == 0 {
		return nil, nil
	}
	return AppendSlice(nil, records)
}

// AppendSlice appends the block EncodeSlice would return to dst. On an error
// it returns dst as it was.
func AppendSlice[T any](dst []byte, records []T) ([]byte, error) {
	if len(records) == 0 {
		return dst, nil
	}
	tc := codecOf(reflect.TypeFor[T]())
	if tc.c == nil {
		buf := bytes.NewBuffer(dst)
		buf.WriteByte(tagGob)
		if err := gob.NewEncoder(buf).Encode(records); err != nil {
			return dst, fmt.Errorf("encoding %d records of %s with gob (%s): %w", len(records), reflect.TypeFor[T](), tc.why, err)
		}
		return buf.Bytes(), nil
	}
	e := encoder{b: slices.Grow(dst, 1+4+binary.MaxVarintLen64+len(records)*max(tc.c.min, 1))}
	e.b = append(e.b, tc.tag)
	if tc.tag == tagTyped {
		e.b = binary.LittleEndian.AppendUint32(e.b, tc.shape)
	}
	e.b = binary.AppendUvarint(e.b, uint64(len(records)))
	enc := tc.c.enc
	for i := range records {
		enc(&e, unsafe.Pointer(&records[i]))
		if e.err != nil {
			return dst, fmt.Errorf("encoding record %d of %s: %w", i, reflect.TypeFor[T](), e.err)
		}
	}
	return e.b, nil
}

// DecodeSlice decodes what EncodeSlice wrote; an empty input is no records.
func DecodeSlice[T any](data []byte) ([]T, error) {
	return DecodeSliceInto[T](data, nil)
}

// DecodeSliceInto decodes a block and appends its records to dst, reusing
// dst's capacity. Malformed, truncated or hostile data is an error, never a
// panic; on an error dst is returned as it was.
func DecodeSliceInto[T any](data []byte, dst []T) (out []T, err error) {
	if len(data) == 0 {
		return dst, nil
	}
	defer func() {
		// A user's UnmarshalBinary may panic on bad bytes.
		if r := recover(); r != nil {
			out, err = dst, fmt.Errorf("decoding records of %s: %v", reflect.TypeFor[T](), r)
		}
	}()
	out, err = decodeBlock(data, dst)
	if err != nil {
		return dst, fmt.Errorf("decoding records of %s: %w", reflect.TypeFor[T](), err)
	}
	return out, nil
}

func decodeBlock[T any](data []byte, dst []T) ([]T, error) {
	tag := data[0]
	data = data[1:]
	if tag == tagGob {
		if err := checkGobFraming(data); err != nil {
			return nil, err
		}
		var recs []T
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&recs); err != nil {
			return nil, err
		}
		return append(dst, recs...), nil
	}
	if tag != tagStrings && tag != tagInts && tag != tagTyped {
		return nil, fmt.Errorf("unknown block tag %#x (not a block of records, or written by another version)", tag)
	}
	tc := codecOf(reflect.TypeFor[T]())
	if tc.c == nil {
		return nil, fmt.Errorf("the block was written with the typed codec, but this type needs gob (%s)", tc.why)
	}
	if tag != tc.tag {
		return nil, fmt.Errorf("the block holds %s, not this type", tagContents(tag))
	}
	if tag == tagTyped {
		if len(data) < 4 {
			return nil, errTruncated
		}
		if got := binary.LittleEndian.Uint32(data); got != tc.shape {
			return nil, fmt.Errorf("the block holds records of another type (layout hash %#x, want %#x)", got, tc.shape)
		}
		data = data[4:]
	}
	d := decoder{b: data}
	n, err := d.count(tc.c.min)
	if err != nil {
		return nil, err
	}
	at := len(dst)
	dst = slices.Grow(dst, n)[:at+n]
	dec := tc.c.dec
	var zero T
	if unsafe.Sizeof(zero) > 0 {
		for i := at; i < len(dst); i++ {
			if err := dec(&d, unsafe.Pointer(&dst[i])); err != nil {
				return nil, fmt.Errorf("record %d: %w", i-at, err)
			}
		}
	}
	if len(d.b) != 0 {
		return nil, errTrailing
	}
	return dst, nil
}

// checkGobFraming walks the length-prefixed messages of a gob stream and
// refuses one that claims more bytes than the data holds: gob would
// allocate a buffer of the claimed size (up to 1 GiB) before reading.
func checkGobFraming(b []byte) error {
	for len(b) > 0 {
		n, k := gobUint(b)
		if k == 0 || n > uint64(len(b)-k) {
			return fmt.Errorf("gob message claims more bytes than the block holds")
		}
		b = b[k+int(n):]
	}
	return nil
}

// gobUint reads gob's unsigned integer: one byte below 128, else a byte
// holding minus the length, then that many big-endian bytes. k is 0 when
// the data is malformed.
func gobUint(b []byte) (v uint64, k int) {
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	n := -int(int8(b[0]))
	if n > 8 || len(b) < 1+n {
		return 0, 0
	}
	for _, c := range b[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	return v, 1 + n
}

func tagContents(tag byte) string {
	switch tag {
	case tagStrings:
		return "strings"
	case tagInts:
		return "integers"
	}
	return "records of a typed codec"
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
