// Command sales ranks products by revenue: it parses a CSV of sales once and
// caches it, looks prices up in a broadcast table, counts malformed lines
// with an accumulator, and sorts by revenue.
//
//	go run ./examples/sales examples/sales/sales.csv
//	stoke submit --master local-cluster[2,1,1024] ./sales -top 3 sales.csv
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/stoke-run/stoke"
)

// Sale is one line of the input.
type Sale struct {
	Store, Product string
	Quantity       int
}

var (
	// Prices (in cents) are set by main and read by executors by name.
	prices = stoke.RegisterBroadcast[map[string]int]("sales.prices")
	// Malformed counts lines that do not parse, once per line whatever
	// retries or speculative copies ran.
	malformed = stoke.RegisterAccumulator("sales.malformed", func() int { return 0 }, func(a, b int) int { return a + b })

	parse = stoke.RegisterFlatMapWithContext("sales.parse", func(tc *stoke.TaskContext, line string) []Sale {
		if line == "" || strings.HasPrefix(line, "#") {
			return nil
		}
		f := strings.Split(line, ",")
		if len(f) != 3 {
			malformed.Add(tc, 1)
			return nil
		}
		q, err := strconv.Atoi(f[2])
		if err != nil {
			malformed.Add(tc, 1)
			return nil
		}
		return []Sale{{f[0], f[1], q}}
	})
	revenue = stoke.RegisterMap("sales.revenue", func(s Sale) stoke.KV[string, int] {
		return stoke.KV[string, int]{Key: s.Product, Value: s.Quantity * prices.Value()[s.Product]}
	})
	perStore = stoke.RegisterMap("sales.perStore", func(s Sale) stoke.KV[string, int] {
		return stoke.KV[string, int]{Key: s.Store, Value: s.Quantity}
	})
	sum  = stoke.RegisterReduceByKey[string, int]("sales.sum", func(a, b int) int { return a + b })
	swap = stoke.RegisterMap("sales.swap", func(kv stoke.KV[string, int]) stoke.KV[int, string] {
		return stoke.KV[int, string]{Key: kv.Value, Value: kv.Key}
	})
	byValue = stoke.RegisterSortByKey[int, string]("sales.byRevenue")
)

func main() {
	sc, err := stoke.New(stoke.Config{"stoke.app.name": "sales"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sales:", err)
		os.Exit(1)
	}
	code := run(sc)
	sc.Stop()
	os.Exit(code)
}

func run(sc *stoke.Context) int {
	top := flag.Int("top", 5, "how many products to print")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: sales [-top N] FILE")
		return 2
	}
	if err := fail(prices.Set(sc, map[string]int{
		"apple": 45, "bread": 250, "cheese": 780, "dates": 520, "eggs": 310,
		"flour": 190, "grapes": 330, "honey": 910, "jam": 420, "kale": 280,
	})); err != nil {
		return 1
	}
	lines, err := stoke.TextFile(sc, flag.Arg(0), 0)
	if fail(err) != nil {
		return 1
	}
	// Two jobs read the parsed sales: parse once, keep them in memory.
	sales := stoke.FlatMap(lines, parse).Cache()
	ctx := context.Background()

	byRevenue, err := stoke.SortByKey(ctx, stoke.Map(stoke.ReduceByKey(stoke.Map(sales, revenue), sum, 0), swap), byValue, false, 0)
	if fail(err) != nil {
		return 1
	}
	best, err := stoke.Take(ctx, byRevenue, *top)
	if fail(err) != nil {
		return 1
	}
	for _, kv := range best {
		fmt.Printf("%-8s %8.2f\n", kv.Value, float64(kv.Key)/100)
	}
	stores, err := stoke.Collect(ctx, stoke.ReduceByKey(stoke.Map(sales, perStore), sum, 0))
	if fail(err) != nil {
		return 1
	}
	fmt.Printf("%d stores; %d malformed lines skipped\n", len(stores), malformed.Value())
	return 0
}

func fail(err error) error {
	if err != nil {
		fmt.Fprintln(os.Stderr, "sales:", err)
	}
	return err
}
