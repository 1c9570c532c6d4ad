package main

import (
	"context"
	"fmt"

	"github.com/stoke-run/stoke"
)

var (
	sortOp   = stoke.RegisterSortByKey[string, string]("jobs.sort")
	joinLine = stoke.RegisterMap("jobs.joinLine", func(kv stoke.KV[string, string]) string { return kv.Key + "\t" + kv.Value })
)

// sortJob sorts the "key\tvalue" lines of IN by key, ascending, and saves
// them into the directory OUT (which must not exist) as "key\tvalue" lines,
// part-00000 holding the smallest keys. bench/checksort checks the output.
func sortJob(ctx context.Context, sc *stoke.Context, p int, args []string) (string, error) {
	lines, err := stoke.TextFile(sc, args[0], 0)
	if err != nil {
		return "", err
	}
	sorted, err := stoke.SortByKey(ctx, stoke.Map(lines, parseKV), sortOp, true, p)
	if err != nil {
		return "", err
	}
	if err := stoke.SaveAsTextFile(ctx, stoke.Map(sorted, joinLine), args[1]); err != nil {
		return "", err
	}
	return fmt.Sprintf("sorted %s into %s", args[0], args[1]), nil
}
