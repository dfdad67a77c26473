#!/usr/bin/env bash
# Runs the product's benchmarks and writes BENCHMARKS.md (the machine, then
# every figure as a median with min/max and its ratio to a reference measured
# in the same run). Needs Go, s6 and execline, root (the container benchmarks
# use namespaces and the hermes user: see tests/run.sh), and s6-overlay for
# the stop under the real init (tests/overlay finds or builds it, as
# tests/run.sh does). Takes about 10 minutes.
#   bash tests/bench.sh [-count N] [-out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./tests/bench "$@"
