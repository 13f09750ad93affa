#!/usr/bin/env bash
# TLS settings that must fail, against a private PostgreSQL with a
# self-signed certificate (CN tm-not-this-host): each must exit 1 with a TLS
# error and change nothing.  A positive control (sslmode=verify-ca with the
# right root) proves the server really speaks TLS, so the failures are the
# checks' doing.
#   - sslmode=verify-full, right root, wrong host name  -> host name mismatch
#   - sslmode=verify-full, another CA as the root        -> verify failed
# (sslmode=require against a server without TLS: bad_input_cli.sh.)
# Needs TIDEMARK_BIN and TIDEMARK_SOURCE_DIR (ctest exports both).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/db.sh"
require_tidemark
new_work_dir
private_postgres
DB_URL=$TIDEMARK_PG_URL
pw=$(url_password "$DB_URL")

# server certificate (self-signed) and an unrelated CA
dir=$PG_STATE/postgres
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tm-not-this-host" \
  -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1 || fail "openssl"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tm-other-ca" \
  -keyout "$WORK/other.key" -out "$WORK/other.crt" >/dev/null 2>&1 || fail "openssl"
cp "$dir/server.crt" "$WORK/root.crt"
chmod 600 "$dir/server.key"
[ "$(id -u)" = 0 ] && chown postgres "$dir/server.key" "$dir/server.crt"
psql "$DB_URL" -qXc "ALTER SYSTEM SET ssl_cert_file = '$dir/server.crt'" \
  -c "ALTER SYSTEM SET ssl_key_file = '$dir/server.key'" -c "ALTER SYSTEM SET ssl = on" \
  -c "SELECT pg_reload_conf()" >/dev/null || soft_fail "enabling ssl"
# the reload is asynchronous: poll until a TLS connection works
wait_for -t 20 -i 0.1 eval 'psql "$DB_URL?sslmode=require" -qXAtc "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" | grep -q t' \
  || fail "the server did not turn TLS on"

cat >"$WORK/changelog.sql" <<'EOF2'
--liquibase formatted sql

--changeset tls:1
CREATE TABLE tls_t (id int);
--rollback DROP TABLE tls_t;
EOF2
cd "$WORK" || exit 1
untouched() { [ "$(q "SELECT to_regclass('public.tls_t') IS NULL AND to_regclass('public.databasechangelog') IS NULL")" = t ]; }

# expect_tls_fail LABEL PATTERN URL
expect_tls_fail() {
  local label=$1 pattern=$2 u=$3 rc
  "$TIDEMARK_BIN" update --url "$u" --changelog changelog.sql >"$WORK/out" 2>"$WORK/err"; rc=$?
  echo "$label: exit $rc: $(tr '\n' ' ' <"$WORK/err")"
  [ "$rc" = 1 ] || soft_fail "$label: exit $rc, want 1"
  grep -Eq "$pattern" "$WORK/err" || soft_fail "$label: error does not match /$pattern/: $(cat "$WORK/err")"
  grep -qF "$pw" "$WORK/out" "$WORK/err" && soft_fail "$label: the password was printed"
  untouched || soft_fail "$label: the database changed"
}
expect_tls_fail "verify-full, host name mismatch" 'does not match host name|tm-not-this-host' \
  "$DB_URL?sslmode=verify-full&sslrootcert=$WORK/root.crt"
expect_tls_fail "verify-full, unknown CA" 'certificate verify failed|self.signed|unable to get' \
  "$DB_URL?sslmode=verify-full&sslrootcert=$WORK/other.crt"

# positive control: the right root without the host name check works
"$TIDEMARK_BIN" update --url "$DB_URL?sslmode=verify-ca&sslrootcert=$WORK/root.crt" --changelog changelog.sql \
  >"$WORK/out" 2>"$WORK/err" || soft_fail "verify-ca with the right root: $(cat "$WORK/err")"
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || soft_fail "verify-ca: the changeset was not applied"

finish_soft bad_input_tls
