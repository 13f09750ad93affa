#!/usr/bin/env bash
# tidemark tests/e2e/crds_validation.sh — the REAL kube-apiserver refuses invalid tidemark
# objects with a message that says what is wrong (OpenAPI schema + CEL rules in crds/),
# and accepts the valid ones.  Each refusal asserts the message text a user would see.
# Needs KUBECONFIG and TIDEMARK_K8S_BIN; installs the CRDs (idempotent, left installed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
require_controlplane
install_crds
new_namespace crds-valid

# accept NAME YAML: the object must be created (retried while discovery catches up)
accept() {
  local what=$1 yaml=$2
  apply_it() { k -n "$NS" apply -f - <<<"$yaml"; }
  wait_for -t 30 apply_it || fail "$what: expected the apiserver to accept it, got: $(apply_it 2>&1)"
}
# reject NAME EXPECTED-SUBSTRING YAML: the create must fail and the message must contain it
reject() {
  local what=$1 want=$2 yaml=$3 out
  if out="$(k -n "$NS" apply -f - 2>&1 <<<"$yaml")"; then
    fail "$what: expected rejection, but the apiserver accepted it: $out"
  fi
  [[ "$out" == *"$want"* ]] || fail "$what: expected the error to contain '$want', got: $out"
  log "rejected as expected: $what"
}

# ---- DBSchema
accept "DBSchema with inline files" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: inline-ok}
spec: {source: {inline: {files: {changelog.yaml: "databaseChangeLog: []"}}}}'
reject "DBSchema with inline and configMapRef" \
  "spec.source: Invalid value: exactly one of spec.source.inline, spec.source.configMapRef or spec.source.git must be set" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: two-sources}
spec: {source: {inline: {files: {a.sql: "select 1"}}, configMapRef: {name: orders}}}'
reject "DBSchema with no source at all" \
  "exactly one of spec.source.inline, spec.source.configMapRef or spec.source.git must be set" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: no-source}
spec: {source: {}}'
reject "DBSchema git ref with branch and tag" \
  "exactly one of spec.source.git.ref.branch, tag or commit must be set" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: two-refs}
spec: {source: {git: {url: "https://git.example.com/r.git", ref: {branch: main, tag: v1.0.0}}}}'
reject "DBSchema git url with shell metacharacters" \
  "spec.source.git.url in body should match" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: shell-url}
spec: {source: {git: {url: "https://git.example.com/r.git;rm -rf /", ref: {branch: main}}}}'
reject "DBSchema git url with \$(...)" \
  "spec.source.git.url in body should match" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: subst-url}
spec: {source: {git: {url: "https://git.example.com/$(touch /tmp/x)", ref: {branch: main}}}}'
reject "DBSchema git url starting with -" \
  "spec.source.git.url in body should match" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: dash-url}
spec: {source: {git: {url: "--upload-pack=touch /tmp/x", ref: {branch: main}}}}'
reject "DBSchema git url with credentials" \
  "spec.source.git.url must not embed credentials; use spec.source.git.secretRef" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: creds-url}
spec: {source: {git: {url: "https://bob:hunter2@git.example.com/r.git", ref: {branch: main}}}}'
reject "DBSchema git path climbing out" \
  "spec.source.git.path must not contain '..' segments" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: climb}
spec: {source: {git: {url: "https://git.example.com/r.git", ref: {branch: main}, path: "db/../../etc"}}}'
reject "DBSchema git commit that is not a full id" \
  "spec.source.git.ref.commit in body should match" '
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: short-commit}
spec: {source: {git: {url: "https://git.example.com/r.git", ref: {commit: abc123}}}}'

# ---- DBInstance
accept "DBInstance with urlSecretRef only" '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: url-ok}
spec: {schemaRef: {name: orders}, connection: {urlSecretRef: {name: orders-url}}}'
reject "DBInstance with userSecretRef and urlSecretRef" \
  "exactly one of spec.connection.userSecretRef or spec.connection.urlSecretRef must be set" '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: two-secrets}
spec: {schemaRef: {name: orders}, connection: {host: db, database: orders, userSecretRef: {name: a}, urlSecretRef: {name: b}}}'
reject "DBInstance with neither secret" \
  "exactly one of spec.connection.userSecretRef or spec.connection.urlSecretRef must be set" '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: no-secret}
spec: {schemaRef: {name: orders}, connection: {host: db, database: orders}}'
reject "DBInstance userSecretRef without host" \
  "spec.connection.host is required when spec.connection.userSecretRef is set" '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: no-host}
