/* Unit tests of the planner and status (engine/plan.c): table-style, no
 * database.  Changelogs and histories are built by tests/engine_fixture.h. */
#include "engine_fixture.h"
#include "tm_test.h"

/* c1..c5; c2 tagged v1, c4 tagged v2; every changeset has a rollback. */
static void five(struct chlog *cl)
{
    memset(cl, 0, sizeof(*cl));
    fx_add(cl, "c1", "create table a(id int)", "drop table a");
    fx_tag(fx_add(cl, "c2", "create table b(id int)", "drop table b"), "v1");
    fx_add(cl, "c3", "create table c(id int)", "drop table c");
    fx_tag(fx_add(cl, "c4", "create table d(id int)", "drop table d"), "v2");
    fx_add(cl, "c5", "create table e(id int)", "drop table e");
}

static const char *step_id(const struct chlog *cl, const struct plan *p, size_t i)
{
    return i < p->nsteps ? cl->sets[p->steps[i].set].id : "(none)";
}

TM_TEST(checksum_fixture_matches_liquibase_vectors)
{
    char out[64];
    const char *one[1] = {"select 1"};
    fx_checksum(one, 1, out);
    TM_EXPECT_STR(out, "9:3b78b9910981c62ca27148640fad7bc2");
    fx_checksum(NULL, 0, out);
    TM_EXPECT_STR(out, "9:d41d8cd98f00b204e9800998ecf8427e");
}

