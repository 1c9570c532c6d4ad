package registry

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

type wordKey struct {
	Word  Word
	Count int32
	Flag  bool
	Arr   [2]uint16
	_     int // blank fields take no part in ==
	F     float64
}

type bigArrayKey struct {
	A [100]int8
	S string
}

type anyKey struct {
	Name string
	V    any
}

type errKey struct{ E error }

// fnvOf is an independent FNV-1a 64 of the given byte strings.
func fnvOf(parts ...[]byte) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum64()
}

func le(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func TestKeyHasherMatchesFNV(t *testing.T) {
	if got := KeyHasher[string]()("stoke"); got != 0x453c40ad76f2bce3 {
		t.Errorf("string: %#x", got)
	}
	if got := KeyHasher[int]()(42); got != 0xff3add6b3789daef {
		t.Errorf("int: %#x", got)
	}
	if got, want := KeyHasher[Word]()("stoke"), HashKey("stoke"); got != want {
		t.Errorf("named string %#x, want %#x", got, want)
	}
	if got, want := KeyHasher[int32]()(-5), fnvOf(le(uint64(math.MaxUint64-4))); got != want {
		t.Errorf("int32 -5: %#x, want %#x", got, want)
	}
	if got, want := KeyHasher[point]()(point{1, 2}), fnvOf(le(1), le(2)); got != want {
		t.Errorf("point: %#x, want %#x", got, want)
	}
	type sk struct {
		S string
		B bool
	}
	if got, want := KeyHasher[sk]()(sk{"ab", true}), fnvOf([]byte("ab"), le(2), []byte{1}); got != want {
		t.Errorf("struct with string: %#x, want %#x", got, want)
	}
	if KeyHasher[sk]()(sk{"ab", false}) == KeyHasher[sk]()(sk{"a", false}) {
		t.Error("different keys hash the same")
	}
	// Floats: -0 and +0 are equal keys.
	if KeyHasher[float64]()(math.Copysign(0, -1)) != KeyHasher[float64]()(0) {
		t.Error("-0 and +0 hash differently")
	}
	if HashKey(math.Copysign(0, -1)) != HashKey(0.0) {
		t.Error("HashKey: -0 and +0 hash differently")
	}
}

func TestEqualKeysHashEqual(t *testing.T) {
	hw := KeyHasher[wordKey]()
	hb := KeyHasher[bigArrayKey]()
	ha := KeyHasher[anyKey]()
	he := KeyHasher[errKey]()
	hi := KeyHasher[any]()
	rapid.Check(t, func(t *rapid.T) {
		k := wordKey{
			Word:  Word(rapid.String().Draw(t, "w")),
			Count: rapid.Int32().Draw(t, "c"),
			Flag:  rapid.Bool().Draw(t, "f"),
			Arr:   [2]uint16{rapid.Uint16().Draw(t, "a0"), rapid.Uint16().Draw(t, "a1")},
			F:     rapid.Float64().Draw(t, "float"),
		}
		k2 := k
		k2.Word = Word(strings.Clone(string(k.Word))) // same value, other bytes
		if k.F == 0 {
			k2.F = math.Copysign(0, -1)
		}
		if k == k2 && hw(k) != hw(k2) {
			t.Fatalf("equal keys %#v %#v hash %#x and %#x", k, k2, hw(k), hw(k2))
		}
		if hw(k) != HashKey(k) {
			t.Fatalf("KeyHasher %#x != HashKey %#x", hw(k), HashKey(k))
		}
		var big bigArrayKey
		for i := range big.A {
			big.A[i] = rapid.Int8().Draw(t, "a")
		}
		big.S = rapid.String().Draw(t, "s")
		big2 := big
		big2.S = strings.Clone(big.S)
		if hb(big) != hb(big2) || hb(big) != HashKey(big2) {
			t.Fatal("equal big keys hash differently")
		}
		ak := anyKey{"n", rapid.OneOf(
			rapid.Map(rapid.Int(), func(i int) any { return i }),
			rapid.Map(rapid.String(), func(s string) any { return s }),
			rapid.Just[any](nil),
			rapid.Map(rapid.Int(), func(i int) any { return point{i, -i} }),
		).Draw(t, "v")}
		ak2 := ak
		if s, ok := ak.V.(string); ok {
			ak2.V = strings.Clone(s)
		}
		if ha(ak) != ha(ak2) || ha(ak) != HashKey(ak) || hi(ak) != HashKey(ak) {
			t.Fatal("equal keys with interfaces hash differently")
		}
		ek := errKey{errString(rapid.String().Draw(t, "e"))}
		if he(ek) != he(errKey{errString(strings.Clone(string(ek.E.(errString))))}) || he(ek) != HashKey(ek) {
			t.Fatal("equal keys with a non-empty interface hash differently")
		}
	})
}

type errString string

func (e errString) Error() string { return string(e) }

func TestKeyHasherDoesNotAllocate(t *testing.T) {
	hs := KeyHasher[string]()
	hw := KeyHasher[Word]()
	hk := KeyHasher[wordKey]()
	hb := KeyHasher[bigArrayKey]()
	hi := KeyHasher[int64]()
	s := strings.Repeat("x", 40)
	k := wordKey{Word: "w", Count: 3, F: 1.5}
	var big bigArrayKey
	var sink uint64
	for name, f := range map[string]func(){
		"string":    func() { sink += hs(s) },
		"Word":      func() { sink += hw(Word(s)) },
		"struct":    func() { sink += hk(k) },
		"big array": func() { sink += hb(big) },
		"int64":     func() { sink += hi(int64(len(s))) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per hash", name, n)
		}
	}
	_ = sink
}

func TestHashKeyKeepsNonComparableKeysWorking(t *testing.T) {
	if HashKey([]int{1, 2}) != HashKey([]int{1, 2}) || HashKey([]int{1, 2}) == HashKey([]int{2, 1}) {
		t.Error("slice keys")
	}
	if HashKey(map[string]int{"a": 1, "b": 2}) != HashKey(map[string]int{"b": 2, "a": 1}) {
		t.Error("map keys")
	}
	if HashKey(nil) != KeyHasher[any]()(nil) {
		t.Error("nil key")
	}
}

func TestPartitionOf(t *testing.T) {
	for _, n := range []int{-1, 0, 1} {
		if PartitionOf(12345, n) != 0 {
			t.Errorf("PartitionOf(_, %d) != 0", n)
		}
	}
	h := KeyHasher[string]()
	for _, k := range []string{"a", "stoke", ""} {
		if PartitionOf(h(k), 7) != Partition(k, 7) {
			t.Errorf("PartitionOf and Partition disagree on %q", k)
		}
	}
	if p := PartitionOf(math.MaxUint64, 10); p != int(uint64(math.MaxUint64)%10) {
		t.Errorf("PartitionOf(max, 10) = %d", p)
	}
}

func BenchmarkKeyHasher(b *testing.B) {
	hs := KeyHasher[string]()
	hk := KeyHasher[wordKey]()
	k := wordKey{Word: "some-word", Count: 3, F: 1.5}
	b.Run("string", func(b *testing.B) {
		for b.Loop() {
			hs("some-key-of-20-bytes")
		}
	})
	b.Run("struct", func(b *testing.B) {
		for b.Loop() {
			hk(k)
		}
	})
}
