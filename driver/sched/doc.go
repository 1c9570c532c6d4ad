// Package sched is the driver's task scheduling core: FIFO and FAIR pools,
// delay scheduling, retries, speculative execution, exclusion on failure and
// output commit coordination.
//
// It is a pure, deterministic state machine. It starts no goroutines, does no
// I/O and never reads the clock: the driver passes `now` into every call and
// carries out the returned decisions (launches, kills, aborts). The same
// sequence of calls always produces the same decisions.
package sched
