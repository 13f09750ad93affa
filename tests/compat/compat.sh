#!/usr/bin/env bash
# One compatibility test: corpus set $1 (a folder of ../shared/corpus) applied by
# the real reference tool (Liquibase 4.33.0 or Flyway 13.12.2) to database A and
# by tidemark to database B, both fresh, from the set's folder as a user runs
# them.  Then: pg_dump --schema-only, table data and history rows compared;
# each tool checks the other's database (Liquibase status/validate or Flyway
# validate on B, tidemark status on A); where sets.tsv names a rollback, both
# roll back and everything is compared again.
#
# The verdict is held against tests/compat/expected.tsv:
#   identical           fails on any difference
#   gap <reason>        fails once the set has become identical ("update expected.tsv")
#   reference-fails <s> the reference tool must fail with output containing <s>
# Prints "COMPAT-TIME set=... reference_ms=... tidemark_ms=..." (wall time with
# process start) and writes the verdict to $TIDEMARK_BUILD_DIR/compat-results/SET.tsv.
set -uo pipefail

set_name=${1:?usage: compat.sh SET}
: "${TIDEMARK_BIN:?}" "${TIDEMARK_SOURCE_DIR:?}" "${TIDEMARK_PG_URL:?}"
# shellcheck source=tests/compat/lib.sh
. "$TIDEMARK_SOURCE_DIR/tests/compat/lib.sh"

fail() { echo "FAIL [$set_name]: $*"; exit 1; }

set_dir=$compat_corpus/$set_name
[ -d "$set_dir" ] || fail "corpus set not found: $set_dir"
IFS=$'\t' read -r exp_status exp_reason <<<"$(compat_expected "$set_name")"
[ -n "$exp_status" ] || fail "no line for this set in tests/compat/expected.tsv"
tool=$(compat_setting "$set_name" 2)
[ -n "$tool" ] || fail "no line for this set in tests/compat/sets.tsv"
needs=$(compat_setting "$set_name" 3)
rollback=$(compat_setting "$set_name" 4)
entry=$(compat_source "$set_name" 5)

compat_pg_parse || exit 1
compat_ref_env || fail "reference tools unavailable (hack/reference-tools.sh)"
compat_work=$(mktemp -d)
tag=$(printf '%s' "$set_name" | cksum | cut -d' ' -f1)
dba=compat_${tag}_$$_a
dbb=compat_${tag}_$$_b
cleanup() { compat_db_drop "$dba"; compat_db_drop "$dbb"; rm -rf "$compat_work"; }
trap cleanup EXIT
compat_db_create "$dba" "$needs" >/dev/null || fail "cannot create database $dba"
compat_db_create "$dbb" "$needs" >/dev/null || fail "cannot create database $dbb"
cd "$set_dir" || exit 1
echo "set $set_name: $tool, entry $entry${needs:+, needs $needs}${rollback:+, rollback $rollback}"

first_line() { # FILE PATTERN...: the first line matching the first pattern that
  # matches at all (else the file's last line), cut to 200 characters
  local f=$1 line=""; shift
  for p in "$@"; do
    line=$(grep -m1 -E -- "$p" "$f") && break
  done
  [ -n "$line" ] || line=$(tail -n1 "$f")
  printf '%s\n' "$line" | cut -c1-200
}

# --- 2. the reference tool on A ----------------------------------------------
t0=$(compat_now_ms)
if compat_is_liquibase "$set_name"; then
  compat_liquibase "$set_name" "$dba" "$compat_work/ref.out" update
else
  compat_flyway "$set_name" "$dba" "$compat_work/ref.out" migrate
fi
ref_rc=$?
ref_ms=$(($(compat_now_ms) - t0))

# --- 3. tidemark on B -----------------------------------------------------------
t0=$(compat_now_ms)
compat_tidemark "$set_name" "$dbb" "$compat_work/tm.out" update
tm_rc=$?
tm_ms=$(($(compat_now_ms) - t0))
echo "COMPAT-TIME set=$set_name reference_ms=$ref_ms reference_rc=$ref_rc tidemark_ms=$tm_ms tidemark_rc=$tm_rc"

result() { # VERDICT REASON: record for the report
  mkdir -p "${TIDEMARK_BUILD_DIR:-$compat_work}/compat-results"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$set_name" "$1" "$ref_ms" "$ref_rc" "$tm_ms" "$tm_rc" "$2" \
    >"${TIDEMARK_BUILD_DIR:-$compat_work}/compat-results/$set_name.tsv"
}

