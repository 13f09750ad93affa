/* dbinstance: the DBInstance reconciler — a database and the schema that
 * lives in it.  It connects, reads the history table, compares it with the
 * DBSchema's changelog and reports; it NEVER changes the database (only a
 * DBRollout does).
 *
 * Layout (STYLE.md rule 8): observe (dbinstance.c: the DBInstance and its
 * DBSchema from the cache, the Secret, a connection and the history via the
 * engine) -> decide (dbinstance_decide.c, pure: this header) -> report
 * (status patch only on change, Events on Connected/Drifted transitions).
 *
 * Decisions (why):
 *  - observedGeneration is always the current generation: every reconcile
 *    fully handles the spec (there is nothing long-running to wait for).
 *    So the first status write replaces the CRDs' status default
 *    {observedGeneration: -1}, which a new object carries until then (the
 *    same holds for DBSchema).
 *  - lastCheckTime moves only when something else in the status changed or
 *    it is older than DBINSTANCE_CHECK_REFRESH_MS, so a healthy instance
 *    polled every minute does not cost a status write every minute.
 *  - Drift makes Ready False and Stalled True (a human must reconcile the
 *    history); pending changesets do not (applying them is a DBRollout's job).
 *  - A connection refused is Reconciling (retried with backoff); a refused
 *    password or a missing Secret key is Stalled (retried on the interval:
 *    the Secret may be fixed).
 * Secrets: the observed struct carries only messages that name Secrets and
 * keys, never values; nothing here can leak a password. */
#ifndef TM_RECONCILERS_DBINSTANCE_H
#define TM_RECONCILERS_DBINSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "reconcilers/conditions.h"
#include "reconcilers/plan_event.h"

#define DBINSTANCE_COND_CONNECTED "Connected"
#define DBINSTANCE_COND_DRIFTED "Drifted"
#define DBINSTANCE_CHECK_INTERVAL_MS 60000
#define DBINSTANCE_CHECK_REFRESH_MS (10 * 60 * 1000)
#define DBINSTANCE_RETRY_MS 10000
#define DBINSTANCE_DRIFT_MAX 50 /* drift entries listed in status (all are counted) */

/* One drifted history row (strings borrowed). */
struct dbinstance_drift {
    const char *id;
    const char *author;
    const char *file;
    const char *reason;  /* "ChecksumMismatch" | "UnknownChangeSet" */
    const char *message; /* NULL ok */
};

/* The status; strings and arrays are borrowed from the observed struct. */
struct dbinstance_status {
    const char *schema_revision;
    const char *applied_tag;
    long applied;         /* -1: unknown (never read) */
    long pending;         /* -1: unknown */
    const char *last_applied;
    const char *active_rollout;
    const struct dbinstance_drift *drift;
    size_t ndrift;
    int64_t last_check_ms; /* 0: never */
    int64_t observed_generation;
    struct cond_list conds;
};

struct dbinstance_observed {
    int64_t generation;
    struct dbinstance_status status;  /* as read from the object */

    bool schema_ready;                /* DBSchema found, fetched and parsed */
    const char *schema_message;       /* why not */
    const char *schema_revision;

    const char *credentials_error;    /* Secret or key missing; NULL: fine */
    bool connected;
    const char *connect_error;        /* why not (no secrets) */
    enum tm_retry connect_retry;

    bool history_ok;                  /* history read and compared */
    const char *history_error;
    const char *applied_tag;
    long applied;
    long pending;
    const char *last_applied;
    const struct dbinstance_drift *drift;
    size_t ndrift;

    const char *active_rollout;       /* DBRollout holding the lock, NULL none */
    int64_t check_interval_ms;        /* 0: DBINSTANCE_CHECK_INTERVAL_MS */
};

struct dbinstance_plan {
    struct dbinstance_status status;
    struct rec_plan_event events[3];
    size_t nevents;
    int64_t requeue_ms;
    bool backoff;                     /* transient failure: use the queue's backoff */
};

/* Pure: the status to write, Events and when to look again. */
void dbinstance_decide(const struct dbinstance_observed *o, int64_t now_ms,
                       struct dbinstance_plan *p);

/* True when the two statuses would serialise the same. */
bool dbinstance_status_equal(const struct dbinstance_status *a,
                             const struct dbinstance_status *b);

/* ------------------------------------------------------- the reconciler */

struct tm_proc;
struct mgr_result;
struct mgr_reconciler;

enum tm_code dbinstance_reconcile(void *ctx, struct tm_proc *proc, const char *ns,
                                  const char *name, struct mgr_result *res, struct tm_err *err);

/* Registration: primary dbinstances; secondary dbschemas
 * (spec.schemaRef.name: a new revision recomputes pending and drift). */
extern const struct mgr_reconciler dbinstance_reconciler;

#endif
