/* dbrollout: the DBRollout reconciler — move one DBInstance to one tag, in
 * step with one Deployment, and undo it when the application fails.
 *
 * Layout (STYLE.md rule 8): observe (dbrollout.c: cache, DBInstance,
 * Secret, database via the engine, Deployment or Argo Rollout and its
 * ReplicaSets) ->
 * decide (dbrollout_decide.c: this header's pure part, no I/O, clock passed
 * in) -> act (one action, idempotent) -> report (status patch on change,
 * Events on transitions).  The reconciler loops observe->decide->act inside
 * one reconcile until decide asks for no action, so every transition is
 * decided from freshly observed state plus the result of the action just
 * run (struct dbrollout_last); a crash anywhere loses only that in-memory
 * result, and the next reconcile decides again from persisted state.
 *
 * Lifecycle of one desired tag (phase in status):
 *   Pending -> [lock, stamp preStartTag] -> Applying -> WaitingForApp -> Succeeded
 *   AppFirst:  Pending -> WaitingForApp -> Applying -> Succeeded
 *   spec.verify: ... -> Verifying (a Job of the user's template) -> Succeeded,
 *              or its failure takes the app-failure path
 *   failure:   ... -> RollingBack -> RolledBack (app failed) | Failed (apply failed)
 *   Blocked:   a policy, drift or an unknown tag forbids the change; nothing ran.
 * Rules decided here (and why):
 *  - A new rollout starts when spec.tag differs from status.targetTag, or
 *    when the spec changed (new generation) after a terminal phase.  A spec
 *    change with the same tag during a rollout only updates its settings.  A
 *    new tag during a rollout retargets it and KEEPS preStartTag: the state
 *    to return to is still the one before the first change.
 *  - spec.tagFrom: observe resolves spec.tag from the image of a container of
 *    the Deployment (tag_from.h), so a new image is a new tag as above; one
 *    that does not resolve blocks the rollout (InvalidTarget) with the reason.
 *  - preStartTag is recorded before anything changes: the engine stamps the
 *    newest history row (engine_stamp_prestart_tag; idempotent, deterministic
 *    name), then the status write carrying it must land before the apply
 *    runs (the plan's status is always written before its action).
 *  - One active rollout per instance: the DBInstance annotation
 *    DBROLLOUT_LOCK_ANNOTATION = "<rollout>/<uid>/<generation>", written with
 *    the instance's resourceVersion (a 409 means someone else won).  It is
 *    persisted (crash-safe) and judged level-triggered: the holder is free
 *    when it no longer exists or has settled (terminal or Blocked at a
 *    generation >= the one in the annotation); a holder whose cached copy
 *    is older than the annotation is presumed alive (stale cache).  A
 *    starting rollout always re-writes the annotation (even its own) before
 *    stamping, so a stale cache can never let two rollouts start; the
 *    takeover of a non-empty lock is re-checked by act with a live GET.
 *    Waiting rollouts stay Pending.  No finalizer: a deleted holder frees
 *    the lock by being gone.
 *  - Terminal phases (Succeeded, RolledBack, Failed) are kept until the spec
 *    changes: later drift or a manual rollback of the database never makes a
 *    Succeeded rollout re-apply by surprise (the DBInstance reports drift).
 *    Deleting a DBRollout never touches the database.
 *  - App failure = the Deployment's Progressing condition says
 *    ProgressDeadlineExceeded while its pod template is the target one, or
 *    now - startedAt > appTimeoutSeconds.  Undo runs in the reverse order of
 *    the rollout: SchemaFirst/Parallel restore the Deployment (RollbackBoth)
 *    before the schema; AppFirst rolls the schema back first.
 *  - spec.verify: once the app is available at the target (or, without a
 *    Deployment, the schema is at the tag), a Job from the user's template
 *    runs and the rollout stays Verifying until it ends: Complete ->
 *    Succeeded; Failed, or verify.timeout passed -> the app-failure path
 *    (onAppFailure; rollbackCause AppFailed), the Job named in
 *    status.verification.  Its name is decided once (rollout name and
 *    generation, dbrollout_verify_job_name) and written to status before
 *    the Job is created, so a restart finds it by that name and never
 *    creates a second; the create itself treats AlreadyExists as done.
 *    The Job runs as the app's ServiceAccount (the Deployment's pod
 *    template), never the controller's, and Kubernetes stops it at the
 *    timeout (activeDeadlineSeconds).
 *  - The app may be an Argo Rollout (spec.appRef) instead: available when
 *    Argo's controller calls it Healthy at the target template and fully
 *    promoted (currentPodHash == stableRS); failed when it is Degraded
 *    (its progress deadline, an InvalidSpec) or aborted (status.abort: a
 *    failed analysis, or a person), or on appTimeoutSeconds.  Argo decides
 *    canary steps, pauses and analysis; tidemark reads only the verdict.
 *    RollbackBoth undoes it as `kubectl argo rollouts undo` does: the pod
 *    template of the ReplicaSet of the previous revision
 *    (rollout.argoproj.io/revision) replaces spec.template.  The Rollout is
 *    read live (no informer: its CRD may not be installed), every
 *    DBROLLOUT_REQUEUE_APP_MS while waiting.
 *  - "The pod template is the target": its annotation DBROLLOUT_TAG_ANNOTATION
 *    equals spec.tag; without that annotation any template counts.
 *  - observedGeneration is written only when a generation has been fully
 *    handled (terminal or Blocked); Reconciling=True meanwhile.  A new
 *    object arrives with the CRDs' status default {observedGeneration: -1}
 *    (so kstatus, and Flux's wait, read it InProgress before we write):
 *    that reads as no status at all, and -1 is carried until then.
 *  - A move that fails in a way a retry may fix (a Liquibase lock row, an
 *    applier holding the advisory lock, a lost connection) keeps its phase
 *    and backs off 1 s, 2 s, 4 s ... 30 s.  The attempt and the time of the
 *    next one are kept in the status (status.retry {attempt, notBefore}; the
 *    Ready message also says "attempt <n>, next retry at <time>: " for
 *    people), not in the work queue's rate limiter, since
 *    the watch event of every status write re-queues the key at once: a
 *    reconcile before that time changes nothing and requeues after the rest;
 *    the attempt itself leaves the status as is, so each attempt costs one
 *    status write.  Level-triggered and crash-safe: a restart reads it back.
 *  - Approval: a start (or retarget) records the plan of the move
 *    (status.plan, engine/plan_review.h) once the checks that block have
 *    passed; with approval Required (the rollout's spec.approval or its
 *    DBInstance's policy.approval: either one holds, so an environment's
 *    policy cannot be opted out of) a plan that moves the database waits in
 *    AwaitingApproval, holding no lock, until spec.approvedPlanHash is its
 *    hash.  The hash binds the approval to the changelog, tag, instance and
 *    database state it was computed from: any change makes a new plan and
 *    an old approval counts as none.  An approved move that ran nothing
 *    yet checks its plan again before each try (the changelog may change
 *    between retries: held in Applying, PlanChanged); once part of it ran
 *    the rest is not checked.  An undo never waits for approval.
 *  - "At the tag" ignores the reruns of runAlways changesets, which the
 *    engine's plan holds on every forward run (dbrollout_plan_steps); a move
 *    that applies something still runs them.
 *
 * Thread-safety: decide is pure and reentrant.  Strings in the observed
 * structs are borrowed from whoever filled them; the plan's action may
 * borrow from the observed struct (valid while it lives). */
