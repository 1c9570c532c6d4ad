package aggrlog

import (
	"encoding/binary"
	"math"
)

// A reader of the Java Object Serialization Stream Protocol (version 5),
// enough for the IFile index: objects, class descriptors, strings, enums,
// arrays, references, and the block data and objects that writeObject
// methods (ArrayList, HashMap) add after an object's fields.

const (
	tcNull           = 0x70
	tcReference      = 0x71
	tcClassDesc      = 0x72
	tcObject         = 0x73
	tcString         = 0x74
	tcArray          = 0x75
	tcClass          = 0x76
	tcBlockData      = 0x77
	tcEndBlockData   = 0x78
	tcReset          = 0x79
	tcBlockDataLong  = 0x7a
	tcException      = 0x7b
	tcLongString     = 0x7c
	tcProxyClassDesc = 0x7d
	tcEnum           = 0x7e
	baseWireHandle   = 0x7e0000

	scWriteMethod    = 0x01
	scSerializable   = 0x02
	scExternalizable = 0x04
	scBlockData      = 0x08

	maxJavaDepth = 64
)

type jfield struct {
	typ  byte // B C D F I J S Z L [
	name string
}

type jclassDesc struct {
	name   string
	flags  byte
	fields []jfield
	super  *jclassDesc
}

// jobject is a deserialized object: its fields (every class level merged)
// and the objects its classes' writeObject methods wrote after them (an
// ArrayList's elements, a HashMap's keys and values in turn).
type jobject struct {
	class  *jclassDesc
	fields map[string]any
	extra  []any
}

type jarray struct {
	class *jclassDesc
	elems []any
}

type jenum struct{ class, name string }

type jreader struct {
	b       []byte
	off     int
	handles []any
	depth   int
}

// decodeJava reads one object of a serialization stream.
func decodeJava(b []byte) (any, error) {
	r := &jreader{b: b}
	magic, err := r.u16()
	if err != nil {
		return nil, err
	}
	ver, err := r.u16()
	if err != nil {
		return nil, err
	}
	if magic != 0xaced || ver != 5 {
		return nil, malformed("index: serialization stream header %04x %d (aced 5 expected)", magic, ver)
	}
	return r.content()
}

