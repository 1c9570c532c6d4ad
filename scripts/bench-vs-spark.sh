#!/usr/bin/env bash
# Runs the same data jobs on Stoke and on Spark 4 (Java RDD API, no Python
# workers) side by side and prints a markdown table of wall time and peak
# memory, with the ratio Spark/Stoke. Also the plain one-goroutine Go word
# count against Stoke on local[1].
#
#   scripts/bench-vs-spark.sh                 # 1 GiB inputs, best of 3
#   SIZE=32m RUNS=1 scripts/bench-vs-spark.sh # a quick check that everything works
#
# Environment:
#   SIZE        input size: bytes or k/m/g (KiB, MiB, GiB); default 1g. The
#               join's small side is SIZE*200/1024 (200 MiB for 1 GiB).
#   RUNS        runs of each job and system, interleaved; the best wall time
#               counts (default 3)
#   CASES       which rows, in order (default: all):
#               wc-local2 wc-cluster wc-local1 sort group join
#   PARTITIONS  shuffle partitions given to both systems' jobs (-p); 0 (the
#               default) leaves each system its own default
#   DATA        where inputs are generated and kept (default
#               ~/.cache/stoke-bench/data); generation is skipped for files
#               that exist with the right size
#   WORK        where results, logs and sort outputs go (default: a new
#               directory under /tmp, printed)
#   SPARK_HOME  a Spark 4 installation; default: the pyspark package of
#               $STOKE_BENCH_VENV (default ~/.cache/stoke-bench/venv), which
#               is created with pip install pyspark==4.0.1 when missing
#   SPARK_OPTS  extra spark-submit options for every Spark run (word-split),
#               e.g. "--driver-memory 2g"
#   STOKE_OPTS  extra stoke submit options for every Stoke run (word-split)
#
# Both systems run as their users run them: `stoke submit --master M ./jobs
# JOB ARGS` (the Go binary built from bench/jobs) and `spark-submit --master
# M --class stokebench.Jobs jobs.jar JOB ARGS`. Wall time and memory come
# from bench/measure, which samples the whole process tree (driver and
# executor processes): "peak RSS" is the largest sum of the tree's resident
# memory seen at one sample (every 50 ms). Every job prints a checksum line;
# a row whose checksums differ between systems or runs is marked MISMATCH and
# the script exits 1. Sort outputs are checked by bench/checksort (ordered,
# and the same lines as the input).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

SIZE=${SIZE:-1g}
RUNS=${RUNS:-3}
CASES=${CASES:-wc-local2 wc-cluster wc-local1 sort group join}
PARTITIONS=${PARTITIONS:-0}
DATA=${DATA:-$HOME/.cache/stoke-bench/data}
venv=${STOKE_BENCH_VENV:-$HOME/.cache/stoke-bench/venv}

die() {
	echo "bench-vs-spark: $*" >&2
	exit 1
}

# bytes SIZE prints SIZE (digits with an optional k, m or g) in bytes.
bytes() {
	local s=${1,,}
	s=${s%b}
	s=${s%i}
	local mult=1
	case $s in
	*k) mult=1024 s=${s%k} ;;
	*m) mult=$((1 << 20)) s=${s%m} ;;
	*g) mult=$((1 << 30)) s=${s%g} ;;
	esac
	[[ $s =~ ^[0-9]+$ && $s -gt 0 ]] || die "SIZE must be a positive size like 33554432, 32m or 1g, got '$1'"
	echo $((s * mult))
}

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, got '$RUNS'"
[[ $PARTITIONS =~ ^[0-9]+$ ]] || die "PARTITIONS must be 0 (each system's default) or more, got '$PARTITIONS'"
size=$(bytes "$SIZE")
small_size=$((size * 200 / 1024))
for c in $CASES; do
	case $c in
	wc-local2 | wc-cluster | wc-local1 | sort | group | join) ;;
	*) die "unknown case '$c' in CASES; known: wc-local2 wc-cluster wc-local1 sort group join" ;;
	esac
done

WORK=${WORK:-$(mktemp -d /tmp/stoke-vs-spark.XXXXXX)}
mkdir -p "$WORK/bin" "$WORK/runs" "$DATA"
bin=$WORK/bin

echo "# Stoke vs Spark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB; $(go version | cut -d' ' -f3-4)"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- SIZE=$SIZE ($size bytes), RUNS=$RUNS, PARTITIONS=$PARTITIONS, CASES=\"$CASES\""
echo "- results and logs: $WORK"

# --- Build ---------------------------------------------------------------
echo
echo "## Build" >&2
go build -o "$bin/stoke" ./cmd/stoke
for p in gen plainwc measure checksort; do
	go build -o "$bin/$p" "./bench/$p"
