package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

type Word string

type pair[K comparable, V any] struct {
	Key   K
	Value V
}

type inner struct {
	Name   Word
	Tags   []string
	Score  float64
	hidden int8 // unexported fields are encoded too
	Blob   []byte
	Arr    [3]uint16
	Fixed  [4]byte
}

type record struct {
	ID    uint64
	Neg   int32
	In    inner
	Ptr   *inner
	M     map[string][]int
	Pairs []pair[Word, *int]
	When  time.Time
	C     complex128
	F32   float32
	OK    bool
	small uint8
	Empty struct{}
	Deep  [][]*[2]Word
}

type event struct {
	Name    string
	Payload any
}

type node struct {
	Val  int
	Next *node
}

type tree struct {
	Label string
	Kids  []tree
}

var finite = rapid.Float64().Filter(func(f float64) bool { return !math.IsNaN(f) })

func genInner() *rapid.Generator[inner] {
	return rapid.Custom(func(t *rapid.T) inner {
		var in inner
		in.Name = Word(rapid.String().Draw(t, "name"))
		in.Tags = rapid.OneOf(rapid.Just([]string(nil)), rapid.SliceOf(rapid.String())).Draw(t, "tags")
		in.Score = finite.Draw(t, "score")
		in.hidden = rapid.Int8().Draw(t, "hidden")
		in.Blob = rapid.OneOf(rapid.Just([]byte(nil)), rapid.SliceOf(rapid.Byte())).Draw(t, "blob")
		for i := range in.Arr {
			in.Arr[i] = rapid.Uint16().Draw(t, "arr")
		}
		copy(in.Fixed[:], rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "fixed"))
		return in
	})
}

func genRecord() *rapid.Generator[record] {
	return rapid.Custom(func(t *rapid.T) record {
		r := record{
			ID:  rapid.Uint64().Draw(t, "id"),
			Neg: rapid.Int32().Draw(t, "neg"),
			In:  genInner().Draw(t, "in"),
			Ptr: rapid.Ptr(genInner(), true).Draw(t, "ptr"),
			M:   rapid.OneOf(rapid.Just(map[string][]int(nil)), rapid.MapOf(rapid.String(), rapid.SliceOf(rapid.Int()))).Draw(t, "m"),
			Pairs: rapid.SliceOf(rapid.Custom(func(t *rapid.T) pair[Word, *int] {
				return pair[Word, *int]{Word(rapid.String().Draw(t, "k")), rapid.Ptr(rapid.Int(), true).Draw(t, "v")}
			})).Draw(t, "pairs"),
			When:  time.Unix(rapid.Int64Range(-1e11, 1e11).Draw(t, "sec"), rapid.Int64Range(0, 999999999).Draw(t, "nsec")).UTC(),
			C:     complex(finite.Draw(t, "re"), finite.Draw(t, "im")),
			F32:   rapid.Float32().Filter(func(f float32) bool { return f == f }).Draw(t, "f32"),
			OK:    rapid.Bool().Draw(t, "ok"),
			small: rapid.Uint8().Draw(t, "small"),
			Deep: rapid.SliceOf(rapid.SliceOf(rapid.Ptr(rapid.Custom(func(t *rapid.T) [2]Word {
				return [2]Word{Word(rapid.String().Draw(t, "a")), Word(rapid.String().Draw(t, "b"))}
			}), true))).Draw(t, "deep"),
		}
		return r
	})
}

// roundTrip encodes recs, checks the block uses the typed codec, and
// decodes it back.
func roundTrip[T any](t rapid.TB, recs []T) {
	t.Helper()
	b, err := EncodeSlice(recs)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if len(recs) > 0 && b[0] == tagGob {
		t.Fatalf("%s fell back to gob", reflect.TypeFor[T]())
	}
	got, err := DecodeSlice[T](b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(recs) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("round trip of %s:\n got %#v\nwant %#v", reflect.TypeFor[T](), got, recs)
	}
}

func TestCodecRoundTripsRandomRecords(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		roundTrip(t, rapid.SliceOf(genRecord()).Draw(t, "records"))
	})
}

