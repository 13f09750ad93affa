# shellcheck shell=bash
# tidemark tests/lib/controller.sh — a `tidemark controller` process under test: start it,
# stop it gracefully (it must exit 0), crash it (SIGKILL), read what it logged, and check
# that no secret leaked into its log, the API objects or the Events.
#
#   start_controller [ARGS...] `tidemark controller --namespace NS` on loopback ports with
#                              JSON logs appended to CTL_LOG (ARGS are added); pid in CTL_PID.
#                              The first start registers the exit hook: stop, then fail the
#                              test when the log shows a sanitizer report or a graceful stop
#                              did not exit 0, and print the log's tail when the test failed.
#   stop_controller            SIGTERM and wait; the exit status joins CTL_STOP_RCS
#   crash_controller           SIGKILL and wait: no graceful shutdown
#   start_leader_candidate LOG LEASE   `tidemark controller --leader-elect` for NS with Lease
#                              NS/LEASE, JSON log to LOG; its pid in $! (the caller stops it)
#   log_identity LOG           the identity a controller logged at start
#   log_port LOG metrics|health   the port it logged in "http listening"
#   metrics                    the controller's /metrics text (port from CTL_LOG)
#   assert_no_secret SECRET LOG...   fail when SECRET is in the tidemark objects or Events of
#                              NS, or in any LOG (the message shows only its first 9 chars)
# Needs: TIDEMARK_BIN, NS, CTL_LOG (set by the caller, or by rollout_setup).

[[ -n "${TM_LIB_CONTROLLER_LOADED:-}" ]] && return 0
TM_LIB_CONTROLLER_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/kube.sh"

CTL_PID=""
CTL_STOP_RCS=()
_tm_ctl_hooked=""

start_controller() {
  if [[ -z "$_tm_ctl_hooked" ]]; then
    _tm_ctl_hooked=1
    at_exit _controller_exit_hook
  fi
  "$TIDEMARK_BIN" controller --namespace "$NS" --metrics-addr 127.0.0.1:0 \
    --health-addr 127.0.0.1:0 --log-format json "$@" >>"$CTL_LOG" 2>&1 &
  CTL_PID=$!
  log "controller pid $CTL_PID"
}

# SIGTERM and wait: the controller drains and must exit 0 (the exit hook fails the test
# otherwise; under tests/valgrind_run.sh an error report makes it 99).  CTL_STOP_RCS holds
# the exit status of each graceful stop that found a controller running (after a
# crash_controller there is nothing to stop); "?" when this shell is not its parent (a
# subshell) and can only wait for it to be gone.
stop_controller() {
  if [[ -n "$CTL_PID" ]]; then
    local rc=0 i
    kill "$CTL_PID" 2>/dev/null || true
    wait "$CTL_PID" 2>/dev/null || rc=$?
    if [[ $rc -eq 127 ]]; then
      rc="?"
      for ((i = 0; i < 1200; i++)); do kill -0 "$CTL_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    CTL_STOP_RCS+=("$rc")
    CTL_PID=""
  fi
}

crash_controller() {
  if [[ -n "$CTL_PID" ]]; then
    kill -9 "$CTL_PID" 2>/dev/null || true
    wait "$CTL_PID" 2>/dev/null || true
    CTL_PID=""
  fi
}

# exit hook: sets TM_RC=1 on a sanitizer report or an unclean graceful stop
_controller_exit_hook() {
  stop_controller
  # an ASan/UBSan build of the controller reports into its log (and aborts)
  if [[ -f "$CTL_LOG" ]] && grep -qE "Sanitizer|runtime error:" "$CTL_LOG"; then
    log "the controller reported a sanitizer error:"
    grep -E -A20 "Sanitizer|runtime error:" "$CTL_LOG" | head -n 60 >&2 || true
    TM_RC=1
  fi
  local stop_rc
  for stop_rc in "${CTL_STOP_RCS[@]}"; do
    if [[ "$stop_rc" != 0 && "$stop_rc" != "?" ]]; then
      log "the controller exited $stop_rc on SIGTERM (want 0)"
      TM_RC=1
      break
    fi
  done
  if [[ $TM_RC -ne 0 && -f "$CTL_LOG" ]]; then
    log "controller log (last 40 lines):"
    grep -v "\"reconciled\"" "$CTL_LOG" | tail -n 40 >&2 || true
    k -n "$NS" get dbschemas,dbinstances,dbrollouts,deployments -o yaml 2>/dev/null | tail -n 120 >&2 || true
  fi
}

start_leader_candidate() {
  "$TIDEMARK_BIN" controller --leader-elect --leader-election-namespace "$NS" \
    --leader-election-id "$2" --namespace "$NS" --log-format json \
    --metrics-addr 127.0.0.1:0 --health-addr 127.0.0.1:0 >"$1" 2>&1 &
}

log_identity() { sed -n 's/.*"msg":"controller starting".*"identity":"\([^"]*\)".*/\1/p' "$1" | head -1; }
log_port() { sed -n 's/.*"msg":"http listening".*"'"$2"'_port":\([0-9]*\).*/\1/p' "$1" | head -1; }

metrics() {
  local port
  port="$(grep -o '"metrics_port":[0-9]*' "$CTL_LOG" | tail -n 1 | cut -d: -f2)"
  [[ -n "$port" ]] || return 1
  curl -fsS "http://127.0.0.1:$port/metrics"
}

assert_no_secret() {
  local secret=$1 dump f; shift
  dump="$(k -n "$NS" get dbschemas,dbinstances,dbrollouts,events -o yaml 2>&1)"
  [[ "$dump" != *"$secret"* ]] || fail "secret ${secret:0:9}... appears in the API objects or Events"
  for f in "$@"; do
    ! grep -q "$secret" "$f" || fail "secret ${secret:0:9}... appears in $f: $(grep -m1 "$secret" "$f" | cut -c1-300)"
  done
}