done
have_sort=1
go build -o "$bin/jobs" ./bench/jobs

if [[ -z ${SPARK_HOME:-} ]]; then
	if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import pyspark' 2>/dev/null; then
		echo "installing pyspark 4.0.1 into $venv (takes a while)" >&2
		python3 -m venv "$venv"
		"$venv/bin/pip" install --quiet pyspark==4.0.1
	fi
	SPARK_HOME=$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
fi
export SPARK_HOME
# This machine's name resolves to a loopback address; Spark would pick
# another interface (and warn). Stoke's local-cluster uses 127.0.0.1 too.
export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
SPARK_HOME=$SPARK_HOME OUT=$bin/spark-jobs.jar bench/spark/build.sh >/dev/null
spark_version=$("$SPARK_HOME/bin/spark-submit" --version 2>&1 | grep -m1 -o 'version [0-9.]*' || true)
echo "- Spark: $spark_version ($SPARK_HOME), $(java -version 2>&1 | head -1)"

# --- Inputs --------------------------------------------------------------
text=$DATA/words-$size.txt
kv=$DATA/kv-$size.txt
kv2=$DATA/kv-$((2 * size)).txt
join_small=$DATA/join-small-$small_size.txt
join_big=$DATA/join-big-$size-$small_size.txt
need() { [[ " $CASES " == *" $1 "* ]]; }
{
	if need wc-local2 || need wc-cluster || need wc-local1; then "$bin/gen" text -size "$size" -out "$text"; fi
	if need sort; then "$bin/gen" kv -size "$size" -out "$kv"; fi
	if need group; then "$bin/gen" kv -size "$((2 * size))" -out "$kv2"; fi
	if need join; then "$bin/gen" join -small-size "$small_size" -small "$join_small" -big-size "$size" -big "$join_big"; fi
} >&2

# --- Runs ----------------------------------------------------------------
read -r -a spark_opts <<<"${SPARK_OPTS:-}"
read -r -a stoke_opts <<<"${STOKE_OPTS:-}"
p_args=()
if [[ $PARTITIONS != 0 ]]; then p_args=(-p "$PARTITIONS"); fi

# command CASE SIDE RUN sets cmd to the command line of one run; SIDE is
# stoke or other (Spark, or plain Go for wc-local1).
command_for() {
	local c=$1 side=$2 run=$3 master job
	local -a args mem=()
	case $c in
	wc-local2) master='local[2]' job=wordcount args=("$text") ;;
	wc-cluster) master='local-cluster[2,1,2048]' job=wordcount args=("$text") ;;
	wc-local1) master='local[1]' job=wordcount args=("$text") ;;
	sort) master='local[2]' job=sort args=("$kv" "$WORK/runs/sort-$side-$run.out") ;;
	# GroupByKey of 2 x SIZE in executors of 512 MiB: more than memory, so
	# both systems spill.
	group) master='local-cluster[2,1,1024]' job=group args=("$kv2") mem=(--executor-memory 512m) ;;
	join) master='local[2]' job=join args=("$join_small" "$join_big") ;;
	esac
	if [[ $side == stoke ]]; then
		cmd=("$bin/stoke" submit --master "$master" "${mem[@]}" "${stoke_opts[@]}" "$bin/jobs" "${p_args[@]}" "$job" "${args[@]}")
	elif [[ $c == wc-local1 ]]; then
		cmd=("$bin/plainwc" "$text")
	else
		cmd=("$SPARK_HOME/bin/spark-submit" --master "$master" "${mem[@]}" "${spark_opts[@]}" --class stokebench.Jobs "$bin/spark-jobs.jar" "${p_args[@]}" "$job" "${args[@]}")
	fi
}

failed=0
for run in $(seq 1 "$RUNS"); do
	for c in $CASES; do
		for side in stoke other; do
			if [[ $c == sort && $side == stoke && $have_sort == 0 ]]; then continue; fi
			command_for "$c" "$side" "$run"
			base=$WORK/runs/$c.$side.$run
			printf '%q ' "${cmd[@]}" >"$base.cmd"
			rm -rf "$WORK/runs/sort-$side-$run.out"
			status=0
			"$bin/measure" -report "$base.report" -stdout "$base.out" -stderr "$base.err" -- "${cmd[@]}" || status=$?
			if [[ $c == sort && $status == 0 ]]; then
				# The check is not timed; the output is removed after it.
				"$bin/checksort" "$kv" "$WORK/runs/sort-$side-$run.out" >>"$base.out" 2>>"$base.err" || status=$?
				rm -rf "$WORK/runs/sort-$side-$run.out"
			fi
			if [[ $status != 0 ]]; then
				failed=1
				echo "FAILED" >>"$base.out"
				echo "run $run $c $side: FAILED (exit $status), see $base.err" >&2
			else
				echo "run $run $c $side: $(cat "$base.report")" >&2
			fi
		done
	done
