package driver

import (
	"errors"
	"fmt"
	"os"
	"time"

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
	return s, errors.Join(errs...)
}
