#!/usr/bin/env bash
# npm run bench [-- NAME… | --smoke]: installs what it needs (as npm test does), builds, then runs
# the benchmarks in bench/ on services of their own (PostgreSQL, Redis, libvirtd in a temp
# folder). Each prints a markdown table and writes bench/results/NAME-TIME.json (docs/performance.md).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$root"

bash "$here/ensure-deps.sh" || vf_die "could not install what the benchmarks need"
export NX_DAEMON=false NX_NO_CLOUD=true CHECKPOINT_DISABLE=1
node scripts/build.mjs >/dev/null || vf_die "build failed"
exec node --enable-source-maps dist/bench/main.js "$@"
