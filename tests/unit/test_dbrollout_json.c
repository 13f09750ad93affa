/* Unit tests of reconcilers/dbrollout_json.c: reading a DBRollout object and
 * writing its status back (the merge patch body). */
#include "../tm_test.h"

#include "reconcilers/dbrollout.h"
#include "reconcilers/rec.h"

static const char *obj_json =
    "{\"apiVersion\":\"tidemark.dev/v1alpha1\",\"kind\":\"DBRollout\","
    "\"metadata\":{\"name\":\"ro\",\"namespace\":\"ns\",\"uid\":\"u-1\",\"generation\":4},"
    "\"spec\":{\"instanceRef\":{\"name\":\"orders\"},\"tag\":\"v2\","
    "\"deploymentRef\":{\"name\":\"app\"},\"order\":\"AppFirst\",\"onAppFailure\":\"RollbackBoth\","
    "\"changeSetFailureStrategy\":\"MarkNextRun\",\"appTimeoutSeconds\":30},"
    "\"status\":{\"phase\":\"WaitingForApp\",\"preStartTag\":\"\",\"targetTag\":\"v2\","
    "\"appliedChangeSets\":3,\"deploymentRevision\":5,\"startedAt\":\"2026-11-23T06:00:00Z\","
    "\"observedGeneration\":3,\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
    "\"reason\":\"WaitingForApp\",\"message\":\"m\",\"lastTransitionTime\":\"2026-11-23T06:00:01Z\","
    "\"observedGeneration\":4}]}}";

TM_TEST(rollout_read_takes_spec_and_status)
{
    cJSON *obj = cJSON_Parse(obj_json);
    TM_ASSERT(obj != NULL);
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    dbrollout_read(obj, &o);
    TM_EXPECT_STR(o.name, "ro");
    TM_EXPECT_STR(o.uid, "u-1");
    TM_EXPECT_INT(o.generation, 4);
    TM_EXPECT_STR(o.spec.instance, "orders");
    TM_EXPECT_STR(o.spec.deployment, "app");
    TM_EXPECT_INT(o.spec.order, DBROLLOUT_ORDER_APP_FIRST);
    TM_EXPECT_INT(o.spec.on_app_failure, DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH);
    TM_EXPECT_INT(o.spec.cs_failure, DBROLLOUT_CS_FAILURE_MARK_NEXT_RUN);
    TM_EXPECT_INT(o.spec.app_timeout_s, 30);
    TM_EXPECT_INT(o.status.phase, DBROLLOUT_PHASE_WAITING_FOR_APP);
    TM_EXPECT(o.status.has_pre_start_tag); /* "" = the empty database, still recorded */
    TM_EXPECT_STR(o.status.pre_start_tag, "");
    TM_EXPECT_INT(o.status.applied_changesets, 3);
    TM_EXPECT_INT(o.status.deployment_revision, 5);
    TM_EXPECT_INT(o.status.started_at_ms, 1795413600000LL);
    TM_EXPECT_INT(o.status.observed_generation, 3);
    TM_ASSERT_INT(o.status.conds.n, 1);
    TM_EXPECT_INT(o.status.conds.items[0].last_transition_ms, 1795413601000LL);
    cJSON_Delete(obj);
}

TM_TEST(rollout_read_defaults_missing_fields)
{
    cJSON *obj = cJSON_Parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"tag\":\"v1\"}}");
    TM_ASSERT(obj != NULL);
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    dbrollout_read(obj, &o);
    TM_EXPECT_INT(o.spec.order, DBROLLOUT_ORDER_SCHEMA_FIRST);
    TM_EXPECT_INT(o.spec.app_timeout_s, 600);
    TM_EXPECT(o.spec.deployment == NULL);
    TM_EXPECT_INT(o.status.phase, DBROLLOUT_PHASE_NONE);
    TM_EXPECT(!o.status.has_pre_start_tag);
    cJSON_Delete(obj);
}

TM_TEST(rollout_read_takes_an_argo_rollout_app_ref)
{
    cJSON *obj = cJSON_Parse(
        "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"tag\":\"v1\",\"appRef\":"
        "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Rollout\",\"name\":\"web\"}}}");
    TM_ASSERT(obj != NULL);
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    dbrollout_read(obj, &o);
    TM_EXPECT_STR(o.spec.deployment, "web");
    TM_EXPECT_INT(o.spec.app_kind, DBROLLOUT_APP_ARGO_ROLLOUT);
    TM_EXPECT_STR(dbrollout_app_noun(o.spec.app_kind), "rollout");
    cJSON_Delete(obj);

    obj = cJSON_Parse(obj_json); /* deploymentRef */
    TM_ASSERT(obj != NULL);
    memset(&o, 0, sizeof(o));
    dbrollout_read(obj, &o);
    TM_EXPECT_INT(o.spec.app_kind, DBROLLOUT_APP_DEPLOYMENT);
    TM_EXPECT_STR(dbrollout_app_noun(o.spec.app_kind), "deployment");
    cJSON_Delete(obj);
}

