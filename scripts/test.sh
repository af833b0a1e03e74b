#!/usr/bin/env bash
# Runs lint and the whole test suite on real PostgreSQL and Redis.
#
# Both servers are started here on loopback, in a throwaway directory, and stopped at the end;
# they are installed with apt-get first when missing. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/services.sh

install_servers
log "python dependencies"
scripts/setup-venv.sh requirements-dev.txt

log "lint"
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .

trap 'status=$?; stop_servers; exit $status' EXIT INT TERM
start_servers

log "pytest"
# DuckDB's bindings print reference-leak notes when the interpreter exits; they say nothing
# about the tests, so keep them from burying pytest's summary line.
set +e
.venv/bin/python -m pytest "$@" 2>&1 |
  grep --line-buffered -v -E '^(nanobind: |See https://nanobind| - leaked | - \.\.\. skipped remainder)'
status=${PIPESTATUS[0]}
set -e
exit "$status"
