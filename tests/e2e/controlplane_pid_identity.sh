#!/usr/bin/env bash
# tidemark tests/e2e/controlplane_pid_identity.sh — hack/controlplane.sh never signals a process
# that is not its own state dir's component, whatever its pidfiles say.
#
# Why: PIDs wrap within minutes on these machines and every state dir runs the same cached
# binaries, so a stale pidfile (its component died on its own) can hold the PID of ANOTHER
# cluster's kube-apiserver. The script once judged "ours" by the binary path alone and SIGTERMed
# that apiserver on the next stop/start. Two clusters side by side here: cluster A serves; state
# dir B gets stale pidfiles naming A's processes (PID with a wrong start time, which is exactly what
# PID reuse produces; PID alone, as old pidfiles were; the exact PID and start time, forged), and
# B is stopped, started, churned and stopped again. A must keep serving throughout, B must really
# start and stop, and A's own stop must still stop A.
set -euo pipefail

src="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cp="$src/hack/controlplane.sh"
work="$(mktemp -d /tmp/tm-pidid.XXXXXX)"
A="$work/a" B="$work/b"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
cp_in() { local dir=$1; shift; TIDEMARK_STATE_DIR="$dir" "$cp" "$@"; }
cleanup() {
  local rc=$?
  cp_in "$B" stop >/dev/null 2>&1 || true
  cp_in "$A" stop >/dev/null 2>&1 || true
  rm -rf "$work"
  ((rc == 0)) && log "PASS controlplane_pid_identity"
}
trap cleanup EXIT

start_time() { awk '{sub(/.*\) /, ""); print $20}' "/proc/$1/stat" 2>/dev/null; }
pidfile_pid() { awk '{print $1}' "$1/controlplane/pids/$2.pid"; }
readyz() { "$TIDEMARK_K8S_BIN/kubectl" --kubeconfig "$1/controlplane/kubeconfig" --request-timeout=5s get --raw /readyz; }

eval "$(cp_in "$A" start)" || fail "cluster A did not start"
declare -A a_pid a_start
for c in etcd kube-apiserver kube-controller-manager; do
  line="$(cat "$A/controlplane/pids/$c.pid")"
  a_pid[$c]="${line%% *}"
  a_start[$c]="$(start_time "${a_pid[$c]}")"
  [[ "$line" == "${a_pid[$c]} ${a_start[$c]}" ]] \
    || fail "pidfile of $c holds '$line', expected 'PID STARTTIME' = '${a_pid[$c]} ${a_start[$c]}'"
done

a_serves() { # every process of A is the one it started, and its apiserver answers /readyz
  local c
  for c in etcd kube-apiserver kube-controller-manager; do
    [[ "$(start_time "${a_pid[$c]}")" == "${a_start[$c]}" ]] \
      || fail "after $1: cluster A's $c (pid ${a_pid[$c]}) is gone: state dir B's script signalled it"
  done
  readyz "$A" >/dev/null || fail "after $1: cluster A's kube-apiserver does not answer /readyz"
}

stale_pidfiles() { # stale_pidfiles FORMAT: B's pidfiles name A's processes
  local c line
  rm -rf "$B/controlplane/pids"; mkdir -p "$B/controlplane/pids"
  for c in etcd kube-apiserver kube-controller-manager; do
    case $1 in
      reused) line="${a_pid[$c]} $((a_start[$c] - 1000))" ;;  # same PID, an older process's start
      pid-only) line="${a_pid[$c]}" ;;                         # pidfiles before start times
      forged) line="${a_pid[$c]} ${a_start[$c]}" ;;            # even A's exact identity
    esac
    echo "$line" >"$B/controlplane/pids/$c.pid"
  done
}

for format in reused pid-only forged; do
  stale_pidfiles "$format"
  cp_in "$B" stop 2>/dev/null || fail "stop in B with $format pidfiles failed"
  a_serves "stop in B with $format pidfiles"
  [[ -z "$(ls -A "$B/controlplane/pids")" ]] || fail "stop in B left its $format pidfiles behind"
done
log "stop with stale pidfiles (reused PID, PID only, forged identity) left A alone"

# start and churn in B from stale pidfiles: B gets its own cluster, A is untouched
for round in 1; do
  stale_pidfiles reused
  cp_in "$B" start >/dev/null 2>&1 || fail "round $round: start in B over stale pidfiles failed"
  a_serves "round $round: start in B"
  b_api="$(pidfile_pid "$B" kube-apiserver)"
  [[ "$b_api" != "${a_pid[kube-apiserver]}" ]] || fail "round $round: B's pidfile still names A's apiserver"
  readyz "$B" >/dev/null || fail "round $round: B's own kube-apiserver does not answer /readyz"
  cp_in "$B" restart-apiserver >/dev/null 2>&1 || fail "round $round: restart-apiserver in B failed"
  a_serves "round $round: restart-apiserver in B"
  b_api="$(pidfile_pid "$B" kube-apiserver)"
  cp_in "$B" stop 2>/dev/null || fail "round $round: stop in B failed"
  a_serves "round $round: stop in B"
  [[ -z "$(start_time "$b_api")" ]] || fail "round $round: stop in B left B's kube-apiserver (pid $b_api) running"
done
log "a start/restart/stop round in B from stale pidfiles left A alone"

# the identity check must not make stop a no-op for the owner
cp_in "$A" stop 2>/dev/null || fail "stop in A failed"
for c in etcd kube-apiserver kube-controller-manager; do
  [[ -z "$(start_time "${a_pid[$c]}")" ]] || fail "stop in A left A's $c (pid ${a_pid[$c]}) running"
done
log "stop in A stopped all of A"
