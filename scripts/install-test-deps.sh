#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine. Safe to run
# again: it only installs what is missing.
set -euo pipefail

need_apt=()
command -v go >/dev/null || { echo "Go 1.26 or newer is required (https://go.dev/dl/)" >&2; exit 1; }

if ((${#need_apt[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# Go modules (the tests need no network after this).
go mod download