TM_TEST(rollout_status_json_round_trips)
{
    cJSON *obj = cJSON_Parse(obj_json);
    TM_ASSERT(obj != NULL);
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    dbrollout_read(obj, &o);
    o.status.finished_at_ms = 1795413700000LL;
    cJSON *st = dbrollout_status_json(&o.status);
    TM_ASSERT(st != NULL);
    /* unset fields are explicit nulls: a merge patch removes them */
    TM_EXPECT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(st, "appliedTag")));
    TM_EXPECT_STR(rec_str(st, "finishedAt"), "2026-11-23T06:01:40Z");
    cJSON *wrap = cJSON_CreateObject();
    TM_ASSERT(wrap != NULL);
    cJSON_AddItemToObject(wrap, "status", st);
    struct dbrollout_observed back;
    memset(&back, 0, sizeof(back));
    dbrollout_read(wrap, &back);
    TM_EXPECT(dbrollout_status_equal(&back.status, &o.status));
    cJSON_Delete(wrap);
    cJSON_Delete(obj);
}

/* The CRDs default a new object's status to {observedGeneration: -1} (kstatus
 * then reads it InProgress): it reads exactly as no status, apart from that
 * generation, and the first decision writes a different status (patched). */
TM_TEST(rollout_crd_default_status_reads_as_no_status_yet)
{
    cJSON *bare = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"generation\":1},"
                              "\"spec\":{\"instanceRef\":{\"name\":\"db\"},\"tag\":\"v1\"}}");
    cJSON *dflt = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"generation\":1},"
                              "\"spec\":{\"instanceRef\":{\"name\":\"db\"},\"tag\":\"v1\"},"
                              "\"status\":{\"observedGeneration\":-1}}");
    TM_ASSERT(bare != NULL && dflt != NULL);
    struct dbrollout_observed a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    dbrollout_read(bare, &a);
    dbrollout_read(dflt, &b);
    TM_EXPECT_INT(b.status.observed_generation, -1);
    TM_EXPECT_INT(b.status.phase, DBROLLOUT_PHASE_NONE);
    TM_EXPECT_INT(b.status.conds.n, 0);
    TM_EXPECT(!b.status.has_pre_start_tag);
    b.status.observed_generation = a.status.observed_generation;
    TM_EXPECT(dbrollout_status_equal(&a.status, &b.status));

    /* no DBInstance yet: Pending, written over the default */
    b.status.observed_generation = -1;
    struct dbrollout_plan p;
    dbrollout_decide(&b, 1700000000000LL, &p);
    TM_EXPECT_INT(p.status.phase, DBROLLOUT_PHASE_PENDING);
    TM_EXPECT(!dbrollout_status_equal(&b.status, &p.status));
    /* and kstatus still reads it InProgress: generation not handled, or Reconciling */
    TM_EXPECT(p.status.observed_generation != 1 || cond_is_true(&p.status.conds, COND_RECONCILING));
    cJSON_Delete(bare);
    cJSON_Delete(dflt);
}

static struct dbrollout_status status_of(const char *json)
{
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    cJSON *obj = cJSON_Parse(json);
    if (obj)
        dbrollout_read(obj, &o);
    cJSON_Delete(obj);
    return o.status;
}

/* status.retry and status.rollbackCause are written, and read back. */
TM_TEST(rollout_retry_and_rollback_cause_round_trip)
{
    struct dbrollout_status st;
    memset(&st, 0, sizeof(st));
    st.phase = DBROLLOUT_PHASE_ROLLING_BACK;
    st.retry_attempt = 3;
    st.retry_not_before_ms = 1795413604000LL;
    st.rollback_cause = DBROLLOUT_CAUSE_APP_FAILED;
    cJSON *js = dbrollout_status_json(&st);
    TM_ASSERT(js != NULL);
    TM_EXPECT_INT(rec_int(js, "retry.attempt", 0), 3);
    TM_EXPECT_STR(rec_str(js, "retry.notBefore"), "2026-11-23T06:00:04Z");
    TM_EXPECT_STR(rec_str(js, "rollbackCause"), "AppFailed");
    cJSON *wrap = cJSON_CreateObject();
    TM_ASSERT(wrap != NULL);
    cJSON_AddItemToObject(wrap, "status", js);
    struct dbrollout_observed back;
    memset(&back, 0, sizeof(back));
    dbrollout_read(wrap, &back);
    TM_EXPECT(dbrollout_status_equal(&back.status, &st));
    cJSON_Delete(wrap);

    /* none: explicit nulls, so the merge patch removes what was there */
    memset(&st, 0, sizeof(st));
    js = dbrollout_status_json(&st);
    TM_ASSERT(js != NULL);
    TM_EXPECT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(js, "retry")));
    TM_EXPECT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(js, "rollbackCause")));
    cJSON_Delete(js);
}

