#!/usr/bin/env bash
# tidemark tests/unit/chart_crds_in_sync.sh — crds/ is the one source of the CRDs; the chart
# renders them (templates/crds.yaml) from manifests/chart/tidemark/files/crds/, which must
# hold exactly the files crds/kustomization.yaml lists, byte for byte.
#
# Why a checked copy: Helm reads only files inside the chart, and a symlink out of it is
# refused by GitOps tools that fetch charts from Git (Flux, Argo CD) and by `helm package`
# users' archives alike.  After changing crds/, refresh the copy with:
#   cp crds/tidemark.dev_*.yaml manifests/chart/tidemark/files/crds/
set -euo pipefail
ROOT="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
src="$ROOT/crds" copy="$ROOT/manifests/chart/tidemark/files/crds"
fix="run: cp crds/tidemark.dev_*.yaml manifests/chart/tidemark/files/crds/"

listed="$(sed -n 's/^- \(.*\.yaml\)$/\1/p' "$src/kustomization.yaml" | sort)"
copied="$(cd "$copy" && ls -- *.yaml | sort)"
[[ -n "$listed" ]] || { echo "FAIL: crds/kustomization.yaml lists no resources" >&2; exit 1; }
[[ "$listed" == "$copied" ]] || {
  echo "FAIL: crds/kustomization.yaml lists [$(echo $listed)] but the chart has [$(echo $copied)]; $fix" >&2
  exit 1
}
for f in $listed; do
  cmp -s "$src/$f" "$copy/$f" || {
    echo "FAIL: manifests/chart/tidemark/files/crds/$f differs from crds/$f; $fix" >&2
    diff -u "$src/$f" "$copy/$f" | head -20 >&2
    exit 1
  }
done
echo "chart_crds_in_sync: $(echo $listed | wc -w) CRDs identical to crds/"
