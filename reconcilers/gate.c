/* gate: the controller's half of the schema gate (gate.h) — find a
 * DBRollout's gated pods in the label-selected pods cache, judge each with
 * gate_decide, and remove the gate of the ones released.
 *
 * Design: the pods informer watches only pods labelled GATE_SELECTOR, so the
 * cache holds gated pods, not the cluster's.  A pod belongs to the rollout
 * whose spec.deploymentRef names the Deployment owning its ReplicaSet, or
 * whose spec.appRef names the Argo Rollout owning it (Argo names and labels
 * its ReplicaSets the same way, with rollouts-pod-template-hash).  The
 * removal is a JSON patch (test the gate's name at its index, remove it):
 * the API allows removing scheduling gates from a pod, never adding them, so
 * patch is the only verb needed.  Level-triggered: every rollout reconcile
 * (a status write, a pod appearing — even while the controller was down,
 * through the informer's first list) judges all of its pods again. */
#include "reconcilers/gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/caps.h"
#include "kube/kube.h"
#include "log/log.h"
#include "reconcilers/rec.h"
#include "runtime/informer.h"
#include "runtime/mgr.h"

/* The app owning pod: its ReplicaSet owner's name less "-<hash>", where
 * the hash label says whose ReplicaSet it is: pod-template-hash a
 * Deployment's, rollouts-pod-template-hash an Argo Rollout's.  false when
 * the pod has no such owner. */
static bool pod_app(const cJSON *pod, enum dbrollout_app_kind *kind, char *out, size_t n)
{
    const cJSON *labels = rec_at(pod, "metadata.labels");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(labels, "pod-template-hash");
    *kind = DBROLLOUT_APP_DEPLOYMENT;
    if (!cJSON_IsString(h)) {
        h = cJSON_GetObjectItemCaseSensitive(labels, "rollouts-pod-template-hash");
        *kind = DBROLLOUT_APP_ARGO_ROLLOUT;
    }
    const char *hash = cJSON_IsString(h) ? h->valuestring : NULL;
    const cJSON *ref;
    if (!hash || !*hash)
        return false;
    cJSON_ArrayForEach(ref, rec_at(pod, "metadata.ownerReferences"))
    {
        const char *owner_kind = rec_str(ref, "kind"), *name = rec_str(ref, "name");
        if (!owner_kind || strcmp(owner_kind, "ReplicaSet") != 0 || !name)
            continue;
        size_t ln = strlen(name), lh = strlen(hash);
        if (ln <= lh + 1 || name[ln - lh - 1] != '-' || strcmp(name + ln - lh, hash) != 0)
            return false;
        if (ln - lh - 1 >= n)
            return false;
        memcpy(out, name, ln - lh - 1);
        out[ln - lh - 1] = '\0';
        return true;
    }
    return false;
}

/* Index of GATE_NAME in the pod's spec.schedulingGates; -1 when absent. */
static int gate_index(const cJSON *pod)
{
    const cJSON *g;
    int i = 0;
    cJSON_ArrayForEach(g, rec_at(pod, "spec.schedulingGates"))
    {
        const char *name = rec_str(g, "name");
        if (name && strcmp(name, GATE_NAME) == 0)
            return i;
        i++;
    }
    return -1;
}

/* ---------------------------------------------------------------- map */

struct map_ctx {
    struct mgr *m;
    const char *ns;
    enum dbrollout_app_kind kind;
    const char *deployment;
};

/* The app the rollout names, if of that kind (dbrollout_read's rule). */
static const char *rollout_app(const cJSON *rollout, enum dbrollout_app_kind kind)
{
    const char *dep = rec_str(rollout, "spec.deploymentRef.name");
    if (kind == DBROLLOUT_APP_DEPLOYMENT)
        return dep;
    return dep ? NULL : rec_str(rollout, "spec.appRef.name");
}

static bool enqueue_owner(void *ctx, const cJSON *rollout)
{
    struct map_ctx *c = ctx;
    const char *dep = rollout_app(rollout, c->kind);
    char key[512];
    if (dep && strcmp(dep, c->deployment) == 0 && informer_key(rollout, key, sizeof(key)))
        if (mgr_enqueue(c->m, "DBRollout", key) != TM_OK)
            return true; /* no DBRollout reconciler: nothing to wake */
    return true;
}

