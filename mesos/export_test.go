package mesos

// Crash stops the backend as a killed driver would: no TEARDOWN, so the
// framework outlives it for its failover timeout.
func (b *Backend) Crash() { b.shutdown() }
