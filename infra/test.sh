#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds, lints, runs tap.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-deps.sh --test
. infra/pg-path.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
# The test servers keep their data in memory when /dev/shm has room (packages/testkit/src/scratch.ts):
# copying a stack's Postgres there costs a fourteenth of the CPU it costs on disk.
if [ -z "${PARLEY_TEST_SCRATCH:-}" ] && [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -gt 2097152 ] 2>/dev/null; then
  export PARLEY_TEST_SCRATCH=/dev/shm/parley-tests
fi
npx tsc -p tsconfig.json
# Lint the whole tree (type-aware, zero warnings) unless the run names test files; tap then runs
# every test file (the unit files together, in infra/test/unit.test.ts), each in a process of its own.
if [ $# -eq 0 ]; then npm run lint --silent; fi
npx tap "$@"
