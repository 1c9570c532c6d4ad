// Package mesos is Stoke's backend for mesos:// masters: a framework on the
// Mesos v1 scheduler HTTP API (mesos-go, protobuf) that subscribes to the
// leading master, turns offers into executor launches through the pure
// decision in mesos/offers, and runs the application's own binary as
// coarse-grained executors that dial the driver's backend/coarse endpoint.
package mesos
