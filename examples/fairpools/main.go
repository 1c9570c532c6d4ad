// Command fairpools runs two jobs at once in two FAIR pools and prints how
// the task slots were shared while both were running.
//
//	go run ./examples/fairpools -alloc examples/fairpools/pools.xml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/stoke-run/stoke"
)

var work = stoke.RegisterMap("fairpools.work", func(ms int) int {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return ms
})

// sharing counts task launches per pool while both jobs are active.
type sharing struct {
	mu        sync.Mutex
	stagePool map[int]string
	launches  map[string]int
}

func (s *sharing) OnEvent(e stoke.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev := e.(type) {
	case stoke.StageSubmitted:
		s.stagePool[ev.StageID] = ev.Pool
	case stoke.TaskStart:
		s.launches[s.stagePool[ev.StageID]]++
	}
}

func main() {
	alloc := flag.String("alloc", "examples/fairpools/pools.xml", "allocation file")
	tasks := flag.Int("tasks", 24, "tasks per job")
	flag.Parse()
	sh := &sharing{stagePool: map[int]string{}, launches: map[string]int{}}
	sc, err := stoke.New(stoke.Config{
		"stoke.app.name":                  "fairpools",
		"stoke.scheduler.mode":            "FAIR",
		"stoke.scheduler.allocation.file": *alloc,
	}, stoke.WithListener(sh))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fairpools:", err)
		os.Exit(1)
	}
	defer sc.Stop()
	var wg sync.WaitGroup
	for _, pool := range []string{"production", "adhoc"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms := make([]int, *tasks)
			for i := range ms {
				ms[i] = 50
			}
			ds, err := stoke.Parallelize(sc, ms, *tasks)
			if err == nil {
				_, err = stoke.Count(stoke.WithPool(context.Background(), pool), stoke.Map(ds, work))
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "fairpools: job in pool %s: %v\n", pool, err)
				os.Exit(1)
			}
			fmt.Printf("job in pool %-10s finished\n", pool)
		}()
	}
	wg.Wait()
	sh.mu.Lock()
	fmt.Printf("tasks launched: production=%d adhoc=%d\n", sh.launches["production"], sh.launches["adhoc"])
	sh.mu.Unlock()
}
