package driver

import (
	"context"
	"errors"
	"sort"
	"strconv"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/events"
)

// ErrKilled is the cause of a job killed from the web UI.
var ErrKilled = errors.New("killed")

// KillJob fails running job id (the web UI's kill button); false if no
// such job runs.
func (c *Context) KillJob(id int, reason string) bool {
	c.mu.Lock()
	j := c.jobs[id]
	c.mu.Unlock()
	if j == nil {
		return false
	}
	c.mu.Lock()
	running := !j.finished
	c.mu.Unlock()
	if !running {
		return false
	}
	c.log.Warnf("job %d %s", id, reason)
	c.cancelJob(j, errors.Join(ErrKilled, errors.New(reason)))
	return true
}

// KillStage fails the running jobs that need stage id, as Spark's stage
// kill does; false if none does.
func (c *Context) KillStage(id int, reason string) bool {
	c.mu.Lock()
	var ids []int
	for _, j := range c.jobs {
		if j.finished {
			continue
		}
		for _, s := range ancestors(j.final, map[int]bool{}, nil) {
			if s.id == id {
				ids = append(ids, j.id)
				break
			}
		}
	}
	c.mu.Unlock()
	sort.Ints(ids)
	killed := false
	for _, jid := range ids {
		killed = c.KillJob(jid, reason+" (stage "+strconv.Itoa(id)+")") || killed
	}
	return killed
}

// ExecutorMetrics implements backend.MetricsReceiver: an executor's
// heartbeat metrics go to the UI, the event log and /metrics.
func (c *Context) ExecutorMetrics(id string, m backend.ExecutorMetrics) {
	c.post(events.ExecutorMetrics{ExecutorID: id, ProcessMetrics: m.ProcessMetrics, Time: c.clock.Now()})
}

// Progress is the fraction of the result partitions of every job run so
// far that are computed (0 before the first job): what a cluster manager
// shows of the application (YARN's progress).
func (c *Context) Progress() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.partsTotal == 0 {
		return 0
	}
	return float64(c.partsDone) / float64(c.partsTotal)
}

// StackDump returns the goroutine stacks of executor id's process, for the
// web UI; an error if the executor is unknown or its backend cannot.
func (c *Context) StackDump(ctx context.Context, id string) (string, error) {
	c.mu.Lock()
	_, ok := c.executors[id]
	c.mu.Unlock()
	if !ok {
		return "", ErrUnknownExecutor
	}
	sd, ok := c.be.(backend.StackDumper)
	if !ok {
		return "", errors.New("this cluster manager's backend cannot fetch an executor's stacks")
	}
	return sd.StackDump(ctx, id)
}

// ErrUnknownExecutor: no live executor has that id.
var ErrUnknownExecutor = errors.New("no such executor")
