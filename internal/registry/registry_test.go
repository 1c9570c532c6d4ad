package registry

import (
	"strings"
	"testing"
)

type point struct{ X, Y int }

// Hashes are fixed values, the same in every process and every run, so map
// and reduce sides agree on partitions (a per-process seed would break it).
func TestHashKeyIsStableAcrossProcesses(t *testing.T) {
	cases := []struct {
		key  any
		want uint64
	}{
		{"stoke", 0x453c40ad76f2bce3},
		{42, 0xff3add6b3789daef},
		{point{1, 2}, HashKey(point{1, 2})},
	}
	for _, c := range cases {
		if got := HashKey(c.key); got != c.want {
			t.Errorf("HashKey(%#v) = %#x, want %#x", c.key, got, c.want)
		}
	}
	if Partition("stoke", 1) != 0 || Partition("x", 0) != 0 {
		t.Error("one bucket must be bucket 0")
	}
	for i := 0; i < 1000; i++ {
		if p := Partition(i, 7); p < 0 || p >= 7 {
			t.Fatalf("Partition(%d, 7) = %d", i, p)
		}
	}
}

func TestDiffNamesTheDifference(t *testing.T) {
	if _, err := LookupFunc("test.only.here"); err != nil { // -count>1 runs again
		AddFunc(&Func{Name: "test.only.here", Kind: Map})
	}
	local := FuncNames()
	remote := append([]string{"test.only.there"}, removeName(local, "test.only.here")...)
	d := Diff(remote, TypeNames())
	if !strings.Contains(d, "functions missing on the executor: [test.only.here]") || !strings.Contains(d, "functions unknown to the driver: [test.only.there]") {
		t.Fatalf("Diff = %q", d)
	}
	if d := Diff(FuncNames(), TypeNames()); d != "" {
		t.Fatalf("same registry: Diff = %q", d)
	}
}

func removeName(names []string, n string) []string {
	var out []string
	for _, x := range names {
		if x != n {
			out = append(out, x)
		}
	}
	return out
}

func TestDuplicateRegistrationPanics(t *testing.T) {
	if _, err := LookupFunc("test.dup"); err != nil { // -count>1 runs again
		AddFunc(&Func{Name: "test.dup", Kind: Map})
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"test.dup" registered twice`) {
			t.Fatalf("recover = %v", r)
		}
	}()
	AddFunc(&Func{Name: "test.dup", Kind: Map})
}

func TestCodecRoundTripAndGarbage(t *testing.T) {
	name := AddType[point]()
	typ, err := LookupType(name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := typ.Encode(SliceSeq([]point{{1, 2}, {3, 4}}))
	if err != nil {
		t.Fatal(err)
	}
	seq, n, err := typ.Decode(data)
	if err != nil || n != 2 {
		t.Fatalf("round trip: %d records, %v", n, err)
	}
	recs, err := Seq[point](seq)
	if err != nil {
		t.Fatal(err)
	}
	var got []point
	for r := range recs {
		got = append(got, r)
	}
	if len(got) != 2 || got[1] != (point{3, 4}) || typ.Count(seq) != 2 {
		t.Fatalf("round trip: %v", got)
	}
	if _, err := Seq[string](seq); err == nil {
		t.Error("a partition of points passed as strings")
	}
	if _, _, err := typ.Decode([]byte{0xff, 0x00, 0x13}); err == nil {
		t.Error("decoding garbage succeeded")
	}
	if _, err := LookupType("no.such.Type"); err == nil || !strings.Contains(err.Error(), "RegisterType") {
		t.Errorf("unknown type: %v", err)
	}
}

func TestFastCodecsRoundTripAndRefuseGarbage(t *testing.T) {
	strs := []string{"", "a", "héllo", strings.Repeat("x", 300)}
	b, err := EncodeSlice(strs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSlice[string](b)
	if err != nil || len(got) != 4 || got[3] != strs[3] || got[2] != "héllo" {
		t.Fatalf("strings: %q %v", got, err)
	}
	ints := []int{0, -1, 1 << 40, -(1 << 62)}
	b, _ = EncodeSlice(ints)
	gotI, err := DecodeSlice[int](b)
	if err != nil || len(gotI) != 4 || gotI[3] != ints[3] {
		t.Fatalf("ints: %v %v", gotI, err)
	}
	if _, err := DecodeSlice[string](b); err == nil {
		t.Error("ints decoded as strings")
	}
	for _, bad := range [][]byte{{tagStrings}, {tagStrings, 5, 1, 'a'}, {tagInts, 2, 1}, {tagStrings, 1, 9, 'a'}, {'?', 1}, append(mustEncode(t, []string{"a"}), 'z')} {
		if _, err := DecodeSlice[string](bad); err == nil {
			if _, err := DecodeSlice[int](bad); err == nil {
				t.Errorf("garbage %q decoded", bad)
			}
		}
	}
	if b, _ := EncodeSlice([]point(nil)); b != nil {
		t.Error("no records should encode to no bytes")
	}
}

func FuzzDecodeSlice(f *testing.F) {
	f.Add(mustEncode(f, []string{"a", "bc"}))
	f.Add(mustEncode(f, []int{1, -2}))
	f.Add(mustEncode(f, []point{{1, 2}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		DecodeSlice[string](data)
		DecodeSlice[int](data)
		DecodeSlice[point](data)
	})
}

func mustEncode[T any](t testing.TB, recs []T) []byte {
	t.Helper()
	b, err := EncodeSlice(recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
