#!/usr/bin/env bash
# Compiles the Spark side of the benchmarks (src/stokebench/Jobs.java) into
# $OUT (default bench/spark/build/jobs.jar) against the jars of a Spark
# installation: $SPARK_HOME, else the pyspark package of the virtualenv
# $STOKE_BENCH_VENV (default ~/.cache/stoke-bench/venv), made with
#   python3 -m venv ~/.cache/stoke-bench/venv && ~/.cache/stoke-bench/venv/bin/pip install pyspark==4.0.1
# Needs javac (Java 17 or newer). Prints the jar's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ -z "${SPARK_HOME:-}" ]]; then
	venv=${STOKE_BENCH_VENV:-$HOME/.cache/stoke-bench/venv}
	if [[ ! -x $venv/bin/python ]]; then
		echo "build.sh: no Spark: set SPARK_HOME, or install pyspark into $venv:" >&2
		echo "  python3 -m venv $venv && $venv/bin/pip install pyspark==4.0.1" >&2
		exit 1
	fi
	SPARK_HOME=$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
fi
if ! compgen -G "$SPARK_HOME/jars/spark-core_*.jar" >/dev/null; then
	echo "build.sh: $SPARK_HOME/jars holds no spark-core jar: is SPARK_HOME a Spark installation?" >&2
	exit 1
fi
out=${OUT:-$here/build/jobs.jar}
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
javac --release 17 -Xlint:all,-serial,-options,-path -cp "$SPARK_HOME/jars/*" -d "$classes" "$here"/src/stokebench/*.java
mkdir -p "$(dirname "$out")"
jar cf "$out.tmp" -C "$classes" .
mv "$out.tmp" "$out"
echo "$out"
