/* dbinstance decide: observed connection and history -> status (see dbinstance.h). */
#include "reconcilers/dbinstance.h"
#include "reconcilers/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/hashmap.h"

int64_t dbinstance_check_phase_ms(const char *ns, const char *name, int64_t interval_ms)
{
    char key[2 * 254 + 2];
    snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name ? name : "");
    int64_t seconds = interval_ms / 1000; /* whole seconds: decide's clock has no more */
    return seconds > 0 ? (int64_t)(tm_hash_fnv1a(key) % (uint64_t)seconds) * 1000 : 0;
}

int64_t dbinstance_next_check_delay_ms(int64_t phase_ms, int64_t interval_ms, int64_t now_ms)
{
    if (interval_ms <= 0)
        return 0;
    int64_t at = now_ms % interval_ms;
    if (at < 0)
        at += interval_ms;
    int64_t d = (phase_ms - at) % interval_ms;
    if (d < 0)
        d += interval_ms;
    return d == 0 ? interval_ms : d;
}

int64_t dbinstance_check_lag_ms(int64_t phase_ms, int64_t interval_ms, int64_t now_ms)
{
    int64_t d = dbinstance_next_check_delay_ms(phase_ms, interval_ms, now_ms);
    return d >= interval_ms ? 0 : interval_ms - d;
}

bool dbinstance_parse_interval(const char *s, int64_t *ms)
{
    int64_t total = 0;
    if (!text_duration_ms(s, &total) || total < DBINSTANCE_CHECK_INTERVAL_MIN_MS)
        return false;
    *ms = total;
    return true;
}

bool dbinstance_status_current(const struct dbinstance_observed *o, int64_t now_ms)
{
    return o->status.fingerprint && o->status.schema_revision &&
           o->status.observed_generation == o->generation && o->status.last_check_ms > 0 &&
           now_ms - o->status.last_check_ms < DBINSTANCE_CHECK_REFRESH_MS;
}

bool dbinstance_history_unchanged(const struct dbinstance_observed *o, int64_t now_ms)
{
    return dbinstance_status_current(o, now_ms) && o->connected && !o->credentials_error &&
           o->schema_ready && o->fingerprint && strcmp(o->fingerprint, o->status.fingerprint) == 0 &&
           text_streq(o->status.schema_revision, o->schema_revision);
}

int64_t dbinstance_first_check_wait_ms(const struct dbinstance_observed *o, int64_t now_ms)
{
    int64_t interval = o->check_interval_ms > 0 ? o->check_interval_ms
                                                : DBINSTANCE_CHECK_INTERVAL_MS;
    if (o->started_ms <= 0 || !dbinstance_status_current(o, now_ms) || !o->schema_ready ||
        !text_streq(o->status.schema_revision, o->schema_revision) ||
        !text_streq(o->status.active_rollout, o->active_rollout))
        return 0;
    int64_t due = o->started_ms +
                  dbinstance_next_check_delay_ms(o->check_phase_ms, interval, o->started_ms);
    return due > now_ms ? due - now_ms : 0;
}

static bool drift_equal(const struct dbinstance_drift *a, const struct dbinstance_drift *b)
{
    return text_streq(a->id, b->id) && text_streq(a->author, b->author) && text_streq(a->file, b->file) &&
           text_streq(a->reason, b->reason) && text_streq(a->message, b->message);
}

/* Everything but lastCheckTime. */
static bool content_equal(const struct dbinstance_status *a, const struct dbinstance_status *b)
{
    if (!text_streq(a->schema_revision, b->schema_revision) || !text_streq(a->applied_tag, b->applied_tag) ||
        a->applied != b->applied || a->pending != b->pending ||
        !text_streq(a->last_applied, b->last_applied) || !text_streq(a->active_rollout, b->active_rollout) ||
        !text_streq(a->fingerprint, b->fingerprint) ||
        a->ndrift != b->ndrift || a->observed_generation != b->observed_generation ||
        !cond_list_equal(&a->conds, &b->conds))
        return false;
    for (size_t i = 0; i < a->ndrift; i++) {
        if (!drift_equal(&a->drift[i], &b->drift[i]))
            return false;
    }
    return true;
}

bool dbinstance_status_equal(const struct dbinstance_status *a,
                             const struct dbinstance_status *b)
{
    return a->last_check_ms == b->last_check_ms && content_equal(a, b);
}

static void event(struct dbinstance_plan *p, const char *reason, bool warning, const char *note)
{
    rec_plan_event_add(p->events, sizeof(p->events) / sizeof(p->events[0]), &p->nevents, reason,
                       warning, "%s", note);
}

void dbinstance_decide(const struct dbinstance_observed *o, int64_t now_ms,
                       struct dbinstance_plan *p)
{
    char msg[COND_MESSAGE_MAX];
    memset(p, 0, sizeof(*p));
    p->status = o->status;
    struct dbinstance_status *st = &p->status;
    struct cond_list *cl = &st->conds;
    int64_t gen = o->generation;
    bool was_connected = cond_is_true(&o->status.conds, DBINSTANCE_COND_CONNECTED);
    bool was_drifted = cond_is_true(&o->status.conds, DBINSTANCE_COND_DRIFTED);
    int64_t interval = o->check_interval_ms > 0 ? o->check_interval_ms
                                                : DBINSTANCE_CHECK_INTERVAL_MS;

