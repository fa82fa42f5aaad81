#!/usr/bin/env bash
# npm test: typecheck, lint, build, then every Jest test (unit, integration against real
# PostgreSQL + Redis, end-to-end against a real libvirtd), started and stopped by the test setup.
# The last line is the whole run's totals: "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$root"

bash "$here/ensure-deps.sh" || { echo "0 passed, 1 failed"; exit 1; }
export NX_DAEMON=false NX_NO_CLOUD=true CHECKPOINT_DISABLE=1

passed=0; failed=0
check() {  # check NAME COMMAND...: one line per check, counted in the totals
  local name=$1 t0=$SECONDS; shift
  if "$@"; then passed=$((passed + 1)); vf_log "$name: ok ($((SECONDS - t0))s)"
  else failed=$((failed + 1)); vf_log "$name: FAILED"; fi
}
check typecheck npm run -s typecheck   # the Node projects, then the web console (apps/web/tsconfig.json)
check lint npm run -s lint
check build node scripts/build.mjs

report=$(mktemp); trap 'rm -f "$report"' EXIT
# --forceExit: a failing test that leaves a socket open must fail the run, not hang CI for 90 minutes.
npx jest --ci --forceExit --json --outputFile="$report" "$@"
jest_rc=$?
read -r jp jf < <(node -e '
  try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const broken = r.testResults.filter((t) => t.status === "failed" && t.assertionResults.length === 0).length;
        console.log(r.numPassedTests, r.numFailedTests + broken); }
  catch { console.log(0, 1); }' "$report")
[ "$jest_rc" = 0 ] || [ "$jf" -gt 0 ] || jf=1   # jest failed without a failing test (setup error)
passed=$((passed + jp)); failed=$((failed + jf))
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
