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
npx tsc -p tsconfig.json
# The fast in-process tests first, then lint the whole tree (type-aware, zero warnings), unless the
# run names test files; tap then runs every test file, those included, each in a process of its own.
if [ $# -eq 0 ]; then
  unit=$(mktemp)
  node --import tsx infra/test/unit.ts >"$unit" || { cat "$unit"; echo "[test] the unit tests failed"; exit 1; }
  echo "[test] unit tests: $(grep -E '^# \{ total' "$unit")"
  rm -f "$unit"
  npm run lint --silent
fi
npx tap "$@"