TM_TEST(plan_to_latest_applies_every_pending_in_changelog_order)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_applied(&h, &cl, 1);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 4);
    TM_EXPECT(!p.rollback);
    TM_EXPECT_STR(step_id(&cl, &p, 0), "c2");
    TM_EXPECT_STR(step_id(&cl, &p, 3), "c5");
    for (size_t i = 0; i < p.nsteps; i++)
        TM_EXPECT_INT(p.steps[i].action, PLAN_APPLY);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_to_tag_stops_at_the_tagged_changeset)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "v2", -1, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 4);
    TM_EXPECT_STR(step_id(&cl, &p, 3), "c4");
    TM_EXPECT_STR(p.target_tag, "v2");
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_to_the_applied_tag_is_empty)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_applied(&h, &cl, 2);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "v1", -1, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 0);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_rollback_to_tag_rolls_back_newer_rows_newest_first)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_applied(&h, &cl, 5);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "v1", -1, &p, &err), TM_OK);
    TM_EXPECT(p.rollback);
    TM_ASSERT_INT(p.nsteps, 3);
    TM_EXPECT_STR(step_id(&cl, &p, 0), "c5");
    TM_EXPECT_STR(step_id(&cl, &p, 1), "c4");
    TM_EXPECT_STR(step_id(&cl, &p, 2), "c3");
    TM_EXPECT_INT(p.steps[0].action, PLAN_ROLLBACK);
    TM_EXPECT_STR(p.steps[0].rollback_sql, "drop table e");
    TM_EXPECT_INT(p.steps[0].row, 4);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_rollback_to_tag_follows_orderexecuted_not_changelog_order)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    /* c1, c2(v1), then c5 ran before c3 (added out of order later). */
    fx_row(&h, "c1", cl.sets[0].checksum, NULL, ENGINE_EXEC_EXECUTED);
    fx_row(&h, "c2", cl.sets[1].checksum, "v1", ENGINE_EXEC_EXECUTED);
    fx_row(&h, "c5", cl.sets[4].checksum, NULL, ENGINE_EXEC_EXECUTED);
    fx_row(&h, "c3", cl.sets[2].checksum, NULL, ENGINE_EXEC_EXECUTED);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "v1", -1, &p, &err), TM_OK);
    TM_ASSERT_INT(p.nsteps, 2);
    TM_EXPECT_STR(step_id(&cl, &p, 0), "c3");
    TM_EXPECT_STR(step_id(&cl, &p, 1), "c5");
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_rollback_by_count_takes_the_newest_rows)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_applied(&h, &cl, 4);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, 2, &p, &err), TM_OK);
    TM_ASSERT_INT(p.nsteps, 2);
    TM_EXPECT_STR(step_id(&cl, &p, 0), "c4");
    TM_EXPECT_STR(step_id(&cl, &p, 1), "c3");
    plan_release(&p);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, 99, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 4);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_rollback_to_empty_database_rolls_back_everything)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_applied(&h, &cl, 3);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "", -1, &p, &err), TM_OK);
    TM_ASSERT_INT(p.nsteps, 3);
    TM_EXPECT_STR(step_id(&cl, &p, 0), "c3");
    TM_EXPECT_STR(step_id(&cl, &p, 2), "c1");
    TM_EXPECT_STR(p.target_tag, "");
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_rollback_without_rollback_sql_fails_before_any_step)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    struct chlog_changeset *c3 = &cl.sets[2];
    free(c3->rollback_sql);
    c3->rollback_sql = NULL;
    c3->has_rollback = false;
    engine_history_init(&h);
    fx_applied(&h, &cl, 5);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "v1", -1, &p, &err), TM_E_POLICY);
    TM_EXPECT_STR(err.msg, "changeset db/changelog.sql::c3::alice has no rollback");
    TM_EXPECT_INT(p.nsteps, 0);
    TM_EXPECT(p.steps == NULL);
    /* rolling back only c5 and c4 does not need c3 */
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "v2", -1, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 1);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_rollback_of_a_tag_only_changeset_needs_no_rollback_sql)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "create table a(id int)", "drop table a");
    fx_tag(fx_add(&cl, "t1", NULL, NULL), "v1");
    fx_add(&cl, "c2", "create table b(id int)", "drop table b");
    engine_history_init(&h);
    fx_applied(&h, &cl, 3);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "", -1, &p, &err), TM_OK);
    TM_ASSERT_INT(p.nsteps, 3);
    TM_EXPECT(p.steps[1].rollback_sql == NULL);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_unknown_tag_is_not_found_and_lists_known_tags)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_row(&h, "c1", cl.sets[0].checksum, "stamped", ENGINE_EXEC_EXECUTED);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "v9", -1, &p, &err), TM_E_NOTFOUND);
    TM_EXPECT_CONTAINS(err.msg, "unknown tag \"v9\"");
    TM_EXPECT_CONTAINS(err.msg, "known tags: v1, v2, stamped");
    TM_EXPECT_INT(p.nsteps, 0);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_rollback_to_a_tag_stamped_in_history)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_row(&h, "c1", cl.sets[0].checksum, "pre-1", ENGINE_EXEC_EXECUTED);
    fx_row(&h, "c2", cl.sets[1].checksum, "v1", ENGINE_EXEC_EXECUTED);
    fx_row(&h, "c3", cl.sets[2].checksum, NULL, ENGINE_EXEC_EXECUTED);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, "pre-1", -1, &p, &err), TM_OK);
    TM_ASSERT_INT(p.nsteps, 2);
    TM_EXPECT_STR(step_id(&cl, &p, 0), "c3");
    TM_EXPECT_STR(step_id(&cl, &p, 1), "c2");
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_run_always_reruns_every_time)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    cl.sets[1].run_always = true;
    engine_history_init(&h);
    fx_applied(&h, &cl, 5);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_OK);
    TM_ASSERT_INT(p.nsteps, 1);
    TM_EXPECT_STR(step_id(&cl, &p, 0), "c2");
    TM_EXPECT_INT(p.steps[0].action, PLAN_RERUN);
    TM_EXPECT_INT(p.steps[0].row, 1);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_run_on_change_reruns_only_when_the_checksum_changed)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    cl.sets[2].run_on_change = true;
    engine_history_init(&h);
    fx_applied(&h, &cl, 5);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 0);
    plan_release(&p);
    snprintf(cl.sets[2].checksum, sizeof(cl.sets[2].checksum), "9:0000");
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_OK);
    TM_ASSERT_INT(p.nsteps, 1);
    TM_EXPECT_STR(step_id(&cl, &p, 0), "c3");
    TM_EXPECT_INT(p.steps[0].action, PLAN_RERUN);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_checksum_drift_fails_unless_allowed)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_row(&h, "c1", "9:badbadbad", NULL, ENGINE_EXEC_EXECUTED);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_E_DRIFT);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.sql::c1::alice checksum changed");
    TM_EXPECT_CONTAINS(err.msg, "stored 9:badbadbad");
    struct plan_opts o = {.tag = NULL, .count = -1, .allow_drift = true};
    TM_EXPECT_INT(plan_build(&cl, &h, &o, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 4);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_accepts_null_md5sum_and_valid_checksums)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    struct chlog_changeset *c2 = &cl.sets[1];
    c2->valid_checksums = calloc(1, sizeof(char *));
    c2->valid_checksums[0] = strdup("9:oldsum");
    c2->nvalid_checksums = 1;
    engine_history_init(&h);
    fx_row(&h, "c1", NULL, NULL, ENGINE_EXEC_EXECUTED);
    fx_row(&h, "c2", "9:oldsum", NULL, ENGINE_EXEC_EXECUTED);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 3);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_accepts_the_pre_4_26_sqlfile_checksum)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    snprintf(cl.sets[0].checksum_legacy, sizeof(cl.sets[0].checksum_legacy), "9:legacysum");
    engine_history_init(&h);
    fx_row(&h, "c1", "9:legacysum", NULL, ENGINE_EXEC_EXECUTED);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 4);
    plan_release(&p);
    /* any other stored sum is still drift */
    engine_history_release(&h);
    engine_history_init(&h);
    fx_row(&h, "c1", "9:othersum", NULL, ENGINE_EXEC_EXECUTED);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_E_DRIFT);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_unknown_history_row_is_drift)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_applied(&h, &cl, 1);
    fx_row(&h, "ghost", "9:x", NULL, ENGINE_EXEC_EXECUTED);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_E_DRIFT);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.sql::ghost::alice has no changeset");
    /* and a rollback over it is refused even when drift is allowed */
    struct plan_opts o = {.tag = "", .count = -1, .allow_drift = true};
    TM_EXPECT_INT(plan_build(&cl, &h, &o, &p, &err), TM_E_POLICY);
    TM_EXPECT_CONTAINS(err.msg, "ghost");
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_context_filter_skips_changesets)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    five(&cl);
    cl.sets[2].contexts = strdup("test");
    engine_history_init(&h);
    struct plan_opts o = {.tag = NULL, .count = -1, .context = "prod"};
    TM_EXPECT_INT(plan_build(&cl, &h, &o, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 4);
    TM_EXPECT_INT(p.nskipped_context, 1);
    plan_release(&p);
    o.context = "prod, test";
    TM_EXPECT_INT(plan_build(&cl, &h, &o, &p, &err), TM_OK);
    TM_EXPECT_INT(p.nsteps, 5);
    plan_release(&p);
    /* a context expression that does not parse fails the plan, naming its changeset */
    free(cl.sets[2].contexts);
    cl.sets[2].contexts = strdup("(test");
    TM_EXPECT_INT(plan_build(&cl, &h, &o, &p, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "::c3::");
    TM_EXPECT_INT(p.nsteps, 0);
    engine_history_release(&h);
    fx_free(&cl);
}

/* Context and label expressions themselves: tests/unit/test_select.c. */

TM_TEST(status_reports_tag_pending_and_drift)
{
    struct chlog cl;
    struct engine_history h;
    struct engine_status s;
    struct tm_err err;
    five(&cl);
    cl.sets[4].run_always = true;
    engine_history_init(&h);
    fx_applied(&h, &cl, 3);
    free(h.rows[0].md5sum);
    h.rows[0].md5sum = strdup("9:edited");
    fx_row(&h, "ghost", "9:x", NULL, ENGINE_EXEC_EXECUTED);
    TM_EXPECT_INT(engine_status_compute(&cl, &h, NULL, &s, &err), TM_OK);
    TM_EXPECT_STR(s.applied_tag, "v1");
    TM_EXPECT_INT(s.applied, 3);
    TM_EXPECT_INT(s.nrows, 4);
    TM_ASSERT_INT(s.npending, 2);
    TM_EXPECT_INT(s.pending[0], 3);
    TM_EXPECT_INT(s.pending[1], 4);
    TM_ASSERT_INT(s.ndrift, 2);
    TM_EXPECT_INT(s.drift[0].reason, ENGINE_DRIFT_CHECKSUM_MISMATCH);
    TM_EXPECT_STR(s.drift[0].id, "c1");
    TM_EXPECT_STR(s.drift[0].stored, "9:edited");
    TM_EXPECT_STR(s.drift[0].expected, cl.sets[0].checksum);
    TM_EXPECT_INT(s.drift[1].reason, ENGINE_DRIFT_UNKNOWN_CHANGESET);
    TM_EXPECT_STR(s.drift[1].id, "ghost");
    TM_EXPECT_STR(s.last_applied, "db/changelog.sql::ghost::alice");
    engine_status_release(&s);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(status_applied_tag_prefers_the_newest_stamped_row)
{
    struct chlog cl;
    struct engine_history h;
    struct engine_status s;
    struct tm_err err;
    five(&cl);
    engine_history_init(&h);
    fx_applied(&h, &cl, 4);
    TM_EXPECT_INT(engine_status_compute(&cl, &h, NULL, &s, &err), TM_OK);
    TM_EXPECT_STR(s.applied_tag, "v2");
    engine_status_release(&s);
    engine_history_release(&h);
    engine_history_init(&h);
    fx_applied(&h, &cl, 3);
    free(h.rows[2].tag);
    h.rows[2].tag = strdup("pre-start");
    TM_EXPECT_INT(engine_status_compute(&cl, &h, NULL, &s, &err), TM_OK);
    TM_EXPECT_STR(s.applied_tag, "pre-start");
    engine_status_release(&s);
    engine_history_release(&h);
    engine_history_init(&h);
    TM_EXPECT_INT(engine_status_compute(&cl, &h, NULL, &s, &err), TM_OK);
    TM_EXPECT(s.applied_tag == NULL);
    TM_EXPECT_INT(s.npending, 5);
    engine_status_release(&s);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST(plan_handles_thousands_of_changesets)
{
    struct chlog cl;
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    char id[32], sql[64];
    memset(&cl, 0, sizeof(cl));
    engine_history_init(&h);
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        snprintf(sql, sizeof(sql), "create table t%d(id int)", i);
        fx_add(&cl, id, sql, "select 1");
    }
    fx_applied(&h, &cl, 2000);
    TM_EXPECT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_OK);
    TM_ASSERT_INT(p.nsteps, 1000);
    TM_EXPECT_STR(step_id(&cl, &p, 0), "c2000");
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST_MAIN()
