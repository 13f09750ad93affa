/* dbrollout_table: the DBRollout state machine as one table — for each phase
 * and what was observed, the action, the next phase and Ready's reason.
 *
 * dbrollout_decide (dbrollout_decide.c) classifies what it observed and
 * takes a row (dbrollout_plan.trace lists the rows it took, in order: a chain
 * such as Begin -> SchemaAtTag -> Succeed needs no I/O and is decided in one
 * call); the row sets the phase, and its reason is the one Ready gets.  The
 * table is the one place a reader sees every transition; the unit test
 * tests/unit/test_dbrollout_table.c takes each row from an observed state and
 * checks the plan against it, and checks reconcilers/README.md's copy.
 *
 * Columns: `from` is a set of phases (DBROLLOUT_FROM); `next` NONE keeps the
 * phase; `reason` NULL keeps Ready as it is (a wait that writes nothing);
 * flags: RELEASES, the instance lock is released when this rollout holds it
 * (the action is then RELEASE_LOCK instead of NONE); CHAINS, decide goes on
 * in the next phase in the same call, so a chain row never ends a plan and
 * its reason (if any) is overwritten by the row that does.  A move that is a retry
 * (status.retry set) keeps the status as it is, so only its outcome is
 * written.  Pure data. */
#include "reconcilers/dbrollout.h"

#define F(p) DBROLLOUT_FROM(DBROLLOUT_PHASE_##p)
/* where a new rollout starts: no status, waiting, Blocked, or terminal with
 * a changed spec */
#define START                                                                              \
    (F(NONE) | F(PENDING) | F(AWAITING_APPROVAL) | F(BLOCKED) | F(SUCCEEDED) |               \
     F(ROLLED_BACK) | F(FAILED))
/* a new spec.tag while applying, waiting or verifying retargets and passes
 * the same checks as a start */
#define RETARGETABLE (F(APPLYING) | F(WAITING_FOR_APP) | F(VERIFYING))
#define START_OR_RETARGET (START | RETARGETABLE)
#define MOVING (F(APPLYING) | F(WAITING_FOR_APP) | F(ROLLING_BACK))

