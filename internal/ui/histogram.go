package ui

import "sort"

// histogram counts observations in fixed buckets, for Prometheus
// histograms built at scrape time (the store is the only writer, under its
// lock).
type histogram struct {
	bounds []float64 // upper bounds, increasing
	counts []uint64  // per bucket (not cumulative); the last is +Inf
	sum    float64
	count  uint64
}

func newHistogram(bounds ...float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v
	h.counts[i]++
	h.sum += v
	h.count++
}

// HistogramSnapshot is a histogram as Prometheus wants it: cumulative
// counts by upper bound, the sum and the count.
type HistogramSnapshot struct {
	Buckets map[float64]uint64
	Sum     float64
	Count   uint64
}

func (h *histogram) snapshot() HistogramSnapshot {
	b := make(map[float64]uint64, len(h.bounds))
	var cum uint64
	for i, ub := range h.bounds {
		cum += h.counts[i]
		b[ub] = cum
	}
	return HistogramSnapshot{Buckets: b, Sum: h.sum, Count: h.count}
}

// Bucket bounds: task durations in seconds, shuffle bytes per task.
var (
	durationBounds = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300}
	bytesBounds    = []float64{1 << 10, 1 << 13, 1 << 16, 1 << 19, 1 << 22, 1 << 25, 1 << 28, 1 << 31}
)
