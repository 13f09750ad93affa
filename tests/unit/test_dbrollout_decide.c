/* Table tests of dbrollout_decide (reconcilers/dbrollout_decide.c): observed
 * state in, plan out; no servers, the clock is a number.
 *
 * Every decide here goes through decide_checked, which checks the plan
 * against the rows of the transition table (reconcilers/dbrollout_table.c)
 * it says it took; every_row_of_the_table_is_taken takes each row from an
 * observed state of its own, and readme_shows_the_transition_table keeps
 * reconcilers/README.md's copy of the table equal to the code's. */
#include "../tm_test.h"

#include <stdlib.h>

#include "changelog/chlog.h"
#include "common/buf.h"
#include "engine/engine.h"
#include "reconcilers/dbrollout.h"

#define NOW 1700000000000LL

/* The plan agrees with the rows it took: the first starts from the observed
 * phase, each chains into the next, and the last one sets the phase, Ready's
 * reason and the action. */
static void check_trace(const struct dbrollout_observed *o, const struct dbrollout_plan *p)
{
    TM_ASSERT(p->ntrace >= 1);
    enum dbrollout_phase at = o->status.phase;
    for (size_t i = 0; i < p->ntrace; i++) {
        const struct dbrollout_row *r = dbrollout_row(p->trace[i]);
        TM_ASSERT(r != NULL);
        if (!(r->from & DBROLLOUT_FROM(at)))
            TM_FAIL_("row %s taken in phase %s", r->name, dbrollout_phase_name(at));
        bool last = i + 1 == p->ntrace;
        if (last == ((r->flags & DBROLLOUT_ROW_CHAINS) != 0))
            TM_FAIL_("row %s %s the plan", r->name, last ? "chains but ends" : "ends but is not");
        if (r->next != DBROLLOUT_PHASE_NONE)
            at = r->next;
    }
    const struct dbrollout_row *r = dbrollout_row(p->trace[p->ntrace - 1]);
    TM_EXPECT_STR(dbrollout_phase_name(p->status.phase), dbrollout_phase_name(at));
    const struct cond *before = cond_find(&o->status.conds, COND_READY);
    const struct cond *after = cond_find(&p->status.conds, COND_READY);
    bool retry_kept = p->status.retry_attempt > 0 && r->action != DBROLLOUT_ACT_NONE &&
                      dbrollout_status_equal(&p->status, &o->status);
    if (r->reason && !retry_kept) {
        TM_EXPECT(after != NULL);
        if (after && strcmp(after->reason, r->reason) != 0)
            TM_FAIL_("row %s: Ready reason %s, want %s", r->name, after->reason, r->reason);
    } else if (!r->reason) {
        TM_EXPECT(dbrollout_status_equal(&p->status, &o->status));
        TM_EXPECT((before == NULL) == (after == NULL));
    }
    if (p->action.kind != r->action &&
        !((r->flags & DBROLLOUT_ROW_RELEASES) && p->action.kind == DBROLLOUT_ACT_RELEASE_LOCK))
        TM_FAIL_("row %s: action %d, want %d", r->name, (int)p->action.kind, (int)r->action);
}

static void decide_checked(const struct dbrollout_observed *o, int64_t now_ms,
                           struct dbrollout_plan *p)
{
    (dbrollout_decide)(o, now_ms, p);
    check_trace(o, p);
}
#define dbrollout_decide(o, now_ms, p) decide_checked((o), (now_ms), (p))

/* A rollout "ro" (uid u-1, generation 2) of instance orders to tag v2 with
 * Deployment app, SchemaFirst, RollbackSchema, Rollback; database at v1,
 * three changesets away from v2; the Deployment complete at revision 1. */
static struct dbrollout_observed base(void)
{
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    o.name = "ro";
    o.uid = "u-1";
    o.generation = 2;
    o.spec.instance = "orders";
    o.spec.tag = "v2";
    o.spec.deployment = "app";
    o.spec.order = DBROLLOUT_ORDER_SCHEMA_FIRST;
    o.spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_ROLLBACK_SCHEMA;
    o.spec.cs_failure = DBROLLOUT_CS_FAILURE_ROLLBACK;
    o.spec.app_timeout_s = 600;
    o.instance_found = true;
    o.schema_ready = true;
    o.db.reachable = true;
    o.db.applied_tag = "v1";
    o.db.target = DBROLLOUT_POS_FORWARD;
    o.db.target_steps = 3;
    o.db.prestart = DBROLLOUT_POS_AT;
    o.app.found = true;
    o.app.generation = 1;
    o.app.observed_generation = 1;
    o.app.replicas = 2;
    o.app.status_replicas = 2;
    o.app.updated_replicas = 2;
    o.app.available_replicas = 2;
    o.app.revision = 1;
    return o;
}

/* The status of ro after it started: Applying from v1 to v2 at NOW-1000. */
static void started(struct dbrollout_observed *o, enum dbrollout_phase phase)
{
    o->status.phase = phase;
    o->status.has_pre_start_tag = true;
    snprintf(o->status.pre_start_tag, sizeof(o->status.pre_start_tag), "v1");
    snprintf(o->status.target_tag, sizeof(o->status.target_tag), "v2");
    o->status.started_at_ms = NOW - 1000;
    o->status.observed_generation = 1;
    o->lock_holder = "ro/u-1/2";
}

/* The app rolling out revision 2 (one updated replica not yet available). */
static void app_rolling(struct dbrollout_observed *o)
{
    o->app.generation = 2;
    o->app.observed_generation = 2;
    o->app.updated_replicas = 1;
    o->app.available_replicas = 1;
    o->app.status_replicas = 3;
    o->app.revision = 2;
    o->app.previous_revision = 1;
}

/* ro with spec.verify (timeout 60 s), its app available at the target. */
static void with_verify(struct dbrollout_observed *o)
{
    o->spec.verify = true;
    o->spec.verify_timeout_s = 60;
}

/* The status of ro Verifying since NOW-5000: its Job ro-verify-2 named,
 * Running; the app at revision 2 available (previous 1), schema at v2. */
static void verifying(struct dbrollout_observed *o)
{
    with_verify(o);
    started(o, DBROLLOUT_PHASE_VERIFYING);
    app_rolling(o);
    o->app.updated_replicas = 2;
    o->app.available_replicas = 2;
    o->app.status_replicas = 2;
    o->status.deployment_revision = 2;
    o->status.previous_deployment_revision = 1;
    o->db.target = DBROLLOUT_POS_AT;
    o->db.prestart = DBROLLOUT_POS_BACKWARD;
    snprintf(o->status.verify_job, sizeof(o->status.verify_job), "ro-verify-2");
    o->status.verify_result = DBROLLOUT_VERIFY_RUNNING;
    o->status.verify_started_ms = NOW - 5000;
    o->job.found = true;
}

static bool has_event(const struct dbrollout_plan *p, const char *reason, bool warning)
{
    for (size_t i = 0; i < p->nevents; i++) {
        if (strcmp(p->events[i].reason, reason) == 0 && p->events[i].warning == warning)
            return true;
    }
    return false;
}

static const char *cond_reason(const struct dbrollout_plan *p, const char *type)
{
    const struct cond *c = cond_find(&p->status.conds, type);
    return c ? c->reason : NULL;
}

static int cond_status(const struct dbrollout_plan *p, const char *type)
{
    const struct cond *c = cond_find(&p->status.conds, type);
    return c ? (int)c->status : -1;
}

/* ----------------------------------------------------------- starting */

TM_TEST(rollout_locks_instance_before_anything_else)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ACQUIRE_LOCK);
    TM_EXPECT_STR(p.action.lock_id, "ro/u-1/2");
    TM_EXPECT(p.action.expect_holder == NULL);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_PENDING);
    TM_EXPECT(!p.status.has_pre_start_tag);
    TM_EXPECT_INT(cond_status(&p, COND_RECONCILING), COND_TRUE);
}

TM_TEST(rollout_relocks_even_when_cache_says_it_holds_the_lock)
{
    struct dbrollout_observed o = base();
    o.lock_holder = "ro/u-1/2";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ACQUIRE_LOCK);
    TM_EXPECT_STR(p.action.expect_holder, "ro/u-1/2");
}

TM_TEST(rollout_stamps_prestart_tag_once_lock_confirmed)
{
    struct dbrollout_observed o = base();
    o.lock_confirmed = true;
    o.last.kind = DBROLLOUT_ACT_ACQUIRE_LOCK;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_STAMP_PRESTART);
    TM_EXPECT_STR(p.action.proposed_tag, "tidemark-prestart-ro-2");
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_PENDING);
}

TM_TEST(rollout_writes_prestart_tag_in_status_before_applying)
{
    struct dbrollout_observed o = base();
    o.lock_confirmed = true;
    o.last.kind = DBROLLOUT_ACT_STAMP_PRESTART;
    o.last.prestart_tag = "v1";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    /* the plan's status is written before its action runs */
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_APPLYING);
    TM_EXPECT(p.status.has_pre_start_tag);
    TM_EXPECT_STR(p.status.pre_start_tag, "v1");
    TM_EXPECT_STR(p.status.target_tag, "v2");
    TM_EXPECT_INT(p.status.started_at_ms, NOW);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v2");
    TM_EXPECT(has_event(&p, "RolloutStarted", false));
    TM_EXPECT_INT(p.status.observed_generation, 0); /* not fully handled yet */
}

TM_TEST(rollout_resumes_after_crash_between_stamp_and_apply)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING); /* no in-memory result: a fresh process */
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v2");
    TM_EXPECT_STR(p.status.pre_start_tag, "v1");
    TM_EXPECT_INT(p.status.started_at_ms, NOW - 1000);
    TM_EXPECT(!has_event(&p, "RolloutStarted", false));
}

TM_TEST(rollout_to_older_tag_rolls_back_to_it)
{
    struct dbrollout_observed o = base();
    o.spec.tag = "v0";
    o.db.target = DBROLLOUT_POS_BACKWARD;
    o.db.target_steps = 2;
    o.lock_confirmed = true;
    o.last.kind = DBROLLOUT_ACT_STAMP_PRESTART;
    o.last.prestart_tag = "v1";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v0");
    TM_EXPECT_STR(p.status.pre_start_tag, "v1");
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_APPLYING);
}

TM_TEST(rollout_waits_when_another_rollout_holds_instance)
{
    struct dbrollout_peer peers[] = {
        {.name = "other", .uid = "u-9", .generation = 1, .observed_generation = 0,
         .phase = DBROLLOUT_PHASE_APPLYING},
    };
    struct dbrollout_observed o = base();
    o.lock_holder = "other/u-9/1";
    o.peers = peers;
    o.npeers = 1;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_PENDING);
    TM_EXPECT_STR(cond_reason(&p, COND_RECONCILING), "WaitingForLock");
    TM_EXPECT_CONTAINS(p.status.message, "other");
    TM_EXPECT_INT(p.requeue_ms, DBROLLOUT_REQUEUE_LOCK_MS);
    TM_EXPECT(has_event(&p, "WaitingForLock", false));
}

TM_TEST(rollout_waiting_for_lock_emits_event_once)
{
    struct dbrollout_peer peers[] = {
        {.name = "other", .uid = "u-9", .generation = 1, .phase = DBROLLOUT_PHASE_APPLYING},
    };
    struct dbrollout_observed o = base();
    o.lock_holder = "other/u-9/1";
    o.peers = peers;
    o.npeers = 1;
    struct dbrollout_plan p1, p2;
    dbrollout_decide(&o, NOW, &p1);
    o.status = p1.status;
    dbrollout_decide(&o, NOW + 10000, &p2);
    TM_EXPECT_INT(p2.nevents, 0);
    TM_EXPECT(dbrollout_status_equal(&p2.status, &o.status)); /* nothing to patch */
}

