#!/usr/bin/env bash
# npm run screenshots: installs what it needs (as npm test does: Debian's Chromium among it),
# builds (the web console into dist/web), then scripts/screenshots.mjs starts services and a fleet
# of its own, fills it, and saves a PNG of every console page in docs/screenshots/ (docs/web.md).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$root"

[ "$(id -u)" = 0 ] || vf_die "run as root: the fleet's agent drives libvirt (qemu:///system)"
bash "$here/ensure-deps.sh" || vf_die "could not install what the screenshots need"
export NX_DAEMON=false NX_NO_CLOUD=true CHECKPOINT_DISABLE=1
node scripts/build.mjs >/dev/null || vf_die "build failed"
exec node --enable-source-maps scripts/screenshots.mjs "$@"
