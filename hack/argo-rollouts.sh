#!/usr/bin/env bash
# tidemark hack/argo-rollouts.sh — owns the REAL Argo Rollouts controller the appRef e2e test
# runs against: its build, its CRDs, and starting/stopping it as a host process beside the
# test control plane (hack/controlplane.sh).
#
# Why: a DBRollout's appRef may name an argoproj.io/v1alpha1 Rollout, and what tidemark reads
# from one (status.phase, status.abort, currentPodHash, stableRS, the undo) must come from
# Argo's own controller, never from a test that patches a Rollout's status. Nothing prebuilt
# can be downloaded here, so, like promtool and kstatus (hack/lib/gotool.sh), it is built from
# Go modules: hack/argo-rollouts/go.mod pins github.com/argoproj/argo-rollouts (a `tool`
# directive names cmd/rollouts-controller; its go.sum is the dependency set upstream tested,
# and its replace block is upstream's, which `go install module@version` would refuse).
# That module needs Go >= 1.26.10, newer than the machine's Go, so this script exports
# GOTOOLCHAIN=go1.27.3: the go command takes that toolchain from the Go module proxy like any
# module (about 76 MB, once per machine). The CRDs are the module's own manifests/crds.
#
# Subcommands:
#   build   build rollouts-controller into
#           ${XDG_CACHE_HOME:-$HOME/.cache}/tidemark/argo-rollouts-<version>/bin and copy the
#           module's CRDs to .../crds (a no-op when up to date: one stamp hash, no go command)
#   path    print the built binary's path; fails, saying to build, when it is not built
#   crds    print the directory holding the CRD files
#   start   (KUBECONFIG and TIDEMARK_K8S_BIN from hack/controlplane.sh) apply the CRDs, start
#           the controller as a host process against that cluster, wait for its /healthz and
#           for the Rollout CRD to be served; idempotent (already running: nothing to do)
#   stop    stop it (SIGTERM, wait, SIGKILL); safe when nothing runs
#   status  exit 0 if it runs and /healthz answers
#
# State (pid, log, ports, a copy of the kubeconfig):
#   ${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}/argo-rollouts/   (log: logs/rollouts-controller.log)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD_DIR="$SCRIPT_DIR/argo-rollouts"
ARGO_MODULE=github.com/argoproj/argo-rollouts
# the module needs go >= 1.26.10; the machine's Go is older (see the header)
export GOTOOLCHAIN=go1.27.3

