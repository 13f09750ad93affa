#!/usr/bin/env bash
# tidemark tests/unit/observability_metrics.sh — every metric the alerting rules
# (manifests/prometheus/tidemark.rules.yaml) and the Grafana dashboard
# (manifests/grafana/tidemark-dashboard.json) query is one the controller registers,
# under that exact name (a histogram's _bucket/_sum/_count included), every label they
# group, join or match on is one of its labels (or a target label: job, instance), and
# every phase they name is a DBRollout phase. The registrations are read from the C
# sources (metrics_counter/gauge/histogram calls in controller/ and reconcilers/);
# e2e/observability_scrape.sh checks the same names against a running controller's
# /metrics. Also checks the dashboard's shape (unique panel ids, every target on the
# $datasource variable). Needs python3 with PyYAML.
set -euo pipefail
root="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 - "$root" <<'PY'
import glob, json, re, sys, yaml

root = sys.argv[1]
errors = []
CSTR = r'"(?:[^"\\]|\\.)*"'
REG = re.compile(r'metrics_(counter|gauge|histogram)\(\s*[^,]+,\s*"(tidemark_\w+)",\s*(?:'
                 + CSTR + r'\s*)+,\s*(NULL|"([^"]*)")', re.S)

registered = {}  # name -> (type, labels)
for path in glob.glob(f"{root}/controller/**/*.c", recursive=True) + glob.glob(f"{root}/reconcilers/*.c"):
    for m in REG.finditer(open(path).read()):
        labels = set(filter(None, (m.group(4) or "").split(",")))
        registered[m.group(2)] = (m.group(1), labels)
if len(registered) < 10:
    sys.exit(f"found only {len(registered)} metric registrations in the sources: the pattern is stale")

known = {}
for name, (typ, labels) in registered.items():
    known[name] = labels
    if typ == "histogram":
        for suffix in ("_bucket", "_sum", "_count"):
            known[name + suffix] = labels | {"le"}

src = open(f"{root}/reconcilers/dbrollout_decide.c").read()
phases = set(re.findall(r'\[DBROLLOUT_PHASE_\w+\] = "(\w+)"', src)) | {"None"}
if len(phases) < 8:
    sys.exit("cannot read the DBRollout phases from reconcilers/dbrollout_decide.c")

TARGET_LABELS = {"job", "instance"}

def check_expr(where, expr):
    names = set(re.findall(r"\b(tidemark_[a-z_]+)\b", expr))
    if not names:
        errors.append(f"{where}: queries no tidemark metric: {expr}")
    allowed = set(TARGET_LABELS)
    for n in names:
        if n not in known:
            errors.append(f"{where}: {n} is not a metric the controller registers")
        else:
            allowed |= known[n]
    for group in re.findall(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)", expr):
        for label in filter(None, (x.strip() for x in group.split(","))):
            if label not in allowed:
                errors.append(f"{where}: label {label} is not one of {sorted(allowed)}")
    for label, op, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', expr):
        if label not in allowed:
            errors.append(f"{where}: label {label} is not one of {sorted(allowed)}")
        if label == "phase":
            for p in value.split("|"):
                if p not in phases:
                    errors.append(f"{where}: phase {p} is not a DBRollout phase {sorted(phases)}")
    return names

used = set()
rules = yaml.safe_load(open(f"{root}/manifests/prometheus/tidemark.rules.yaml"))
for g in rules["groups"]:
    for r in g["rules"]:
        used |= check_expr(f"rule {r.get('alert') or r.get('record')}", r["expr"])

dash = json.load(open(f"{root}/manifests/grafana/tidemark-dashboard.json"))
ids = [p["id"] for p in dash["panels"]]
if len(ids) != len(set(ids)):
    errors.append("dashboard: panel ids are not unique")
if not any(v["name"] == "datasource" and v["type"] == "datasource" for v in dash["templating"]["list"]):
    errors.append("dashboard: no datasource variable")
for v in dash["templating"]["list"]:
    if v["type"] == "query":
        used |= check_expr(f"dashboard variable {v['name']}", v["definition"])
ntargets = 0
for p in dash["panels"]:
    if p["type"] == "row":
        continue
    for t in p["targets"]:
        ntargets += 1
        if t["datasource"]["uid"] != "${datasource}":
            errors.append(f"dashboard panel {p['title']!r}: target not on $datasource")
        used |= check_expr(f"dashboard panel {p['title']!r}", t["expr"])

for e in errors:
    print("FAIL", e)
if errors:
    sys.exit(1)
print(f"ok   {ntargets} dashboard queries and {sum(len(g['rules']) for g in rules['groups'])} rules "
      f"use {len(used)} metric names, all registered: {', '.join(sorted(used))}")
PY
