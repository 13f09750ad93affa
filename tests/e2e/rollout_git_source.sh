#!/usr/bin/env bash
# tidemark tests/e2e/rollout_git_source.sh — a DBSchema fed from a Git branch (file:// here):
# the rollout applies what the DBSchema reported; a new commit with a new tag is picked up on
# the interval; a later commit that does not parse leaves the DBSchema Stalled at the last good
# revision, and the DBInstance keeps working from that pinned revision.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/git.sh"
require_cmd git
rollout_setup gitsrc
REPO="$(mktemp -d /tmp/tidemark-e2e-repo.XXXXXX)"
export TIDEMARK_GIT_CACHE="$(mktemp -d /tmp/tidemark-e2e-gitcache.XXXXXX)"
export TIDEMARK_GIT_ALLOW_FILE=1
at_exit 'rm -rf "$REPO" "$TIDEMARK_GIT_CACHE"'

g() { git_in "$REPO" "$@"; }
git init -q -b main "$REPO"
table_changelog g1 v1 >"$REPO/changelog.yaml"
g add changelog.yaml && g commit -qm v1
k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: gitschema}
spec:
  changelog: changelog.yaml
  source:
    git: {url: "file://$REPO", ref: {branch: main}, interval: 2s}
YAML
apply_instance db gitschema Warn
apply_rollout r db v1
start_controller

phase_becomes r Succeeded 60 || fail "v1 from git not applied"
# (the DBSchema's own reconcile writes its status: it may land just after the rollout's)
wait_for_output -t 30 "$(g rev-parse HEAD)" k -n "$NS" get dbschema gitschema -o jsonpath='{.status.revision}' \
  || fail "status.revision should be the commit"

# a new commit with a new tag
{
  changeset_yaml 3 "CREATE TABLE g2 (id int)" "DROP TABLE g2"
  tag_yaml 4 v2
} >>"$REPO/changelog.yaml"
g commit -qam v2
good="$(g rev-parse HEAD)"
wait_for_output -t 60 "v2 $good" k -n "$NS" get dbschema gitschema \
  -o jsonpath='{.status.latestTag} {.status.revision}' || fail "new commit not picked up"
k -n "$NS" patch dbrollout r --type=merge -p '{"spec":{"tag":"v2"}}' >/dev/null
wait_for_output -t 60 "Succeeded v2" k -n "$NS" get dbrollout r \
  -o jsonpath='{.status.phase} {.status.appliedTag}' || fail "v2 not applied"

# a commit that does not parse: Stalled, revision stays at the last good one
printf 'databaseChangeLog:\n  - changeSet: [\n' >"$REPO/changelog.yaml"
g commit -qam broken
wait_for_output -t 60 "True ParseFailed" k -n "$NS" get dbschema gitschema \
  -o jsonpath='{.status.conditions[?(@.type=="Stalled")].status} {.status.conditions[?(@.type=="Stalled")].reason}' \
  || fail "broken commit not reported"
[[ "$(k -n "$NS" get dbschema gitschema -o jsonpath='{.status.revision}')" == "$good" ]] \
  || fail "status.revision should stay at the last good commit"
k -n "$NS" annotate dbinstance db e2e/poke="$(date +%s%N)" --overwrite >/dev/null
wait_for_output -t 60 "True $good" k -n "$NS" get dbinstance db \
  -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.schemaRevision}' \
  || fail "DBInstance should stay Ready on the pinned revision"
assert_no_canary
