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
	execMemory, execStorage, execGoroutine *prometheus.Desc
	execCPU, execGCCycles, execGCPause     *prometheus.Desc
	execActive, execTasks, execTaskTime    *prometheus.Desc
	execShuffle                            *prometheus.Desc
}

func newStoreCollector(s *Store, drops func() int64) *storeCollector {
	return &storeCollector{
		store:      s,
		drops:      drops,
		jobsActive: prometheus.NewDesc("stoke_jobs_active", "Jobs running now.", nil, nil),
		execMemory: prometheus.NewDesc("stoke_executor_memory_bytes", "Each active executor's memory from its latest heartbeat: resident set, Go heap, and its bound.", []string{"executor_id", "kind"}, nil),
		// Every active executor's own metrics, relayed by the driver from
		// heartbeats and task ends: one scrape target per application.
		execStorage:   prometheus.NewDesc("stoke_executor_storage_bytes", "Bytes each active executor's block store holds: shuffle output and results in memory, cached partitions in memory and on disk.", []string{"executor_id", "kind"}, nil),
		execGoroutine: prometheus.NewDesc("stoke_executor_goroutines", "Goroutines of each active executor process.", []string{"executor_id"}, nil),
		execCPU:       prometheus.NewDesc("stoke_executor_cpu_seconds_total", "User and system CPU time of each active executor process.", []string{"executor_id"}, nil),
		execGCCycles:  prometheus.NewDesc("stoke_executor_gc_cycles_total", "Garbage collections each active executor process has completed.", []string{"executor_id"}, nil),
		execGCPause:   prometheus.NewDesc("stoke_executor_gc_pause_seconds_total", "Stop-the-world garbage collection pauses of each active executor process.", []string{"executor_id"}, nil),
		execActive:    prometheus.NewDesc("stoke_executor_active_tasks", "Tasks running now on each active executor.", []string{"executor_id"}, nil),
		execTasks:     prometheus.NewDesc("stoke_executor_tasks_total", "Task attempts each active executor has ended, by outcome (succeeded, failed, killed).", []string{"executor_id", "status"}, nil),
		execTaskTime:  prometheus.NewDesc("stoke_executor_task_seconds_total", "Time of the task attempts each active executor has ended.", []string{"executor_id"}, nil),
		execShuffle:   prometheus.NewDesc("stoke_executor_shuffle_bytes_total", "Shuffle bytes each active executor's tasks read and wrote.", []string{"executor_id", "direction"}, nil),
		taskDuration:  prometheus.NewDesc("stoke_task_duration_seconds", "Duration of finished task attempts.", nil, nil),
		taskRead:      prometheus.NewDesc("stoke_task_shuffle_read_bytes", "Shuffle bytes read by each finished task attempt.", nil, nil),
		taskWrite:     prometheus.NewDesc("stoke_task_shuffle_write_bytes", "Shuffle bytes written by each finished task attempt.", nil, nil),
		jobsEnded:     prometheus.NewDesc("stoke_jobs_completed_total", "Jobs finished since start, by outcome (succeeded, failed).", []string{"status"}, nil),
		stagesActive:  prometheus.NewDesc("stoke_stages_active", "Stage attempts running now.", nil, nil),
		tasksRunning:  prometheus.NewDesc("stoke_tasks_running", "Tasks running now.", nil, nil),
		tasksEnded:    prometheus.NewDesc("stoke_tasks_completed_total", "Tasks finished since start, by end status.", []string{"status"}, nil),
		execsActive:   prometheus.NewDesc("stoke_executors_active", "Executors registered and not removed.", nil, nil),
		execRemovals:  prometheus.NewDesc("stoke_executor_removals_total", "Executors removed since start.", nil, nil),
		poolRunning:   prometheus.NewDesc("stoke_pool_running_tasks", "Tasks running now, by scheduler pool.", []string{"pool"}, nil),
		poolStages:    prometheus.NewDesc("stoke_pool_active_stages", "Stage attempts running now, by scheduler pool.", []string{"pool"}, nil),
		busDrops:      prometheus.NewDesc("stoke_event_bus_dropped_total", "Events dropped because listeners fell behind.", nil, nil),
		events:        prometheus.NewDesc("stoke_ui_events_total", "Events applied to the UI's status store.", nil, nil),
		execsTarget:   prometheus.NewDesc("stoke_executors_target", "Executors dynamic allocation asks for (absent without dynamic allocation); stoke_executors_active is the actual number.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobsActive, c.jobsEnded, c.stagesActive, c.tasksRunning, c.tasksEnded, c.execsActive, c.execRemovals, c.poolRunning, c.poolStages, c.busDrops, c.events, c.execsTarget, c.taskDuration, c.taskRead, c.taskWrite, c.execMemory,
		c.execStorage, c.execGoroutine, c.execCPU, c.execGCCycles, c.execGCPause, c.execActive, c.execTasks, c.execTaskTime, c.execShuffle} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, e := range c.store.Executors(false) {
		g := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{e.ID}, labels...)...)
		}
		n := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append([]string{e.ID}, labels...)...)
		}
		g(c.execActive, float64(e.ActiveTasks))
		n(c.execTasks, float64(e.CompletedTasks), "succeeded")
		n(c.execTasks, float64(e.FailedTasks), "failed")
		n(c.execTasks, float64(e.KilledTasks), "killed")
		n(c.execTaskTime, e.TotalDuration.Seconds())
		n(c.execShuffle, float64(e.ShuffleRead), "read")
		n(c.execShuffle, float64(e.ShuffleWrite), "write")
		if e.Heartbeats == 0 {
			continue // the process's own metrics come with its first heartbeat
		}
		g(c.execMemory, float64(e.RSSBytes), "rss")
		g(c.execMemory, float64(e.HeapBytes), "heap")
		if e.MemoryLimit > 0 {
			g(c.execMemory, float64(e.MemoryLimit), "limit")
		}
		g(c.execStorage, float64(e.ShuffleMemory), "shuffle_memory")
		g(c.execStorage, float64(e.CacheMemory), "cache_memory")
		g(c.execStorage, float64(e.CacheDisk), "cache_disk")
		g(c.execGoroutine, float64(e.Goroutines))
		n(c.execCPU, e.CPUTime.Seconds())
		n(c.execGCCycles, float64(e.GCCycles))
		n(c.execGCPause, e.GCPause.Seconds())
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
