#!/usr/bin/env bash
# tidemark tests/unit/chart_files_in_sync.sh — the chart renders the CRDs and the alerting
# rules from copies under manifests/chart/tidemark/files/, and the repository's own files stay
# the one source: each copy must equal its source byte for byte.
#   files/crds/*.yaml                      = what crds/kustomization.yaml lists, from crds/
#   files/prometheus/tidemark.rules.yaml   = manifests/prometheus/tidemark.rules.yaml
#   files/grafana/tidemark-dashboard.json  = manifests/grafana/tidemark-dashboard.json
#
# Why a checked copy: Helm reads only files inside the chart, and a symlink out of it is
# refused by GitOps tools that fetch charts from Git (Flux, Argo CD) and dropped from a
# packaged chart's meaning.  After changing a source, refresh the copies with:
#   cp crds/tidemark.dev_*.yaml manifests/chart/tidemark/files/crds/
#   cp manifests/prometheus/tidemark.rules.yaml manifests/chart/tidemark/files/prometheus/
#   cp manifests/grafana/tidemark-dashboard.json manifests/chart/tidemark/files/grafana/
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
files="$ROOT/manifests/chart/tidemark/files"

same() { # SOURCE COPY (paths relative to ROOT)
  cmp -s "$ROOT/$1" "$ROOT/$2" && return 0
  diff -u "$ROOT/$1" "$ROOT/$2" | head -20 >&2 || true
  fail "$2 differs from $1; run: cp $1 $2"
}

listed="$(sed -n 's/^- \(.*\.yaml\)$/\1/p' "$ROOT/crds/kustomization.yaml" | sort)"
copied="$(cd "$files/crds" && ls -- *.yaml | sort)"
[[ -n "$listed" ]] || fail "crds/kustomization.yaml lists no resources"
[[ "$listed" == "$copied" ]] \
  || fail "crds/kustomization.yaml lists [$(echo $listed)] but the chart has [$(echo $copied)] in files/crds/; run: cp crds/tidemark.dev_*.yaml manifests/chart/tidemark/files/crds/ (and remove the stale ones)"
for f in $listed; do same "crds/$f" "manifests/chart/tidemark/files/crds/$f"; done
same manifests/prometheus/tidemark.rules.yaml manifests/chart/tidemark/files/prometheus/tidemark.rules.yaml
same manifests/grafana/tidemark-dashboard.json manifests/chart/tidemark/files/grafana/tidemark-dashboard.json
echo "chart_files_in_sync: $(echo $listed | wc -w) CRDs, the alerting rules and the dashboard identical to their sources"