#ifndef TM_RECONCILERS_DBROLLOUT_H
#define TM_RECONCILERS_DBROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "engine/plan_review.h"
#include "reconcilers/conditions.h"
#include "reconcilers/plan_event.h"

#define DBROLLOUT_LOCK_ANNOTATION "tidemark.dev/rollout-lock"
#define DBROLLOUT_TAG_ANNOTATION "tidemark.dev/tag"
/* The label on every verification Job (value: the rollout's name, cut to
 * a label value's 63 characters); the Jobs informer watches only these. */
#define DBROLLOUT_JOB_LABEL "tidemark.dev/rollout"
#define DBROLLOUT_JOB_NAME_MAX 64 /* a Job's name is at most 63 characters */
#define DBROLLOUT_VERIFY_TIMEOUT_DEFAULT_S 600
#define DBROLLOUT_TAG_MAX 256
#define DBROLLOUT_NAME_MAX 512  /* changeset names, lock ids */
#define DBROLLOUT_MSG_MAX 1024
/* Events one decide may post: a start that chains to Verifying posts six
 * (RolloutStarted, TagResolved, PolicyWarning, SchemaApplied, AppAvailable,
 * VerificationStarted); past the cap the newest are dropped. */
#define DBROLLOUT_EVENTS_MAX 6
#define DBROLLOUT_TRACE_MAX 12 /* rows one decide may take: start, then <= 8 progress passes */