spec: {schemaRef: {name: orders}, connection: {database: orders, userSecretRef: {name: a}}}'
reject "DBInstance with a bad sslMode" \
  'spec.connection.sslMode: Unsupported value: "maybe"' '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: bad-ssl}
spec: {schemaRef: {name: orders}, connection: {urlSecretRef: {name: u}, sslMode: maybe}}'
reject "DBInstance with a bad destructiveChanges policy" \
  'spec.policy.destructiveChanges: Unsupported value: "Sometimes"' '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: bad-policy}
spec: {schemaRef: {name: orders}, connection: {urlSecretRef: {name: u}}, policy: {destructiveChanges: Sometimes}}'
reject "DBInstance without schemaRef" \
  "spec.schemaRef: Required value" '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: no-schema}
spec: {connection: {urlSecretRef: {name: u}}}'
reject "DBInstance changelogTable with a quote and a semicolon" \
  "spec.changelogTable in body should match" '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: odd-table}
spec: {schemaRef: {name: orders}, connection: {urlSecretRef: {name: u}}, changelogTable: "public.\"x;drop table y\""}'
reject "DBInstance changelogTable with three parts" \
  "spec.changelogTable in body should match" '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: three-part-table}
spec: {schemaRef: {name: orders}, connection: {urlSecretRef: {name: u}}, changelogTable: "a.b.c"}'
reject "DBInstance host with shell metacharacters" \
  "spec.connection.host in body should match" '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: bad-host}
spec: {schemaRef: {name: orders}, connection: {host: "db;touch /tmp/x", database: orders, userSecretRef: {name: a}}}'
reject "DBInstance port out of range" \
  "spec.connection.port" '
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: bad-port}
spec: {schemaRef: {name: orders}, connection: {host: db, port: 70000, database: orders, userSecretRef: {name: a}}}'

# ---- DBRollout
accept "DBRollout with only the required fields" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: ok}
spec: {instanceRef: {name: orders-prod}, tag: v1.0.0}'
reject "DBRollout without instanceRef" \
  "spec.instanceRef: Required value" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: no-instance}
spec: {tag: v1.0.0}'
reject "DBRollout without tag or tagFrom" \
  "set exactly one of spec.tag and spec.tagFrom" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: no-tag}
spec: {instanceRef: {name: orders-prod}}'
reject "DBRollout with a bad order" \
  'spec.order: Unsupported value: "Sideways": supported values: "SchemaFirst", "AppFirst", "Parallel"' '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: bad-order}
spec: {instanceRef: {name: orders-prod}, tag: v1.0.0, order: Sideways}'
reject "DBRollout with a bad onAppFailure" \
  'spec.onAppFailure: Unsupported value: "Panic": supported values: "RollbackSchema", "RollbackBoth", "Hold"' '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: bad-onfail}
spec: {instanceRef: {name: orders-prod}, tag: v1.0.0, onAppFailure: Panic}'
reject "DBRollout with a bad changeSetFailureStrategy" \
  'spec.changeSetFailureStrategy: Unsupported value: "Retry": supported values: "Rollback", "MarkNextRun", "Fail"' '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: bad-csfail}
spec: {instanceRef: {name: orders-prod}, tag: v1.0.0, changeSetFailureStrategy: Retry}'
reject "DBRollout with appTimeoutSeconds 0" \
  "spec.appTimeoutSeconds: Invalid value: 0: spec.appTimeoutSeconds must be greater than 0" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: zero-timeout}
spec: {instanceRef: {name: orders-prod}, tag: v1.0.0, appTimeoutSeconds: 0}'
reject "DBRollout RollbackBoth without deploymentRef" \
  "spec.onAppFailure RollbackBoth needs spec.deploymentRef" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: both-no-deploy}
spec: {instanceRef: {name: orders-prod}, tag: v1.0.0, onAppFailure: RollbackBoth}'
accept "DBRollout with tagFrom and deploymentRef" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: tag-from}
spec: {instanceRef: {name: orders-prod}, deploymentRef: {name: app}, tagFrom: {container: app, pattern: "^v?(.*)$"}}'
reject "DBRollout with both tag and tagFrom" \
  "set exactly one of spec.tag and spec.tagFrom" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: tag-and-from}
spec: {instanceRef: {name: orders-prod}, tag: v1.0.0, deploymentRef: {name: app}, tagFrom: {container: app}}'
reject "DBRollout tagFrom without deploymentRef" \
  "spec.tagFrom needs spec.deploymentRef" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: from-no-deploy}
