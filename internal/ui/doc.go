// Package ui keeps the status of a running (or replayed) application in a
// Store built from its events, and serves it as server-rendered HTML pages,
// a JSON API under /api/v1/ and Prometheus metrics at /metrics. ServeHistory
// rebuilds the Store of a finished application from its event log.
package ui
