// Command flakyapp is the cluster-mode application of the Mesos dispatcher
// test. Its first run (no marker file yet) creates the marker and fails; a
// later run counts the words of INPUT on the cluster and writes "word count"
// lines, sorted, to OUTPUT.
//
//	flakyapp MARKER INPUT OUTPUT
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/stoke-run/stoke"
)

var (
	split = stoke.RegisterFlatMap("flakyapp.split", func(line string) []string { return strings.Fields(line) })
	one   = stoke.RegisterMap("flakyapp.one", func(w string) stoke.KV[string, int] { return stoke.KV[string, int]{Key: w, Value: 1} })
	sum   = stoke.RegisterReduceByKey[string, int]("flakyapp.sum", func(a, b int) int { return a + b })
)

func main() {
	stoke.RunIfExecutor() // an executor of this application never returns
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: flakyapp MARKER INPUT OUTPUT")
		os.Exit(2)
	}
	if _, err := os.Stat(os.Args[1]); os.IsNotExist(err) {
		if err := os.WriteFile(os.Args[1], nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "flakyapp:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "flakyapp: failing on purpose the first time")
		os.Exit(3)
	}
	os.Exit(count(os.Args[2], os.Args[3]))
}

func count(input, output string) int {
	sc, err := stoke.New(stoke.Config{"stoke.app.name": "flakyapp", "stoke.ui.enabled": "false"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "flakyapp:", err)
		return 1
	}
	defer sc.Stop()
	lines, err := stoke.TextFile(sc, input, 2)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flakyapp:", err)
		return 1
	}
	all, err := stoke.Collect(context.Background(), stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, split), one), sum, 2))
	if err != nil {
		fmt.Fprintln(os.Stderr, "flakyapp:", err)
		return 1
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Key < all[j].Key })
	var b strings.Builder
	for _, kv := range all {
		fmt.Fprintf(&b, "%s %d\n", kv.Key, kv.Value)
	}
	if err := os.WriteFile(output, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "flakyapp:", err)
		return 1
	}
	return 0
}
