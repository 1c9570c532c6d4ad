// Package sched is the driver's task scheduling core: FIFO and FAIR pools,
// delay scheduling, retries, speculative execution, exclusion on failure and
// output commit coordination (SPEC §4–§6).
//
// It is a pure, deterministic state machine. It starts no goroutines, does no
// I/O and never reads the clock: the driver passes `now` into every call and
// carries out the returned decisions (launches, kills, aborts); the same
// sequence of calls always produces the same decisions. The driver calls
// Schedule whenever slots may have freed or work appeared (after Submit,
// Update, AddExecutor, and after a Tick that reported speculatable tasks —
// HasPending says whether anything waits). A slot stays taken until the
// executor reports the attempt ended, even after a Kill.
package sched
