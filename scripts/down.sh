#!/usr/bin/env bash
# npm run down: stops what `npm run up` started, and only that (by the pids it recorded).
# VIRTFLEET_DIR: the fleet `npm run up` started with the same VIRTFLEET_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
# shellcheck source=lib.sh
. "$here/lib.sh"
VF=${VIRTFLEET_DIR:-$root/.virtfleet}
[ -d "$VF/run" ] || { vf_log "nothing to stop"; exit 0; }
vf_stop_pidfile "$VF/run/agent.pid" 40   # the agent finishes running jobs within its grace period
vf_stop_pidfile "$VF/run/api.pid" 20
bash "$here/services.sh" stop --dir "$VF"
vf_log "down"
