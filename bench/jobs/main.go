// Command jobs runs the Stoke side of the Stoke-vs-Spark benchmarks
// (scripts/bench-vs-spark.sh; bench/spark holds the same jobs for Spark).
// Each job prints one checksum line ("checksum: JOB n=… total=… hash=…",
// see bench/internal/check) that the Spark job prints too. Give the master
// the way users do:
//
//	stoke submit --master 'local[2]' ./jobs wordcount words.txt
//	stoke submit --master 'local-cluster[2,1,2048]' ./jobs join small.txt big.txt
//	stoke submit --master 'local[2]' ./jobs group kv.txt
//	stoke submit --master 'local[2]' ./jobs sort kv.txt out-dir
//
// -p N sets the partitions of the shuffles (0: Stoke's default parallelism).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/bench/internal/check"
)

// The word count is examples/wordcount's, summed into a checksum instead of
// printing the top words.
var (
	tokenize = stoke.RegisterFlatMap("jobs.tokenize", func(line string) []string {
		return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
	})
	one       = stoke.RegisterMap("jobs.one", func(w string) stoke.KV[string, int] { return stoke.KV[string, int]{Key: w, Value: 1} })
	sumCounts = stoke.RegisterReduceByKey[string, int]("jobs.sumCounts", func(a, b int) int { return a + b })
	wordSum   = stoke.RegisterMap("jobs.wordSum", func(kv stoke.KV[string, int]) check.Sum {
		return check.Sum{N: 1, Total: int64(kv.Value), Hash: check.Hash(kv.Key, strconv.Itoa(kv.Value))}
	})
	addSums = stoke.RegisterReduce("jobs.addSums", check.Add)
)

// Key-value inputs: "key\tvalue" lines (a line without a tab is a key with an
// empty value, as on the Spark side).
var (
	parseKV = stoke.RegisterMap("jobs.parseKV", func(line string) stoke.KV[string, string] {
		k, v, _ := strings.Cut(line, "\t")
		return stoke.KV[string, string]{Key: k, Value: v}
	})
	groupOp  = stoke.RegisterGroupByKey[string, string]("jobs.group")
	groupSum = stoke.RegisterMap("jobs.groupSum", func(kv stoke.KV[string, []string]) check.Sum {
		s := check.Sum{N: 1, Total: int64(len(kv.Value))}
		for _, v := range kv.Value {
			s.Hash += check.Hash(kv.Key, v)
		}
		return s
	})
	joinOp  = stoke.RegisterJoin[string, string, string]("jobs.join")
	joinSum = stoke.RegisterMap("jobs.joinSum", func(kv stoke.KV[string, stoke.Joined[string, string]]) check.Sum {
		return check.Sum{N: 1, Total: int64(len(kv.Value.Left) + len(kv.Value.Right)), Hash: check.Hash(kv.Key, kv.Value.Left, kv.Value.Right)}
	})
)

// job is one subcommand: its arguments and what it runs.
type job struct {
	args string
	run  func(ctx context.Context, sc *stoke.Context, partitions int, args []string) (string, error)
}

// jobs are the subcommands.
var jobs = map[string]job{
	"sort":      {"IN OUT", sortJob},
	"wordcount": {"IN", wordcount},
	"group":     {"IN", group},
	"join":      {"SMALL BIG", join},
}

func main() {
	// New comes first: in an executor process it never returns (and the
	// process has none of the driver's arguments).
	sc, err := stoke.New(stoke.Config{"stoke.app.name": "bench-jobs"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "jobs:", err)
		os.Exit(1)
	}
	code := run(sc)
	sc.Stop()
	os.Exit(code)
}

func usage() {
	names := make([]string, 0, len(jobs))
	for n, j := range jobs {
		names = append(names, "  jobs [-p N] "+n+" "+j.args)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage:\n%s\n", strings.Join(names, "\n"))
}

func run(sc *stoke.Context) int {
	partitions := flag.Int("p", 0, "partitions of each shuffle (0: the default parallelism)")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() == 0 {
		usage()
		return 2
	}
	j, ok := jobs[flag.Arg(0)]
	if !ok || flag.NArg()-1 != len(strings.Fields(j.args)) {
		usage()
		return 2
	}
	if *partitions < 0 {
		fmt.Fprintf(os.Stderr, "jobs: -p must be 0 (the default parallelism) or more, got %d\n", *partitions)
		return 2
	}
	out, err := j.run(context.Background(), sc, *partitions, flag.Args()[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "jobs %s: %v\n", flag.Arg(0), err)
		return 1
	}
	fmt.Println(out)
	return 0
}

// wordcount counts words and prints how many distinct, how many in all and
// the hash sum of "word\tcount".
func wordcount(ctx context.Context, sc *stoke.Context, p int, args []string) (string, error) {
	lines, err := stoke.TextFile(sc, args[0], 0)
	if err != nil {
		return "", err
	}
	counts := stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, tokenize), one), sumCounts, p)
	return sumLine(ctx, "wordcount", stoke.Map(counts, wordSum))
}

// group groups the values of each key and prints the number of keys, of
// values, and the hash sum of "key\tvalue".
func group(ctx context.Context, sc *stoke.Context, p int, args []string) (string, error) {
	lines, err := stoke.TextFile(sc, args[0], 0)
	if err != nil {
		return "", err
	}
	return sumLine(ctx, "group", stoke.Map(stoke.GroupByKey(stoke.Map(lines, parseKV), groupOp, p), groupSum))
}

// join joins SMALL with BIG on the key and prints the number of joined
// records, the bytes of their values and the hash sum of
// "key\tsmallValue\tbigValue".
func join(ctx context.Context, sc *stoke.Context, p int, args []string) (string, error) {
	small, err := stoke.TextFile(sc, args[0], 0)
	if err != nil {
		return "", err
	}
	big, err := stoke.TextFile(sc, args[1], 0)
	if err != nil {
		return "", err
	}
	return sumLine(ctx, "join", stoke.Map(stoke.Join(stoke.Map(small, parseKV), stoke.Map(big, parseKV), joinOp, p), joinSum))
}

// sumLine reduces per-record summaries to one and returns its checksum line.
func sumLine(ctx context.Context, name string, sums stoke.Dataset[check.Sum]) (string, error) {
	s, err := stoke.Reduce(ctx, sums, addSums)
	if err != nil && !errors.Is(err, stoke.ErrEmpty) {
		return "", err
	}
	return check.Line(name, s), nil
}
