/* Table tests of gate_decide: one gated pod and its DBRollout in, a verdict
 * out (release, keep, unknown tag), no servers. */
#include "../tm_test.h"

#include "reconcilers/gate.h"

static const char *const tags[] = {"v1", "v2", "v3"};

/* A SchemaFirst rollout from v1 to v2, applying; the pod of the new template. */
static struct gate_input base(void)
{
    struct gate_input in;
    memset(&in, 0, sizeof(in));
    in.gated = true;
    in.pod_tag = "v2";
    in.order = DBROLLOUT_ORDER_SCHEMA_FIRST;
    in.target_tag = "v2";
    in.phase = DBROLLOUT_PHASE_APPLYING;
    in.pre_start_tag = "v1";
    in.applied_tag = "v1";
    in.tags = tags;
    in.ntags = 3;
    return in;
}

static enum gate_verdict verdict(const struct gate_input *in, struct gate_decision *d)
{
    gate_decide(in, d);
    return d->verdict;
}

TM_TEST(gate_ungated_pod_is_left_alone)
{
    struct gate_input in = base();
    in.gated = false;
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_NONE);
}

TM_TEST(gate_keeps_new_pod_before_schema_reaches_its_tag)
{
    struct gate_input in = base();
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_KEEP);
    TM_EXPECT_CONTAINS(d.reason, "the schema is at v1; the pod needs v2");
}

TM_TEST(gate_releases_new_pod_once_schema_at_its_tag)
{
    struct gate_input in = base();
    in.applied_tag = "v2";
    in.phase = DBROLLOUT_PHASE_WAITING_FOR_APP;
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE);
}

TM_TEST(gate_releases_old_pod_at_a_later_tag_the_rollout_allows)
{
    struct gate_input in = base();
    in.pod_tag = "v1";
    in.applied_tag = "v2";
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE);
}

TM_TEST(gate_keeps_pod_when_schema_is_past_the_rollout_target)
{
    struct gate_input in = base();
    in.applied_tag = "v3"; /* someone else moved it on; v2 is the most the rollout allows */
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_KEEP);
    TM_EXPECT_CONTAINS(d.reason, "past what the rollout allows");
}

TM_TEST(gate_backward_move_releases_old_template_at_pre_start_tag)
{
    struct gate_input in = base();
    in.target_tag = "v1"; /* rolling v2 back to v1: the v2 pods may still start meanwhile */
    in.pre_start_tag = "v2";
    in.applied_tag = "v2";
    in.pod_tag = "v2";
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE);
    in.pod_tag = "v1"; /* the v1 template waits until the schema is back at v1 */
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE);
    in.pre_start_tag = "v3";
    in.applied_tag = "v3";
    in.target_tag = "v1";
    in.pod_tag = "v2";
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE); /* v3 <= max(v1, v3) */
}

TM_TEST(gate_rollback_keeps_restored_pods_until_schema_back_at_pre_start_tag)
{
    struct gate_input in = base();
    in.phase = DBROLLOUT_PHASE_ROLLING_BACK;
    in.cause = DBROLLOUT_CAUSE_APP_FAILED;
    in.pod_tag = "v1"; /* the restored template */
    in.applied_tag = "v2";
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_KEEP);
    TM_EXPECT_CONTAINS(d.reason, "waiting for the rollback");
    in.applied_tag = "v1";
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE);
    in.phase = DBROLLOUT_PHASE_ROLLED_BACK;
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE);
}

TM_TEST(gate_rollback_keeps_failed_template_gated)
{
    struct gate_input in = base();
    in.phase = DBROLLOUT_PHASE_ROLLED_BACK;
    in.cause = DBROLLOUT_CAUSE_APP_FAILED;
    in.applied_tag = "v1";
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_KEEP); /* v2 pods of RollbackSchema stay gated */
    in.applied_tag = "v2"; /* mid-rollback, schema still at v2: the failed app stays off */
    in.phase = DBROLLOUT_PHASE_ROLLING_BACK;
    TM_EXPECT_INT(verdict(&in, &d), GATE_KEEP);
}

TM_TEST(gate_failed_apply_keeps_new_pods_gated)
{
    struct gate_input in = base();
    in.phase = DBROLLOUT_PHASE_FAILED;
    in.cause = DBROLLOUT_CAUSE_APPLY_FAILED;
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_KEEP);
    in.cause = DBROLLOUT_CAUSE_NONE; /* MarkNextRun: the schema stopped short of v2 */
    TM_EXPECT_INT(verdict(&in, &d), GATE_KEEP);
}

TM_TEST(gate_parallel_and_app_first_release_at_once)
{
    struct gate_input in = base();
    struct gate_decision d;
    in.order = DBROLLOUT_ORDER_PARALLEL;
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE);
    TM_EXPECT_CONTAINS(d.reason, "only SchemaFirst");
    in.order = DBROLLOUT_ORDER_APP_FIRST;
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE);
    in.pod_tag = "nope"; /* not judged either */
    TM_EXPECT_INT(verdict(&in, &d), GATE_RELEASE);
}

TM_TEST(gate_unknown_pod_tag_stays_gated)
{
    struct gate_input in = base();
    in.pod_tag = "v9";
    in.applied_tag = "v3";
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_UNKNOWN_TAG);
    TM_EXPECT_CONTAINS(d.reason, "v9");
    in.pod_tag = NULL;
    TM_EXPECT_INT(verdict(&in, &d), GATE_UNKNOWN_TAG);
    TM_EXPECT_CONTAINS(d.reason, "no tidemark.dev/tag annotation");
    in.pod_tag = "";
    TM_EXPECT_INT(verdict(&in, &d), GATE_UNKNOWN_TAG);
}

TM_TEST(gate_keeps_pod_while_schema_has_no_tag)
{
    struct gate_input in = base();
    in.applied_tag = NULL;
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_KEEP);
    TM_EXPECT_CONTAINS(d.reason, "no tag yet");
}

TM_TEST(gate_keeps_pods_while_schema_at_a_stamped_tag)
{
    struct gate_input in = base();
    in.applied_tag = "tidemark-prestart-r-1";
    struct gate_decision d;
    TM_EXPECT_INT(verdict(&in, &d), GATE_KEEP);
    TM_EXPECT_CONTAINS(d.reason, "outside the changelog's tags");
}

TM_TEST(gate_verdict_names)
{
    TM_EXPECT_STR(gate_verdict_name(GATE_NONE), "None");
    TM_EXPECT_STR(gate_verdict_name(GATE_RELEASE), "Release");
    TM_EXPECT_STR(gate_verdict_name(GATE_KEEP), "Keep");
    TM_EXPECT_STR(gate_verdict_name(GATE_UNKNOWN_TAG), "UnknownTag");
}

TM_TEST_MAIN()
