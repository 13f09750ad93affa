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

TM_TEST_MAIN()