func (r *jreader) need(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, malformed("index: %d bytes needed at offset %d of %d", n, r.off, len(r.b))
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

func (r *jreader) u8() (byte, error) {
	s, err := r.need(1)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

func (r *jreader) u16() (uint16, error) {
	s, err := r.need(2)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(s), nil
}

func (r *jreader) u32() (uint32, error) {
	s, err := r.need(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(s), nil
}

func (r *jreader) u64() (uint64, error) {
	s, err := r.need(8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(s), nil
}

func (r *jreader) utf() (string, error) {
	n, err := r.u16()
	if err != nil {
		return "", err
	}
	s, err := r.need(int(n))
	if err != nil {
		return "", err
	}
	return javaUTF(s)
}

func (r *jreader) newHandle(v any) int {
	r.handles = append(r.handles, v)
	return len(r.handles) - 1
}

func (r *jreader) ref() (any, error) {
	h, err := r.u32()
	if err != nil {
		return nil, err
	}
	i := int64(h) - baseWireHandle
	if i < 0 || i >= int64(len(r.handles)) {
		return nil, malformed("index: reference to handle %#x of %d", h, len(r.handles))
	}
	return r.handles[i], nil
}

// content reads one object (or null, a reference, a string ...).
func (r *jreader) content() (any, error) {
	tc, err := r.u8()
	if err != nil {
		return nil, err
	}
	return r.contentTC(tc)
}

func (r *jreader) contentTC(tc byte) (any, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxJavaDepth {
		return nil, malformed("index: objects nested deeper than %d", maxJavaDepth)
	}
	switch tc {
	case tcNull:
		return nil, nil
	case tcReference:
		return r.ref()
	case tcString:
		s, err := r.utf()
		if err != nil {
			return nil, err
		}
		r.newHandle(s)
		return s, nil
	case tcLongString:
		n, err := r.u64()
		if err != nil {
			return nil, err
		}
		if n > uint64(len(r.b)-r.off) {
			return nil, malformed("index: string of %d bytes", n)
		}
		s, err := r.need(int(n))
		if err != nil {
			return nil, err
		}
		str, err := javaUTF(s)
		if err != nil {
			return nil, err
		}
		r.newHandle(str)
		return str, nil
	case tcClassDesc, tcProxyClassDesc:
		return r.classDescTC(tc)
	case tcClass:
		d, err := r.classDesc()
		if err != nil {
			return nil, err
		}
		r.newHandle(d)
		return d, nil
	case tcEnum:
		d, err := r.classDesc()
		if err != nil {
			return nil, err
		}
		e := &jenum{}
		if d != nil {
			e.class = d.name
		}
		r.newHandle(e)
		name, err := r.content()
		if err != nil {
			return nil, err
		}
		s, ok := name.(string)
		if !ok {
			return nil, malformed("index: enum constant name is %T, not a string", name)
		}
		e.name = s
		return e, nil
	case tcArray:
		return r.array()
	case tcObject:
		return r.object()
	case tcReset:
		r.handles = r.handles[:0]
		return r.content()
	case tcException:
		return nil, malformed("index: the stream holds an exception written while serializing")
	case tcBlockData, tcBlockDataLong, tcEndBlockData:
		return nil, malformed("index: block data (%#x) where an object was expected", tc)
	}
	return nil, malformed("index: unknown type code %#x at offset %d", tc, r.off-1)
}

// classDesc reads a class descriptor, null or a reference to one.
func (r *jreader) classDesc() (*jclassDesc, error) {
	tc, err := r.u8()
	if err != nil {
		return nil, err
	}
	var v any
	switch tc {
	case tcNull:
		return nil, nil
	case tcReference:
		v, err = r.ref()
	case tcClassDesc, tcProxyClassDesc:
		v, err = r.classDescTC(tc)
	default:
		return nil, malformed("index: type code %#x where a class descriptor was expected", tc)
	}
	if err != nil {
		return nil, err
	}
	d, ok := v.(*jclassDesc)
	if !ok {
		return nil, malformed("index: a reference to a %T where a class descriptor was expected", v)
	}
	return d, nil
}

func (r *jreader) classDescTC(tc byte) (*jclassDesc, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxJavaDepth {
		return nil, malformed("index: class descriptors nested deeper than %d", maxJavaDepth)
	}
	d := &jclassDesc{}
	if tc == tcProxyClassDesc {
		r.newHandle(d)
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		if int64(n) > int64(len(r.b)-r.off)/2 {
			return nil, malformed("index: proxy class with %d interfaces", n)
		}
		for i := uint32(0); i < n; i++ {
			if _, err := r.utf(); err != nil {
				return nil, err
			}
		}
		d.name = "$Proxy"
		d.flags = scSerializable
	} else {
		name, err := r.utf()
		if err != nil {
			return nil, err
		}
		d.name = name
		if _, err := r.u64(); err != nil { // serialVersionUID
			return nil, err
		}
		r.newHandle(d)
		if d.flags, err = r.u8(); err != nil {
			return nil, err
		}
		if d.flags&scSerializable != 0 && d.flags&scExternalizable != 0 {
			return nil, malformed("index: class %s is both serializable and externalizable", name)
		}
		n, err := r.u16()
		if err != nil {
			return nil, err
		}
		for i := 0; i < int(n); i++ {
			t, err := r.u8()
			if err != nil {
				return nil, err
			}
			fname, err := r.utf()
			if err != nil {
				return nil, err
			}
			switch t {
			case 'B', 'C', 'D', 'F', 'I', 'J', 'S', 'Z':
			case 'L', '[':
				cn, err := r.content()
				if err != nil {
					return nil, err
				}
				if _, ok := cn.(string); !ok {
					return nil, malformed("index: field %s.%s has a %T for its type name", name, fname, cn)
				}
			default:
				return nil, malformed("index: field %s.%s has type code %q", name, fname, t)
			}
			d.fields = append(d.fields, jfield{typ: t, name: fname})
		}
	}
	if _, err := r.annotation(); err != nil { // classAnnotation
		return nil, err
	}
	super, err := r.classDesc()
	if err != nil {
		return nil, err
	}
	d.super = super
	return d, nil
}

// annotation reads block data and objects up to TC_ENDBLOCKDATA and returns
// the objects.
func (r *jreader) annotation() ([]any, error) {
	var out []any
	for {
		tc, err := r.u8()
		if err != nil {
			return nil, err
		}
		switch tc {
		case tcEndBlockData:
			return out, nil
		case tcBlockData:
			n, err := r.u8()
			if err != nil {
				return nil, err
			}
			if _, err := r.need(int(n)); err != nil {
				return nil, err
			}
		case tcBlockDataLong:
			n, err := r.u32()
			if err != nil {
				return nil, err
			}
			if n > math.MaxInt32 {
				return nil, malformed("index: block data of %d bytes", n)
			}
			if _, err := r.need(int(n)); err != nil {
				return nil, err
			}
		default:
			v, err := r.contentTC(tc)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
}

func (r *jreader) value(t byte) (any, error) {
	switch t {
	case 'B':
		v, err := r.u8()
		return int64(int8(v)), err
	case 'Z':
		v, err := r.u8()
		return v != 0, err
	case 'C':
		v, err := r.u16()
		return int64(v), err
	case 'S':
		v, err := r.u16()
		return int64(int16(v)), err
	case 'I':
		v, err := r.u32()
		return int64(int32(v)), err
	case 'J':
		v, err := r.u64()
		return int64(v), err
	case 'F':
		v, err := r.u32()
		return float64(math.Float32frombits(v)), err
	case 'D':
		v, err := r.u64()
		return math.Float64frombits(v), err
	}
	return r.content()
}

func (r *jreader) object() (any, error) {
	d, err := r.classDesc()
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, malformed("index: an object without a class")
	}
	o := &jobject{class: d, fields: map[string]any{}}
	r.newHandle(o)
	var chain []*jclassDesc
	for c := d; c != nil; c = c.super {
		if len(chain) > maxJavaDepth {
			return nil, malformed("index: class hierarchy deeper than %d", maxJavaDepth)
		}
		chain = append(chain, c)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		c := chain[i]
		switch {
		case c.flags&scSerializable != 0:
			for _, f := range c.fields {
				v, err := r.value(f.typ)
				if err != nil {
					return nil, err
				}
				o.fields[f.name] = v
			}
			if c.flags&scWriteMethod != 0 {
				extra, err := r.annotation()
				if err != nil {
					return nil, err
				}
				o.extra = append(o.extra, extra...)
			}
		case c.flags&scExternalizable != 0:
			if c.flags&scBlockData == 0 {
				return nil, malformed("index: class %s is externalizable in the old protocol", c.name)
			}
			extra, err := r.annotation()
			if err != nil {
				return nil, err
			}
			o.extra = append(o.extra, extra...)
		}
	}
	return o, nil
}

func (r *jreader) array() (any, error) {
	d, err := r.classDesc()
	if err != nil {
		return nil, err
	}
	if d == nil || len(d.name) < 2 || d.name[0] != '[' {
		return nil, malformed("index: an array without an array class")
	}
	a := &jarray{class: d}
	r.newHandle(a)
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	// Every element takes at least one byte.
	if int64(n) > int64(len(r.b)-r.off) {
		return nil, malformed("index: array of %d elements in %d bytes", n, len(r.b)-r.off)
	}
	t := d.name[1]
	for i := uint32(0); i < n; i++ {
		v, err := r.value(t)
		if err != nil {
			return nil, err
		}
		a.elems = append(a.elems, v)
	}
	return a, nil
}
