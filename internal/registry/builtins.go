package registry

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
)

// Built-in operators. AddType registers them for every element type, under
// names derived from the type's, so that the dataset API can use them on
// any dataset without the program registering anything:
//
//   - stoke.sample[T]: a Bernoulli or Poisson sample of each partition
//     (parameters: SampleParams, per partition);
//   - stoke.limit[T]: the first n records of each partition (Take);
//   - stoke.zipWithIndex[T]: each record with its index in the dataset
//     (parameter: the partition's first index), producing Indexed[T];
//   - stoke.roundRobin[T] and the shuffle stoke.repartition[T]: the map
//     side numbers each record from a per-partition start, the shuffle
//     sends position p to bucket p mod n and writes only the records.
//
// A type registered only as the output of a built-in (Indexed[T]) has the
// others but not zipWithIndex, which would need Indexed[Indexed[T]];
// stoke.RegisterType[Indexed[T]]() adds it.

// Levels of built-ins a registered type has.
const (
	levelType = iota // codec and partition operations only
	levelOps         // plus sample, limit and repartition
	levelFull        // plus zipWithIndex
)

// Indexed is a record with its index: its position in the dataset
// (zipWithIndex), or its round-robin position inside a repartition.
type Indexed[T any] struct {
	Index int64
	Value T
}

// SampleFunc names the built-in sample function of a type.
func SampleFunc(typ string) string { return "stoke.sample[" + typ + "]" }

// LimitFunc names the built-in function keeping the first n records of a
// partition.
func LimitFunc(typ string) string { return "stoke.limit[" + typ + "]" }

// ZipWithIndexFunc names the built-in function pairing records with their
// index.
func ZipWithIndexFunc(typ string) string { return "stoke.zipWithIndex[" + typ + "]" }

// RoundRobinFunc names the map side of a type's repartition.
func RoundRobinFunc(typ string) string { return "stoke.roundRobin[" + typ + "]" }

// RepartitionOp names the built-in repartition shuffle of a type.
func RepartitionOp(typ string) string { return "stoke.repartition[" + typ + "]" }

// SampleParams are one partition's parameters of stoke.sample.
type SampleParams struct {
	WithReplacement bool
	Fraction        float64 // without replacement: the probability of keeping a record; with: the mean number of copies
	Seed            int64   // the partition's seed
}

// Encode is the wire form of p.
func (p SampleParams) Encode() []byte {
	b := make([]byte, 17)
	if p.WithReplacement {
		b[0] = 1
	}
	binary.LittleEndian.PutUint64(b[1:], math.Float64bits(p.Fraction))
	binary.LittleEndian.PutUint64(b[9:], uint64(p.Seed))
	return b
}

// Check says what is wrong with p, or nil.
func (p SampleParams) Check() error {
	switch {
	case math.IsNaN(p.Fraction) || math.IsInf(p.Fraction, 0) || p.Fraction < 0:
		return fmt.Errorf("sample fraction must be a finite number >= 0, got %v", p.Fraction)
	case !p.WithReplacement && p.Fraction > 1:
		return fmt.Errorf("sample fraction without replacement is a probability and must be in [0,1], got %v (sample with replacement for more copies)", p.Fraction)
	}
	return nil
}

// DecodeSampleParams reads what Encode wrote.
func DecodeSampleParams(b []byte) (SampleParams, error) {
	if len(b) != 17 || b[0] > 1 {
		return SampleParams{}, fmt.Errorf("malformed sample parameters (%d bytes, want 17)", len(b))
	}
	p := SampleParams{
		WithReplacement: b[0] == 1,
		Fraction:        math.Float64frombits(binary.LittleEndian.Uint64(b[1:])),
		Seed:            int64(binary.LittleEndian.Uint64(b[9:])),
	}
	return p, p.Check()
}

// EncodeInt is the wire form of an integer parameter (limit, first index,
// round-robin start).
func EncodeInt(n int64) []byte { return binary.AppendVarint(nil, n) }

// DecodeInt reads what EncodeInt wrote.
func DecodeInt(b []byte) (int64, error) {
	n, k := binary.Varint(b)
	if k <= 0 || k != len(b) {
		return 0, fmt.Errorf("malformed integer parameter %x", b)
	}
	return n, nil
}

// RoundRobinStart is where partition p of a dataset starts numbering its
// records when repartitioned into n partitions: spread by a fixed hash of
// p, so that small partitions do not all fill the first buckets, and the
// same in every attempt.
func RoundRobinStart(p, n int) int64 {
	z := uint64(p) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z % uint64(max(n, 1)))
}

