package alloc

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestPropertyInvariants drives the policy with random configurations and
// random snapshots and checks what must hold whatever happens: the target
// stays in [min, max] and never above what is needed once tasks ran; no
// busy, unknown or already released executor is released; releases never
// take the executors below the target or minExecutors; no executor goes
// before its idle timeout.
func TestPropertyInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := DefaultConfig()
		cfg.MinExecutors = rapid.IntRange(0, 4).Draw(t, "min")
		cfg.MaxExecutors = rapid.IntRange(max(1, cfg.MinExecutors), 12).Draw(t, "max")
		cfg.InitialExecutors = rapid.IntRange(cfg.MinExecutors, cfg.MaxExecutors).Draw(t, "initial")
		cfg.ExecutorIdleTimeout = time.Duration(rapid.IntRange(0, 5).Draw(t, "idle")) * time.Second
		cfg.ShuffleTracking = rapid.Bool().Draw(t, "tracking")
		cfg.ExecutorCores = rapid.IntRange(1, 4).Draw(t, "cores")
		cfg.TaskCPUs = rapid.IntRange(1, cfg.ExecutorCores).Draw(t, "cpus")
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now := epoch
		var execs []Executor
		idleSince := map[string]time.Time{}
		released := map[string]bool{}
		next := 0
		for step := range rapid.IntRange(1, 80).Draw(t, "steps") {
			now = now.Add(time.Duration(rapid.IntRange(0, 2000).Draw(t, "dt")) * time.Millisecond)
			// The cluster manager brings some executors and loses some.
			for range rapid.IntRange(0, 2).Draw(t, "arrive") {
				execs = append(execs, Executor{ID: fmt.Sprintf("e%d", next), Host: "h"})
				next++
			}
			if len(execs) > 0 && rapid.IntRange(0, 9).Draw(t, "lose") == 0 {
				execs = execs[1:]
			}
			s := State{Pending: rapid.IntRange(0, 30).Draw(t, "pending"), PendingSpeculative: rapid.IntRange(0, 3).Draw(t, "spec")}
			for i := range execs {
				e := &execs[i]
				e.Running = rapid.IntRange(0, 1).Draw(t, "running")
				e.ShuffleData = rapid.Bool().Draw(t, "shuffle")
				e.ActiveShuffle = rapid.IntRange(0, 5).Draw(t, "active") == 0
				s.Running += e.Running
				if e.Running > 0 || (cfg.ShuffleTracking && e.ActiveShuffle) {
					idleSince[e.ID] = time.Time{}
				} else if idleSince[e.ID].IsZero() {
					idleSince[e.ID] = now
				}
			}
			s.Executors = execs
			d := p.Update(s, now)
			if d.Target < cfg.MinExecutors || d.Target > cfg.MaxExecutors {
				t.Fatalf("step %d: target %d outside [%d, %d]", step, d.Target, cfg.MinExecutors, cfg.MaxExecutors)
			}
			live := 0
			for _, e := range execs {
				if !released[e.ID] {
					live++
				}
			}
			for _, r := range d.Releases {
				var e *Executor
				for i := range execs {
					if execs[i].ID == r.ID {
						e = &execs[i]
					}
				}
				switch {
				case e == nil:
					t.Fatalf("step %d: released unknown executor %s", step, r.ID)
				case released[r.ID]:
					t.Fatalf("step %d: released %s twice", step, r.ID)
				case e.Running > 0 || (cfg.ShuffleTracking && e.ActiveShuffle):
					t.Fatalf("step %d: released busy executor %s", step, r.ID)
				case now.Sub(idleSince[r.ID]) < p.timeout(*e):
					t.Fatalf("step %d: released %s after %v idle, timeout %v", step, r.ID, now.Sub(idleSince[r.ID]), p.timeout(*e))
				}
				released[r.ID] = true
				live--
			}
			if len(d.Releases) > 0 && (live < cfg.MinExecutors || live < d.Target) {
				t.Fatalf("step %d: releases left %d executors, target %d, min %d", step, live, d.Target, cfg.MinExecutors)
			}
			// Released executors go away at once half the time.
			if rapid.Bool().Draw(t, "killNow") {
				kept := execs[:0]
				for _, e := range execs {
					if !released[e.ID] {
						kept = append(kept, e)
					}
				}
				execs = kept
			}
		}
	})
}