if [ "$ref_rc" -ne 0 ]; then
  ref_reason=$(first_line "$compat_work/ref.out" 'Unexpected error running Liquibase' '^FlywayRun: ' '^Message +:' 'ERROR')
  echo "REFERENCE-FAILS: $ref_reason"
  echo "(tidemark: exit $tm_rc: $(first_line "$compat_work/tm.out" '^tidemark [a-z]+: |^tidemark: '))"
  result reference-fails "$ref_reason"
  echo "--- reference output (last 30 lines)"; tail -n 30 "$compat_work/ref.out"
  [ "$exp_status" = reference-fails ] ||
    fail "the reference tool fails on a set expected '$exp_status' (reference behaviour changed?)"
  grep -qF -- "$exp_reason" "$compat_work/ref.out" ||
    fail "the reference tool fails, but not with the expected '$exp_reason' (update expected.tsv)"
  echo "PASS [$set_name]: reference fails as expected"
  exit 0
fi
[ "$exp_status" = reference-fails ] &&
  fail "the reference tool now applies this set (expected reference-fails: $exp_reason): update expected.tsv"

# --- 4-6. compare ---------------------------------------------------------------
gaps=()
gap() { gaps+=("$1"); echo "GAP: $1"; }

compare() { # WHAT FILE_A FILE_B: unified diff (cut) on mismatch; true if they differ
  cmp -s "$2" "$3" && return 1
  gap "$1 differs ($(diff "$2" "$3" | grep -c '^[<>]') lines)"
  diff -u --label "reference:$1" --label "tidemark:$1" "$2" "$3" | head -n 120
  return 0
}

history_columns() { # A B: for history rows at the same position, which columns differ
  python3 - "$1" "$2" <<'PY'
import sys
a, b = (open(f).read().splitlines() for f in sys.argv[1:3])
head = a[0].split("\t") if a else []
shown = 0
for ra, rb in zip(a[1:], b[1:]):
    ca, cb = ra.split("\t"), rb.split("\t")
    for i, (x, y) in enumerate(zip(ca, cb)):
        if x != y and shown < 10:
            shown += 1
            name = head[i] if i < len(head) else str(i)
            print(f"  row {ca[0]} {name}: reference {x[-90:]!r} / tidemark {y[-90:]!r}")
if len(a) != len(b):
    print(f"  rows: reference {len(a) - 1}, tidemark {len(b) - 1}")
PY
}

snapshot_compare() { # STAGE
  compat_schema "$dba" >"$compat_work/schema.a" 2>&1
  compat_schema "$dbb" >"$compat_work/schema.b" 2>&1
  compare "$1 schema" "$compat_work/schema.a" "$compat_work/schema.b"
  compat_data "$dba" "$set_name" >"$compat_work/data.a"
  compat_data "$dbb" "$set_name" >"$compat_work/data.b"
  compare "$1 data" "$compat_work/data.a" "$compat_work/data.b"
  compat_history "$dba" "$set_name" >"$compat_work/hist.a"
  compat_history "$dbb" "$set_name" >"$compat_work/hist.b"
  compare "$1 history" "$compat_work/hist.a" "$compat_work/hist.b" &&
    history_columns "$compat_work/hist.a" "$compat_work/hist.b"
  echo "compared $1: schema $(wc -l <"$compat_work/schema.a") lines, data $(wc -l <"$compat_work/data.a") lines, history $(($(wc -l <"$compat_work/hist.a") - 1)) rows (reference)"
}

# Each tool must see the other's database exactly as it sees its own: the same
# changesets pending (a failed failOnError=false changeset, or one skipped by an
# onFail=CONTINUE precondition, stays pending for both), no drift, and a
# passing Liquibase validate / Flyway validate.
tidemark_sees_as_own() { # STAGE
  compat_tidemark "$set_name" "$dba" "$compat_work/tmstatus.a" status -o json
  local rc=$?
  compat_tidemark "$set_name" "$dbb" "$compat_work/tmstatus.b" status -o json
  compat_tm_pending "$compat_work/tmstatus.a" >"$compat_work/tmpend.a"
  compat_tm_pending "$compat_work/tmstatus.b" >"$compat_work/tmpend.b"
  if [ "$rc" -ne 0 ] || grep -q -E '^(DRIFT|unreadable)' "$compat_work/tmpend.a"; then
    gap "$1: tidemark status on the reference's database (exit $rc): $(first_line "$compat_work/tmstatus.a" '^tidemark [a-z]+: ') $(grep -c '^DRIFT' "$compat_work/tmpend.a") drift, first: $(grep -m1 -E '^(DRIFT|unreadable)' "$compat_work/tmpend.a" | cut -c1-160)"
    head -n 20 "$compat_work/tmpend.a"
  elif ! cmp -s "$compat_work/tmpend.a" "$compat_work/tmpend.b"; then
    gap "$1: tidemark sees the reference's database unlike its own ($(wc -l <"$compat_work/tmpend.a") pending there, $(wc -l <"$compat_work/tmpend.b") on its own)"
    diff -u --label "tidemark status on reference's db" --label "tidemark status on its own db" \
      "$compat_work/tmpend.a" "$compat_work/tmpend.b" | head -n 30
  fi
}

