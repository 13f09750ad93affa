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
: "${TIDEMARK_BIN:?run through ctest / hack/test.sh}"
: "${TIDEMARK_SOURCE_DIR:?run through ctest / hack/test.sh}"
pg="$TIDEMARK_SOURCE_DIR/hack/postgres.sh"

work=$(mktemp -d)
state=$(mktemp -d)
failures=0
pgctl() { (cd / && TIDEMARK_STATE_DIR=$state "$pg" "$@"); }
cleanup() {
  pgctl stop >/dev/null 2>&1
  rm -rf "$work" "$state"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

env_line=$(pgctl start) || { echo "FAIL: private PostgreSQL did not start" >&2; exit 1; }
eval "$env_line"
url=$TIDEMARK_PG_URL
pw=${url#*://*:}; pw=${pw%%@*}

# server certificate (self-signed) and an unrelated CA
dir=$state/postgres
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tm-not-this-host" \
  -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1 || { echo "FAIL: openssl" >&2; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tm-other-ca" \
  -keyout "$work/other.key" -out "$work/other.crt" >/dev/null 2>&1 || { echo "FAIL: openssl" >&2; exit 1; }
cp "$dir/server.crt" "$work/root.crt"
chmod 600 "$dir/server.key"
[ "$(id -u)" = 0 ] && chown postgres "$dir/server.key" "$dir/server.crt"
psql "$url" -qXc "ALTER SYSTEM SET ssl_cert_file = '$dir/server.crt'" \
  -c "ALTER SYSTEM SET ssl_key_file = '$dir/server.key'" -c "ALTER SYSTEM SET ssl = on" \
  -c "SELECT pg_reload_conf()" >/dev/null || fail "enabling ssl"
# the reload is asynchronous: poll until a TLS connection works
deadline=$(( $(date +%s) + 20 ))
until psql "$url?sslmode=require" -qXAtc "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>/dev/null | grep -q t; do
  [ "$(date +%s)" -ge "$deadline" ] && { echo "FAIL: the server did not turn TLS on" >&2; exit 1; }
  sleep 0.1
done

cat >"$work/changelog.sql" <<'EOF2'
--liquibase formatted sql

--changeset tls:1
CREATE TABLE tls_t (id int);
--rollback DROP TABLE tls_t;
EOF2
cd "$work" || exit 1
q() { psql "$url" -qXAtc "$1"; }
untouched() { [ "$(q "SELECT to_regclass('public.tls_t') IS NULL AND to_regclass('public.databasechangelog') IS NULL")" = t ]; }

# expect_tls_fail LABEL PATTERN URL
expect_tls_fail() {
  local label=$1 pattern=$2 u=$3 rc
  "$TIDEMARK_BIN" update --url "$u" --changelog changelog.sql >"$work/out" 2>"$work/err"; rc=$?
  echo "$label: exit $rc: $(tr '\n' ' ' <"$work/err")"
  [ "$rc" = 1 ] || fail "$label: exit $rc, want 1"
  grep -Eq "$pattern" "$work/err" || fail "$label: error does not match /$pattern/: $(cat "$work/err")"
  grep -qF "$pw" "$work/out" "$work/err" && fail "$label: the password was printed"
  untouched || fail "$label: the database changed"
}
expect_tls_fail "verify-full, host name mismatch" 'does not match host name|tm-not-this-host' \
  "$url?sslmode=verify-full&sslrootcert=$work/root.crt"
expect_tls_fail "verify-full, unknown CA" 'certificate verify failed|self.signed|unable to get' \
  "$url?sslmode=verify-full&sslrootcert=$work/other.crt"

# positive control: the right root without the host name check works
"$TIDEMARK_BIN" update --url "$url?sslmode=verify-ca&sslrootcert=$work/root.crt" --changelog changelog.sql \
  >"$work/out" 2>"$work/err" || fail "verify-ca with the right root: $(cat "$work/err")"
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || fail "verify-ca: the changeset was not applied"

if [ "$failures" -gt 0 ]; then
  echo "bad_input_tls: $failures failure(s)" >&2
  exit 1
fi
echo "bad_input_tls: ok"
