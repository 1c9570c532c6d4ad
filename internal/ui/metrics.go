package ui

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// storeCollector turns the store's counters into Prometheus metrics at
// scrape time, so applying events costs nothing extra.
type storeCollector struct {
	store *Store
	drops func() int64

	jobsActive, jobsEnded                  *prometheus.Desc
	stagesActive, tasksRunning, tasksEnded *prometheus.Desc
	execsActive, execRemovals, poolRunning *prometheus.Desc
	poolStages, busDrops, events           *prometheus.Desc
	execsTarget                            *prometheus.Desc
	taskDuration, taskRead, taskWrite      *prometheus.Desc
	execMemory                             *prometheus.Desc
}

func newStoreCollector(s *Store, drops func() int64) *storeCollector {
	return &storeCollector{
		store:        s,
		drops:        drops,
		jobsActive:   prometheus.NewDesc("stoke_jobs_active", "Jobs running now.", nil, nil),
		execMemory:   prometheus.NewDesc("stoke_executor_memory_bytes", "Each active executor's memory from its latest heartbeat: resident set, Go heap, and its bound.", []string{"executor_id", "kind"}, nil),
		taskDuration: prometheus.NewDesc("stoke_task_duration_seconds", "Duration of finished task attempts.", nil, nil),
		taskRead:     prometheus.NewDesc("stoke_task_shuffle_read_bytes", "Shuffle bytes read by each finished task attempt.", nil, nil),
		taskWrite:    prometheus.NewDesc("stoke_task_shuffle_write_bytes", "Shuffle bytes written by each finished task attempt.", nil, nil),
		jobsEnded:    prometheus.NewDesc("stoke_jobs_completed_total", "Jobs finished since start, by outcome (succeeded, failed).", []string{"status"}, nil),
		stagesActive: prometheus.NewDesc("stoke_stages_active", "Stage attempts running now.", nil, nil),
		tasksRunning: prometheus.NewDesc("stoke_tasks_running", "Tasks running now.", nil, nil),
		tasksEnded:   prometheus.NewDesc("stoke_tasks_completed_total", "Tasks finished since start, by end status.", []string{"status"}, nil),
		execsActive:  prometheus.NewDesc("stoke_executors_active", "Executors registered and not removed.", nil, nil),
		execRemovals: prometheus.NewDesc("stoke_executor_removals_total", "Executors removed since start.", nil, nil),
		poolRunning:  prometheus.NewDesc("stoke_pool_running_tasks", "Tasks running now, by scheduler pool.", []string{"pool"}, nil),
		poolStages:   prometheus.NewDesc("stoke_pool_active_stages", "Stage attempts running now, by scheduler pool.", []string{"pool"}, nil),
		busDrops:     prometheus.NewDesc("stoke_event_bus_dropped_total", "Events dropped because listeners fell behind.", nil, nil),
		events:       prometheus.NewDesc("stoke_ui_events_total", "Events applied to the UI's status store.", nil, nil),
		execsTarget:  prometheus.NewDesc("stoke_executors_target", "Executors dynamic allocation asks for (absent without dynamic allocation); stoke_executors_active is the actual number.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobsActive, c.jobsEnded, c.stagesActive, c.tasksRunning, c.tasksEnded, c.execsActive, c.execRemovals, c.poolRunning, c.poolStages, c.busDrops, c.events, c.execsTarget, c.taskDuration, c.taskRead, c.taskWrite, c.execMemory} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, e := range c.store.Executors(false) {
		if e.RSSBytes == 0 {
			continue // no heartbeat yet
		}
		ch <- prometheus.MustNewConstMetric(c.execMemory, prometheus.GaugeValue, float64(e.RSSBytes), e.ID, "rss")
		ch <- prometheus.MustNewConstMetric(c.execMemory, prometheus.GaugeValue, float64(e.HeapBytes), e.ID, "heap")
		if e.MemoryLimit > 0 {
			ch <- prometheus.MustNewConstMetric(c.execMemory, prometheus.GaugeValue, float64(e.MemoryLimit), e.ID, "limit")
		}
	}
	dur, read, write := c.store.TaskHistograms()
	for _, h := range []struct {
		d *prometheus.Desc
		s HistogramSnapshot
	}{{c.taskDuration, dur}, {c.taskRead, read}, {c.taskWrite, write}} {
		ch <- prometheus.MustNewConstHistogram(h.d, h.s.Count, h.s.Sum, h.s.Buckets)
	}
	t := c.store.Totals()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(c.jobsActive, float64(t.JobsActive))
	counter(c.jobsEnded, float64(t.JobsSucceeded), "succeeded")
	counter(c.jobsEnded, float64(t.JobsFailed), "failed")
	gauge(c.stagesActive, float64(t.StagesActive))
	gauge(c.tasksRunning, float64(t.TasksRunning))
	for status, n := range t.TasksEnded {
		counter(c.tasksEnded, float64(n), strings.ToLower(status)) // one case for every label, as jobs' "failed"
	}
	gauge(c.execsActive, float64(t.ExecutorsActive))
	counter(c.execRemovals, float64(t.ExecutorRemovals))
	if t.DynamicAllocation {
		gauge(c.execsTarget, float64(t.ExecutorTarget))
	}
	_, pools := c.store.Pools()
	for _, p := range pools {
		gauge(c.poolRunning, float64(p.RunningTasks), p.Name)
		gauge(c.poolStages, float64(p.ActiveStages), p.Name)
	}
	var drops int64
	if c.drops != nil {
		drops = c.drops()
	}
	counter(c.busDrops, float64(drops))
	counter(c.events, float64(t.Events))
}

// newRegistry is a registry of its own per server, so several servers (and
// tests) can run in one process.
func newRegistry(s *Store, drops func() int64) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newStoreCollector(s, drops),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}
