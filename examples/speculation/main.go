// Command speculation runs a job with one deliberately slow task and shows
// speculative execution rescuing it: a copy of the straggler runs elsewhere,
// the first attempt to finish wins, and the job ends long before the
// straggler would have. It starts two executor processes of its own.
//
//	go run ./examples/speculation
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stoke-run/stoke"
)

// Task is one record; the straggler sleeps long on its first attempt only
// (a marker directory remembers that an attempt already started).
type Task struct {
	ID        int
	Straggler bool
	Marker    string
}

var slow = stoke.RegisterMap("speculation.slow", func(t Task) int {
	if t.Straggler && os.Mkdir(t.Marker, 0o755) == nil {
		time.Sleep(30 * time.Second)
	} else {
		time.Sleep(100 * time.Millisecond)
	}
	return t.ID
})

func main() {
	n := flag.Int("tasks", 8, "tasks")
	flag.Parse()
	sc, err := stoke.New(stoke.Config{
		"stoke.app.name": "speculation",
		// Two executor processes: a copy never runs on the executor that
		// runs the original attempt.
		"stoke.master":      "local-cluster[2,4,1024]",
		"stoke.speculation": "true",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "speculation:", err)
		os.Exit(1)
	}
	defer sc.Stop()
	dir, err := os.MkdirTemp("", "stoke-speculation-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "speculation:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	tasks := make([]Task, *n)
	for i := range tasks {
		tasks[i] = Task{ID: i, Straggler: i == 0, Marker: filepath.Join(dir, "straggled")}
	}
	start := time.Now()
	ds, err := stoke.Parallelize(sc, tasks, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "speculation:", err)
		os.Exit(1)
	}
	ids, err := stoke.Collect(context.Background(), stoke.Map(ds, slow))
	if err != nil {
		fmt.Fprintln(os.Stderr, "speculation:", err)
		os.Exit(1)
	}
	fmt.Printf("%d results %v in %s (the straggler alone would take 30s)\n", len(ids), ids, time.Since(start).Round(10*time.Millisecond))
}