/* Condition types beyond Ready/Reconciling/Stalled. */
#define DBROLLOUT_COND_SCHEMA_APPLIED "SchemaApplied"
#define DBROLLOUT_COND_APP_AVAILABLE "AppAvailable"
#define DBROLLOUT_COND_ROLLED_BACK "RolledBack"

/* Requeue hints (ms). */
#define DBROLLOUT_REQUEUE_APP_MS 5000
#define DBROLLOUT_REQUEUE_LOCK_MS 10000
#define DBROLLOUT_REQUEUE_RETRY_MS 10000
#define DBROLLOUT_REQUEUE_PREREQ_MS 30000
#define DBROLLOUT_REQUEUE_BLOCKED_MS 60000

/* Backoff of a failed move (apply or rollback) that a retry may fix (a lock
 * held by Liquibase or another applier, a lost connection): retry n waits
 * BASE * 2^(n-1), capped at MAX.  Kept in status (status.retry)
 * so it survives restarts and is not undone by the watch events of our own
 * status writes. */
#define DBROLLOUT_RETRY_BASE_MS 1000
#define DBROLLOUT_RETRY_MAX_MS 30000

/* ---------------------------------------------------------------- spec */

enum dbrollout_phase {
    DBROLLOUT_PHASE_NONE = 0, /* no status yet */
    DBROLLOUT_PHASE_PENDING,
    DBROLLOUT_PHASE_APPLYING,
    DBROLLOUT_PHASE_WAITING_FOR_APP,
    DBROLLOUT_PHASE_VERIFYING,       /* spec.verify's Job runs */
    DBROLLOUT_PHASE_SUCCEEDED,
    DBROLLOUT_PHASE_ROLLING_BACK,
    DBROLLOUT_PHASE_ROLLED_BACK,
    DBROLLOUT_PHASE_FAILED,
    DBROLLOUT_PHASE_BLOCKED,
    DBROLLOUT_PHASE_AWAITING_APPROVAL, /* the plan waits for spec.approvedPlanHash */
    DBROLLOUT_PHASE_COUNT
};

enum dbrollout_order {
    DBROLLOUT_ORDER_SCHEMA_FIRST = 0,
    DBROLLOUT_ORDER_APP_FIRST,
    DBROLLOUT_ORDER_PARALLEL,
};

enum dbrollout_on_app_failure {
    DBROLLOUT_ON_APP_FAILURE_ROLLBACK_SCHEMA = 0,
    DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH,
    DBROLLOUT_ON_APP_FAILURE_HOLD,
};

enum dbrollout_cs_failure {
    DBROLLOUT_CS_FAILURE_ROLLBACK = 0,
    DBROLLOUT_CS_FAILURE_MARK_NEXT_RUN,
    DBROLLOUT_CS_FAILURE_FAIL,
};

/* Why a rollback runs (status.rollbackCause): the app failed, or a changeset
 * did (changeSetFailureStrategy Rollback).  Set when RollingBack starts, kept
 * through the terminal phase, cleared when a new rollout starts. */
enum dbrollout_rollback_cause {
    DBROLLOUT_CAUSE_NONE = 0,
    DBROLLOUT_CAUSE_APP_FAILED,
    DBROLLOUT_CAUSE_APPLY_FAILED,
};

/* What runs the application (spec.deploymentRef or spec.appRef). */
enum dbrollout_app_kind {
    DBROLLOUT_APP_DEPLOYMENT = 0, /* apps/v1 Deployment (spec.deploymentRef) */
    DBROLLOUT_APP_ARGO_ROLLOUT,   /* argoproj.io/v1alpha1 Rollout (spec.appRef) */
};

