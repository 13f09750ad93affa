# shellcheck shell=bash
# tidemark tests/lib/db.sh — the real PostgreSQL from hack/postgres.sh as the tests use it:
# a database (and role) per test, dropped at exit; one way to run a query; and a private
# server for the tests that stop or reconfigure it (so no other test sees that).
#
#   require_postgres           fail unless TIDEMARK_PG_URL is set and psql is installed
#   pg_url_of DB               TIDEMARK_PG_URL with its database replaced by DB
#   url_password URL           print the password in a postgresql://user:pw@host URL
#   new_role NAME PASSWORD     CREATE ROLE NAME LOGIN; dropped at exit
#   new_database NAME [OWNER]  CREATE DATABASE NAME; sets DB and DB_URL; dropped at exit
#   q SQL                      run SQL on DB_URL, unaligned tuples only (psql -qXAt)
#   q_admin SQL                the same on TIDEMARK_PG_URL (the superuser's postgres database)
#   history_rows               rows in DB_URL's databasechangelog (0 when it does not exist)
#   history_has N              true when history_rows >= N (for wait_for)
#   private_postgres           a PostgreSQL of this test's own (state in PG_STATE), started
#                              now with TIDEMARK_PG_URL pointing at it; stopped and removed at exit
#   pgctl start|stop|restart|env   hack/postgres.sh on that private server (restart keeps the
#                              port, so URLs stay valid)

[[ -n "${TM_LIB_DB_LOADED:-}" ]] && return 0
TM_LIB_DB_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_postgres() {
  [[ -n "${TIDEMARK_PG_URL:-}" ]] || fail "TIDEMARK_PG_URL is not set (eval \"\$(hack/postgres.sh start)\")"
  require_cmd psql
}

pg_url_of() { printf '%s/%s\n' "${TIDEMARK_PG_URL%/*}" "$1"; }

url_password() {
  local pw=${1#*://*:}
  printf '%s\n' "${pw%%@*}"
}

new_role() {
  q_admin "CREATE ROLE $1 LOGIN PASSWORD '$2'" >/dev/null || fail "create role $1"
  at_exit "psql '$TIDEMARK_PG_URL' -qXAtc 'DROP ROLE IF EXISTS $1' >/dev/null 2>&1"
}

new_database() {
  local owner=""
  [[ -n "${2:-}" ]] && owner=" OWNER $2"
  DB=$1
  DB_URL="$(pg_url_of "$DB")"
  q_admin "CREATE DATABASE \"$DB\"$owner" >/dev/null || fail "could not create database $DB"
  at_exit "psql '$TIDEMARK_PG_URL' -qXAtc 'DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)' >/dev/null 2>&1"
}

q() { psql "$DB_URL" -qXAtc "$1"; }
q_admin() { psql "$TIDEMARK_PG_URL" -qXAtc "$1"; }

history_rows() { q "select coalesce((select count(*) from databasechangelog), 0)" 2>/dev/null || echo 0; }
history_has() { (( $(history_rows) >= $1 )); }

# run from / : as root the server commands run as the postgres user, who cannot enter a
# test's private work folder
pgctl() { (cd / && TIDEMARK_STATE_DIR=$PG_STATE "$ROOT/hack/postgres.sh" "$@"); }

private_postgres() {
  PG_STATE="$(mktemp -d)"
  at_exit 'pgctl stop >/dev/null 2>&1; rm -rf "$PG_STATE"'
  local env_line
  env_line="$(pgctl start)" || fail "private PostgreSQL did not start"
  eval "$env_line"
}
