#!/usr/bin/env bash
# Writes a kustomize overlay that installs tidemark watching only the given namespaces:
# manifests/ with the watch-namespaces component (no ClusterRole), a Role and RoleBinding of
# role/ in each namespace, and --namespace=<the list> on the controller.  The paths to
# manifests/ are relative, so the overlay works wherever DIR is, as long as this checkout
# stays where it is.
#
#   manifests/components/watch-namespaces/overlay.sh DIR NAMESPACE...
#   kubectl apply -k DIR
#
# It renders what the chart renders with --set watchNamespaces={NAMESPACE,...}
# (tests/unit/chart_matches_kustomize.sh).  DIR is created; files in it are overwritten.
set -euo pipefail
if (( $# < 2 )); then
  echo "usage: $0 DIR NAMESPACE..." >&2
  exit 2
fi
dir=$1
shift
for ns in "$@"; do
  [[ "$ns" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || { echo "$0: not a namespace name: '$ns'" >&2; exit 2; }
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifests="$(cd "$here/../.." && pwd)"
dir="$(realpath -m "$dir")"
if [[ "$dir/" == "$manifests/"* ]]; then
  echo "$0: $dir is inside $manifests: kustomize refuses an overlay inside what it includes" >&2
  exit 2
fi
mkdir -p "$dir"
rel() { realpath --relative-to="$1" "$2"; }

list="$(IFS=,; echo "$*")"
{
  echo "# tidemark watching $list only (written by manifests/components/watch-namespaces/overlay.sh)."
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "- $(rel "$dir" "$manifests")"
  for ns in "$@"; do echo "- $ns"; done
  echo "components:"
  echo "- $(rel "$dir" "$here")"
  echo "patches:"
  echo "- target: {group: apps, kind: Deployment, name: tidemark-controller}"
  echo "  patch: |-"
  echo "    - op: add"
  echo "      path: /spec/template/spec/containers/0/args/-"
  echo "      value: --namespace=$list"
} >"$dir/kustomization.yaml"
for ns in "$@"; do
  mkdir -p "$dir/$ns"
  {
    echo "# The controller's Role and RoleBinding in $ns."
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "namespace: $ns"
    echo "resources:"
    echo "- $(rel "$dir/$ns" "$here/role")"
  } >"$dir/$ns/kustomization.yaml"
done