done

# --- Table ---------------------------------------------------------------
# field REPORT KEY prints KEY's value from a measure report.
field() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"; }

# best CASE SIDE prints the run with the smallest wall time that succeeded.
best() {
	local c=$1 side=$2 bestrun="" bestwall="" r w
	for r in $(seq 1 "$RUNS"); do
		local f=$WORK/runs/$c.$side.$r.report
		[[ -f $f ]] && ! grep -q FAILED "$WORK/runs/$c.$side.$r.out" || continue
		w=$(field "$f" wall_s)
		if [[ -z $bestwall ]] || awk -v a="$w" -v b="$bestwall" 'BEGIN { exit !(a < b) }'; then
			bestrun=$r bestwall=$w
		fi
	done
	echo "$bestrun"
}

label() {
	case $1 in
	wc-local2) echo "wordcount | local[2]" ;;
	wc-cluster) echo "wordcount | local-cluster[2,1,2048]" ;;
	wc-local1) echo "wordcount | local[1] vs plain Go" ;;
	sort) echo "sort (SortByKey, save) | local[2]" ;;
	group) echo "group (GroupByKey of 2×SIZE, executors of 512 MiB) | local-cluster[2,1,1024]" ;;
	join) echo "join | local[2]" ;;
	esac
}

echo
echo "## Results (best of $RUNS by wall time; peak RSS of the whole process tree in that run)"
echo
echo "| job | master | Stoke wall s | Stoke peak RSS MiB | Stoke largest process MiB | Stoke CPU s | other | other wall s | other peak RSS MiB | other largest process MiB | other CPU s | wall other/Stoke | RSS other/Stoke | checksums |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for c in $CASES; do
	other=Spark
	[[ $c == wc-local1 ]] && other="plain Go"
	s=$(best "$c" stoke)
	o=$(best "$c" other)
	sw=- sr=- sc=- sm=- ow=- or=- oc=- om=- rw=- rr=-
	if [[ -n $s ]]; then
		f=$WORK/runs/$c.stoke.$s.report
		sw=$(field "$f" wall_s) sr=$(field "$f" rss_peak_mib) sc=$(field "$f" cpu_s) sm=$(field "$f" hwm_max_mib)
	elif [[ $c == sort && $have_sort == 0 ]]; then
		sw="not built (no SortByKey)"
	else
		sw=FAILED
	fi
	if [[ -n $o ]]; then
		f=$WORK/runs/$c.other.$o.report
		ow=$(field "$f" wall_s) or=$(field "$f" rss_peak_mib) oc=$(field "$f" cpu_s) om=$(field "$f" hwm_max_mib)
	else
		ow=FAILED
	fi
	if [[ -n $s && -n $o ]]; then
		rw=$(awk -v a="$ow" -v b="$sw" 'BEGIN { printf "%.2f", a / b }')
		rr=$(awk -v a="$or" -v b="$sr" 'BEGIN { printf "%.2f", a / b }')
	fi
	sums=$(cat "$WORK"/runs/"$c".*.out 2>/dev/null | grep -h '^checksum:\|^FAILED' | sort -u || true)
	n=$(grep -c . <<<"$sums" || true)
	if grep -q FAILED <<<"$sums"; then
		check="a run failed"
	elif [[ $n == 1 ]]; then
		check="agree: \`${sums#checksum: }\`"
	else
		check="MISMATCH"
		failed=1
	fi
	echo "| $(label "$c") | $sw | $sr | $sm | $sc | $other | $ow | $or | $om | $oc | $rw | $rr | $check |"
done

echo
echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- wall: from start to exit of \`stoke submit\` / \`spark-submit\` (JVM and executor start included); CPU: user+system of the process tree (descendants that were waited for)"
echo "- peak RSS: the largest sum of VmRSS over the driver and its executor processes at one 50 ms sample; largest process: the highest VmHWM of one process (for local-cluster, the driver or an executor)"
echo
echo "## Command lines"
echo
for run in $(seq 1 "$RUNS"); do
	for c in $CASES; do
		for side in stoke other; do
			base=$WORK/runs/$c.$side.$run
			[[ -f $base.cmd ]] || continue
			echo "- run $run, $c, $side: \`$(cat "$base.cmd")\`"
			[[ -f $base.report ]] && echo "  - $(cat "$base.report")"
		done
	done
done
if need sort; then
	echo "- sort outputs were checked by \`$bin/checksort $kv OUT\` after each run (not timed)"
fi
exit $failed
