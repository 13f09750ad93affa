#!/usr/bin/env bash
# tidemark tests/e2e/flux_recipe.sh — the README's Flux recipe (the ```yaml block after the
# "flux-recipe" marker) is valid for Flux's kustomize.toolkit.fluxcd.io/v1 API: Flux's own
# Kustomization CRD (config/crd/bases of github.com/fluxcd/kustomize-controller, fetched with
# `go mod download`, the Go module cache the project's Go tools use) is applied to the test
# API server, and the recipe goes through `kubectl apply --dry-run=server --validate=strict`
# in a fresh namespace (unknown or misspelt fields are errors, and every value is checked
# against the schema).  A copy with one field misspelt must be refused, so the check can
# fail.  Flux's CRD is left installed (as install_crds leaves tidemark's).
# Needs KUBECONFIG, TIDEMARK_K8S_BIN, go (>= 1.26) and the Go module proxy or a warm module cache.
set -euo pipefail
# shellcheck source=tests/lib/kube.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
require_controlplane
new_work_dir
FLUX_KUSTOMIZE_CONTROLLER=v1.9.6   # Flux's kustomize-controller; its API is v1

command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || fail "go not found (need Go >= 1.26; see hack/deps.sh)"
mod="github.com/fluxcd/kustomize-controller@$FLUX_KUSTOMIZE_CONTROLLER"
dir="$(cd "$WORK" && GOFLAGS= go mod download -json "$mod" |
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir", "")); sys.exit(bool(d.get("Error")))')" \
  || fail "go mod download $mod failed"
crd="$dir/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml"
[[ -f "$crd" ]] || fail "$mod has no $crd"
k apply --server-side --force-conflicts --field-manager=tidemark-e2e -f "$crd" >/dev/null \
  || fail "applying Flux's Kustomization CRD failed"
k wait --for=condition=Established --timeout=60s crd/kustomizations.kustomize.toolkit.fluxcd.io >/dev/null \
  || fail "Flux's Kustomization CRD never became Established"
new_namespace flux-recipe

# the recipe, as the README shows it, moved from flux-system to this test's namespace
python3 - "$ROOT/README.md" >"$WORK/recipe.yaml" <<'PY' || fail "no flux-recipe block in README.md"
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"<!-- flux-recipe[^\n]*-->\n```yaml\n(.*?)\n```", text, re.S)
if not m:
    sys.exit(1)
print(m.group(1))
PY
grep -q '^apiVersion: kustomize.toolkit.fluxcd.io/v1$' "$WORK/recipe.yaml" || fail "the recipe is not for Flux's v1 API"
sed -i "s/^  namespace: flux-system$/  namespace: $NS/" "$WORK/recipe.yaml"
[[ "$(grep -c "^kind: Kustomization$" "$WORK/recipe.yaml")" == 2 ]] || fail "expected two Kustomizations in the recipe"

out="$(k apply --dry-run=server --validate=strict -f "$WORK/recipe.yaml" 2>&1)" \
  || fail "Flux's API refuses the README's recipe: $out"
[[ "$(grep -c 'created (server dry run)' <<<"$out")" == 2 ]] || fail "expected two objects created (dry run): $out"
log "the README's Flux recipe is valid for kustomize.toolkit.fluxcd.io/v1 ($FLUX_KUSTOMIZE_CONTROLLER)"

# the same with a misspelt field and with a bad value: refused
sed 's/^  healthChecks:/  healthCheck:/' "$WORK/recipe.yaml" >"$WORK/misspelt.yaml"
grep -q '^  healthCheck:' "$WORK/misspelt.yaml" || fail "the recipe has no healthChecks line to misspell"
! out="$(k apply --dry-run=server --validate=strict -f "$WORK/misspelt.yaml" 2>&1)" \
  || fail "a misspelt field (healthCheck) was accepted: the check cannot fail"
grep -q 'unknown field "spec.healthCheck"' <<<"$out" || fail "misspelt field: unexpected error: $out"
sed 's/^  wait: true$/  wait: "yes"/' "$WORK/recipe.yaml" >"$WORK/badvalue.yaml"
grep -q 'wait: "yes"' "$WORK/badvalue.yaml" || fail "the recipe has no 'wait: true' line to spoil"
! k apply --dry-run=server --validate=strict -f "$WORK/badvalue.yaml" >/dev/null 2>&1 \
  || fail "wait: \"yes\" (a string) was accepted"
log "flux_recipe: ok"
