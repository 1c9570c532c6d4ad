#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine. Safe to run
# again: it only installs what is missing.
set -euo pipefail

need_apt=()
# The miniclusters, executors and builds take some 2.6 GB at the suite's peak
# (measured): say so before a run that would end in "no space left on device".
avail_kb=$(df -Pk "${TMPDIR:-/tmp}" 2>/dev/null | awk 'NR==2 {print $4}')
if [ -n "${avail_kb:-}" ] && [ "$avail_kb" -lt $((5 * 1024 * 1024)) ]; then
  echo "warning: only $((avail_kb / 1024)) MiB free under ${TMPDIR:-/tmp}; the tests need about 3 GiB (Hadoop miniclusters, executors' scratch, builds)" >&2
fi
command -v go >/dev/null || { echo "Go 1.26 or newer is required (https://go.dev/dl/)" >&2; exit 1; }
# Standalone cluster tests: a real ZooKeeper (started by the test itself, not
# the system service), docker-compose to check docker-compose.yml, iproute2
# for the network namespace test.
[ -e /usr/share/java/zookeeper.jar ] || need_apt+=(zookeeper)
# YARN/HDFS tests: a real Hadoop minicluster built with Maven (JDK 17).
command -v javac >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
command -v ip >/dev/null || need_apt+=(iproute2)
# A real MIT Kerberos KDC (krb5kdc, kdb5_util, kadmin.local) and kinit for the Kerberos tests.
{ [ -x /usr/sbin/krb5kdc ] && [ -x /usr/sbin/kadmin.local ]; } || need_apt+=(krb5-kdc krb5-admin-server)
command -v kinit >/dev/null || need_apt+=(krb5-user)
# libfaketime: the clock-skew test runs a KDC whose clock is ten minutes ahead.
ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || need_apt+=(faketime)
# The UI tests drive Debian's chromium from Go (chromedp, integration/browser).
command -v chromium >/dev/null || need_apt+=(chromium)

if ((${#need_apt[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

# Go modules, and the Hadoop test harness with its Maven artifacts (the
# tests need no network after this).
go mod download
mvn -q -f integration/hadoop-harness/pom.xml package -DskipTests
