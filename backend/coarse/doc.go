// Package coarse is the driver's endpoint for executor processes: executors
// started by any cluster manager dial it, register (their function registry
// must match the driver's), and keep one stream open for launches, kills,
// status updates and heartbeats. Cluster backends embed a Server and only
// start and stop executor processes.
package coarse