TM_TEST(rollout_lost_lock_race_waits_instead_of_retrying_at_once)
{
    struct dbrollout_observed o = base();
    o.last.kind = DBROLLOUT_ACT_ACQUIRE_LOCK;
    o.last.code = TM_E_CONFLICT;
    o.last.retry = TM_RETRY_WAITING;
    o.last.error = "the lock of instance orders changed meanwhile";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_PENDING);
    TM_EXPECT_STR(cond_reason(&p, COND_RECONCILING), "WaitingForLock");
    TM_EXPECT_INT(p.requeue_ms, DBROLLOUT_REQUEUE_LOCK_MS);
}

TM_TEST(rollout_failed_release_is_retried_later_not_in_a_loop)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_SUCCEEDED);
    o.status.observed_generation = 2;
    o.last.kind = DBROLLOUT_ACT_RELEASE_LOCK;
    o.last.code = TM_E_HTTP;
    o.last.retry = TM_RETRY_TRANSIENT;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT(p.backoff);
}

TM_TEST(rollout_takes_lock_from_settled_holder)
{
    struct dbrollout_peer peers[] = {
        {.name = "other", .uid = "u-9", .generation = 1, .observed_generation = 1,
         .phase = DBROLLOUT_PHASE_SUCCEEDED},
    };
    struct dbrollout_observed o = base();
    o.lock_holder = "other/u-9/1";
    o.peers = peers;
    o.npeers = 1;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ACQUIRE_LOCK);
    TM_EXPECT_STR(p.action.expect_holder, "other/u-9/1");
}

TM_TEST(lock_holder_with_stale_cached_copy_counts_as_alive)
{
    /* the annotation says generation 3, our cache still has generation 2 Succeeded */
    struct dbrollout_peer peers[] = {
        {.name = "other", .uid = "u-9", .generation = 2, .observed_generation = 2,
         .phase = DBROLLOUT_PHASE_SUCCEEDED},
    };
    TM_EXPECT(!dbrollout_lock_free("other/u-9/3", "u-1", peers, 1));
    TM_EXPECT(dbrollout_lock_free("other/u-9/2", "u-1", peers, 1));
}

TM_TEST(lock_held_by_deleted_rollout_is_free)
{
    struct dbrollout_peer peers[] = {
        {.name = "other", .uid = "u-8", .generation = 1, .phase = DBROLLOUT_PHASE_APPLYING},
    };
    TM_EXPECT(dbrollout_lock_free("other/u-9/1", "u-1", peers, 1)); /* same name, new uid */
    TM_EXPECT(!dbrollout_lock_free("other/u-8/1", "u-1", peers, 1));
}

TM_TEST(lock_acquired_but_not_started_holder_counts_as_alive)
{
    struct dbrollout_peer peers[] = {
        {.name = "other", .uid = "u-9", .generation = 1, .phase = DBROLLOUT_PHASE_PENDING},
    };
    TM_EXPECT(!dbrollout_lock_free("other/u-9/1", "u-1", peers, 1));
}

/* A holder that went back to AwaitingApproval released its lock (or failed
 * to): it holds nothing while it waits; a copy older than the claim still counts. */
TM_TEST(lock_of_a_holder_awaiting_approval_is_free)
{
    struct dbrollout_peer peers[] = {
        {.name = "other", .uid = "u-9", .generation = 2,
         .phase = DBROLLOUT_PHASE_AWAITING_APPROVAL},
    };
    TM_EXPECT(dbrollout_lock_free("other/u-9/2", "u-1", peers, 1));
    TM_EXPECT(!dbrollout_lock_free("other/u-9/3", "u-1", peers, 1));
}

TM_TEST(rollout_blocked_by_destructive_change_under_deny)
{
    struct dbrollout_observed o = base();
    o.lint.denied = 1;
    o.lint.first_denied = "DROP TABLE in b.sql::2::me (b.sql:4)";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_BLOCKED);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE); /* nothing runs, not even the lock */
    TM_EXPECT_INT(cond_status(&p, COND_STALLED), COND_TRUE);
    TM_EXPECT_STR(cond_reason(&p, COND_STALLED), "PolicyViolation");
    TM_EXPECT(cond_find(&p.status.conds, COND_RECONCILING) == NULL);
    TM_EXPECT_CONTAINS(p.status.message, "DROP TABLE in b.sql::2::me");
    TM_EXPECT_INT(p.status.observed_generation, 2);
    TM_EXPECT(has_event(&p, "PolicyViolation", true));
}

TM_TEST(rollout_blocked_releases_a_lock_it_held)
{
    struct dbrollout_observed o = base();
    o.lock_holder = "ro/u-1/2";
    o.lint.denied = 1;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_BLOCKED);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK);
}

TM_TEST(rollout_warned_policy_proceeds_with_warning_event)
{
    struct dbrollout_observed o = base();
    o.lint.warned = 1;
    o.lint.first_warned = "DROP CONSTRAINT in b.sql::2::me";
    o.lock_confirmed = true;
    o.last.kind = DBROLLOUT_ACT_STAMP_PRESTART;
    o.last.prestart_tag = "v1";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT(has_event(&p, "PolicyWarning", true));
}

TM_TEST(rollout_blocked_when_tag_not_in_changelog)
{
    struct dbrollout_observed o = base();
    o.spec.tag = "v9";
    o.db.target = DBROLLOUT_POS_INVALID;
    o.db.target_error = "unknown tag v9 (known: v1, v2)";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_BLOCKED);
    TM_EXPECT_STR(cond_reason(&p, COND_STALLED), "InvalidTarget");
    TM_EXPECT_CONTAINS(p.status.message, "known: v1, v2");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
}

TM_TEST(rollout_tag_from_starts_with_the_resolved_tag)
{
    struct dbrollout_observed o = base();
    o.spec.tag_from_container = "app";
    o.spec.tag_from_image = "reg:5000/app:v2";
    o.lock_confirmed = true;
    o.last.kind = DBROLLOUT_ACT_STAMP_PRESTART;
    o.last.prestart_tag = "v1";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT_STR(p.status.target_tag, "v2");
    TM_EXPECT(has_event(&p, "TagResolved", false));
    TM_EXPECT_CONTAINS(p.events[0].note, "tag v2 from image reg:5000/app:v2 of container app");
}

TM_TEST(rollout_tag_from_without_tag_is_blocked)
{
    struct dbrollout_observed o = base();
    o.spec.tag = "";
    o.spec.tag_from_container = "app";
    o.spec.tag_from_error = "spec.tagFrom: image reg:5000/app has no tag";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_BLOCKED);
    TM_EXPECT_STR(cond_reason(&p, COND_STALLED), "InvalidTarget");
    TM_EXPECT_CONTAINS(p.status.message, "image reg:5000/app has no tag");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT(!has_event(&p, "TagResolved", false));
}

TM_TEST(rollout_blocked_when_database_drifted)
{
    struct dbrollout_observed o = base();
    o.db.ndrift = 1;
    o.db.drift_first = "a.sql::1::me: ChecksumMismatch";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_BLOCKED);
    TM_EXPECT_STR(cond_reason(&p, COND_STALLED), "Drifted");
}

TM_TEST(rollout_pending_when_database_unreachable)
{
    struct dbrollout_observed o = base();
    o.db.reachable = false;
    o.db.error = "connection refused";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_PENDING);
    TM_EXPECT_STR(cond_reason(&p, COND_READY), "DatabaseUnreachable");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT(p.requeue_ms > 0);
}

TM_TEST(rollout_pending_when_instance_missing)
{
    struct dbrollout_observed o = base();
    o.instance_found = false;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_PENDING);
    TM_EXPECT_STR(cond_reason(&p, COND_READY), "InstanceNotFound");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
}

/* ------------------------------------------------------------ applying */

TM_TEST(rollout_waits_for_app_after_schema_applied)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING);
    app_rolling(&o);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.applied_tag = "v2";
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2";
    o.last.applied = 3;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    TM_EXPECT_INT(cond_status(&p, DBROLLOUT_COND_SCHEMA_APPLIED), COND_TRUE);
    TM_EXPECT_INT(cond_status(&p, DBROLLOUT_COND_APP_AVAILABLE), COND_FALSE);
    TM_EXPECT_INT(p.status.applied_changesets, 3);
    TM_EXPECT_STR(p.status.applied_tag, "v2");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT(p.requeue_ms > 0);
    TM_EXPECT(has_event(&p, "SchemaApplied", false));
}

TM_TEST(rollout_succeeds_right_after_schema_without_deployment)
{
    struct dbrollout_observed o = base();
    o.spec.deployment = NULL;
    started(&o, DBROLLOUT_PHASE_APPLYING);
    o.db.target = DBROLLOUT_POS_AT;
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2";
    o.last.applied = 3;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_SUCCEEDED);
    TM_EXPECT_INT(cond_status(&p, COND_READY), COND_TRUE);
    TM_EXPECT(cond_find(&p.status.conds, DBROLLOUT_COND_APP_AVAILABLE) == NULL);
    TM_EXPECT_INT(p.status.observed_generation, 2);
    TM_EXPECT_INT(p.status.finished_at_ms, NOW);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK);
}

TM_TEST(rollout_failed_apply_under_rollback_strategy_rolls_back_then_fails)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING);
    o.db.target_steps = 2;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    o.db.prestart_steps = 1;
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2";
    o.last.code = TM_E_DB;
    o.last.retry = TM_RETRY_TERMINAL;
    o.last.changeset = "b.sql::2::me";
    o.last.error = "relation \"x\" does not exist";
    o.last.applied = 1;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v1");
    TM_EXPECT(has_event(&p, "ApplyFailed", true));
    TM_EXPECT_CONTAINS(p.events[0].note, "b.sql::2::me");
    TM_EXPECT_INT(p.status.rollback_cause, DBROLLOUT_CAUSE_APPLY_FAILED);

    /* next pass: the database is back at v1 */
    o.status = p.status;
    o.db.target = DBROLLOUT_POS_FORWARD;
    o.db.target_steps = 3;
    o.db.prestart = DBROLLOUT_POS_AT;
    memset(&o.last, 0, sizeof(o.last));
    o.last.kind = DBROLLOUT_ACT_ROLLBACK_TO_TAG;
    o.last.tag = "v1";
    o.last.rolled_back = 1;
    dbrollout_decide(&o, NOW + 1, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_FAILED);
    TM_EXPECT_INT(cond_status(&p, DBROLLOUT_COND_ROLLED_BACK), COND_TRUE);
    TM_EXPECT_STR(cond_reason(&p, COND_STALLED), "ApplyFailed");
    TM_EXPECT_CONTAINS(p.status.message, "b.sql::2::me");
    TM_EXPECT_CONTAINS(p.status.message, "back at preStartTag v1 after a changeset failed: ");
    TM_EXPECT_NOT_CONTAINS(p.status.message, "after after");
    TM_EXPECT_INT(p.status.rollback_cause, DBROLLOUT_CAUSE_APPLY_FAILED); /* kept */
    TM_EXPECT_INT(p.status.rolled_back_changesets, 1);
    TM_EXPECT_INT(p.status.observed_generation, 2);
}

TM_TEST(rollout_failed_apply_under_fail_strategy_keeps_schema)
{
    struct dbrollout_observed o = base();
    o.spec.cs_failure = DBROLLOUT_CS_FAILURE_FAIL;
    started(&o, DBROLLOUT_PHASE_APPLYING);
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2";
    o.last.code = TM_E_DB;
    o.last.retry = TM_RETRY_TERMINAL;
    o.last.changeset = "b.sql::2::me";
    o.last.error = "syntax error";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_FAILED);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK); /* no rollback */
    TM_EXPECT_STR(cond_reason(&p, COND_STALLED), "ApplyFailed");
    TM_EXPECT_CONTAINS(p.status.message, "b.sql::2::me");
    TM_EXPECT_CONTAINS(p.status.message, "Fail");
}