spec: {instanceRef: {name: orders-prod}, tagFrom: {container: app}}'
accept "DBRollout with an Argo Rollout appRef, RollbackBoth and tagFrom" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: app-ref}
spec: {instanceRef: {name: orders-prod}, appRef: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web}, onAppFailure: RollbackBoth, tagFrom: {container: app}}'
reject "DBRollout with both deploymentRef and appRef" \
  "set at most one of spec.deploymentRef and spec.appRef" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: two-apps}
spec: {instanceRef: {name: orders-prod}, tag: v1.0.0, deploymentRef: {name: app}, appRef: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web}}'
reject "DBRollout appRef of a kind other than Rollout" \
  'spec.appRef.kind: Unsupported value: "Deployment": supported values: "Rollout"' '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: app-ref-kind}
spec: {instanceRef: {name: orders-prod}, tag: v1.0.0, appRef: {apiVersion: argoproj.io/v1alpha1, kind: Deployment, name: web}}'
reject "DBRollout tagFrom without container" \
  "spec.tagFrom.container: Required value" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: from-no-container}
spec: {instanceRef: {name: orders-prod}, deploymentRef: {name: app}, tagFrom: {pattern: "(.*)"}}'
accept "DBRollout with spec.verify (timeout defaulted)" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: verify}
spec:
  instanceRef: {name: orders-prod}
  tag: v1.0.0
  verify:
    jobTemplate:
      metadata: {labels: {team: orders}}
      spec: {backoffLimit: 0, template: {spec: {containers: [{name: check, image: smoke:1}]}}}'
[[ "$(k -n "$NS" get dbrollout verify -o jsonpath='{.spec.verify.timeout} {.spec.verify.jobTemplate.spec.backoffLimit}')" == "10m 0" ]] \
  || fail "spec.verify: timeout not defaulted to 10m or the JobSpec pruned: $(k -n "$NS" get dbrollout verify -o jsonpath='{.spec.verify}')"
reject "DBRollout verify Job naming a ServiceAccount" \
  "leave serviceAccountName out; the Job runs as the application's ServiceAccount" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: verify-sa}
spec:
  instanceRef: {name: orders-prod}
  tag: v1.0.0
  verify: {jobTemplate: {spec: {template: {spec: {serviceAccountName: admin, containers: [{name: c, image: i}]}}}}}'
reject "DBRollout verify timeout over 24h" \
  "spec.verify.timeout must be between 1s and 24h" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: verify-long}
spec:
  instanceRef: {name: orders-prod}
  tag: v1.0.0
  verify: {timeout: 25h, jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: i}]}}}}}'
reject "DBRollout verify Job restarting Always" \
  'restartPolicy: Unsupported value: "Always"' '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: verify-always}
spec:
  instanceRef: {name: orders-prod}
  tag: v1.0.0
  verify: {jobTemplate: {spec: {template: {spec: {restartPolicy: Always, containers: [{name: c, image: i}]}}}}}'
reject "DBRollout verify Job without containers" \
  "spec.verify.jobTemplate.spec.template.spec.containers: Required value" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: verify-empty}
spec:
  instanceRef: {name: orders-prod}
  tag: v1.0.0
  verify: {jobTemplate: {spec: {template: {spec: {}}}}}'
reject "DBRollout with a tag that is not a tag" \
  "spec.tag in body should match" '
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: bad-tag}
spec: {instanceRef: {name: orders-prod}, tag: "v1; drop table x"}'

# instanceRef is immutable; the tag is not
if out="$(k -n "$NS" patch dbrollout ok --type=merge -p '{"spec":{"instanceRef":{"name":"orders-staging"}}}' 2>&1)"; then
  fail "changing spec.instanceRef: expected rejection, got: $out"
fi
[[ "$out" == *"spec.instanceRef is immutable; create a new DBRollout for another DBInstance"* ]] \
  || fail "changing spec.instanceRef: expected the immutability message, got: $out"
log "rejected as expected: changing instanceRef"
k -n "$NS" patch dbrollout ok --type=merge -p '{"spec":{"tag":"v1.1.0"}}' >/dev/null \
  || fail "changing spec.tag of a DBRollout must be allowed"
got="$(k -n "$NS" get dbrollout ok -o 'jsonpath={.spec.instanceRef.name}/{.spec.tag}')"
[[ "$got" == "orders-prod/v1.1.0" ]] || fail "after the patches: expected orders-prod/v1.1.0, got '$got'"
