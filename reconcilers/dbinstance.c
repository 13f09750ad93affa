/* dbinstance: observe and report for DBInstances (decide is in
 * dbinstance_decide.c; rules and why in dbinstance.h).
 *
 * observe: the DBInstance (cache), its DBSchema -> changelog, the Secret
 * (live, via rec_connect), one connection, the history table -> engine
 * status (applied tag, counts, drift); decide; report: patch /status when it
 * changed, then Events.  Never writes the database: only reads history. */
#include "reconcilers/dbinstance.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/hashmap.h"
#include "engine/engine.h"
#include "reconcilers/dbrollout.h"
#include "reconcilers/drive.h"
#include "reconcilers/rec.h"
#include "reconcilers/text.h"
#include "runtime/metrics.h"
#include "runtime/mgr.h"

#define MSG 1024

struct state {
    struct tm_proc *proc;
    const char *ns;
    const char *name;
    int64_t now_ms;  /* decide's clock at the start of the reconcile */
    int64_t started_ms; /* rec_drive_started: when this process began reconciling */
    char fingerprint[ENGINE_FINGERPRINT_MAX];
    const cJSON *obj; /* the DBInstance (the driver's, borrowed for the reconcile) */
    struct dbinstance_observed o;
    struct dbinstance_plan p;
    cJSON *schema;
    struct chlog *cl;
    char revision[REC_REVISION_MAX];
    char schema_msg[MSG];
    char cred_msg[MSG];
    char conn_msg[MSG];
    char hist_msg[MSG];
    char active[DBROLLOUT_NAME_MAX];
    struct rec_db db;        /* a shared connection (PGPOOL_OBSERVE) */
    bool db_broken;          /* it failed with a connection-class error: close it */
    bool waiting;            /* the pool wait timed out: requeue, no status write */
    struct tm_err wait_err;
    struct engine_history hist;
    struct engine_status es;
    struct dbinstance_drift *drift;      /* observed (borrows es) */
    char (*drift_msg)[256];
    struct dbinstance_drift *old_drift;  /* status as read (borrows obj) */
};

static void state_release(struct state *s)
{
    cJSON_Delete(s->schema);
    chlog_free(s->cl);
    rec_disconnect(s->proc, &s->db, !s->db_broken);
    engine_history_release(&s->hist);
    engine_status_release(&s->es);
    free(s->drift);
    free(s->drift_msg);
    free(s->old_drift);
}

/* Reads the status of the object (strings borrowed from obj). */
static enum tm_code read_status(struct state *s, struct dbinstance_status *st, struct tm_err *err)
{
    const cJSON *j = rec_at(s->obj, "status");
    memset(st, 0, sizeof(*st));
    st->schema_revision = rec_str(j, "schemaRevision");
    st->applied_tag = rec_str(j, "appliedTag");
    st->applied = (long)rec_int(j, "appliedChangeSets", -1);
    st->pending = (long)rec_int(j, "pendingChangeSets", -1);
    st->last_applied = rec_str(j, "lastAppliedChangeSet");
    st->active_rollout = rec_str(j, "activeRollout");
    st->last_check_ms = rec_time_parse(rec_str(j, "lastCheckTime"));
    st->fingerprint = rec_str(j, "historyFingerprint");
    st->observed_generation = rec_int(j, "observedGeneration", 0);
    rec_conds_from_json(rec_at(j, "conditions"), &st->conds);
    const cJSON *arr = rec_at(j, "drift");
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    if (n > 0) {
        s->old_drift = calloc((size_t)n, sizeof(*s->old_drift));
        if (!s->old_drift)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        const cJSON *d;
        cJSON_ArrayForEach(d, arr)
        {
            struct dbinstance_drift *x = &s->old_drift[st->ndrift++];
            x->id = rec_str(d, "id");
            x->author = rec_str(d, "author");
            x->file = rec_str(d, "file");
            x->reason = rec_str(d, "reason");
            x->message = rec_str(d, "message");
        }
        st->drift = s->old_drift;
    }
    return TM_OK;
}

