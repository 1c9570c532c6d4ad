package registry

import (
	"encoding"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"strings"
	"sync"
	"unsafe"
)

// The typed codec encodes a value of a supported type as:
//
//	bool                 one byte, 0 or 1
//	signed integers      zigzag varint
//	unsigned integers    varint
//	float32, float64     4 or 8 bytes, little-endian IEEE 754
//	complex64/128        real then imaginary part, as floats
//	string               varint length, then the bytes
//	slice, map           varint length+1 (0 is nil), then the elements
//	                     (maps: key, value pairs); []byte as raw bytes
//	array                the elements ([N]byte as raw bytes)
//	struct               every field in order, exported or not
//	pointer              presence byte 0 (nil) or 1, then the value
//	BinaryMarshaler      varint length, then what MarshalBinary returned
//
// A codec is compiled once per type with reflect and works on memory through
// unsafe field offsets. Types it cannot encode (interfaces, channels,
// functions, unsafe pointers, GobEncoders) use gob for the whole block.
// Pointers are followed, not shared: two fields pointing at one value decode
// as two copies (as with gob). Strings of up to 64 bytes decoded from one
// block share 2 KiB chunks, so a kept string may keep its chunk alive.

// maxDepth bounds how deeply pointers, slices and maps may nest in one
// record, so hostile input cannot exhaust the stack and a cyclic value
// fails instead of looping.
const maxDepth = 10000

// maxZeroSizeCount bounds the count of zero-size elements (struct{}), which
// take no bytes, so a hostile count cannot make a decoder loop for ages.
const maxZeroSizeCount = 1 << 31

type encoder struct {
	b     []byte
	depth int
	err   error
}

type decoder struct {
	b     []byte // what is left to read
	depth int
	// strs holds the bytes of short strings decoded so far: they share
	// chunks instead of taking one allocation each. A chunk is only
	// appended to, so strings made from it never change.
	strs []byte
}

// Short strings share chunks of strChunk bytes; a string kept alive keeps
// at most its chunk alive.
const (
	maxSharedString = 64
	strChunk        = 2048
)

// codec encodes and decodes one type's values in place.
type codec struct {
	enc func(e *encoder, p unsafe.Pointer)
	dec func(d *decoder, p unsafe.Pointer) error
	// min is the fewest bytes a value encodes to: counts in the data are
	// checked against it before anything is allocated.
	min int
	// shape describes the layout, so a block of one type is not decoded as
	// another.
	shape string
}

// typeCodec is the cached result of compiling a record type.
type typeCodec struct {
	c     *codec // nil when the type falls back to gob
	why   string // why gob is used
	tag   byte
	shape uint32
}

// Block tags: the first byte of every non-empty block.
const (
	tagGob     = 'g' // gob stream of []T
	tagStrings = 's' // typed codec, records of a string kind
	tagInts    = 'i' // typed codec, records of a signed integer kind
	tagTyped   = 'c' // typed codec, any other type; 4-byte shape hash follows
)

var codecs sync.Map // reflect.Type -> *typeCodec

func codecOf(t reflect.Type) *typeCodec {
	if tc, ok := codecs.Load(t); ok {
		return tc.(*typeCodec)
	}
	comp := compiler{memo: map[reflect.Type]*codec{}}
	c, why := comp.compile(t, "")
	tc := &typeCodec{c: c, why: why, tag: tagGob}
	if why == "" {
		switch c.shape { // not the kind: a string type may be a BinaryMarshaler
		case "s":
			tc.tag = tagStrings
		case "i":
			tc.tag = tagInts
		default:
			tc.tag = tagTyped
			h := fnv.New32a()
			h.Write([]byte(c.shape))
			tc.shape = h.Sum32()
		}
	} else {
		tc.c = nil
	}
	actual, _ := codecs.LoadOrStore(t, tc)
	return actual.(*typeCodec)
}

var (
	binaryMarshalerType   = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	gobEncoderType        = reflect.TypeFor[gob.GobEncoder]()
)

type compiler struct {
	// memo holds the codecs of this compilation, including ones still being
	// built, so recursive types refer to themselves.
	memo map[reflect.Type]*codec
}

// compile builds t's codec, or says why t needs gob. path names where t sits
// in the record, for the message.
func (comp *compiler) compile(t reflect.Type, path string) (*codec, string) {
	if c, ok := comp.memo[t]; ok {
		return c, ""
	}
	c := &codec{}
	comp.memo[t] = c
	why := comp.build(c, t, path)
	if why != "" {
		return nil, why
	}
	return c, ""
}