func TestCodecRoundTripsRandomBasicTypes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		roundTrip(t, rapid.SliceOf(rapid.String()).Draw(t, "strings"))
		roundTrip(t, rapid.SliceOf(rapid.Int()).Draw(t, "ints"))
		roundTrip(t, rapid.SliceOf(rapid.Int8()).Draw(t, "int8s"))
		roundTrip(t, rapid.SliceOf(rapid.Uint()).Draw(t, "uints"))
		roundTrip(t, rapid.SliceOf(rapid.Uintptr()).Draw(t, "uintptrs"))
		roundTrip(t, rapid.SliceOf(finite).Draw(t, "floats"))
		roundTrip(t, rapid.SliceOf(rapid.Map(rapid.String(), func(s string) Word { return Word(s) })).Draw(t, "words"))
		roundTrip(t, rapid.SliceOf(rapid.SliceOf(rapid.Byte())).Draw(t, "byte slices"))
		roundTrip(t, rapid.SliceOf(rapid.MapOf(rapid.Int16(), rapid.Bool())).Draw(t, "maps"))
		roundTrip(t, rapid.SliceOf(rapid.Custom(func(t *rapid.T) pair[string, int] {
			return pair[string, int]{rapid.String().Draw(t, "k"), rapid.Int().Draw(t, "v")}
		})).Draw(t, "kvs"))
		roundTrip(t, rapid.SliceOf(rapid.Custom(func(t *rapid.T) pair[[2]int64, []float32] {
			return pair[[2]int64, []float32]{[2]int64{rapid.Int64().Draw(t, "a"), rapid.Int64().Draw(t, "b")}, rapid.SliceOf(rapid.Float32Range(-1e6, 1e6)).Draw(t, "v")}
		})).Draw(t, "array keys"))
	})
}

func TestCodecRoundTripsRecursiveTypes(t *testing.T) {
	list := &node{1, &node{2, &node{3, nil}}}
	roundTrip(t, []*node{list, nil})
	roundTrip(t, []node{*list})
	tr := tree{"root", []tree{{"a", nil}, {"b", []tree{{"c", []tree{}}}}}}
	roundTrip(t, []tree{tr})
}