static bool add_opt_str(cJSON *o, const char *k, const char *v)
{
    return v ? cJSON_AddStringToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

static cJSON *status_json(const struct dbinstance_status *st)
{
    char t[32];
    cJSON *o = rec_status_new(&st->conds);
    if (!o)
        return NULL;
    bool ok = cJSON_AddNumberToObject(o, "observedGeneration", (double)st->observed_generation) &&
              add_opt_str(o, "schemaRevision", st->schema_revision) &&
              add_opt_str(o, "appliedTag", st->applied_tag) &&
              add_opt_str(o, "lastAppliedChangeSet", st->last_applied) &&
              add_opt_str(o, "activeRollout", st->active_rollout) &&
              add_opt_str(o, "historyFingerprint", st->fingerprint);
    if (ok && st->applied >= 0)
        ok = cJSON_AddNumberToObject(o, "appliedChangeSets", (double)st->applied) != NULL;
    if (ok && st->pending >= 0)
        ok = cJSON_AddNumberToObject(o, "pendingChangeSets", (double)st->pending) != NULL;
    if (ok && st->last_check_ms > 0) {
        rec_time_format(st->last_check_ms, t, sizeof(t));
        ok = cJSON_AddStringToObject(o, "lastCheckTime", t) != NULL;
    }
    cJSON *arr = ok ? cJSON_AddArrayToObject(o, "drift") : NULL;
    ok = arr != NULL;
    for (size_t i = 0; ok && i < st->ndrift; i++) {
        const struct dbinstance_drift *d = &st->drift[i];
        cJSON *x = rec_array_add_object(arr);
        ok = x != NULL;
        if (!ok)
            break;
        ok = cJSON_AddStringToObject(x, "id", d->id ? d->id : "") &&
             cJSON_AddStringToObject(x, "author", d->author ? d->author : "") &&
             cJSON_AddStringToObject(x, "file", d->file ? d->file : "") &&
             cJSON_AddStringToObject(x, "reason", d->reason ? d->reason : "ChecksumMismatch") &&
             (!d->message || cJSON_AddStringToObject(x, "message", d->message));
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* observe, the schema: the DBSchema spec.schemaRef names and its changelog
 * at the revision it reported (s->cl); why not, in o->schema_message. */
static void observe_schema(struct tm_proc *proc, struct state *s, struct dbinstance_observed *o,
                           const char *ns)
{
    struct tm_err err;
    tm_err_clear(&err);
    const char *schema_name = rec_str(s->obj, "spec.schemaRef.name");
    o->schema_message = s->schema_msg;
    if (!schema_name) {
        snprintf(s->schema_msg, sizeof(s->schema_msg), "spec.schemaRef.name is not set");
    } else if (rec_get(proc, REC_GROUP, REC_VERSION, "dbschemas", ns, schema_name, &s->schema,
                       &err) != TM_OK) {
        snprintf(s->schema_msg, sizeof(s->schema_msg), "DBSchema %s: %s", schema_name, err.msg);
    } else if (rec_load_changelog(proc, s->schema, rec_str(s->schema, "status.revision"), &s->cl,
                                  s->revision, NULL, NULL, NULL, &err) !=
               TM_OK) {
        snprintf(s->schema_msg, sizeof(s->schema_msg), "DBSchema %s: %s", schema_name, err.msg);
    } else {
        o->schema_ready = true;
        o->schema_revision = s->revision;
    }
}

/* observe, the short way to the schema: when the status is current and the
 * DBSchema (cache) still reports the revision it was computed for, the
 * changelog is not loaded (s->cl stays NULL; observe_database loads it
 * only if the fingerprint moved).  False: take observe_schema. */
static bool observe_schema_revision(struct tm_proc *proc, struct state *s,
                                    struct dbinstance_observed *o, const char *ns)
{
    struct tm_err err;
    tm_err_clear(&err);
    const char *schema_name = rec_str(s->obj, "spec.schemaRef.name");
    if (!schema_name || !dbinstance_status_current(o, s->now_ms))
        return false;
    if (rec_get(proc, REC_GROUP, REC_VERSION, "dbschemas", ns, schema_name, &s->schema, &err) !=
        TM_OK)
        return false;
    const char *rev = rec_str(s->schema, "status.revision");
    if (!rev || strcmp(rev, o->status.schema_revision) != 0) {
        cJSON_Delete(s->schema);
        s->schema = NULL;
        return false;
    }
    snprintf(s->revision, sizeof(s->revision), "%s", rev);
    o->schema_ready = true;
    o->schema_revision = s->revision;
    return true;
}

/* observe, the changelog after the short way found the history moved:
 * load it as observe_schema does.  False: not ready (why in o). */
static bool observe_schema_late(struct tm_proc *proc, struct state *s,
                                struct dbinstance_observed *o)
{
    cJSON_Delete(s->schema);
    s->schema = NULL;
    o->schema_ready = false;
    o->schema_revision = NULL;
    observe_schema(proc, s, o, s->ns);
    return o->schema_ready;
}

/* observe, the drift engine_status_compute found, as status entries (the
 * strings borrowed from s->es, the messages kept in s). */
static void observe_drift(struct state *s, struct dbinstance_observed *o)
{
    if (s->es.ndrift == 0)
        return;
    s->drift = calloc(s->es.ndrift, sizeof(*s->drift));
    s->drift_msg = calloc(s->es.ndrift, sizeof(*s->drift_msg));
    if (!s->drift || !s->drift_msg) {
        snprintf(s->hist_msg, sizeof(s->hist_msg), "out of memory");
        o->history_ok = false;
        o->history_error = s->hist_msg;
        return;
    }
    for (size_t i = 0; i < s->es.ndrift; i++) {
        const struct engine_drift *d = &s->es.drift[i];
        struct dbinstance_drift *x = &s->drift[i];
        x->id = d->id;
        x->author = d->author;
        x->file = d->filename;
        if (d->reason == ENGINE_DRIFT_CHECKSUM_MISMATCH) {
            x->reason = "ChecksumMismatch";
            snprintf(s->drift_msg[i], sizeof(s->drift_msg[i]), "stored %s, changelog %s",
                     d->stored ? d->stored : "", d->expected ? d->expected : "");
            x->message = s->drift_msg[i];
        } else {
            x->reason = "UnknownChangeSet";
        }
    }
    o->drift = s->drift;
    o->ndrift = s->es.ndrift;
}

/* Counts a recheck that read the fingerprint: the history was skipped
 * ("unchanged") or read in full ("changed"). */
static void count_recheck(struct tm_proc *proc, bool unchanged)
{
    if (!proc->metrics)
        return;
    struct metrics_family *f = metrics_counter(
        proc->metrics, "tidemark_dbinstance_rechecks_total",
        "DBInstance checks by whether the history fingerprint had changed since the last full "
        "read (unchanged: the history read and the status write were skipped)",
        "result", NULL);
    metrics_inc(f, (const char *const[]){unchanged ? "unchanged" : "changed"});
}

/* Observes how late this recheck runs behind the object's due instant
 * (wall clock, not decide's whole seconds). */
static void observe_lag(struct tm_proc *proc, const struct dbinstance_observed *o)
{
    static const double buckets[] = {0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600};
    if (!proc->metrics)
        return;
    struct metrics_family *f = metrics_histogram(
        proc->metrics, "tidemark_dbinstance_recheck_lag_seconds",
        "How long after its due instant (its phase in spec.checkInterval) a DBInstance whose "
        "spec and changelog were already handled was rechecked",
        NULL, buckets, sizeof(buckets) / sizeof(buckets[0]), NULL);
    int64_t lag = dbinstance_check_lag_ms(o->check_phase_ms, o->check_interval_ms, tm_wall_ms());
    metrics_observe(f, NULL, (double)lag / 1000.0);
}

/* observe, the fingerprint: read it; when it, the generation and the
 * changelog revision are the status's, mark o unchanged (the full read is
 * skipped).  A failed read is not an error: the full read runs and reports. */
static void observe_fingerprint(struct tm_proc *proc, struct state *s, struct pgx_conn *conn,
                                const char *table, bool flyway, struct dbinstance_observed *o)
{
    struct tm_err err;
    tm_err_clear(&err);
    if (engine_history_fingerprint(conn, table, flyway, s->fingerprint, sizeof(s->fingerprint),
                                   &err) != TM_OK)
        return;
    o->fingerprint = s->fingerprint;
    o->unchanged = dbinstance_history_unchanged(o, s->now_ms);
    count_recheck(proc, o->unchanged);
    if (o->status.observed_generation == o->generation &&
        text_streq(o->status.schema_revision, o->schema_revision))
        observe_lag(proc, o); /* a recheck, not the first look at a spec or changelog */
}

/* observe, the database: connect (why not: credentials or connection), then
 * read the history table and compare it with the changelog, when there is
 * one.  Nothing here fails the reconcile: every outcome is in o. */
static void observe_database(struct tm_proc *proc, struct state *s, struct dbinstance_observed *o)
{
    struct tm_err err;
    tm_err_clear(&err);
    const char *table = NULL;
    enum rec_conn_failure why = REC_CONN_OK;
    if (!rec_connect(proc, s->obj, PGPOOL_OBSERVE, &s->db, &table, &why, &err)) {
        if (why == REC_CONN_WAITING) { /* not a connect failure: instance_observe requeues */
            s->waiting = true;
            s->wait_err = err;
            return;
        }
        if (why == REC_CONN_CREDENTIALS && err.code != TM_E_AUTH) {
            snprintf(s->cred_msg, sizeof(s->cred_msg), "%s", err.msg);
            o->credentials_error = s->cred_msg;
        } else {
            snprintf(s->conn_msg, sizeof(s->conn_msg), "%s", err.msg);
            o->connect_error = s->conn_msg;
            o->connect_retry = err.retry;
        }
        return;
    }
    o->connected = true;
    if (!o->schema_ready)
        return;
    const char *spec_table = table;
    bool flyway = s->cl ? s->cl->format == CHLOG_FORMAT_FLYWAY
                        : strncmp(o->status.fingerprint, "flyway ", 7) == 0;
    if (flyway && strcmp(table, ENGINE_DEFAULT_TABLE) == 0)
        table = ENGINE_DEFAULT_FLYWAY_TABLE;
    observe_fingerprint(proc, s, s->db.conn, table, flyway, o);
    if (o->unchanged)
        return;
    if (!s->cl) { /* the short way: the history moved, so the changelog is needed */
        if (!observe_schema_late(proc, s, o))
            return;
        flyway = s->cl->format == CHLOG_FORMAT_FLYWAY;
        table = flyway && strcmp(spec_table, ENGINE_DEFAULT_TABLE) == 0
                    ? ENGINE_DEFAULT_FLYWAY_TABLE
                    : spec_table;
    }
    if (engine_history_read(s->db.conn, table, flyway, &s->hist, &err) != TM_OK ||
        engine_status_compute_filtered(s->cl, &s->hist, rec_str(s->obj, "spec.contexts"),
                                       rec_str(s->obj, "spec.labelFilter"), &s->es,
                                       &err) != TM_OK) {
        snprintf(s->hist_msg, sizeof(s->hist_msg), "%s", err.msg);
        o->history_error = s->hist_msg;
        s->db_broken = rec_conn_lost(&err);
        return;
    }
    o->history_ok = true;
    o->applied_tag = s->es.applied_tag;
    o->applied = (long)s->es.applied;
    o->pending = (long)s->es.npending;
    o->last_applied = s->es.last_applied;
    observe_drift(s, o);
}

/* The objects this process has looked at since it began reconciling: only
 * the first look at one may wait for its phase (the wave every start queues);
 * any later one (an Event, an edit, its phase's requeue) checks at once.
 * Process-wide, as the start it belongs to; keys only (values unused), kept
 * until exit: one entry per DBInstance ever seen. */
static pthread_mutex_t looked_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tm_hashmap looked;
static bool looked_ready;

/* True the first time this process asks about ns/name (and remembers it);
 * false after that, and when it cannot remember (out of memory: no wait). */
static bool first_look(const char *ns, const char *name)
{
    char key[2 * 254 + 2];
    snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name ? name : "");
    pthread_mutex_lock(&looked_mu);
    if (!looked_ready) {
        tm_hashmap_init(&looked);
        looked_ready = true;
    }
    bool first = false;
    if (!tm_hashmap_has(&looked, key))
        first = tm_hashmap_put(&looked, key, &looked, NULL) == TM_OK;
    pthread_mutex_unlock(&looked_mu);
    return first;
}

/* observe: the DBInstance's lock holder, its schema, its database. */
static void observe(struct tm_proc *proc, struct state *s, struct dbinstance_observed *o,
                    const char *ns)
{
    o->generation = rec_int(s->obj, "metadata.generation", 0);
    o->check_interval_ms = DBINSTANCE_CHECK_INTERVAL_MS;
    int64_t interval = 0; /* the CRD refuses a bad one; an older object falls back */
    if (dbinstance_parse_interval(rec_str(s->obj, "spec.checkInterval"), &interval))
        o->check_interval_ms = interval;
    o->check_phase_ms = dbinstance_check_phase_ms(ns, s->name, o->check_interval_ms);
    const char *holder = rec_annotation(s->obj, DBROLLOUT_LOCK_ANNOTATION);
    if (holder && *holder) {
        const char *slash = strchr(holder, '/');
        snprintf(s->active, sizeof(s->active), "%.*s",
                 (int)(slash ? slash - holder : (long)strlen(holder)), holder);
        o->active_rollout = s->active;
    }
    o->started_ms = s->started_ms;
    if (!observe_schema_revision(proc, s, o, ns))
        observe_schema(proc, s, o, ns);
    o->deferred = dbinstance_first_check_wait_ms(o, s->now_ms) > 0 && first_look(ns, s->name);
    if (!o->deferred) /* the first check after start waits for its phase: no connection */
        observe_database(proc, s, o);
    rec_disconnect(proc, &s->db, !s->db_broken); /* all read: hold no connection to write status */
}

/* ------------------------------------------------- the driver's hooks */

static enum tm_code instance_observe(void *k, const cJSON *obj, struct tm_err *err)
{
    struct state *s = k;
    s->obj = obj;
    memset(&s->o, 0, sizeof(s->o));
    enum tm_code rc = read_status(s, &s->o.status, err);
    if (rc == TM_OK)
        observe(s->proc, s, &s->o, s->ns);
    if (rc == TM_OK && s->waiting) { /* the manager requeues a WAITING error quietly */
        if (err)
            *err = s->wait_err;
        rc = s->wait_err.code;
    }
    return rc;
}

static void instance_decide(void *k, int64_t now_ms, struct rec_decision *d)
{
    struct state *s = k;
    dbinstance_decide(&s->o, now_ms, &s->p);
    d->changed = !dbinstance_status_equal(&s->p.status, &s->o.status);
    d->status = d->changed ? status_json(&s->p.status) : NULL;
    d->events = s->p.events;
    d->nevents = s->p.nevents;
    d->requeue_ms = s->p.requeue_ms;
    d->backoff = s->p.backoff;
    d->backoff_code = TM_E_DB;
    const struct cond *r = cond_find(&s->p.status.conds, COND_READY);
    d->backoff_msg = r ? r->message : "retrying";
}

static const struct rec_kind instance_kind = {
    .group = REC_GROUP,
    .version = REC_VERSION,
    .resource = "dbinstances",
    .event_action = "Observe",
    .max_rounds = 1,
    .observe = instance_observe,
    .decide = instance_decide,
};

/* tidemark_dbinstances{state}: the DBInstances by state, counted from the cache at each
 * scrape (not after each reconcile: that would cost O(instances) per recheck).  The states
 * are exclusive, judged in this order: None (no conditions yet), Drifted (the history
 * disagrees with the changelog), NotConnected, Ready, NotReady (anything else). */
enum instance_state { IS_NONE, IS_DRIFTED, IS_NOT_CONNECTED, IS_READY, IS_NOT_READY, IS_N };
static const char *const instance_state_names[IS_N] = {"None", "Drifted", "NotConnected",
                                                       "Ready", "NotReady"};

static void count_instance_state(void *ctx, const cJSON *obj)
{
    long *counts = ctx;
    struct cond_list l;
    rec_conds_from_json(rec_at(obj, "status.conditions"), &l);
    enum instance_state st = IS_NOT_READY;
    const struct cond *connected = cond_find(&l, DBINSTANCE_COND_CONNECTED);
    if (l.n == 0)
        st = IS_NONE;
    else if (cond_is_true(&l, DBINSTANCE_COND_DRIFTED))
        st = IS_DRIFTED;
    else if (connected && !cond_is_true(&l, DBINSTANCE_COND_CONNECTED))
        st = IS_NOT_CONNECTED;
    else if (cond_is_true(&l, COND_READY))
        st = IS_READY;
    counts[st]++;
}

void dbinstance_collect_metrics(void *proc, struct metrics *mx)
{
    long counts[IS_N] = {0};
    struct tm_err err;
    tm_err_clear(&err);
    struct metrics_family *f = metrics_gauge(
        mx, "tidemark_dbinstances",
        "DBInstances by state: None (no status yet), Drifted, NotConnected, Ready, NotReady.",
        "state", &err);
    if (!f || rec_foreach(proc, REC_GROUP, REC_VERSION, "dbinstances", NULL,
                          count_instance_state, counts, &err) != TM_OK)
        return;
    for (int i = 0; i < IS_N; i++)
        metrics_set(f, (const char *const[]){instance_state_names[i]}, (double)counts[i]);
}

enum tm_code dbinstance_reconcile(void *ctx, struct tm_proc *proc, const char *ns,
                                  const char *name, struct mgr_result *res, struct tm_err *err)
{
    struct state *s = calloc(1, sizeof(*s)); /* holds two statuses: not on a worker's stack */
    if (!s)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    s->proc = proc;
    s->ns = ns;
    s->name = name;
    s->now_ms = rec_drive_now(ctx);
    s->started_ms = rec_drive_started(ctx);
    engine_history_init(&s->hist);
    engine_status_init(&s->es);
    enum tm_code rc = rec_drive(proc, &instance_kind, s, ctx, ns, name, res, err);
    if (s->waiting)
        res->requeue_after_ms = REC_POOL_RETRY_MS;
    state_release(s);
    free(s);
    return rc;
}

const struct mgr_reconciler dbinstance_reconciler = {
    .kind = "DBInstance",
    .group = REC_GROUP,
    .version = REC_VERSION,
    .resource = "dbinstances",
    .reconcile = dbinstance_reconcile,
    .collect = dbinstance_collect_metrics,
    .secondary =
        {
            /* an instance reads its schema's revision (and the changelog
             * at it), never the instance list the DBSchema's status keeps:
             * without this, every instance's status change would wake every
             * instance of the schema through the DBSchema's status write */
            {.group = REC_GROUP, .version = REC_VERSION, .resource = "dbschemas",
             .ref_paths = {"spec.schemaRef.name"},
             .update_paths = {"metadata.generation", "status.revision"}},
        },
};