#define ROW(id, from, when, act, next, reason, flags)                                       \
    [DBROLLOUT_T_##id] = {DBROLLOUT_T_##id, #id, from, when, DBROLLOUT_ACT_##act,          \
                          DBROLLOUT_PHASE_##next, reason, flags}
#define RELEASES DBROLLOUT_ROW_RELEASES
#define CHAINS DBROLLOUT_ROW_CHAINS

const struct dbrollout_row dbrollout_table[DBROLLOUT_T_COUNT] = {
    ROW(KEEP, F(SUCCEEDED) | F(ROLLED_BACK) | F(FAILED),
        "spec unchanged (same tag and generation): kept, whatever the database does",
        NONE, NONE, NULL, RELEASES),
    ROW(BACKOFF, MOVING,
        "status.retry.notBefore not reached and spec.tag unchanged: requeue after the rest",
        NONE, NONE, NULL, 0),
    ROW(INSTANCE_NOT_FOUND, START_OR_RETARGET, "the DBInstance does not exist",
        NONE, PENDING, "InstanceNotFound", 0),
    ROW(SCHEMA_NOT_READY, START_OR_RETARGET, "the instance's DBSchema has no changelog",
        NONE, PENDING, "SchemaNotReady", 0),
    ROW(START_UNREACHABLE, START, "the database is unreachable",
        NONE, PENDING, "DatabaseUnreachable", 0),
    ROW(INVALID_TARGET, START_OR_RETARGET,
        "no way to spec.tag (unknown tag, spec.tagFrom not resolved, no rollback SQL for a backward move)",
        NONE, BLOCKED, "InvalidTarget", RELEASES),
    ROW(DRIFTED, START_OR_RETARGET, "the database drifted from its changelog",
        NONE, BLOCKED, "Drifted", RELEASES),
    ROW(POLICY_DENIED, START_OR_RETARGET,
        "a forward move the instance's policy denies (destructiveChanges Deny)",
        NONE, BLOCKED, "PolicyViolation", RELEASES),
    ROW(AWAITING_APPROVAL, START_OR_RETARGET,
        "approval Required (spec.approval or the instance's policy.approval), the plan moves "
        "the database, and spec.approvedPlanHash is not its hash (none, or a stale one)",
        NONE, AWAITING_APPROVAL, "AwaitingApproval", RELEASES),
    ROW(PLAN_APPROVED, START_OR_RETARGET | F(APPLYING),
        "approval Required and spec.approvedPlanHash equals the plan's hash: recorded in "
        "status.approval",
        NONE, NONE, NULL, CHAINS),
    ROW(LOCK_HELD, START, "another rollout holds the instance's lock and is alive",
        NONE, PENDING, "WaitingForLock", 0),
    ROW(LOCK_LOST, START, "writing the lock failed (409, or its holder is alive after all)",
        NONE, PENDING, "WaitingForLock", 0),
    ROW(LOCK, START, "the lock is free (always re-written, even our own)",
        ACQUIRE_LOCK, PENDING, "Locking", 0),
    ROW(STAMP_FAILED, START, "stamping preStartTag failed",
        NONE, NONE, "Retrying", 0),
    ROW(STAMP, START, "the lock is ours (written in this reconcile)",
        STAMP_PRESTART, PENDING, "RecordingPreStartTag", 0),
    ROW(BEGIN, START, "preStartTag stamped (SchemaFirst, Parallel, or no deployment)",
        NONE, APPLYING, "Progressing", CHAINS),
    ROW(BEGIN_APP_FIRST, START, "preStartTag stamped (AppFirst with a deployment)",
        NONE, WAITING_FOR_APP, "Progressing", CHAINS),
    ROW(RETARGET, RETARGETABLE,
        "spec.tag changed (SchemaFirst, Parallel, or no deployment); preStartTag kept",
        NONE, APPLYING, "Progressing", CHAINS),
    ROW(RETARGET_APP_FIRST, RETARGETABLE,
        "spec.tag changed (AppFirst with a deployment); preStartTag kept",
        NONE, WAITING_FOR_APP, "Progressing", CHAINS),
    ROW(UNREACHABLE, MOVING | F(VERIFYING),
        "the database is unreachable (applying, rolling back, or retargeting)",
        NONE, NONE, "DatabaseUnreachable", 0),
    ROW(APPLY_RETRY, F(APPLYING),
        "the move to spec.tag failed in a way a retry may fix: status.retry attempt + 1",
        NONE, NONE, "Retrying", 0),
    ROW(APPLY_FAILED_ROLLBACK, F(APPLYING),
        "the move failed, did not reach spec.tag, or cannot; changeSetFailureStrategy "
        "Rollback: rollbackCause ApplyFailed",
        NONE, ROLLING_BACK, "RollingBack", CHAINS),
    ROW(APPLY_FAILED_KEEP, F(APPLYING),
        "the move failed, did not reach spec.tag, or cannot; MarkNextRun or Fail",
        NONE, FAILED, "ApplyFailed", RELEASES),
    ROW(APPLY_PLAN_CHANGED, F(APPLYING),
        "an approved move that ran nothing yet, whose plan is no longer the approved one (the "
        "changelog changed between retries), and spec.approvedPlanHash is not the new hash",
        NONE, NONE, "PlanChanged", 0),
    ROW(APPLY_FORWARD, F(APPLYING), "changesets to apply to reach spec.tag",
        APPLY_TO_TAG, APPLYING, "Applying", 0),
    ROW(APPLY_BACKWARD, F(APPLYING), "changesets to roll back to reach an older spec.tag",
        ROLLBACK_TO_TAG, APPLYING, "Applying", 0),
    ROW(SCHEMA_AT_TAG, F(APPLYING),
        "at spec.tag, a deployment to wait for (AppFirst: not yet available)",
        NONE, WAITING_FOR_APP, NULL, CHAINS),
    ROW(SUCCEED, F(APPLYING) | F(WAITING_FOR_APP),
        "at spec.tag and no deployment, or its target template available; no spec.verify",
        NONE, SUCCEEDED, "Succeeded", RELEASES),
    ROW(APP_AVAILABLE_APP_FIRST, F(WAITING_FOR_APP),
        "AppFirst: the target template is available, the schema is not at spec.tag",
        NONE, APPLYING, NULL, CHAINS),
    ROW(APP_FAILED_HOLD, F(APPLYING) | F(WAITING_FOR_APP),
        "the app failed (ProgressDeadlineExceeded at the target template, or "
        "appTimeoutSeconds; Applying: Parallel only); onAppFailure Hold",
        NONE, FAILED, "AppFailed", RELEASES),
    ROW(APP_FAILED_ROLLBACK, F(APPLYING) | F(WAITING_FOR_APP),
        "the app failed; onAppFailure RollbackSchema or RollbackBoth: rollbackCause AppFailed",
        NONE, ROLLING_BACK, "RollingBack", CHAINS),
    ROW(WAIT_APP, F(WAITING_FOR_APP),
        "the deployment is progressing, not found, or its template is for another tag",
        NONE, WAITING_FOR_APP, "WaitingForApp", 0),
    ROW(ROLLBACK_RETRY, F(ROLLING_BACK),
        "the rollback or the restore failed in a way a retry may fix: status.retry attempt + 1",
        NONE, NONE, "RollingBack", 0),
    ROW(ROLLBACK_FAILED, F(ROLLING_BACK),
        "the rollback failed, did not reach preStartTag, or cannot (none recorded, no way "
        "there)",
        NONE, FAILED, "RollbackFailed", RELEASES),
    ROW(RESTORE_FAILED, F(ROLLING_BACK), "restoring the deployment failed for good",
        NONE, FAILED, "RestoreFailed", RELEASES),
    ROW(RESTORE, F(ROLLING_BACK),
        "rollbackCause AppFailed, RollbackBoth, the deployment still at the failed revision "
        "(SchemaFirst/Parallel: before the schema; AppFirst: after it)",
        RESTORE_DEPLOYMENT, ROLLING_BACK, "RollingBack", 0),
    ROW(RETURN_BACKWARD, F(ROLLING_BACK), "changesets to roll back to reach preStartTag",
        ROLLBACK_TO_TAG, ROLLING_BACK, "RollingBack", 0),
    ROW(RETURN_FORWARD, F(ROLLING_BACK),
        "changesets to apply to reach preStartTag (the move went backward)",
        APPLY_TO_TAG, ROLLING_BACK, "RollingBack", 0),
    ROW(ROLLED_BACK, F(ROLLING_BACK), "back at preStartTag; rollbackCause AppFailed",
        NONE, ROLLED_BACK, "AppFailed", RELEASES),
    ROW(ROLLED_BACK_APPLY_FAILED, F(ROLLING_BACK),
        "back at preStartTag; rollbackCause ApplyFailed (or none recorded)",
        NONE, FAILED, "ApplyFailed", RELEASES),
    ROW(VERIFY_START, F(APPLYING) | F(WAITING_FOR_APP),
        "as SUCCEED, with spec.verify: status.verification names the Job (rollout name and "
        "generation), written before it is created",
        CREATE_VERIFY_JOB, VERIFYING, "Verifying", 0),
    ROW(VERIFY_CREATE, F(VERIFYING),
        "the Job named in status.verification does not exist (a restart before the create, "
        "or it was deleted); AlreadyExists counts as created",
        CREATE_VERIFY_JOB, NONE, "Verifying", 0),
    ROW(VERIFY_CREATE_RETRY, F(VERIFYING),
        "creating the Job failed in a way a retry may fix: requeue with backoff",
        NONE, NONE, "Verifying", 0),
    ROW(VERIFY_WAIT, F(VERIFYING), "the Job runs, verify.timeout not reached",
        NONE, NONE, "Verifying", 0),
    ROW(VERIFY_SUCCEED, F(VERIFYING), "the Job is Complete: status.verification.result Succeeded",
        NONE, SUCCEEDED, "Succeeded", RELEASES),
    ROW(VERIFY_FAILED_HOLD, F(VERIFYING),
        "the Job Failed, verify.timeout passed, or the API refused the Job: "
        "status.verification.result Failed; onAppFailure Hold",
        NONE, FAILED, "VerificationFailed", RELEASES),
    ROW(VERIFY_FAILED_ROLLBACK, F(VERIFYING),
        "the verification failed (as above); onAppFailure RollbackSchema or RollbackBoth: "
        "rollbackCause AppFailed",
        NONE, ROLLING_BACK, "RollingBack", CHAINS),
};

const struct dbrollout_row *dbrollout_row(enum dbrollout_transition t)
{
    if ((int)t <= DBROLLOUT_T_NONE || t >= DBROLLOUT_T_COUNT)
        return NULL;
    return &dbrollout_table[t];
}
