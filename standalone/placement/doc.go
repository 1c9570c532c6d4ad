// Package placement is the standalone master's allocation decision: given
// the workers' free cores and memory and the applications waiting in
// order, which executors to start where (spread out or consolidated,
// honouring stoke.executor.cores, stoke.executor.memory and
// stoke.cores.max). It is a pure function: no I/O, no clock.
package placement
