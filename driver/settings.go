package driver

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/stoke-run/stoke/driver/alloc"
	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/conf"
)

// settings are the configuration values the driver reads, parsed once.
type settings struct {
	sched              sched.Config
	appName            string
	master             string
	maxResultSize      int64
	networkTimeout     time.Duration
	maxStageAttempts   int
	tickInterval       time.Duration
	defaultParallelism int
	defaultPool        string

	// Dynamic allocation (dynalloc.go): on only for cluster managers.
	dynEnabled  bool
	dyn         alloc.Config
	dynInterval time.Duration
	// decommission: released executors move their shuffle output first
	// (decommission.go); shuffleService: a standalone worker serves the
	// output of gone executors.
	decommission   bool
	shuffleService bool
	warnings       []string // logged once the logger is known
}

func loadSettings(c *conf.Conf) (settings, error) {
	var s settings
	var errs []error
	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	geti := func(k string) int { v, err := c.Int(k); must(err); return v }
	getb := func(k string) bool { v, err := c.Bool(k); must(err); return v }
	getd := func(k string) time.Duration { v, err := c.Duration(k); must(err); return v }
	getf := func(k string) float64 { v, err := c.Float(k); must(err); return v }

	s.appName = c.String("stoke.app.name")
	s.master = c.String("stoke.master")
	m, err := conf.ParseMaster(s.master)
	must(err)
	mode, err := sched.ParseMode(c.String("stoke.scheduler.mode"))
	if err != nil {
		errs = append(errs, fmt.Errorf("stoke.scheduler.mode: %w", err))
	}
	s.sched.Mode = mode
	if file := c.String("stoke.scheduler.allocation.file"); file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("stoke.scheduler.allocation.file: %w", err))
		} else {
			pools, warnings, err := sched.ParseAllocationFile(file, data)
			must(err)
			s.sched.Pools = pools
			for _, w := range warnings {
				fmt.Fprintln(os.Stderr, "stoke: warning:", w)
			}
		}
	}
	s.sched.CPUsPerTask = geti("stoke.task.cpus")
	s.sched.MaxFailures = geti("stoke.task.maxFailures")
	if m.Kind == conf.Local {
		s.sched.MaxFailures = m.MaxFailures
	}
	s.sched.LocalityWait = getd("stoke.locality.wait")
	s.sched.Speculation = sched.SpeculationConfig{
		Enabled:        getb("stoke.speculation"),
		Interval:       getd("stoke.speculation.interval"),
		Quantile:       getf("stoke.speculation.quantile"),
		Multiplier:     getf("stoke.speculation.multiplier"),
		MinTaskRuntime: getd("stoke.speculation.minTaskRuntime"),
	}
	s.sched.Exclude = sched.ExcludeConfig{
		Enabled:                        getb("stoke.excludeOnFailure.enabled"),
		MaxTaskAttemptsPerExecutor:     geti("stoke.excludeOnFailure.task.maxTaskAttemptsPerExecutor"),
		MaxTaskAttemptsPerNode:         geti("stoke.excludeOnFailure.task.maxTaskAttemptsPerNode"),
		StageMaxFailedTasksPerExecutor: geti("stoke.excludeOnFailure.stage.maxFailedTasksPerExecutor"),
		StageMaxFailedExecutorsPerNode: geti("stoke.excludeOnFailure.stage.maxFailedExecutorsPerNode"),
		AppMaxFailedTasksPerExecutor:   geti("stoke.excludeOnFailure.application.maxFailedTasksPerExecutor"),
		Timeout:                        getd("stoke.excludeOnFailure.timeout"),
	}
	s.maxResultSize, err = c.Bytes("stoke.driver.maxResultSize")
	must(err)
	s.networkTimeout = getd("stoke.network.timeout")
	s.maxStageAttempts = 4
	s.tickInterval = time.Second
	if s.sched.Speculation.Enabled && s.sched.Speculation.Interval > 0 {
		s.tickInterval = s.sched.Speculation.Interval
	}
	if _, set := c.Get("stoke.default.parallelism"); set {
		s.defaultParallelism = geti("stoke.default.parallelism")
	}
	s.defaultPool = c.String("stoke.scheduler.pool")
	s.loadDecommission(c, getb)
	if err := s.loadDynamicAllocation(c, m); err != nil {
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

// loadDecommission reads stoke.decommission.enabled and the storage keys:
// shuffle output moves off a released executor only with all three on, as
// in the reference system.
func (s *settings) loadDecommission(c *conf.Conf, getb func(string) bool) {
	on := getb("stoke.decommission.enabled")
	storage := getb("stoke.storage.decommission.enabled")
	shuffle := getb("stoke.storage.decommission.shuffleBlocks.enabled")
	s.decommission = on && storage && shuffle
	s.shuffleService = getb("stoke.shuffle.service.enabled")
	switch {
	case on && !storage:
		s.warnings = append(s.warnings, "stoke.decommission.enabled without stoke.storage.decommission.enabled: released executors do not move their shuffle output (shuffle tracking keeps those holding it)")
	case on && !shuffle:
		s.warnings = append(s.warnings, "stoke.storage.decommission.shuffleBlocks.enabled is false: released executors do not move their shuffle output (shuffle tracking keeps those holding it)")
	}
}

// loadDynamicAllocation reads stoke.dynamicAllocation.*. The initial
// target is the largest of minExecutors, initialExecutors and an
// explicitly set stoke.executor.instances (--num-executors), as in the
// reference system, with the same warnings.
func (s *settings) loadDynamicAllocation(c *conf.Conf, m conf.Master) error {
	const p = "stoke.dynamicAllocation."
	on, err := c.Bool(p + "enabled")
	if err != nil || !on {
		return err
	}
	if m.Kind == conf.Local {
		s.warnings = append(s.warnings, fmt.Sprintf("%senabled has no effect with master %s: its one executor runs inside the driver", p, m.Raw))
		return nil
	}
	var errs []error
	geti := func(k string) int { v, err := c.Int(k); errs = append(errs, err); return v }
	getd := func(k string, unset time.Duration) time.Duration {
		v, err := c.Duration(k)
		if errors.Is(err, conf.ErrNotSet) {
			return unset
		}
		errs = append(errs, err)
		return v
	}
	cfg := alloc.DefaultConfig()
	cfg.MinExecutors = geti(p + "minExecutors")
	if _, set := c.Get(p + "maxExecutors"); set {
		cfg.MaxExecutors = geti(p + "maxExecutors")
	}
	cfg.InitialExecutors = max(cfg.MinExecutors, geti(p+"initialExecutors"))
	if _, set := c.Get("stoke.executor.instances"); set {
		n := geti("stoke.executor.instances")
		if n < cfg.MinExecutors {
			s.warnings = append(s.warnings, fmt.Sprintf("stoke.executor.instances (%d) is less than %sminExecutors (%d) and is ignored", n, p, cfg.MinExecutors))
		} else {
			s.warnings = append(s.warnings, fmt.Sprintf("stoke.executor.instances (%d) is set with dynamic allocation: the application starts with %d executors and then follows its backlog", n, max(n, cfg.InitialExecutors)))
			cfg.InitialExecutors = max(cfg.InitialExecutors, n)
		}
	}
	v, err := c.Float(p + "executorAllocationRatio")
	errs = append(errs, err)
	cfg.AllocationRatio = v
	cfg.SchedulerBacklogTimeout = getd(p+"schedulerBacklogTimeout", time.Second)
	cfg.SustainedSchedulerBacklogTimeout = getd(p+"sustainedSchedulerBacklogTimeout", cfg.SchedulerBacklogTimeout)
	cfg.ExecutorIdleTimeout = getd(p+"executorIdleTimeout", 60*time.Second)
	cfg.CachedIdleTimeout = getd(p+"cachedExecutorIdleTimeout", alloc.Forever)
	cfg.ShuffleTrackingTimeout = getd(p+"shuffleTracking.timeout", alloc.Forever)
	cfg.ShuffleTracking, err = c.Bool(p + "shuffleTracking.enabled")
	errs = append(errs, err)
	cfg.Decommission = s.decommission
	cfg.TaskCPUs = geti("stoke.task.cpus")
	// Cluster managers give dynamically allocated executors exactly
	// stoke.executor.cores (default 1), local-cluster's workers included.
	cfg.ExecutorCores = geti("stoke.executor.cores")
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("dynamic allocation: %w", err)
	}
	if !cfg.ShuffleTracking && !cfg.Decommission && !s.shuffleService {
		s.warnings = append(s.warnings, p+"shuffleTracking.enabled is false: shuffle output on a released executor is lost and recomputed when read")
	}
	s.dynEnabled, s.dyn, s.dynInterval = true, cfg, 100*time.Millisecond
	return nil
}
