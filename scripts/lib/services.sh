# Sourced by scripts/test.sh and scripts/bench.sh: install what is missing, then start
# PostgreSQL and Redis on loopback in a throwaway directory and export their URLs.
# They are stopped (and the directory removed) when the calling script exits.

log() { printf '==> %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "installing $*"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

install_servers() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
    apt_install postgresql
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  install_test_packages
}

# What the page and export tests need: Debian's Chromium and its driver (never a downloaded
# browser), and pango with a font for PDF rendering.
TEST_PACKAGES=(chromium chromium-driver libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
  fonts-dejavu-core)

install_test_packages() {
  local missing=()
  for package in "${TEST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# PostgreSQL refuses to run as root: run it as the postgres user when we are root.
run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_servers() {
  run_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
  if [ -f "$work/redis.pid" ]; then kill "$(cat "$work/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}

start_servers() {
  install_servers
  work=$(mktemp -d /tmp/recomamp-servers.XXXXXX)
  chmod 755 "$work"
  local free_port='import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  pg_port=$(python3 -c "$free_port")
  redis_port=$(python3 -c "$free_port")
  mkdir -p "$work/pg"
  if [ "$(id -u)" = 0 ]; then chown postgres "$work/pg"; fi

  log "starting PostgreSQL on 127.0.0.1:$pg_port"
  run_pg "$pg_bin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
  pg_options="-h 127.0.0.1 -p $pg_port -k $work/pg -c fsync=off -c synchronous_commit=off \
    -c full_page_writes=off -c max_connections=300"
  run_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start -o "$pg_options" >/dev/null
  run_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres recomamp

  log "starting Redis on 127.0.0.1:$redis_port"
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$work" --pidfile "$work/redis.pid" --daemonize yes --logfile "$work/redis.log"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/recomamp"
  export CELERY_BROKER_URL="redis://127.0.0.1:$redis_port/0"
  # Fault tests restart Redis on the same port with these.
  export RECOMAMP_TEST_REDIS_PORT="$redis_port"
  export RECOMAMP_TEST_REDIS_PIDFILE="$work/redis.pid"
  export RECOMAMP_TEST_REDIS_DIR="$work"
  export RECOMAMP_VAR_DIR="$work/var"
  # Readiness tests stop and start PostgreSQL with these.
  export RECOMAMP_TEST_PG_CTL="$pg_bin/pg_ctl"
  export RECOMAMP_TEST_PG_DATA="$work/pg/data"
  export RECOMAMP_TEST_PG_LOG="$work/pg/log"
  export RECOMAMP_TEST_PG_OPTIONS="$pg_options"
}
