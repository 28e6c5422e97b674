# Sourced by the scripts: Debian installs PostgreSQL's server programs (initdb, postgres, pg_ctl)
# under /usr/lib/postgresql/<version>/bin, off PATH; put the newest there on PATH.
if ! command -v initdb >/dev/null 2>&1; then
  for pgbin in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1); do
    export PATH="$pgbin:$PATH"
  done
fi
