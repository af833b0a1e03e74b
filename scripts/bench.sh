#!/usr/bin/env bash
# Runs the benchmarks under bench/ on a throwaway PostgreSQL and Redis (as scripts/test.sh).
# Usage: scripts/bench.sh [name ...]   e.g. scripts/bench.sh initiation parameters
# Each benchmark prints its figures and ends with one line of JSON (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/services.sh

scripts/setup-venv.sh requirements-dev.txt
export RECOMAMP_EMBEDDED=1  # benchmarks run on the development keys
trap 'status=$?; stop_servers; exit $status' EXIT INT TERM
start_servers
.venv/bin/python manage.py migrate --no-input -v0

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=($(ls bench/bench_*.py | sed 's|bench/bench_||; s|\.py$||'))
fi
for name in "${names[@]}"; do
  log "bench $name"
  .venv/bin/python "bench/bench_$name.py"
done
