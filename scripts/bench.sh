#!/usr/bin/env bash
# Runs the benchmarks whose numbers docs/benchmarks.md records.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== machine"; nproc; grep -m1 'model name' /proc/cpuinfo || true; free -g | head -2; go version
echo "== scheduling core: placements/s (1,000 executors x 8 slots, 200 task sets, 20 FAIR pools)"
go test -run xxx -bench 'BenchmarkSchedule' -benchtime 50x -count 3 ./driver/sched
echo "== end to end: empty tasks/s in-process (local[8]) and through 2 executor processes x 4 slots"
go test -run xxx -bench 'BenchmarkEmptyTasks' -benchtime 10x -count 3 .
echo "== one-task job latency on warm executors"
go test -run xxx -bench 'BenchmarkOneTaskJob' -benchtime 2000x -count 3 .
echo "== idle executor RSS"
go test -run xxx -bench 'BenchmarkExecutorIdleRSS' -benchtime 1x -count 3 .
echo "== event pipeline"
go test -run xxx -bench . -benchtime 1s ./internal/events ./internal/ui
echo "== standalone: app start on a warm cluster, local-cluster start, allocation at scale"
go test -run xxx -bench BenchmarkAppStartWarmCluster -benchtime 40x -count 3 ./standalone
go test -run xxx -bench BenchmarkLocalClusterStart -benchtime 20x -count 3 ./standalone
go test -run xxx -bench BenchmarkAllocate1000Workers200Apps -benchtime 1s -count 3 ./standalone/placement
echo "== yarn: submit -> first task, client and cluster mode (Hadoop minicluster)"
go test ./yarn -run XXX -bench SubmitToFirstTask -benchtime 5x -count 3
echo "== yarn: locality hints, node-local tasks with and without (placement minicluster)"
go test ./yarn -run XXX -bench BenchmarkYARNLocalityHints -benchtime 5x -v
echo "== secure HDFS: 64 MiB write/read at each data transfer protection level; the SASL layers alone"
go test -run XXX -bench BenchmarkSecureHDFS -benchtime 3x -count 3 ./integration/hdfsdata
go test -run XXX -bench BenchmarkDigestLayers -count 3 ./internal/hadoop/ipc
echo "== mesos (against mesostest)"
go test -run XXX -bench . -benchtime 10x ./mesos
