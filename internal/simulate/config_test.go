package simulate

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/conf"
)

func seedWorkload(t *testing.T) *Workload { return loadSpec(t, "testdata/seed.json") }

// Every malformed configuration is refused with an error naming the key.
func TestMalformedConfigsNameTheKey(t *testing.T) {
	w := seedWorkload(t)
	dir := t.TempDir()
	badXML := filepath.Join(dir, "bad.xml")
	os.WriteFile(badXML, []byte("<allocations><pool name='a'>"), 0o644)
	for _, c := range []struct{ key, value, want string }{
		{"stoke.speculaton", "true", "unknown configuration key stoke.speculaton; did you mean stoke.speculation?"},
		{"stoke.schedular.mode", "FAIR", "did you mean stoke.scheduler.mode?"},
		{"stoke.scheduler.mode", "LIFO", "stoke.scheduler.mode"},
		{"stoke.speculation", "yes", "stoke.speculation"},
		{"stoke.speculation.quantile", "2", "stoke.speculation.quantile"},
		{"stoke.speculation.multiplier", "-1", "stoke.speculation.multiplier"},
		{"stoke.locality.wait", "soon", "stoke.locality.wait"},
		{"stoke.task.cpus", "0", "stoke.task.cpus"},
		{"executors", "0", "stoke.executor.instances"},
		{"executors", "many", "stoke.executor.instances"},
		{"stoke.executor.cores", "0", "stoke.executor.cores"},
		{"stoke.scheduler.allocation.file", filepath.Join(dir, "missing.xml"), "stoke.scheduler.allocation.file"},
		{"stoke.scheduler.allocation.file", badXML, "bad.xml"},
		{"stoke.simulate.pool.adhoc", "3", "want stoke.simulate.pool.<pool>.weight"},
		{"stoke.simulate.pool.adhoc.weight", "0", "stoke.simulate.pool.adhoc.weight: want an integer of at least 1"},
		{"stoke.simulate.pool.adhoc.weight", "heavy", "stoke.simulate.pool.adhoc.weight"},
		{"stoke.simulate.pool.adhoc.minShare", "-1", "stoke.simulate.pool.adhoc.minShare: want an integer of at least 0"},
		{"stoke.simulate.pool.adhoc.schedulingMode", "LIFO", "stoke.simulate.pool.adhoc.schedulingMode"},
		{"stoke.simulate.pool.adhoc.colour", "red", `unknown pool setting "colour"`},
	} {
		_, err := NewConfig(w, "c", []conf.Entry{{Key: c.key, Value: c.value}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: error %v, want it to contain %q", c.key, c.value, err, c.want)
		}
	}
}

func TestConfigKeys(t *testing.T) {
	w := seedWorkload(t)
	alloc := filepath.Join(t.TempDir(), "pools.xml")
	os.WriteFile(alloc, []byte(`<allocations><pool name="adhoc"><weight>2</weight></pool><pool name="default"/></allocations>`), 0o644)
	cfg := mustConfig(t, w, "c", "stoke.scheduler.mode", "FAIR", "stoke.scheduler.allocation.file", alloc,
		"stoke.simulate.pool.adhoc.weight", "3", "stoke.simulate.pool.etl.minShare", "4", "stoke.simulate.pool.etl.schedulingMode", "fair",
		"stoke.speculation", "true", "stoke.speculation.interval", "250ms", "stoke.locality.wait", "0", "stoke.task.cpus", "2",
		"executors", "3", "stoke.executor.cores", "8", "stoke.executor.memory", "2g")
	s := cfg.Sched
	if s.Mode.String() != "FAIR" || !s.Speculation.Enabled || s.Speculation.Interval.String() != "250ms" || s.CPUsPerTask != 2 || s.LocalityWait != 0 {
		t.Errorf("sched config %+v", s)
	}
	if cfg.TickInterval != s.Speculation.Interval || cfg.Executors != 3 || cfg.ExecutorCores != 8 {
		t.Errorf("tick %v executors %d cores %d", cfg.TickInterval, cfg.Executors, cfg.ExecutorCores)
	}
	var pools []string
	for _, p := range s.Pools {
		pools = append(pools, p.Name+"/"+p.Mode.String()+"/"+strconv.Itoa(p.Weight)+"/"+strconv.Itoa(p.MinShare))
	}
	if got := strings.Join(pools, " "); got != "adhoc/FIFO/3/0 default/FIFO/1/0 etl/FAIR/1/4" {
		t.Errorf("pools %s", got)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "stoke.executor.memory changes nothing") {
		t.Errorf("warnings %q", cfg.Warnings)
	}
	r, err := Run(w, cfg, Options{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	execs := map[string]bool{}
	for _, l := range r.Launches {
		execs[l.Executor] = true
	}
	// 3 executors of 8 cores, 2 per task: 12 slots, one wave of 12 then 9.
	if len(execs) != 3 || r.Makespan.String() != "2s" {
		t.Errorf("ran on %v, makespan %v", execs, r.Makespan)
	}
}