func where(path string) string {
	if path == "" {
		return "the record type"
	}
	return "field " + path
}

func (comp *compiler) build(c *codec, t reflect.Type, path string) string {
	if t.Kind() != reflect.Interface {
		pt := reflect.PointerTo(t)
		if pt.Implements(binaryMarshalerType) && pt.Implements(binaryUnmarshalerType) {
			buildMarshaler(c, t)
			return ""
		}
		if pt.Implements(gobEncoderType) {
			return fmt.Sprintf("%s (%s) implements GobEncoder but not BinaryMarshaler", where(path), t)
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		c.enc, c.dec, c.min, c.shape = encBool, decBool, 1, "b"
	case reflect.Int:
		intCodec[int](c)
	case reflect.Int8:
		intCodec[int8](c)
	case reflect.Int16:
		intCodec[int16](c)
	case reflect.Int32:
		intCodec[int32](c)
	case reflect.Int64:
		intCodec[int64](c)
	case reflect.Uint:
		uintCodec[uint](c)
	case reflect.Uint8:
		uintCodec[uint8](c)
	case reflect.Uint16:
		uintCodec[uint16](c)
	case reflect.Uint32:
		uintCodec[uint32](c)
	case reflect.Uint64:
		uintCodec[uint64](c)
	case reflect.Uintptr:
		uintCodec[uintptr](c)
	case reflect.Float32:
		c.enc, c.dec, c.min, c.shape = encFloat32, decFloat32, 4, "f4"
	case reflect.Float64:
		c.enc, c.dec, c.min, c.shape = encFloat64, decFloat64, 8, "f8"
	case reflect.Complex64:
		c.enc, c.dec, c.min, c.shape = encComplex64, decComplex64, 8, "c8"
	case reflect.Complex128:
		c.enc, c.dec, c.min, c.shape = encComplex128, decComplex128, 16, "c16"
	case reflect.String:
		c.enc, c.dec, c.min, c.shape = encString, decString, 1, "s"
	case reflect.Slice:
		if plainByte(t.Elem()) {
			c.enc, c.dec, c.min, c.shape = encBytes, decBytes, 1, "B"
			return ""
		}
		elem, why := comp.compile(t.Elem(), path+"[]")
		if why != "" {
			return why
		}
		buildSlice(c, t, elem)
	case reflect.Array:
		if plainByte(t.Elem()) {
			buildByteArray(c, t.Len())
			return ""
		}
		elem, why := comp.compile(t.Elem(), fmt.Sprintf("%s[%d]", path, t.Len()))
		if why != "" {
			return why
		}
		buildArray(c, t, elem)
	case reflect.Struct:
		return comp.buildStruct(c, t, path)
	case reflect.Map:
		key, why := comp.compile(t.Key(), path+"[key]")
		if why != "" {
			return why
		}
		val, why := comp.compile(t.Elem(), path+"[value]")
		if why != "" {
			return why
		}
		buildMap(c, t, key, val)
	case reflect.Pointer:
		elem, why := comp.compile(t.Elem(), path)
		if why != "" {
			return why
		}
		buildPointer(c, t, elem)
	case reflect.Interface:
		return where(path) + " is an interface"
	default: // chan, func, unsafe.Pointer
		return fmt.Sprintf("%s is a %s", where(path), t.Kind())
	}
	return ""
}

// plainByte says whether t is a byte type without methods of its own, which
// slices and arrays of it copy as raw bytes.
func plainByte(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Kind() == reflect.Uint8 && !pt.Implements(binaryMarshalerType) && !pt.Implements(gobEncoderType)
}

// Errors on malformed data. They are values, so the happy path allocates
// nothing for them.
var (
	errTruncated = errors.New("data ends in the middle of a record")
	errVarint    = errors.New("malformed varint")
	errBool      = errors.New("bool byte is neither 0 nor 1")
	errPresence  = errors.New("pointer presence byte is neither 0 nor 1")
	errRange     = errors.New("integer does not fit the field's type")
	errCount     = errors.New("a length or count is larger than the data left")
	errDepth     = fmt.Errorf("values nest deeper than %d levels", maxDepth)
	errTrailing  = errors.New("bytes left over after the last record")
)

// count reads a count of values that take at least min bytes each and
// checks that the data left can hold them.
func (d *decoder) count(min int) (int, error) {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		return 0, errVarint
	}
	d.b = d.b[k:]
	return checkCount(n, min, len(d.b))
}

