#!/usr/bin/env bash
# tidemark tests/e2e/security_canary.sh — secrets never leak: a controller at
# --log-level debug handles (1) a good database password, (2) a wrong password
# in userSecretRef, (3) a wrong password inside a urlSecretRef URL, (4) a Git
# credential Secret that works and (5) one that is refused by a real Git HTTP
# server (git http-backend behind tests/integration/source_git_http.py).  Each
# secret is a distinct random canary; none may appear in the controller's log,
# in any DBSchema/DBInstance/DBRollout (status included) or in any Event.  The
# failures must still be reported (auth errors visible in the status).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/git.sh"
rollout_setup canary
canary() { echo "cny$1$(random_hex 8)"; }
C_BAD="$(canary bad)"; C_URL="$(canary url)"; C_GIT_OK="$(canary gitok)"; C_GIT_BAD="$(canary gitbad)"

new_work_dir

# a Git repository served over smart HTTP with Basic auth (user e2e, password C_GIT_OK)
g() { git_in "$WORK/repo" "$@"; }
git init -q -b main "$WORK/repo"
mkdir -p "$WORK/repo/db"
printf 'databaseChangeLog:\n  - changeSet:\n      id: 1\n      author: e2e\n      changes:\n        - tagDatabase: {tag: v1}\n' >"$WORK/repo/db/changelog.yaml"
g add -A && g commit -qm v1
start_git_http "$WORK" e2e "$C_GIT_OK" "tok$C_GIT_OK"
start_controller --log-level debug

# (1) the good password: a rollout that succeeds
table_changelog c1 v1 | apply_schema s
apply_instance good s Warn
apply_rollout r-good good v1

# (2) wrong password in userSecretRef, (3) wrong password in a urlSecretRef URL
hostport="${PG_BASE#*@}"; host="${hostport%:*}"; port="${hostport##*:}"
k -n "$NS" create secret generic db-bad --from-literal=username="$ROLE" --from-literal=password="$C_BAD" >/dev/null
k -n "$NS" create secret generic db-url --from-literal=url="postgresql://$ROLE:$C_URL@$host:$port/$DB?sslmode=disable" >/dev/null
k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: bad}
spec:
  schemaRef: {name: s}
  connection: {host: "$host", port: $port, database: "$DB", sslMode: disable, userSecretRef: {name: db-bad}}
---
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: badurl}
spec:
  schemaRef: {name: s}
  connection: {urlSecretRef: {name: db-url, key: url}}
YAML
apply_rollout r-bad bad v1
apply_rollout r-badurl badurl v1

# (4) a working Git credential, (5) a refused one
k -n "$NS" create secret generic git-ok --from-literal=username=e2e --from-literal=password="$C_GIT_OK" >/dev/null
k -n "$NS" create secret generic git-bad --from-literal=username=e2e --from-literal=password="$C_GIT_BAD" >/dev/null
for s in ok bad; do
  k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: git-$s}
spec:
  changelog: changelog.yaml
  source:
    git: {url: "http://127.0.0.1:$GIT_HTTP_PORT/repo", ref: {branch: main}, path: db, secretRef: {name: git-$s}}
YAML
done

phase_becomes r-good Succeeded 90 || fail "r-good did not succeed"
inst_msg() { k -n "$NS" get dbinstance "$1" -o jsonpath='{range .status.conditions[*]}{.type}={.status}: {.message}; {end}'; }
wait_for -t 60 eval "inst_msg bad | grep -q 'password authentication failed'" \
  || fail "DBInstance bad does not report the authentication failure: $(inst_msg bad)"
wait_for -t 60 eval "inst_msg badurl | grep -q 'password authentication failed'" \
  || fail "DBInstance badurl does not report the authentication failure: $(inst_msg badurl)"
wait_for -t 60 eval '[[ -n "$(k -n "$NS" get dbschema git-ok -o jsonpath="{.status.revision}")" ]]' \
  || fail "DBSchema git-ok has no revision"
wait_for -t 60 eval "k -n \"\$NS\" get dbschema git-bad -o jsonpath='{.status.conditions}' | grep -Eqi 'auth|401|credential|password'" \
  || fail "DBSchema git-bad does not report the refused credential: $(k -n "$NS" get dbschema git-bad -o jsonpath='{.status.conditions}')"
# the refused Git credential is logged (at debug): the log did see the failing path
wait_for -t 30 grep -q 'authentication failed' "$CTL_LOG" || fail "the refused Git credential was not logged"
grep -q '"level":"debug"' "$CTL_LOG" || fail "the controller did not log at debug level"

for c in "$CANARY" "$C_BAD" "$C_URL" "$C_GIT_OK" "$C_GIT_BAD"; do
  assert_no_secret "$c" "$CTL_LOG"
done
log "$(wc -l <"$CTL_LOG") log lines, $(grep -c '"level":"debug"' "$CTL_LOG") at debug: no secret in them"
