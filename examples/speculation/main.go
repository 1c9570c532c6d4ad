// Command speculation runs a job with one deliberately slow task and shows
// speculative execution rescuing it: a copy of the straggler runs on
// another executor, the first attempt to finish wins, and the job ends long
// before the straggler would have. A copy never runs on the executor of the
// attempt it copies, so it needs two executors or more: submit it to a
// cluster, or to two local executor processes.
//
//	go build -o speculation ./examples/speculation
//	stoke submit --master 'local-cluster[2,4,1024]' ./speculation
//	stoke submit --master stoke://master:7077 ./speculation
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stoke-run/stoke"
)

// The first attempt of partition 0 is a straggler; every other attempt,
// the straggler's speculative copy included, takes 100 ms. The attempt
// number comes from the task's context, so this works on any cluster.
var slow = stoke.RegisterMapWithContext("speculation.slow", func(tc *stoke.TaskContext, id int) int {
	if tc.Partition() == 0 && tc.Attempt() == 0 {
		time.Sleep(30 * time.Second)
	} else {
		time.Sleep(100 * time.Millisecond)
	}
	return id
})

func main() {
	n := flag.Int("tasks", 8, "tasks")
	flag.Parse()
	// The master comes from stoke submit (or stoke.master in the
	// properties file); code setting it would win over both.
	sc, err := stoke.New(stoke.Config{
		"stoke.app.name":    "speculation",
		"stoke.speculation": "true",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "speculation:", err)
		os.Exit(1)
	}
	defer sc.Stop()
	if m := sc.Driver().Conf().String("stoke.master"); strings.HasPrefix(m, "local[") || m == "local" {
		fmt.Fprintf(os.Stderr, "speculation: master %s has one executor, so no copy can run beside the straggler (30 s);\n"+
			"  run it on two executors: go build -o speculation ./examples/speculation && stoke submit --master 'local-cluster[2,4,1024]' ./speculation\n", m)
	}
	ids := make([]int, *n)
	for i := range ids {
		ids[i] = i
	}
	start := time.Now()
	ds, err := stoke.Parallelize(sc, ids, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "speculation:", err)
		os.Exit(1)
	}
	out, err := stoke.Collect(context.Background(), stoke.Map(ds, slow))
	if err != nil {
		fmt.Fprintln(os.Stderr, "speculation:", err)
		os.Exit(1)
	}
	fmt.Printf("%d results %v in %s (the straggler alone would take 30s)\n", len(out), out, time.Since(start).Round(10*time.Millisecond))
}