TM_TEST(rollout_plan_approval_and_spec_round_trip)
{
    static struct dbrollout_status st;
    memset(&st, 0, sizeof(st));
    st.phase = DBROLLOUT_PHASE_AWAITING_APPROVAL;
    st.plan.set = true;
    st.plan.direction = PLAN_REVIEW_ROLLBACK;
    st.plan.total = 25;
    st.plan.nlisted = 1;
    snprintf(st.plan.hash, sizeof(st.plan.hash), "sha256:%064d", 7);
    snprintf(st.plan.tag, sizeof(st.plan.tag), "v1");
    snprintf(st.plan.instance, sizeof(st.plan.instance), "orders");
    st.plan.listed[0].action = PLAN_ROLLBACK;
    st.plan.listed[0].destructive = 1u << LINT_DROP_TABLE;
    snprintf(st.plan.listed[0].changeset, sizeof(st.plan.listed[0].changeset), "c.yaml::3::t");
    snprintf(st.plan.listed[0].sql_hash, sizeof(st.plan.listed[0].sql_hash), "sha256:%064d", 9);
    snprintf(st.approved_plan_hash, sizeof(st.approved_plan_hash), "%s", st.plan.hash);
    st.approved_at_ms = 1795413604000LL;
    cJSON *js = dbrollout_status_json(&st);
    TM_ASSERT(js != NULL);
    TM_EXPECT_STR(rec_str(js, "phase"), "AwaitingApproval");
    TM_EXPECT_STR(rec_str(js, "plan.shortHash"), "000000000000");
    TM_EXPECT_INT(rec_int(js, "plan.notListed", 0), 24);
    TM_EXPECT_STR(rec_str(js, "approval.observedAt"), "2026-11-23T06:00:04Z");
    cJSON *wrap = cJSON_CreateObject();
    TM_ASSERT(wrap != NULL);
    cJSON_AddItemToObject(wrap, "status", js);
    cJSON *spec = cJSON_AddObjectToObject(wrap, "spec");
    cJSON_AddStringToObject(spec, "approval", "Required");
    cJSON_AddStringToObject(spec, "approvedPlanHash", st.plan.hash);
    static struct dbrollout_observed back;
    memset(&back, 0, sizeof(back));
    dbrollout_read(wrap, &back);
    TM_EXPECT(dbrollout_status_equal(&back.status, &st));
    TM_EXPECT(back.spec.approval_required);
    TM_EXPECT_STR(back.spec.approved_plan_hash, st.plan.hash);
    cJSON_Delete(wrap);

    /* none: explicit nulls, so the merge patch removes them */
    memset(&st, 0, sizeof(st));
    js = dbrollout_status_json(&st);
    TM_ASSERT(js != NULL);
    TM_EXPECT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(js, "plan")));
    TM_EXPECT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(js, "approval")));
    cJSON_Delete(js);
}

/* A status written by a controller before these fields (or kept by a CRD
 * that prunes them): the retry is in Ready's message and the cause in the
 * RolledBack condition's reason.  An upgrade in the middle of a backoff
 * keeps the attempt and its time, and a rollback keeps its cause. */
