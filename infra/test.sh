#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds, runs tap.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-deps.sh
[ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund
npx tsc -b tsconfig.build.json
npx tsc -p tsconfig.json
npx tap "$@"
