/* dbrollout: observe, act and report for DBRollouts (decide is in
 * dbrollout_decide.c; the rules and why are in dbrollout.h; the loop itself
 * is the shared driver, drive.c).
 *
 * One reconcile = a loop of at most LOOP_MAX rounds:
 *   observe  the rollout (cache, then our own patch responses), its
 *            DBInstance (lock annotation), DBSchema -> changelog (parsed once
 *            per reconcile), the database (one connection per reconcile:
 *            history -> status, plan toward spec.tag and toward preStartTag,
 *            lint), the Deployment and its ReplicaSets, the verification Job
 *            (while Verifying), the other rollouts;
 *   decide   dbrollout_decide();
 *   report   patch /status when it changed (conditional on resourceVersion:
 *            a 409 ends the reconcile with a transient error, the next one
 *            starts from fresh state), then the plan's Events;
 *   act      the plan's one action, only after its status write landed; its
 *            result feeds the next round's decide (struct dbrollout_last).
 * Nothing is remembered between reconciles except what is in the API
 * objects and the database: a crash anywhere resumes from observed state.
 *
 * Secrets never reach status, Events or logs: rec_connect() keeps them, and
 * every message here comes from the engine (which never includes conninfo)
 * or names objects only.
 *
 * No finalizer: deleting a DBRollout never touches the database, and a lock
 * left on the DBInstance by a deleted rollout counts as free. */
#include "reconcilers/dbrollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/caps.h"
#include "engine/engine.h"
#include "kube/kube.h"
#include "reconcilers/drive.h"
#include "reconcilers/gate.h"
#include "reconcilers/rec.h"
#include "reconcilers/tag_from.h"
#include "reconcilers/text.h"
#include "runtime/metrics.h"
#include "runtime/mgr.h"

#define LOOP_MAX 12
#define MSG 1024

/* --------------------------------------------------------------- observe */

struct peer_buf {
    const char *instance; /* ours */
    const char *self_uid;
    struct dbrollout_peer *items;
    size_t n, alloc;
    bool nomem;
};

static void peer_collect(void *ctx, const cJSON *obj)
{
    struct peer_buf *pb = ctx;
    const char *inst = rec_str(obj, "spec.instanceRef.name");
    if (!inst || strcmp(inst, pb->instance) != 0 || pb->nomem)
        return;
    if (pb->n == pb->alloc) {
        size_t na = pb->alloc ? pb->alloc * 2 : 8;
        struct dbrollout_peer *ni = realloc(pb->items, na * sizeof(*ni));
        if (!ni) {
            pb->nomem = true;
            return;
        }
        pb->items = ni;
        pb->alloc = na;
    }
    struct dbrollout_peer *pe = &pb->items[pb->n];
    memset(pe, 0, sizeof(*pe));
    const char *name = rec_str(obj, "metadata.name"), *uid = rec_str(obj, "metadata.uid");
    pe->name = strdup(name ? name : "");
    pe->uid = strdup(uid ? uid : "");
    if (!pe->name || !pe->uid) {
        free((char *)pe->name);
        free((char *)pe->uid);
        pb->nomem = true;
        return;
    }
    pe->generation = rec_int(obj, "metadata.generation", 0);
    pe->observed_generation = rec_int(obj, "status.observedGeneration", 0);
    if (!dbrollout_phase_parse(rec_str(obj, "status.phase"), &pe->phase))
        pe->phase = DBROLLOUT_PHASE_NONE;
    pb->n++;
}

static void peers_release(struct peer_buf *pb)
{
    for (size_t i = 0; i < pb->n; i++) {
        free((char *)pb->items[i].name);
        free((char *)pb->items[i].uid);
    }
    free(pb->items);
    memset(pb, 0, sizeof(*pb));
}

/* Everything observe owns for one reconcile. */
struct state {
    struct tm_proc *proc;
    const char *ns;
    const cJSON *obj; /* the rollout (the driver's, borrowed for the round) */
    bool inst_read;   /* the DBInstance was read (once per reconcile) */
    cJSON *inst;    /* its DBInstance (cache) */
    cJSON *deploy;  /* its Deployment (cache) */
    cJSON *job;     /* the verification Job named in status (cache), while Verifying */
    cJSON *created_job; /* the Job act created in this reconcile (the cache may lag) */
    struct chlog *cl;
    char schema_msg[MSG];
    bool schema_loaded;
    struct rec_db db; /* observe: a shared connection; apply/rollback: its own session */
    const char *table;
    bool flyway;
    char db_error[MSG];
    bool db_error_terminal;
    bool connect_tried;
    bool waiting;            /* a pool wait timed out, or the apply queued: end the reconcile */
    bool wait_queued;        /* the latter: decide once more, to say so in the status */
    int64_t wait_requeue_ms; /* then requeue after this long */
    struct tm_err wait_err;
    struct applim_wait apply_wait; /* o.apply_wait's strings */
    struct engine_history hist;
    struct engine_status es;
    char target_error[MSG];
    char prestart_error[MSG];
    char drift_first[MSG];
    char lint_denied[MSG];
    char lint_warned[MSG];
    struct plan_review plan; /* of the move to spec.tag (observe_db) */
    struct peer_buf peers;
    char lock_holder[DBROLLOUT_NAME_MAX];
    bool has_lock_holder;
    /* results of the last action */
    char last_error[TM_ERR_MSG_MAX];
    char last_changeset[DBROLLOUT_NAME_MAX];
    char last_tag[DBROLLOUT_TAG_MAX];
    char prestart_tag[DBROLLOUT_TAG_MAX];
    /* spec.tagFrom, resolved this round */
    char tag_from_tag[DBROLLOUT_TAG_MAX];
    char tag_from_image[MSG];
    char tag_from_error[MSG];
    char app_error[TM_ERR_MSG_MAX]; /* why the app could not be read (observe_app) */
    struct dbrollout_last last;
    bool lock_confirmed;
    /* this round's observed state and plan (struct rollout_round) */
    struct dbrollout_observed o;
    struct dbrollout_plan p;
};

static void state_release(struct state *s)
{
    cJSON_Delete(s->inst);
    cJSON_Delete(s->deploy);
    cJSON_Delete(s->job);
    cJSON_Delete(s->created_job);
    chlog_free(s->cl);
    rec_disconnect(s->proc, &s->db, true);
    engine_history_release(&s->hist);
    engine_status_release(&s->es);
    peers_release(&s->peers);
}

static void observe_schema(struct state *s, struct dbrollout_observed *o)
{
    struct tm_err err;
    cJSON *schema = NULL;
    char rev[REC_REVISION_MAX];
    tm_err_clear(&err);
    if (s->schema_loaded)
        goto out;
    s->schema_loaded = true;
    const char *schema_name = rec_str(s->inst, "spec.schemaRef.name");
    if (!schema_name) {
        snprintf(s->schema_msg, sizeof(s->schema_msg), "DBInstance %s names no schemaRef",
                 o->spec.instance);
        goto out;
    }
    if (rec_get(s->proc, REC_GROUP, REC_VERSION, "dbschemas", s->ns, schema_name, &schema,
                &err) != TM_OK) {
        snprintf(s->schema_msg, sizeof(s->schema_msg), "DBSchema %s: %s", schema_name, err.msg);
        goto out;
    }
    if (rec_load_changelog(s->proc, schema, rec_str(schema, "status.revision"), &s->cl, rev,
                           NULL, NULL, NULL, &err) != TM_OK) {
        snprintf(s->schema_msg, sizeof(s->schema_msg), "DBSchema %s: %s", schema_name, err.msg);
        goto out;
    }
    s->flyway = s->cl->format == CHLOG_FORMAT_FLYWAY;
out:
    cJSON_Delete(schema);
    o->schema_ready = s->cl != NULL;
    o->schema_message = s->schema_msg;
}