TM_TEST(rollout_old_status_reads_retry_and_cause_from_text)
{
    struct dbrollout_status st = status_of(
        "{\"status\":{\"phase\":\"RollingBack\",\"conditions\":["
        "{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"RollingBack\","
        "\"message\":\"attempt 4, next retry at 2026-11-23T06:00:08Z: rolling back to "
        "preStartTag failed: locked\",\"lastTransitionTime\":\"2026-11-23T06:00:00Z\"},"
        "{\"type\":\"RolledBack\",\"status\":\"False\",\"reason\":\"AppFailed\","
        "\"message\":\"m\",\"lastTransitionTime\":\"2026-11-23T06:00:00Z\"}]}}");
    TM_EXPECT_INT(st.retry_attempt, 4);
    TM_EXPECT_INT(st.retry_not_before_ms, 1795413608000LL);
    TM_EXPECT_INT(st.rollback_cause, DBROLLOUT_CAUSE_APP_FAILED);

    st = status_of("{\"status\":{\"phase\":\"RollingBack\",\"conditions\":["
                   "{\"type\":\"RolledBack\",\"status\":\"False\",\"reason\":"
                   "\"ApplyFailed\",\"message\":\"m\",\"lastTransitionTime\":"
                   "\"2026-11-23T06:00:00Z\"}]}}");
    TM_EXPECT_INT(st.retry_attempt, 0);
    TM_EXPECT_INT(st.rollback_cause, DBROLLOUT_CAUSE_APPLY_FAILED);

    /* the typed fields win over the text */
    st = status_of("{\"status\":{\"retry\":{\"attempt\":2,\"notBefore\":"
                   "\"2026-11-23T06:00:02Z\"},\"rollbackCause\":\"ApplyFailed\","
                   "\"message\":\"attempt 9, next retry at 2026-11-23T06:09:00Z: x\","
                   "\"conditions\":[{\"type\":\"RolledBack\",\"status\":\"False\","
                   "\"reason\":\"AppFailed\",\"message\":\"m\",\"lastTransitionTime\":"
                   "\"2026-11-23T06:00:00Z\"}]}}");
    TM_EXPECT_INT(st.retry_attempt, 2);
    TM_EXPECT_INT(st.retry_not_before_ms, 1795413602000LL);
    TM_EXPECT_INT(st.rollback_cause, DBROLLOUT_CAUSE_APPLY_FAILED);

    /* what decide never writes reads as no retry */
    st = status_of("{\"status\":{\"retry\":{\"attempt\":0,\"notBefore\":"
                   "\"2026-11-23T06:00:02Z\"},\"rollbackCause\":\"Nope\"}}");
    TM_EXPECT_INT(st.retry_attempt, 0);
    TM_EXPECT_INT(st.rollback_cause, DBROLLOUT_CAUSE_NONE);
}

/* An upgrade mid-backoff: the next failed attempt counts on from the old
 * message's attempt, and a reconcile woken before its time changes nothing. */
TM_TEST(rollout_upgrade_mid_retry_keeps_attempt_and_time)
{
    cJSON *obj = cJSON_Parse(
        "{\"metadata\":{\"name\":\"ro\",\"uid\":\"u-1\",\"generation\":2},"
        "\"spec\":{\"instanceRef\":{\"name\":\"orders\"},\"tag\":\"v2\"},"
        "\"status\":{\"phase\":\"Applying\",\"preStartTag\":\"v1\",\"targetTag\":\"v2\","
        "\"startedAt\":\"2026-11-23T06:00:00Z\",\"observedGeneration\":1,"
        "\"message\":\"attempt 3, next retry at 2026-11-23T06:00:10Z: locked\",\"conditions\":["
        "{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"Retrying\","
        "\"message\":\"attempt 3, next retry at 2026-11-23T06:00:10Z: locked\","
        "\"lastTransitionTime\":\"2026-11-23T06:00:00Z\",\"observedGeneration\":2}]}}");
    TM_ASSERT(obj != NULL);
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    dbrollout_read(obj, &o);
    o.instance_found = true;
    o.schema_ready = true;
    o.db.reachable = true;
    o.db.target = DBROLLOUT_POS_FORWARD;
    o.db.target_steps = 1;
    struct dbrollout_plan p;
    dbrollout_decide(&o, 1795413605000LL, &p); /* woken 5 s early */
    TM_EXPECT_INT(p.action.kind, DBROLLOUT_ACT_NONE);
    TM_EXPECT_INT(p.requeue_ms, 5000);
    TM_EXPECT(dbrollout_status_equal(&p.status, &o.status)); /* no write */
    o.last.kind = DBROLLOUT_ACT_APPLY_TO_TAG; /* at its time, and it fails again */
    o.last.tag = "v2";
    o.last.code = TM_E_LOCKED;
    o.last.retry = TM_RETRY_WAITING;
    o.last.error = "locked";
    dbrollout_decide(&o, 1795413610000LL, &p);
    TM_EXPECT_INT(p.status.retry_attempt, 4);
    TM_EXPECT_INT(p.status.retry_not_before_ms, 1795413610000LL + dbrollout_retry_delay_ms(4));
    TM_EXPECT_INT(p.requeue_ms, dbrollout_retry_delay_ms(4));
    cJSON_Delete(obj);
}

