// Command fairpools runs two jobs at once in two FAIR pools and shows what
// the allocation file's weights and minShare do: while both have tasks
// waiting, the pool of weight 2 (production) gets two slots for every one
// of the pool of weight 1 (adhoc), launches more tasks and finishes first.
// Weights show once there are enough slots to divide: run it on a master
// with six or more, for example
//
//	go build -o fairpools ./examples/fairpools
//	stoke submit --master 'local[6]' ./fairpools -alloc examples/fairpools/pools.xml
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

// sharing follows each pool's running tasks while both jobs are active.
type sharing struct {
	mu        sync.Mutex
	stagePool map[int]string
	active    map[string]bool
	starts    map[int64]time.Time
	running   map[string]int
	ended     string // the pool whose job ended first
	// While both pools are active: launches per pool, and slot time (the
	// sum of running tasks over time) per pool.
	launches map[string]int
	slotTime map[string]time.Duration
	last     time.Time
	maxSlots int
}

func newSharing() *sharing {
	return &sharing{stagePool: map[int]string{}, active: map[string]bool{}, starts: map[int64]time.Time{},
		running: map[string]int{}, launches: map[string]int{}, slotTime: map[string]time.Duration{}}
}

func (s *sharing) both() bool { return s.active["production"] && s.active["adhoc"] && s.ended == "" }

// advance adds the slot time since the last change, while both run.
func (s *sharing) advance(now time.Time) {
	if s.both() && !s.last.IsZero() {
		for p, n := range s.running {
			s.slotTime[p] += time.Duration(n) * now.Sub(s.last)
		}
	}
	s.last = now
}

func (s *sharing) OnEvent(e stoke.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev := e.(type) {
	case stoke.StageSubmitted:
		s.advance(ev.Time)
		s.stagePool[ev.StageID] = ev.Pool
		s.active[ev.Pool] = true
	case stoke.StageCompleted:
		s.advance(ev.Time)
		if p := s.stagePool[ev.StageID]; s.ended == "" && s.both() {
			s.ended = p
		}
	case stoke.TaskStart:
		s.advance(ev.Time)
		p := s.stagePool[ev.StageID]
		s.starts[ev.TaskID] = ev.Time
		if s.both() {
			s.launches[p]++
		}
		s.running[p]++
		s.maxSlots = max(s.maxSlots, s.running["production"]+s.running["adhoc"])
	case stoke.TaskEnd:
		s.advance(s.starts[ev.TaskID].Add(ev.Duration))
		s.running[s.stagePool[ev.StageID]]--
	}
}

func main() {
	alloc := flag.String("alloc", "examples/fairpools/pools.xml", "allocation file")
	tasks := flag.Int("tasks", 24, "tasks per job")
	ms := flag.Int("ms", 100, "milliseconds each task works")
	flag.Parse()
	sh := newSharing()
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
	start := time.Now()
	var wg sync.WaitGroup
	took := map[string]time.Duration{}
	var mu sync.Mutex
	for _, pool := range []string{"production", "adhoc"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := make([]int, *tasks)
			for i := range in {
				in[i] = *ms
			}
			ds, err := stoke.Parallelize(sc, in, *tasks)
			if err == nil {
				_, err = stoke.Count(stoke.WithPool(context.Background(), pool), stoke.Map(ds, work))
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "fairpools: job in pool %s: %v\n", pool, err)
				os.Exit(1)
			}
			mu.Lock()
			took[pool] = time.Since(start)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sc.Stop() // delivers every event to the listener
	sh.mu.Lock()
	defer sh.mu.Unlock()
	total := sh.slotTime["production"] + sh.slotTime["adhoc"]
	share := func(p string) float64 {
		if total == 0 {
			return 0
		}
		return 100 * float64(sh.slotTime[p]) / float64(total)
	}
	fmt.Printf("%d task slots; while both jobs ran:\n", sh.maxSlots)
	fmt.Printf("  production (weight 2, minShare 1): %5.1f%% of the busy slots, %d tasks launched; job done in %v\n",
		share("production"), sh.launches["production"], took["production"].Round(10*time.Millisecond))
	fmt.Printf("  adhoc      (weight 1, minShare 0): %5.1f%% of the busy slots, %d tasks launched; job done in %v\n",
		share("adhoc"), sh.launches["adhoc"], took["adhoc"].Round(10*time.Millisecond))
	if sh.maxSlots < 3 {
		fmt.Println("  (with fewer than three slots minShare and weights cannot show: run on six, e.g. --master 'local[6]')")
	}
}