static void position(struct state *s, const char *tag, enum dbrollout_pos *pos, long *steps,
                     char *errbuf, size_t errn, struct plan *keep)
{
    struct plan pl;
    /* the same selection as the move (act_move): the instance's contexts/labels */
    struct plan_opts po = {.tag = tag,
                           .count = -1,
                           .context = rec_str(s->inst, "spec.contexts"),
                           .allow_drift = true,
                           .label_filter = rec_str(s->inst, "spec.labelFilter")};
    struct tm_err err;
    tm_err_clear(&err);
    plan_init(&pl);
    if (plan_build(s->cl, &s->hist, &po, &pl, &err) != TM_OK) {
        *pos = DBROLLOUT_POS_INVALID;
        *steps = 0;
        snprintf(errbuf, errn, "%s", err.msg);
        plan_release(&pl);
        return;
    }
    /* runAlways reruns are in every forward plan: they do not make the
     * instance "not at the tag" (a move that runs anyway still runs them) */
    *steps = dbrollout_plan_steps(s->cl, &pl);
    if (*steps == 0)
        *pos = DBROLLOUT_POS_AT;
    else
        *pos = pl.rollback ? DBROLLOUT_POS_BACKWARD : DBROLLOUT_POS_FORWARD;
    if (keep)
        *keep = pl;
    else
        plan_release(&pl);
}

static enum lint_policy policy_of(const cJSON *inst)
{
    const char *p = rec_str(inst, "spec.policy.destructiveChanges");
    if (p && strcmp(p, "Deny") == 0)
        return LINT_DENY;
    if (p && strcmp(p, "Allow") == 0)
        return LINT_ALLOW;
    return LINT_WARN;
}

static struct lint_opts lint_opts_of(const cJSON *inst)
{
    const cJSON *rr = rec_at(inst, "spec.policy.requireRollback");
    struct lint_opts lo = {.destructive = policy_of(inst), .require_rollback = cJSON_IsTrue(rr)};
    return lo;
}

static void lint_describe(const struct lint_finding *f, char *out, size_t n)
{
    snprintf(out, n, "%s in %s (%s:%d)", lint_kind_name(f->kind), f->changeset ? f->changeset : "",
             f->file ? f->file : "", f->line);
}

/* Connects s->db for use; s->table follows.  An apply session first takes its turn among
 * the applies (rec_connect_apply).  A pool wait that timed out, or an apply that must wait
 * for its turn, sets s->waiting (the latter is woken when its turn comes, so its requeue is
 * only a fallback). */
static struct pgx_conn *connect_db(struct state *s, enum pgpool_use use, struct tm_err *err)
{
    enum rec_conn_failure why;
    char key[2 * DBROLLOUT_NAME_MAX];
    const char *name = rec_str(s->obj, "metadata.name");
    snprintf(key, sizeof(key), "%s/%s", s->ns, name ? name : "");
    if (!(use == PGPOOL_APPLY
              ? rec_connect_apply(s->proc, s->inst, key, &s->db, &s->table, &why, err)
              : rec_connect(s->proc, s->inst, use, &s->db, &s->table, &why, err))) {
        if (why == REC_CONN_WAITING || why == REC_CONN_QUEUED) {
            s->waiting = true;
            s->wait_queued = why == REC_CONN_QUEUED;
            s->wait_requeue_ms = why == REC_CONN_QUEUED ? APPLIM_POLL_MS : REC_POOL_RETRY_MS;
            s->wait_err = *err;
        }
        s->db_error_terminal = why == REC_CONN_CREDENTIALS || err->retry == TM_RETRY_TERMINAL;
        return NULL;
    }
    if (s->flyway && strcmp(s->table, ENGINE_DEFAULT_TABLE) == 0)
        s->table = ENGINE_DEFAULT_FLYWAY_TABLE;
    return s->db.conn;
}

static void observe_db(struct state *s, struct dbrollout_observed *o)
{
    struct tm_err err;
    tm_err_clear(&err);
    memset(&o->db, 0, sizeof(o->db));
    memset(&o->lint, 0, sizeof(o->lint));
    if (!s->cl)
        return;
    if (!s->db.conn && !s->connect_tried) {
        s->connect_tried = true;
        if (!connect_db(s, PGPOOL_OBSERVE, &err))
            snprintf(s->db_error, sizeof(s->db_error), "%s", err.msg);
    }
    o->db.error = s->db_error;
    o->db.error_terminal = s->db_error_terminal;
    if (!s->db.conn)
        return;
    engine_history_release(&s->hist);
    engine_status_release(&s->es);
    engine_history_init(&s->hist);
    engine_status_init(&s->es);
    if (engine_history_read(s->db.conn, s->table, s->flyway, &s->hist, &err) != TM_OK ||
        engine_status_compute_filtered(s->cl, &s->hist, rec_str(s->inst, "spec.contexts"),
                                       rec_str(s->inst, "spec.labelFilter"), &s->es,
                                       &err) != TM_OK) {
        snprintf(s->db_error, sizeof(s->db_error), "%s", err.msg);
        /* give the connection back (closed when it broke); reconnect next reconcile */
        rec_disconnect(s->proc, &s->db, !rec_conn_lost(&err));
        return;
    }
    o->db.reachable = true;
    o->db.applied_tag = s->es.applied_tag;
    o->db.ndrift = (long)s->es.ndrift;
    if (s->es.ndrift > 0) {
        const struct engine_drift *d = &s->es.drift[0];
        snprintf(s->drift_first, sizeof(s->drift_first), "%s::%s::%s: %s",
                 d->filename ? d->filename : "", d->id ? d->id : "", d->author ? d->author : "",
                 d->reason == ENGINE_DRIFT_CHECKSUM_MISMATCH ? "ChecksumMismatch"
                                                             : "UnknownChangeSet");
        o->db.drift_first = s->drift_first;
    }
    struct plan pl;
    plan_init(&pl);
    position(s, o->spec.tag, &o->db.target, &o->db.target_steps, s->target_error,
             sizeof(s->target_error), &pl);
    o->db.target_error = s->target_error;
    if (o->db.target != DBROLLOUT_POS_INVALID) {
        /* status.plan, and the hash an approval names (engine/plan_review.h) */
        if (plan_review_build(s->cl, &pl, o->spec.instance, o->spec.tag, &s->plan, &err) ==
            TM_OK)
            o->plan = &s->plan;
        else
            log_warn(s->proc->log, "plan not reviewed", LF_S("controller", "dbrollout"),
                     LF_S("namespace", s->ns), LF_S("err", err.msg));
    }
    if (o->db.target == DBROLLOUT_POS_FORWARD) {
        struct lint_report lr;
        struct lint_opts lo = lint_opts_of(s->inst);
        lint_report_init(&lr);
        /* TM_E_POLICY is the answer (read from lr), not a failure */
        enum tm_code lrc = lint_plan(s->cl, &pl, &lo, &lr, &err);
        if (lrc != TM_OK && lrc != TM_E_POLICY)
            log_warn(s->proc->log, "lint failed", LF_S("controller", "dbrollout"),
                     LF_S("namespace", s->ns), LF_S("err", err.msg));
        for (size_t i = 0; i < lr.n; i++) {
            if (lr.items[i].denied) {
                if (o->lint.denied++ == 0) {
                    lint_describe(&lr.items[i], s->lint_denied, sizeof(s->lint_denied));
                    o->lint.first_denied = s->lint_denied;
                }
            } else if (o->lint.warned++ == 0) {
                lint_describe(&lr.items[i], s->lint_warned, sizeof(s->lint_warned));
                o->lint.first_warned = s->lint_warned;
            }
        }
        lint_report_release(&lr);
    }
    plan_release(&pl);
    if (o->status.has_pre_start_tag) {
        position(s, o->status.pre_start_tag, &o->db.prestart, &o->db.prestart_steps,
                 s->prestart_error, sizeof(s->prestart_error), NULL);
        o->db.prestart_error = s->prestart_error;
    }
}

