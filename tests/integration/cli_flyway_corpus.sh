#!/usr/bin/env bash
# tidemark update on the real Flyway folders of ../shared/corpus (read in place),
# with the settings each project uses given as --flyway flags, writes exactly the
# flyway_schema_history rows Flyway 13.12.2 wrote for the same files: the md5
# below is of installed_rank|version|description|type|script|checksum|success|
# (installed_by = current_user), one line per row, taken from real
# Flyway.migrate() runs (flyway-core + flyway-database-postgresql 13.12.2) on
# PostgreSQL 15.  A second update applies nothing and status shows no drift.
# hmcts and hyades hold CREATE INDEX CONCURRENTLY (run outside a transaction),
# hawkbit a custom suffix and table, conductor three locations, hyades
# placeholderReplacement=false.  (OpenLMIS, the empty-prefix set, needs
# PostGIS: the compatibility suite covers it.)
# Needs TIDEMARK_BIN, TIDEMARK_PG_URL, TIDEMARK_SOURCE_DIR (ctest sets them).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/db.sh"
require_tidemark
require_postgres
corpus="$ROOT/../shared/corpus"
[ -d "$corpus/flyway-hmcts-send-letter-service" ] || fail "the corpus is not at $corpus (CI has ../shared beside the clone)"

# check NAME TABLE MD5 ROWS FOLDER ENTRY [--flyway X=Y ...]
check() {
  local name=$1 table=$2 want=$3 nrows=$4 folder=$5 entry=$6
  shift 6
  local out
  new_database "tm_cli_fw_${name}_$$"
  if ! out=$(cd "$corpus/$folder" && "$TIDEMARK_BIN" update --url "$DB_URL" --changelog "$entry" "$@" 2>&1); then
    soft_fail "$name: update failed: ${out//$DB_URL/URL}"
    return
  fi
  local got
  got=$(q "SELECT md5(string_agg(concat_ws('|', installed_rank, coalesce(version, ''), \
description, type, script, coalesce(checksum::text, ''), success, installed_by = current_user), \
E'\n' ORDER BY installed_rank)) || ' ' || count(*) FROM $table")
  [ "$got" = "$want $nrows" ] || soft_fail "$name: history rows differ from Flyway 13.12.2's (got md5/count $got, want $want $nrows)"
  out=$(cd "$corpus/$folder" && "$TIDEMARK_BIN" update --url "$DB_URL" --changelog "$entry" "$@" 2>&1)
  [[ "$out" == *"0 applied"* ]] || soft_fail "$name: second update was not empty: $out"
  out=$(cd "$corpus/$folder" && "$TIDEMARK_BIN" status --url "$DB_URL" --changelog "$entry" "$@" 2>&1)
  [[ "$out" == *"0 pending"* && "$out" == *"drift          none"* ]] || soft_fail "$name: status: $out"
}

check hmcts flyway_schema_history 993ed0000c8ad69b594088a09cb2b239 35 \
  flyway-hmcts-send-letter-service db/migration
check hawkbit schema_version 9ba5ed008741f9660fb608ba3ab739e2 23 \
  flyway-eclipse-hawkbit-hawkbit db/migration/POSTGRESQL \
  --flyway sqlMigrationSuffixes=POSTGRESQL.sql --flyway table=schema_version
check conductor flyway_schema_history 26a7594b20b53181d4da1bed044195c3 21 \
  flyway-conductor-oss-conductor db/migration_postgres \
  --flyway locations=classpath:db/migration_postgres,classpath:db/migration_postgres_notify,classpath:db/migration_postgres_data
check kestra flyway_schema_history d717d5712da57d8fce3b46c19a25f0d1 26 \
  flyway-kestra-io-kestra migrations/postgres
check hyades flyway_schema_history b6f1d9bd5e1ceb41cc19d1183c9408e7 13 \
  flyway-DependencyTrack-hyades-apiserver org/dependencytrack/migration \
  --flyway placeholderReplacement=false

finish_soft cli_flyway_corpus
