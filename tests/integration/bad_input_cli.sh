#!/usr/bin/env bash
# Bad input and hostile settings against the CLI and a real PostgreSQL: each
# case must give a clear error (exit code and a message that says what is
# wrong) and change nothing: the database's tables and its history table are
# compared with a snapshot after every case.  docs/reliability.md lists these
# cases with the error a user sees.
# Also: a Liquibase lock row (databasechangeloglock.locked) makes tidemark
# refuse and name the holder, and proceed once it is released; history table
# names with quotes and semicolons are quoted, never executed.
# Needs TIDEMARK_BIN and TIDEMARK_PG_URL (hack/test.sh exports both).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cli.sh"
cli_test_setup tm_bad_input
cd "$WORK" || exit 1

# snapshot: every relation of the database (name, kind, columns) and every
# history row, as one text
snapshot() {
  psql "$DB_URL" -qXAt -v ON_ERROR_STOP=1 <<'SQL'
SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' ||
       coalesce((SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
                 WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
 ORDER BY 1;
SELECT id, author, filename, orderexecuted, exectype, md5sum, tag FROM public.databasechangelog ORDER BY orderexecuted;
SQL
}

# expect_refused CODE PATTERN LABEL CMD...: run the CLI; exit code must be CODE, the
# stderr must match the extended regexp PATTERN, and the database must be
# exactly as before.
expect_refused() {
  local want=$1 pattern=$2 label=$3; shift 3
  local before after got
  before=$(snapshot) || soft_fail "$label: snapshot failed"
  "$TIDEMARK_BIN" "$@" >"$WORK/out" 2>"$WORK/err"; got=$?
  err=$(cat "$WORK/err")
  after=$(snapshot) || soft_fail "$label: snapshot failed"
  echo "$label: exit $got: $(head -c 300 "$WORK/err" | tr '\n' ' ')"
  [ "$got" = "$want" ] || soft_fail "$label: exit $got, want $want; stderr: $err"
  echo "$err" | grep -Eq -- "$pattern" || soft_fail "$label: stderr does not match /$pattern/: $err"
  [ "$before" = "$after" ] || soft_fail "$label: the database changed: $(diff <(echo "$before") <(echo "$after"))"
  if grep -qF "$pw" "$WORK/out" "$WORK/err"; then soft_fail "$label: the password was printed"; fi
}
pw=$(url_password "$DB_URL")

cat >good.sql <<'EOF2'
--liquibase formatted sql

--changeset alice:1
CREATE TABLE items (id int PRIMARY KEY);
--tag v1
--rollback DROP TABLE items;

--changeset alice:2
CREATE TABLE prices (id int);
--tag v2
--rollback DROP TABLE prices;
EOF2
"$TIDEMARK_BIN" update --url "$DB_URL" --changelog good.sql --to-tag v1 >/dev/null 2>&1 || soft_fail "setup: update to v1"
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || soft_fail "setup: one row"

# -- malformed changelogs (exit 2, nothing applied) --
mkdir -p yaml && printf 'databaseChangeLog:\n  - changeSet:\n      id: 1\n      author: a\n      changes:\n        - sql: "CREATE TABLE y1 (id int)\n    bad: [unclosed\n' >yaml/changelog.yaml
expect_refused 2 'changelog.yaml:[0-9]+' "malformed YAML" update --url "$DB_URL" --changelog yaml/changelog.yaml

printf -- '--liquibase formatted sql\n\n--changeset nobody\nCREATE TABLE f1 (id int);\n' >fmt.sql
expect_refused 2 'fmt.sql:[0-9]+' "formatted SQL without author:id" update --url "$DB_URL" --changelog fmt.sql

printf -- '--liquibase formatted sql\n\n--changeset a:1 runInTransaction:maybe\nCREATE TABLE f2 (id int);\n' >fmt2.sql
expect_refused 2 'runInTransaction|maybe' "formatted SQL with a bad attribute value" update --url "$DB_URL" --changelog fmt2.sql

cat >dup.sql <<'EOF2'
--liquibase formatted sql

--changeset alice:1
CREATE TABLE items (id int PRIMARY KEY);
--tag v1
--rollback DROP TABLE items;

--changeset alice:2
CREATE TABLE d1 (id int);
--rollback DROP TABLE d1;

--changeset alice:2
CREATE TABLE d2 (id int);
--rollback DROP TABLE d2;
EOF2
expect_refused 2 'duplicate.*alice:2|alice:2.*duplicate|2::alice' "duplicate changeset ids" update --url "$DB_URL" --changelog dup.sql

expect_refused 2 'unknown tag|known tags' "unknown tag (update)" update --url "$DB_URL" --changelog good.sql --to-tag v9
expect_refused 2 'unknown tag|known tags' "unknown tag (rollback)" rollback --url "$DB_URL" --changelog good.sql --to-tag v9

# -- a rollback step without rollback SQL: refused before anything is rolled back --
mkdir -p norb
cat >norb/good.sql <<'EOF2'
--liquibase formatted sql

--changeset alice:1
CREATE TABLE items (id int PRIMARY KEY);
--tag v1
--rollback DROP TABLE items;

--changeset alice:2
CREATE TABLE prices (id int);
--tag v2
EOF2
cp norb/good.sql good-norb.sql
"$TIDEMARK_BIN" update --url "$DB_URL" --changelog good.sql >/dev/null 2>&1 || soft_fail "setup: update to v2"
cd norb && expect_refused 3 'rollback' "rollback of a changeset without rollback SQL" rollback --url "$DB_URL" --changelog good.sql --to-tag v1; cd "$WORK"

# -- huge and binary input --
python3 - <<'EOF2'
with open("huge.sql", "w") as f:
    f.write("--liquibase formatted sql\n\n--changeset a:1\nCREATE TABLE h1 (id int);\n")
    line = "-- " + "x" * 1020 + "\n"
    for _ in range(17 * 1024):   # 17 MiB > TM_CAP_CHANGELOG_FILE (16 MiB)
        f.write(line)
with open("binary.sql", "wb") as f:
    f.write(b"--liquibase formatted sql\n\n--changeset a:1\nCREATE TABLE b1 (id int);\n\x00\xff\xfe\x01binary\x00\n")
with open("binary.yaml", "wb") as f:
    f.write(bytes(range(256)) * 16)
EOF2
expect_refused 2 'larger than [0-9]+ bytes' "huge changelog (17 MiB)" update --url "$DB_URL" --changelog huge.sql
expect_refused 2 'NUL|binary|byte|UTF-8|invalid' "binary bytes in formatted SQL" update --url "$DB_URL" --changelog binary.sql
expect_refused 2 'binary.yaml' "binary file as YAML" update --url "$DB_URL" --changelog binary.yaml

# -- connection problems (exit 1) --
badpw=$(echo "$DB_URL" | sed -E 's#://([^:]+):[^@]*@#://\1:Wrong-Canary-7391@#')
expect_refused 1 'password|authentication' "wrong password" update --url "$badpw" --changelog good.sql
grep -qF 'Wrong-Canary-7391' "$WORK/err" "$WORK/out" && soft_fail "wrong password: the password was printed"
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
nourl=$(echo "$DB_URL" | sed -E "s#@[^/]*/#@127.0.0.1:$closed/#")
expect_refused 1 'refused|connect' "unreachable database (closed port)" update --url "$nourl" --changelog good.sql
sep='?'; case "$DB_URL" in *\?*) sep='&' ;; esac
expect_refused 1 'SSL|ssl|TLS' "sslmode=require against a server without TLS" update --url "$DB_URL${sep}sslmode=require" --changelog good.sql

# -- a Liquibase lock row held by another process: refuse, name the holder; go once released --
q "CREATE TABLE public.databasechangeloglock (id int PRIMARY KEY, locked boolean NOT NULL, lockgranted timestamp, lockedby varchar(255));
   INSERT INTO public.databasechangeloglock VALUES (1, true, now(), 'liquibase-host (10.1.2.3)')" >/dev/null
"$TIDEMARK_BIN" rollback --url "$DB_URL" --changelog good.sql --to-tag v1 >/dev/null 2>&1   # v2 has rollback here
expect_refused 1 'liquibase-host' "Liquibase lock row held" update --url "$DB_URL" --changelog good.sql
q "UPDATE public.databasechangeloglock SET locked = false, lockgranted = NULL, lockedby = NULL" >/dev/null
"$TIDEMARK_BIN" update --url "$DB_URL" --changelog good.sql >"$WORK/out" 2>"$WORK/err" || soft_fail "update after the lock row was released: $(cat "$WORK/err")"
[ "$(q "SELECT count(*) FROM databasechangelog")" = 2 ] || soft_fail "update after the lock row was released: rows"
[ "$(q "SELECT locked FROM public.databasechangeloglock")" = f ] || soft_fail "tidemark wrote the Liquibase lock row"

# -- history table names with quotes and semicolons are quoted identifiers --
printf -- '--liquibase formatted sql\n\n--changeset w:1\nSELECT 1;\n--rollback SELECT 1;\n\n--changeset w:2\nSELECT 2;\n--rollback SELECT 2;\n' >weird.sql
weird='public."weird;name"'
"$TIDEMARK_BIN" update --url "$DB_URL" --changelog weird.sql --changelog-table "$weird" >"$WORK/out" 2>"$WORK/err" \
  || soft_fail "update with --changelog-table $weird: $(cat "$WORK/err")"
# each part is taken literally (never parsed as SQL) and quoted on its own:
# the table's name includes the double quotes
[ "$(q "SELECT count(*) FROM public.\"\"\"weird;name\"\"\"")" = 2 ] || soft_fail "history rows in public.\"\"\"weird;name\"\"\""
inj='public.x; DROP TABLE items; --'
"$TIDEMARK_BIN" update --url "$DB_URL" --changelog weird.sql --changelog-table "$inj" >"$WORK/out" 2>"$WORK/err" \
  || soft_fail "update with --changelog-table $inj: $(cat "$WORK/err")"
[ "$(q "SELECT to_regclass('public.items') IS NOT NULL")" = t ] || soft_fail "--changelog-table '$inj' dropped a table"
[ "$(q "SELECT count(*) FROM public.\"x; DROP TABLE items; --\"")" = 2 ] || soft_fail "history rows in public.\"x; DROP TABLE items; --\""
inj2="public.a\"b'c"
"$TIDEMARK_BIN" update --url "$DB_URL" --changelog weird.sql --changelog-table "$inj2" >"$WORK/out" 2>"$WORK/err" \
  || soft_fail "update with --changelog-table $inj2: $(cat "$WORK/err")"
[ "$(q "SELECT count(*) FROM public.\"a\"\"b'c\"")" = 2 ] || soft_fail "history rows in public.\"a\"\"b'c\""

finish_soft bad_input_cli