/* Where each kind of app lives, and how its controller numbers and labels
 * its ReplicaSets (the same for a Deployment and an Argo Rollout: a revision
 * annotation on the app and its ReplicaSets, a hash label in the template). */
struct app_api {
    const char *group, *version, *resource;
    const char *revision_annotation;
    const char *hash_label; /* dropped from a template copied back (undo) */
};

static const struct app_api app_apis[] = {
    [DBROLLOUT_APP_DEPLOYMENT] = {"apps", "v1", "deployments",
                                  "deployment.kubernetes.io/revision", "pod-template-hash"},
    [DBROLLOUT_APP_ARGO_ROLLOUT] = {"argoproj.io", "v1alpha1", "rollouts",
                                    "rollout.argoproj.io/revision",
                                    "rollouts-pod-template-hash"},
};

static const struct app_api *app_api(enum dbrollout_app_kind k)
{
    return &app_apis[k == DBROLLOUT_APP_ARGO_ROLLOUT ? k : DBROLLOUT_APP_DEPLOYMENT];
}

/* The app (cache for a Deployment; a live GET for a Rollout, which is not
 * watched). */
static enum tm_code app_get(struct state *s, const struct dbrollout_spec *sp, cJSON **out,
                            struct tm_err *err)
{
    const struct app_api *api = app_api(sp->app_kind);
    return rec_get(s->proc, api->group, api->version, api->resource, s->ns, sp->deployment, out,
                   err);
}

struct rs_scan {
    const char *revision_annotation;
    const char *owner_uid;
    int64_t current;
    int64_t best;       /* highest revision below current */
    int64_t want;       /* restore: the revision to find */
    cJSON *found;       /* restore: a copy of that ReplicaSet */
};

static bool owned_by(const cJSON *obj, const char *uid)
{
    const cJSON *ref;
    cJSON_ArrayForEach(ref, rec_at(obj, "metadata.ownerReferences"))
    {
        const char *u = rec_str(ref, "uid");
        if (u && uid && strcmp(u, uid) == 0)
            return true;
    }
    return false;
}

static void rs_collect(void *ctx, const cJSON *obj)
{
    struct rs_scan *r = ctx;
    if (!owned_by(obj, r->owner_uid))
        return;
    const char *rv = rec_annotation(obj, r->revision_annotation);
    int64_t rev = rv ? strtoll(rv, NULL, 10) : 0;
    if (rev < r->current && rev > r->best)
        r->best = rev;
    if (r->want > 0 && rev == r->want && !r->found)
        r->found = cJSON_Duplicate(obj, true);
}

/* An Argo Rollout's status as `kubectl argo rollouts status` reads it
 * (GetRolloutPhase): status.observedGeneration is a string there, and one
 * that is not a number (a v0.9 hash) counts as observed; the phase and
 * message are the ones Argo's controller computed. */
static void observe_argo_rollout(const cJSON *d, struct dbrollout_app *a)
{
    const char *og = rec_str(d, "status.observedGeneration");
    char *end = NULL;
    long long g = og ? strtoll(og, &end, 10) : 0;
    if (og && end != og && *end == '\0')
        a->observed_generation = g;
    else
        a->observed_generation = og ? a->generation : 0;
    a->phase = rec_str(d, "status.phase");
    a->message = rec_str(d, "status.message");
    const cJSON *abort = rec_at(d, "status.abort");
    a->aborted = cJSON_IsTrue(abort);
    const char *current = rec_str(d, "status.currentPodHash");
    const char *stable = rec_str(d, "status.stableRS");
    a->promoted = current && stable && current[0] && strcmp(current, stable) == 0;
}

static void observe_app(struct state *s, struct dbrollout_observed *o)
{
    struct tm_err err;
    tm_err_clear(&err);
    memset(&o->app, 0, sizeof(o->app));
    cJSON_Delete(s->deploy);
    s->deploy = NULL;
    if (!o->spec.deployment)
        return;
    const struct app_api *api = app_api(o->spec.app_kind);
    o->app.kind = o->spec.app_kind;
    enum tm_code rc = app_get(s, &o->spec, &s->deploy, &err);
    if (rc != TM_OK) {
        if (rc != TM_E_NOTFOUND) {
            text_cut(s->app_error, sizeof(s->app_error), "%s", err.msg);
            o->app.read_error = s->app_error;
        }
        return;
    }
    const cJSON *d = s->deploy;
    struct dbrollout_app *a = &o->app;
    a->kind = o->spec.app_kind;
    a->found = true;
    a->generation = rec_int(d, "metadata.generation", 0);
    a->replicas = rec_int(d, "spec.replicas", 1);
    a->status_replicas = rec_int(d, "status.replicas", 0);
    a->updated_replicas = rec_int(d, "status.updatedReplicas", 0);
    a->available_replicas = rec_int(d, "status.availableReplicas", 0);
    if (a->kind == DBROLLOUT_APP_ARGO_ROLLOUT) {
        observe_argo_rollout(d, a);
    } else {
        a->observed_generation = rec_int(d, "status.observedGeneration", 0);
        const cJSON *c;
        cJSON_ArrayForEach(c, rec_at(d, "status.conditions"))
        {
            const char *type = rec_str(c, "type"), *reason = rec_str(c, "reason");
            if (type && reason && strcmp(type, "Progressing") == 0 &&
                strcmp(reason, "ProgressDeadlineExceeded") == 0)
                a->progress_deadline_exceeded = true;
        }
    }
    const char *rev = rec_annotation(d, api->revision_annotation);
    a->revision = rev ? strtoll(rev, NULL, 10) : 0;
    const cJSON *ta = rec_at(d, "spec.template.metadata.annotations");
    const cJSON *tt = cJSON_IsObject(ta)
                          ? cJSON_GetObjectItemCaseSensitive(ta, DBROLLOUT_TAG_ANNOTATION)
                          : NULL;
    a->template_tag = cJSON_IsString(tt) ? tt->valuestring : NULL;
    a->service_account = rec_str(d, "spec.template.spec.serviceAccountName");
    if (!a->service_account) /* the deprecated alias */
        a->service_account = rec_str(d, "spec.template.spec.serviceAccount");
    struct rs_scan scan = {.revision_annotation = api->revision_annotation,
                           .owner_uid = rec_str(d, "metadata.uid"),
                           .current = a->revision};
    if (rec_foreach(s->proc, "apps", "v1", "replicasets", s->ns, rs_collect, &scan, &err) ==
        TM_OK)
        a->previous_revision = scan.best;
}

/* True when the condition `type` of a Job is True. */
static bool job_condition(const cJSON *job, const char *type, const cJSON **out)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, rec_at(job, "status.conditions"))
    {
        const char *t = rec_str(c, "type"), *st = rec_str(c, "status");
        if (t && st && strcmp(t, type) == 0 && strcmp(st, "True") == 0) {
            *out = c;
            return true;
        }
    }
    return false;
}

/* The verification Job named in status.verification, while Verifying: from
 * the cache (the Jobs informer), or the copy act created in this reconcile
 * when the cache has not caught up yet.  A Job of that name that this
 * rollout does not own (a deleted rollout's of the same name and generation
 * that the garbage collector has not removed yet, or someone else's) is
 * not ours to judge: it reads as not found, and the create waits for it to
 * go (AlreadyExists). */
