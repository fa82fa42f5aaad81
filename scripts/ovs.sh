#!/usr/bin/env bash
# Starts and stops Open vSwitch (Debian package openvswitch-switch) for the OVS network tests.
#
#   ovs.sh start    # ovsdb-server + ovs-vswitchd, when not already running (creates the DB if needed)
#   ovs.sh stop
#   ovs.sh status   # exit 0 when OVS is usable (both daemons up and answering)
#
# Why: the test machines have no systemd and no openvswitch kernel module (the kernel is built
# without CONFIG_OPENVSWITCH), so only the userspace datapath works: create bridges with
#   ovs-vsctl add-br BR -- set bridge BR datapath_type=netdev
# A bridge without it fails ("failed to open datapath of type system" in ovs-vswitchd.log).
# Taps are added to a netdev bridge as ordinary ports, which is what libvirt does for
# <virtualport type='openvswitch'/>. The package's init script (/etc/init.d/openvswitch-switch,
# ovs-ctl) also starts here, but leaves --detach --monitor daemons to PID 1 and mlockall()s
# ovs-vswitchd; this script starts the two daemons itself instead, with the same files.
# ovsdb-server listens on the DEFAULT socket unix:/var/run/openvswitch/db.sock because libvirtd runs
# plain `ovs-vsctl` (no --db) when it plugs a VM's tap into an OVS bridge. DB, pid files and logs are
# where the Debian package keeps them (/etc/openvswitch/conf.db -> /var/lib/openvswitch/conf.db,
# /var/run/openvswitch, /var/log/openvswitch), so ovs-vsctl / ovs-appctl work without options.
# Both daemons run in the foreground under `tini -s` (like libvirtd in services.sh): PID 1 here
# reaps late, and tini reaps them as soon as they exit.
# userspace-tso-enable=true: without it the userspace datapath forwarded checksum-offloaded packets
# between two veth ports with bad checksums and the receiver dropped them (UDP InCsumErrors); with it
# UDP and TCP passed. (Guest-to-guest traffic over virtio taps was not tested.)
# On a host with systemd the package's own service is used instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUN=/var/run/openvswitch
LOGS=/var/log/openvswitch
DB=/etc/openvswitch/conf.db
SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
SOCK=$RUN/db.sock
DAEMONS=(ovsdb-server ovs-vswitchd)

have_systemd() { [ -d /run/systemd/system ]; }
db_answers() { ovs-vsctl --db="unix:$SOCK" --timeout=5 --no-wait show >/dev/null 2>&1; }
vswitchd_answers() { ovs-appctl --timeout=5 -t ovs-vswitchd version >/dev/null 2>&1; }
running() { vf_pidfile_alive "$RUN/$1.pid"; }