void gate_map_pod(void *ctx, struct mgr *m, const cJSON *pod)
{
    (void)ctx;
    char dep[256];
    enum dbrollout_app_kind kind;
    struct informer *inf = mgr_informer(m, REC_GROUP, REC_VERSION, "dbrollouts");
    if (!inf || gate_index(pod) < 0 || !pod_app(pod, &kind, dep, sizeof(dep)))
        return;
    struct map_ctx c = {m, rec_str(pod, "metadata.namespace"), kind, dep};
    informer_foreach(inf, c.ns, enqueue_owner, &c);
}

/* --------------------------------------------------------------- sync */

struct gated_pod {
    char *name;
    char *tag; /* NULL: none */
    int index; /* of the gate in spec.schedulingGates */
};

struct collect {
    enum dbrollout_app_kind kind;
    const char *deployment;
    struct gated_pod *pods;
    size_t n, cap;
    bool nomem;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Copies what a release needs out of the cache (no API calls under its lock). */
static bool collect_pod(void *ctx, const cJSON *pod)
{
    struct collect *c = ctx;
    char dep[256];
    enum dbrollout_app_kind kind;
    int idx = gate_index(pod);
    const char *name = rec_str(pod, "metadata.name");
    if (idx < 0 || !name || !pod_app(pod, &kind, dep, sizeof(dep)) || kind != c->kind ||
        strcmp(dep, c->deployment) != 0)
        return true;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct gated_pod *p = realloc(c->pods, cap * sizeof(*p));
        if (!p) {
            c->nomem = true;
            return false;
        }
        c->pods = p;
        c->cap = cap;
    }
    struct gated_pod *g = &c->pods[c->n];
    g->name = strdup(name);
    g->tag = dup_or_null(rec_annotation(pod, DBROLLOUT_TAG_ANNOTATION));
    g->index = idx;
    if (!g->name || (rec_annotation(pod, DBROLLOUT_TAG_ANNOTATION) && !g->tag)) {
        free(g->name);
        free(g->tag);
        c->nomem = true;
        return false;
    }
    c->n++;
    return true;
}

static void collect_release(struct collect *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->pods[i].name);
        free(c->pods[i].tag);
    }
    free(c->pods);
}

/* The changelog's tags, oldest first, as the rollout's DBSchema reports them
 * (status.tags): a new array of borrowed strings into *schema (caller frees
 * both).  *n 0 when unknown. */
static const char **schema_tags(struct tm_proc *proc, const char *ns, const cJSON *inst,
                                cJSON **schema, size_t *n)
{
    const char *name = rec_str(inst, "spec.schemaRef.name");
    struct tm_err err;
    tm_err_clear(&err);
    *n = 0;
    *schema = NULL;
    if (!name || rec_get(proc, REC_GROUP, REC_VERSION, "dbschemas", ns, name, schema, &err) != TM_OK)
        return NULL;
    const cJSON *tags = rec_at(*schema, "status.tags"), *t;
    int count = cJSON_IsArray(tags) ? cJSON_GetArraySize(tags) : 0;
    const char **out = count > 0 ? calloc((size_t)count, sizeof(*out)) : NULL;
    if (!out)
        return NULL;
    cJSON_ArrayForEach(t, tags) if (cJSON_IsString(t)) out[(*n)++] = t->valuestring;
    return out;
}

/* Appends {"op": op, "path": path} to patch; the new object (patch owns
 * it) or NULL on allocation failure. */
