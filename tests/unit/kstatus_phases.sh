#!/usr/bin/env bash
# tidemark tests/unit/kstatus_phases.sh — how Flux reads each tidemark phase: every object
# captured from the real controller under manifests/argocd/resource_customizations/
# tidemark.dev/<Kind>/testdata/ goes through the real kstatus library (hack/kstatus.sh:
# sigs.k8s.io/cli-utils status.Compute, what Flux's `wait: true` and `healthChecks` run),
# and the result must be the one below.
#
# The mapping (kstatus has three answers that matter to Flux: Current passes a wait,
# InProgress keeps it waiting, Failed fails it):
#   Current      Ready True for the current generation: DBSchema/DBInstance ready,
#                DBRollout Succeeded
#   InProgress   status.observedGeneration behind metadata.generation (a new object with
#                the CRDs' default {observedGeneration: -1}, a stale Ready, a rollout still
#                Applying, Verifying, RollingBack, waiting for its app, its instance or an approval), or
#                Reconciling True (a DBInstance retrying a connection, a DBSchema retrying a
#                fetch)
#   Failed       Stalled True: DBRollout Failed, RolledBack, Blocked; DBInstance Drifted or
#                without credentials; DBSchema whose changelog does not parse or whose
#                ConfigMap is missing
#   Current      an object with no status at all (new-no-status: captured with the CRDs
#                before the default). This is the hole the default closes — the apiserver
#                now never serves such an object — kept to show why it matters.
# Every captured file must have a line here, and every line a file.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
kstatus="$("$ROOT/hack/kstatus.sh" path)" || fail "hack/kstatus.sh could not build the kstatus classifier"
data="$ROOT/manifests/argocd/resource_customizations/tidemark.dev"

expected() {
  cat <<'TSV'
DBRollout/new-no-status         Current
DBRollout/new-default-status    InProgress
DBRollout/pending               InProgress
DBRollout/applying              InProgress
DBRollout/waiting-for-app       InProgress
DBRollout/verifying             InProgress
DBRollout/awaiting-approval     InProgress
DBRollout/rolling-back          InProgress
DBRollout/stale-ready           InProgress
DBRollout/succeeded             Current
DBRollout/failed                Failed
DBRollout/rolled-back           Failed
DBRollout/blocked               Failed
DBInstance/new-no-status        Current
DBInstance/new-default-status   InProgress
DBInstance/connect-failed       InProgress
DBInstance/stale-ready          InProgress
DBInstance/ready                Current
DBInstance/drifted              Failed
DBInstance/credentials-not-found Failed
DBSchema/new-no-status          Current
DBSchema/new-default-status     InProgress
DBSchema/fetch-retrying         InProgress
DBSchema/stale-ready            InProgress
DBSchema/ready                  Current
DBSchema/parse-failed           Failed
DBSchema/configmap-not-found    Failed
TSV
}

bad=0 n=0
declare -A want
while read -r case status; do want[$case]=$status; done < <(expected)
for f in "$data"/*/testdata/*.yaml; do
  rel="${f#"$data"/}"; case="${rel%%/*}/$(basename "$f" .yaml)"
  [[ -n "${want[$case]:-}" ]] || { log "no expected kstatus for $rel: add it to this test"; bad=1; continue; }
  got="$("$kstatus" <"$f")" || fail "kstatus failed on $rel"
  [[ "$(wc -l <<<"$got")" == 1 ]] || fail "$rel: expected one object, kstatus printed: $got"
  status="${got%%$'\t'*}"
  if [[ "$status" != "${want[$case]}" ]]; then
    log "$case: kstatus says $status, expected ${want[$case]} ($got)"; bad=1
  fi
  unset "want[$case]"; n=$((n + 1))
done
for case in "${!want[@]}"; do log "expected case $case has no captured object"; bad=1; done
(( bad == 0 )) || fail "kstatus disagrees with the documented mapping"
(( n >= 20 )) || fail "only $n captured objects found under $data"
echo "kstatus_phases: $n captured objects read as documented"