struct dbrollout_spec {
    const char *instance;   /* spec.instanceRef.name */
    const char *tag;        /* spec.tag, or the tag spec.tagFrom resolved ("" when it failed) */
    /* the app's name: spec.deploymentRef.name, or spec.appRef.name (app_kind
     * says which; the CRD allows one of them); NULL: no app */
    const char *deployment;
    enum dbrollout_app_kind app_kind;
    /* spec.tagFrom (NULL container: not set): the tag comes from the image of
     * that container of the Deployment; observe resolves it (tag_from.h) */
    const char *tag_from_container;
    const char *tag_from_pattern;  /* NULL: the image's tag as is */
    const char *tag_from_image;    /* the image it was read from, NULL: not found */
    const char *tag_from_error;    /* NULL: resolved into tag; else why not (Blocked) */
    enum dbrollout_order order;
    enum dbrollout_on_app_failure on_app_failure;
    enum dbrollout_cs_failure cs_failure;
    int64_t app_timeout_s;  /* > 0 (CRD default 600) */
    /* spec.verify: a Job to run once the app is available at the target
     * (the template stays in the object: act builds the Job from it) */
    bool verify;
    int64_t verify_timeout_s; /* spec.verify.timeout, > 0 (default 10m) */
    bool approval_required;           /* spec.approval Required */
    const char *approved_plan_hash;   /* spec.approvedPlanHash, NULL: none */
};

/* status.verification: the verification Job of this rollout and how it
 * ended.  job[0] == '\0': none (cleared when a new rollout starts). */
enum dbrollout_verify_result {
    DBROLLOUT_VERIFY_NONE = 0,
    DBROLLOUT_VERIFY_RUNNING,   /* created (or about to be), not ended */
    DBROLLOUT_VERIFY_SUCCEEDED, /* the Job is Complete */
    DBROLLOUT_VERIFY_FAILED,    /* Failed, timed out, or could not be created */
};

/* The status, held by value (bounded strings) so decide can copy and edit. */
struct dbrollout_status {
    enum dbrollout_phase phase;
    bool has_pre_start_tag;             /* preStartTag recorded ("" = empty database) */
    char pre_start_tag[DBROLLOUT_TAG_MAX];
    char applied_tag[DBROLLOUT_TAG_MAX];
    char target_tag[DBROLLOUT_TAG_MAX];
    long applied_changesets;
    long rolled_back_changesets;
    int64_t deployment_revision;
    int64_t previous_deployment_revision;
    char message[DBROLLOUT_MSG_MAX];
    int64_t started_at_ms;              /* wall clock; 0 = unset */
    int64_t finished_at_ms;             /* 0 = unset */
    int64_t observed_generation;
    /* status.retry: a failed move that a retry may fix.  retry_attempt 0 =
     * none; otherwise the attempt that failed (1-based) and when the next may
     * run.  Present exactly while the Ready condition says "Retrying" or
     * "RollingBack" for that failure: any other Ready write clears it. */
    long retry_attempt;
    int64_t retry_not_before_ms;
    enum dbrollout_rollback_cause rollback_cause; /* status.rollbackCause */
    /* status.verification {job, result, reason, message, startedAt} */
    char verify_job[DBROLLOUT_JOB_NAME_MAX];
    enum dbrollout_verify_result verify_result;
    char verify_reason[DBROLLOUT_NAME_MAX]; /* the Job's Failed reason, "Timeout", ... */
    char verify_message[DBROLLOUT_MSG_MAX];
    int64_t verify_started_ms;              /* when Verifying began; the timeout counts from it */
    /* status.plan: the plan of the move to spec.tag, recorded while the
     * rollout starts (or retargets) and kept as it ran once it began */
    struct plan_review plan;
    /* status.approval: the approvedPlanHash that released status.plan and
     * when the controller first saw it; "" / 0 = none */
    char approved_plan_hash[PLAN_REVIEW_HASH_MAX];
    int64_t approved_at_ms;
    struct cond_list conds;
};

/* ------------------------------------------------------------ observed */

/* Where a tag is relative to the database (engine plan_build toward it). */
enum dbrollout_pos {
    DBROLLOUT_POS_UNKNOWN = 0, /* not computed (database unreachable) */
    DBROLLOUT_POS_AT,          /* nothing to do */
    DBROLLOUT_POS_FORWARD,     /* changesets to apply */
    DBROLLOUT_POS_BACKWARD,    /* changesets to roll back */
    DBROLLOUT_POS_INVALID,     /* no way there (unknown tag, missing rollback): see error */
};

struct dbrollout_db {
    bool reachable;
    bool error_terminal;       /* unreachable for a reason a retry will not fix (auth) */
    const char *error;         /* why unreachable; never holds secrets */
    const char *applied_tag;   /* NULL: none */
    long ndrift;
    const char *drift_first;   /* e.g. "a.sql::1::me: ChecksumMismatch" */
    enum dbrollout_pos target;     /* toward spec.tag */
    long target_steps;
    const char *target_error;      /* INVALID: why */
    enum dbrollout_pos prestart;   /* toward status.preStartTag (when recorded) */
    long prestart_steps;
    const char *prestart_error;
};