    st->observed_generation = gen;
    st->active_rollout = o->active_rollout;
    st->fingerprint = NULL; /* kept only with a full, successful read (below) */
    p->requeue_ms = dbinstance_next_check_delay_ms(o->check_phase_ms, interval, now_ms);

    if (o->deferred) {
        /* not checked yet (first check after start waits for its phase):
         * the status stands as it is */
        int64_t wait = dbinstance_first_check_wait_ms(o, now_ms);
        st->fingerprint = o->status.fingerprint;
        p->requeue_ms = wait > 0 ? wait : 1000;
        return;
    }
    if (o->unchanged) {
        /* the history is as the status says: keep it (lastCheckTime too,
         * younger than the refresh period); only the lock holder may move */
        st->fingerprint = o->status.fingerprint;
        return;
    }

    /* Connected */
    if (o->credentials_error || !o->connected) {
        bool terminal = o->credentials_error || o->connect_retry == TM_RETRY_TERMINAL;
        const char *reason = o->credentials_error ? "CredentialsNotFound" : "ConnectFailed";
        text_cut(msg, sizeof(msg), "%s",
            o->credentials_error ? o->credentials_error
                                 : (o->connect_error ? o->connect_error : "cannot connect"));
        cond_set(cl, DBINSTANCE_COND_CONNECTED, COND_FALSE, reason, msg, gen, now_ms);
        cond_set_kstatus(cl, terminal ? COND_KS_STALLED : COND_KS_RECONCILING, reason, msg, gen,
                         now_ms);
        if (was_connected || !cond_find(&o->status.conds, DBINSTANCE_COND_CONNECTED) ||
            strcmp(cond_find(&o->status.conds, DBINSTANCE_COND_CONNECTED)->reason, reason) != 0)
            event(p, reason, true, msg);
        if (!terminal) {
            p->requeue_ms = DBINSTANCE_RETRY_MS;
            p->backoff = true;
        }
        goto out;
    }
    cond_set(cl, DBINSTANCE_COND_CONNECTED, COND_TRUE, "Connected", "connected", gen, now_ms);
    if (!was_connected)
        event(p, "Connected", false, "connected to the database");

    if (!o->schema_ready) {
        text_cut(msg, sizeof(msg), "the DBSchema is not ready: %s",
            o->schema_message ? o->schema_message : "not fetched yet");
        cond_set_kstatus(cl, COND_KS_RECONCILING, "SchemaNotReady", msg, gen, now_ms);
        goto out;
    }
    if (!o->history_ok) {
        text_cut(msg, sizeof(msg), "reading the history table failed: %s",
            o->history_error ? o->history_error : "error");
        cond_set_kstatus(cl, COND_KS_RECONCILING, "HistoryUnreadable", msg, gen, now_ms);
        p->requeue_ms = DBINSTANCE_RETRY_MS;
        p->backoff = true;
        goto out;
    }

    st->schema_revision = o->schema_revision;
    st->applied_tag = o->applied_tag;
    st->applied = o->applied;
    st->pending = o->pending;
    st->last_applied = o->last_applied;
    st->drift = o->drift;
    st->ndrift = o->ndrift > DBINSTANCE_DRIFT_MAX ? DBINSTANCE_DRIFT_MAX : o->ndrift;
    st->fingerprint = o->fingerprint;

    if (o->ndrift > 0) {
        const struct dbinstance_drift *d = &o->drift[0];
        text_cut(msg, sizeof(msg), "%zu history row(s) disagree with the changelog; first: %s::%s::%s %s",
            o->ndrift, d->file ? d->file : "", d->id ? d->id : "", d->author ? d->author : "",
            d->reason ? d->reason : "");
        cond_set(cl, DBINSTANCE_COND_DRIFTED, COND_TRUE, d->reason ? d->reason : "Drift", msg,
                 gen, now_ms);
        cond_set_kstatus(cl, COND_KS_STALLED, "Drifted", msg, gen, now_ms);
        if (!was_drifted)
            event(p, "DriftDetected", true, msg);
        goto out;
    }
    cond_set(cl, DBINSTANCE_COND_DRIFTED, COND_FALSE, "NoDrift", "history matches the changelog",
             gen, now_ms);
    if (was_drifted)
        event(p, "DriftResolved", false, "history matches the changelog again");
    text_cut(msg, sizeof(msg), "at tag %s: %ld changeset(s) applied, %ld pending",
        o->applied_tag ? o->applied_tag : "(none)", o->applied, o->pending);
    cond_set_kstatus(cl, COND_KS_READY, "Observed", msg, gen, now_ms);

out:
    if (o->history_ok && o->connected && !o->credentials_error &&
        (!content_equal(st, &o->status) || o->status.last_check_ms == 0 ||
         now_ms - o->status.last_check_ms >= DBINSTANCE_CHECK_REFRESH_MS))
        st->last_check_ms = now_ms;
}
