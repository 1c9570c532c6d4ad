package simulate

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/conf"
)

func loadSpec(t *testing.T, path string) *Workload {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Build(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustConfig(t tb, w *Workload, name string, kv ...string) Config {
	t.Helper()
	var es []conf.Entry
	for i := 0; i+1 < len(kv); i += 2 {
		es = append(es, conf.Entry{Key: kv[i], Value: kv[i+1], Source: conf.SourceConfFlag})
	}
	cfg, err := NewConfig(w, name, es)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// firstWave counts, per job and executor, the launches at time 0.
func firstWave(r *Result) string {
	n := map[string]int{}
	for _, l := range r.Launches {
		if l.Time == 0 {
			n[fmt.Sprintf("job%d@%s", l.Job, l.Executor)]++
		}
	}
	var out []string
	for k, v := range n {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// The seed's example: jobs of 15 and 6 tasks on 2 executors of 6 slots.
// FIFO gives the first job all 12 slots; FAIR gives each job 3 slots on
// each executor.
func TestSeedExampleFIFOAndFAIR(t *testing.T) {
	w := loadSpec(t, "testdata/seed.json")
	fifo, err := Run(w, mustConfig(t, w, "fifo"), Options{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := firstWave(fifo), "job0@exec-1=6 job0@exec-2=6"; got != want {
		t.Errorf("FIFO first wave: %s, want %s", got, want)
	}
	fair, err := Run(w, mustConfig(t, w, "fair", "stoke.scheduler.mode", "FAIR"), Options{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := firstWave(fair), "job0@exec-1=3 job0@exec-2=3 job1@exec-1=3 job1@exec-2=3"; got != want {
		t.Errorf("FAIR first wave: %s, want %s", got, want)
	}
	// FIFO: job 0 runs 12 then 3 tasks (2s); job 1 gets 9 free slots at 1s
	// and ends at 2s. FAIR: job 1 ends at 1s, job 0 at 2s.
	for _, c := range []struct {
		r    *Result
		want string
	}{{fifo, "2s 2s"}, {fair, "2s 1s"}} {
		got := fmt.Sprintf("%v %v", c.r.Jobs[0].Duration, c.r.Jobs[1].Duration)
		if got != c.want {
			t.Errorf("%s: job durations %s, want %s", c.r.Config, got, c.want)
		}
	}
}

// tb is what the helpers need of testing.TB and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}