/* The policy lint of the changesets a forward move to spec.tag would run. */
struct dbrollout_lint {
    long denied;
    long warned;
    const char *first_denied;  /* "DROP TABLE in a.sql::2::me (a.sql:3)" */
    const char *first_warned;
};

/* The app as its own tool reads its rollout: a Deployment as `kubectl
 * rollout status` does, an Argo Rollout as `kubectl argo rollouts status`
 * does (the phase Argo's controller computes, GetRolloutPhase).  One struct
 * for both: observe maps each kind's fields into it, dbrollout_app_state
 * judges it. */
struct dbrollout_app {
    enum dbrollout_app_kind kind;
    bool found;
    int64_t generation;
    int64_t observed_generation;    /* status.observedGeneration */
    int64_t replicas;               /* spec.replicas (default 1) */
    int64_t status_replicas;        /* status.replicas */
    int64_t updated_replicas;
    int64_t available_replicas;
    bool progress_deadline_exceeded;/* Progressing: reason ProgressDeadlineExceeded */
    int64_t revision;               /* deployment.kubernetes.io/revision (Rollout:
                                     * rollout.argoproj.io/revision), 0 unknown */
    int64_t previous_revision;      /* highest ReplicaSet revision below it, 0 none */
    const char *template_tag;       /* pod template annotation tidemark.dev/tag, NULL absent */
    const char *service_account;    /* pod template serviceAccountName, NULL: the default */
    /* Argo Rollout only (status.observedGeneration, a string there, is read
     * into observed_generation; one that is not a number counts as observed,
     * as Argo's isGenerationObserved says) */
    const char *phase;              /* status.phase: Healthy, Progressing, Paused, Degraded */
    bool aborted;                   /* status.abort (an analysis failed, or someone aborted) */
    bool promoted;                  /* status.currentPodHash == status.stableRS, non-empty */
    const char *message;            /* status.message (why Degraded or aborted), NULL none */
    /* not found: why the read failed when not a plain "not found" (a live
     * GET of a Rollout refused: 403, the Argo CRD missing, ...), NULL */
    const char *read_error;
};

/* The verification Job named in status.verification.job (observed only
 * while Verifying). */
struct dbrollout_job {
    bool found;
    bool complete;            /* condition Complete True */
    bool failed;              /* condition Failed True */
    const char *reason;       /* Failed: its reason (BackoffLimitExceeded, DeadlineExceeded) */
    const char *message;      /* Failed: its message */
};

/* Another DBRollout of the namespace (for the lock). */
struct dbrollout_peer {
    const char *name;
    const char *uid;
    int64_t generation;
    int64_t observed_generation;
    enum dbrollout_phase phase;
};

enum dbrollout_action_kind {
    DBROLLOUT_ACT_NONE = 0,
    DBROLLOUT_ACT_ACQUIRE_LOCK,       /* write the lock annotation (RV precondition) */
    DBROLLOUT_ACT_STAMP_PRESTART,     /* engine_stamp_prestart_tag(proposed) */
    DBROLLOUT_ACT_APPLY_TO_TAG,       /* engine_run forward to tag */
    DBROLLOUT_ACT_ROLLBACK_TO_TAG,    /* engine_run backward to tag */
    DBROLLOUT_ACT_RESTORE_DEPLOYMENT, /* template of revision to_revision, if still at from */
    DBROLLOUT_ACT_RELEASE_LOCK,       /* remove the annotation if it is ours */
    DBROLLOUT_ACT_CREATE_VERIFY_JOB,  /* create Job job_name from spec.verify (exists: done) */
};

/* The result of the action run just before, in this reconcile. */
struct dbrollout_last {
    enum dbrollout_action_kind kind; /* NONE: nothing ran yet */
    const char *tag;                 /* the tag it moved to (APPLY/ROLLBACK) */
    enum tm_code code;
    enum tm_retry retry;
    const char *error;               /* message when code != TM_OK */
    const char *changeset;           /* the changeset that failed, NULL if none */
    long applied;                    /* changesets applied by it */
    long rolled_back;                /* changesets rolled back by it */
    const char *prestart_tag;        /* STAMP_PRESTART: the tag recorded */
};

/* The apply's turn among --max-concurrent-applies(-per-server) (engine/applim.h): set while
 * the rollout waits in the line without a slot. */