# wait_or_explain SECONDS NAME COMMAND...: like vf_wait_for, but on failure shows why (daemon gone or
# not answering) with the end of its logs, and returns 1 instead of exiting.
wait_or_explain() {
  local t=$1 name=$2 i; shift 2
  for ((i = 0; i < t * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    vf_pidfile_alive "$RUN/$name.tini.pid" || running "$name" || break   # it died: no point waiting
    sleep 0.1
  done
  if running "$name"; then vf_log "ERROR: $name (pid $(cat "$RUN/$name.pid")) runs but does not answer after ${t}s"
  else vf_log "ERROR: $name is not running"; fi
  { tail -n 3 "$LOGS/$name.out"; tail -n 8 "$LOGS/$name.log"; } 2>/dev/null | sed 's/^/    /' >&2
  return 1
}

check_host() {
  [ "$(id -u)" = 0 ] || vf_die "must run as root"
  { command -v ovs-vswitchd && command -v ovsdb-server; } >/dev/null \
    || vf_die "Open vSwitch missing: apt-get install --no-install-recommends openvswitch-switch"
  command -v tini >/dev/null || vf_die "tini missing (scripts/ensure-deps.sh installs it)"
  [ -c /dev/net/tun ] || vf_die "/dev/net/tun missing: the userspace datapath needs tap devices"
}

spawn() {  # spawn NAME ARGS...: run a daemon in the foreground under tini, in its own session
  local name=$1 f pid; shift
  rm -f "$RUN/$name.pid"
  for f in "$RUN/$name".*.ctl; do   # control sockets left by a killed instance
    [ -e "$f" ] || continue
    pid=${f%.ctl}; pid=${pid##*.}
    vf_pid_alive "$pid" || rm -f "$f"
  done
  setsid tini -s -- "$name" "$@" --pidfile="$RUN/$name.pid" --log-file="$LOGS/$name.log" -vconsole:off \
    >>"$LOGS/$name.out" 2>&1 </dev/null &
  echo $! > "$RUN/$name.tini.pid"
}

start_db() {
  if running ovsdb-server || db_answers; then
    vf_log "ovsdb-server already running (pid $(cat "$RUN/ovsdb-server.pid" 2>/dev/null || echo '?'))"
  else
    if [ ! -s "$DB" ]; then
      ovsdb-tool create "$DB" "$SCHEMA" || vf_die "ovsdb-tool create $DB failed"
      vf_log "created $DB"
    elif ! ovsdb-tool db-version "$DB" >/dev/null; then
      vf_die "$DB is not a usable OVSDB file; move it away and run start again to create a new one"
    elif [ "$(ovsdb-tool needs-conversion "$DB" "$SCHEMA")" = yes ]; then
      ovsdb-tool convert "$DB" "$SCHEMA" || vf_die "ovsdb-tool convert $DB failed"
      vf_log "converted $DB to the installed schema"
    fi
    spawn ovsdb-server "$DB" --remote="punix:$SOCK" --remote=db:Open_vSwitch,Open_vSwitch,manager_options
  fi
  wait_or_explain 20 ovsdb-server db_answers || exit 1
  ovs-vsctl --no-wait init
  ovs-vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
}

start_vswitchd() {
  if running ovs-vswitchd; then
    vf_log "ovs-vswitchd already running (pid $(cat "$RUN/ovs-vswitchd.pid"))"
  else
    spawn ovs-vswitchd "unix:$SOCK"
  fi
  wait_or_explain 20 ovs-vswitchd vswitchd_answers || exit 1
}

stop_daemon() {  # stop_daemon NAME: ask it to exit, then signal it (and its tini) if it does not
  local name=$1 pid i
  if running "$name"; then
    pid=$(cat "$RUN/$name.pid")
    ovs-appctl --timeout=5 -t "$name" exit >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do vf_pid_alive "$pid" || break; sleep 0.1; done
    if vf_pid_alive "$pid"; then vf_log "$name (pid $pid) did not exit in 10s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    vf_log "$name stopped"
  fi
  vf_stop_pidfile "$RUN/$name.tini.pid" 5
  rm -f "$RUN/$name.pid"
}

status() {
  local rc=0 d br dp
  for d in "${DAEMONS[@]}"; do
    if running "$d"; then echo "$d: running (pid $(cat "$RUN/$d.pid"))"; else echo "$d: not running"; rc=1; fi
  done
  if db_answers; then echo "ovsdb: answering on unix:$SOCK"; else echo "ovsdb: not answering on unix:$SOCK"; rc=1; fi
  if vswitchd_answers; then echo "ovs-vswitchd: answering ($(ovs-appctl -t ovs-vswitchd version | head -1))"
  else echo "ovs-vswitchd: not answering"; rc=1; fi
  if [ $rc = 0 ]; then
    for br in $(ovs-vsctl list-br); do
      dp=$(ovs-vsctl get bridge "$br" datapath_type | tr -d '"')
      if [ "$dp" = netdev ]; then echo "bridge $br: datapath_type=netdev"
      else echo "bridge $br: datapath_type=${dp:-system} (needs the missing kernel module; use datapath_type=netdev)"; fi
    done
  fi
  return $rc
}

cmd=${1:-}
case "$cmd" in
  start)
    if have_systemd; then systemctl start openvswitch-switch; vf_log "Open vSwitch started by systemd"; exit 0; fi
    check_host
    mkdir -p "$RUN" "$LOGS" /var/lib/openvswitch
    t0=$SECONDS
    start_db
    start_vswitchd
    vf_log "Open vSwitch running (userspace datapath, unix:$SOCK) after $((SECONDS - t0))s"
    ;;
  stop)
    if have_systemd; then systemctl stop openvswitch-switch; exit 0; fi
    stop_daemon ovs-vswitchd   # first: it keeps a connection to the DB
    stop_daemon ovsdb-server
    ;;
  status)
    status
    ;;
  *) vf_die "usage: ovs.sh start|stop|status" ;;
esac