TM_TEST(rollout_failed_apply_under_mark_next_run_keeps_schema)
{
    struct dbrollout_observed o = base();
    o.spec.cs_failure = DBROLLOUT_CS_FAILURE_MARK_NEXT_RUN;
    started(&o, DBROLLOUT_PHASE_APPLYING);
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2";
    o.last.code = TM_E_DB;
    o.last.retry = TM_RETRY_TERMINAL;
    o.last.changeset = "b.sql::2::me";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_FAILED);
    TM_EXPECT_CONTAINS(p.status.message, "MarkNextRun");
}

TM_TEST(rollout_transient_apply_error_retries_with_backoff)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING);
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2";
    o.last.code = TM_E_LOCKED;
    o.last.retry = TM_RETRY_WAITING;
    o.last.error = "advisory lock held by liquibase";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_APPLYING);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    /* the backoff is kept in status, not in the work queue's rate limiter
     * (which our own status writes' watch events would bypass) */
    TM_EXPECT(!p.backoff);
    TM_EXPECT_INT(p.requeue_ms, DBROLLOUT_RETRY_BASE_MS);
    TM_EXPECT_STR(cond_reason(&p, COND_READY), "Retrying");
    TM_EXPECT_CONTAINS(p.status.message, "advisory lock held by liquibase");
}

TM_TEST(retry_delay_doubles_and_is_capped)
{
    static const struct {
        long attempt;
        int64_t want_ms;
    } cases[] = {{-1, 1000}, {0, 1000},  {1, 1000},  {2, 2000},   {3, 4000},
                 {4, 8000},  {5, 16000}, {6, 30000}, {7, 30000}, {1000000, 30000}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TM_EXPECT_INT(dbrollout_retry_delay_ms(cases[i].attempt), cases[i].want_ms);
}

/* The retry as a controller before status.retry wrote it (Ready's message):
 * read only for such old statuses (dbrollout_read), so an upgrade in the
 * middle of a backoff keeps the attempt and the time. */
TM_TEST(retry_from_message_reads_only_what_decide_wrote)
{
    struct dbrollout_status st;
    long n = 0;
    int64_t nb = 0;
    static const char *const bad[] = {
        "",
        "applying 3 changeset(s) to reach tag v2",
        "attempt x, next retry at 2023-11-14T22:13:21Z: locked",
        "attempt 2, next retry at not-a-time: locked",
        "attempt 2 next retry at 2023-11-14T22:13:21Z: locked",
        "attempt 2, next retry at 2023-11-14T22:13:21Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&st, 0, sizeof(st));
        cond_set_kstatus(&st.conds, COND_KS_RECONCILING, "Retrying", bad[i], 2, NOW);
        TM_EXPECT(!dbrollout_retry_from_message(&st, &n, &nb));
    }
    memset(&st, 0, sizeof(st));
    cond_set_kstatus(&st.conds, COND_KS_RECONCILING, "Retrying",
                     "attempt 12, next retry at 2023-11-14T22:13:21Z: lock held: x: y", 2, NOW);
    TM_EXPECT(dbrollout_retry_from_message(&st, &n, &nb));
    TM_EXPECT_INT(n, 12);
    TM_EXPECT_INT(nb, 1700000001000LL);
}

/* A move that keeps failing with a retryable error (a Liquibase lock row, an
 * applier holding the advisory lock): one status write per attempt, the
 * attempts spaced 1 s, 2 s, 4 s ... 30 s, and every reconcile woken in
 * between (the watch event of that write) does nothing but requeue. */
TM_TEST(transient_apply_failures_back_off_from_status)
{
    static const struct {
        int64_t since_failure_ms; /* a reconcile woken this long after the write */
        bool acts;                /* runs the apply again */
    } wakes[] = {{0, false}, {1, false}, {-1, true}}; /* -1: at the retry time */
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING);
    int64_t now = NOW;
    struct dbrollout_plan p;
    for (long attempt = 1; attempt <= 8; attempt++) {
        /* the attempt that just failed */
        o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
        o.last.tag = "v2";
        o.last.code = TM_E_LOCKED;
        o.last.retry = TM_RETRY_WAITING;
        o.last.error = "databasechangeloglock held by lb-runner-7";
        dbrollout_decide(&o, now, &p);
        int64_t delay = dbrollout_retry_delay_ms(attempt);
        TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_APPLYING);
        TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
        TM_EXPECT(!p.backoff);
        TM_EXPECT_INT(p.requeue_ms, delay);
        TM_EXPECT_INT(p.nevents, 0);
        TM_EXPECT_INT(p.status.retry_attempt, attempt);
        TM_EXPECT_INT(p.status.retry_not_before_ms, now + delay);
        /* the message says the same for people (and for old readers) */
        long n = 0;
        int64_t nb = 0;
        TM_EXPECT(dbrollout_retry_from_message(&p.status, &n, &nb));
        TM_EXPECT_INT(n, attempt);
        TM_EXPECT_INT(nb, now + delay);
        TM_EXPECT(!dbrollout_status_equal(&p.status, &o.status)); /* the one write */
        o.status = p.status;
        memset(&o.last, 0, sizeof(o.last));
        for (size_t w = 0; w < sizeof(wakes) / sizeof(wakes[0]); w++) {
            int64_t at = wakes[w].since_failure_ms < 0 ? nb : now + wakes[w].since_failure_ms;
            dbrollout_decide(&o, at, &p);
            TM_EXPECT(dbrollout_status_equal(&p.status, &o.status)); /* no write */
            TM_EXPECT_INT(p.nevents, 0);
            if (wakes[w].acts) {
                TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
                TM_EXPECT_STR(p.action.tag, "v2");
            } else {
                TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
                TM_EXPECT_INT(p.requeue_ms, nb - at);
            }
        }
        now = nb;
    }
    /* the lock is released: the next attempt applies, and the rollout moves on */
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2";
    o.last.code = TM_OK;
    o.last.applied = 3;
    o.db.target = DBROLLOUT_POS_AT;
    o.db.target_steps = 0;
    o.db.applied_tag = "v2";
    dbrollout_decide(&o, now, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_SUCCEEDED); /* base(): app complete */
    TM_EXPECT_INT(cond_status(&p, DBROLLOUT_COND_SCHEMA_APPLIED), COND_TRUE);
    TM_EXPECT_INT(p.status.retry_attempt, 0);
    TM_EXPECT_INT(p.status.retry_not_before_ms, 0);
}

TM_TEST(new_tag_during_retry_backoff_retargets_at_once)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING);
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2";
    o.last.code = TM_E_LOCKED;
    o.last.retry = TM_RETRY_WAITING;
    o.last.error = "locked";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    o.status = p.status;
    memset(&o.last, 0, sizeof(o.last));
    o.spec.tag = "v3";
    o.generation = 3;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_STR(p.status.target_tag, "v3");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v3");
}

TM_TEST(transient_rollback_failure_backs_off_from_status)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_ROLLING_BACK);
    cond_set(&o.status.conds, DBROLLOUT_COND_ROLLED_BACK, COND_FALSE, "ApplyFailed", "x", 2,
             NOW - 1000);
    o.status.rollback_cause = DBROLLOUT_CAUSE_APPLY_FAILED;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    o.db.prestart_steps = 1;
    o.last.kind = DBROLLOUT_ACT_ROLLBACK_TO_TAG;
    o.last.tag = "v1";
    o.last.code = TM_E_LOCKED;
    o.last.retry = TM_RETRY_WAITING;
    o.last.error = "locked";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT_INT(p.requeue_ms, 1000);
    o.status = p.status;
    memset(&o.last, 0, sizeof(o.last));
    dbrollout_decide(&o, NOW + 500, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT_INT(p.requeue_ms, 500);
    dbrollout_decide(&o, NOW + 1000, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v1");
    TM_EXPECT(dbrollout_status_equal(&p.status, &o.status));
}

/* runAlways reruns are in every forward plan; they must not keep a rollout
 * from ever being "at the tag".  runOnChange reruns (a new checksum) count. */
TM_TEST(plan_steps_ignore_run_always_reruns)
{
    struct chlog_changeset sets[3];
    memset(sets, 0, sizeof(sets));
    sets[0].run_always = true;
    sets[1].run_on_change = true;
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    cl.sets = sets;
    cl.nsets = 3;
    static const struct {
        struct plan_step steps[3];
        size_t nsteps;
        long want;
    } cases[] = {
        {{{0}}, 0, 0},
        {{{.action = PLAN_RERUN, .set = 0, .row = 0}}, 1, 0},
        {{{.action = PLAN_RERUN, .set = 1, .row = 1}}, 1, 1},
        {{{.action = PLAN_RERUN, .set = 0, .row = 0}, {.action = PLAN_APPLY, .set = 2, .row = -1}},
         2, 1},
        {{{.action = PLAN_RERUN, .set = 0, .row = 0},
          {.action = PLAN_RERUN, .set = 1, .row = 1},
          {.action = PLAN_APPLY, .set = 2, .row = -1}},
         3, 2},
        {{{.action = PLAN_ROLLBACK, .set = 0, .row = 0}}, 1, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct plan pl;
        memset(&pl, 0, sizeof(pl));
        struct plan_step steps[3];
        memcpy(steps, cases[i].steps, sizeof(steps));
        pl.steps = steps;
        pl.nsteps = cases[i].nsteps;
        TM_EXPECT_INT(dbrollout_plan_steps(&cl, &pl), cases[i].want);
    }
}

TM_TEST(rollout_apply_that_does_not_reach_tag_fails_instead_of_looping)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING);
    o.spec.cs_failure = DBROLLOUT_CS_FAILURE_FAIL;
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2"; /* succeeded, yet still FORWARD */
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_FAILED);
    TM_EXPECT(p.action.kind != DBROLLOUT_ACT_APPLY_TO_TAG);
}

/* -------------------------------------------------------- app watching */

TM_TEST(rollout_succeeds_when_app_available)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.app.revision = 2;
    o.app.previous_revision = 1;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_SUCCEEDED);
    TM_EXPECT_INT(cond_status(&p, COND_READY), COND_TRUE);
    TM_EXPECT_INT(cond_status(&p, DBROLLOUT_COND_APP_AVAILABLE), COND_TRUE);
    TM_EXPECT(cond_find(&p.status.conds, COND_RECONCILING) == NULL);
    TM_EXPECT(cond_find(&p.status.conds, COND_STALLED) == NULL);
    TM_EXPECT_INT(p.status.deployment_revision, 2);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK);
    TM_EXPECT(has_event(&p, "Succeeded", false));
}

TM_TEST(rollout_waiting_status_is_stable_between_polls)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.applied_tag = "v2";
    app_rolling(&o);
    struct dbrollout_plan p1, p2;
    dbrollout_decide(&o, NOW, &p1);
    o.status = p1.status;
    dbrollout_decide(&o, NOW + 5000, &p2);
    TM_EXPECT(dbrollout_status_equal(&p2.status, &o.status));
    TM_EXPECT_INT(p2.nevents, 0);
}

