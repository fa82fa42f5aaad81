#!/usr/bin/env bash
# Starts and stops the services virtfleet runs on: PostgreSQL, Redis, and (when not already
# running) virtlogd + libvirtd under `tini -s`. Used by `npm run up` and by the test setup, so
# both start them the same way. Everything lives under --dir; `stop` stops only what `start`
# recorded there, by pid.
#
#   services.sh start --dir DIR [--pg-port N] [--redis-port N] [--no-libvirt] [--fast] [--only pg|redis|libvirt]
#   services.sh stop  --dir DIR [--only pg|redis|libvirt]
#   services.sh env   --dir DIR        # prints DATABASE_URL / REDIS_URL for the running services
#
# --fast: test settings (PostgreSQL fsync off, Redis without AOF). Never for real data.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

cmd=${1:-}; shift || true
DIR=""; PG_PORT=5433; REDIS_PORT=6380; LIBVIRT=1; FAST=0; ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --pg-port) PG_PORT=$2; shift 2 ;;
    --redis-port) REDIS_PORT=$2; shift 2 ;;
    --no-libvirt) LIBVIRT=0; shift ;;
    --fast) FAST=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    *) vf_die "unknown option $1" ;;
  esac
done
[ -n "$DIR" ] || vf_die "--dir is required"
mkdir -p "$DIR"; chmod 755 "$DIR"; DIR=$(cd "$DIR" && pwd)   # postgres must traverse it
RUN=$DIR/run; LOGS=$DIR/logs
mkdir -p "$RUN" "$LOGS"

secret() {  # secret NAME: a generated password kept in $DIR/secrets/NAME (0600)
  mkdir -p "$DIR/secrets"; chmod 700 "$DIR/secrets"
  [ -s "$DIR/secrets/$1" ] || (umask 077; vf_random > "$DIR/secrets/$1")
  cat "$DIR/secrets/$1"
}
pg_port() { cat "$DIR/pg.port" 2>/dev/null || echo "$PG_PORT"; }
redis_port() { cat "$DIR/redis.port" 2>/dev/null || echo "$REDIS_PORT"; }
database_url() { echo "postgresql://virtfleet:$(secret pg)@127.0.0.1:$(pg_port)/virtfleet"; }
redis_url() { echo "redis://:$(secret redis)@127.0.0.1:$(redis_port)"; }

# ------------------------------------------------------------------ PostgreSQL
start_pg() {
  local bin data=$DIR/pg pw
  bin=$(vf_pg_bindir); [ -n "$bin" ] || vf_die "PostgreSQL server binaries not found (scripts/ensure-deps.sh installs them)"
  pw=$(secret pg)
  if [ ! -s "$data/PG_VERSION" ]; then
    id postgres >/dev/null 2>&1 || vf_die "user postgres missing (the Debian postgresql package creates it)"
    runuser -u postgres -- test -x "$DIR" || vf_die "user postgres cannot enter $DIR: make its parent folders world-traversable"
    mkdir -p "$data"; chown postgres: "$data"; chmod 700 "$data"
    local pwfile; pwfile=$(mktemp); printf '%s\n' "$pw" > "$pwfile"; chown postgres: "$pwfile"
    runuser -u postgres -- "$bin/initdb" -D "$data" -U virtfleet --pwfile="$pwfile" --auth=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1 || { rm -f "$pwfile"; vf_die "initdb failed, see $LOGS/initdb.log"; }
    rm -f "$pwfile"
    {
      echo "# virtfleet"
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $PG_PORT"
      echo "unix_socket_directories = ''"
      echo "max_connections = 200"
      if [ "$FAST" = 1 ]; then echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"; fi
    } >> "$data/postgresql.conf"
    echo "$PG_PORT" > "$DIR/pg.port"
  fi
  touch "$LOGS/postgres.log"; chown postgres: "$LOGS/postgres.log"
  if runuser -u postgres -- "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    vf_log "PostgreSQL already running on port $(pg_port)"
  else
    runuser -u postgres -- "$bin/pg_ctl" start -D "$data" -l "$LOGS/postgres.log" -w -t 60 >/dev/null \
      || vf_die "PostgreSQL did not start, see $LOGS/postgres.log"
    head -1 "$data/postmaster.pid" > "$RUN/postgres.pid"
    vf_log "PostgreSQL started on 127.0.0.1:$(pg_port)"
  fi
  PGPASSWORD=$pw psql -h 127.0.0.1 -p "$(pg_port)" -U virtfleet -d postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname = 'virtfleet'" | grep -q 1 \
    || PGPASSWORD=$pw psql -h 127.0.0.1 -p "$(pg_port)" -U virtfleet -d postgres -qc "CREATE DATABASE virtfleet" >/dev/null
}