static void observe_job(struct state *s, struct dbrollout_observed *o)
{
    struct tm_err err;
    tm_err_clear(&err);
    memset(&o->job, 0, sizeof(o->job));
    cJSON_Delete(s->job);
    s->job = NULL;
    const char *name = o->status.verify_job;
    if (o->status.phase != DBROLLOUT_PHASE_VERIFYING || !name[0])
        return;
    if (rec_get(s->proc, "batch", "v1", "jobs", s->ns, name, &s->job, &err) != TM_OK) {
        const char *created = rec_str(s->created_job, "metadata.name");
        if (!created || strcmp(created, name) != 0)
            return;
        s->job = cJSON_Duplicate(s->created_job, true);
        if (!s->job)
            return;
    }
    if (!owned_by(s->job, o->uid))
        return;
    const cJSON *c = NULL;
    o->job.found = true;
    o->job.complete = job_condition(s->job, "Complete", &c);
    o->job.failed = !o->job.complete && job_condition(s->job, "Failed", &c);
    if (o->job.failed) {
        o->job.reason = rec_str(c, "reason");
        o->job.message = rec_str(c, "message");
    }
}

/* spec.tagFrom: the tag from the image of the named container of the
 * Deployment (cache).  On failure spec.tag is "" and tag_from_error says why
 * (decide blocks the rollout with it). */
static void resolve_tag_from(struct state *s, struct dbrollout_spec *sp)
{
    struct tm_err err;
    cJSON *d = NULL;
    tm_err_clear(&err);
    s->tag_from_tag[0] = '\0';
    sp->tag = s->tag_from_tag;
    sp->tag_from_error = s->tag_from_error;
    const char *noun = dbrollout_app_noun(sp->app_kind);
    if (!sp->deployment) {
        text_cut(s->tag_from_error, sizeof(s->tag_from_error),
                 "spec.tagFrom needs spec.deploymentRef or spec.appRef");
        return;
    }
    if (app_get(s, sp, &d, &err) != TM_OK) {
        text_cut(s->tag_from_error, sizeof(s->tag_from_error), "spec.tagFrom: %s %s: %s", noun,
                 sp->deployment, err.msg);
        return;
    }
    const char *image = NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, rec_at(d, "spec.template.spec.containers"))
    {
        const char *name = rec_str(c, "name");
        if (name && strcmp(name, sp->tag_from_container) == 0)
            image = rec_str(c, "image");
    }
    if (!image) {
        text_cut(s->tag_from_error, sizeof(s->tag_from_error),
                 "spec.tagFrom: %s %s has no container %s with an image", noun,
                 sp->deployment, sp->tag_from_container);
    } else {
        char why[MSG];
        text_cut(s->tag_from_image, sizeof(s->tag_from_image), "%s", image);
        sp->tag_from_image = s->tag_from_image;
        if (tag_from_resolve(image, sp->tag_from_pattern, s->tag_from_tag,
                             sizeof(s->tag_from_tag), why, sizeof(why)))
            sp->tag_from_error = NULL;
        else
            text_cut(s->tag_from_error, sizeof(s->tag_from_error), "spec.tagFrom: %s", why);
    }
    cJSON_Delete(d);
}

/* Is this rollout in the apply line without a slot (proc->applies)? */
static void observe_apply_wait(struct state *s, struct dbrollout_observed *o)
{
    char key[2 * DBROLLOUT_NAME_MAX];
    memset(&o->apply_wait, 0, sizeof(o->apply_wait));
    if (!s->proc->applies)
        return;
    snprintf(key, sizeof(key), "%s/%s", s->ns, o->name ? o->name : "");
    if (!applim_waiting(s->proc->applies, key, &s->apply_wait))
        return;
    o->apply_wait = (struct dbrollout_apply_wait){
        .waiting = true,
        .server = s->apply_wait.server,
        .running = s->apply_wait.running_server,
        .limit = s->apply_wait.limits.per_server,
        .running_total = s->apply_wait.running_total,
        .limit_total = s->apply_wait.limits.total};
}

static enum tm_code observe(struct state *s, struct dbrollout_observed *o, struct tm_err *err)
{
    memset(o, 0, sizeof(*o));
    dbrollout_read(s->obj, o);
    if (o->spec.tag_from_container)
        resolve_tag_from(s, &o->spec);
    o->instance_found = s->inst != NULL;
    const char *ap = rec_str(s->inst, "spec.policy.approval");
    o->instance_requires_approval = ap && strcmp(ap, "Required") == 0;
    o->lock_holder = s->has_lock_holder ? s->lock_holder : NULL;
    o->lock_confirmed = s->lock_confirmed;
    o->last = s->last;
    /* A settled rollout (terminal, spec unchanged) is only kept and its lock
     * released: decide reads nothing else, so do not connect or fetch. */
    bool settled = dbrollout_phase_terminal(o->status.phase) &&
                   o->status.observed_generation == o->generation &&
                   strcmp(o->status.target_tag, o->spec.tag) == 0;
    if (s->inst && !settled) {
        observe_schema(s, o);
        observe_db(s, o);
    }
    if (!settled) {
        observe_app(s, o);
        observe_job(s, o);
        observe_apply_wait(s, o);
    }
    peers_release(&s->peers);
    s->peers.instance = o->spec.instance;
    enum tm_code rc =
        rec_foreach_indexed(s->proc, REC_GROUP, REC_VERSION, "dbrollouts", s->ns,
                            "spec.instanceRef.name", o->spec.instance, peer_collect, &s->peers, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "list dbrollouts");
    if (s->peers.nomem)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    o->peers = s->peers.items;
    o->npeers = s->peers.n;
    return TM_OK;
}

/* ------------------------------------------------------------------- act */

static enum tm_code instance_path(struct state *s, const char *name, struct tm_buf *b,
                                  struct tm_err *err)
{
    struct kube_ref ref = {.group = REC_GROUP, .version = REC_VERSION, .ns = s->ns,
                           .resource = "dbinstances", .name = name};
    return kube_path(b, &ref, err);
}

/* Merge-patches the lock annotation (value NULL: remove) conditional on rv. */
static enum tm_code patch_lock(struct state *s, const char *inst, const char *rv,
                               const char *value, struct tm_err *err)
{
    struct tm_buf path;
    tm_buf_init(&path, TM_CAP_SMALL);
    cJSON *body = cJSON_CreateObject();
    cJSON *md = body ? cJSON_AddObjectToObject(body, "metadata") : NULL;
    cJSON *an = md ? cJSON_AddObjectToObject(md, "annotations") : NULL;
    enum tm_code rc = TM_OK;
    if (!an || !cJSON_AddStringToObject(md, "resourceVersion", rv) ||
        !(value ? cJSON_AddStringToObject(an, DBROLLOUT_LOCK_ANNOTATION, value)
                : cJSON_AddNullToObject(an, DBROLLOUT_LOCK_ANNOTATION)))
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
    if (rc == TM_OK)
        rc = instance_path(s, inst, &path, err);
    if (rc == TM_OK)
        rc = kube_patch(s->proc->kube, tm_buf_str(&path), KUBE_PATCH_MERGE, body, NULL, err);
    cJSON_Delete(body);
    tm_buf_release(&path);
    return rc;
}

