/* Unit tests of the reviewed plan and its hashes (engine/plan_review.c): what
 * changes the plan hash and what does not, the listed cap, destructive flags,
 * runAlways-only plans, and the JSON written to status.plan read back. */
#include "engine/plan_review.h"
#include "engine_fixture.h"
#include "tm_test.h"

/* n changesets c1..cn creating tables, the last tagged "v1"; sql_of_last
 * replaces the last one's SQL when not NULL. */
static void chain(struct chlog *cl, size_t n, const char *sql_of_last)
{
    char id[16], sql[64], rb[64];
    memset(cl, 0, sizeof(*cl));
    for (size_t i = 1; i <= n; i++) {
        snprintf(id, sizeof(id), "c%zu", i);
        snprintf(sql, sizeof(sql), "create table t%zu(id int)", i);
        snprintf(rb, sizeof(rb), "drop table t%zu", i);
        struct chlog_changeset *cs =
            fx_add(cl, id, i == n && sql_of_last ? sql_of_last : sql, rb);
        if (i == n)
            fx_tag(cs, "v1");
    }
}

/* The review of moving an empty database (or one with `applied` rows) of cl to tag. */
static enum tm_code review(const struct chlog *cl, size_t applied, const char *tag,
                           const char *instance, struct plan_review *r)
{
    struct engine_history h;
    struct plan p;
    struct tm_err err;
    engine_history_init(&h);
    fx_applied(&h, cl, applied);
    enum tm_code rc = plan_to_tag(cl, &h, tag, -1, &p, &err);
    if (rc == TM_OK)
        rc = plan_review_build(cl, &p, instance, tag, r, &err);
    plan_release(&p);
    engine_history_release(&h);
    return rc;
}

TM_TEST(plan_review_hash_is_stable_and_lists_every_step_in_order)
{
    struct chlog cl;
    static struct plan_review a, b;
    chain(&cl, 3, NULL);
    TM_EXPECT_INT(review(&cl, 0, "v1", "orders", &a), TM_OK);
    TM_EXPECT_INT(review(&cl, 0, "v1", "orders", &b), TM_OK);
    TM_EXPECT(plan_review_hash_valid(a.hash));
    TM_EXPECT_STR(a.hash, b.hash);
    TM_EXPECT_INT(a.direction, PLAN_REVIEW_APPLY);
    TM_EXPECT_INT(a.total, 3);
    TM_EXPECT_INT(a.nlisted, 3);
    TM_EXPECT_STR(a.listed[0].changeset, "db/changelog.sql::c1::alice");
    TM_EXPECT_STR(a.listed[2].changeset, "db/changelog.sql::c3::alice");
    TM_EXPECT(plan_review_hash_valid(a.listed[0].sql_hash));
    TM_EXPECT(strcmp(a.listed[0].sql_hash, a.listed[1].sql_hash) != 0);
    fx_free(&cl);
}

TM_TEST(plan_review_hash_changes_with_sql_tag_instance_and_database)
{
    struct chlog cl, edited;
    static struct plan_review base, r;
    chain(&cl, 3, NULL);
    chain(&edited, 3, "create table t3(id bigint)");
    TM_EXPECT_INT(review(&cl, 0, "v1", "orders", &base), TM_OK);
    TM_EXPECT_INT(review(&edited, 0, "v1", "orders", &r), TM_OK);
    TM_EXPECT(strcmp(base.hash, r.hash) != 0);              /* the SQL */
    TM_EXPECT_STR(base.listed[0].sql_hash, r.listed[0].sql_hash);
    TM_EXPECT(strcmp(base.listed[2].sql_hash, r.listed[2].sql_hash) != 0);
    TM_EXPECT_INT(review(&cl, 0, "v1", "billing", &r), TM_OK);
    TM_EXPECT(strcmp(base.hash, r.hash) != 0);              /* the instance */
    TM_EXPECT_INT(review(&cl, 1, "v1", "orders", &r), TM_OK);
    TM_EXPECT(strcmp(base.hash, r.hash) != 0);              /* the database's state */
    TM_EXPECT_INT(r.total, 2);
    fx_tag(&cl.sets[1], "v0");
    TM_EXPECT_INT(review(&cl, 3, "v0", "orders", &r), TM_OK); /* a rollback: direction, tag */
    TM_EXPECT_INT(r.direction, PLAN_REVIEW_ROLLBACK);
    TM_EXPECT_INT(r.total, 1);
    TM_EXPECT_INT(r.listed[0].action, PLAN_ROLLBACK);
    TM_EXPECT(r.listed[0].destructive & (1u << LINT_DROP_TABLE)); /* its SQL drops t3 */
    fx_free(&cl);
    fx_free(&edited);
}