log() { printf 'argo-rollouts: %s\n' "$*" >&2; }
die() { printf 'argo-rollouts: ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=hack/lib/gotool.sh
source "$SCRIPT_DIR/lib/gotool.sh"

ARGO_VERSION="$(awk -v m="$ARGO_MODULE" '($1==m && $2 ~ /^v/) {print $2; exit} ($1=="require" && $2==m) {print $3; exit}' "$MOD_DIR/go.mod")"
[[ -n "$ARGO_VERSION" ]] || die "cannot find $ARGO_MODULE in $MOD_DIR/go.mod"
CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/tidemark/argo-rollouts-${ARGO_VERSION}"
BIN="$CACHE_DIR/bin/rollouts-controller"
CRD_DIR="$CACHE_DIR/crds"
STATE_DIR="${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}/argo-rollouts"

LDFLAGS_V="$ARGO_MODULE/utils/version"
LDFLAGS="-X $LDFLAGS_V.version=${ARGO_VERSION#v} -X $LDFLAGS_V.gitTag=$ARGO_VERSION -X $LDFLAGS_V.gitCommit=$ARGO_VERSION -X $LDFLAGS_V.gitTreeState=clean"
# up to date: the binary's stamp is the current one (go.mod, go.sum, toolchain, flags) and the
# CRDs were copied for it
built() {
  gotool_find_go
  local want; want="$(gotool_stamp "$MOD_DIR" "" "$LDFLAGS")"
  [[ -x "$BIN" && "$(cat "$CACHE_DIR/stamp" 2>/dev/null)" == "$want" && "$(cat "$CRD_DIR/stamp" 2>/dev/null)" == "$want" ]]
}

cmd_build() {
  gotool_build "$MOD_DIR" "$CACHE_DIR" rollouts-controller "$ARGO_MODULE/cmd/rollouts-controller" \
    "" --version "$LDFLAGS"
  # the CRDs of the very module version built (kustomization.yaml is not a CRD)
  if [[ ! -f "$CRD_DIR/stamp" || "$(cat "$CRD_DIR/stamp")" != "$(cat "$CACHE_DIR/stamp")" ]]; then
    local src
    src="$(cd "$MOD_DIR" && GOFLAGS="-mod=readonly ${GOFLAGS:-}" go list -m -f '{{.Dir}}' "$ARGO_MODULE")" \
      || die "cannot locate $ARGO_MODULE in the module cache"
    rm -rf "$CRD_DIR"; mkdir -p "$CRD_DIR"
    cp "$src"/manifests/crds/*-crd.yaml "$CRD_DIR/"
    chmod 644 "$CRD_DIR"/*.yaml
    cp "$CACHE_DIR/stamp" "$CRD_DIR/stamp"
  fi
}

# ---------------------------------------------------------------- start / stop
DAEMON_DIR="$STATE_DIR"
daemon_bin() { echo "$BIN"; }
# shellcheck source=hack/lib/daemons.sh
source "$SCRIPT_DIR/lib/daemons.sh"

kctl() {
  "$TIDEMARK_K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG" --request-timeout=10s "$@"
}
healthz_port() { awk -F= '$1=="healthz" {print $2}' "$STATE_DIR/ports" 2>/dev/null; }
healthy() { curl -fsS "http://127.0.0.1:$(healthz_port)/healthz" >/dev/null 2>&1; }

cmd_start() {
  [[ -n "${TIDEMARK_K8S_BIN:-}" && -n "${KUBECONFIG:-}" ]] \
    || die "KUBECONFIG and TIDEMARK_K8S_BIN are not set: eval \"\$(hack/controlplane.sh start)\" first"
  built || cmd_build
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/.lock"
  flock -w 60 9 || die "$STATE_DIR/.lock held for 60 s"
  if component_alive rollouts-controller && cmp -s "$KUBECONFIG" "$STATE_DIR/kubeconfig" && healthy; then
    log "already running (state in $STATE_DIR)"; return 0
  fi
  any_pidfile && stop_one rollouts-controller
  local t0; t0=$(date +%s.%N)
  kctl apply --server-side --force-conflicts -f "$CRD_DIR" >/dev/null || die "could not apply the Argo Rollouts CRDs"
  # (kubectl wait fails at once on a CRD created a moment ago: no conditions yet)
  local i established=""
  for i in $(seq 120); do
    established="$(kctl get crd rollouts.argoproj.io -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' 2>/dev/null || true)"
    [[ "$established" == True ]] && break
    sleep 0.5
  done
  [[ "$established" == True ]] || die "the Rollout CRD was not established within 60 s"
  # its own copy of the kubeconfig: the command line then names $STATE_DIR (daemons.sh's identity)
  rm -f "$STATE_DIR/kubeconfig"; (umask 077; cp "$KUBECONFIG" "$STATE_DIR/kubeconfig")
  local ports; mapfile -t ports < <(free_ports 2)
  printf 'healthz=%s\nmetrics=%s\n' "${ports[0]}" "${ports[1]}" >"$STATE_DIR/ports"
  launch rollouts-controller --kubeconfig "$STATE_DIR/kubeconfig" --leader-elect=false \
    --healthzPort "${ports[0]}" --metricsPort "${ports[1]}" --loglevel info
  wait_until 120 "rollouts-controller /healthz" rollouts-controller healthy \
    || { stop_one rollouts-controller; die "rollouts-controller did not become healthy (log: $STATE_DIR/logs/rollouts-controller.log)"; }
  log "rollouts-controller $ARGO_VERSION ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s (log: $STATE_DIR/logs/rollouts-controller.log)"
}

cmd_stop() {
  [[ -d "$STATE_DIR" ]] || { log "nothing to stop"; return 0; }
  exec 9>"$STATE_DIR/.lock"
  flock -w 60 9 || log "warning: $STATE_DIR/.lock held for 60 s; stopping anyway"
  if any_pidfile; then stop_one rollouts-controller; else log "nothing running"; fi
}

case "${1:-}" in
  build) cmd_build ;;
  path) built || die "Argo Rollouts $ARGO_VERSION is not built: run hack/argo-rollouts.sh build"; echo "$BIN" ;;
  crds) built || die "Argo Rollouts $ARGO_VERSION is not built: run hack/argo-rollouts.sh build"; echo "$CRD_DIR" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) component_alive rollouts-controller && healthy ;;
  *) echo "usage: $0 {build|path|crds|start|stop|status}" >&2; exit 2 ;;
esac
