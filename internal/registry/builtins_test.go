package registry

import (
	"errors"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

type builtinRec struct{ A int }

func TestAddTypeRegistersBuiltins(t *testing.T) {
	name := AddType[builtinRec]()
	before := FuncNames()
	if AddType[builtinRec]() != name || !slices.Equal(FuncNames(), before) {
		t.Fatal("registering a type again changed the registry")
	}
	indexed := TypeName[Indexed[builtinRec]]()
	for _, f := range []string{SampleFunc(name), LimitFunc(name), ZipWithIndexFunc(name), RoundRobinFunc(name), SampleFunc(indexed), LimitFunc(indexed)} {
		if _, err := LookupFunc(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, s := range []string{RepartitionOp(name), RepartitionOp(indexed)} {
		if _, err := LookupShuffle(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if f, _ := LookupFunc(ZipWithIndexFunc(name)); f == nil || f.In != name || f.Out != indexed {
		t.Errorf("zipWithIndex: %+v", f)
	}
	// Indexed[T] has every built-in but zipWithIndex until it is
	// registered itself.
	if _, err := LookupFunc(ZipWithIndexFunc(indexed)); err == nil {
		t.Fatal("Indexed[T] has zipWithIndex before its own registration")
	}
	func() {
		frozen = true
		defer func() { frozen = false }()
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "after the Context started") {
				t.Errorf("adding built-ins after Freeze: recover = %v", r)
			}
		}()
		AddType[Indexed[builtinRec]]()
	}()
	AddType[Indexed[builtinRec]]()
	if _, err := LookupFunc(ZipWithIndexFunc(indexed)); err != nil {
		t.Fatal(err)
	}
	// Once a type has every built-in, registering it after Freeze is the
	// no-op it always was.
	frozen = true
	AddType[builtinRec]()
	frozen = false
}

func TestLimitStopsReading(t *testing.T) {
	f, _ := LookupFunc(LimitFunc(TypeName[int]()))
	read := 0
	src := func(yield func(int) bool) {
		for i := range 100 {
			read++
			if !yield(i) {
				return
			}
		}
	}
	for _, c := range []struct{ limit, want int }{{3, 3}, {0, 0}, {200, 100}} {
		read = 0
		seq, err := f.ApplyParams(seqOf(src), EncodeInt(int64(c.limit)))
		if err != nil {
			t.Fatal(err)
		}
		got := collectInts(seq)
		if len(got) != c.want || read > c.want+1 || (c.want > 0 && got[c.want-1] != c.want-1) {
			t.Errorf("limit %d: %d records after reading %d", c.limit, len(got), read)
		}
	}
	for _, bad := range [][]byte{nil, EncodeInt(-1), {0x80}, append(EncodeInt(3), 0)} {
		if _, err := f.ApplyParams(seqOf(src), bad); err == nil {
			t.Errorf("limit parameters %x accepted", bad)
		}
	}
	if _, err := f.ApplyParams(SliceSeq([]string{"a"}), EncodeInt(1)); err == nil {
		t.Error("limit of ints applied to strings")
	}
}

func TestZipWithIndexCountsFromTheParameter(t *testing.T) {
	f, _ := LookupFunc(ZipWithIndexFunc(TypeName[string]()))
	seq, err := f.ApplyParams(SliceSeq([]string{"a", "b", "c"}), EncodeInt(7))
	if err != nil {
		t.Fatal(err)
	}
	var got []Indexed[string]
	s, err := Seq[Indexed[string]](seq)
	if err != nil {
		t.Fatal(err)
	}
	for r := range s {
		got = append(got, r)
	}
	if !slices.Equal(got, []Indexed[string]{{7, "a"}, {8, "b"}, {9, "c"}}) {
		t.Fatalf("zipWithIndex from 7 = %v", got)
	}
	for _, bad := range [][]byte{nil, EncodeInt(-3), {0xff}} {
		if _, err := f.ApplyParams(SliceSeq([]string{"a"}), bad); err == nil {
			t.Errorf("first index %x accepted", bad)
		}
	}
}

func TestSampleParams(t *testing.T) {
	p := SampleParams{WithReplacement: true, Fraction: 2.5, Seed: -9}
	got, err := DecodeSampleParams(p.Encode())
	if err != nil || got != p {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	bad := [][]byte{nil, make([]byte, 16), append(p.Encode(), 0), func() []byte { b := p.Encode(); b[0] = 2; return b }(),
		SampleParams{Fraction: math.NaN()}.Encode(), SampleParams{Fraction: 1.01}.Encode(),
		SampleParams{WithReplacement: true, Fraction: -1}.Encode(), SampleParams{WithReplacement: true, Fraction: math.Inf(1)}.Encode()}
	f, _ := LookupFunc(SampleFunc(TypeName[int]()))
	for _, b := range bad {
		if _, err := DecodeSampleParams(b); err == nil {
			t.Errorf("sample parameters %x accepted", b)
		}
		if _, err := f.ApplyParams(SliceSeq([]int{1}), b); err == nil {
			t.Errorf("sample applied with parameters %x", b)
		}
	}
	// One seed, one sample.
	in := make([]int, 1000)
	for i := range in {
		in[i] = i
	}
	run := func(p SampleParams) []int {
		seq, err := f.ApplyParams(SliceSeq(in), p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		return collectInts(seq)
	}
	a, b := run(SampleParams{Fraction: 0.5, Seed: 3}), run(SampleParams{Fraction: 0.5, Seed: 3})
	if !slices.Equal(a, b) || slices.Equal(a, run(SampleParams{Fraction: 0.5, Seed: 4})) {
		t.Fatal("sample is not a function of its seed")
	}
}

func TestPoissonMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, lambda := range []float64{0, 0.1, 1, 45, 800} {
		const n = 20000
		sum := 0
		for range n {
			sum += Poisson(rng, lambda)
		}
		mean := float64(sum) / n
		if sd := math.Sqrt(lambda / n); math.Abs(mean-lambda) > 5*sd+1e-9 {
			t.Errorf("Poisson(%v): mean %v over %d draws", lambda, mean, n)
		}
	}
}

type bucketMap map[int][]byte

func (b bucketMap) Append(bucket int, frames []byte) error {
	b[bucket] = append(b[bucket], frames...)
	return nil
}

func TestRepartitionDealsRoundRobinAndReadsBack(t *testing.T) {
	name := TypeName[string]()
	s, err := LookupShuffle(RepartitionOp(name))
	if err != nil {
		t.Fatal(err)
	}
	rr, _ := LookupFunc(RoundRobinFunc(name))
	var in []string
	for i := range 10000 {
		in = append(in, strings.Repeat("x", i%7))
	}
	const n = 3
	start := RoundRobinStart(5, n)
	dealt, err := rr.ApplyParams(SliceSeq(in), EncodeInt(start))
	if err != nil {
		t.Fatal(err)
	}
	out := bucketMap{}
	count, err := s.Write(&ShuffleEnv{Out: out}, 0, dealt, n, nil)
	if err != nil || count != int64(len(in)) {
		t.Fatalf("write: %d records, %v", count, err)
	}
	var all []string
	for b := range n {
		blocks := BlockIter(func(yield func([]byte) bool) error {
			yield(out[b])
			return nil
		})
		seq, err := s.Read(nil, []BlockIter{blocks}, nil)
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := Seq[string](seq)
		got := slices.Collect(recs)
		// Record i went to bucket (start+i) mod n, in order.
		var want []string
		for i, r := range in {
			if (start+int64(i))%n == int64(b) {
				want = append(want, r)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("bucket %d holds %d records, not the %d dealt to it", b, len(got), len(want))
		}
		if len(got) < len(in)/n || len(got) > len(in)/n+1 {
			t.Fatalf("bucket %d holds %d of %d records", b, len(got), len(in))
		}
		all = append(all, got...)
	}
	slices.Sort(all)
	want := slices.Clone(in)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Fatal("the buckets do not hold the records")
	}
}

func TestRepartitionReadFailsOnGarbageAndFetchErrors(t *testing.T) {
	s, _ := LookupShuffle(RepartitionOp(TypeName[int]()))
	fetch := errors.New("fetch failed")
	good, _ := EncodeSlice([]int{1, 2})
	for _, c := range []struct {
		blocks BlockIter
		want   string
	}{
		{func(yield func([]byte) bool) error { yield([]byte{0x05, 'i'}); return nil }, "frame length runs past the end"},
		{func(yield func([]byte) bool) error {
			yield(append([]byte{byte(len(good))}, good[:len(good)-1]...))
			return nil
		}, "frame length"},
		{func(yield func([]byte) bool) error { yield([]byte{0x02, 's', 0x09}); return nil }, "malformed shuffle block"},
		{func(yield func([]byte) bool) error { return fetch }, "fetch failed"},
	} {
		seq, err := s.Read(nil, []BlockIter{c.blocks}, nil)
		if err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				r := recover()
				ae, ok := r.(AbortError)
				if !ok || !strings.Contains(ae.Error(), c.want) {
					t.Errorf("recover = %v, want an abort mentioning %q", r, c.want)
				}
				if c.want == "fetch failed" && !errors.Is(ae.Err, fetch) {
					t.Errorf("fetch error not kept: %v", ae.Err)
				}
			}()
			collectInts(seq)
		}()
	}
}

func TestRoundRobinStartIsInRangeAndSpread(t *testing.T) {
	seen := map[int64]bool{}
	for p := range 64 {
		s := RoundRobinStart(p, 8)
		if s < 0 || s >= 8 || s != RoundRobinStart(p, 8) {
			t.Fatalf("start of partition %d: %d", p, s)
		}
		seen[s] = true
	}
	if len(seen) < 6 {
		t.Fatalf("64 partitions start at only %d of 8 places", len(seen))
	}
}

func seqOf(f func(func(int) bool)) any { return iter.Seq[int](f) }

func collectInts(seq any) []int {
	s, err := Seq[int](seq)
	if err != nil {
		panic(err)
	}
	return slices.Collect(s)
}