func checkCount(n uint64, min, left int) (int, error) {
	if min == 0 {
		if n > maxZeroSizeCount {
			return 0, errCount
		}
		return int(n), nil
	}
	if n > uint64(left/min) {
		return 0, errCount
	}
	return int(n), nil
}

// nilCount reads a length+1 (0 for nil) of values of at least min bytes.
func (d *decoder) nilCount(min int) (n int, isNil bool, err error) {
	u, k := binary.Uvarint(d.b)
	if k <= 0 {
		return 0, false, errVarint
	}
	d.b = d.b[k:]
	if u == 0 {
		return 0, true, nil
	}
	n, err = checkCount(u-1, min, len(d.b))
	return n, false, err
}

func encBool(e *encoder, p unsafe.Pointer) {
	if *(*bool)(p) {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func decBool(d *decoder, p unsafe.Pointer) error {
	if len(d.b) == 0 {
		return errTruncated
	}
	switch d.b[0] {
	case 0:
		*(*bool)(p) = false
	case 1:
		*(*bool)(p) = true
	default:
		return errBool
	}
	d.b = d.b[1:]
	return nil
}

func intCodec[I int | int8 | int16 | int32 | int64](c *codec) {
	c.min, c.shape = 1, "i"
	c.enc = func(e *encoder, p unsafe.Pointer) {
		e.b = binary.AppendVarint(e.b, int64(*(*I)(p)))
	}
	c.dec = func(d *decoder, p unsafe.Pointer) error {
		v, k := binary.Varint(d.b)
		if k <= 0 {
			return errVarint
		}
		if int64(I(v)) != v {
			return errRange
		}
		*(*I)(p) = I(v)
		d.b = d.b[k:]
		return nil
	}
}

func uintCodec[U uint | uint8 | uint16 | uint32 | uint64 | uintptr](c *codec) {
	c.min, c.shape = 1, "u"
	c.enc = func(e *encoder, p unsafe.Pointer) {
		e.b = binary.AppendUvarint(e.b, uint64(*(*U)(p)))
	}
	c.dec = func(d *decoder, p unsafe.Pointer) error {
		v, k := binary.Uvarint(d.b)
		if k <= 0 {
			return errVarint
		}
		if uint64(U(v)) != v {
			return errRange
		}
		*(*U)(p) = U(v)
		d.b = d.b[k:]
		return nil
	}
}

func encFloat32(e *encoder, p unsafe.Pointer) {
	e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(*(*float32)(p)))
}

func decFloat32(d *decoder, p unsafe.Pointer) error {
	if len(d.b) < 4 {
		return errTruncated
	}
	*(*float32)(p) = math.Float32frombits(binary.LittleEndian.Uint32(d.b))
	d.b = d.b[4:]
	return nil
}

func encFloat64(e *encoder, p unsafe.Pointer) {
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(*(*float64)(p)))
}

func decFloat64(d *decoder, p unsafe.Pointer) error {
	if len(d.b) < 8 {
		return errTruncated
	}
	*(*float64)(p) = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return nil
}

func encComplex64(e *encoder, p unsafe.Pointer) {
	encFloat32(e, p)
	encFloat32(e, unsafe.Add(p, 4))
}

func decComplex64(d *decoder, p unsafe.Pointer) error {
	if err := decFloat32(d, p); err != nil {
		return err
	}
	return decFloat32(d, unsafe.Add(p, 4))
}

func encComplex128(e *encoder, p unsafe.Pointer) {
	encFloat64(e, p)
	encFloat64(e, unsafe.Add(p, 8))
}

func decComplex128(d *decoder, p unsafe.Pointer) error {
	if err := decFloat64(d, p); err != nil {
		return err
	}
	return decFloat64(d, unsafe.Add(p, 8))
}

