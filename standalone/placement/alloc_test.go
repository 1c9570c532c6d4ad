package placement

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

func workers(n, cores, mem int) []WorkerFree {
	ws := make([]WorkerFree, n)
	for i := range ws {
		ws[i] = WorkerFree{ID: fmt.Sprintf("w%d", i), Cores: cores, MemoryMiB: mem, FreeCores: cores, FreeMemMiB: mem}
	}
	return ws
}

func summary(p Plan) string {
	s := ""
	for _, l := range p.Launches {
		s += fmt.Sprintf("%s@%s:%dc/%dm ", l.AppID, l.WorkerID, l.Cores, l.MemoryMiB)
	}
	for _, w := range p.Waiting {
		s += fmt.Sprintf("wait:%s(never=%v) ", w.AppID, w.NeverFits)
	}
	return s
}

func TestAllocateTable(t *testing.T) {
	app := func(id string, cores, mem, max int) AppDemand {
		return AppDemand{ID: id, CoresPerExecutor: cores, MemPerExecutor: mem, MaxCores: max, ExecutorLimit: -1}
	}
	tests := []struct {
		name    string
		workers []WorkerFree
		apps    []AppDemand
		spread  bool
		want    string
	}{
		{"unset cores: one executor per worker with all its cores", workers(2, 2, 1024), []AppDemand{app("a", 0, 1024, 0)}, true,
			"a@w0:2c/1024m a@w1:2c/1024m "},
		{"spread out 1-core executors capped at 4 cores", workers(4, 4, 4096), []AppDemand{app("a", 1, 512, 4)}, true,
			"a@w0:1c/512m a@w1:1c/512m a@w2:1c/512m a@w3:1c/512m "},
		{"consolidate the same request onto one worker", workers(4, 4, 4096), []AppDemand{app("a", 1, 512, 4)}, false,
			"a@w0:1c/512m a@w0:1c/512m a@w0:1c/512m a@w0:1c/512m "},
		{"spread with unset cores and a cap gives one executor per worker", workers(3, 4, 4096), []AppDemand{app("a", 0, 512, 5)}, true,
			"a@w0:2c/512m a@w1:2c/512m a@w2:1c/512m "},
		{"memory limits executors per worker", workers(1, 8, 1024), []AppDemand{app("a", 1, 512, 0)}, true,
			"a@w0:1c/512m a@w0:1c/512m "},
		{"apps are served in order; the later one waits", workers(1, 2, 2048), []AppDemand{app("a", 0, 1024, 0), app("b", 0, 1024, 0)}, true,
			"a@w0:2c/1024m wait:b(never=false) "},
		{"an app bigger than every worker waits with a warning", workers(2, 2, 1024), []AppDemand{app("a", 1, 2048, 0)}, true,
			"wait:a(never=true) "},
		{"an app needing more cores per executor than any worker", workers(2, 2, 1024), []AppDemand{app("a", 4, 512, 0)}, true,
			"wait:a(never=true) "},
		{"cap below one executor's cores starts nothing", workers(2, 4, 1024), []AppDemand{app("a", 3, 512, 2)}, true,
			"wait:a(never=false) "},
		{"no workers", nil, []AppDemand{app("a", 1, 512, 0)}, true, "wait:a(never=true) "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summary(Allocate(tt.workers, tt.apps, tt.spread)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAllocateLimitsAndExisting(t *testing.T) {
	ws := workers(3, 4, 4096)
	a := AppDemand{ID: "a", CoresPerExecutor: 1, MemPerExecutor: 256, ExecutorLimit: 2}
	if got := summary(Allocate(ws, []AppDemand{a}, true)); got != "a@w0:1c/256m a@w1:1c/256m " {
		t.Errorf("executor limit 2: %s", got)
	}
	a.Executors, a.ExecutorLimit = 2, 2
	if got := summary(Allocate(ws, []AppDemand{a}, true)); got != "" {
		t.Errorf("at its limit: %s", got)
	}
	// With cores unset, a worker already running the app's executor is skipped.
	b := AppDemand{ID: "b", MemPerExecutor: 256, ExecutorLimit: -1, Executors: 1, GrantedCores: 4, OnWorker: map[string]int{"w0": 1}}
	ws[0].FreeCores = 0
	if got := summary(Allocate(ws, []AppDemand{b}, true)); got != "b@w1:4c/256m b@w2:4c/256m " {
		t.Errorf("existing executor: %s", got)
	}
}

// Invariants over random clusters and applications: no worker gives more
// than it has, caps and per-executor sizes are honoured, in-order service.
func TestAllocateProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 12).Draw(t, "workers")
		ws := make([]WorkerFree, n)
		for i := range ws {
			c := rapid.IntRange(1, 16).Draw(t, "cores")
			m := rapid.IntRange(256, 8192).Draw(t, "mem")
			ws[i] = WorkerFree{ID: fmt.Sprintf("w%02d", i), Cores: c, MemoryMiB: m,
				FreeCores: rapid.IntRange(0, c).Draw(t, "free"), FreeMemMiB: rapid.IntRange(0, m).Draw(t, "freeMem")}
		}
		apps := make([]AppDemand, rapid.IntRange(0, 6).Draw(t, "apps"))
		for i := range apps {
			apps[i] = AppDemand{ID: fmt.Sprintf("app%d", i),
				CoresPerExecutor: rapid.IntRange(0, 4).Draw(t, "cpe"),
				MemPerExecutor:   rapid.IntRange(128, 4096).Draw(t, "mpe"),
				MaxCores:         rapid.IntRange(0, 40).Draw(t, "max"),
				ExecutorLimit:    rapid.IntRange(-1, 10).Draw(t, "limit")}
		}
		spread := rapid.Bool().Draw(t, "spread")
		p := Allocate(ws, apps, spread)
		usedC, usedM := map[string]int{}, map[string]int{}
		perApp, perAppExec := map[string]int{}, map[string]int{}
		perAppWorker := map[string]int{}
		for _, l := range p.Launches {
			usedC[l.WorkerID] += l.Cores
			usedM[l.WorkerID] += l.MemoryMiB
			perApp[l.AppID] += l.Cores
			perAppExec[l.AppID]++
			perAppWorker[l.AppID+"/"+l.WorkerID]++
			if l.Cores < 1 {
				t.Fatalf("launch with %d cores", l.Cores)
			}
		}
		for _, w := range ws {
			if usedC[w.ID] > w.FreeCores || usedM[w.ID] > w.FreeMemMiB {
				t.Fatalf("worker %s over-allocated: %d/%d cores, %d/%d MiB", w.ID, usedC[w.ID], w.FreeCores, usedM[w.ID], w.FreeMemMiB)
			}
		}
		for _, a := range apps {
			if a.MaxCores > 0 && perApp[a.ID] > a.MaxCores {
				t.Fatalf("app %s got %d cores over its cap %d", a.ID, perApp[a.ID], a.MaxCores)
			}
			if a.ExecutorLimit >= 0 && perAppExec[a.ID] > a.ExecutorLimit {
				t.Fatalf("app %s got %d executors over its limit %d", a.ID, perAppExec[a.ID], a.ExecutorLimit)
			}
			for _, l := range p.Launches {
				if l.AppID == a.ID && a.CoresPerExecutor > 0 && l.Cores != a.CoresPerExecutor {
					t.Fatalf("app %s: executor of %d cores, asked %d", a.ID, l.Cores, a.CoresPerExecutor)
				}
				if l.AppID == a.ID && a.CoresPerExecutor == 0 && perAppWorker[a.ID+"/"+l.WorkerID] != 1 {
					t.Fatalf("app %s with unset cores has two executors on %s", a.ID, l.WorkerID)
				}
			}
		}
	})
}

// BenchmarkAllocate1000Workers200Apps is the master's decision time for a
// large cluster: 1,000 workers of 16 cores and 64 GiB, 200 waiting
// applications of 2-core executors capped at 40 cores.
func BenchmarkAllocate1000Workers200Apps(b *testing.B) {
	ws := workers(1000, 16, 65536)
	apps := make([]AppDemand, 200)
	for i := range apps {
		apps[i] = AppDemand{ID: fmt.Sprintf("app-%03d", i), CoresPerExecutor: 2, MemPerExecutor: 2048, MaxCores: 40, ExecutorLimit: -1}
	}
	b.ReportAllocs()
	var p Plan
	for b.Loop() {
		p = Allocate(ws, apps, true)
	}
	if len(p.Launches) != 200*20 {
		b.Fatalf("%d launches", len(p.Launches))
	}
}