reference_sees_as_own() { # STAGE
  if compat_is_liquibase "$set_name"; then
    compat_liquibase_many "$set_name" "$compat_work/lbcheck" \
      "$dba:status --verbose" "$dbb:status --verbose" "$dbb:validate"
    local rc=$?
    compat_lb_pending "$compat_work/lbcheck.1" >"$compat_work/lbpend.a"
    compat_lb_pending "$compat_work/lbcheck.2" >"$compat_work/lbpend.b"
    if [ "$rc" -ne 0 ] || ! grep -q 'No validation errors found' "$compat_work/lbcheck.3"; then
      gap "$1: Liquibase status/validate on tidemark's database: $(first_line "$compat_work/lbcheck" 'Unexpected error' 'checksum' 'ERROR')"
      grep -v '^\s*$' "$compat_work/lbcheck.3" | head -n 20
    fi
    if ! cmp -s "$compat_work/lbpend.a" "$compat_work/lbpend.b"; then
      gap "$1: Liquibase sees tidemark's database unlike its own ($(wc -l <"$compat_work/lbpend.b") pending there, $(wc -l <"$compat_work/lbpend.a") on its own)"
      diff -u --label "Liquibase status on its own db" --label "Liquibase status on tidemark's db" \
        "$compat_work/lbpend.a" "$compat_work/lbpend.b" | head -n 30
    fi
  else
    if ! compat_flyway "$set_name" "$dbb" "$compat_work/fwcheck.out" validate; then
      gap "$1: Flyway validate on tidemark's database: $(first_line "$compat_work/fwcheck.out" 'validate: INVALID|FlywayRun: ')"
      grep -E '^(validate|FlywayRun)' "$compat_work/fwcheck.out" | head -n 20
    fi
  fi
}

if [ "$tm_rc" -ne 0 ]; then
  gap "tidemark update fails: $(first_line "$compat_work/tm.out" '^tidemark [a-z]+: |^tidemark: ')"
  tail -n 10 "$compat_work/tm.out"
else
  # a compare of nothing proves nothing: the reference must have written history
  [ "$(compat_psql "$dba" -Atc "SELECT count(*) FROM $(compat_history_table "$set_name")" 2>&1)" -gt 0 ] 2>/dev/null ||
    fail "the reference run wrote no history rows in $(compat_history_table "$set_name")"
  snapshot_compare update
  # 5. cross-checks: each tool on the other's database
  reference_sees_as_own update
  tidemark_sees_as_own update
  # 6. rollback with both, compared again
  if [ -n "$rollback" ]; then
    case $rollback in
      tag:*)   lb_rb=(rollback "--tag=${rollback#tag:}"); tm_rb=(--to-tag "${rollback#tag:}") ;;
      count:*) lb_rb=(rollback-count "--count=${rollback#count:}"); tm_rb=(--count "${rollback#count:}") ;;
      *) fail "sets.tsv: bad rollback '$rollback'" ;;
    esac
    compat_liquibase "$set_name" "$dba" "$compat_work/lbrb.out" "${lb_rb[@]}" ||
      fail "the reference rollback ($rollback) fails (reference behaviour changed?): $(first_line "$compat_work/lbrb.out" 'Unexpected error')"
    if ! compat_tidemark "$set_name" "$dbb" "$compat_work/tmrb.out" rollback "${tm_rb[@]}"; then
      gap "tidemark rollback ($rollback) fails: $(first_line "$compat_work/tmrb.out" '^tidemark [a-z]+: |^tidemark: ')"
    else
      snapshot_compare "after rollback $rollback:"
    fi
  fi
fi

# --- verdict ----------------------------------------------------------------------
if ((${#gaps[@]} == 0)); then
  result identical ""
  [ "$exp_status" = identical ] ||
    fail "identical to the reference now, but expected.tsv says '$exp_status $exp_reason': update expected.tsv"
  echo "PASS [$set_name]: identical"
  exit 0
fi
result gap "$(printf '%s; ' "${gaps[@]}")"
[ "$exp_status" = gap ] || fail "expected identical, found ${#gaps[@]} difference(s): ${gaps[0]}"
echo "PASS [$set_name]: known gap (expected.tsv: $exp_reason)"
