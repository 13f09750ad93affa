/* drive: the one reconcile loop of the three reconcilers — observe ->
 * decide -> patch /status if it changed -> Events -> act -> requeue.
 *
 * Each kind (DBSchema, DBInstance, DBRollout) gives its hooks and its
 * per-reconcile state; the loop, the status write, the Events, the
 * freshness check before an action and the result for the manager are
 * here, once.  A kind without actions (DBSchema, DBInstance) runs one round;
 * DBRollout loops until decide asks for no action (at most max_rounds).
 *
 * Rules kept here (and why):
 *  - The status is written, conditional on the resourceVersion decide saw,
 *    BEFORE the plan's action runs: what a crash must not lose (preStartTag)
 *    is persisted first.  A 409 ends the reconcile with a transient error;
 *    the next one starts from fresh state.  The patch response becomes the
 *    subject the next round observes.
 *  - Events are posted after the write (never for a status that failed).
 *  - An action decided from the cache, with no status write to prove the
 *    copy current, is re-checked against a live read first: a lagging copy
 *    (Applying while the rollout already Succeeded) must not re-run a step.
 *    If the live copy moved on, decide runs again from it.
 *  - decide's clock is the wall clock in whole seconds (the API keeps
 *    seconds), read from rec_drive_clock: a struct tm_clock a test injects
 *    through the reconciler's ctx (struct rec_drive_opts), so time-driven
 *    transitions (appTimeoutSeconds, retry backoff, periodic checks) can be
 *    reached by moving a clock instead of sleeping.
 *
 * Not here: what to observe, decide or do (the kinds), the work queue and
 * its backoff (runtime/mgr). */
#ifndef TM_RECONCILERS_DRIVE_H
#define TM_RECONCILERS_DRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/clock.h"
#include "common/err.h"
#include "reconcilers/plan_event.h"

struct tm_proc;
struct mgr_result;

/* What a round's decide asks the loop to do. */
struct rec_decision {
    bool changed;                        /* the status differs from the observed one */
    cJSON *status;                       /* owned: the status to write when changed */
    const struct rec_plan_event *events; /* borrowed from the kind's plan */
    size_t nevents;
    bool act;                            /* run the kind's act hook after the write */
    int64_t requeue_ms;                  /* 0: none */
    bool backoff;                        /* end with a transient error (work queue backoff) */
    enum tm_code backoff_code;
    const char *backoff_msg;             /* borrowed */
};

/* One kind.  k is the kind's per-reconcile state, passed to every hook. */
struct rec_kind {
    const char *group, *version, *resource; /* the subject ("dbrollouts") */
    const char *event_action;               /* Events' action; NULL: each Event's reason */
    int max_rounds;                         /* rounds of observe->decide->act; >= 1 */
    /* Reads obj (the subject as last known; borrowed until the next round)
     * and what it points at into k.  An error ends the reconcile. */
    enum tm_code (*observe)(void *k, const cJSON *obj, struct tm_err *err);
    /* Decides from k at now_ms and fills d. */
    void (*decide)(void *k, int64_t now_ms, struct rec_decision *d);
    /* After the status landed (obj: the object as stored): counters, logs.
     * NULL: nothing. */
    void (*reported)(void *k, const cJSON *obj);
    /* Runs the plan's action; its result feeds the next round's decide
     * through k.  obj is the current subject.  NULL for kinds without
     * actions. */
    void (*act)(void *k, const cJSON *obj);
};

/* A reconciler's ctx (struct mgr_reconciler.ctx): NULL, or this. */
struct rec_drive_opts {
    struct tm_clock wall; /* decide's clock, ms since the epoch; zeroed: the wall clock */
    int64_t started_ms;   /* when reconciling began (decide's clock); 0: rec_drive_started's */
};

/* The clock decide reads under opts (NULL: the wall clock), in whole
 * seconds as ms. */
int64_t rec_drive_now(const struct rec_drive_opts *opts);

/* When this process began reconciling, on decide's clock: opts->started_ms
 * when set, else the first call's rec_drive_now in this process (the
 * first reconcile: after the caches synced and, with leader election, the
 * lease was won, which is when every object is queued at once). */
int64_t rec_drive_started(const struct rec_drive_opts *opts);

/* Reconciles ns/name of kind: the loop above.  TM_OK when the subject is
 * gone.  res->requeue_after_ms is the last decision's.  Errors: the
 * subject's read, observe, the status patch ("patch <kind> ns/name status:
 * ..."), a live re-read, or the decision's backoff (TRANSIENT). */
enum tm_code rec_drive(struct tm_proc *proc, const struct rec_kind *kind, void *k,
                       const struct rec_drive_opts *opts, const char *ns, const char *name,
                       struct mgr_result *res, struct tm_err *err) TM_MUST_CHECK;

#endif