static bool streq0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static enum tm_code act_acquire(struct state *s, const struct dbrollout_observed *o,
                                const struct dbrollout_action *a, struct tm_err *err)
{
    cJSON *inst = NULL, *holder = NULL;
    enum tm_code rc = rec_get_live(s->proc, REC_GROUP, REC_VERSION, "dbinstances", s->ns,
                                   o->spec.instance, &inst, err);
    if (rc != TM_OK)
        goto out;
    const char *cur = rec_annotation(inst, DBROLLOUT_LOCK_ANNOTATION);
    if (!streq0(cur, a->expect_holder)) {
        rc = tm_err_setr(err, TM_E_CONFLICT, TM_RETRY_WAITING,
                         "the lock of instance %s changed meanwhile", o->spec.instance);
        goto out;
    }
    if (cur && *cur && !dbrollout_lock_free(cur, o->uid, NULL, 0)) {
        /* someone else's lock: re-check its holder live before taking over */
        char hname[DBROLLOUT_NAME_MAX];
        const char *slash = strchr(cur, '/');
        snprintf(hname, sizeof(hname), "%.*s", (int)(slash ? slash - cur : 0), cur);
        struct dbrollout_peer pe;
        size_t npe = 0;
        rc = rec_get_live(s->proc, REC_GROUP, REC_VERSION, "dbrollouts", s->ns, hname, &holder,
                          err);
        if (rc == TM_OK) {
            memset(&pe, 0, sizeof(pe));
            pe.name = rec_str(holder, "metadata.name");
            pe.uid = rec_str(holder, "metadata.uid");
            pe.generation = rec_int(holder, "metadata.generation", 0);
            pe.observed_generation = rec_int(holder, "status.observedGeneration", 0);
            if (!dbrollout_phase_parse(rec_str(holder, "status.phase"), &pe.phase))
                pe.phase = DBROLLOUT_PHASE_NONE;
            npe = 1;
        } else if (rc != TM_E_NOTFOUND) {
            goto out;
        }
        if (!dbrollout_lock_free(cur, o->uid, &pe, npe)) {
            rc = tm_err_setr(err, TM_E_LOCKED, TM_RETRY_WAITING,
                             "instance %s is locked by DBRollout %s", o->spec.instance, hname);
            goto out;
        }
    }
    rc = patch_lock(s, o->spec.instance, rec_str(inst, "metadata.resourceVersion"), a->lock_id,
                    err);
    if (rc == TM_E_CONFLICT && err)
        err->retry = TM_RETRY_WAITING;
    if (rc == TM_OK) {
        snprintf(s->lock_holder, sizeof(s->lock_holder), "%s", a->lock_id);
        s->has_lock_holder = true;
        s->lock_confirmed = true;
    }
out:
    cJSON_Delete(holder);
    cJSON_Delete(inst);
    return rc;
}

static enum tm_code act_release(struct state *s, const struct dbrollout_observed *o,
                                struct tm_err *err)
{
    cJSON *inst = NULL;
    enum tm_code rc = rec_get_live(s->proc, REC_GROUP, REC_VERSION, "dbinstances", s->ns,
                                   o->spec.instance, &inst, err);
    if (rc == TM_E_NOTFOUND) {
        s->has_lock_holder = false;
        return TM_OK;
    }
    if (rc != TM_OK)
        return rc;
    const char *cur = rec_annotation(inst, DBROLLOUT_LOCK_ANNOTATION);
    char needle[DBROLLOUT_NAME_MAX];
    snprintf(needle, sizeof(needle), "/%s/", o->uid ? o->uid : "");
    if (cur && strstr(cur, needle))
        rc = patch_lock(s, o->spec.instance, rec_str(inst, "metadata.resourceVersion"), NULL, err);
    if (rc == TM_OK) {
        s->has_lock_holder = false;
        s->lock_confirmed = false;
    }
    cJSON_Delete(inst);
    return rc;
}

struct progress_ctx {
    struct state *s;
    const cJSON *obj;
    bool rollback;
};

static void on_progress(void *ctx, const struct chlog_changeset *cs,
                        const struct engine_step_result *step)
{
    struct progress_ctx *pc = ctx;
    char note[MSG];
    const char *reason = "ChangeSetApplied";
    bool warning = false;
    switch (step->outcome) {
    case ENGINE_OUT_EXECUTED:
    case ENGINE_OUT_RERAN:
        reason = "ChangeSetApplied";
        break;
    case ENGINE_OUT_ROLLED_BACK:
        reason = "ChangeSetRolledBack";
        break;
    case ENGINE_OUT_MARK_RAN:
    case ENGINE_OUT_SKIPPED:
        reason = "ChangeSetSkipped";
        break;
    case ENGINE_OUT_FAILED:
    case ENGINE_OUT_MARKED_NEXT_RUN:
        reason = "ChangeSetFailed";
        warning = true;
        break;
    }
    snprintf(note, sizeof(note), "%s %s in %ld ms", step->changeset ? step->changeset : "?",
             engine_outcome_name(step->outcome), step->duration_ms);
    rec_event(pc->s->proc, pc->obj, reason, warning, pc->rollback ? "Rollback" : "Apply", note);
    log_info(pc->s->proc->log, "changeset done", LF_S("controller", "dbrollout"),
             LF_S("namespace", pc->s->ns), LF_S("name", rec_str(pc->obj, "metadata.name")),
             LF_S("changeset", step->changeset ? step->changeset : ""),
             LF_S("outcome", engine_outcome_name(step->outcome)),
             LF_I("duration_ms", step->duration_ms));
    if (pc->s->proc->metrics) {
        struct metrics_family *f =
            metrics_counter(pc->s->proc->metrics, "tidemark_changesets_total",
                            "Changesets run by DBRollouts, by outcome.", "outcome", NULL);
        const char *v[] = {engine_outcome_name(step->outcome)};
        metrics_inc(f, v);
    }
    (void)cs;
}

static enum tm_code act_move(struct state *s, const struct dbrollout_observed *o,
                             const struct dbrollout_action *a, struct tm_err *err)
{
    struct engine_opts eo;
    struct engine_result res;
    struct progress_ctx pc = {.s = s, .obj = s->obj,
                              .rollback = a->kind == DBROLLOUT_ACT_ROLLBACK_TO_TAG};
    engine_opts_init(&eo);
    engine_result_init(&res);
    eo.table = s->table;
    eo.tag = a->tag;
    eo.count = -1;
    eo.strategy = o->spec.cs_failure == DBROLLOUT_CS_FAILURE_MARK_NEXT_RUN ? ENGINE_STRATEGY_MARK_NEXT_RUN
                  : o->spec.cs_failure == DBROLLOUT_CS_FAILURE_FAIL       ? ENGINE_STRATEGY_FAIL
                                                                          : ENGINE_STRATEGY_ROLLBACK;
    eo.lint = lint_opts_of(s->inst);
    /* the instance's Liquibase contexts and label filter (spring.liquibase.contexts) */
    eo.context = rec_str(s->inst, "spec.contexts");
    eo.label_filter = rec_str(s->inst, "spec.labelFilter");
    eo.lock_wait_ms = 2000;
    eo.progress = on_progress;
    eo.progress_ctx = &pc;
    if (!s->db.conn)
        return tm_err_setr(err, TM_E_DB, TM_RETRY_TRANSIENT, "not connected");
    /* the apply's own session (its advisory lock and SETs are per session), never one an
     * observer shares: give the observation's back first, so this reconcile never holds one
     * connection while waiting for another */
    if (s->db.use != PGPOOL_APPLY) {
        rec_disconnect(s->proc, &s->db, true);
        if (!connect_db(s, PGPOOL_APPLY, err)) {
            s->connect_tried = false; /* the next round observes through an observer's */
            return err->code;
        }
    }
    log_info(s->proc->log, pc.rollback ? "rolling back" : "applying",
             LF_S("controller", "dbrollout"), LF_S("namespace", s->ns), LF_S("name", o->name),
             LF_S("tag", a->tag));
    enum tm_code rc = engine_run(s->db.conn, s->cl, &eo, &res, err);
    s->last.applied = (long)res.applied;
    s->last.rolled_back = (long)res.rolled_back;
    s->last_changeset[0] = '\0';
    for (size_t i = 0; i < res.nsteps; i++) {
        if (res.steps[i].outcome == ENGINE_OUT_FAILED ||
            res.steps[i].outcome == ENGINE_OUT_MARKED_NEXT_RUN)
            snprintf(s->last_changeset, sizeof(s->last_changeset), "%s",
                     res.steps[i].changeset ? res.steps[i].changeset : "");
    }
    /* the apply is over: its slot goes to the next rollout in line now, not after the status
     * and Event writes that follow; the session stays for the next round's history read
     * (a new connection there cost more than the slot saved), unless it broke */
    rec_release_apply_slot(s->proc, &s->db);
    if (rc != TM_OK && err && rec_conn_lost(err)) /* reconnect on the next reconcile */
        rec_disconnect(s->proc, &s->db, false);
    /* precondition onFail/onError WARN: an Event (and so a log line) each */
    for (size_t i = 0; i < res.nwarnings; i++)
        rec_event(s->proc, s->obj, "PreconditionWarning", true, "Apply", res.warnings[i]);
    engine_result_release(&res);
    return rc;
}