TM_TEST(rollout_waiting_for_an_apply_slot_says_so_once)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING);
    struct dbrollout_plan p1, p2, p3;
    dbrollout_decide(&o, NOW, &p1); /* not in the line: applying */
    TM_EXPECT_INT(p1.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT_STR(cond_reason(&p1, DBROLLOUT_COND_SCHEMA_APPLIED), "Applying");
    o.status = p1.status;
    /* told to wait for its turn: one status change saying what it waits behind */
    o.apply_wait = (struct dbrollout_apply_wait){.waiting = true, .server = "db:5432",
                                                 .running = 6, .limit = 6,
                                                 .running_total = 7, .limit_total = 8};
    dbrollout_decide(&o, NOW + 1000, &p2);
    TM_EXPECT(!dbrollout_status_equal(&p2.status, &o.status));
    TM_EXPECT_INT(p2.status.phase, DBROLLOUT_PHASE_APPLYING);
    TM_EXPECT_STR(p2.status.message,
                  "waiting for an apply slot: 6 applies running on db:5432 (limit 6)");
    TM_EXPECT_STR(cond_reason(&p2, DBROLLOUT_COND_SCHEMA_APPLIED), "WaitingForApplySlot");
    TM_EXPECT_INT(p2.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG); /* it asks for its turn */
    TM_EXPECT_INT(p2.nevents, 0);
    /* the next polls, with other counts: nothing to write */
    o.status = p2.status;
    o.apply_wait.running_total = 8;
    dbrollout_decide(&o, NOW + 31000, &p3);
    TM_EXPECT(dbrollout_status_equal(&p3.status, &o.status));
    /* its turn came (a slot is reserved, so it is not waiting): applying again */
    o.apply_wait = (struct dbrollout_apply_wait){0};
    dbrollout_decide(&o, NOW + 32000, &p3);
    TM_EXPECT(!dbrollout_status_equal(&p3.status, &o.status));
    TM_EXPECT_STR(cond_reason(&p3, DBROLLOUT_COND_SCHEMA_APPLIED), "Applying");
}

TM_TEST(apply_wait_message_names_the_limit_that_holds_it)
{
    char m[256];
    struct dbrollout_apply_wait w = {.waiting = true, .server = "db:5432", .running = 2,
                                     .limit = 6, .running_total = 8, .limit_total = 8};
    dbrollout_apply_wait_message(&w, m, sizeof(m));
    TM_EXPECT_STR(m, "waiting for an apply slot: 8 applies running on all servers (limit 8)");
    w.running = 6;
    dbrollout_apply_wait_message(&w, m, sizeof(m));
    TM_EXPECT_STR(m, "waiting for an apply slot: 6 applies running on db:5432 (limit 6)");
    w.limit = 0;
    w.running_total = 3;
    dbrollout_apply_wait_message(&w, m, sizeof(m));
    TM_EXPECT_STR(m, "waiting for an apply slot on db:5432");
}

TM_TEST(rollout_rolls_schema_back_when_deadline_exceeded)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    o.db.prestart_steps = 3;
    app_rolling(&o);
    o.app.progress_deadline_exceeded = true;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v1");
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "ProgressDeadlineExceeded");
    TM_EXPECT(has_event(&p, "AppFailed", true));
    TM_EXPECT_INT(p.status.deployment_revision, 2);
    TM_EXPECT_INT(p.status.previous_deployment_revision, 1);
}

TM_TEST(rollout_rolls_schema_back_when_app_timeout_passes)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    app_rolling(&o);
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW - 1000 + 600 * 1000, &p); /* exactly at the deadline: wait */
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    dbrollout_decide(&o, NOW - 1000 + 600 * 1000 + 1, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "AppTimeout");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
}

TM_TEST(rollout_ignores_deadline_of_a_template_for_another_tag)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    app_rolling(&o);
    o.app.progress_deadline_exceeded = true;
    o.app.template_tag = "v1";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "WaitingForTemplate");
}

TM_TEST(rollout_reports_rolled_back_when_schema_back_at_prestart)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    app_rolling(&o);
    o.app.progress_deadline_exceeded = true;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.rollback_cause, DBROLLOUT_CAUSE_APP_FAILED);
    o.status = p.status;
    o.db.target = DBROLLOUT_POS_FORWARD;
    o.db.prestart = DBROLLOUT_POS_AT;
    o.db.applied_tag = "v1";
    o.last.kind = DBROLLOUT_ACT_ROLLBACK_TO_TAG;
    o.last.tag = "v1";
    o.last.rolled_back = 3;
    dbrollout_decide(&o, NOW + 1, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLED_BACK);
    TM_EXPECT_INT(cond_status(&p, DBROLLOUT_COND_ROLLED_BACK), COND_TRUE);
    TM_EXPECT_INT(cond_status(&p, COND_READY), COND_FALSE);
    TM_EXPECT_STR(cond_reason(&p, COND_STALLED), "AppFailed");
    TM_EXPECT_INT(p.status.rollback_cause, DBROLLOUT_CAUSE_APP_FAILED);
    TM_EXPECT_INT(p.status.rolled_back_changesets, 3);
    TM_EXPECT_STR(p.status.applied_tag, "v1");
    TM_EXPECT(has_event(&p, "RolledBack", true));
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK);
}

TM_TEST(rollout_rollback_both_restores_deployment_before_schema)
{
    struct dbrollout_observed o = base();
    o.spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH;
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    app_rolling(&o);
    o.app.progress_deadline_exceeded = true;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RESTORE_DEPLOYMENT);
    TM_EXPECT_INT(p.action.from_revision, 2);
    TM_EXPECT_INT(p.action.to_revision, 1);

    /* restored: now the schema */
    o.status = p.status;
    o.last.kind = DBROLLOUT_ACT_RESTORE_DEPLOYMENT;
    dbrollout_decide(&o, NOW + 1, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);

    /* a later reconcile sees the Deployment at a new revision: no second undo */
    memset(&o.last, 0, sizeof(o.last));
    o.app.revision = 3;
    dbrollout_decide(&o, NOW + 2, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
}

TM_TEST(rollout_app_first_rolls_schema_back_before_restoring_app)
{
    struct dbrollout_observed o = base();
    o.spec.order = DBROLLOUT_ORDER_APP_FIRST;
    o.spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH;
    started(&o, DBROLLOUT_PHASE_ROLLING_BACK);
    o.status.deployment_revision = 2;
    o.status.previous_deployment_revision = 1;
    cond_set(&o.status.conds, DBROLLOUT_COND_ROLLED_BACK, COND_FALSE, "AppFailed", "x", 2, NOW);
    o.status.rollback_cause = DBROLLOUT_CAUSE_APP_FAILED;
    app_rolling(&o);
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
    o.db.prestart = DBROLLOUT_POS_AT;
    o.last.kind = DBROLLOUT_ACT_ROLLBACK_TO_TAG;
    o.last.tag = "v1";
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RESTORE_DEPLOYMENT);
}

TM_TEST(rollout_hold_reports_app_failure_and_changes_nothing)
{
    struct dbrollout_observed o = base();
    o.spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_HOLD;
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    app_rolling(&o);
    o.app.progress_deadline_exceeded = true;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_FAILED);
    TM_EXPECT_STR(cond_reason(&p, COND_STALLED), "AppFailed");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK);
    TM_EXPECT(cond_find(&p.status.conds, DBROLLOUT_COND_ROLLED_BACK) == NULL);
    TM_EXPECT(has_event(&p, "AppFailed", true));
}

TM_TEST(rollout_rollback_failure_reports_failed)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_ROLLING_BACK);
    cond_set(&o.status.conds, DBROLLOUT_COND_ROLLED_BACK, COND_FALSE, "AppFailed", "x", 2, NOW);
    o.status.rollback_cause = DBROLLOUT_CAUSE_APP_FAILED;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    o.last.kind = DBROLLOUT_ACT_ROLLBACK_TO_TAG;
    o.last.tag = "v1";
    o.last.code = TM_E_DB;
    o.last.retry = TM_RETRY_TERMINAL;
    o.last.changeset = "b.sql::2::me";
    o.last.error = "cannot drop";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_FAILED);
    TM_EXPECT_STR(cond_reason(&p, COND_STALLED), "RollbackFailed");
    TM_EXPECT_CONTAINS(p.status.message, "b.sql::2::me");
    TM_EXPECT(has_event(&p, "RollbackFailed", true));
}

/* ------------------------------------------------------------- orders */

TM_TEST(rollout_app_first_waits_for_app_before_applying)
{
    struct dbrollout_observed o = base();
    o.spec.order = DBROLLOUT_ORDER_APP_FIRST;
    app_rolling(&o);
    o.lock_confirmed = true;
    o.last.kind = DBROLLOUT_ACT_STAMP_PRESTART;
    o.last.prestart_tag = "v1";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    TM_EXPECT_STR(p.status.pre_start_tag, "v1");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
}

TM_TEST(rollout_app_first_applies_after_app_available)
{
    struct dbrollout_observed o = base();
    o.spec.order = DBROLLOUT_ORDER_APP_FIRST;
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.app.revision = 2;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_APPLYING);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT_INT(cond_status(&p, DBROLLOUT_COND_APP_AVAILABLE), COND_TRUE);

    o.status = p.status;
    o.db.target = DBROLLOUT_POS_AT;
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
    o.last.tag = "v2";
    o.last.applied = 3;
    dbrollout_decide(&o, NOW + 1, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_SUCCEEDED);
}

TM_TEST(rollout_app_first_waits_for_template_of_target_tag)
{
    struct dbrollout_observed o = base();
    o.spec.order = DBROLLOUT_ORDER_APP_FIRST;
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.app.template_tag = "v1"; /* the app still runs the old version's template */
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    o.app.template_tag = "v2";
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
}

TM_TEST(rollout_parallel_applies_while_app_rolls)
{
    struct dbrollout_observed o = base();
    o.spec.order = DBROLLOUT_ORDER_PARALLEL;
    started(&o, DBROLLOUT_PHASE_APPLYING);
    app_rolling(&o);
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
}

TM_TEST(rollout_parallel_rolls_back_when_app_fails_before_schema_done)
{
    struct dbrollout_observed o = base();
    o.spec.order = DBROLLOUT_ORDER_PARALLEL;
    started(&o, DBROLLOUT_PHASE_APPLYING);
    app_rolling(&o);
    o.app.progress_deadline_exceeded = true;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
}

TM_TEST(rollout_parallel_rollback_both_restores_the_failed_revision)
{
    struct dbrollout_observed o = base();
    o.spec.order = DBROLLOUT_ORDER_PARALLEL;
    o.spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH;
    started(&o, DBROLLOUT_PHASE_APPLYING); /* never reached WaitingForApp */
    app_rolling(&o);
    o.app.progress_deadline_exceeded = true;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RESTORE_DEPLOYMENT);
    TM_EXPECT_INT(p.action.from_revision, 2);
    TM_EXPECT_INT(p.action.to_revision, 1);
}

/* ----------------------------------------------------- terminal states */

TM_TEST(rollout_terminal_state_kept_when_database_changes_later)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_SUCCEEDED);
    o.status.observed_generation = 2;
    o.lock_holder = NULL;
    o.db.target = DBROLLOUT_POS_FORWARD; /* someone rolled the database back */
    o.db.ndrift = 1;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT(dbrollout_status_equal(&p.status, &o.status));
    TM_EXPECT_INT(p.nevents, 0);
    TM_EXPECT_INT(p.requeue_ms, 0);
}

TM_TEST(rollout_releases_lock_left_behind_by_a_crash_after_finishing)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_SUCCEEDED);
    o.status.observed_generation = 2;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK);
    TM_EXPECT_STR(p.action.lock_id, "ro/u-1/2");
}

TM_TEST(rollout_new_generation_after_terminal_starts_new_rollout)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_FAILED);
    o.status.observed_generation = 1; /* generation 2 is new */
    o.status.rollback_cause = DBROLLOUT_CAUSE_APPLY_FAILED;
    o.lock_holder = NULL;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ACQUIRE_LOCK);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_PENDING);
    /* the old cause stays until the new rollout begins (it is read nowhere else) */
    o.status = p.status;
    o.lock_confirmed = true;
    o.last.kind = DBROLLOUT_ACT_STAMP_PRESTART;
    o.last.prestart_tag = "v1";
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_APPLYING);
    TM_EXPECT_INT(p.status.rollback_cause, DBROLLOUT_CAUSE_NONE);
}

