#!/usr/bin/env bash
# npm run up: brings up the whole fleet on this machine: PostgreSQL, Redis, libvirtd, the API
# and one local agent registered as a host. Safe to run again: it starts only what is not running.
# Data, logs and credentials live under .virtfleet/ in the checkout (VIRTFLEET_DIR: elsewhere, for a
# second fleet on one machine, as the web console's end-to-end test runs one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$root"

[ "$(id -u)" = 0 ] || vf_die "run as root: the agent drives libvirt (qemu:///system) and the fleet may install Debian packages"
VF=${VIRTFLEET_DIR:-$root/.virtfleet}
API_HOST=${VIRTFLEET_API_HOST:-127.0.0.1}
API_PORT=${VIRTFLEET_API_PORT:-8080}
PG_PORT=${VIRTFLEET_PG_PORT:-5433}
REDIS_PORT=${VIRTFLEET_REDIS_PORT:-6380}
STORE=${VIRTFLEET_STORAGE_ROOT:-/var/lib/virtfleet/store}
HOST_NAME=${VIRTFLEET_HOST_NAME:-$(hostname -s | tr 'A-Z_.' 'a-z--' | tr -cd 'a-z0-9-' | sed 's/^-*//' | cut -c1-63)}
[ -n "$HOST_NAME" ] || HOST_NAME=local
URL=http://127.0.0.1:$API_PORT
t0=$SECONDS

bash "$here/ensure-deps.sh"
node "$here/build.mjs" >/dev/null
mkdir -p "$VF/run" "$VF/logs"; chmod 755 "$VF"
bash "$here/services.sh" start --dir "$VF" --pg-port "$PG_PORT" --redis-port "$REDIS_PORT"
eval "$(bash "$here/services.sh" env --dir "$VF" | sed 's/^/export /')"

# The bootstrap admin token: generated once, registered by the API at every boot.
[ -s "$VF/admin-token" ] || (umask 077; printf 'vfa_%s\n' "$(vf_random)$(vf_random)" > "$VF/admin-token")
(umask 077; cat > "$VF/env" <<ENV
# written by npm run up; source it to talk to this fleet
export VIRTFLEET_URL=$URL
export VIRTFLEET_TOKEN=\$(cat $VF/admin-token)
export DATABASE_URL='$DATABASE_URL'
export REDIS_URL='$REDIS_URL'
ENV
)

CHECKPOINT_DISABLE=1 npx prisma migrate deploy >"$VF/logs/migrate.log" 2>&1 || vf_die "migrations failed, see $VF/logs/migrate.log"

start_node() {  # start_node NAME SCRIPT [ENV=VALUE...]
  local name=$1 script=$2; shift 2
  if vf_pidfile_alive "$VF/run/$name.pid"; then vf_log "$name already running (pid $(cat "$VF/run/$name.pid"))"; return; fi
  env "$@" setsid node --enable-source-maps "$script" >>"$VF/logs/$name.log" 2>&1 </dev/null &
  echo $! > "$VF/run/$name.pid"
  vf_log "$name started (pid $!, log $VF/logs/$name.log)"
}

start_node api dist/apps/api/src/main.js \
  DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" VIRTFLEET_API_HOST="$API_HOST" VIRTFLEET_API_PORT="$API_PORT" \
  VIRTFLEET_ADMIN_TOKEN_FILE="$VF/admin-token"
node "$here/fleet-helper.mjs" wait-ready "$URL" 60 || vf_die "API not ready, see $VF/logs/api.log"

# The local host enrolls like any other: a one-time join token, then `virtfleet-agent enroll`,
# which writes its own credentials (agent token, a Redis user limited to its queue) to agent.json.
if [ ! -s "$VF/agent.json" ]; then
  join=$(node "$here/fleet-helper.mjs" join-token "$URL" "$VF/admin-token") || vf_die "could not make a join token"
  node dist/apps/agent/src/main.js enroll --api "$URL" --token "$join" --name "$HOST_NAME" \
    --config "$VF/agent.json" --storage-root "$STORE" --labels virtfleet.io/local=true >&2 \
    || vf_die "could not enroll the local host"
fi
start_node agent dist/apps/agent/src/main.js VIRTFLEET_AGENT_CONFIG="$VF/agent.json"
node "$here/fleet-helper.mjs" wait-online "$URL" "$VF/admin-token" "$VF/agent.json" 90 || vf_die "agent did not come online, see $VF/logs/agent.log"

cat <<DONE

virtfleet is up ($((SECONDS - t0))s).
  API          $URL   (OpenAPI: $URL/docs)
  admin token  $VF/admin-token
  environment  source $VF/env
  logs         $VF/logs/
  try          curl -H "Authorization: Bearer \$(cat $VF/admin-token)" $URL/v1/hosts
  stop         ${VIRTFLEET_DIR:+VIRTFLEET_DIR=$VF }npm run down
DONE
