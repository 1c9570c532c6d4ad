package offers

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func genResources(t *rapid.T, label string) []Resource {
	roles := []string{"*", "stoke", "other"}
	names := []string{"cpus", "mem", "disk", "gpus", "fpgas"}
	var rs []Resource
	for i := range rapid.IntRange(0, 6).Draw(t, label+"-n") {
		rs = append(rs, Resource{
			Name:   rapid.SampledFrom(names).Draw(t, fmt.Sprint(label, "-name", i)),
			Kind:   rapid.SampledFrom([]Kind{Scalar, Scalar, Scalar, Ranges, Set, Unknown}).Draw(t, fmt.Sprint(label, "-kind", i)),
			Role:   rapid.SampledFrom(roles).Draw(t, fmt.Sprint(label, "-role", i)),
			Scalar: float64(rapid.IntRange(-1, 8000).Draw(t, fmt.Sprint(label, "-amt", i))) / 4,
		})
	}
	return rs
}

func TestMatchProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := Config{
			Mode:              rapid.SampledFrom([]Mode{Coarse, Fine}).Draw(t, "mode"),
			ExecutorCPUs:      float64(rapid.IntRange(1, 4).Draw(t, "execCPUs")),
			ExecutorMemMB:     float64(rapid.IntRange(0, 2000).Draw(t, "execMem")),
			MesosExecutorCPUs: float64(rapid.IntRange(0, 2).Draw(t, "mexecCPUs")),
			TaskCPUs:          float64(rapid.IntRange(1, 2).Draw(t, "taskCPUs")),
			CoresMax:          float64(rapid.IntRange(0, 20).Draw(t, "coresMax")),
			Role:              rapid.SampledFrom([]string{"*", "stoke"}).Draw(t, "role"),
			MaxAgentFailures:  2,
			RejectRefuse:      120 * time.Second,
			Refuse:            5 * time.Second,
		}
		agents := []string{"a1", "a2", "a3"}
		st := State{
			CPUsHeld:      float64(rapid.IntRange(0, 10).Draw(t, "held")),
			Executors:     rapid.IntRange(0, 5).Draw(t, "execs"),
			ExecutorLimit: rapid.IntRange(-1, 8).Draw(t, "limit"),
			Queued:        map[string]int{rapid.SampledFrom(agents).Draw(t, "queuedAgent"): rapid.IntRange(0, 20).Draw(t, "queued")},
			AgentFailures: map[string]int{rapid.SampledFrom(agents).Draw(t, "failedAgent"): rapid.IntRange(0, 3).Draw(t, "failures")},
			ExecutorOn:    map[string]bool{rapid.SampledFrom(agents).Draw(t, "execAgent"): true},
			Stopping:      rapid.IntRange(0, 9).Draw(t, "stop") == 0,
			Seed:          rapid.Uint64().Draw(t, "seed"),
		}
		var os []Offer
		for i := range rapid.IntRange(0, 6).Draw(t, "offers") {
			os = append(os, Offer{ID: fmt.Sprint("o", i), AgentID: rapid.SampledFrom(agents).Draw(t, fmt.Sprint("agent", i)), Resources: genResources(t, fmt.Sprint("r", i))})
		}
		ds := Match(cfg, st, os)

		// Every offer is answered exactly once, in order.
		if len(ds) != len(os) {
			t.Fatalf("%d decisions for %d offers", len(ds), len(os))
		}
		held := st.CPUsHeld
		execs := st.Executors
		newOn, taskOn := map[string]bool{}, map[string]int{}
		for i, d := range ds {
			o := os[i]
			if d.OfferID != o.ID {
				t.Fatalf("decision %d answers %s, want %s", i, d.OfferID, o.ID)
			}
			if d.Accept != (len(d.Launches) > 0) {
				t.Fatalf("offer %s: accept=%v with %d launches", o.ID, d.Accept, len(d.Launches))
			}
			if !d.Accept && d.Refuse != cfg.Refuse && d.Refuse != cfg.RejectRefuse {
				t.Fatalf("offer %s declined with refuse %v", o.ID, d.Refuse)
			}
			if !d.Accept {
				continue
			}
			if st.Stopping || st.AgentFailures[o.AgentID] >= cfg.MaxAgentFailures {
				t.Fatalf("accepted offer %s on excluded agent or while stopping", o.ID)
			}
			// Resources used never exceed what the offer has of a usable role.
			left := available(cfg.Role, o.Resources)
			for _, l := range d.Launches {
				cpus, mem := 0.0, 0.0
				for _, u := range l.Uses {
					left[u.Index] -= u.Amount
					if left[u.Index] < -eps || u.Amount <= 0 {
						t.Fatalf("offer %s: resource %d overused (%+v)", o.ID, u.Index, o.Resources[u.Index])
					}
					switch o.Resources[u.Index].Name {
					case "cpus":
						cpus += u.Amount
					case "mem":
						mem += u.Amount
					default:
						t.Fatalf("offer %s: used a %s resource", o.ID, o.Resources[u.Index].Name)
					}
				}
				if abs(cpus-l.CPUs) > eps || abs(mem-l.MemMB) > eps {
					t.Fatalf("offer %s: launch says %g cpus %g mem, uses %g and %g", o.ID, l.CPUs, l.MemMB, cpus, mem)
				}
				// Never less than an executor (or a task slot) needs.
				switch cfg.Mode {
				case Coarse:
					if abs(l.CPUs-cfg.ExecutorCPUs) > eps || abs(l.MemMB-cfg.ExecutorMemMB) > eps {
						t.Fatalf("offer %s: executor of %g cpus %g mem, want %g and %g", o.ID, l.CPUs, l.MemMB, cfg.ExecutorCPUs, cfg.ExecutorMemMB)
					}
					execs++
				case Fine:
					if l.NewExecutor {
						if abs(l.CPUs-cfg.MesosExecutorCPUs) > eps || abs(l.MemMB-cfg.ExecutorMemMB) > eps || l.Tasks != 0 || l.Slots < 1 {
							t.Fatalf("offer %s: new executor %+v", o.ID, l)
						}
						if st.ExecutorOn[o.AgentID] || newOn[o.AgentID] {
							t.Fatalf("offer %s: second executor on agent %s", o.ID, o.AgentID)
						}
						newOn[o.AgentID] = true
						execs++
					} else {
						if abs(l.CPUs-cfg.TaskCPUs) > eps || l.Tasks != 1 || !st.ExecutorOn[o.AgentID] {
							t.Fatalf("offer %s: task launch %+v (executor on the agent: %v)", o.ID, l, st.ExecutorOn[o.AgentID])
						}
						taskOn[o.AgentID]++
					}
				}
				held += l.CPUs
			}
		}
		if max := cfg.CoresMax; max > 0 && held > max+eps && held > st.CPUsHeld {
			t.Fatalf("holding %g cpus, over stoke.cores.max %g", held, max)
		}
		for a, n := range taskOn {
			if n > st.Queued[a] {
				t.Fatalf("launched %d tasks on agent %s for %d queued", n, a, st.Queued[a])
			}
			if newOn[a] {
				t.Fatalf("agent %s got a new executor and tasks in one round", a)
			}
		}
		if st.ExecutorLimit >= 0 && execs > max(st.ExecutorLimit, st.Executors) {
			t.Fatalf("%d executors over the limit %d", execs, st.ExecutorLimit)
		}
	})
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
