#!/usr/bin/env bash
# A real PostgreSQL (Debian's packages) for tests and the demo, in a private
# data folder on a free port, with password (scram) auth over TCP.  It listens on
# 127.0.0.1 and on the host's own address (the test node's IP, hack/node.sh ip), where
# only the pod network (10.244.0.0/16) and the host itself may connect: pods of the test
# node (the in-cluster controller, the test app) reach it at TIDEMARK_PG_POD_HOST.
#   hack/postgres.sh start   initialise if needed, start, print the env
#   hack/postgres.sh stop    stop (keeps the data folder)
#   hack/postgres.sh restart stop if running, then start again on the SAME port (URLs handed
#                            out stay valid; fault tests stop the server and bring it back),
#                            print the env
#   hack/postgres.sh env     print `export TIDEMARK_PG_URL=...` (superuser URL on 127.0.0.1)
#                            and `export TIDEMARK_PG_POD_HOST=...` (the address pods use;
#                            127.0.0.1 when the host has no other address)
#   hack/postgres.sh psql    open psql on it
# max_connections is 300 (the suite runs tests side by side), or TIDEMARK_PG_MAX_CONNECTIONS
# (the scale benchmark runs against PostgreSQL's default, 100).
# State lives in ${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}/postgres.  When run
# as root the server runs as the unprivileged `postgres` user (initdb refuses root).
set -euo pipefail

state_root=${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}
dir=$state_root/postgres
data=$dir/data
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bindir" ] || { echo "postgres.sh: PostgreSQL server not installed (run hack/deps.sh)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# the host's source address for its default route: the address the test node registers
# (hack/node.sh ip; TIDEMARK_NODE_IP overrides both); empty when there is none
host_ip() {
  [ -n "${TIDEMARK_NODE_IP:-}" ] && { echo "$TIDEMARK_NODE_IP"; return; }
  ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") {print $(i + 1); exit}}'
}

print_env() {
  [ -f "$dir/port" ] || { echo "postgres.sh: not initialised; run: hack/postgres.sh start" >&2; exit 1; }
  echo "export TIDEMARK_PG_URL=postgresql://tidemark:$(cat "$dir/password")@127.0.0.1:$(cat "$dir/port")/postgres"
  echo "export TIDEMARK_PG_POD_HOST=$(cat "$dir/listen_host" 2>/dev/null || echo 127.0.0.1)"
}

running() {
  [ -f "$data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# start [keep-port]: a fresh free port each start, unless keep-port and one was used before
start() {
  local keep_port=${1:-}
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    chmod 755 "$state_root"
    chown postgres "$dir"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    python3 -c 'import secrets; print(secrets.token_hex(16))' > "$dir/password"
    chmod 644 "$dir/password"
    as_owner "$bindir/initdb" -D "$data" -U tidemark --pwfile="$dir/password" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if running; then
    print_env
    return
  fi
  if [ "$keep_port" != keep-port ] || [ ! -s "$dir/port" ]; then
    free_port > "$dir/port"
  fi
  as_owner mkdir -p "$dir/sock" 2>/dev/null || mkdir -p "$dir/sock"
  local listen=127.0.0.1 hip
  hip=$(host_ip)
  if [ -n "$hip" ] && [ "${hip#127.}" = "$hip" ]; then
    listen="127.0.0.1,$hip"
    echo "$hip" >"$dir/listen_host"
  else
    hip=""
    echo 127.0.0.1 >"$dir/listen_host"
  fi
  # initdb's pg_hba.conf lets every address in with a password; narrow it to loopback, this
  # host and the test node's pod network (rewritten each start: the host's address may change)
  as_owner tee "$data/pg_hba.conf" >/dev/null <<EOF
# written by hack/postgres.sh start
local all all trust
host  all all 127.0.0.1/32  scram-sha-256
host  all all ::1/128       scram-sha-256
${hip:+host  all all $hip/32 scram-sha-256}
host  all all 10.244.0.0/16 scram-sha-256
EOF
  as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
    -o "-p $(cat "$dir/port") -k $dir/sock -c listen_addresses=$listen -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=${TIDEMARK_PG_MAX_CONNECTIONS:-300}" \
    start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
  print_env
}

stop() {
  if [ -f "$data/PG_VERSION" ] && running; then
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start keep-port ;;
  env) print_env ;;
  psql) eval "$(print_env)"; exec psql "$TIDEMARK_PG_URL" ;;
  *) echo "usage: $0 start|stop|restart|env|psql" >&2; exit 2 ;;
esac
