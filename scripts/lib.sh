# Shared shell helpers for scripts/*.sh (sourced, not run).
vf_log() { printf '%s virtfleet: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
vf_die() { vf_log "ERROR: $*"; exit 1; }

# A pid is alive only if /proc/PID/stat says it is not a zombie: PID 1 here reaps late,
# so kill -0 alone sees dead daemons as alive (../shared/reference/libvirt-host.md §1).
vf_pid_alive() {
  local pid=$1 state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
vf_pidfile_alive() { [ -s "$1" ] && vf_pid_alive "$(cat "$1")"; }

# Send SIGTERM to the pid in a pidfile and wait up to $2 seconds (then SIGKILL).
vf_stop_pidfile() {
  local f=$1 grace=${2:-20} pid i
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if vf_pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do vf_pid_alive "$pid" || break; sleep 0.1; done
    if vf_pid_alive "$pid"; then vf_log "pid $pid ignored SIGTERM for ${grace}s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

vf_wait_for() {  # vf_wait_for SECONDS DESCRIPTION COMMAND...
  local t=$1 what=$2 i; shift 2
  for ((i = 0; i < t * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  vf_die "$what did not come up within ${t}s"
}

vf_pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
  command -v pg_ctl >/dev/null && dirname "$(readlink -f "$(command -v pg_ctl)")"
}

vf_random() { head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32; }
