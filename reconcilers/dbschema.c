/* dbschema: observe and report for DBSchemas (decide is in
 * dbschema_decide.c; rules and why in dbschema.h).
 *
 * observe: the DBSchema (cache), its files (inline, ConfigMap from the
 * cache, Git through source/), chlog_load, and the DBInstances that name it
 * (cache) for the environment matrix; decide; report: patch /status when it
 * changed, then Events. */
#include "reconcilers/dbschema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcilers/drive.h"
#include "reconcilers/rec.h"
#include "runtime/mgr.h"
#include "source/source.h"

#define MSG 1024

struct inst_buf {
    const char *schema;
    struct dbschema_instance *items;
    size_t n, alloc;
    bool nomem;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void inst_collect(void *ctx, const cJSON *obj)
{
    struct inst_buf *b = ctx;
    const char *ref = rec_str(obj, "spec.schemaRef.name");
    if (b->nomem || !ref || strcmp(ref, b->schema) != 0)
        return;
    if (b->n == b->alloc) {
        size_t na = b->alloc ? b->alloc * 2 : 8;
        struct dbschema_instance *ni = realloc(b->items, na * sizeof(*ni));
        if (!ni) {
            b->nomem = true;
            return;
        }
        b->items = ni;
        b->alloc = na;
    }
    struct dbschema_instance *x = &b->items[b->n];
    memset(x, 0, sizeof(*x));
    struct cond_list cl;
    rec_conds_from_json(rec_at(obj, "status.conditions"), &cl);
    const struct cond *r = cond_find(&cl, COND_READY);
    x->name = dup_or_null(rec_str(obj, "metadata.name"));
    x->applied_tag = dup_or_null(rec_str(obj, "status.appliedTag"));
    x->pending = (long)rec_int(obj, "status.pendingChangeSets", -1);
    x->ready = r ? cond_status_name(r->status) : "Unknown";
    if (!x->name) {
        free((char *)x->applied_tag);
        b->nomem = true;
        return;
    }
    b->n++;
}

static int inst_cmp(const void *a, const void *b)
{
    return strcmp(((const struct dbschema_instance *)a)->name,
                  ((const struct dbschema_instance *)b)->name);
}

static void inst_release(struct inst_buf *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free((char *)b->items[i].name);
        free((char *)b->items[i].applied_tag);
    }
    free(b->items);
    memset(b, 0, sizeof(*b));
}

struct state {
    struct tm_proc *proc;
    const char *ns, *name;
    const cJSON *obj; /* the DBSchema (the driver's, borrowed for the reconcile) */
    struct dbschema_observed o;
    struct dbschema_plan p;
    struct chlog *cl;
    char *summary;
    char revision[REC_REVISION_MAX];
    char msg[MSG];
    const char **tags;
    const char **old_tags;
    struct dbschema_instance *old_inst;
    struct dbschema_tag_count *old_by_tag;
    struct inst_buf insts;
};

static void state_release(struct state *s)
{
    chlog_free(s->cl);
    free(s->summary);
    free(s->tags);
    free(s->old_tags);
    free(s->old_inst);
    free(s->old_by_tag);
    inst_release(&s->insts);
}

static enum tm_code read_status(struct state *s, struct dbschema_status *st, struct tm_err *err)
{
    const cJSON *j = rec_at(s->obj, "status");
    memset(st, 0, sizeof(*st));
    st->source = rec_str(j, "source");
    st->revision = rec_str(j, "revision");
    st->last_fetch_ms = rec_time_parse(rec_str(j, "lastFetchTime"));
    st->changesets = (long)rec_int(j, "changeSets", -1);
    st->observed_generation = rec_int(j, "observedGeneration", 0);
    rec_conds_from_json(rec_at(j, "conditions"), &st->conds);
    const cJSON *tags = rec_at(j, "tags"), *insts = rec_at(j, "instances"), *it;
    int nt = cJSON_IsArray(tags) ? cJSON_GetArraySize(tags) : 0;
    int ni = cJSON_IsArray(insts) ? cJSON_GetArraySize(insts) : 0;
    if (nt > 0) {
        s->old_tags = calloc((size_t)nt, sizeof(*s->old_tags));
        if (!s->old_tags)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        cJSON_ArrayForEach(it, tags) s->old_tags[st->ntags++] =
            cJSON_IsString(it) ? it->valuestring : "";
        st->tags = s->old_tags;
    }
    if (ni > 0) {
        s->old_inst = calloc((size_t)ni, sizeof(*s->old_inst));
        if (!s->old_inst)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        cJSON_ArrayForEach(it, insts)
        {
            struct dbschema_instance *x = &s->old_inst[st->ninstances++];
            x->name = rec_str(it, "name");
            x->applied_tag = rec_str(it, "appliedTag");
            x->pending = (long)rec_int(it, "pending", -1);
            x->ready = rec_str(it, "ready");
        }
        st->instances = s->old_inst;
    }
    st->instance_count = (long)rec_int(j, "instanceCount", -1);
    st->instances_ready = (long)rec_int(j, "instancesReady", -1);
    const cJSON *by_tag = rec_at(j, "instancesByTag");
    int nb = cJSON_IsArray(by_tag) ? cJSON_GetArraySize(by_tag) : 0;
    if (nb > 0) {
        s->old_by_tag = calloc((size_t)nb, sizeof(*s->old_by_tag));
        if (!s->old_by_tag)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        cJSON_ArrayForEach(it, by_tag)
        {
            const char *tag = rec_str(it, "tag");
            s->old_by_tag[st->nby_tag++] =
                (struct dbschema_tag_count){tag ? tag : "", (long)rec_int(it, "count", -1)};
        }
        st->by_tag = s->old_by_tag;
    }
    return TM_OK;
}

