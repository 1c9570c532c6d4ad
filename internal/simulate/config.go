package simulate

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/conf"
)

// PoolKeyPrefix starts the simulation-only keys that change one pool of the
// allocation in force: stoke.simulate.pool.<name>.weight, .minShare and
// .schedulingMode. A pool not in the allocation is added (FIFO, weight 1,
// minShare 0 before the change).
const PoolKeyPrefix = "stoke.simulate.pool."

// ExecutorsKey is a short name for stoke.executor.instances.
const ExecutorsKey = "executors"

// modeled are the keys a simulation honours; other known keys are accepted
// with a warning that they change nothing here.
var modeled = []string{
	"stoke.master", // a local master's retry count
	"stoke.scheduler.mode",
	"stoke.scheduler.allocation.file",
	"stoke.scheduler.pool",
	"stoke.task.cpus",
	"stoke.task.maxFailures",
	"stoke.locality.wait",
	"stoke.speculation",
	"stoke.speculation.interval",
	"stoke.speculation.quantile",
	"stoke.speculation.multiplier",
	"stoke.speculation.minTaskRuntime",
	"stoke.executor.instances",
	"stoke.executor.cores",
}

func isModeled(key string) bool {
	return slices.Contains(modeled, key) || strings.HasPrefix(key, "stoke.excludeOnFailure.")
}

// Config is one configuration to replay a workload under.
type Config struct {
	Name  string
	Sched sched.Config
	// Executors and ExecutorCores, when not 0, replace the workload's
	// executors: the first Executors of the workload's list are kept (with
	// their slowdown and loss), more are added at time 0, and every one
	// gets ExecutorCores cores.
	Executors, ExecutorCores int
	DefaultPool              string
	// TickInterval is how often the driver runs the scheduler's periodic
	// check: the speculation interval when speculation is on, else 1s.
	TickInterval time.Duration
	// Changes are the entries this configuration set on top of the
	// workload's own (for the report).
	Changes []conf.Entry
	// Warnings are notices about the configuration (keys that change
	// nothing in a simulation, defaulted pools...).
	Warnings []string
}