TM_TEST(rollout_retarget_keeps_prestart_tag)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.spec.tag = "v3";
    o.generation = 3;
    o.db.applied_tag = "v2";
    o.db.target = DBROLLOUT_POS_FORWARD;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_APPLYING);
    TM_EXPECT_STR(p.status.pre_start_tag, "v1");
    TM_EXPECT_STR(p.status.target_tag, "v3");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v3");
    TM_EXPECT(has_event(&p, "RolloutRetargeted", false));
}

TM_TEST(rollout_settings_change_mid_rollout_does_not_restart)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING);
    o.generation = 3; /* e.g. appTimeoutSeconds edited, same tag */
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT_INT(p.status.started_at_ms, NOW - 1000);
}

/* ---------------------------------------------------------- app state */

TM_TEST(app_state_waits_until_generation_observed)
{
    struct dbrollout_observed o = base();
    o.app.generation = 3;
    o.app.observed_generation = 2;
    o.app.progress_deadline_exceeded = true;
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_WAITING);
}

TM_TEST(app_state_failed_on_progress_deadline)
{
    struct dbrollout_observed o = base();
    app_rolling(&o);
    o.app.progress_deadline_exceeded = true;
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_FAILED);
}

TM_TEST(app_state_progressing_while_old_replicas_remain)
{
    struct dbrollout_observed o = base();
    o.app.status_replicas = 3; /* 2 updated + 1 old pod terminating */
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_PROGRESSING);
}

TM_TEST(app_state_progressing_until_updated_replicas_available)
{
    struct dbrollout_observed o = base();
    o.app.available_replicas = 1;
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_PROGRESSING);
    o.app.available_replicas = 2;
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_COMPLETE);
}

/* An Argo Rollout (spec.appRef) "app" at revision 2 of the target template,
 * its generation observed, in Argo's phase (status.phase). */
static void argo_rollout(struct dbrollout_observed *o, const char *phase, bool promoted)
{
    o->spec.app_kind = DBROLLOUT_APP_ARGO_ROLLOUT;
    app_rolling(o);
    o->app.kind = DBROLLOUT_APP_ARGO_ROLLOUT;
    o->app.phase = phase;
    o->app.promoted = promoted;
}

TM_TEST(argo_rollout_state_follows_its_phase)
{
    struct dbrollout_observed o = base();
    argo_rollout(&o, "Progressing", false);
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_PROGRESSING);
    o.app.phase = "Paused"; /* a canary step waiting: not done, not failed */
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_PROGRESSING);
    o.app.phase = "Healthy"; /* Healthy but stableRS not yet the new hash */
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_PROGRESSING);
    o.app.promoted = true;
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_COMPLETE);
    o.app.phase = "Degraded";
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_FAILED);
    o.app.phase = NULL; /* Argo has not written a phase yet */
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_PROGRESSING);
    /* replica counts are Argo's to weigh: its verdict alone counts */
    o.app.phase = "Healthy";
    o.app.available_replicas = 0;
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_COMPLETE);
}

TM_TEST(argo_rollout_aborted_fails_even_while_progressing_back)
{
    struct dbrollout_observed o = base();
    argo_rollout(&o, "Progressing", false);
    o.app.aborted = true; /* Argo scales the stable ReplicaSet back up */
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_FAILED);
    o.app.generation = 3; /* a spec change not yet observed: wait for Argo */
    TM_EXPECT_INT(dbrollout_app_state(&o.app), DBROLLOUT_APP_WAITING);
}

TM_TEST(rollout_succeeds_when_argo_rollout_healthy_at_target)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    argo_rollout(&o, "Healthy", true);
    o.app.template_tag = "v2";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_SUCCEEDED);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "RolloutComplete");
    TM_EXPECT(strstr(cond_find(&p.status.conds, DBROLLOUT_COND_APP_AVAILABLE)->message,
                     "rollout app revision 2 is Healthy") != NULL);
    TM_EXPECT_INT(p.status.deployment_revision, 2);
}

TM_TEST(rollout_waits_for_argo_rollout_paused_at_a_canary_step)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    argo_rollout(&o, "Paused", false);
    o.app.message = "CanaryPauseStep";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "Progressing");
    TM_EXPECT(strstr(cond_find(&p.status.conds, DBROLLOUT_COND_APP_AVAILABLE)->message,
                     "waiting for rollout app: Paused: CanaryPauseStep") != NULL);
    TM_EXPECT_INT(p.requeue_ms, DBROLLOUT_REQUEUE_APP_MS); /* not watched: polled */
}

TM_TEST(rollout_waits_for_argo_rollout_not_found)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.spec.app_kind = DBROLLOUT_APP_ARGO_ROLLOUT;
    memset(&o.app, 0, sizeof(o.app));
    o.app.kind = DBROLLOUT_APP_ARGO_ROLLOUT;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "RolloutNotFound");

    /* a refused read is not "not found": the message says why */
    o.app.read_error = "get rollouts.argoproj.io ns/app: 403 forbidden";
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "RolloutUnreadable");
    TM_EXPECT(strstr(cond_find(&p.status.conds, DBROLLOUT_COND_APP_AVAILABLE)->message,
                     "waiting for rollout app: get rollouts.argoproj.io ns/app: 403 forbidden") !=
              NULL);
}

TM_TEST(rollout_rolls_back_schema_and_undoes_aborted_argo_rollout)
{
    struct dbrollout_observed o = base();
    o.spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH;
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    o.db.prestart_steps = 3;
    argo_rollout(&o, "Degraded", false);
    o.app.aborted = true;
    o.app.message = "RolloutAborted: Rollout aborted update to revision 2";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "RolloutAborted");
    TM_EXPECT(strstr(cond_find(&p.status.conds, DBROLLOUT_COND_APP_AVAILABLE)->message,
                     "rollout app revision 2 was aborted: RolloutAborted") != NULL);
    TM_EXPECT(has_event(&p, "AppFailed", true));
    /* SchemaFirst: the app is undone first (`kubectl argo rollouts undo`) */
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RESTORE_DEPLOYMENT);
    TM_EXPECT_INT(p.action.from_revision, 2);
    TM_EXPECT_INT(p.action.to_revision, 1);

    o.status = p.status;
    o.last.kind = DBROLLOUT_ACT_RESTORE_DEPLOYMENT;
    dbrollout_decide(&o, NOW + 1, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v1");

    /* back at v1, the Rollout at its new revision 3 (the old template) */
    o.status = p.status;
    memset(&o.last, 0, sizeof(o.last));
    o.last.kind = DBROLLOUT_ACT_ROLLBACK_TO_TAG;
    o.last.tag = "v1";
    o.db.prestart = DBROLLOUT_POS_AT;
    o.app.revision = 3;
    dbrollout_decide(&o, NOW + 2, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLED_BACK);
    TM_EXPECT(strstr(cond_find(&p.status.conds, DBROLLOUT_COND_ROLLED_BACK)->message,
                     "rollout restored to its previous revision") != NULL);
}

TM_TEST(rollout_rolls_schema_back_when_argo_rollout_degraded)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    argo_rollout(&o, "Degraded", false);
    o.app.message = "ProgressDeadlineExceeded: ReplicaSet \"app-6d\" has timed out progressing.";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "RolloutDegraded");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);

    /* Degraded for a template of another tag is not this rollout's failure */
    o.app.template_tag = "v1";
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "WaitingForTemplate");
}

TM_TEST(rollout_argo_rollout_times_out_like_a_deployment)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.db.target = DBROLLOUT_POS_AT;
    o.db.prestart = DBROLLOUT_POS_BACKWARD;
    argo_rollout(&o, "Paused", false);
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW - 1000 + 600 * 1000 + 1, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_APP_AVAILABLE), "AppTimeout");
    TM_EXPECT(strstr(cond_find(&p.status.conds, DBROLLOUT_COND_APP_AVAILABLE)->message,
                     "rollout app did not complete within appTimeoutSeconds") != NULL);
}

TM_TEST(rollout_names_round_trip)
{
    for (int i = DBROLLOUT_PHASE_PENDING; i < DBROLLOUT_PHASE_COUNT; i++) {
        enum dbrollout_phase ph = DBROLLOUT_PHASE_NONE;
        TM_EXPECT(dbrollout_phase_parse(dbrollout_phase_name((enum dbrollout_phase)i), &ph));
        TM_EXPECT_INT(ph, i);
    }
    enum dbrollout_order ord;
    TM_EXPECT(dbrollout_order_parse("AppFirst", &ord));
    TM_EXPECT_INT(ord, DBROLLOUT_ORDER_APP_FIRST);
    TM_EXPECT(!dbrollout_order_parse("appfirst", &ord));
}

/* ------------------------------------------------ the transition table */

/* ------------------------------------------------------------ approval */

/* Two plans of ro (three changesets to v2): A, and B after the changelog changed. */
static struct plan_review plan_a, plan_b;

static void plans_init(void)
{
    static const char *const hashes[2] = {
        "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
    struct plan_review *p[2] = {&plan_a, &plan_b};
    for (int i = 0; i < 2; i++) {
        memset(p[i], 0, sizeof(*p[i]));
        p[i]->set = true;
        p[i]->direction = PLAN_REVIEW_APPLY;
        p[i]->total = 3;
        p[i]->nlisted = 3;
        snprintf(p[i]->instance, sizeof(p[i]->instance), "orders");
        snprintf(p[i]->tag, sizeof(p[i]->tag), "v2");
        snprintf(p[i]->hash, sizeof(p[i]->hash), "%s", hashes[i]);
        for (int k = 0; k < 3; k++) {
            snprintf(p[i]->listed[k].changeset, sizeof(p[i]->listed[k].changeset),
                     "changelog.yaml::%d::t", k + 1);
            snprintf(p[i]->listed[k].sql_hash, sizeof(p[i]->listed[k].sql_hash), "%s",
                     hashes[i]);
        }
    }
}

/* ro with spec.approval Required, plan A observed, approved (NULL: not) with hash. */
static void needs_approval(struct dbrollout_observed *o, const char *approved_hash)
{
    plans_init();
    o->spec.approval_required = true;
    o->spec.approved_plan_hash = approved_hash;
    o->plan = &plan_a;
}

/* ro Applying after plan A was approved, nothing run yet (a retry backing
 * off, say); then the changelog changed: plan B observed; spec.approvedPlanHash
 * is approved_hash. */
static void approved_move_then_new_plan(struct dbrollout_observed *o, const char *approved_hash)
{
    needs_approval(o, approved_hash);
    started(o, DBROLLOUT_PHASE_APPLYING);
    o->status.plan = plan_a;
    snprintf(o->status.approved_plan_hash, sizeof(o->status.approved_plan_hash), "%s",
             plan_a.hash);
    o->status.approved_at_ms = NOW - 1000;
    o->plan = &plan_b;
}

TM_TEST(approved_move_whose_plan_changed_before_anything_ran_holds_for_the_new_hash)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    approved_move_then_new_plan(&o, plan_a.hash);
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.trace[p.ntrace - 1], DBROLLOUT_T_APPLY_PLAN_CHANGED);
    TM_EXPECT_STR(dbrollout_phase_name(p.status.phase), "Applying");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE); /* nothing applied, lock kept */
    TM_EXPECT_STR(p.status.plan.hash, plan_b.hash);
    TM_EXPECT_STR(p.status.approved_plan_hash, plan_a.hash);
    TM_EXPECT(p.status.has_pre_start_tag);
    TM_EXPECT_CONTAINS(p.status.message, plan_b.hash);
    TM_EXPECT(has_event(&p, "PlanAwaitingApproval", false));
    /* the next reconcile holds the same, quietly */
    o.status = p.status;
    dbrollout_decide(&o, NOW + 1000, &p);
    TM_EXPECT_INT(p.trace[p.ntrace - 1], DBROLLOUT_T_APPLY_PLAN_CHANGED);
    TM_EXPECT(!has_event(&p, "PlanAwaitingApproval", false));
    TM_EXPECT(dbrollout_status_equal(&p.status, &o.status));
    /* approving the new hash applies it */
    o.spec.approved_plan_hash = plan_b.hash;
    dbrollout_decide(&o, NOW + 2000, &p);
    TM_EXPECT_INT(p.trace[0], DBROLLOUT_T_PLAN_APPROVED);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
    TM_EXPECT_STR(p.status.approved_plan_hash, plan_b.hash);
    TM_EXPECT(has_event(&p, "PlanApproved", false));
}

