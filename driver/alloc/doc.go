// Package alloc is the dynamic allocation policy: how many executors an
// application wants and which idle ones it gives back (the
// stoke.dynamicAllocation.* keys, with the reference system's semantics).
//
// Like driver/sched it is a pure, deterministic state machine: no
// goroutines, no I/O, no clock. The driver calls Update on a ticker with a
// snapshot of the scheduler's backlog and of its executors, and carries out
// the Decision: RequestTotalExecutors when the target changed, KillExecutors
// for the releases. The same sequence of calls always gives the same
// decisions.
//
// The rules:
//   - The target starts at InitialExecutors and stays there until the first
//     task appears or an executor has been idle past its timeout.
//   - While tasks wait for a slot, the first request comes after
//     SchedulerBacklogTimeout and further ones every
//     SustainedSchedulerBacklogTimeout; each adds twice as many executors
//     as the one before (1, 2, 4, ...) and never more than needed, where
//     needed = ceil((pending + speculative + running) * AllocationRatio /
//     (ExecutorCores / TaskCPUs)). The ramp restarts at 1 when the backlog
//     empties.
//   - When fewer executors are needed than the target, the target drops at
//     once (never below MinExecutors); executors only go when idle.
//   - An executor with no running task is idle. It is released after
//     ExecutorIdleTimeout (CachedIdleTimeout if it holds cached blocks;
//     ShuffleTrackingTimeout if it holds shuffle output, with shuffle
//     tracking on), as long as the executors left stay at or above both
//     the target and MinExecutors. Executors holding shuffle output an
//     active job reads are never idle. Executors that pending tasks prefer
//     are released last.
//   - With Decommission, shuffle output holds no executor: one holding it is
//     released after ExecutorIdleTimeout with Release.Decommission set (the
//     driver moves its output to an executor that stays first), as long as
//     one executor stays. When none would, shuffle tracking keeps it (until
//     ShuffleTrackingTimeout); without tracking it goes, output and all.
//     One executor stays while output moves, and an executor output is
//     being copied to (Receiving) is busy.
//   - The output of an executor with ShuffleServed holds it nowhere and
//     moves nowhere: a shuffle service serves it once the executor is gone.
package alloc