/* `kubectl rollout undo --to-revision` (a Deployment) or `kubectl argo
 * rollouts undo --to-revision` (an Argo Rollout; the plugin's RunUndoRollout
 * does the same): copy the ReplicaSet's pod template (without the
 * controller's hash label) into the app, conditional on its resourceVersion,
 * only while the app is still at from_revision. */
static enum tm_code act_restore(struct state *s, const struct dbrollout_observed *o,
                                const struct dbrollout_action *a, struct tm_err *err)
{
    const struct app_api *api = app_api(o->spec.app_kind);
    const char *noun = dbrollout_app_noun(o->spec.app_kind);
    cJSON *d = NULL, *patch = NULL;
    struct rs_scan scan = {.revision_annotation = api->revision_annotation, .want = a->to_revision};
    struct tm_buf path;
    tm_buf_init(&path, TM_CAP_SMALL);
    enum tm_code rc = rec_get_live(s->proc, api->group, api->version, api->resource, s->ns,
                                   o->spec.deployment, &d, err);
    if (rc != TM_OK)
        goto out;
    const char *rev = rec_annotation(d, api->revision_annotation);
    if (!rev || strtoll(rev, NULL, 10) != a->from_revision)
        goto out; /* already moved on (restored, or edited by someone) */
    scan.owner_uid = rec_str(d, "metadata.uid");
    scan.current = a->from_revision;
    rc = rec_foreach_live(s->proc, "apps", "v1", "replicasets", s->ns, rs_collect, &scan, err);
    if (rc != TM_OK)
        goto out;
    if (!scan.found) {
        rc = tm_err_set(err, TM_E_NOTFOUND, "%s %s has no revision %lld to restore", noun,
                        o->spec.deployment, (long long)a->to_revision);
        goto out;
    }
    cJSON *tmpl = cJSON_DetachItemViaPointer(
        scan.found, (cJSON *)rec_at(scan.found, "spec.template"));
    if (!tmpl) {
        rc = tm_err_set(err, TM_E_INVAL, "replicaset of revision %lld has no template",
                        (long long)a->to_revision);
        goto out;
    }
    cJSON *labels = (cJSON *)rec_at(tmpl, "metadata.labels");
    if (cJSON_IsObject(labels))
        cJSON_DeleteItemFromObjectCaseSensitive(labels, api->hash_label);
    patch = cJSON_CreateArray();
    cJSON *t = cJSON_CreateObject(), *r = cJSON_CreateObject();
    if (!patch || !t || !r || !cJSON_AddItemToArray(patch, t)) {
        cJSON_Delete(t);
        cJSON_Delete(r);
        cJSON_Delete(tmpl);
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    if (!cJSON_AddItemToArray(patch, r)) {
        cJSON_Delete(r);
        cJSON_Delete(tmpl);
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    if (!cJSON_AddStringToObject(t, "op", "test") ||
        !cJSON_AddStringToObject(t, "path", "/metadata/resourceVersion") ||
        !cJSON_AddStringToObject(t, "value", rec_str(d, "metadata.resourceVersion")) ||
        !cJSON_AddStringToObject(r, "op", "replace") ||
        !cJSON_AddStringToObject(r, "path", "/spec/template") ||
        !cJSON_AddItemToObject(r, "value", tmpl)) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    struct kube_ref ref = {.group = api->group, .version = api->version, .ns = s->ns,
                           .resource = api->resource, .name = o->spec.deployment};
    rc = kube_path(&path, &ref, err);
    if (rc == TM_OK)
        rc = kube_patch(s->proc->kube, tm_buf_str(&path), KUBE_PATCH_JSON, patch, NULL, err);
    if (rc == TM_OK)
        log_info(s->proc->log, "app restored", LF_S("controller", "dbrollout"),
                 LF_S("namespace", s->ns), LF_S("name", o->name), LF_S("kind", noun),
                 LF_S("app", o->spec.deployment), LF_I("revision", a->to_revision));
    if ((rc == TM_E_CONFLICT || rc == TM_E_INVAL) && err)
        err->retry = TM_RETRY_TRANSIENT; /* a failed test op: read again */
out:
    cJSON_Delete(scan.found);
    cJSON_Delete(patch);
    cJSON_Delete(d);
    tm_buf_release(&path);
    return rc;
}

/* Adds a copy of the object at path in tmpl (absent: an empty object) to
 * parent under key; returns it (owned by parent) or NULL on allocation
 * failure. */
static cJSON *add_copy(cJSON *parent, const char *key, const cJSON *tmpl, const char *path)
{
    const cJSON *src = rec_at(tmpl, path);
    cJSON *copy = cJSON_IsObject(src) ? cJSON_Duplicate(src, true) : cJSON_CreateObject();
    if (!copy || !cJSON_AddItemToObject(parent, key, copy)) {
        cJSON_Delete(copy);
        return NULL;
    }
    return copy;
}

/* Sets obj[key] to a string, replacing what was there. */
static bool set_str(cJSON *obj, const char *key, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    return cJSON_AddStringToObject(obj, key, v) != NULL;
}

/* A label value from the rollout's name: at most 63 characters, ending in
 * an alphanumeric one (a DBRollout's name may be longer). */
static void label_value(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%.63s", name ? name : "");
    size_t len = strlen(out);
    while (len > 0 && !((out[len - 1] >= 'a' && out[len - 1] <= 'z') ||
                        (out[len - 1] >= '0' && out[len - 1] <= '9')))
        out[--len] = '\0';
}

/* The verification Job from spec.verify.jobTemplate: its labels and
 * annotations plus ours, an ownerReference to the rollout (deleted with
 * it), the pods running as the app's ServiceAccount (the Deployment's pod
 * template; none: the namespace's default) whatever the template says, and
 * activeDeadlineSeconds at most the time verify.timeout leaves. */
static cJSON *verify_job_new(struct state *s, const struct dbrollout_observed *o,
                             const struct dbrollout_action *a, struct tm_err *err)
{
    const cJSON *tmpl = rec_at(s->obj, "spec.verify.jobTemplate");
    char lv[64];
    label_value(o->name, lv, sizeof(lv));
    cJSON *job = cJSON_CreateObject();
    cJSON *md = job ? cJSON_AddObjectToObject(job, "metadata") : NULL;
    cJSON *labels = md ? add_copy(md, "labels", tmpl, "metadata.labels") : NULL;
    cJSON *annots = md ? add_copy(md, "annotations", tmpl, "metadata.annotations") : NULL;
    cJSON *owners = md ? cJSON_AddArrayToObject(md, "ownerReferences") : NULL;
    cJSON *owner = owners ? rec_array_add_object(owners) : NULL;
    cJSON *spec = job ? add_copy(job, "spec", tmpl, "spec") : NULL;
    cJSON *pod = spec ? (cJSON *)rec_at(spec, "template.spec") : NULL;
    if (!owner || !spec || !labels || !annots || !cJSON_AddStringToObject(job, "apiVersion", "batch/v1") ||
        !cJSON_AddStringToObject(job, "kind", "Job") ||
        !cJSON_AddStringToObject(md, "name", a->job_name) ||
        !cJSON_AddStringToObject(md, "namespace", s->ns) || !set_str(labels, DBROLLOUT_JOB_LABEL, lv) ||
        !set_str(annots, DBROLLOUT_TAG_ANNOTATION, o->spec.tag) ||
        !cJSON_AddStringToObject(owner, "apiVersion", REC_API_VERSION) ||
        !cJSON_AddStringToObject(owner, "kind", "DBRollout") ||
        !cJSON_AddStringToObject(owner, "name", o->name ? o->name : "") ||
        !cJSON_AddStringToObject(owner, "uid", o->uid ? o->uid : "") ||
        !cJSON_AddTrueToObject(owner, "controller")) {
        cJSON_Delete(job);
        tm_err_set(err, TM_E_NOMEM, "out of memory");
        return NULL;
    }
    if (!cJSON_IsObject(pod)) {
        cJSON_Delete(job);
        tm_err_setr(err, TM_E_INVAL, TM_RETRY_TERMINAL,
                    "spec.verify.jobTemplate.spec.template.spec is not an object");
        return NULL;
    }
    /* the app's identity, never one the template (or the controller) picks */
    cJSON_DeleteItemFromObjectCaseSensitive(pod, "serviceAccount");
    cJSON_DeleteItemFromObjectCaseSensitive(pod, "serviceAccountName");
    if (o->app.service_account && !cJSON_AddStringToObject(pod, "serviceAccountName",
                                                           o->app.service_account)) {
        cJSON_Delete(job);
        tm_err_set(err, TM_E_NOMEM, "out of memory");
        return NULL;
    }
    if (!rec_str(pod, "restartPolicy") && !cJSON_AddStringToObject(pod, "restartPolicy", "Never")) {
        cJSON_Delete(job);
        tm_err_set(err, TM_E_NOMEM, "out of memory");
        return NULL;
    }
    int64_t ads = rec_int(spec, "activeDeadlineSeconds", 0);
    if (ads <= 0 || ads > a->job_deadline_s) {
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "activeDeadlineSeconds");
        if (!cJSON_AddNumberToObject(spec, "activeDeadlineSeconds", (double)a->job_deadline_s)) {
            cJSON_Delete(job);
            tm_err_set(err, TM_E_NOMEM, "out of memory");
            return NULL;
        }
    }
    return job;
}

/* Creates the verification Job; one that already exists (a restart, a
 * cache behind) counts as created: its name is this generation's. */
static enum tm_code act_create_job(struct state *s, const struct dbrollout_observed *o,
                                   const struct dbrollout_action *a, struct tm_err *err)
{
    struct tm_buf path;
    tm_buf_init(&path, TM_CAP_SMALL);
    cJSON *job = verify_job_new(s, o, a, err), *created = NULL;
    enum tm_code rc = job ? TM_OK : err->code;
    struct kube_ref ref = {.group = "batch", .version = "v1", .ns = s->ns, .resource = "jobs"};
    if (rc == TM_OK)
        rc = kube_path(&path, &ref, err);
    if (rc == TM_OK)
        rc = kube_create(s->proc->kube, tm_buf_str(&path), job, &created, err);
    if (rc == TM_E_CONFLICT) {
        rc = TM_OK;
        tm_err_clear(err);
    } else if (rc == TM_OK) {
        cJSON_Delete(s->created_job);
        s->created_job = created;
        created = NULL;
        log_info(s->proc->log, "verification job created", LF_S("controller", "dbrollout"),
                 LF_S("namespace", s->ns), LF_S("name", o->name), LF_S("job", a->job_name));
    } else if (err) {
        tm_err_prefix(err, "create job");
    }
    cJSON_Delete(created);
    cJSON_Delete(job);
    tm_buf_release(&path);
    return rc;
}

static void act(struct state *s, const struct dbrollout_observed *o,
                const struct dbrollout_action *a)
{
    struct tm_err err;
    tm_err_clear(&err);
    enum tm_code rc = TM_OK;
    char *tag = NULL;
    memset(&s->last, 0, sizeof(s->last));
    s->last.kind = a->kind;
    if (a->tag) {
        snprintf(s->last_tag, sizeof(s->last_tag), "%s", a->tag);
        s->last.tag = s->last_tag;
    }
    switch (a->kind) {
    case DBROLLOUT_ACT_NONE:
        return;
    case DBROLLOUT_ACT_ACQUIRE_LOCK:
        rc = act_acquire(s, o, a, &err);
        break;
    case DBROLLOUT_ACT_RELEASE_LOCK:
        rc = act_release(s, o, &err);
        break;
    case DBROLLOUT_ACT_STAMP_PRESTART:
        if (!s->db.conn) {
            rc = tm_err_setr(&err, TM_E_DB, TM_RETRY_TRANSIENT, "not connected");
            break;
        }
        rc = engine_stamp_prestart_tag(s->db.conn, s->table, a->proposed_tag, &tag, &err);
        if (rc == TM_OK) {
            snprintf(s->prestart_tag, sizeof(s->prestart_tag), "%s", tag);
            s->last.prestart_tag = s->prestart_tag;
        }
        free(tag);
        break;
    case DBROLLOUT_ACT_APPLY_TO_TAG:
    case DBROLLOUT_ACT_ROLLBACK_TO_TAG:
        rc = act_move(s, o, a, &err);
        break;
    case DBROLLOUT_ACT_RESTORE_DEPLOYMENT:
        rc = act_restore(s, o, a, &err);
        break;
    case DBROLLOUT_ACT_CREATE_VERIFY_JOB:
        rc = act_create_job(s, o, a, &err);
        break;
    }
    if (s->waiting) { /* not a failed action: the next round's observe ends the reconcile */
        memset(&s->last, 0, sizeof(s->last));
        return;
    }
    s->last.code = rc;
    s->last.retry = err.retry;
    if (rc != TM_OK) {
        snprintf(s->last_error, sizeof(s->last_error), "%s", err.msg);
        s->last.error = s->last_error;
        if (s->last_changeset[0])
            s->last.changeset = s->last_changeset;
        log_warn(s->proc->log, "action failed", LF_S("controller", "dbrollout"),
                 LF_S("namespace", s->ns), LF_S("name", o->name), LF_S("err", err.msg),
                 LF_S("sqlstate", err.sqlstate));
    }
}

/* ---------------------------------------------------------------- report */

static void count_phase(struct tm_proc *proc, enum dbrollout_phase phase)
{
    if (!proc->metrics)
        return;
    struct metrics_family *f = metrics_counter(
        proc->metrics, "tidemark_dbrollout_phase_transitions_total",
        "DBRollout phase changes, by the phase entered.", "phase", NULL);
    const char *v[] = {dbrollout_phase_name(phase)};
    metrics_inc(f, v);
}

/* The status landed: count and log a phase change. */
static void rollout_reported(void *k, const cJSON *obj)
{
    struct state *s = k;
    const struct dbrollout_observed *o = &s->o;
    const struct dbrollout_plan *p = &s->p;
    (void)obj;
    if (p->status.phase == o->status.phase)
        return;
    count_phase(s->proc, p->status.phase);
    log_info(s->proc->log, "phase changed", LF_S("controller", "dbrollout"),
             LF_S("namespace", s->ns), LF_S("name", o->name), LF_I("generation", o->generation),
             LF_S("tag", o->spec.tag), LF_S("phase", dbrollout_phase_name(p->status.phase)));
}

/* tidemark_dbrollouts{phase}: counted from the cache at each scrape (mgr_reconciler.collect),
 * so the gauge is level-triggered, needs no bookkeeping, and costs O(rollouts) per scrape
 * rather than per reconcile (1,000 rollouts moving at once reconcile thousands of times). */
static void count_by_phase(void *ctx, const cJSON *obj)
{
    long *counts = ctx;
    enum dbrollout_phase ph = DBROLLOUT_PHASE_NONE;
    if (!dbrollout_phase_parse(rec_str(obj, "status.phase"), &ph))
        ph = DBROLLOUT_PHASE_NONE;
    counts[ph]++;
}

static void collect_phase_gauge(void *ctx, struct metrics *mx)
{
    struct tm_proc *proc = ctx;
    long counts[DBROLLOUT_PHASE_COUNT] = {0};
    struct tm_err err;
    tm_err_clear(&err);
    if (!proc->mgr)
        return;
    struct metrics_family *f = metrics_gauge(mx, "tidemark_dbrollouts",
                                             "DBRollouts by phase (\"None\": no status yet).",
                                             "phase", &err);
    if (!f || rec_foreach(proc, REC_GROUP, REC_VERSION, "dbrollouts", NULL, count_by_phase,
                          counts, &err) != TM_OK)
        return;
    for (int i = DBROLLOUT_PHASE_NONE; i < DBROLLOUT_PHASE_COUNT; i++) {
        const char *v[] = {i == DBROLLOUT_PHASE_NONE ? "None"
                                                     : dbrollout_phase_name((enum dbrollout_phase)i)};
        metrics_set(f, v, (double)counts[i]);
    }
}

/* ------------------------------------------------------------- reconcile */

/* The rollout's DBInstance, read once per reconcile: the lock annotation. */
static void observe_instance(struct state *s, const cJSON *obj)
{
    struct tm_err err;
    const char *inst = rec_str(obj, "spec.instanceRef.name");
    s->inst_read = true;
    tm_err_clear(&err);
    if (!inst || rec_get(s->proc, REC_GROUP, REC_VERSION, "dbinstances", s->ns, inst, &s->inst,
                         &err) != TM_OK)
        return;
    const char *h = rec_annotation(s->inst, DBROLLOUT_LOCK_ANNOTATION);
    if (h) {
        snprintf(s->lock_holder, sizeof(s->lock_holder), "%s", h);
        s->has_lock_holder = true;
    }
}

static enum tm_code rollout_observe(void *k, const cJSON *obj, struct tm_err *err)
{
    struct state *s = k;
    s->obj = obj;
    if (!s->inst_read)
        observe_instance(s, obj);
    enum tm_code rc = observe(s, &s->o, err);
    /* a pool wait: requeue (mgr: WAITING), no status write, no Event; an apply told to wait
     * for its turn decides once more (it is in the line now), then ends the reconcile */
    if (rc == TM_OK && s->waiting && !s->wait_queued) {
        if (err)
            *err = s->wait_err;
        rc = s->wait_err.code;
    }
    return rc;
}

static void rollout_decide(void *k, int64_t now_ms, struct rec_decision *d)
{
    struct state *s = k;
    dbrollout_decide(&s->o, now_ms, &s->p);
    d->changed = !dbrollout_status_equal(&s->p.status, &s->o.status);
    d->status = d->changed ? dbrollout_status_json(&s->p.status) : NULL;
    d->events = s->p.events;
    d->nevents = s->p.nevents;
    d->act = s->p.action.kind != DBROLLOUT_ACT_NONE && !s->waiting;
    d->requeue_ms = s->p.requeue_ms;
    d->backoff = s->p.backoff;
    d->backoff_code = TM_E_TIMEOUT;
    d->backoff_msg = s->p.status.message;
}

static void rollout_act(void *k, const cJSON *obj)
{
    struct state *s = k;
    s->obj = obj;
    act(s, &s->o, &s->p.action);
}

static const struct rec_kind rollout_kind = {
    .group = REC_GROUP,
    .version = REC_VERSION,
    .resource = "dbrollouts",
    .event_action = NULL,
    .max_rounds = LOOP_MAX,
    .observe = rollout_observe,
    .decide = rollout_decide,
    .reported = rollout_reported,
    .act = rollout_act,
};

/* The schema gate (gate.h): after the rollout's status landed, judge its
 * Deployment's gated pods from the cached copy (the status write's watch
 * event brings a newer one back here).  A failed release is retried soon;
 * it never fails the rollout's reconcile. */
static void release_schema_gates(struct tm_proc *proc, const char *ns, const char *name,
                                 struct mgr_result *res)
{
    cJSON *obj = NULL;
    struct tm_err err;
    tm_err_clear(&err);
    enum tm_code rc = rec_get_subject(proc, "dbrollouts", ns, name, &obj, &err);
    if (rc == TM_OK && obj)
        rc = gate_sync(proc, obj, &err);
    cJSON_Delete(obj);
    if (rc == TM_OK)
        return;
    log_warn(proc->log, "schema gates not judged", LF_S("controller", "dbrollout"),
             LF_S("namespace", ns), LF_S("name", name), LF_S("err", err.msg));
    if (res && (res->requeue_after_ms == 0 || res->requeue_after_ms > GATE_RETRY_MS))
        res->requeue_after_ms = GATE_RETRY_MS;
}

enum tm_code dbrollout_reconcile(void *ctx, struct tm_proc *proc, const char *ns,
                                 const char *name, struct mgr_result *res, struct tm_err *err)
{
    struct state *s = calloc(1, sizeof(*s)); /* holds two statuses: not on a worker's stack */
    if (!s)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    s->proc = proc;
    s->ns = ns;
    engine_history_init(&s->hist);
    engine_status_init(&s->es);
    enum tm_code rc = rec_drive(proc, &rollout_kind, s, ctx, ns, name, res, err);
    if (s->waiting) {
        if (rc == TM_OK && err) /* the wait came in the last round */
            *err = s->wait_err;
        rc = s->wait_err.code;
        res->requeue_after_ms = s->wait_requeue_ms;
    }
    state_release(s);
    free(s);
    if (rc == TM_OK)
        release_schema_gates(proc, ns, name, res);
    return rc;
}

const struct mgr_reconciler dbrollout_reconciler = {
    .kind = "DBRollout",
    .group = REC_GROUP,
    .version = REC_VERSION,
    .resource = "dbrollouts",
    .reconcile = dbrollout_reconcile,
    .collect = collect_phase_gauge,
    .secondary =
        {
            {.group = "apps", .version = "v1", .resource = "deployments",
             .ref_paths = {"spec.deploymentRef.name"}},
            {.group = REC_GROUP, .version = REC_VERSION, .resource = "dbinstances",
             .ref_paths = {"spec.instanceRef.name"}},
            {.group = "", .version = "v1", .resource = "pods",
             .label_selector = GATE_SELECTOR, /* gated pods only, not the cluster's */
             .map = gate_map_pod},
            {.group = "batch", .version = "v1", .resource = "jobs",
             .label_selector = DBROLLOUT_JOB_LABEL, /* verification Jobs only */
             .owner_kind = "DBRollout"},
        },
};
