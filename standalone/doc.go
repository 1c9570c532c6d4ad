// Package standalone is Stoke's own cluster manager: the master daemon that
// tracks workers, applications and cluster-mode drivers (placing executors
// with the pure placement.Allocate, recovering its state from a directory
// or ZooKeeper), the worker daemon that fetches application binaries and
// runs executors and drivers as processes, the stoke:// client backend,
// and local-cluster[N,C,M], a real master and N workers in this process.
// Workers and drivers reach the master over HTTP/JSON long polls (api.go);
// executors dial the driver's coarse.Server as with every cluster backend.
package standalone