// NewConfig builds a configuration named name: the workload's base
// configuration with entries applied on top. Every value is checked as the
// driver checks it; an unknown stoke.* key is an error (a misspelt key
// must not silently simulate the base configuration).
func NewConfig(w *Workload, name string, entries []conf.Entry) (Config, error) {
	cfg := Config{Name: name}
	c := conf.New()
	for _, e := range w.Base {
		c.Set(e.Key, e.Value, e.Source)
	}
	type poolChange struct{ pool, field, value, key string }
	var poolChanges []poolChange
	user := map[string]bool{}
	var errs []error
	for _, e := range entries {
		key := strings.TrimSpace(e.Key)
		if key == ExecutorsKey {
			key = "stoke.executor.instances"
		}
		if rest, ok := strings.CutPrefix(key, PoolKeyPrefix); ok {
			i := strings.LastIndexByte(rest, '.')
			if i <= 0 {
				errs = append(errs, fmt.Errorf("%s: want %s<pool>.weight, .minShare or .schedulingMode", key, PoolKeyPrefix))
				continue
			}
			poolChanges = append(poolChanges, poolChange{rest[:i], rest[i+1:], strings.TrimSpace(e.Value), key})
			cfg.Changes = append(cfg.Changes, conf.Entry{Key: key, Value: e.Value, Source: e.Source})
			continue
		}
		if _, known := conf.Known(key); !known {
			msg := fmt.Sprintf("unknown configuration key %s", key)
			if near := nearestModeled(key); near != "" {
				msg += fmt.Sprintf("; did you mean %s?", near)
			}
			errs = append(errs, errors.New(msg))
			continue
		}
		if !isModeled(key) {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s changes nothing in a simulation (it models: %s, %s*)", key, strings.Join(modeled, ", "), PoolKeyPrefix))
		}
		c.Set(key, e.Value, e.Source)
		user[key] = true
		cfg.Changes = append(cfg.Changes, conf.Entry{Key: key, Value: e.Value, Source: e.Source})
	}
	if _, err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("configuration %s: %w", name, errors.Join(errs...))
	}

	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	geti := func(k string) int { v, err := c.Int(k); must(err); return v }
	getb := func(k string) bool { v, err := c.Bool(k); must(err); return v }
	getf := func(k string) float64 { v, err := c.Float(k); must(err); return v }
	getd := func(k string) time.Duration { v, err := c.Duration(k); must(err); return v }

	s := &cfg.Sched
	mode, err := sched.ParseMode(c.String("stoke.scheduler.mode"))
	if err != nil {
		errs = append(errs, fmt.Errorf("stoke.scheduler.mode: %w", err))
	}
	s.Mode = mode
	file := c.String("stoke.scheduler.allocation.file")
	switch {
	case w.Pools != nil && !user["stoke.scheduler.allocation.file"]:
		s.Pools = slices.Clone(w.Pools)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("stoke.scheduler.allocation.file: %w", err))
			break
		}
		pools, warnings, err := sched.ParseAllocationFile(file, data)
		must(err)
		s.Pools = pools
		cfg.Warnings = append(cfg.Warnings, warnings...)
	}
	for _, pc := range poolChanges {
		i := slices.IndexFunc(s.Pools, func(p sched.PoolConfig) bool { return p.Name == pc.pool })
		if i < 0 {
			s.Pools = append(s.Pools, sched.PoolConfig{Name: pc.pool, Mode: sched.FIFO, Weight: 1})
			i = len(s.Pools) - 1
		}
		p := &s.Pools[i]
		switch pc.field {
		case "weight", "minShare":
			n, err := strconv.Atoi(pc.value)
			if err != nil || n < 0 || (pc.field == "weight" && n < 1) {
				errs = append(errs, fmt.Errorf("%s: want an integer of at least %d, got %q", pc.key, map[bool]int{true: 1, false: 0}[pc.field == "weight"], pc.value))
				continue
			}
			if pc.field == "weight" {
				p.Weight = n
			} else {
				p.MinShare = n
			}
		case "schedulingMode":
			m, err := sched.ParseMode(pc.value)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", pc.key, err))
				continue
			}
			p.Mode = m
		default:
			errs = append(errs, fmt.Errorf("%s: unknown pool setting %q (want weight, minShare or schedulingMode)", pc.key, pc.field))
		}
	}
	s.CPUsPerTask = geti("stoke.task.cpus")
	s.MaxFailures = geti("stoke.task.maxFailures")
	// A local master fixes the retries, as in the driver; a spec that names
	// no master simulates a cluster.
	if master, set := c.Get("stoke.master"); set {
		if m, err := conf.ParseMaster(master); err == nil && m.Kind == conf.Local {
			s.MaxFailures = m.MaxFailures
		}
	}
	s.LocalityWait = getd("stoke.locality.wait")
	s.Speculation = sched.SpeculationConfig{
		Enabled:        getb("stoke.speculation"),
		Interval:       getd("stoke.speculation.interval"),
		Quantile:       getf("stoke.speculation.quantile"),
		Multiplier:     getf("stoke.speculation.multiplier"),
		MinTaskRuntime: getd("stoke.speculation.minTaskRuntime"),
	}
	s.Exclude = sched.ExcludeConfig{
		Enabled:                        getb("stoke.excludeOnFailure.enabled"),
		MaxTaskAttemptsPerExecutor:     geti("stoke.excludeOnFailure.task.maxTaskAttemptsPerExecutor"),
		MaxTaskAttemptsPerNode:         geti("stoke.excludeOnFailure.task.maxTaskAttemptsPerNode"),
		StageMaxFailedTasksPerExecutor: geti("stoke.excludeOnFailure.stage.maxFailedTasksPerExecutor"),
		StageMaxFailedExecutorsPerNode: geti("stoke.excludeOnFailure.stage.maxFailedExecutorsPerNode"),
		AppMaxFailedTasksPerExecutor:   geti("stoke.excludeOnFailure.application.maxFailedTasksPerExecutor"),
		Timeout:                        getd("stoke.excludeOnFailure.timeout"),
	}
	cfg.TickInterval = time.Second
	if s.Speculation.Enabled && s.Speculation.Interval > 0 {
		cfg.TickInterval = s.Speculation.Interval
	}
	if user["stoke.executor.instances"] {
		cfg.Executors = geti("stoke.executor.instances")
		if cfg.Executors < 1 {
			errs = append(errs, fmt.Errorf("stoke.executor.instances: a simulation needs at least 1 executor, got %d", cfg.Executors))
		}
	}
	if user["stoke.executor.cores"] {
		cfg.ExecutorCores = geti("stoke.executor.cores")
	}
	cfg.DefaultPool = c.String("stoke.scheduler.pool")
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("configuration %s: %w", name, err)
	}
	// Let the core check what it checks (and report its warnings).
	if _, warnings, err := sched.New(cfg.Sched); err != nil {
		return cfg, fmt.Errorf("configuration %s: %w", name, err)
	} else {
		cfg.Warnings = append(cfg.Warnings, warnings...)
	}
	return cfg, nil
}

// nearestModeled suggests the modeled key closest to a misspelt one.
func nearestModeled(key string) string {
	best, bestD := "", 4
	for _, k := range append(slices.Clone(modeled), "stoke.excludeOnFailure.enabled") {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
