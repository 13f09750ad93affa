#!/usr/bin/env bash
# tidemark tests/unit/crds_schema.sh — static checks of crds/*.yaml that need no cluster.
#
# Why: `kubectl explain` is the user's reference, so every field of every CRD
# schema must carry a description; and the reconcilers are written against
# these schemas, so the names, enums and defaults that DESIGN.md promises must
# stay put.  The real apiserver checks (structural schema, CEL) live in
# tests/e2e/crds_*.sh.  Needs python3 with PyYAML.
set -euo pipefail
root="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
python3 - "$root/crds" <<'PY'
import glob, sys, yaml

crd_dir = sys.argv[1]
errors = []
crds = {}
for path in sorted(glob.glob(crd_dir + "/*.yaml")):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for d in docs:
        if d.get("kind") == "CustomResourceDefinition":
            crds[d["spec"]["names"]["kind"]] = d

def walk(node, path):
    """Every property except the apiserver-owned metadata needs a description."""
    if not isinstance(node, dict):
        return
    if path.endswith(".metadata") and path.count(".") == 1:
        return
    if "description" not in node or not str(node["description"]).strip():
        errors.append(f"{path}: no description")
    if "type" not in node and "x-kubernetes-int-or-string" not in node:
        errors.append(f"{path}: no type (schema is not structural)")
    for name, sub in (node.get("properties") or {}).items():
        walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        walk(node["additionalProperties"], f"{path}{{}}")

want = {"DBSchema": ("dbschemas", "dbs"), "DBInstance": ("dbinstances", "dbi"),
        "DBRollout": ("dbrollouts", "dbro")}
for kind, (plural, short) in want.items():
    c = crds.get(kind)
    if not c:
        errors.append(f"{kind}: no CRD in {crd_dir}")
        continue
    s = c["spec"]
    if c["metadata"]["name"] != f"{plural}.tidemark.dev":
        errors.append(f"{kind}: metadata.name {c['metadata']['name']}")
    if s["group"] != "tidemark.dev" or s["scope"] != "Namespaced":
        errors.append(f"{kind}: group/scope {s['group']}/{s['scope']}")
    n = s["names"]
    if n["plural"] != plural or short not in n.get("shortNames", []) or "tidemark" not in n.get("categories", []):
        errors.append(f"{kind}: names {n}")
    vs = [v for v in s["versions"] if v["name"] == "v1alpha1"]
    if len(vs) != 1 or not vs[0].get("served") or not vs[0].get("storage"):
        errors.append(f"{kind}: v1alpha1 must be the one served storage version")
        continue
    v = vs[0]
    if v.get("subresources", {}).get("status") != {}:
        errors.append(f"{kind}: no status subresource")
    root_schema = v["schema"]["openAPIV3Schema"]
    walk(root_schema, kind)
    conds = root_schema["properties"]["status"]["properties"]["conditions"]
    if conds.get("x-kubernetes-list-type") != "map" or conds.get("x-kubernetes-list-map-keys") != ["type"]:
        errors.append(f"{kind}: status.conditions must be a list-map keyed by type")
    if set(conds["items"]["required"]) != {"type", "status", "lastTransitionTime", "reason", "message"}:
        errors.append(f"{kind}: condition required fields {conds['items']['required']}")
    cols = [col["name"] for col in v.get("additionalPrinterColumns", [])]
    if "Ready" not in cols or "Age" not in cols:
        errors.append(f"{kind}: printer columns {cols} lack Ready/Age")

def prop(kind, dotted):
    node = crds[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for part in dotted.split("."):
        node = node["properties"][part]
    return node

def expect_enum(kind, dotted, values, default=None):
    try:
        p = prop(kind, dotted)
    except KeyError:
        errors.append(f"{kind}.{dotted}: missing")
        return
    if p.get("enum") != values:
        errors.append(f"{kind}.{dotted}: enum {p.get('enum')} != {values}")
    if default is not None and p.get("default") != default:
        errors.append(f"{kind}.{dotted}: default {p.get('default')} != {default}")

if not errors:
    expect_enum("DBRollout", "spec.order", ["SchemaFirst", "AppFirst", "Parallel"], "SchemaFirst")
    expect_enum("DBRollout", "spec.onAppFailure", ["RollbackSchema", "RollbackBoth", "Hold"], "RollbackSchema")
    expect_enum("DBRollout", "spec.changeSetFailureStrategy", ["Rollback", "MarkNextRun", "Fail"], "Rollback")
    expect_enum("DBRollout", "status.phase", ["Pending", "Applying", "WaitingForApp", "Verifying", "Succeeded",
                                             "RollingBack", "RolledBack", "Failed", "Blocked",
                                             "AwaitingApproval"])
    expect_enum("DBRollout", "spec.approval", ["Required", "None"], "None")
    expect_enum("DBInstance", "spec.policy.approval", ["Required", "None"], "None")
    expect_enum("DBInstance", "spec.policy.destructiveChanges", ["Deny", "Warn", "Allow"])
    expect_enum("DBInstance", "spec.connection.sslMode",
                ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
    for f in ["phase", "preStartTag", "appliedTag", "targetTag", "appliedChangeSets",
              "rolledBackChangeSets", "deploymentRevision", "previousDeploymentRevision",
              "message", "startedAt", "finishedAt", "observedGeneration", "conditions"]:
        try:
            prop("DBRollout", "status." + f)
        except KeyError:
            errors.append(f"DBRollout.status.{f}: missing")
    spec = prop("DBRollout", "spec")
    if spec["required"] != ["instanceRef"]:
        errors.append("DBRollout.spec: instanceRef must be required (tag or tagFrom by CEL)")
    rules = [v["rule"] for v in spec.get("x-kubernetes-validations", [])]
    if "has(self.tag) != has(self.tagFrom)" not in rules:
        errors.append("DBRollout.spec: the CEL rule 'exactly one of tag and tagFrom' is missing")
    if prop("DBRollout", "spec.tagFrom").get("required") != ["container"]:
        errors.append("DBRollout.spec.tagFrom: container must be required")

for e in errors:
    print("crds_schema: " + e)
if errors:
    sys.exit(1)
print(f"crds_schema: ok ({len(crds)} CRDs)")
PY
