#!/usr/bin/env bash
# Fault test: kill -9 of `tidemark update` and `tidemark rollback` at random
# points of a 200-changeset run, against a real PostgreSQL.
#
# Each changeset is `SELECT pg_sleep(0.005); CREATE TABLE t_N` (its rollback
# also sleeps), so a run lasts a few seconds and most kills land inside a
# changeset's transaction.  The runs alternate: update to the end, rollback to
# the tag `mid` (changeset 50), update again...; each run is killed after a
# random delay drawn over the time the run still needs, some of them very
# short (killed before the first changeset).  After every kill, once the
# killed session is gone:
#   - every table t_N has its history row and every row its table;
#   - no (id, author, filename) appears twice; ORDEREXECUTED values are unique
#     and, in ORDEREXECUTED order, the ids are exactly 1..k (no gap, no
#     reordering);
#   - no advisory lock is held (pg_locks) and no Liquibase lock row is set.
# At the end a clean update and a clean rollback must converge to their
# targets.  Prints how many kill points were tried and where they landed:
# before the first changeset, mid-run, or after the run had finished.
#
# TM_FAULT_KILLS (default 20) sets the number of kill points (the bench label
# runs 200: tests/bench/fault_cli_kill_long.sh); TM_FAULT_SEED fixes $RANDOM.
# Needs TIDEMARK_BIN and TIDEMARK_PG_URL (hack/test.sh exports both).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cli.sh"
cli_test_setup tm_fault_kill
kills=${TM_FAULT_KILLS:-20}
seed=${TM_FAULT_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$seed
n=200
mid=50

{
  echo '--liquibase formatted sql'
  for i in $(seq 1 $n); do
    printf '\n--changeset fault:%d\nSELECT pg_sleep(0.005);\nCREATE TABLE t_%d (id int);\n' "$i" "$i"
    [ "$i" = "$mid" ] && echo '--tag mid'
    printf -- '--rollback SELECT pg_sleep(0.003); DROP TABLE t_%d;\n' "$i"
  done
} >"$WORK/changelog.sql"
cd "$WORK" || exit 1

# psql costs a few hundred ms per connection here, so each check is one
# psql run.  state prints, one per line: sessions other than ours, history
# rows, tables t_N (ids), history ids, duplicates (id/author/filename or
# ORDEREXECUTED), ids out of place in ORDEREXECUTED order (must be 1..k),
# advisory locks held, Liquibase lock rows set.
state() {
  psql "$DB_URL" -qXAt <<'SQL'
SELECT to_regclass('public.databasechangelog') IS NOT NULL AS has_hist,
       to_regclass('public.databasechangeloglock') IS NOT NULL AS has_lock \gset
SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();
\if :has_hist
SELECT count(*) FROM databasechangelog;
\else
SELECT 0;
\endif
SELECT 'T' || coalesce(string_agg(substr(relname, 3), ',' ORDER BY substr(relname, 3)::int), '')
  FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND relname ~ '^t_[0-9]+$';
\if :has_hist
SELECT 'T' || coalesce(string_agg(id, ',' ORDER BY id::int), '') FROM databasechangelog;
SELECT count(*) - count(DISTINCT (id, author, filename)) + count(*) - count(DISTINCT orderexecuted) FROM databasechangelog;
SELECT count(*) FROM (SELECT id, row_number() OVER (ORDER BY orderexecuted) AS rn FROM databasechangelog) s WHERE id <> rn::text;
\else
SELECT 'T';
SELECT 0;
SELECT 0;
\endif
SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database();
\if :has_lock
SELECT count(*) FROM databasechangeloglock WHERE locked;
\else
SELECT 0;
\endif
SQL
}

# check_consistent LABEL: wait (to a deadline) until no session but ours is
# connected -- the server notices a killed client only when it next reads
# from its socket, and until then that session may still hold its lock and
# its transaction -- then check that the history table and the database
# objects agree.  Leaves the number of history rows in $rows_now.
check_consistent() {
  local label=$1 deadline=$(( $(date +%s) + 20 )) st
  while :; do
    mapfile -t st < <(state)
    [ "${#st[@]}" = 8 ] || { soft_fail "$label: state query failed: ${st[*]}"; rows_now=-1; return; }
    [ "${st[0]}" = 0 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      soft_fail "$label: ${st[0]} session(s) still connected 20 s after the kill"
      break
    fi
    sleep 0.05
  done
  rows_now=${st[1]}
  [ "${st[2]}" = "${st[3]}" ] || soft_fail "$label: tables {${st[2]#T}} but history rows {${st[3]#T}}"
  [ "${st[4]}" = 0 ] || soft_fail "$label: duplicate history rows or ORDEREXECUTED values (${st[4]})"
  [ "${st[5]}" = 0 ] || soft_fail "$label: ORDEREXECUTED order is not 1..k (${st[5]} rows out of place)"
  [ "${st[6]}" = 0 ] || soft_fail "$label: ${st[6]} advisory lock(s) still held"
  [ "${st[7]}" = 0 ] || soft_fail "$label: a databasechangeloglock row is set"
}

before=0 midrun=0 after=0
ms_per_cs=12           # refined from observed progress
direction=update
rows_now=0
for k in $(seq 1 "$kills"); do
  start_count=$rows_now
  if [ "$direction" = update ]; then
    remaining=$((n - start_count)); target=$n
    cmd=(update --url "$DB_URL" --changelog changelog.sql)
  else
    remaining=$((start_count - mid)); target=$mid
    cmd=(rollback --url "$DB_URL" --changelog changelog.sql --to-tag mid)
  fi
  # One kill in five is early (0-60 ms: start-up, connect, lock, first
  # changeset); the rest fall anywhere over the time the run still needs
  # plus 10% and the start-up time, so that some land after it finished.
  if [ $((RANDOM % 5)) = 0 ]; then
    delay_ms=$((RANDOM % 60))
  else
    span=$(( (remaining * ms_per_cs * 11) / 10 + 250 ))
    delay_ms=$(( (RANDOM * 32768 + RANDOM) % span ))
  fi
  "$TIDEMARK_BIN" "${cmd[@]}" >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  t0=$(date +%s%N)
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    killed=yes
  else
    wait "$pid"; rc=$?
    killed=no
    [ "$rc" = 0 ] || soft_fail "kill $k: $direction finished on its own with exit $rc: $(cat "$WORK/err")"
  fi
  elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  check_consistent "kill $k ($direction after ${delay_ms} ms)"
  end_count=$rows_now
  done_now=$(( end_count > start_count ? end_count - start_count : start_count - end_count ))
  if [ "$killed" = no ] || [ "$end_count" = "$target" ]; then
    after=$((after + 1)); where=after
  elif [ "$done_now" = 0 ]; then
    before=$((before + 1)); where=before
  else
    midrun=$((midrun + 1)); where=mid
    # refine the per-changeset estimate from this run (start-up included)
    if [ "$direction" = update ] && [ "$done_now" -ge 10 ]; then
      ms_per_cs=$(( elapsed_ms / done_now + 1 ))
    fi
  fi
  echo "kill $k: $direction killed after ${delay_ms} ms: $where ($start_count -> $end_count rows)"
  if [ "$end_count" = "$target" ]; then
    if [ "$direction" = update ]; then direction=rollback; else direction=update; fi
  fi
done

# A re-run converges: update to the end, then roll back to the tag.
"$TIDEMARK_BIN" update --url "$DB_URL" --changelog changelog.sql >"$WORK/out" 2>"$WORK/err" \
  || soft_fail "final update: $(cat "$WORK/err")"
check_consistent "final update"
[ "$rows_now" = "$n" ] || soft_fail "final update: $rows_now rows, want $n"
"$TIDEMARK_BIN" rollback --url "$DB_URL" --changelog changelog.sql --to-tag mid >"$WORK/out" 2>"$WORK/err" \
  || soft_fail "final rollback: $(cat "$WORK/err")"
check_consistent "final rollback"
[ "$rows_now" = "$mid" ] || soft_fail "final rollback: $rows_now rows, want $mid"

echo "fault_cli_kill: seed $seed: $kills kill points tried: $before before the first changeset, $midrun mid-run, $after after the run finished"
finish_soft fault_cli_kill
