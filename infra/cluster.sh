#!/usr/bin/env bash
# The whole Parley topology on one machine, without Docker:
# Redis (AOF), Postgres, migrations, persisters, gateways and HAProxy in front of them.
#
#   infra/cluster.sh start      build (if a source changed), start everything, stay in the foreground
#                               (Ctrl-C stops all)
#   infra/cluster.sh stop       stop a cluster started from another terminal
#   infra/cluster.sh status     what is running
#   infra/cluster.sh topology   the topology as JSON (compared with docker-compose.yml by a test)
#
# Settings (environment): GATEWAYS (3), PERSISTERS (2), LB_PORT (8080), GATEWAY_PORTS (a comma-
# separated list; default 3001, 3002, …), REDIS_PORT (6380), REDIS_SHARDS (0: one Redis server; N: a
# Redis Cluster of N masters), REDIS_REPLICAS (replicas of each master, 2: a promoted master keeps one,
# so one dead node stops no writes; nodes on REDIS_PORT … REDIS_PORT + N × (1 + R) - 1), PG_PORT (5433),
# METRICS_PORT_BASE (9465), APPENDFSYNC (everysec | always), PARLEY_DATA (the git-ignored .data/ in
# the project). Data persists across restarts in PARLEY_DATA.
# -E: the ERR trap (which names what failed) fires inside functions too.
set -eEuo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GATEWAYS=${GATEWAYS:-3}
PERSISTERS=${PERSISTERS:-2}
LB_PORT=${LB_PORT:-8080}
REDIS_PORT=${REDIS_PORT:-6380}
REDIS_SHARDS=${REDIS_SHARDS:-0}
REDIS_REPLICAS=${REDIS_REPLICAS:-2}
PG_PORT=${PG_PORT:-5433}
# Persister n serves its Prometheus metrics on METRICS_PORT_BASE + n - 1 (0: each on a free port, logged).
METRICS_PORT_BASE=${METRICS_PORT_BASE:-9465}
APPENDFSYNC=${APPENDFSYNC:-everysec}
PARLEY_DATA=${PARLEY_DATA:-$ROOT/.data}
RUN=$PARLEY_DATA/run
LOGS=$PARLEY_DATA/logs
HOST=127.0.0.1

