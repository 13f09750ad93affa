/* drive: the reconcile loop shared by the three reconcilers (see drive.h
 * for the rules and why). */
#include "reconcilers/drive.h"

#include <stdatomic.h>
#include <string.h>

#include "reconcilers/rec.h"
#include "runtime/mgr.h"
#include "runtime/proc.h"

int64_t rec_drive_now(const struct rec_drive_opts *opts)
{
    int64_t ms = opts && opts->wall.now_ms ? tm_clock_now(&opts->wall) : tm_wall_ms();
    return ms / 1000 * 1000; /* the API keeps seconds */
}

int64_t rec_drive_started(const struct rec_drive_opts *opts)
{
    static _Atomic int64_t first; /* 0 until the first call */
    if (opts && opts->started_ms)
        return opts->started_ms;
    int64_t expected = 0;
    int64_t now = rec_drive_now(opts);
    if (atomic_compare_exchange_strong(&first, &expected, now))
        return now;
    return expected;
}

/* The subject as the loop knows it. */
struct subject {
    cJSON *obj;  /* the latest known version (cache, our write, or a live read) */
    cJSON *prev; /* the version before: the kind's state of this round may still
                  * borrow from it until its next observe */
    bool fresh;  /* obj is known to be the latest version */
};

static void subject_replace_take(struct subject *s, cJSON *obj)
{
    cJSON_Delete(s->prev);
    s->prev = s->obj;
    s->obj = obj;
}

static enum tm_code write_status(struct tm_proc *proc, const struct rec_kind *kind, void *k,
                                 struct subject *s, const char *ns, const char *name,
                                 struct rec_decision *d, struct tm_err *err)
{
    cJSON *out = NULL;
    enum tm_code rc;
    if (!d->status)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    s->fresh = true; /* the patch either lands on the latest version or fails */
    rc = rec_patch_status(proc, kind->resource, ns, name,
                          rec_str(s->obj, "metadata.resourceVersion"), d->status, &out, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "patch %.*s %s/%s status", (int)(strlen(kind->resource) - 1),
                             kind->resource, ns, name);
    if (out)
        subject_replace_take(s, out);
    if (kind->reported)
        kind->reported(k, s->obj);
    return TM_OK;
}

/* Before acting on a cached copy: is it the latest?  *again: it was not, and
 * the live copy is now the subject (decide again). */
static enum tm_code confirm_fresh(struct tm_proc *proc, const struct rec_kind *kind,
                                  struct subject *s, const char *ns, const char *name,
                                  bool *again, bool *gone, struct tm_err *err)
{
    cJSON *live = NULL;
    *again = false;
    *gone = false;
    enum tm_code rc =
        rec_get_live(proc, kind->group, kind->version, kind->resource, ns, name, &live, err);
    if (rc == TM_E_NOTFOUND) {
        *gone = true;
        return TM_OK;
    }
    if (rc != TM_OK)
        return rc;
    s->fresh = true;
    const char *rv_live = rec_str(live, "metadata.resourceVersion");
    const char *rv_have = rec_str(s->obj, "metadata.resourceVersion");
    if (!rv_live || !rv_have || strcmp(rv_live, rv_have) != 0) {
        subject_replace_take(s, live);
        *again = true;
        return TM_OK;
    }
    cJSON_Delete(live);
    return TM_OK;
}

enum tm_code rec_drive(struct tm_proc *proc, const struct rec_kind *kind, void *k,
                       const struct rec_drive_opts *opts, const char *ns, const char *name,
                       struct mgr_result *res, struct tm_err *err)
{
    struct subject s = {0};
    struct rec_decision d;
    memset(&d, 0, sizeof(d));
    res->requeue_after_ms = 0;
    enum tm_code rc = rec_get_subject(proc, kind->resource, ns, name, &s.obj, err);
    if (rc != TM_OK || !s.obj)
        goto out; /* an error, or deleted: nothing to undo, by design */

    for (int round = 0; round < kind->max_rounds; round++) {
        rc = kind->observe(k, s.obj, err);
        if (rc != TM_OK)
            goto out;
        cJSON_Delete(d.status);
        memset(&d, 0, sizeof(d));
        kind->decide(k, rec_drive_now(opts), &d);
        if (d.changed) {
            rc = write_status(proc, kind, k, &s, ns, name, &d, err);
            if (rc != TM_OK)
                goto out;
        }
        rec_post_events(proc, s.obj, d.events, d.nevents, kind->event_action);
        if (!d.act || !kind->act || tm_proc_stopping(proc))
            break;
        if (!s.fresh) {
            bool again = false, gone = false;
            rc = confirm_fresh(proc, kind, &s, ns, name, &again, &gone, err);
            if (rc != TM_OK || gone)
                goto out;
            if (again)
                continue;
        }
        kind->act(k, s.obj);
    }
    res->requeue_after_ms = d.requeue_ms;
    if (d.backoff)
        rc = tm_err_setr(err, d.backoff_code, TM_RETRY_TRANSIENT, "%s",
                         d.backoff_msg ? d.backoff_msg : "retrying");
out:
    cJSON_Delete(d.status);
    cJSON_Delete(s.obj);
    cJSON_Delete(s.prev);
    return rc;
}
