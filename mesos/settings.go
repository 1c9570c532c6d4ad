package mesos

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/distfiles"
	"github.com/stoke-run/stoke/mesos/offers"
)

var parseConstraints = offers.ParseConstraints

// settings is everything the backend reads from configuration, checked
// once at construction.
type settings struct {
	name, user, role     string
	principal, secret    string
	checkpoint           bool
	failover             time.Duration
	frameworkID          string
	fine                 bool
	executorCores        int
	match                offers.Config
	heartbeatMisses      int
	executorURI          string
	limit                int // executors wanted, -1: as many as cores.max allows
	defaultParallelism   int
	networkTimeout       time.Duration
	driverHost, logLevel string
	// registrationTimeout bounds the first subscription.
	registrationTimeout time.Duration
	// fineExecMemMB is the memory the fine-grained per-agent executor
	// holds itself (its overhead, at least Mesos's 32 MB minimum); its
	// holder task holds the rest of ExecutorMemMB.
	fineExecMemMB float64
	// webUIURL is the driver UI Mesos links the framework to ("" none).
	webUIURL string
	// dist are stoke.files and stoke.archives, fetched into every
	// executor's sandbox (distfiles.go).
	dist []distfiles.Entry
}

// minExecutorMemMB is the least memory Mesos wants an executor to hold
// (MIN_MEM in the master's validation).
const minExecutorMemMB = 32

func readSettings(c *conf.Conf) (settings, error) {
	var s settings
	var errs []error
	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	s.name = c.String("stoke.app.name")
	if s.name == "" {
		s.name = "stoke"
	}
	s.user = c.String("stoke.mesos.user")
	if s.user == "" {
		if u, err := user.Current(); err == nil {
			s.user = u.Username
		} else {
			s.user = "root"
		}
	}
	s.role = c.String("stoke.mesos.role")
	s.principal = c.String("stoke.mesos.principal")
	s.secret = c.String("stoke.mesos.secret")
	if f := c.String("stoke.mesos.secret.file"); f != "" && s.secret == "" {
		b, err := os.ReadFile(f)
		if err != nil {
			must(fmt.Errorf("stoke.mesos.secret.file: %w", err))
		}
		s.secret = strings.TrimRight(string(b), "\r\n")
	}
	if s.secret != "" && s.principal == "" {
		must(errors.New("stoke.mesos.secret is set but stoke.mesos.principal is not: set the framework principal too"))
	}
	var err error
	s.checkpoint, err = c.Bool("stoke.mesos.checkpoint")
	must(err)
	s.failover, err = c.Duration("stoke.mesos.failoverTimeout")
	must(err)
	s.frameworkID = c.String("stoke.mesos.driver.frameworkId")
	coarse, err := c.Bool("stoke.mesos.coarse")
	must(err)
	s.fine = !coarse
	s.executorCores, err = c.Int("stoke.executor.cores")
	must(err)
	mem, err := c.Bytes("stoke.executor.memory")
	must(err)
	over := int64(0)
	if _, ok := c.Get("stoke.mesos.executor.memoryOverhead"); ok {
		over, err = c.Bytes("stoke.mesos.executor.memoryOverhead")
		must(err)
	}
	taskCPUs, err := c.Int("stoke.task.cpus")
	must(err)
	mexec, err := c.Float("stoke.mesos.mesosExecutor.cores")
	must(err)
	coresMax := 0
	if _, ok := c.Get("stoke.cores.max"); ok {
		coresMax, err = c.Int("stoke.cores.max")
		must(err)
	}
	cons, err := offers.ParseConstraints(c.String("stoke.mesos.constraints"))
	must(err)
	reject, err := c.Duration("stoke.mesos.rejectOfferDuration")
	must(err)
	decline, err := c.Duration("stoke.mesos.declineOfferDuration")
	must(err)
	maxFail, err := c.Int("stoke.mesos.maxAgentFailures")
	must(err)
	s.registrationTimeout, err = c.Duration("stoke.mesos.registrationTimeout")
	must(err)
	s.heartbeatMisses, err = c.Int("stoke.mesos.heartbeatMisses")
	must(err)
	s.networkTimeout, err = c.Duration("stoke.network.timeout")
	must(err)
	s.limit = -1
	if c.SourceOf("stoke.executor.instances") != conf.SourceDefault {
		s.limit, err = c.Int("stoke.executor.instances")
		must(err)
	}
	dyn, err := c.Bool("stoke.dynamicAllocation.enabled")
	must(err)
	if dyn {
		// The driver asks for its initial executors right after Start.
		s.limit = 0
		if !coarse {
			must(errors.New("stoke.dynamicAllocation.enabled needs coarse-grained mode (stoke.mesos.coarse=true): fine-grained mode already gives idle cores back task by task"))
		}
	}
	if _, ok := c.Get("stoke.default.parallelism"); ok {
		s.defaultParallelism, err = c.Int("stoke.default.parallelism")
		must(err)
	}
	s.executorURI = c.String("stoke.executor.uri")
	s.dist, err = parseDist(c, executorBinaryName(s.executorURI), false)
	must(err)
	s.driverHost = c.String("stoke.driver.host")
	s.logLevel = c.String("stoke.log.level")
	mode := offers.Coarse
	if s.fine {
		mode = offers.Fine
	}
	s.match = offers.Config{
		Mode:              mode,
		ExecutorCPUs:      float64(s.executorCores),
		ExecutorMemMB:     offers.ExecutorMemMB(float64(mem)/(1<<20), float64(over)/(1<<20)),
		MesosExecutorCPUs: mexec,
		TaskCPUs:          float64(taskCPUs),
		CoresMax:          float64(coresMax),
		Role:              s.role,
		Constraints:       cons,
		MaxAgentFailures:  maxFail,
		RejectRefuse:      reject,
		Refuse:            decline,
	}
	// A real master warns about (and for task groups refuses) an executor
	// of less than 32 MB: the per-agent executor holds its overhead.
	s.fineExecMemMB = max(minExecutorMemMB, s.match.ExecutorMemMB-float64(mem)/(1<<20))
	if s.fine && c.SourceOf("stoke.executor.cores") != conf.SourceDefault && taskCPUs > 0 {
		s.match.FineSlots = max(1, s.executorCores/taskCPUs)
	}
	if !s.fine && coresMax > 0 && coresMax < s.executorCores {
		must(fmt.Errorf("stoke.cores.max (%d) is less than stoke.executor.cores (%d): no executor could start", coresMax, s.executorCores))
	}
	return s, errors.Join(errs...)
}
