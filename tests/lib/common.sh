# shellcheck shell=bash
# tidemark tests/lib/common.sh — the helpers every test script (and hack/demo.sh) shares:
# progress lines, failing, polling to a deadline, and one ordered set of exit hooks.
# Source it (not a test; ctest globs only tests/<kind>/*.sh).  The other tests/lib files
# source it themselves.
#
#   log MSG...                 progress line on stderr, with the time
#   fail MSG...                "FAIL: MSG" on stderr and exit 1: the ONLY meaning of fail
#   soft_fail MSG...           "FAIL: MSG" on stderr, counted in FAILURES, and carry on
#                              (scripts that report every broken case, then finish)
#   finish_soft NAME           after soft_fail: "NAME: N failure(s)" and exit 1, or "NAME: ok"
#   wait_for [-t S] [-i S] CMD...        poll CMD until it succeeds (default E2E_TIMEOUT or 60 s,
#                              every 0.5 s); for a pipeline use `wait_for eval 'a | grep -q b'`
#   wait_for_output [-t S] EXPECTED CMD... poll until CMD's stdout == EXPECTED; on timeout log
#                              expected vs last output and return 1
#                              (both wait S * TM_WAIT_SCALE: tests/valgrind_run.sh sets 3, as the
#                              controller under valgrind starts and reconciles several times slower;
#                              and poll every 0.5 s * TM_WAIT_SCALE unless -i says: a poll is often a
#                              kubectl, ~0.07 s of CPU, and a valgrind rerun's waits are 3 times as
#                              long and as many polls)
#   at_exit CODE               run CODE when the script exits (last registered runs first); the
#                              hooks see the exit status in TM_RC and may set it (e.g. to 1
#                              when a log shows a sanitizer report); then "PASS <script>" or
#                              "<script> failed (rc=N)" is logged and the script exits TM_RC
#   require_cmd NAME...        fail unless each command is on PATH
#   require_tidemark           fail unless TIDEMARK_BIN is an executable
#   new_work_dir               mktemp -d into WORK, removed at exit
#   free_port                  print a free loopback TCP port
#   random_hex [BYTES]         print BYTES (default 8) random bytes as hex
# ROOT is the source tree (TIDEMARK_SOURCE_DIR, else found from this file).

[[ -n "${TM_LIB_COMMON_LOADED:-}" ]] && return 0
TM_LIB_COMMON_LOADED=1

ROOT="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

FAILURES=0
soft_fail() {
  printf 'FAIL: %s\n' "$*" >&2
  FAILURES=$((FAILURES + 1))
}

finish_soft() {
  if (( FAILURES > 0 )); then
    echo "$1: $FAILURES failure(s)" >&2
    exit 1
  fi
  echo "$1: ok"
}

# _wait_interval VAR: VAR = the default poll interval, 0.5 s * TM_WAIT_SCALE
_wait_interval() { local ms=$(( 500 * ${TM_WAIT_SCALE:-1} )); printf -v "$1" '%d.%03d' $(( ms / 1000 )) $(( ms % 1000 )); }

wait_for() {
  local timeout="${E2E_TIMEOUT:-60}" interval
  _wait_interval interval
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -t) timeout=$2; shift 2 ;;
      -i) interval=$2; shift 2 ;;
      *) break ;;
    esac
  done
  timeout=$(( timeout * ${TM_WAIT_SCALE:-1} ))
  local deadline=$(( $(date +%s) + timeout ))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if (( $(date +%s) >= deadline )); then
      log "timed out after ${timeout}s waiting for: $*"
      return 1
    fi
    sleep "$interval"
  done
}

wait_for_output() {
  local timeout="${E2E_TIMEOUT:-60}"
  if [[ "${1:-}" == "-t" ]]; then timeout=$2; shift 2; fi
  timeout=$(( timeout * ${TM_WAIT_SCALE:-1} ))
  local expected=$1; shift
  local deadline=$(( $(date +%s) + timeout )) got="" interval
  _wait_interval interval
  while :; do
    got="$("$@" 2>&1)" || true
    [[ "$got" == "$expected" ]] && return 0
    if (( $(date +%s) >= deadline )); then
      log "timed out after ${timeout}s: expected '$expected' from: $*; last output: '$got'"
      return 1
    fi
    sleep "$interval"
  done
}

TM_EXIT_HOOKS=()
TM_RC=0
at_exit() {
  TM_EXIT_HOOKS+=("$1")
  trap _tm_run_exit_hooks EXIT
}

_tm_run_exit_hooks() {
  TM_RC=$?
  set +e
  local i
  for ((i = ${#TM_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
    eval "${TM_EXIT_HOOKS[i]}"
  done
  if [[ $TM_RC -eq 0 ]]; then log "PASS $(basename "$0" .sh)"; else log "$(basename "$0" .sh) failed (rc=$TM_RC)"; fi
  exit "$TM_RC"
}

require_cmd() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null || fail "$c is not installed"; done
}

require_tidemark() {
  [[ -x "${TIDEMARK_BIN:-}" ]] || fail "TIDEMARK_BIN is not set to the built tidemark binary (run through ctest / hack/test.sh)"
}

new_work_dir() {
  WORK="$(mktemp -d)"
  at_exit 'rm -rf "$WORK"'
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

random_hex() { od -An -N"${1:-8}" -tx1 /dev/urandom | tr -d ' \n'; }
