package standalone

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prometheus metrics of the standalone daemons, served at /metrics beside
// their web UIs. Each scrape reads the same snapshot as /json, so the two
// always agree. Label values are lower case, as the driver's.

var (
	masterWorkers   = prometheus.NewDesc("stoke_master_workers", "Workers known to the master, by state.", []string{"state"}, nil)
	masterApps      = prometheus.NewDesc("stoke_master_applications", "Applications on the master, by state (active ones and those retained after they ended).", []string{"state"}, nil)
	masterDrivers   = prometheus.NewDesc("stoke_master_drivers", "Cluster-mode drivers on the master, by state.", []string{"state"}, nil)
	masterCores     = prometheus.NewDesc("stoke_master_cores", "Cores of the alive workers: total, and used by executors.", []string{"kind"}, nil)
	masterMemory    = prometheus.NewDesc("stoke_master_memory_bytes", "Memory of the alive workers: total, and used by executors.", []string{"kind"}, nil)
	masterExecutors = prometheus.NewDesc("stoke_master_executors", "Executors the master has granted and not seen end.", nil, nil)
	masterLeading   = prometheus.NewDesc("stoke_master_leader", "1 while this master leads, 0 while it stands by or recovers.", nil, nil)

	workerCores     = prometheus.NewDesc("stoke_worker_cores", "The worker's cores: total, and used by running executors.", []string{"kind"}, nil)
	workerMemory    = prometheus.NewDesc("stoke_worker_memory_bytes", "The worker's memory: total, and used by running executors.", []string{"kind"}, nil)
	workerExecutors = prometheus.NewDesc("stoke_worker_executors", "Executors on the worker, by state.", []string{"state"}, nil)
	workerDrivers   = prometheus.NewDesc("stoke_worker_drivers", "Cluster-mode drivers on the worker, by state.", []string{"state"}, nil)
)

type masterCollector struct{ m *Master }

func (c masterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{masterWorkers, masterApps, masterDrivers, masterCores, masterMemory, masterExecutors, masterLeading} {
		ch <- d
	}
}

func (c masterCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.State()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counts := func(d *prometheus.Desc, states map[string]int) {
		for st, n := range states {
			gauge(d, float64(n), strings.ToLower(st))
		}
	}
	workers := map[string]int{}
	executors := 0
	for _, w := range s.Workers {
		workers[w.State]++
		executors += len(w.Executors)
	}
	counts(masterWorkers, workers)
	apps := map[string]int{}
	for _, a := range s.Apps {
		apps[a.State]++
	}
	for _, a := range s.Completed {
		apps[a.State]++
	}
	counts(masterApps, apps)
	drivers := map[string]int{}
	for _, d := range s.Drivers {
		drivers[d.State]++
	}
	counts(masterDrivers, drivers)
	gauge(masterCores, float64(s.Cores), "total")
	gauge(masterCores, float64(s.CoresUsed), "used")
	gauge(masterMemory, float64(s.MemoryMiB)*(1<<20), "total")
	gauge(masterMemory, float64(s.MemoryUsed)*(1<<20), "used")
	gauge(masterExecutors, float64(executors))
	leading := 0.0
	if s.Status == "ALIVE" {
		leading = 1
	}
	gauge(masterLeading, leading)
}

type workerCollector struct{ w *Worker }

func (c workerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{workerCores, workerMemory, workerExecutors, workerDrivers} {
		ch <- d
	}
}

func (c workerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.w.status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	usedCores, usedMem := 0, 0
	execs := map[string]int{}
	for _, e := range s.Executors {
		execs[strings.ToLower(e.State)]++
		if e.State == StateRunning {
			usedCores += e.Cores
			usedMem += e.MemoryMiB
		}
	}
	drivers := map[string]int{}
	for _, d := range s.Drivers {
		drivers[strings.ToLower(d.State)]++
	}
	gauge(workerCores, float64(s.Cores), "total")
	gauge(workerCores, float64(usedCores), "used")
	gauge(workerMemory, float64(s.MemoryMiB)*(1<<20), "total")
	gauge(workerMemory, float64(usedMem)*(1<<20), "used")
	for st, n := range execs {
		gauge(workerExecutors, float64(n), st)
	}
	for st, n := range drivers {
		gauge(workerDrivers, float64(n), st)
	}
}

// metricsHandler serves the collector with the Go runtime's and the
// process's own metrics.
func metricsHandler(c prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