func encString(e *encoder, p unsafe.Pointer) {
	s := *(*string)(p)
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func decString(d *decoder, p unsafe.Pointer) error {
	n, err := d.count(1)
	if err != nil {
		return err
	}
	switch {
	case n == 0:
		*(*string)(p) = ""
	case n > maxSharedString:
		*(*string)(p) = string(d.b[:n])
	default:
		if cap(d.strs)-len(d.strs) < n {
			d.strs = make([]byte, 0, strChunk)
		}
		at := len(d.strs)
		d.strs = append(d.strs, d.b[:n]...)
		*(*string)(p) = unsafe.String(&d.strs[at], n)
	}
	d.b = d.b[n:]
	return nil
}

func encBytes(e *encoder, p unsafe.Pointer) {
	s := *(*[]byte)(p)
	if s == nil {
		e.b = append(e.b, 0)
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(len(s))+1)
	e.b = append(e.b, s...)
}

func decBytes(d *decoder, p unsafe.Pointer) error {
	n, isNil, err := d.nilCount(1)
	if err != nil {
		return err
	}
	if isNil {
		*(*[]byte)(p) = nil
		return nil
	}
	b := make([]byte, n)
	copy(b, d.b)
	*(*[]byte)(p) = b
	d.b = d.b[n:]
	return nil
}

func buildByteArray(c *codec, n int) {
	c.min, c.shape = n, fmt.Sprintf("[%d]B", n)
	c.enc = func(e *encoder, p unsafe.Pointer) {
		e.b = append(e.b, unsafe.Slice((*byte)(p), n)...)
	}
	c.dec = func(d *decoder, p unsafe.Pointer) error {
		if len(d.b) < n {
			return errTruncated
		}
		copy(unsafe.Slice((*byte)(p), n), d.b)
		d.b = d.b[n:]
		return nil
	}
}

// sliceHeader is the memory layout of every slice type.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

func buildSlice(c *codec, t reflect.Type, elem *codec) {
	size := t.Elem().Size()
	c.min, c.shape = 1, "[]"+elem.shape
	c.enc = func(e *encoder, p unsafe.Pointer) {
		s := (*sliceHeader)(p)
		if s.data == nil {
			e.b = append(e.b, 0)
			return
		}
		e.b = binary.AppendUvarint(e.b, uint64(s.len)+1)
		if e.depth++; e.depth > maxDepth {
			e.err = errDepth
			return
		}
		for i := 0; i < s.len && e.err == nil; i++ {
			elem.enc(e, unsafe.Add(s.data, uintptr(i)*size))
		}
		e.depth--
	}
	c.dec = func(d *decoder, p unsafe.Pointer) error {
		n, isNil, err := d.nilCount(elem.min)
		if err != nil {
			return err
		}
		if isNil {
			*(*sliceHeader)(p) = sliceHeader{}
			return nil
		}
		if d.depth++; d.depth > maxDepth {
			return errDepth
		}
		data := reflect.MakeSlice(t, n, n).UnsafePointer()
		if size > 0 {
			for i := range n {
				if err := elem.dec(d, unsafe.Add(data, uintptr(i)*size)); err != nil {
					return err
				}
			}
		}
		d.depth--
		*(*sliceHeader)(p) = sliceHeader{data, n, n}
		return nil
	}
}

func buildArray(c *codec, t reflect.Type, elem *codec) {
	n, size := t.Len(), t.Elem().Size()
	c.min, c.shape = n*elem.min, fmt.Sprintf("[%d]%s", n, elem.shape)
	if size == 0 || n == 0 {
		c.min = 0
		c.enc = func(*encoder, unsafe.Pointer) {}
		c.dec = func(*decoder, unsafe.Pointer) error { return nil }
		return
	}
	c.enc = func(e *encoder, p unsafe.Pointer) {
		for i := range n {
			elem.enc(e, unsafe.Add(p, uintptr(i)*size))
		}
	}
	c.dec = func(d *decoder, p unsafe.Pointer) error {
		for i := range n {
			if err := elem.dec(d, unsafe.Add(p, uintptr(i)*size)); err != nil {
				return err
			}
		}
		return nil
	}
}

type structField struct {
	off uintptr
	c   *codec
}

func (comp *compiler) buildStruct(c *codec, t reflect.Type, path string) string {
	var fields []structField
	var shape strings.Builder
	shape.WriteString("{")
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Name
		if path != "" {
			name = path + "." + f.Name
		}
		fc, why := comp.compile(f.Type, name)
		if why != "" {
			return why
		}
		shape.WriteString(fc.shape)
		shape.WriteString(";")
		if f.Type.Size() == 0 {
			continue
		}
		fields = append(fields, structField{f.Offset, fc})
		c.min += fc.min
	}
	shape.WriteString("}")
	c.shape = shape.String()
	c.enc = func(e *encoder, p unsafe.Pointer) {
		for _, f := range fields {
			f.c.enc(e, unsafe.Add(p, f.off))
		}
	}
	c.dec = func(d *decoder, p unsafe.Pointer) error {
		for _, f := range fields {
			if err := f.c.dec(d, unsafe.Add(p, f.off)); err != nil {
				return err
			}
		}
		return nil
	}
	return ""
}