TM_TEST(plan_review_lists_the_first_steps_and_hashes_all_of_them)
{
    struct chlog cl, edited;
    static struct plan_review a, b;
    chain(&cl, PLAN_REVIEW_LISTED + 5, NULL);
    chain(&edited, PLAN_REVIEW_LISTED + 5, "create table last(id int)");
    TM_EXPECT_INT(review(&cl, 0, "v1", "orders", &a), TM_OK);
    TM_EXPECT_INT(review(&edited, 0, "v1", "orders", &b), TM_OK);
    TM_EXPECT_INT(a.total, PLAN_REVIEW_LISTED + 5);
    TM_EXPECT_INT(a.nlisted, PLAN_REVIEW_LISTED);
    /* the edit is past the listed steps: the list is the same, the hash is not */
    TM_EXPECT_STR(a.listed[PLAN_REVIEW_LISTED - 1].sql_hash,
                  b.listed[PLAN_REVIEW_LISTED - 1].sql_hash);
    TM_EXPECT(strcmp(a.hash, b.hash) != 0);
    cJSON *j = plan_review_json(&a);
    TM_EXPECT_INT((long)cJSON_GetObjectItemCaseSensitive(j, "notListed")->valuedouble, 5);
    cJSON_Delete(j);
    fx_free(&cl);
    fx_free(&edited);
}

TM_TEST(plan_review_flags_destructive_sql_of_applied_steps)
{
    struct chlog cl;
    static struct plan_review r;
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "create table a(id int)", "drop table a");
    fx_tag(fx_add(&cl, "c2", "alter table a drop column id; truncate a", NULL), "v1");
    TM_EXPECT_INT(review(&cl, 0, "v1", "orders", &r), TM_OK);
    TM_EXPECT_INT(r.listed[0].destructive, 0);
    TM_EXPECT_INT(r.listed[1].destructive, (1u << LINT_DROP_COLUMN) | (1u << LINT_TRUNCATE));
    fx_free(&cl);
}

TM_TEST(plan_review_of_only_run_always_reruns_is_empty)
{
    struct chlog cl;
    static struct plan_review r;
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "create table a(id int)", "drop table a");
    fx_add(&cl, "always", "select 1", NULL)->run_always = true;
    fx_tag(fx_add(&cl, "c3", "create table b(id int)", "drop table b"), "v1");
    TM_EXPECT_INT(review(&cl, 3, "v1", "orders", &r), TM_OK);
    TM_EXPECT_INT(r.direction, PLAN_REVIEW_NONE);
    TM_EXPECT_INT(r.total, 0);
    TM_EXPECT(plan_review_hash_valid(r.hash));
    TM_EXPECT_INT(review(&cl, 0, "v1", "orders", &r), TM_OK);
    TM_EXPECT_INT(r.total, 3); /* a move runs the rerun too: it is in the plan */
    fx_free(&cl);
}

TM_TEST(plan_review_json_reads_back_equal)
{
    struct chlog cl;
    static struct plan_review a, b;
    memset(&cl, 0, sizeof(cl));
    fx_tag(fx_add(&cl, "c1", "drop table x; delete from y", NULL), "v1");
    TM_EXPECT_INT(review(&cl, 0, "v1", "orders", &a), TM_OK);
    cJSON *j = plan_review_json(&a);
    TM_ASSERT(j != NULL);
    TM_EXPECT(plan_review_from_json(j, &b));
    TM_EXPECT(plan_review_equal(&a, &b));
    char sh[PLAN_REVIEW_SHORT_HASH + 1];
    plan_review_short_hash(a.hash, sh, sizeof(sh));
    TM_EXPECT_STR(cJSON_GetObjectItemCaseSensitive(j, "shortHash")->valuestring, sh);
    TM_EXPECT_INT(strlen(sh), PLAN_REVIEW_SHORT_HASH);
    cJSON_Delete(j);
    TM_EXPECT(!plan_review_hash_valid("sha256:abc"));
    TM_EXPECT(!plan_review_hash_valid(NULL));
    fx_free(&cl);
}

TM_TEST_MAIN()
