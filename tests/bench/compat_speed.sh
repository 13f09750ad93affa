#!/usr/bin/env bash
# Benchmark (issue 10): apply each corpus set with the reference tool (Liquibase
# 4.33.0 / Flyway 13.12.2, a fresh JVM as a user starts it) and with tidemark,
# each to its own empty database, and print the wall times (process start
# included) and their ratio.  Only sets that both tools apply without error
# are measured; the rest are listed with the failing side.  Each apply runs
# TM_COMPAT_BENCH_RUNS times (default 3) on a fresh database; the median counts.
# Prints "BELOW TARGET" for sets where tidemark is not at least
# TM_COMPAT_MIN_RATIO (default 10) times faster (a figure, not an assertion:
# benchmarks print); fails only when no set could be measured.
# Optional argument: a regex on set names.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/db.sh"
require_tidemark
require_postgres
: "${TIDEMARK_SOURCE_DIR:?}" # tests/compat/lib.sh reads it
# shellcheck source=tests/compat/lib.sh
. "$ROOT/tests/compat/lib.sh"

runs=${TM_COMPAT_BENCH_RUNS:-3}
min_ratio=${TM_COMPAT_MIN_RATIO:-10}
filter=${1:-.}
compat_pg_parse || exit 1
compat_ref_env || fail "reference tools unavailable"
new_work_dir
compat_work=$WORK
db=compat_bench_$$
at_exit 'compat_db_drop "$db"'

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# time_apply SET WHO: median wall ms of RUNS applies, or "fail"
time_apply() {
  local set=$1 who=$2 t0 rc times=()
  for ((i = 0; i < runs; i++)); do
    compat_db_create "$db" "$(compat_setting "$set" 3)" >/dev/null || return 1
    t0=$(compat_now_ms)
    if [ "$who" = tidemark ]; then
      compat_tidemark "$set" "$db" "$compat_work/out" update
    elif compat_is_liquibase "$set"; then
      compat_liquibase "$set" "$db" "$compat_work/out" update
    else
      compat_flyway "$set" "$db" "$compat_work/out" migrate
    fi
    rc=$?
    times+=($(($(compat_now_ms) - t0)))
    [ "$rc" -eq 0 ] || { echo fail; return 0; }
  done
  printf '%s\n' "${times[@]}" | median
}

printf '%-45s %12s %12s %8s\n' set reference_ms tidemark_ms ratio
measured=0 slow=0
while IFS= read -r set; do
  [[ $set =~ $filter ]] || continue
  cd "$compat_corpus/$set" || continue
  ref=$(time_apply "$set" reference)
  tm=$(time_apply "$set" tidemark)
  if [ "$ref" = fail ] || [ "$tm" = fail ]; then
    printf '%-45s %12s %12s %8s\n' "$set" "$ref" "$tm" "-"
    continue
  fi
  ratio=$(awk -v r="$ref" -v t="$tm" 'BEGIN { printf "%.1f", r / (t > 0 ? t : 1) }')
  printf '%-45s %12s %12s %7sx\n' "$set" "$ref" "$tm" "$ratio"
  measured=$((measured + 1))
  awk -v x="$ratio" -v m="$min_ratio" 'BEGIN { exit !(x < m) }' && slow=$((slow + 1))
done < <(awk -F'\t' '!/^#/ && NF { print $1 }' "$compat_dir/sets.tsv")

echo "measured $measured set(s) that both tools apply; $slow below ${min_ratio}x"
[ "$measured" -gt 0 ] || { echo "FAIL: no set applied by both tools"; exit 1; }
# a figure, not a timed assertion (the machine may be shared): report it
[ "$slow" -eq 0 ] || echo "BELOW TARGET: tidemark is not ${min_ratio}x faster on $slow set(s)"
echo "PASS"
