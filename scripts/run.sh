#!/usr/bin/env bash
# Runs the whole product on one machine with nothing to install: SQLite, a filesystem Celery
# broker, the local AMC simulator, web + admin + API (gunicorn), a Celery worker, beat and
# Flower. Demo data is loaded and the login printed. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${RECOMAMP_PORT:-8000}
simulator_port=${RECOMAMP_SIMULATOR_PORT:-8765}
flower_port=${FLOWER_PORT:-5555}
# The local demo: development keys and plain http on loopback are expected here.
export RECOMAMP_EMBEDDED=1
export RECOMAMP_VAR_DIR=${RECOMAMP_VAR_DIR:-$PWD/var}
export AMC_SIMULATOR_URL=${AMC_SIMULATOR_URL:-http://127.0.0.1:$simulator_port}
export DJANGO_ALLOWED_HOSTS=${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1,[::1]}
# Links in exported PDFs, emails and webhooks point at this server.
export RECOMAMP_PUBLIC_URL=${RECOMAMP_PUBLIC_URL:-http://127.0.0.1:$port}
unset DATABASE_URL CELERY_BROKER_URL
mkdir -p "$RECOMAMP_VAR_DIR/log"
# Metrics of every process (web workers, Celery) are pooled here for /metrics; stale files of a
# previous run would be summed in, so the folder starts empty.
export PROMETHEUS_MULTIPROC_DIR="$RECOMAMP_VAR_DIR/prometheus"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

echo "==> python dependencies"
scripts/setup-venv.sh requirements.txt
py=.venv/bin/python

echo "==> database and demo data"
$py manage.py migrate --no-input -v0
$py manage.py collectstatic --no-input -v0
login=$($py manage.py seed_demo | tail -n 1)

pids=()
stop() {
  trap - EXIT INT TERM
  echo; echo "==> stopping"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

start() {  # name, command...
  local name=$1; shift
  "$@" >"$RECOMAMP_VAR_DIR/log/$name.log" 2>&1 &
  pids+=($!)
}

echo "==> starting the AMC simulator (first start builds its demo data set)"
start simulator $py manage.py amc_simulator --port "$simulator_port"
for _ in $(seq 120); do
  curl -fs "$AMC_SIMULATOR_URL/_simulator/stats" >/dev/null 2>&1 && break
  sleep 0.5
done
start worker .venv/bin/celery -A recomamp worker --concurrency=4 --loglevel=INFO
# Exports and deliveries render PDFs and workbooks: their own queue, and each process is
# replaced after 20 tasks or 400 MB, so renderer memory never piles up.
start exports-worker .venv/bin/celery -A recomamp worker -Q exports -n exports@%h --concurrency=1 \
  --max-tasks-per-child=20 --max-memory-per-child=400000 --loglevel=INFO
start beat .venv/bin/celery -A recomamp beat --loglevel=INFO
start flower .venv/bin/celery -A recomamp flower --port="$flower_port" --address=127.0.0.1
# No control socket: its default path is shared by every gunicorn of the user on the machine.
start web .venv/bin/gunicorn recomamp.wsgi --bind "127.0.0.1:$port" --workers 2 --threads 4 \
  --no-control-socket

for _ in $(seq 60); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/admin/login/" && break
  sleep 0.5
done
cat <<MSG

RecomAMP is running.
  Admin:     http://127.0.0.1:$port/admin/
  API docs:  http://127.0.0.1:$port/api/docs/
  Flower:    http://127.0.0.1:$flower_port/
  Status:    http://127.0.0.1:$port/admin/status/  (health: /healthz, /readyz; metrics: /metrics)
  AMC simulator: $AMC_SIMULATOR_URL (stats at /_simulator/stats)
  $login
Logs are in $RECOMAMP_VAR_DIR/log. Press Ctrl-C to stop.
MSG
status=0
wait -n "${pids[@]}" || status=$?
echo "A process stopped (exit status $status): everything is stopped; see $RECOMAMP_VAR_DIR/log." >&2
exit 1
