// Package events defines what the driver reports about an application's run
// (the events the web UI, the metrics, the console progress bar and the
// JSON-lines event log are all built from) and the Bus that carries them:
// Post never blocks the scheduler, and one goroutine delivers every event,
// in order, to each Listener.
package events
