// Command pi estimates π by throwing random points at a square.
//
//	go run ./examples/pi -samples 10000000
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/stoke-run/stoke"
)

// Slice is one task's share of the samples, with its own seed.
type Slice struct {
	Seed    uint64
	Samples int
}

var (
	throw = stoke.RegisterMap("pi.throw", func(s Slice) int64 {
		r := rand.New(rand.NewPCG(s.Seed, 0x5eed))
		var in int64
		for range s.Samples {
			x, y := r.Float64()*2-1, r.Float64()*2-1
			if x*x+y*y <= 1 {
				in++
			}
		}
		return in
	})
	add = stoke.RegisterReduce("pi.add", func(a, b int64) int64 { return a + b })
)

func main() {
	sc, err := stoke.New(stoke.Config{"stoke.app.name": "pi"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pi:", err)
		os.Exit(1)
	}
	samples := flag.Int("samples", 2_000_000, "points to throw")
	slices := flag.Int("slices", 0, "tasks (0: default parallelism)")
	flag.Parse()
	n := *slices
	if n <= 0 {
		n = sc.DefaultParallelism()
	}
	parts := make([]Slice, n)
	for i := range parts {
		parts[i] = Slice{Seed: uint64(i + 1), Samples: *samples / n}
	}
	ds, err := stoke.Parallelize(sc, parts, n)
	if err == nil {
		var in int64
		in, err = stoke.Reduce(context.Background(), stoke.Map(ds, throw), add)
		if err == nil {
			fmt.Printf("pi is roughly %.5f (%d samples in %d tasks)\n", 4*float64(in)/float64(n*(*samples/n)), n*(*samples/n), n)
		}
	}
	sc.Stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pi:", err)
		os.Exit(1)
	}
}
