#!/usr/bin/env bash
# tidemark tests/e2e/bad_input_git_url.sh — DBSchema Git URLs with shell
# metacharacters and option/transport injection attempts.  Two layers:
#   1. the CRD's schema rejects `;`, `$( )`, backticks, `|`, spaces and
#      embedded credentials at `kubectl apply` (clear message, nothing stored);
#   2. URLs the schema lets through (percent-encoded payloads, a host that is an
#      option `-oProxyCommand=...`) reach the controller, which never uses a
#      shell (argv + posix_spawnp): the DBSchema ends Ready=False (Stalled for
#      an invalid URL) with a clear condition.
# In every case no command ran: the marker files the payloads would create
# do not exist.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup badgit
MARK="/tmp/tm-badgit-$$-$RANDOM"
at_exit 'rm -f "$MARK".*'

schema_yaml() { # NAME URL
  cat <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: $1}
spec:
  changelog: changelog.yaml
  source:
    git:
      url: '$2'
      ref: {branch: main}
YAML
}

# 1. rejected by the API server
i=0
for url in "https://example.invalid/r.git;touch $MARK.a" \
           "https://example.invalid/\$(touch $MARK.b).git" \
           "https://example.invalid/\`touch $MARK.c\`.git" \
           "https://example.invalid/r.git|touch $MARK.d" \
           "ext::sh -c touch% $MARK.e" \
           "https://user:pw@example.invalid/r.git"; do
  i=$((i + 1))
  if out="$(schema_yaml "rej$i" "$url" | k -n "$NS" apply -f - 2>&1)"; then
    fail "the API server accepted spec.source.git.url '$url'"
  fi
  grep -q 'spec.source.git.url' <<<"$out" || fail "rejection of '$url' does not name the field: $out"
  log "rejected: $url -> $(tr '\n' ' ' <<<"$out" | cut -c1-200)"
done

# 2. accepted by the schema, refused or failing safely in the controller
start_controller
schema_yaml opt "https://-oProxyCommand=touch%20$MARK.f/r.git" | k -n "$NS" apply -f - >/dev/null \
  || fail "apply DBSchema opt"
schema_yaml enc "https://127.0.0.1:1/%24%28touch%20$MARK.g%29%3Btouch%20$MARK.h.git" | k -n "$NS" apply -f - >/dev/null \
  || fail "apply DBSchema enc"
cond() { k -n "$NS" get dbschema "$1" -o jsonpath='{range .status.conditions[*]}{.type}={.status}/{.reason}: {.message}; {end}'; }
wait_for -t 60 eval "cond opt | grep -q 'Stalled=True'" \
  || fail "DBSchema opt (option as host) is not Stalled: $(cond opt)"
cond opt | grep -q 'no host' || fail "DBSchema opt: the condition does not say what is wrong: $(cond opt)"
log "opt: $(cond opt)"
wait_for -t 60 eval "cond enc | grep -q 'Ready=False'" \
  || fail "DBSchema enc is not Ready=False: $(cond enc)"
log "enc: $(cond enc)"
for s in a b c d e f g h; do
  [[ ! -e "$MARK.$s" ]] || fail "an injected command ran: $MARK.$s exists"
done
[[ -z "$(k -n "$NS" get dbschema opt -o jsonpath='{.status.revision}')" ]] || fail "DBSchema opt has a revision"
assert_no_canary