func sampleFunc[T any](typ string) *Func {
	return &Func{Name: SampleFunc(typ), Kind: MapPartitions, In: typ, Out: typ,
		ApplyParams: func(in any, params []byte) (any, error) {
			src, err := Seq[T](in)
			if err != nil {
				return nil, err
			}
			p, err := DecodeSampleParams(params)
			if err != nil {
				return nil, err
			}
			return iter.Seq[T](func(yield func(T) bool) {
				rng := rand.New(rand.NewPCG(uint64(p.Seed), 0x5eed5a3b1e))
				for r := range src {
					if !p.WithReplacement {
						if rng.Float64() < p.Fraction && !yield(r) {
							return
						}
						continue
					}
					for k := Poisson(rng, p.Fraction); k > 0; k-- {
						if !yield(r) {
							return
						}
					}
				}
			}), nil
		}}
}

// Poisson draws from a Poisson distribution of mean lambda (Knuth's method,
// over chunks of the mean small enough not to underflow).
func Poisson(rng *rand.Rand, lambda float64) int {
	k := 0
	for lambda > 0 {
		l := min(lambda, 30)
		lambda -= l
		limit := math.Exp(-l)
		for p := rng.Float64(); p > limit; p *= rng.Float64() {
			k++
		}
	}
	return k
}

func limitFunc[T any](typ string) *Func {
	return &Func{Name: LimitFunc(typ), Kind: MapPartitions, In: typ, Out: typ,
		ApplyParams: func(in any, params []byte) (any, error) {
			src, err := Seq[T](in)
			if err != nil {
				return nil, err
			}
			limit, err := DecodeInt(params)
			if err != nil || limit < 0 {
				return nil, fmt.Errorf("malformed limit %x", params)
			}
			return iter.Seq[T](func(yield func(T) bool) {
				if limit == 0 {
					return
				}
				n := int64(0)
				for r := range src {
					if !yield(r) {
						return
					}
					if n++; n >= limit {
						return
					}
				}
			}), nil
		}}
}

// indexFrom numbers the records of a partition from the parameter on.
func indexFrom[T any](name, in, out string) *Func {
	return &Func{Name: name, Kind: MapPartitions, In: in, Out: out,
		ApplyParams: func(seq any, params []byte) (any, error) {
			src, err := Seq[T](seq)
			if err != nil {
				return nil, err
			}
			start, err := DecodeInt(params)
			if err != nil || start < 0 {
				return nil, fmt.Errorf("malformed first index %x", params)
			}
			return iter.Seq[Indexed[T]](func(yield func(Indexed[T]) bool) {
				i := start
				for r := range src {
					if !yield(Indexed[T]{Index: i, Value: r}) {
						return
					}
					i++
				}
			}), nil
		}}
}

func zipWithIndexFunc[T any](typ string) *Func {
	return indexFrom[T](ZipWithIndexFunc(typ), typ, TypeName[Indexed[T]]())
}

func roundRobinFunc[T any](typ, indexed string) *Func {
	return indexFrom[T](RoundRobinFunc(typ), typ, indexed)
}

// repartitionShuffle sends the record at position p to bucket p mod n and
// writes the records alone.
func repartitionShuffle[T any](typ, indexed string) *Shuffle {
	return &Shuffle{Name: RepartitionOp(typ), Sides: 1, In: []string{indexed}, Out: typ,
		Write: func(env *ShuffleEnv, _ int, in any, n int, _ []byte) (int64, error) {
			src, err := Seq[Indexed[T]](in)
			if err != nil {
				return 0, err
			}
			return writeRoundRobin(env, src, n)
		},
		Read: func(_ *ShuffleEnv, sides []BlockIter, _ []byte) (any, error) {
			if len(sides) != 1 {
				return nil, fmt.Errorf("repartition reads 1 side, got %d", len(sides))
			}
			return readFrames[T](sides[0]), nil
		}}
}

func writeRoundRobin[T any](env *ShuffleEnv, src iter.Seq[Indexed[T]], n int) (int64, error) {
	return WriteBuckets(env, src, n, func(r *Indexed[T]) (int, T) { return int(uint64(r.Index) % uint64(n)), r.Value })
}

// readFrames yields the records of every frame of every block, fetching
// blocks as it goes; a fetch or decoding error fails the task.
func readFrames[T any](blocks BlockIter) iter.Seq[T] {
	return func(yield func(T) bool) {
		if err := EachRecord(blocks, func(r *T) bool { return yield(*r) }); err != nil {
			Abort(err)
		}
	}
}