func buildMap(c *codec, t reflect.Type, key, val *codec) {
	c.min, c.shape = 1, "map["+key.shape+"]"+val.shape
	kt, vt := t.Key(), t.Elem()
	c.enc = func(e *encoder, p unsafe.Pointer) {
		m := reflect.NewAt(t, p).Elem()
		if m.IsNil() {
			e.b = append(e.b, 0)
			return
		}
		e.b = binary.AppendUvarint(e.b, uint64(m.Len())+1)
		if e.depth++; e.depth > maxDepth {
			e.err = errDepth
			return
		}
		k, v := reflect.New(kt).Elem(), reflect.New(vt).Elem()
		kp, vp := k.Addr().UnsafePointer(), v.Addr().UnsafePointer()
		for it := m.MapRange(); it.Next() && e.err == nil; {
			k.SetIterKey(it)
			v.SetIterValue(it)
			key.enc(e, kp)
			val.enc(e, vp)
		}
		e.depth--
	}
	c.dec = func(d *decoder, p unsafe.Pointer) error {
		n, isNil, err := d.nilCount(key.min + val.min)
		if err != nil {
			return err
		}
		m := reflect.NewAt(t, p).Elem()
		if isNil {
			m.SetZero()
			return nil
		}
		if key.min+val.min == 0 && n > 1 {
			return errCount // every zero-size key is the same key
		}
		if d.depth++; d.depth > maxDepth {
			return errDepth
		}
		nm := reflect.MakeMapWithSize(t, n)
		k, v := reflect.New(kt).Elem(), reflect.New(vt).Elem()
		kp, vp := k.Addr().UnsafePointer(), v.Addr().UnsafePointer()
		for range n {
			if err := key.dec(d, kp); err != nil {
				return err
			}
			if err := val.dec(d, vp); err != nil {
				return err
			}
			nm.SetMapIndex(k, v)
		}
		d.depth--
		m.Set(nm)
		return nil
	}
}

func buildPointer(c *codec, t reflect.Type, elem *codec) {
	c.min, c.shape = 1, "*"+elem.shape
	et := t.Elem()
	c.enc = func(e *encoder, p unsafe.Pointer) {
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			e.b = append(e.b, 0)
			return
		}
		e.b = append(e.b, 1)
		if e.depth++; e.depth > maxDepth {
			e.err = errDepth
			return
		}
		elem.enc(e, q)
		e.depth--
	}
	c.dec = func(d *decoder, p unsafe.Pointer) error {
		if len(d.b) == 0 {
			return errTruncated
		}
		present := d.b[0]
		d.b = d.b[1:]
		switch present {
		case 0:
			*(*unsafe.Pointer)(p) = nil
			return nil
		case 1:
		default:
			return errPresence
		}
		if d.depth++; d.depth > maxDepth {
			return errDepth
		}
		q := reflect.New(et).UnsafePointer()
		if err := elem.dec(d, q); err != nil {
			return err
		}
		d.depth--
		*(*unsafe.Pointer)(p) = q
		return nil
	}
}

func buildMarshaler(c *codec, t reflect.Type) {
	c.min, c.shape = 1, "M("+t.String()+")"
	c.enc = func(e *encoder, p unsafe.Pointer) {
		b, err := reflect.NewAt(t, p).Interface().(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			if e.err == nil {
				e.err = fmt.Errorf("%s.MarshalBinary: %w", t, err)
			}
			return
		}
		e.b = binary.AppendUvarint(e.b, uint64(len(b)))
		e.b = append(e.b, b...)
	}
	c.dec = func(d *decoder, p unsafe.Pointer) error {
		n, err := d.count(1)
		if err != nil {
			return err
		}
		v := reflect.NewAt(t, p)
		v.Elem().SetZero()
		if err := v.Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(d.b[:n:n]); err != nil {
			return fmt.Errorf("%s.UnmarshalBinary: %w", t, err)
		}
		d.b = d.b[n:]
		return nil
	}
}

// CodecInfo says whether the registered type typeName uses the typed codec
// (fast) or gob, and why gob.
func CodecInfo(typeName string) (fast bool, why string) {
	t, err := LookupType(typeName)
	if err != nil {
		return false, err.Error()
	}
	tc := codecOf(t.RType)
	return tc.c != nil, tc.why
}

// CodecReport lists every registered type with its codec, sorted by name:
// "KV[string,int]: fast" or "main.Event: gob (field Payload is an interface)".
func CodecReport() []string {
	names := TypeNames()
	out := make([]string, 0, len(names))
	for _, n := range names {
		if fast, why := CodecInfo(n); fast {
			out = append(out, n+": fast")
		} else {
			out = append(out, n+": gob ("+why+")")
		}
	}
	return out
}