TM_TEST(approved_move_that_already_ran_part_is_not_held_by_its_shorter_plan)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    approved_move_then_new_plan(&o, plan_a.hash);
    o.status.applied_changesets = 1; /* the rest of plan A: another hash */
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_APPLY_TO_TAG);
}

TM_TEST(approval_required_without_approval_awaits_with_the_plan_hash)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    needs_approval(&o, NULL);
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.trace[p.ntrace - 1], DBROLLOUT_T_AWAITING_APPROVAL);
    TM_EXPECT_STR(dbrollout_phase_name(p.status.phase), "AwaitingApproval");
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE); /* no lock, nothing applied */
    TM_EXPECT_STR(p.status.plan.hash, plan_a.hash);
    TM_EXPECT_STR(p.status.approved_plan_hash, "");
    TM_EXPECT_CONTAINS(p.status.message, plan_a.hash);
    TM_EXPECT(has_event(&p, "PlanAwaitingApproval", false));
    TM_EXPECT_CONTAINS(p.events[0].note, plan_a.hash);
    TM_EXPECT(p.requeue_ms > 0);
    /* the next reconcile, nothing new: no second Event, no status change */
    o.status = p.status;
    dbrollout_decide(&o, NOW + 5000, &p);
    TM_EXPECT(!has_event(&p, "PlanAwaitingApproval", false));
    TM_EXPECT(dbrollout_status_equal(&p.status, &o.status));
}

TM_TEST(approval_by_the_instance_policy_holds_a_rollout_that_asks_none)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    needs_approval(&o, NULL);
    o.spec.approval_required = false;
    o.instance_requires_approval = true;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.trace[p.ntrace - 1], DBROLLOUT_T_AWAITING_APPROVAL);
}

TM_TEST(approved_plan_hash_equal_records_the_approval_and_goes_on_to_lock)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    needs_approval(&o, NULL);
    dbrollout_decide(&o, NOW, &p);
    o.status = p.status; /* AwaitingApproval */
    o.generation = 3;    /* approvedPlanHash set */
    o.spec.approved_plan_hash = plan_a.hash;
    dbrollout_decide(&o, NOW + 60000, &p);
    TM_EXPECT_INT(p.ntrace, 2);
    TM_EXPECT_INT(p.trace[0], DBROLLOUT_T_PLAN_APPROVED);
    TM_EXPECT_INT(p.trace[1], DBROLLOUT_T_LOCK);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ACQUIRE_LOCK);
    TM_EXPECT_STR(p.status.approved_plan_hash, plan_a.hash);
    TM_EXPECT_INT(p.status.approved_at_ms, NOW + 60000);
    TM_EXPECT(has_event(&p, "PlanApproved", false));
    /* the rounds after it (lock, stamp) keep the approval as first seen, no second Event */
    o.status = p.status;
    o.lock_confirmed = true;
    o.last.kind = DBROLLOUT_ACT_ACQUIRE_LOCK;
    dbrollout_decide(&o, NOW + 61000, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_STAMP_PRESTART);
    TM_EXPECT_INT(p.status.approved_at_ms, NOW + 60000);
    TM_EXPECT(!has_event(&p, "PlanApproved", false));
}

TM_TEST(approved_plan_hash_gone_stale_after_a_changelog_change_awaits_again)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    needs_approval(&o, plan_a.hash);
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ACQUIRE_LOCK);
    o.status = p.status; /* Pending, approval of A recorded; then the changelog changed */
    o.plan = &plan_b;
    dbrollout_decide(&o, NOW + 1000, &p);
    TM_EXPECT_INT(p.trace[p.ntrace - 1], DBROLLOUT_T_AWAITING_APPROVAL);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT_STR(p.status.plan.hash, plan_b.hash);
    TM_EXPECT_STR(p.status.approved_plan_hash, ""); /* the approval was A's */
    TM_EXPECT_CONTAINS(p.status.message, "is for another plan");
    TM_EXPECT(has_event(&p, "PlanAwaitingApproval", false));
}

TM_TEST(approval_stale_after_a_tag_change_mid_rollout_awaits_and_releases_the_lock)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    needs_approval(&o, plan_a.hash);
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    o.status.plan = plan_a;
    snprintf(o.status.approved_plan_hash, sizeof(o.status.approved_plan_hash), "%s", plan_a.hash);
    o.spec.tag = "v3"; /* a new tag: plan B */
    plan_b.direction = PLAN_REVIEW_APPLY;
    o.plan = &plan_b;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.trace[p.ntrace - 1], DBROLLOUT_T_AWAITING_APPROVAL);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK);
    TM_EXPECT_STR(p.status.target_tag, "v3");
}

TM_TEST(approval_removed_before_the_start_awaits_again)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    needs_approval(&o, plan_a.hash);
    o.lock_holder = "other/u-2/1"; /* approved, waiting for the lock */
    static const struct dbrollout_peer alive = {
        .name = "other", .uid = "u-2", .generation = 1, .phase = DBROLLOUT_PHASE_APPLYING};
    o.peers = &alive;
    o.npeers = 1;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.trace[p.ntrace - 1], DBROLLOUT_T_LOCK_HELD);
    TM_EXPECT_STR(p.status.approved_plan_hash, plan_a.hash);
    o.status = p.status;
    o.spec.approved_plan_hash = NULL; /* removed */
    dbrollout_decide(&o, NOW + 1000, &p);
    TM_EXPECT_INT(p.trace[p.ntrace - 1], DBROLLOUT_T_AWAITING_APPROVAL);
    TM_EXPECT_STR(p.status.approved_plan_hash, "");
}

TM_TEST(approval_not_needed_for_a_plan_that_changes_nothing)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    needs_approval(&o, NULL);
    plan_a.direction = PLAN_REVIEW_NONE;
    plan_a.total = plan_a.nlisted = 0;
    o.db.target = DBROLLOUT_POS_AT;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ACQUIRE_LOCK);
}

TM_TEST(plan_is_recorded_at_the_start_and_kept_while_applying)
{
    struct dbrollout_observed o = base();
    struct dbrollout_plan p;
    plans_init();
    o.plan = &plan_a; /* no approval needed: the plan is still shown */
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_STR(p.status.plan.hash, plan_a.hash);
    started(&o, DBROLLOUT_PHASE_APPLYING);
    o.status.plan = plan_a;
    o.plan = &plan_b; /* the rest of the plan, once part of it ran */
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_STR(p.status.plan.hash, plan_a.hash);
}

/* An observed state that takes row t (with `now` to decide at); false for a
 * row without one, which fails every_row_of_the_table_is_taken. */