if [ -n "${GATEWAY_PORTS:-}" ]; then
  IFS=, read -r -a gateway_ports <<<"$GATEWAY_PORTS"
  GATEWAYS=${#gateway_ports[@]}
else
  gateway_ports=()
  for ((i = 0; i < GATEWAYS; i++)); do gateway_ports+=($((3001 + i))); done
fi

. "$ROOT/infra/pg-path.sh"

say() { printf '[parley] %s\n' "$*"; }
die() { printf '[parley] error: %s\n' "$*" >&2; exit 1; }

# Services run in their own sessions (setsid; pg_ctl does the same), so that Ctrl-C reaches only
# this script, which then stops them in order.

# PostgreSQL refuses to run as root: as root, its commands run as the postgres system user, from /
# (initdb fails in a working directory it cannot enter).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# Runs a step whose output goes to a log; when it fails, says which step, shows the log's end and where it is.
logged() {
  local what=$1 log=$2; shift 2
  if ! "$@" >"$log" 2>&1; then
    printf '[parley] error: %s failed; the end of %s:\n' "$what" "$log" >&2
    tail -n 15 "$log" | sed 's/^/[parley]   /' >&2
    exit 1
  fi
}

# Polls until a command succeeds; for services that announce readiness only by answering.
wait_until() {
  local what=$1 tries=$2; shift 2
  for ((n = 0; n < tries; n++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "$what did not come up"
}

http_ok() { node -e "fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "$1"; }

topology() {
  cat <<EOF
{"gateways":$GATEWAYS,"persisters":$PERSISTERS,"redis_conf":"infra/redis.conf","appendfsync":"$APPENDFSYNC","haproxy_cfg":"infra/haproxy/haproxy.cfg","migrate":true,"load_balancer":"haproxy"}
EOF
}

start_redis() {
  if [ "$REDIS_SHARDS" -gt 0 ]; then start_redis_cluster; return; fi
  mkdir -p "$PARLEY_DATA/redis"
  setsid redis-server "$ROOT/infra/redis.conf" --port "$REDIS_PORT" --bind "$HOST" --dir "$PARLEY_DATA/redis" \
    --appendfsync "$APPENDFSYNC" >"$LOGS/redis.log" 2>&1 &
  echo $! >"$RUN/redis.pid"
  wait_until "Redis (its log: $LOGS/redis.log)" 100 redis-cli -h "$HOST" -p "$REDIS_PORT" ping
  say "redis     $HOST:$REDIS_PORT (AOF, appendfsync $APPENDFSYNC)"
}

# How many Redis nodes the cluster has: REDIS_SHARDS masters and REDIS_REPLICAS replicas of each.
redis_node_count() {
  echo $((REDIS_SHARDS * (1 + REDIS_REPLICAS)))
}

# The nodes of the Redis Cluster: host:port of each, masters first as `redis-cli --cluster create` pairs them.
redis_nodes() {
  local nodes=()
  for ((i = 0; i < $(redis_node_count); i++)); do nodes+=("$HOST:$((REDIS_PORT + i))"); done
  echo "${nodes[*]}"
}

# Every node that is a master has a replica that acknowledged it lately (min-replicas-max-lag).
replicas_in_sync() {
  local i info
  for ((i = 0; i < $(redis_node_count); i++)); do
    info=$(redis-cli -h "$HOST" -p $((REDIS_PORT + i)) info replication)
    if grep -q 'role:master' <<<"$info" && ! grep -qE 'min_slaves_good_slaves:[1-9]' <<<"$info"; then return 1; fi
  done
}

# REDIS_SHARDS masters with REDIS_REPLICAS replicas each; formed once, then kept in PARLEY_DATA
# (nodes.conf, AOF). Writes need a replica in sync (min-replicas-to-write 1), so a master needs at
# least one replica, and two for one dead node not to stop writes: the promoted replica keeps the
# other (Redis Cluster moves a dead master's remaining replicas to the one promoted).
start_redis_cluster() {
  local i port nodes count
  if ! [[ "$REDIS_REPLICAS" =~ ^[1-9][0-9]*$ ]]; then
    die "REDIS_REPLICAS must be 1 or more (writes wait for a replica: min-replicas-to-write 1); it is '$REDIS_REPLICAS'"
  fi
  count=$(redis_node_count)
  for ((i = 1; i <= count; i++)); do
    port=$((REDIS_PORT + i - 1))
    mkdir -p "$PARLEY_DATA/redis-$i"
    setsid redis-server "$ROOT/infra/redis.conf" --port "$port" --bind "$HOST" --dir "$PARLEY_DATA/redis-$i" \
      --appendfsync "$APPENDFSYNC" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --min-replicas-to-write 1 >"$LOGS/redis-$i.log" 2>&1 &
    echo $! >"$RUN/redis-$i.pid"
  done
  for ((i = 1; i <= count; i++)); do
    wait_until "Redis node $i (its log: $LOGS/redis-$i.log)" 100 redis-cli -h "$HOST" -p $((REDIS_PORT + i - 1)) ping
  done
  nodes=$(redis_nodes)
  if ! redis-cli -h "$HOST" -p "$REDIS_PORT" cluster info | grep -q 'cluster_known_nodes:'"$count"; then
    # shellcheck disable=SC2086 # one argument per node
    logged "forming the Redis Cluster" "$LOGS/redis-create.log" redis-cli --cluster create $nodes --cluster-replicas "$REDIS_REPLICAS" --cluster-yes
  fi
  wait_until "the Redis Cluster (cluster_state:ok)" 150 sh -c "redis-cli -h $HOST -p $REDIS_PORT cluster info | grep -q cluster_state:ok"
  # Writes are refused (min-replicas-to-write 1) until a replica of each master has synced.
  wait_until "each Redis master's replica" 300 replicas_in_sync
  say "redis     cluster of $REDIS_SHARDS masters × $REDIS_REPLICAS replicas on $HOST:$REDIS_PORT-$((REDIS_PORT + count - 1)) (AOF, appendfsync $APPENDFSYNC)"
}

# Where Postgres keeps its data and log: in PARLEY_DATA, unless (as root) the postgres user cannot
# enter it, as in a clone under root's own 0700 home or a mktemp -d directory. Then they live in a
# directory of the postgres user's own, one per PARLEY_DATA, and PARLEY_DATA/postgres and
# logs/postgres.log are links to them (root follows them; the postgres user never needs to).
postgres_home() {
  if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$PARLEY_DATA"; then
    echo "$PARLEY_DATA"
    return
  fi
  local home
  home=$(getent passwd postgres | cut -d: -f6)
  home="${home:-/var/lib/postgresql}/parley-$(printf %s "$PARLEY_DATA" | sha256sum | cut -c1-12)"
  mkdir -p "$home/logs"
  chown postgres:postgres "$home" "$home/logs"
  [ -e "$PARLEY_DATA/postgres" ] || ln -s "$home/postgres" "$PARLEY_DATA/postgres"
  ln -sfn "$home/logs/postgres.log" "$LOGS/postgres.log"
  echo "$home"
}

start_postgres() {
  local home pgdata pglog
  home=$(postgres_home)
  pgdata=$home/postgres
  pglog=$home/logs/postgres.log
  [ "$home" = "$PARLEY_DATA" ] || say "postgres  data in $pgdata (the postgres user cannot enter $PARLEY_DATA)"
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    mkdir -p "$pgdata"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgdata"
    chmod 700 "$pgdata"
    # Trust on loopback only: this is a development cluster on one machine.
    logged "initdb" "$LOGS/initdb.log" as_pg initdb -D "$pgdata" -U parley --auth=trust --encoding=UTF8 --locale=C.UTF-8
  fi
  touch "$pglog"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pglog"
  logged "postgres (pg_ctl start; its server log is $pglog)" "$LOGS/pg_ctl.log" as_pg pg_ctl start -w -D "$pgdata" -l "$pglog" \
    -o "-p $PG_PORT -c listen_addresses=$HOST -c unix_socket_directories=''"
  psql -h "$HOST" -p "$PG_PORT" -U parley -d postgres -tAc "select 1 from pg_database where datname = 'parley'" | grep -q 1 ||
    psql -h "$HOST" -p "$PG_PORT" -U parley -d postgres -qc "create database parley" >/dev/null
  say "postgres  $HOST:$PG_PORT"
}

start_node() { # name, script, then env assignments
  local name=$1 script=$2; shift 2
  setsid env "$@" node "$ROOT/$script" >"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

start_haproxy() {
  {
    echo "backend gateways"
    for ((i = 0; i < GATEWAYS; i++)); do echo "    server gateway-$((i + 1)) $HOST:${gateway_ports[$i]} check"; done
  } >"$RUN/haproxy-backend.cfg"
  LB_BIND="$HOST:$LB_PORT" setsid haproxy -db -f "$ROOT/infra/haproxy/haproxy.cfg" -f "$RUN/haproxy-backend.cfg" >"$LOGS/haproxy.log" 2>&1 &
  echo $! >"$RUN/haproxy.pid"
  wait_until "HAProxy (its log: $LOGS/haproxy.log)" 100 http_ok "http://$HOST:$LB_PORT/health/ready"
  say "haproxy   http://$HOST:$LB_PORT (leastconn over $GATEWAYS gateways)"
}

# Stops one process by pid file and waits for it; SIGKILL after 15 s.
stop_pid() {
  local name=$1 pid
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((n = 0; n < 150; n++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$RUN/$name.pid"
}

# In order: the load balancer, the gateways, the persisters (each finishes its batch), Redis, Postgres.
stop_all() {
  trap - INT TERM EXIT
  say "stopping"
  stop_pid haproxy
  stop_group gateway "$GATEWAYS"
  stop_group persister "$PERSISTERS"
  stop_pid redis
  # A Redis Cluster's nodes, however many the cluster that is stopping had.
  for f in "$RUN"/redis-*.pid; do [ -e "$f" ] && stop_pid "$(basename "$f" .pid)"; done
  if [ -f "$PARLEY_DATA/postgres/postmaster.pid" ]; then
    as_pg pg_ctl stop -w -m fast -D "$(readlink -f "$PARLEY_DATA/postgres")" >/dev/null 2>&1 || true
  fi
  rm -f "$RUN/cluster.pid"
  say "stopped"
}

# Stops name-1 … name-N in parallel and waits for all of them.
stop_group() {
  local stoppers=()
  for ((i = 1; i <= $2; i++)); do
    stop_pid "$1-$i" &
    stoppers+=($!)
  done
  for pid in "${stoppers[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# Builds (npm run build: tsc -b, the chat page) unless nothing has changed since the last build: a
# restart, or a start after the test suite built, then starts at once. A source, config or lock
# file newer than the stamp that build leaves, or a service's dist missing, means a build.
build() {
  local stamp=$ROOT/node_modules/.parley-built
  if [ -f "$stamp" ] && [ -f "$ROOT/services/gateway/dist/bundle/main.js" ] && [ -f "$ROOT/services/persister/dist/bundle/main.js" ] &&
    [ -f "$ROOT/packages/cli/dist/main.js" ] && [ -z "$(find "$ROOT/packages" "$ROOT/services" "$ROOT"/tsconfig*.json "$ROOT/package-lock.json" \
      \( -name node_modules -o -name dist \) -prune -o -type f -newer "$stamp" -print -quit)" ]; then
    say "build     up to date"
    return
  fi
  (cd "$ROOT" && npm run build --silent)
}

start() {
  alive cluster && die "a cluster is already running from $PARLEY_DATA (pid $(cat "$RUN/cluster.pid")); run: infra/cluster.sh stop"
  bash "$ROOT/infra/install-deps.sh"
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    (cd "$ROOT" && npm ci --no-audit --no-fund)
  fi
  build
  mkdir -p "$RUN" "$LOGS"
  # The postgres user must reach its data directory inside PARLEY_DATA.
  [ "$(id -u)" -eq 0 ] && chmod a+x "$PARLEY_DATA"
  echo $$ >"$RUN/cluster.pid"
  # Whatever ends this script (Ctrl-C, stop, a service that fails to come up) stops everything.
  trap 'exit 0' INT TERM
  trap 'stop_all' EXIT
  trap 'say "error: \`$BASH_COMMAND\` failed (line $LINENO of infra/cluster.sh); logs in $LOGS" >&2' ERR

  local secret_file=$PARLEY_DATA/jwt-secret
  if [ -z "${JWT_SECRET:-}" ]; then
    [ -f "$secret_file" ] || (umask 077 && node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))" >"$secret_file")
    JWT_SECRET=$(cat "$secret_file")
  fi
  local redis_target="REDIS_URL=redis://$HOST:$REDIS_PORT"
  [ "$REDIS_SHARDS" -gt 0 ] && redis_target="REDIS_CLUSTER_NODES=$(redis_nodes | tr ' ' ,)"
  local common=("$redis_target" DATABASE_URL="postgres://parley@$HOST:$PG_PORT/parley" LOG_LEVEL="${LOG_LEVEL:-info}")

  start_redis
  start_postgres
  env "${common[@]}" node "$ROOT/packages/cli/dist/main.js" migrate | sed 's/^/[parley] migrate   /'
  for ((i = 1; i <= PERSISTERS; i++)); do
    start_node "persister-$i" services/persister/dist/bundle/main.js "${common[@]}" PERSISTER_CONSUMER="persister-$i" METRICS_HOST="$HOST" METRICS_PORT=$((METRICS_PORT_BASE ? METRICS_PORT_BASE + i - 1 : 0))
  done
  # The demo signs its users in with development tokens; a production run must name them to get them (and is refused).
  local dev_tokens=true
  [ "${NODE_ENV:-}" = production ] && dev_tokens=false
  for ((i = 1; i <= GATEWAYS; i++)); do
    local port=${gateway_ports[$((i - 1))]}
    # shellcheck disable=SC2086 # SERVICE_TOKENS has no whitespace (the gateway's config refuses it)
    start_node "gateway-$i" services/gateway/dist/bundle/main.js "${common[@]}" JWT_SECRET="$JWT_SECRET" ${SERVICE_TOKENS:+SERVICE_TOKENS=$SERVICE_TOKENS} \
      NODE_ENV="${NODE_ENV:-development}" DEV_TOKENS="${DEV_TOKENS:-$dev_tokens}" HOST="$HOST" PORT="$port" NODE_ID="gateway-$i" UPLOAD_DIR="$PARLEY_DATA/uploads"
  done
  for ((i = 1; i <= GATEWAYS; i++)); do
    wait_until "gateway-$i (its log: $LOGS/gateway-$i.log)" 150 http_ok "http://$HOST:${gateway_ports[$((i - 1))]}/health/ready"
    say "gateway-$i $HOST:${gateway_ports[$((i - 1))]}"
  done
  say "persisters $PERSISTERS"
  start_haproxy
  cat <<EOF
[parley] cluster ready: http://$HOST:$LB_PORT   WebSocket: ws://$HOST:$LB_PORT/ws
[parley] chat page: http://$HOST:$LB_PORT/chat   API docs: http://$HOST:$LB_PORT/docs
[parley] metrics: each gateway's /metrics (ports ${gateway_ports[*]}), persisters on $HOST:$METRICS_PORT_BASE…
[parley] status: $redis_target npx parley status
[parley] a development token for user alice:
[parley]   curl -s -X POST http://$HOST:$LB_PORT/dev/tokens -H 'content-type: application/json' -d '{"sub":"alice"}'
[parley]   or: JWT_SECRET=\$(cat $secret_file) npx parley token alice
[parley] logs in $LOGS; Ctrl-C (or infra/cluster.sh stop) stops everything
EOF
  # Stay in the foreground while any service runs; a signal ends the script, and the EXIT trap stops all.
  wait || true
}

stop() {
  if alive cluster; then
    local pid
    pid=$(cat "$RUN/cluster.pid")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    say "stopped"
  else
    stop_all
  fi
}

status() {
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || { say "not running"; return 0; }
    local name
    name=$(basename "$f" .pid)
    if kill -0 "$(cat "$f")" 2>/dev/null; then say "$name running (pid $(cat "$f"))"; else say "$name dead"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  topology) topology ;;
  *) die "usage: infra/cluster.sh start|stop|status|topology" ;;
esac