TM_TEST(conditions_read_leaves_out_a_type_too_long_to_hold)
{
    /* Two foreign types that agree on their first COND_TYPE_MAX - 1 bytes:
     * cut, they would become one type twice (found by fuzz_rollout_json). */
    char a[COND_TYPE_MAX + 8], b[COND_TYPE_MAX + 8];
    memset(a, 'X', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[sizeof(b) - 2] = 'Y';
    cJSON *arr = cJSON_CreateArray();
    TM_ASSERT(arr != NULL);
    const char *types[] = {a, "Ready", b};
    for (size_t i = 0; i < 3; i++) {
        cJSON *o = cJSON_CreateObject();
        TM_ASSERT(o != NULL);
        cJSON_AddStringToObject(o, "type", types[i]);
        cJSON_AddStringToObject(o, "status", "True");
        cJSON_AddItemToArray(arr, o);
    }
    struct cond_list l;
    rec_conds_from_json(arr, &l);
    TM_EXPECT_INT(l.n, 1);
    TM_EXPECT(cond_is_true(&l, "Ready"));
    cJSON_Delete(arr);
}

TM_TEST(rollout_verify_spec_and_status_round_trip)
{
    cJSON *obj = cJSON_Parse(
        "{\"metadata\":{\"name\":\"ro\",\"generation\":2},\"spec\":{\"tag\":\"v1\","
        "\"verify\":{\"timeout\":\"1m30s\",\"jobTemplate\":{\"spec\":{}}}},"
        "\"status\":{\"phase\":\"Verifying\",\"verification\":{\"job\":\"ro-verify-2\","
        "\"result\":\"Failed\",\"reason\":\"BackoffLimitExceeded\",\"message\":\"m\","
        "\"startedAt\":\"2026-11-23T06:00:00Z\"}}}");
    TM_ASSERT(obj != NULL);
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    dbrollout_read(obj, &o);
    TM_EXPECT(o.spec.verify);
    TM_EXPECT_INT(o.spec.verify_timeout_s, 90);
    TM_EXPECT_INT(o.status.phase, DBROLLOUT_PHASE_VERIFYING);
    TM_EXPECT_STR(o.status.verify_job, "ro-verify-2");
    TM_EXPECT_INT(o.status.verify_result, DBROLLOUT_VERIFY_FAILED);
    TM_EXPECT_STR(o.status.verify_reason, "BackoffLimitExceeded");
    TM_EXPECT_INT(o.status.verify_started_ms, 1795413600000LL);
    cJSON *st = dbrollout_status_json(&o.status);
    TM_ASSERT(st != NULL);
    TM_EXPECT_STR(rec_str(st, "verification.job"), "ro-verify-2");
    TM_EXPECT_STR(rec_str(st, "verification.result"), "Failed");
    TM_EXPECT_STR(rec_str(st, "verification.startedAt"), "2026-11-23T06:00:00Z");
    cJSON *wrap = cJSON_CreateObject();
    TM_ASSERT(wrap != NULL);
    cJSON_AddItemToObject(wrap, "status", st);
    struct dbrollout_observed back;
    memset(&back, 0, sizeof(back));
    dbrollout_read(wrap, &back);
    TM_EXPECT(dbrollout_status_equal(&back.status, &o.status));
    /* none: an explicit null, so the merge patch removes an old one */
    o.status.verify_job[0] = '\0';
    o.status.verify_result = DBROLLOUT_VERIFY_NONE;
    cJSON *none = dbrollout_status_json(&o.status);
    TM_ASSERT(none != NULL);
    TM_EXPECT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(none, "verification")));
    cJSON_Delete(none);
    cJSON_Delete(wrap);
    cJSON_Delete(obj);
}

TM_TEST(rollout_verify_timeout_defaults_to_ten_minutes)
{
    cJSON *obj = cJSON_Parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"tag\":\"v1\","
                             "\"verify\":{\"jobTemplate\":{\"spec\":{}}}}}");
    TM_ASSERT(obj != NULL);
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    dbrollout_read(obj, &o);
    TM_EXPECT(o.spec.verify);
    TM_EXPECT_INT(o.spec.verify_timeout_s, 600);
    cJSON_Delete(obj);
    obj = cJSON_Parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"tag\":\"v1\"}}");
    TM_ASSERT(obj != NULL);
    dbrollout_read(obj, &o);
    TM_EXPECT(!o.spec.verify);
    cJSON_Delete(obj);
}

TM_TEST_MAIN()