struct dbrollout_apply_wait {
    bool waiting;
    const char *server; /* host:port */
    int running;        /* applies running (or with a slot reserved) on server */
    int limit;          /* the per-server limit; <= 0: none */
    int running_total;  /* ... on all servers */
    int limit_total;    /* the overall limit; <= 0: none */
};

struct dbrollout_observed {
    const char *name;
    const char *uid;
    int64_t generation;
    struct dbrollout_spec spec;
    struct dbrollout_status status;

    bool instance_found;
    bool schema_ready;
    const char *schema_message;     /* why not ready */
    struct dbrollout_db db;
    struct dbrollout_lint lint;
    struct dbrollout_app app;       /* meaningful when spec.deployment */
    struct dbrollout_job job;       /* meaningful while Verifying */
    struct dbrollout_apply_wait apply_wait;

    /* the plan of the move to spec.tag (engine/plan_review.h); NULL when it
     * could not be computed (unreachable, no way to the tag) */
    const struct plan_review *plan;
    bool instance_requires_approval; /* the DBInstance's spec.policy.approval Required */

    const char *lock_holder;        /* the instance's lock annotation, NULL none */
    bool lock_confirmed;            /* this reconcile wrote the lock for us */
    const struct dbrollout_peer *peers; /* DBRollouts of the namespace (self may be in) */
    size_t npeers;

    struct dbrollout_last last;
};

/* ------------------------------------------------- the transition table */

/* Every transition decide makes, one row each (dbrollout_table.c holds the
 * rows; reconcilers/README.md shows them). */
enum dbrollout_transition {
    DBROLLOUT_T_NONE = 0,
    DBROLLOUT_T_KEEP,
    DBROLLOUT_T_BACKOFF,
    DBROLLOUT_T_INSTANCE_NOT_FOUND,
    DBROLLOUT_T_SCHEMA_NOT_READY,
    DBROLLOUT_T_START_UNREACHABLE,
    DBROLLOUT_T_INVALID_TARGET,
    DBROLLOUT_T_DRIFTED,
    DBROLLOUT_T_POLICY_DENIED,
    DBROLLOUT_T_AWAITING_APPROVAL,
    DBROLLOUT_T_PLAN_APPROVED,
    DBROLLOUT_T_APPLY_PLAN_CHANGED,
    DBROLLOUT_T_LOCK_HELD,
    DBROLLOUT_T_LOCK_LOST,
    DBROLLOUT_T_LOCK,
    DBROLLOUT_T_STAMP_FAILED,
    DBROLLOUT_T_STAMP,
    DBROLLOUT_T_BEGIN,
    DBROLLOUT_T_BEGIN_APP_FIRST,
    DBROLLOUT_T_RETARGET,
    DBROLLOUT_T_RETARGET_APP_FIRST,
    DBROLLOUT_T_UNREACHABLE,
    DBROLLOUT_T_APPLY_RETRY,
    DBROLLOUT_T_APPLY_FAILED_ROLLBACK,
    DBROLLOUT_T_APPLY_FAILED_KEEP,
    DBROLLOUT_T_APPLY_FORWARD,
    DBROLLOUT_T_APPLY_BACKWARD,
    DBROLLOUT_T_SCHEMA_AT_TAG,
    DBROLLOUT_T_SUCCEED,
    DBROLLOUT_T_APP_AVAILABLE_APP_FIRST,
    DBROLLOUT_T_APP_FAILED_HOLD,
    DBROLLOUT_T_APP_FAILED_ROLLBACK,
    DBROLLOUT_T_WAIT_APP,
    DBROLLOUT_T_ROLLBACK_RETRY,
    DBROLLOUT_T_ROLLBACK_FAILED,
    DBROLLOUT_T_RESTORE_FAILED,
    DBROLLOUT_T_RESTORE,
    DBROLLOUT_T_RETURN_BACKWARD,
    DBROLLOUT_T_RETURN_FORWARD,
    DBROLLOUT_T_ROLLED_BACK,
    DBROLLOUT_T_ROLLED_BACK_APPLY_FAILED,
    DBROLLOUT_T_VERIFY_START,
    DBROLLOUT_T_VERIFY_CREATE,
    DBROLLOUT_T_VERIFY_CREATE_RETRY,
    DBROLLOUT_T_VERIFY_WAIT,
    DBROLLOUT_T_VERIFY_SUCCEED,
    DBROLLOUT_T_VERIFY_FAILED_HOLD,
    DBROLLOUT_T_VERIFY_FAILED_ROLLBACK,
    DBROLLOUT_T_COUNT
};