static cJSON *add_op(cJSON *patch, const char *op, const char *path)
{
    cJSON *o = patch ? cJSON_CreateObject() : NULL;
    if (!o)
        return NULL;
    if (!cJSON_AddItemToArray(patch, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    if (!cJSON_AddStringToObject(o, "op", op) || !cJSON_AddStringToObject(o, "path", path))
        return NULL;
    return o;
}

/* Removes the gate at its index from ns/pod: test its name there, then
 * remove it, so a gate list that moved fails instead of losing another gate. */
static enum tm_code release_pod(struct tm_proc *proc, const char *ns, const struct gated_pod *g,
                                struct tm_err *err)
{
    char at[64], name_at[80];
    snprintf(at, sizeof(at), "/spec/schedulingGates/%d", g->index);
    snprintf(name_at, sizeof(name_at), "%s/name", at);
    struct tm_buf path;
    tm_buf_init(&path, TM_CAP_SMALL);
    enum tm_code rc;
    cJSON *patch = cJSON_CreateArray();
    cJSON *test = add_op(patch, "test", name_at);
    if (!test || !cJSON_AddStringToObject(test, "value", GATE_NAME) ||
        !add_op(patch, "remove", at)) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    struct kube_ref ref = {.group = "", .version = "v1", .ns = ns, .resource = "pods",
                           .name = g->name};
    rc = kube_path(&path, &ref, err);
    if (rc == TM_OK)
        rc = kube_patch(proc->kube, tm_buf_str(&path), KUBE_PATCH_JSON, patch, NULL, err);
    if (rc == TM_E_NOTFOUND) /* the pod is gone: nothing to release */
        rc = TM_OK;
    if ((rc == TM_E_CONFLICT || rc == TM_E_INVAL) && err)
        err->retry = TM_RETRY_TRANSIENT; /* the gate list moved: the next event judges again */
out:
    cJSON_Delete(patch);
    tm_buf_release(&path);
    return rc;
}

enum tm_code gate_sync(struct tm_proc *proc, const cJSON *rollout, struct tm_err *err)
{
    struct informer *inf = proc->mgr ? mgr_informer(proc->mgr, "", "v1", "pods") : NULL;
    const char *ns = rec_str(rollout, "metadata.namespace");
    struct dbrollout_observed *o = calloc(1, sizeof(*o));
    struct collect c = {0};
    cJSON *inst = NULL, *schema = NULL;
    const char **tags = NULL;
    size_t ntags = 0;
    enum tm_code rc = TM_OK;
    if (!o)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    dbrollout_read(rollout, o);
    if (!inf || !ns || !o->spec.deployment || !proc->kube)
        goto out;
    c.kind = o->spec.app_kind;
    c.deployment = o->spec.deployment;
    informer_foreach(inf, ns, collect_pod, &c);
    if (c.nomem) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    if (c.n == 0)
        goto out;
    struct tm_err ierr;
    tm_err_clear(&ierr);
    if (o->spec.instance &&
        rec_get(proc, REC_GROUP, REC_VERSION, "dbinstances", ns, o->spec.instance, &inst, &ierr) !=
            TM_OK)
        inst = NULL; /* absent: no applied tag, no tag order: pods stay gated */
    tags = schema_tags(proc, ns, inst, &schema, &ntags);
    const char *applied = o->status.applied_tag[0] ? o->status.applied_tag
                                                   : rec_str(inst, "status.appliedTag");
    size_t released = 0;
    const char *unknown = NULL, *released_tag = NULL;
    for (size_t i = 0; i < c.n; i++) {
        struct gate_input in = {
            .gated = true,
            .pod_tag = c.pods[i].tag,
            .order = o->spec.order,
            .target_tag = o->spec.tag,
            .phase = o->status.phase,
            .cause = o->status.rollback_cause,
            .pre_start_tag = o->status.has_pre_start_tag ? o->status.pre_start_tag : NULL,
            .applied_tag = applied,
            .tags = tags,
            .ntags = ntags,
        };
        struct gate_decision d;
        gate_decide(&in, &d);
        if (d.verdict == GATE_UNKNOWN_TAG) {
            char note[GATE_REASON_MAX + 64];
            snprintf(note, sizeof(note), "pods stay gated: %s", d.reason);
            if (!unknown || strcmp(unknown, c.pods[i].tag ? c.pods[i].tag : "") != 0)
                rec_event(proc, rollout, "UnknownTag", true, "Gate", note);
            unknown = c.pods[i].tag ? c.pods[i].tag : "";
            continue;
        }
        if (d.verdict != GATE_RELEASE)
            continue;
        struct tm_err perr;
        tm_err_clear(&perr);
        enum tm_code prc = release_pod(proc, ns, &c.pods[i], &perr);
        if (prc != TM_OK) {
            log_warn(proc->log, "schema gate not removed", LF_S("controller", "dbrollout"),
                     LF_S("namespace", ns), LF_S("name", o->name), LF_S("pod", c.pods[i].name),
                     LF_S("err", perr.msg));
            if (rc == TM_OK) {
                rc = prc;
                if (err)
                    *err = perr;
            }
            continue;
        }
        if (released++ == 0)
            released_tag = c.pods[i].tag;
        log_info(proc->log, "schema gate removed", LF_S("controller", "dbrollout"),
                 LF_S("namespace", ns), LF_S("name", o->name), LF_S("pod", c.pods[i].name),
                 LF_S("tag", c.pods[i].tag), LF_S("reason", d.reason));
    }
    if (released > 0) {
        char note[512];
        snprintf(note, sizeof(note), "released the pods of %s needing tag %s: schema at %s",
                 o->spec.deployment, released_tag ? released_tag : "", applied ? applied : "");
        rec_event(proc, rollout, "SchemaGateReleased", false, "Gate", note);
    }
out:
    free(tags);
    cJSON_Delete(schema);
    cJSON_Delete(inst);
    collect_release(&c);
    free(o);
    return rc;
}