func TestCodecKeepsSpecialValues(t *testing.T) {
	nan := math.Float64frombits(0x7ff8000000000001)
	b, err := EncodeSlice([]float64{nan, math.Inf(-1), math.Copysign(0, -1)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSlice[float64](b)
	if err != nil || math.Float64bits(got[0]) != 0x7ff8000000000001 || !math.IsInf(got[1], -1) || !math.Signbit(got[2]) {
		t.Fatalf("got %v %v", got, err)
	}
	zone := time.Date(2026, 12, 3, 23, 50, 1, 5, time.FixedZone("X", 3600))
	ts, err := DecodeSlice[time.Time](mustEncode(t, []time.Time{zone}))
	if err != nil || !ts[0].Equal(zone) {
		t.Fatalf("time: %v %v", ts, err)
	}
	if _, off := ts[0].Zone(); off != 3600 {
		t.Fatalf("time zone offset %d, want 3600", off)
	}
	// Nil and empty stay apart, inside records and at the top.
	type holder struct {
		S []int
		B []byte
		M map[int]int
	}
	hs, err := DecodeSlice[holder](mustEncode(t, []holder{{}, {[]int{}, []byte{}, map[int]int{}}}))
	if err != nil || hs[0].S != nil || hs[0].B != nil || hs[0].M != nil || hs[1].S == nil || hs[1].B == nil || hs[1].M == nil {
		t.Fatalf("nil vs empty: %#v %v", hs, err)
	}
	// Zero-size records take no bytes but keep their count.
	es, err := DecodeSlice[struct{}](mustEncode(t, make([]struct{}, 100000)))
	if err != nil || len(es) != 100000 {
		t.Fatalf("empty structs: %d %v", len(es), err)
	}
}

func TestAppendSliceAndDecodeSliceInto(t *testing.T) {
	prefix := []byte("head")
	b, err := AppendSlice(prefix, []pair[string, int]{{"a", 1}, {"b", 2}})
	if err != nil || !bytes.HasPrefix(b, []byte("head")) {
		t.Fatalf("AppendSlice: %q %v", b, err)
	}
	if b2, _ := AppendSlice(prefix, []int(nil)); !bytes.Equal(b2, prefix) {
		t.Errorf("appending no records changed dst: %q", b2)
	}
	block := b[len(prefix):]
	dst := make([]pair[string, int], 1, 8)
	dst[0] = pair[string, int]{"x", 0}
	out, err := DecodeSliceInto(block, dst)
	if err != nil || len(out) != 3 || out[0].Key != "x" || out[2] != (pair[string, int]{"b", 2}) {
		t.Fatalf("DecodeSliceInto: %v %v", out, err)
	}
	if &out[0] != &dst[0] {
		t.Error("DecodeSliceInto did not reuse dst's capacity")
	}
	// A failed decode gives dst back as it was.
	out, err = DecodeSliceInto(block[:len(block)-1], dst)
	if err == nil || len(out) != 1 {
		t.Fatalf("truncated block: %v %v", out, err)
	}
	// Gob blocks append too.
	evs := []event{{"a", 1}, {"b", "two"}}
	gb, err := AppendSlice([]byte("x"), evs)
	if err != nil || gb[1] != tagGob {
		t.Fatalf("gob block: %q %v", gb, err)
	}
	got, err := DecodeSliceInto(gb[1:], []event{{"z", nil}})
	if err != nil || len(got) != 3 || got[1].Payload != 1 || got[2].Payload != "two" {
		t.Fatalf("gob round trip: %#v %v", got, err)
	}
}

func TestCodecInfoNamesTheGobTypes(t *testing.T) {
	ev := AddType[event]()
	kv := AddType[pair[string, int]]()
	ch := AddType[struct{ C chan int }]()
	if fast, why := CodecInfo(ev); fast || why != "field Payload is an interface" {
		t.Errorf("CodecInfo(%s) = %v, %q", ev, fast, why)
	}
	if fast, why := CodecInfo(kv); !fast || why != "" {
		t.Errorf("CodecInfo(%s) = %v, %q", kv, fast, why)
	}
	if fast, why := CodecInfo(ch); fast || why != "field C is a chan" {
		t.Errorf("CodecInfo(%s) = %v, %q", ch, fast, why)
	}
	if fast, why := CodecInfo("no.such.Type"); fast || !strings.Contains(why, "not registered") {
		t.Errorf("unknown type: %v, %q", fast, why)
	}
	report := CodecReport()
	for _, want := range []string{
		"registry.event: gob (field Payload is an interface)",
		"registry.pair[string,int]: fast",
		"string: fast",
		"[]uint8: fast",
	} {
		if !slices.Contains(report, want) {
			t.Errorf("CodecReport lacks %q: %q", want, report)
		}
	}
	type deep struct{ In []map[string]*event }
	if _, why := comp(reflect.TypeFor[deep]()); why != "field In[][value].Payload is an interface" {
		t.Errorf("nested why = %q", why)
	}
	if _, why := comp(reflect.TypeFor[[]error]()); why != "field [] is an interface" {
		t.Errorf("slice of interfaces: why = %q", why)
	}
}

func comp(t reflect.Type) (*codec, string) {
	c := compiler{memo: map[reflect.Type]*codec{}}
	return c.compile(t, "")
}

// typedBlock builds a block header for T by hand: tag, shape, count.
func typedBlock[T any](count uint64, body ...byte) []byte {
	tc := codecOf(reflect.TypeFor[T]())
	b := []byte{tc.tag}
	if tc.tag == tagTyped {
		b = binary.LittleEndian.AppendUint32(b, tc.shape)
	}
	b = binary.AppendUvarint(b, count)
	return append(b, body...)
}

func TestDecodeRefusesMalformedInput(t *testing.T) {
	huge := binary.AppendUvarint(nil, math.MaxUint64)
	deepPtrs := bytes.Repeat([]byte{0, 1}, maxDepth+5) // node{Val: 0, Next: &node{...}}
	deepPtrs = append(deepPtrs, 0, 0)
	cases := []struct {
		name string
		data []byte
		dec  func([]byte) error
		want error // nil: any error
	}{
		{"unknown tag", []byte{'?', 1}, decodeAs2[int], nil},
		{"int block read as strings", mustEncode(t, []int{1}), decodeAs2[string], nil},
		{"string block read as ints", mustEncode(t, []string{"a"}), decodeAs2[int], nil},
		{"huge record count", typedBlock[string](math.MaxUint64), decodeAs2[string], errCount},
		{"count above bytes left", typedBlock[int](5, 1, 2), decodeAs2[int], errCount},
		{"count varint runs off the end", []byte{tagInts, 0x80, 0x80}, decodeAs2[int], errVarint},
		{"huge string length", typedBlock[string](1, huge...), decodeAs2[string], errCount},
		{"string longer than data", typedBlock[string](1, 9, 'a'), decodeAs2[string], errCount},
		{"huge slice length", typedBlock[[]int](1, huge...), decodeAs2[[]int], errCount},
		{"slice length+1 overflow", typedBlock[[]string](1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), decodeAs2[[]string], errCount},
		{"huge map length", typedBlock[map[int]int](1, huge...), decodeAs2[map[int]int], errCount},
		{"many zero-size map keys", typedBlock[map[struct{}]struct{}](1, 3), decodeAs2[map[struct{}]struct{}], errCount},
		{"huge zero-size count", typedBlock[struct{}](math.MaxUint64), decodeAs2[struct{}], errCount},
		{"bool byte 2", typedBlock[bool](1, 2), decodeAs2[bool], errBool},
		{"presence byte 7", typedBlock[*int](1, 7), decodeAs2[*int], errPresence},
		{"int8 out of range", mustEncode(t, []int64{300}), decodeAs2[int8], errRange},
		{"uint8 out of range", typedBlock[uint8](1, 0x80, 0x02), decodeAs2[uint8], errRange},
		{"[]byte block read as []uint16", mustEncode(t, [][]byte{{1}}), decodeAs2[[]uint16], nil},
		{"float truncated", typedBlock[float64](1, 1, 2, 3), decodeAs2[float64], errCount},
		{"float32 truncated in struct", typedBlock[pair[string, float32]](1, 3, 'a', 'b', 'c', 1, 2), decodeAs2[pair[string, float32]], errTruncated},
		{"trailing bytes", append(mustEncode(t, []int{1}), 0), decodeAs2[int], errTrailing},
		{"other type's block", mustEncode(t, []pair[string, int]{{"a", 1}}), decodeAs2[pair[int, string]], nil},
		{"too deep", typedBlock[node](1, deepPtrs...), decodeAs2[node], errDepth},
		{"bad time bytes", typedBlock[time.Time](1, 2, 0xff, 0xff), decodeAs2[time.Time], nil},
		{"gob garbage", []byte{tagGob, 0xff, 0x00, 0x13}, decodeAs2[event], nil},
		{"gob message longer than block", []byte{tagGob, 0xfe, 0x10, 0x00, 1, 2}, decodeAs2[event], nil},
		{"gob length of 9 bytes", []byte{tagGob, 0xf7, 1, 2, 3, 4, 5, 6, 7, 8, 9}, decodeAs2[event], nil},
		{"typed block for a gob type", mustEncode(t, []string{"a"}), decodeAs2[event], nil},
		{"typed block without shape", []byte{tagTyped, 1}, decodeAs2[point], errTruncated},
	}
	for _, c := range cases {
		err := c.dec(c.data)
		if err == nil {
			t.Errorf("%s: %x decoded", c.name, c.data)
		} else if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
}

func decodeAs2[T any](b []byte) error {
	_, err := DecodeSlice[T](b)
	return err
}

func TestDecodeRefusesEveryTruncation(t *testing.T) {
	n := 7
	recs := []record{{ID: 1, In: inner{Name: "w", Tags: []string{"a", "b"}, Blob: []byte{1}}, Ptr: &inner{}, M: map[string][]int{"k": {1, -1}},
		Pairs: []pair[Word, *int]{{"p", &n}, {"q", nil}}, When: time.Unix(5, 6).UTC(), Deep: [][]*[2]Word{{{"x", "y"}, nil}}}}
	b := mustEncode(t, recs)
	for i := 1; i < len(b); i++ {
		if got, err := DecodeSlice[record](b[:i]); err == nil {
			t.Fatalf("prefix of %d/%d bytes decoded: %#v", i, len(b), got)
		}
	}
	if _, err := DecodeSlice[record](b); err != nil {
		t.Fatal(err)
	}
}

// A block that claims a billion records in a few bytes must fail before it
// allocates for them.
func TestHostileCountsDoNotAllocate(t *testing.T) {
	blocks := [][]byte{
		typedBlock[string](1 << 30),
		typedBlock[[]int](1, binary.AppendUvarint(nil, 1<<30)...),
		typedBlock[map[string]string](1, binary.AppendUvarint(nil, 1<<30)...),
		typedBlock[[1 << 20]int](1 << 10),
		{tagGob, 0xfc, 0x3f, 0xff, 0xff, 0xff, 1, 2}, // gob message of 1 GiB
	}
	for i, b := range blocks {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeSlice[string](b)
		_, err2 := DecodeSlice[[]int](b)
		_, err3 := DecodeSlice[map[string]string](b)
		_, err4 := DecodeSlice[[1 << 20]int](b)
		runtime.ReadMemStats(&after)
		if err == nil && err2 == nil && err3 == nil && err4 == nil {
			t.Errorf("block %d decoded", i)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("block %d of %d bytes made decoders allocate %d bytes", i, len(b), d)
		}
	}
}

func TestEncodeRefusesCycles(t *testing.T) {
	a := &node{Val: 1}
	a.Next = a
	if _, err := EncodeSlice([]*node{a}); !errors.Is(err, errDepth) {
		t.Fatalf("cyclic list: %v", err)
	}
	long := (*node)(nil)
	for i := range maxDepth / 2 {
		long = &node{i, long}
	}
	roundTrip(t, []*node{long})
}

func TestDecodeRecoversFromUnmarshalPanics(t *testing.T) {
	b := typedBlock[panicky](1, 1, 'x')
	if _, err := DecodeSlice[panicky](b); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

type panicky struct{ v byte }

func (p panicky) MarshalBinary() ([]byte, error) { return []byte{p.v}, nil }
func (p *panicky) UnmarshalBinary([]byte) error  { panic("boom") }

func FuzzDecodeRecords(f *testing.F) {
	n := 3
	f.Add(mustEncode(f, []record{{ID: 9, Ptr: &inner{Name: "x"}, M: map[string][]int{"a": {1}}, Pairs: []pair[Word, *int]{{"k", &n}}, When: time.Unix(1, 2).UTC()}}))
	f.Add(mustEncode(f, []pair[string, int]{{"a", 1}, {"bb", -2}}))
	f.Add(mustEncode(f, []tree{{"r", []tree{{"c", nil}}}}))
	f.Add(mustEncode(f, []map[int16]bool{{1: true}}))
	f.Add(mustEncode(f, []string{"a", "b"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOne[record](t, data)
		fuzzOne[pair[string, int]](t, data)
		fuzzOne[tree](t, data)
		fuzzOne[map[int16]bool](t, data)
		fuzzOne[string](t, data)
		fuzzOne[int8](t, data)
	})
}

// fuzzOne decodes data as T; what decodes must encode and decode again.
func fuzzOne[T any](t *testing.T, data []byte) {
	recs, err := DecodeSlice[T](data)
	if err != nil {
		return
	}
	b, err := EncodeSlice(recs)
	if err != nil {
		t.Fatalf("re-encoding decoded %s: %v", reflect.TypeFor[T](), err)
	}
	again, err := DecodeSlice[T](b)
	if err != nil || len(again) != len(recs) {
		t.Fatalf("decoding re-encoded %s: %d records, %v", reflect.TypeFor[T](), len(again), err)
	}
}

var benchKVs = func() []pair[string, int] {
	out := make([]pair[string, int], 1000)
	for i := range out {
		out[i] = pair[string, int]{Key: "key-" + strings.Repeat("x", i%17) + string(rune('a'+i%26)), Value: i * 7919}
	}
	return out
}()

func BenchmarkEncodeKV(b *testing.B) {
	b.Run("codec", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = AppendSlice(buf[:0], benchKVs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(buf)), "bytes/block")
	})
	b.Run("gob", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := gob.NewEncoder(&buf).Encode(benchKVs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "bytes/block")
	})
}

func BenchmarkDecodeKV(b *testing.B) {
	b.Run("codec", func(b *testing.B) {
		data := mustEncode(b, benchKVs)
		var out []pair[string, int]
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if out, err = DecodeSliceInto(data, out[:0]); err != nil || len(out) != len(benchKVs) {
				b.Fatal(err)
			}
		}
	})
	b.Run("gob", func(b *testing.B) {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(benchKVs); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		b.ReportAllocs()
		for b.Loop() {
			var out []pair[string, int]
			if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&out); err != nil || len(out) != len(benchKVs) {
				b.Fatal(err)
			}
		}
	})
}

// upper is a string type with its own binary form.
type upper string

func (u upper) MarshalBinary() ([]byte, error) { return []byte(strings.ToUpper(string(u))), nil }
func (u *upper) UnmarshalBinary(b []byte) error {
	*u = upper(strings.ToLower(string(b)))
	return nil
}

func TestMarshalerStringTypeIsNotAPlainStringBlock(t *testing.T) {
	b := mustEncode(t, []upper{"abc"})
	if b[0] != tagTyped {
		t.Fatalf("tag %q, want %q", b[0], tagTyped)
	}
	if got, err := DecodeSlice[upper](b); err != nil || got[0] != "abc" {
		t.Fatalf("round trip: %q %v", got, err)
	}
	if _, err := DecodeSlice[string](b); err == nil {
		t.Error("a BinaryMarshaler block decoded as plain strings")
	}
}