static bool row_scenario(enum dbrollout_transition t, struct dbrollout_observed *o,
                         int64_t *now)
{
    static const struct dbrollout_peer alive = {
        .name = "other", .uid = "u-2", .generation = 1, .phase = DBROLLOUT_PHASE_APPLYING};
    *o = base();
    *now = NOW;
    switch (t) {
    case DBROLLOUT_T_NONE:
    case DBROLLOUT_T_COUNT:
        return false;
    case DBROLLOUT_T_KEEP:
        started(o, DBROLLOUT_PHASE_SUCCEEDED);
        o->status.observed_generation = 2;
        return true;
    case DBROLLOUT_T_BACKOFF:
        started(o, DBROLLOUT_PHASE_APPLYING);
        o->status.retry_attempt = 2;
        o->status.retry_not_before_ms = NOW + 2000;
        return true;
    case DBROLLOUT_T_INSTANCE_NOT_FOUND:
        o->instance_found = false;
        return true;
    case DBROLLOUT_T_SCHEMA_NOT_READY:
        o->schema_ready = false;
        return true;
    case DBROLLOUT_T_START_UNREACHABLE:
        o->db.reachable = false;
        return true;
    case DBROLLOUT_T_INVALID_TARGET:
        o->db.target = DBROLLOUT_POS_INVALID;
        return true;
    case DBROLLOUT_T_DRIFTED:
        o->db.ndrift = 1;
        return true;
    case DBROLLOUT_T_POLICY_DENIED:
        o->lint.denied = 1;
        return true;
    case DBROLLOUT_T_AWAITING_APPROVAL:
        needs_approval(o, NULL);
        return true;
    case DBROLLOUT_T_PLAN_APPROVED:
        needs_approval(o, plan_a.hash);
        return true;
    case DBROLLOUT_T_APPLY_PLAN_CHANGED:
        approved_move_then_new_plan(o, plan_a.hash);
        return true;
    case DBROLLOUT_T_LOCK_HELD:
        o->lock_holder = "other/u-2/1";
        o->peers = &alive;
        o->npeers = 1;
        return true;
    case DBROLLOUT_T_LOCK_LOST:
        o->last.kind = DBROLLOUT_ACT_ACQUIRE_LOCK;
        o->last.code = TM_E_CONFLICT;
        o->last.error = "409 conflict";
        return true;
    case DBROLLOUT_T_LOCK:
        return true;
    case DBROLLOUT_T_STAMP_FAILED:
        o->lock_confirmed = true;
        o->last.kind = DBROLLOUT_ACT_STAMP_PRESTART;
        o->last.code = TM_E_DB;
        o->last.error = "connection lost";
        return true;
    case DBROLLOUT_T_STAMP:
        o->lock_confirmed = true;
        o->last.kind = DBROLLOUT_ACT_ACQUIRE_LOCK;
        return true;
    case DBROLLOUT_T_BEGIN_APP_FIRST:
        o->spec.order = DBROLLOUT_ORDER_APP_FIRST;
        /* fall through */
    case DBROLLOUT_T_BEGIN:
        o->lock_confirmed = true;
        o->last.kind = DBROLLOUT_ACT_STAMP_PRESTART;
        o->last.prestart_tag = "v1";
        return true;
    case DBROLLOUT_T_RETARGET_APP_FIRST:
        o->spec.order = DBROLLOUT_ORDER_APP_FIRST;
        /* fall through */
    case DBROLLOUT_T_RETARGET:
        started(o, DBROLLOUT_PHASE_WAITING_FOR_APP);
        o->spec.tag = "v3";
        o->generation = 3;
        return true;
    case DBROLLOUT_T_UNREACHABLE:
        started(o, DBROLLOUT_PHASE_APPLYING);
        o->db.reachable = false;
        return true;
    case DBROLLOUT_T_APPLY_RETRY:
    case DBROLLOUT_T_APPLY_FAILED_ROLLBACK:
    case DBROLLOUT_T_APPLY_FAILED_KEEP:
        started(o, DBROLLOUT_PHASE_APPLYING);
        o->db.prestart = DBROLLOUT_POS_BACKWARD;
        o->last.kind = DBROLLOUT_ACT_APPLY_TO_TAG;
        o->last.tag = "v2";
        o->last.code = t == DBROLLOUT_T_APPLY_RETRY ? TM_E_LOCKED : TM_E_DB;
        o->last.retry = t == DBROLLOUT_T_APPLY_RETRY ? TM_RETRY_WAITING : TM_RETRY_TERMINAL;
        o->last.error = "failed";
        if (t == DBROLLOUT_T_APPLY_FAILED_KEEP)
            o->spec.cs_failure = DBROLLOUT_CS_FAILURE_FAIL;
        return true;
    case DBROLLOUT_T_APPLY_FORWARD:
        started(o, DBROLLOUT_PHASE_APPLYING);
        return true;
    case DBROLLOUT_T_APPLY_BACKWARD:
        started(o, DBROLLOUT_PHASE_APPLYING);
        o->db.target = DBROLLOUT_POS_BACKWARD;
        return true;
    case DBROLLOUT_T_SCHEMA_AT_TAG:
        started(o, DBROLLOUT_PHASE_APPLYING);
        o->db.target = DBROLLOUT_POS_AT;
        app_rolling(o);
        return true;
    case DBROLLOUT_T_SUCCEED:
        started(o, DBROLLOUT_PHASE_APPLYING);
        o->db.target = DBROLLOUT_POS_AT;
        o->spec.deployment = NULL;
        return true;
    case DBROLLOUT_T_APP_AVAILABLE_APP_FIRST:
        o->spec.order = DBROLLOUT_ORDER_APP_FIRST;
        started(o, DBROLLOUT_PHASE_WAITING_FOR_APP);
        return true;
    case DBROLLOUT_T_APP_FAILED_HOLD:
    case DBROLLOUT_T_APP_FAILED_ROLLBACK:
        started(o, DBROLLOUT_PHASE_WAITING_FOR_APP);
        app_rolling(o);
        o->app.progress_deadline_exceeded = true;
        o->db.target = DBROLLOUT_POS_AT;
        o->db.prestart = DBROLLOUT_POS_BACKWARD;
        if (t == DBROLLOUT_T_APP_FAILED_HOLD)
            o->spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_HOLD;
        return true;
    case DBROLLOUT_T_WAIT_APP:
        started(o, DBROLLOUT_PHASE_WAITING_FOR_APP);
        app_rolling(o);
        return true;
    case DBROLLOUT_T_ROLLBACK_RETRY:
    case DBROLLOUT_T_ROLLBACK_FAILED:
        started(o, DBROLLOUT_PHASE_ROLLING_BACK);
        o->status.rollback_cause = DBROLLOUT_CAUSE_APPLY_FAILED;
        o->db.prestart = DBROLLOUT_POS_BACKWARD;
        o->last.kind = DBROLLOUT_ACT_ROLLBACK_TO_TAG;
        o->last.tag = "v1";
        o->last.code = t == DBROLLOUT_T_ROLLBACK_RETRY ? TM_E_LOCKED : TM_E_DB;
        o->last.retry = t == DBROLLOUT_T_ROLLBACK_RETRY ? TM_RETRY_WAITING : TM_RETRY_TERMINAL;
        o->last.error = "failed";
        return true;
    case DBROLLOUT_T_RESTORE_FAILED:
        started(o, DBROLLOUT_PHASE_ROLLING_BACK);
        o->status.rollback_cause = DBROLLOUT_CAUSE_APP_FAILED;
        o->last.kind = DBROLLOUT_ACT_RESTORE_DEPLOYMENT;
        o->last.code = TM_E_NOTFOUND;
        o->last.retry = TM_RETRY_TERMINAL;
        o->last.error = "deployment app has no revision 1 to restore";
        return true;
    case DBROLLOUT_T_RESTORE:
        started(o, DBROLLOUT_PHASE_ROLLING_BACK);
        o->spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH;
        o->status.rollback_cause = DBROLLOUT_CAUSE_APP_FAILED;
        o->status.deployment_revision = 2;
        o->status.previous_deployment_revision = 1;
        app_rolling(o);
        o->db.prestart = DBROLLOUT_POS_BACKWARD;
        return true;
    case DBROLLOUT_T_RETURN_BACKWARD:
    case DBROLLOUT_T_RETURN_FORWARD:
        started(o, DBROLLOUT_PHASE_ROLLING_BACK);
        o->status.rollback_cause = DBROLLOUT_CAUSE_APPLY_FAILED;
        o->db.prestart = t == DBROLLOUT_T_RETURN_BACKWARD ? DBROLLOUT_POS_BACKWARD
                                                          : DBROLLOUT_POS_FORWARD;
        return true;
    case DBROLLOUT_T_ROLLED_BACK:
    case DBROLLOUT_T_ROLLED_BACK_APPLY_FAILED:
        started(o, DBROLLOUT_PHASE_ROLLING_BACK);
        o->status.rollback_cause = t == DBROLLOUT_T_ROLLED_BACK ? DBROLLOUT_CAUSE_APP_FAILED
                                                                : DBROLLOUT_CAUSE_APPLY_FAILED;
        return true;
    case DBROLLOUT_T_VERIFY_START:
        started(o, DBROLLOUT_PHASE_WAITING_FOR_APP);
        with_verify(o);
        o->db.target = DBROLLOUT_POS_AT;
        return true;
    case DBROLLOUT_T_VERIFY_CREATE:
        verifying(o);
        o->job.found = false;
        return true;
    case DBROLLOUT_T_VERIFY_CREATE_RETRY:
        verifying(o);
        o->job.found = false;
        o->last.kind = DBROLLOUT_ACT_CREATE_VERIFY_JOB;
        o->last.code = TM_E_HTTP;
        o->last.retry = TM_RETRY_TRANSIENT;
        o->last.error = "503 Service Unavailable";
        return true;
    case DBROLLOUT_T_VERIFY_WAIT:
        verifying(o);
        return true;
    case DBROLLOUT_T_VERIFY_SUCCEED:
        verifying(o);
        o->job.complete = true;
        return true;
    case DBROLLOUT_T_VERIFY_FAILED_HOLD:
    case DBROLLOUT_T_VERIFY_FAILED_ROLLBACK:
        verifying(o);
        o->job.failed = true;
        o->job.reason = "BackoffLimitExceeded";
        o->job.message = "Job has reached the specified backoff limit";
        if (t == DBROLLOUT_T_VERIFY_FAILED_HOLD)
            o->spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_HOLD;
        return true;
    }
    return false;
}

/* ------------------------------------------------------ verification */

TM_TEST(verify_job_name_is_deterministic_and_fits_a_job_name)
{
    char a[DBROLLOUT_JOB_NAME_MAX], b[DBROLLOUT_JOB_NAME_MAX];
    dbrollout_verify_job_name("orders-dev", 3, a, sizeof(a));
    TM_EXPECT_STR(a, "orders-dev-verify-3");
    /* 60 characters each, the same first 50: cut, told apart by the hash */
    const char *l1 = "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee-first1";
    const char *l2 = "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee-second";
    dbrollout_verify_job_name(l1, 12, a, sizeof(a));
    dbrollout_verify_job_name(l2, 12, b, sizeof(b));
    TM_EXPECT(strlen(a) <= 63 && strlen(b) <= 63);
    TM_EXPECT(strcmp(a, b) != 0);
    TM_EXPECT(strstr(a, "-verify-12") != NULL);
    char again[DBROLLOUT_JOB_NAME_MAX];
    dbrollout_verify_job_name(l1, 12, again, sizeof(again));
    TM_EXPECT_STR(again, a);
    /* a cut never leaves "--" where the name had a dash at the cut */
    dbrollout_verify_job_name("aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd-eeeeeeeee-xxxxxxxxxxxxxxxx", 1,
                              a, sizeof(a));
    TM_EXPECT(strstr(a, "--") == NULL);
}

TM_TEST(verify_starts_a_job_once_the_app_is_available_at_the_target)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    with_verify(&o);
    o.db.target = DBROLLOUT_POS_AT;
    o.app.service_account = "orders-app";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_VERIFYING);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_CREATE_VERIFY_JOB);
    TM_EXPECT_STR(p.action.job_name, "ro-verify-2");
    TM_EXPECT_INT(p.action.job_deadline_s, 60);
    /* named in the status written before the create */
    TM_EXPECT_STR(p.status.verify_job, "ro-verify-2");
    TM_EXPECT_INT(p.status.verify_result, DBROLLOUT_VERIFY_RUNNING);
    TM_EXPECT_INT(p.status.verify_started_ms, NOW);
    TM_EXPECT_STR(cond_reason(&p, COND_READY), "Verifying");
    TM_EXPECT_INT(cond_status(&p, COND_RECONCILING), COND_TRUE);
    TM_EXPECT(has_event(&p, "VerificationStarted", false));
    TM_EXPECT(!has_event(&p, "Succeeded", false));
    TM_EXPECT_INT(p.status.observed_generation, 1); /* not fully handled yet */
}

TM_TEST(verify_start_chained_from_the_rollout_start_keeps_every_event)
{
    /* tagFrom, a policy warning, the schema already at the tag, the app available: one
     * decide goes from the start to Verifying and posts all six Events */
    struct dbrollout_observed o = base();
    with_verify(&o);
    o.spec.tag_from_container = "app";
    o.spec.tag_from_image = "registry/app:v2";
    o.lint.warned = 1;
    o.db.target = DBROLLOUT_POS_AT;
    o.lock_confirmed = true;
    o.last.kind = DBROLLOUT_ACT_STAMP_PRESTART;
    o.last.prestart_tag = "v2";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_VERIFYING);
    TM_EXPECT_INT(p.nevents, 6);
    TM_EXPECT(has_event(&p, "RolloutStarted", false));
    TM_EXPECT(has_event(&p, "TagResolved", false));
    TM_EXPECT(has_event(&p, "PolicyWarning", true));
    TM_EXPECT(has_event(&p, "SchemaApplied", false));
    TM_EXPECT(has_event(&p, "AppAvailable", false));
    TM_EXPECT(has_event(&p, "VerificationStarted", false));
}

TM_TEST(verify_without_a_deployment_runs_once_the_schema_is_at_the_tag)
{
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_APPLYING);
    with_verify(&o);
    o.spec.deployment = NULL;
    o.db.target = DBROLLOUT_POS_AT;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_VERIFYING);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_CREATE_VERIFY_JOB);
    TM_EXPECT(has_event(&p, "SchemaApplied", false));
}

TM_TEST(verify_waiting_writes_nothing_new)
{
    /* the status VERIFY_START wrote, then the Job running: no second write */
    struct dbrollout_observed o = base();
    started(&o, DBROLLOUT_PHASE_WAITING_FOR_APP);
    with_verify(&o);
    o.db.target = DBROLLOUT_POS_AT;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    struct dbrollout_observed o2 = o;
    o2.status = p.status;
    o2.job.found = true;
    struct dbrollout_plan p2;
    dbrollout_decide(&o2, NOW + 3000, &p2);
    TM_EXPECT_INT(p2.trace[p2.ntrace - 1], DBROLLOUT_T_VERIFY_WAIT);
    TM_EXPECT(dbrollout_status_equal(&p2.status, &o2.status));
    TM_EXPECT_INT(p2.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT_INT(p2.nevents, 0);
    /* requeued for the timeout (60 s from NOW), at most a minute away */
    TM_EXPECT(p2.requeue_ms > 0 && p2.requeue_ms <= 58000);
}

TM_TEST(verify_recreates_a_missing_job_under_the_same_name)
{
    struct dbrollout_observed o = base();
    verifying(&o);
    o.job.found = false; /* a restart between the status write and the create */
    o.generation = 2;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_CREATE_VERIFY_JOB);
    TM_EXPECT_STR(p.action.job_name, "ro-verify-2");
    TM_EXPECT_INT(p.action.job_deadline_s, 55); /* what the timeout leaves */
    TM_EXPECT_INT(p.status.verify_started_ms, NOW - 5000);
}

TM_TEST(verify_job_complete_succeeds_and_releases_the_lock)
{
    struct dbrollout_observed o = base();
    verifying(&o);
    o.job.complete = true;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_SUCCEEDED);
    TM_EXPECT_INT(p.status.verify_result, DBROLLOUT_VERIFY_SUCCEEDED);
    TM_EXPECT_STR(p.status.verify_job, "ro-verify-2");
    TM_EXPECT(has_event(&p, "VerificationSucceeded", false));
    TM_EXPECT(has_event(&p, "Succeeded", false));
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK);
    TM_EXPECT_INT(p.status.observed_generation, 2);
    TM_EXPECT(strstr(p.status.message, "verification Job ro-verify-2 succeeded") != NULL);
}

