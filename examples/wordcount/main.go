// Command wordcount counts the words of a text file (or directory) and
// prints the most frequent ones; with -out it also saves every count.
//
//	go run ./examples/wordcount examples/wordcount/sample.txt
//	stoke submit --master local-cluster[2,2,1024] ./wordcount -top 5 input.txt
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"

	"github.com/stoke-run/stoke"
)

var (
	tokenize = stoke.RegisterFlatMap("wordcount.tokenize", func(line string) []string {
		return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
	})
	one = stoke.RegisterMap("wordcount.one", func(w string) stoke.KV[string, int] { return stoke.KV[string, int]{Key: w, Value: 1} })
	sum = stoke.RegisterReduceByKey[string, int]("wordcount.sum", func(a, b int) int { return a + b })
)

func main() {
	// New comes first: in an executor process it never returns.
	sc, err := stoke.New(stoke.Config{"stoke.app.name": "wordcount"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
	code := run(sc)
	sc.Stop()
	os.Exit(code)
}

func run(sc *stoke.Context) int {
	top := flag.Int("top", 10, "how many words to print")
	out := flag.String("out", "", "also save every count into this directory")
	partitions := flag.Int("partitions", 0, "minimum input partitions (0: default)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wordcount [-top N] [-out DIR] FILE|DIR")
		return 2
	}
	lines, err := stoke.TextFile(sc, flag.Arg(0), *partitions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		return 1
	}
	counts := stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, tokenize), one), sum, 0)
	ctx := context.Background()
	if *out != "" {
		if err := stoke.SaveAsTextFile(ctx, counts, *out); err != nil {
			fmt.Fprintln(os.Stderr, "wordcount:", err)
			return 1
		}
	}
	all, err := stoke.Collect(ctx, counts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		return 1
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Value != all[j].Value {
			return all[i].Value > all[j].Value
		}
		return all[i].Key < all[j].Key
	})
	for i, kv := range all {
		if i == *top {
			break
		}
		fmt.Printf("%-16s %d\n", kv.Key, kv.Value)
	}
	return 0
}