#define DBROLLOUT_FROM(phase) (1u << (unsigned)(phase))
#define DBROLLOUT_ROW_RELEASES 1u /* releases the instance lock if held */
#define DBROLLOUT_ROW_CHAINS 2u   /* decide goes on in the next phase */

/* One row: in a phase of `from`, when `when` is observed, run `action`, go
 * to `next` (NONE: stay) with Ready's reason `reason` (NULL: Ready as is). */
struct dbrollout_row {
    enum dbrollout_transition id;
    const char *name;                 /* "APPLY_FORWARD" */
    unsigned from;                    /* DBROLLOUT_FROM(phase) | ... */
    const char *when;
    enum dbrollout_action_kind action;
    enum dbrollout_phase next;
    const char *reason;
    unsigned flags;                   /* DBROLLOUT_ROW_* */
};

extern const struct dbrollout_row dbrollout_table[DBROLLOUT_T_COUNT];

/* The row of t; NULL for NONE or out of range. */
const struct dbrollout_row *dbrollout_row(enum dbrollout_transition t);

/* ---------------------------------------------------------------- plan */

struct dbrollout_action {
    enum dbrollout_action_kind kind;
    const char *tag;                  /* APPLY/ROLLBACK target (borrowed) */
    char proposed_tag[DBROLLOUT_TAG_MAX]; /* STAMP_PRESTART */
    char lock_id[DBROLLOUT_NAME_MAX]; /* ACQUIRE/RELEASE: our annotation value */
    const char *expect_holder;        /* ACQUIRE: the holder decide saw (NULL none) */
    int64_t from_revision;            /* RESTORE: only while the Deployment is at it */
    int64_t to_revision;              /* RESTORE: the ReplicaSet revision to copy */
    char job_name[DBROLLOUT_JOB_NAME_MAX]; /* CREATE_VERIFY_JOB */
    int64_t job_deadline_s;           /* CREATE_VERIFY_JOB: its activeDeadlineSeconds */
};

struct dbrollout_plan {
    struct dbrollout_status status;   /* written first (when it differs) */
    struct dbrollout_action action;   /* then run */
    struct rec_plan_event events[DBROLLOUT_EVENTS_MAX];
    size_t nevents;
    int64_t requeue_ms;               /* 0: none (watches wake us) */
    bool backoff;                     /* a transient error: retry with backoff */
    /* the rows of dbrollout_table taken, in order (the last one ends the
     * plan; those before it CHAIN) */
    enum dbrollout_transition trace[DBROLLOUT_TRACE_MAX];
    size_t ntrace;
};

/* Decides the next status, action, Events and requeue from what was
 * observed.  Pure: no I/O, no clock (now_ms is wall-clock ms), no globals.
 * Never fails: every observed state maps to a plan. */
void dbrollout_decide(const struct dbrollout_observed *o, int64_t now_ms,
                      struct dbrollout_plan *p);

/* kubectl rollout status for a Deployment; for an Argo Rollout: COMPLETE
 * when Healthy and fully promoted (currentPodHash == stableRS), FAILED when
 * Degraded or aborted, PROGRESSING otherwise (Progressing, Paused). */
enum dbrollout_app_state {
    DBROLLOUT_APP_WAITING = 0, /* generation not observed yet, or not found */
    DBROLLOUT_APP_PROGRESSING,
    DBROLLOUT_APP_COMPLETE,
    DBROLLOUT_APP_FAILED,      /* ProgressDeadlineExceeded; Rollout Degraded or aborted */
};
enum dbrollout_app_state dbrollout_app_state(const struct dbrollout_app *a);

/* True when holder (a lock annotation value) does not block the rollout
 * self_uid: empty, ours, gone from peers, or settled.  Used by decide and,
 * with a freshly read peer, by act before a takeover. */
bool dbrollout_lock_free(const char *holder, const char *self_uid,
                         const struct dbrollout_peer *peers, size_t npeers);

/* Our lock annotation value "<name>/<uid>/<generation>" into out. */
void dbrollout_lock_id(const char *name, const char *uid, int64_t generation, char *out,
                       size_t n);

/* Names as the API spells them, and back (false when unknown). */
const char *dbrollout_phase_name(enum dbrollout_phase p);
bool dbrollout_phase_parse(const char *s, enum dbrollout_phase *out);
bool dbrollout_order_parse(const char *s, enum dbrollout_order *out);
bool dbrollout_on_app_failure_parse(const char *s, enum dbrollout_on_app_failure *out);
bool dbrollout_cs_failure_parse(const char *s, enum dbrollout_cs_failure *out);

