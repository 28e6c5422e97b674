#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds, runs tap.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-deps.sh --test
. infra/pg-path.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
npx tsc -p tsconfig.json
npx tap "$@"
