// Package local runs an application on this machine: in-process (local,
// local[N], local[*], local[N,F]), with one executor inside the driver whose
// task slots are goroutines; or with executor processes (Processes), the
// same binary re-executed, talking to the driver over gRPC like on a cluster.
package local