/* The noun messages use for the app: "deployment" or "rollout". */
const char *dbrollout_app_noun(enum dbrollout_app_kind k);

/* Ready's message while a move waits for an apply slot: "waiting for an apply slot: N
 * applies running on host:port (limit M)", or "... on all servers (limit M)" when the
 * server has room and the overall limit is what it waits for.  Pure. */
void dbrollout_apply_wait_message(const struct dbrollout_apply_wait *w, char *out, size_t n);

/* True for Succeeded, RolledBack, Failed. */
bool dbrollout_phase_terminal(enum dbrollout_phase p);

/* The delay before retry number attempt (1-based): DBROLLOUT_RETRY_BASE_MS *
 * 2^(attempt-1), capped at DBROLLOUT_RETRY_MAX_MS; attempt < 1 reads as 1. */
int64_t dbrollout_retry_delay_ms(long attempt);

/* The retry state as a controller before status.retry wrote it: a Ready
 * message (or status.message without a Ready condition) starting "attempt
 * <n>, next retry at <RFC 3339>: ".  Read only for a status that has no
 * status.retry (dbrollout_read), so an upgrade in the middle of a backoff
 * neither resets the attempt nor loses the time.  False when it carries none. */
bool dbrollout_retry_from_message(const struct dbrollout_status *s, long *attempt,
                                  int64_t *not_before_ms);

/* Names of the rollback causes as status.rollbackCause spells them (the
 * RolledBack condition's reasons), and back; NONE is "". */
const char *dbrollout_cause_name(enum dbrollout_rollback_cause c);
bool dbrollout_cause_parse(const char *s, enum dbrollout_rollback_cause *out);

struct chlog;
struct plan;
/* The steps of an engine plan that count toward "not at the tag": all but
 * the reruns of runAlways changesets, which plan_build includes on every
 * forward run (engine_status_compute leaves them out of pending the same
 * way).  runOnChange reruns count: they appear only when the checksum
 * changed, and disappear once run.  The engine still runs every step when
 * a move is applied. */
long dbrollout_plan_steps(const struct chlog *cl, const struct plan *pl);

/* The name of the verification Job of generation `generation` of rollout
 * `name`: "<name>-verify-<generation>", or, when that would pass 63
 * characters, the name cut and followed by a hash of the whole name, so two
 * rollouts never share one.  Deterministic: a restart names the same Job. */
void dbrollout_verify_job_name(const char *name, int64_t generation, char *out, size_t n);

/* status.verification.result as the API spells it ("" for NONE), and back. */
const char *dbrollout_verify_result_name(enum dbrollout_verify_result r);
bool dbrollout_verify_result_parse(const char *s, enum dbrollout_verify_result *out);

/* True when the two statuses would serialise the same. */
bool dbrollout_status_equal(const struct dbrollout_status *a, const struct dbrollout_status *b);

/* ------------------------------------------------------- the reconciler */

struct tm_proc;
struct mgr_result;
struct mgr_reconciler;

/* Fills o's name, uid, generation, spec and status from a DBRollout object
 * (strings borrowed from obj; status copied).  Unknown enum values read as
 * the CRD defaults.  The rest of o is left untouched. */
void dbrollout_read(const cJSON *obj, struct dbrollout_observed *o);

/* The status as JSON for a merge patch (unset fields are null, so they are
 * removed); NULL on allocation failure.  Caller cJSON_Deletes it. */
cJSON *dbrollout_status_json(const struct dbrollout_status *s);

/* The manager's reconcile function (see runtime/mgr.h): observe -> decide
 * -> act, looped until decide asks for no action, then requeue as decided. */
enum tm_code dbrollout_reconcile(void *ctx, struct tm_proc *proc, const char *ns,
                                 const char *name, struct mgr_result *res, struct tm_err *err);

/* Registration for mgr_new()/mgr_run(): primary dbrollouts; secondaries
 * Deployments (spec.deploymentRef.name), DBInstances (spec.instanceRef.name:
 * a released lock wakes the waiting rollouts), the gated pods and the
 * verification Jobs (labelled DBROLLOUT_JOB_LABEL, mapped by their
 * ownerReference). */
extern const struct mgr_reconciler dbrollout_reconciler;

#endif