stop_pg() {
  local bin; bin=$(vf_pg_bindir)
  [ -f "$RUN/postgres.pid" ] || return 0
  if [ -n "$bin" ] && runuser -u postgres -- "$bin/pg_ctl" status -D "$DIR/pg" >/dev/null 2>&1; then
    runuser -u postgres -- "$bin/pg_ctl" stop -D "$DIR/pg" -m fast -w -t 60 >/dev/null && vf_log "PostgreSQL stopped"
  fi
  rm -f "$RUN/postgres.pid"
}

# ------------------------------------------------------------------ Redis
start_redis() {
  local conf=$DIR/redis/redis.conf
  mkdir -p "$DIR/redis"
  if vf_pidfile_alive "$RUN/redis.pid"; then vf_log "Redis already running on port $(redis_port)"; return; fi
  [ -f "$DIR/redis.port" ] || echo "$REDIS_PORT" > "$DIR/redis.port"
  # BullMQ needs noeviction; AOF (fsync every second) so a restart keeps queued work.
  (umask 077; cat > "$conf" <<CONF
bind 127.0.0.1
port $(redis_port)
protected-mode yes
daemonize yes
pidfile $RUN/redis.pid
logfile $LOGS/redis.log
dir $DIR/redis
requirepass $(secret redis)
maxmemory-policy noeviction
save ""
appendonly $([ "$FAST" = 1 ] && echo no || echo yes)
appendfsync everysec
CONF
)
  redis-server "$conf"
  vf_wait_for 20 Redis redis-cli -p "$(redis_port)" --no-auth-warning -a "$(secret redis)" ping
  vf_log "Redis started on 127.0.0.1:$(redis_port)"
}

stop_redis() {
  vf_stop_pidfile "$RUN/redis.pid" 20 && vf_log "Redis stopped"
}

# ------------------------------------------------------------------ libvirt
libvirt_answers() { timeout 60 virsh -c qemu:///system version >/dev/null 2>&1; }

# One starter at a time on this machine: two test runs, or a test run and npm run up, starting
# together would both start libvirtd, and the loser leaves a half-started one holding its lock files.
start_libvirt() {
  (
    flock -w 180 9 || vf_die "another start of libvirtd holds /run/virtfleet-libvirt-start.lock"
    start_libvirt_alone
  ) 9>/run/virtfleet-libvirt-start.lock
}

start_libvirt_alone() {
  if vf_pidfile_alive /run/libvirtd.pid; then vf_log "libvirtd already running (pid $(cat /run/libvirtd.pid)), leaving it alone"; return; fi
  if [ -d /run/systemd/system ]; then
    systemctl start virtlogd libvirtd; vf_log "libvirtd started by systemd"; return
  fi
  # No systemd: run both daemons in the foreground under a subreaper (tini -s), so QEMU
  # processes they leave are reaped at once (virsh destroy 0.23 s instead of 1.6 s, §15).
  local d
  for d in virtlogd libvirtd; do
    if [ "$d" = virtlogd ] && vf_pidfile_alive /run/virtlogd.pid; then continue; fi
    rm -f "/run/$d.pid"
    setsid tini -s -- "$d" >>"$LOGS/$d.log" 2>&1 < /dev/null 9>&- &  # the daemons must not hold the start lock
    echo $! > "$RUN/$d.tini.pid"
    vf_wait_for 20 "$d" vf_pidfile_alive "/run/$d.pid"
  done
  local t0=$SECONDS
  vf_wait_for 120 "libvirt (qemu:///system)" libvirt_answers
  vf_log "libvirtd started under tini, answering after $((SECONDS - t0))s"
}

stop_libvirt() {
  # libvirtd first: it talks to virtlogd while it shuts down.
  vf_stop_pidfile "$RUN/libvirtd.tini.pid" 30 && vf_stop_pidfile "$RUN/virtlogd.tini.pid" 10
}

want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
case "$cmd" in
  start)
    if want pg; then start_pg; fi
    if want redis; then start_redis; fi
    if [ "$LIBVIRT" = 1 ] && want libvirt; then start_libvirt; fi
    exit 0
    ;;
  stop)
    if want libvirt; then stop_libvirt; fi
    if want redis; then stop_redis; fi
    if want pg; then stop_pg; fi
    exit 0
    ;;
  env)
    echo "DATABASE_URL=$(database_url)"
    echo "REDIS_URL=$(redis_url)"
    ;;
  *) vf_die "usage: services.sh start|stop|env --dir DIR [...]" ;;
esac