static cJSON *status_json(const struct dbschema_status *st)
{
    char t[32];
    cJSON *o = rec_status_new(&st->conds);
    if (!o)
        return NULL;
    bool ok = cJSON_AddNumberToObject(o, "observedGeneration", (double)st->observed_generation);
    if (ok && st->source)
        ok = cJSON_AddStringToObject(o, "source", st->source) != NULL;
    if (ok && st->revision)
        ok = cJSON_AddStringToObject(o, "revision", st->revision) != NULL;
    if (ok && st->last_fetch_ms > 0) {
        rec_time_format(st->last_fetch_ms, t, sizeof(t));
        ok = cJSON_AddStringToObject(o, "lastFetchTime", t) != NULL;
    }
    if (ok && st->changesets >= 0)
        ok = cJSON_AddNumberToObject(o, "changeSets", (double)st->changesets) &&
             cJSON_AddNumberToObject(o, "tagCount", (double)st->ntags) &&
             cJSON_AddStringToObject(o, "latestTag", st->ntags ? st->tags[st->ntags - 1] : "");
    cJSON *tags = ok ? cJSON_AddArrayToObject(o, "tags") : NULL;
    ok = tags != NULL;
    for (size_t i = 0; ok && i < st->ntags; i++) {
        cJSON *x = cJSON_CreateString(st->tags[i]);
        ok = x && cJSON_AddItemToArray(tags, x);
        if (!ok)
            cJSON_Delete(x);
    }
    cJSON *insts = ok ? cJSON_AddArrayToObject(o, "instances") : NULL;
    ok = insts != NULL;
    for (size_t i = 0; ok && i < st->ninstances; i++) {
        const struct dbschema_instance *in = &st->instances[i];
        cJSON *x = rec_array_add_object(insts);
        ok = x != NULL;
        if (!ok)
            break;
        ok = cJSON_AddStringToObject(x, "name", in->name ? in->name : "") &&
             (!in->applied_tag || cJSON_AddStringToObject(x, "appliedTag", in->applied_tag)) &&
             (in->pending < 0 || cJSON_AddNumberToObject(x, "pending", (double)in->pending)) &&
             cJSON_AddStringToObject(x, "ready", in->ready ? in->ready : "Unknown");
    }
    if (ok && st->instance_count >= 0)
        ok = cJSON_AddNumberToObject(o, "instanceCount", (double)st->instance_count) &&
             cJSON_AddNumberToObject(o, "instancesReady", (double)st->instances_ready);
    cJSON *by_tag = ok ? cJSON_AddArrayToObject(o, "instancesByTag") : NULL;
    ok = by_tag != NULL;
    for (size_t i = 0; ok && i < st->nby_tag; i++) {
        cJSON *x = rec_array_add_object(by_tag);
        ok = x && cJSON_AddStringToObject(x, "tag", st->by_tag[i].tag) &&
             cJSON_AddNumberToObject(x, "count", (double)st->by_tag[i].count);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* observe, the changelog: fetched and parsed into s, described in o
 * (borrowing from s).  A changelog that does not load is not a failure of
 * the reconcile but what the status reports (stage and message in o); only
 * running out of memory is. */
static enum tm_code observe_changelog(struct tm_proc *proc, struct state *s,
                                      struct dbschema_observed *o, const char *ns,
                                      const char *name, struct tm_err *err)
{
    struct tm_err lerr;
    enum rec_load_stage stage = REC_LOAD_SPEC;
    int64_t interval = 0;
    tm_err_clear(&lerr);
    if (rec_load_changelog(proc, s->obj, NULL, &s->cl, s->revision, &interval, &s->summary,
                           &stage, &lerr) != TM_OK)
        log_debug(proc->log, "changelog not loaded", LF_S("controller", "dbschema"),
                  LF_S("namespace", ns), LF_S("name", name), LF_S("err", lerr.msg));
    snprintf(s->msg, sizeof(s->msg), "%s", lerr.msg);
    o->source = s->summary;
    o->git = interval > 0;
    o->interval_ms = interval;
    o->revision = s->revision[0] ? s->revision : NULL;
    switch (stage) {
    case REC_LOAD_SPEC:
        o->spec_error = s->msg;
        break;
    case REC_LOAD_FETCH:
        o->fetch_error = s->msg;
        o->fetch_retry = lerr.retry;
        break;
    case REC_LOAD_PARSE:
        o->fetched = true;
        o->parse_error = s->msg;
        break;
    case REC_LOAD_OK:
        o->fetched = true;
        o->parsed = true;
        s->tags = calloc(s->cl->nsets ? s->cl->nsets : 1, sizeof(*s->tags));
        if (!s->tags)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        for (size_t i = 0; i < s->cl->nsets; i++) {
            if (s->cl->sets[i].tag)
                s->tags[o->ntags++] = s->cl->sets[i].tag;
        }
        o->tags = s->tags;
        o->changesets = (long)s->cl->nsets;
        o->nwarnings = s->cl->nwarnings;
        o->warning = s->cl->nwarnings ? s->cl->warnings[0] : NULL;
        break;
    }
    return TM_OK;
}

/* observe, the environment matrix: the DBInstances in ns that name this
 * schema, sorted by name, into s and o. */
static enum tm_code observe_instances(struct tm_proc *proc, struct state *s,
                                      struct dbschema_observed *o, const char *ns,
                                      const char *name, struct tm_err *err)
{
    s->insts.schema = name;
    enum tm_code rc = rec_foreach_indexed(proc, REC_GROUP, REC_VERSION, "dbinstances", ns,
                                          "spec.schemaRef.name", name, inst_collect, &s->insts,
                                          err);
    if (rc != TM_OK)
        return rc;
    if (s->insts.nomem)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    if (s->insts.n > 1)
        qsort(s->insts.items, s->insts.n, sizeof(s->insts.items[0]), inst_cmp);
    o->instances = s->insts.items;
    o->ninstances = s->insts.n;
    return TM_OK;
}

/* ------------------------------------------------- the driver's hooks */

static enum tm_code schema_observe(void *k, const cJSON *obj, struct tm_err *err)
{
    struct state *s = k;
    s->obj = obj;
    memset(&s->o, 0, sizeof(s->o));
    enum tm_code rc = read_status(s, &s->o.status, err);
    if (rc != TM_OK)
        return rc;
    s->o.generation = rec_int(obj, "metadata.generation", 0);
    rc = observe_changelog(s->proc, s, &s->o, s->ns, s->name, err);
    if (rc == TM_OK)
        rc = observe_instances(s->proc, s, &s->o, s->ns, s->name, err);
    return rc;
}

static void schema_decide(void *k, int64_t now_ms, struct rec_decision *d)
{
    struct state *s = k;
    dbschema_decide(&s->o, now_ms, &s->p);
    d->changed = !dbschema_status_equal(&s->p.status, &s->o.status);
    d->status = d->changed ? status_json(&s->p.status) : NULL;
    d->events = s->p.events;
    d->nevents = s->p.nevents;
    d->requeue_ms = s->p.requeue_ms;
    d->backoff = s->p.backoff;
    d->backoff_code = TM_E_IO;
    d->backoff_msg = s->msg;
}

static const struct rec_kind schema_kind = {
    .group = REC_GROUP,
    .version = REC_VERSION,
    .resource = "dbschemas",
    .event_action = "Fetch",
    .max_rounds = 1,
    .observe = schema_observe,
    .decide = schema_decide,
};

enum tm_code dbschema_reconcile(void *ctx, struct tm_proc *proc, const char *ns, const char *name,
                                struct mgr_result *res, struct tm_err *err)
{
    struct state *s = calloc(1, sizeof(*s)); /* holds two statuses: not on a worker's stack */
    if (!s)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    s->proc = proc;
    s->ns = ns;
    s->name = name;
    enum tm_code rc = rec_drive(proc, &schema_kind, s, ctx, ns, name, res, err);
    state_release(s);
    free(s);
    return rc;
}

/* A DBInstance changed: its schema's matrix may have too. */
static void instance_to_schema(void *ctx, struct mgr *m, const cJSON *obj)
{
    char key[600];
    const char *ns = rec_str(obj, "metadata.namespace");
    const char *schema = rec_str(obj, "spec.schemaRef.name");
    (void)ctx;
    if (!ns || !schema)
        return;
    snprintf(key, sizeof(key), "%s/%s", ns, schema);
    if (mgr_enqueue(m, "DBSchema", key) != TM_OK)
        return; /* no DBSchema reconciler in this manager */
}

const struct mgr_reconciler dbschema_reconciler = {
    .kind = "DBSchema",
    .group = REC_GROUP,
    .version = REC_VERSION,
    .resource = "dbschemas",
    .reconcile = dbschema_reconcile,
    .secondary =
        {
            {.group = "", .version = "v1", .resource = "configmaps",
             .label_selector = SRC_CONFIGMAP_SELECTOR, /* not every ConfigMap */
             .ref_paths = {"spec.source.configMapRef.name"}},
            /* what the environment matrix (inst_collect) reads */
            {.group = REC_GROUP, .version = REC_VERSION, .resource = "dbinstances",
             .map = instance_to_schema,
             .update_paths = {"spec.schemaRef.name", "status.appliedTag",
                              "status.pendingChangeSets", "status.conditions"}},
        },
};
