#!/usr/bin/env bash
# Installs the Debian packages Parley runs on when they are missing: redis-server, PostgreSQL and
# HAProxy; with --test also docker-compose (the suite validates docker-compose.yml), curl,
# chromium with a Chinese font for the browser test, and iptables (a network partition's test).
# As root it installs them with apt-get; otherwise it says exactly what to install. It downloads
# nothing else. Source infra/pg-path.sh afterwards to put PostgreSQL's programs on PATH.
set -euo pipefail
here=$(dirname "$0")
. "$here/pg-path.sh"
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v initdb >/dev/null && command -v postgres >/dev/null && command -v psql >/dev/null || missing+=(postgresql)
command -v haproxy >/dev/null || missing+=(haproxy)
if [ "${1:-}" = "--test" ]; then
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v curl >/dev/null || missing+=(curl) # the README tour, run by the cluster test
  command -v chromium >/dev/null || missing+=(chromium) # the /chat page's browser test (playwright-core drives it)
  fc-list 2>/dev/null | grep -qi 'wenquanyi' || missing+=(fonts-wqy-zenhei) # Chinese text in its screenshots
  command -v iptables >/dev/null || missing+=(iptables) # the Redis network-partition test cuts links with it
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "[parley] installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian's postgresql starts a cluster of its own on 5432; Parley runs its own clusters.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _; do pg_ctlcluster "$ver" "$name" stop || true; done
  fi
else
  echo "[parley] missing: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
