package placement

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.txt with the decisions Allocate makes now")

// Golden scenarios: each testdata file describes workers and applications
// above a "----" line and the decision trace Allocate must print below it.
//
//	spread true|false
//	worker ID CORES MEM [FREECORES FREEMEM]
//	app ID cores=N mem=N [max=N] [limit=N] [granted=N] [execs=N]
func TestGoldenScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			input, want, _ := strings.Cut(string(data), "----\n")
			ws, apps, spread := parseScenario(t, input)
			got := trace(Allocate(ws, apps, spread))
			if *update {
				if err := os.WriteFile(f, []byte(input+"----\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("decisions differ (go test -run Golden -update rewrites):\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func parseScenario(t *testing.T, input string) ([]WorkerFree, []AppDemand, bool) {
	var ws []WorkerFree
	var apps []AppDemand
	spread := true
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return n
	}
	for _, line := range strings.Split(input, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "spread":
			spread = f[1] == "true"
		case "worker":
			w := WorkerFree{ID: f[1], Cores: atoi(f[2]), MemoryMiB: atoi(f[3])}
			w.FreeCores, w.FreeMemMiB = w.Cores, w.MemoryMiB
			if len(f) == 6 {
				w.FreeCores, w.FreeMemMiB = atoi(f[4]), atoi(f[5])
			}
			ws = append(ws, w)
		case "app":
			a := AppDemand{ID: f[1], ExecutorLimit: -1}
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				n := atoi(v)
				switch k {
				case "cores":
					a.CoresPerExecutor = n
				case "mem":
					a.MemPerExecutor = n
				case "max":
					a.MaxCores = n
				case "limit":
					a.ExecutorLimit = n
				case "granted":
					a.GrantedCores = n
				case "execs":
					a.Executors = n
				default:
					t.Fatalf("unknown app field %q", k)
				}
			}
			apps = append(apps, a)
		default:
			t.Fatalf("unknown line %q", line)
		}
	}
	return ws, apps, spread
}

func trace(p Plan) string {
	var b strings.Builder
	for _, l := range p.Launches {
		fmt.Fprintf(&b, "launch %s on %s: %d cores, %d MiB\n", l.AppID, l.WorkerID, l.Cores, l.MemoryMiB)
	}
	for _, w := range p.Waiting {
		fmt.Fprintf(&b, "wait %s (never fits: %v): %s\n", w.AppID, w.NeverFits, w.Reason)
	}
	return b.String()
}