TM_TEST(verify_job_failed_takes_the_app_failure_path_rollback_both)
{
    struct dbrollout_observed o = base();
    verifying(&o);
    o.spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH;
    o.job.failed = true;
    o.job.reason = "BackoffLimitExceeded";
    o.job.message = "Job has reached the specified backoff limit";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    /* SchemaFirst: the Deployment is restored first, then the schema */
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_INT(p.trace[0], DBROLLOUT_T_VERIFY_FAILED_ROLLBACK);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RESTORE_DEPLOYMENT);
    TM_EXPECT_INT(p.action.from_revision, 2);
    TM_EXPECT_INT(p.action.to_revision, 1);
    TM_EXPECT_INT(p.status.rollback_cause, DBROLLOUT_CAUSE_APP_FAILED);
    TM_EXPECT_INT(p.status.verify_result, DBROLLOUT_VERIFY_FAILED);
    TM_EXPECT_STR(p.status.verify_reason, "BackoffLimitExceeded");
    TM_EXPECT(strstr(p.status.verify_message, "ro-verify-2") != NULL);
    TM_EXPECT(strstr(p.status.verify_message, "backoff limit") != NULL);
    TM_EXPECT(has_event(&p, "VerificationFailed", true));
    TM_EXPECT_STR(cond_reason(&p, DBROLLOUT_COND_ROLLED_BACK), "AppFailed");
}

TM_TEST(verify_timeout_fails_the_verification)
{
    struct dbrollout_observed o = base();
    verifying(&o);
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW - 5000 + 60000, &p); /* not yet: at the deadline */
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_VERIFYING);
    dbrollout_decide(&o, NOW - 5000 + 61000, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_STR(p.status.verify_reason, "Timeout");
    TM_EXPECT(strstr(p.status.verify_message, "spec.verify.timeout (60s)") != NULL);
    /* RollbackSchema: the schema goes back, the Deployment stays */
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_ROLLBACK_TO_TAG);
    TM_EXPECT_STR(p.action.tag, "v1");
}

TM_TEST(verify_failed_with_hold_stops_as_is)
{
    struct dbrollout_observed o = base();
    verifying(&o);
    o.spec.on_app_failure = DBROLLOUT_ON_APP_FAILURE_HOLD;
    o.job.failed = true;
    o.job.reason = "DeadlineExceeded";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_FAILED);
    TM_EXPECT_STR(cond_reason(&p, COND_READY), "VerificationFailed");
    TM_EXPECT_INT(cond_status(&p, COND_STALLED), COND_TRUE);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_RELEASE_LOCK);
    TM_EXPECT_STR(p.status.verify_reason, "DeadlineExceeded");
}

TM_TEST(verify_job_the_api_refuses_fails_the_verification)
{
    struct dbrollout_observed o = base();
    verifying(&o);
    o.job.found = false;
    o.last.kind = DBROLLOUT_ACT_CREATE_VERIFY_JOB;
    o.last.code = TM_E_INVAL;
    o.last.retry = TM_RETRY_TERMINAL;
    o.last.error = "422 Invalid: spec.template.spec.containers: Required value";
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLING_BACK);
    TM_EXPECT_STR(p.status.verify_reason, "JobNotCreated");
    TM_EXPECT(strstr(p.status.verify_message, "422 Invalid") != NULL);
    /* a transient refusal is retried instead, Verifying kept */
    o.last.code = TM_E_HTTP;
    o.last.retry = TM_RETRY_TRANSIENT;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_VERIFYING);
    TM_EXPECT(p.backoff);
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
}

TM_TEST(verify_rolled_back_names_the_job)
{
    struct dbrollout_observed o = base();
    verifying(&o);
    o.status.phase = DBROLLOUT_PHASE_ROLLING_BACK;
    o.status.rollback_cause = DBROLLOUT_CAUSE_APP_FAILED;
    o.status.verify_result = DBROLLOUT_VERIFY_FAILED;
    o.db.prestart = DBROLLOUT_POS_AT;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_ROLLED_BACK);
    TM_EXPECT(strstr(p.status.message, "after verification Job ro-verify-2 failed") != NULL);
    TM_EXPECT_STR(p.status.verify_job, "ro-verify-2"); /* kept in the terminal phase */
}

TM_TEST(verify_new_tag_while_verifying_retargets_and_clears_the_verification)
{
    struct dbrollout_observed o = base();
    verifying(&o);
    o.spec.tag = "v3";
    o.generation = 3;
    o.db.target = DBROLLOUT_POS_FORWARD;
    struct dbrollout_plan p;
    dbrollout_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.trace[0], DBROLLOUT_T_RETARGET);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_APPLYING);
    TM_EXPECT_INT(p.status.verify_result, DBROLLOUT_VERIFY_NONE);
    TM_EXPECT_STR(p.status.verify_job, "");
}

TM_TEST(verify_a_verifying_rollout_holds_the_instance_lock)
{
    struct dbrollout_peer pe = {.name = "ro", .uid = "u-1", .generation = 2,
                                .observed_generation = 1, .phase = DBROLLOUT_PHASE_VERIFYING};
    TM_EXPECT(!dbrollout_lock_free("ro/u-1/2", "u-9", &pe, 1));
}

/* Each row is taken from an observed state of its own, and the plan agrees
 * with it (decide_checked): a row changed in the table or in the code, or a
 * row no state reaches, fails here. */
TM_TEST(every_row_of_the_table_is_taken)
{
    for (int t = DBROLLOUT_T_NONE + 1; t < DBROLLOUT_T_COUNT; t++) {
        const struct dbrollout_row *r = dbrollout_row((enum dbrollout_transition)t);
        TM_ASSERT(r != NULL);
        struct dbrollout_observed o;
        int64_t now = 0;
        if (!row_scenario((enum dbrollout_transition)t, &o, &now)) {
            TM_FAIL_("row %s has no scenario", r->name);
            continue;
        }
        struct dbrollout_plan p;
        int before = tm_failed_;
        dbrollout_decide(&o, now, &p);
        bool taken = false;
        for (size_t i = 0; i < p.ntrace; i++)
            taken = taken || p.trace[i] == (enum dbrollout_transition)t;
        if (!taken)
            TM_FAIL_("row %s not taken (first %s, last %s)", r->name,
                     dbrollout_row(p.trace[0])->name, dbrollout_row(p.trace[p.ntrace - 1])->name);
        if (tm_failed_ != before)
            fprintf(stderr, "  in the scenario of row %s\n", r->name);
    }
}

TM_TEST(table_rows_are_well_formed)
{
    TM_EXPECT(dbrollout_row(DBROLLOUT_T_NONE) == NULL);
    TM_EXPECT(dbrollout_row(DBROLLOUT_T_COUNT) == NULL);
    for (int t = DBROLLOUT_T_NONE + 1; t < DBROLLOUT_T_COUNT; t++) {
        const struct dbrollout_row *r = &dbrollout_table[t];
        TM_EXPECT_INT(r->id, t);
        TM_ASSERT(r->name != NULL && r->when != NULL);
        TM_EXPECT(r->from != 0);
        /* a chain moves on; a row that keeps Ready as it is changes nothing */
        /* a chain never ends a plan: it needs no reason of its own */
        if (r->flags & DBROLLOUT_ROW_CHAINS)
            TM_EXPECT(r->action == DBROLLOUT_ACT_NONE);
        if (!r->reason && !(r->flags & DBROLLOUT_ROW_CHAINS))
            TM_EXPECT(r->next == DBROLLOUT_PHASE_NONE && r->action == DBROLLOUT_ACT_NONE);
        for (int u = DBROLLOUT_T_NONE + 1; u < t; u++)
            TM_EXPECT(strcmp(dbrollout_table[u].name, r->name) != 0);
    }
}

static const char *action_label(enum dbrollout_action_kind k)
{
    switch (k) {
    case DBROLLOUT_ACT_NONE:
        return "";
    case DBROLLOUT_ACT_ACQUIRE_LOCK:
        return "acquire lock";
    case DBROLLOUT_ACT_STAMP_PRESTART:
        return "stamp preStartTag";
    case DBROLLOUT_ACT_APPLY_TO_TAG:
        return "apply to tag";
    case DBROLLOUT_ACT_ROLLBACK_TO_TAG:
        return "roll back to tag";
    case DBROLLOUT_ACT_RESTORE_DEPLOYMENT:
        return "restore deployment";
    case DBROLLOUT_ACT_RELEASE_LOCK:
        return "release lock";
    case DBROLLOUT_ACT_CREATE_VERIFY_JOB:
        return "create verification Job";
    }
    return "?";
}

/* The table as reconcilers/README.md shows it, one line a row. */
static void table_markdown(struct tm_buf *b)
{
    bool ok = tm_buf_adds(b, "| row | from | when | action | next | Ready reason |\n"
                             "|-----|------|------|--------|------|--------------|\n") == TM_OK;
    for (int t = DBROLLOUT_T_NONE + 1; t < DBROLLOUT_T_COUNT && ok; t++) {
        const struct dbrollout_row *r = &dbrollout_table[t];
        ok = tm_buf_addf(b, "| %s | ", r->name) == TM_OK;
        const char *sep = "";
        for (int ph = DBROLLOUT_PHASE_NONE; ph < DBROLLOUT_PHASE_COUNT && ok; ph++) {
            if (!(r->from & DBROLLOUT_FROM(ph)))
                continue;
            ok = tm_buf_addf(b, "%s%s", sep,
                             ph == DBROLLOUT_PHASE_NONE
                                 ? "(no status)"
                                 : dbrollout_phase_name((enum dbrollout_phase)ph)) == TM_OK;
            sep = ", ";
        }
        const char *act = action_label(r->action);
        ok = ok && tm_buf_addf(b, " | %s | %s%s%s | %s%s | %s |\n", r->when, act,
                               *act && (r->flags & DBROLLOUT_ROW_RELEASES) ? "; " : "",
                               (r->flags & DBROLLOUT_ROW_RELEASES) ? "release lock if held" : "",
                               r->next == DBROLLOUT_PHASE_NONE ? "(same)"
                                                               : dbrollout_phase_name(r->next),
                               (r->flags & DBROLLOUT_ROW_CHAINS) ? ", goes on" : "",
                               r->reason ? r->reason : "(as is)") == TM_OK;
    }
    TM_EXPECT(ok);
}

/* reconcilers/README.md holds the table between two markers; it must equal
 * the code's (the message prints what to paste). */
TM_TEST(readme_shows_the_transition_table)
{
    static const char begin[] = "<!-- dbrollout-table: generated from reconcilers/dbrollout_table.c"
                                " by tests/unit/test_dbrollout_decide.c -->\n";
    static const char end[] = "<!-- dbrollout-table end -->";
    const char *src = tm_test_env("TIDEMARK_SOURCE_DIR");
    TM_ASSERT(src != NULL);
    char path[4096];
    snprintf(path, sizeof(path), "%s/reconcilers/README.md", src);
    FILE *f = fopen(path, "r");
    TM_ASSERT(f != NULL);
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    struct tm_buf want;
    tm_buf_init(&want, 1 << 16);
    table_markdown(&want);
    const char *b = strstr(text, begin), *e = b ? strstr(b, end) : NULL;
    size_t have_len = e ? (size_t)(e - b) - strlen(begin) : 0;
    if (!b || !e || have_len != want.len ||
        memcmp(b + strlen(begin), tm_buf_str(&want), want.len) != 0)
        TM_FAIL_("%s: the transition table differs from the code's; put this between\n%s"
                 "and\n%s\n:\n%s",
                 path, begin, end, tm_buf_str(&want));
    tm_buf_release(&want);
}

TM_TEST_MAIN()
