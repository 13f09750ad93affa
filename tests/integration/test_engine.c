/* Integration tests of the engine against a real PostgreSQL (TIDEMARK_PG_URL):
 * apply, roll back, failure strategies, drift, locks, the Liquibase-shaped
 * history, non-transactional changesets, preconditions, preStartTag.
 * Each test works in its own fresh database (tests/engine_pgdb.h). */
#include "engine_fixture.h"
#include "engine_pgdb.h"
#include "tm_test.h"

/* c1..c4: tables a..d; c2 tagged v1, c4 tagged v2. */
static void four(struct chlog *cl)
{
    memset(cl, 0, sizeof(*cl));
    fx_add(cl, "c1", "create table a(id int)", "drop table a");
    fx_tag(fx_add(cl, "c2", "create table b(id int)", "drop table b"), "v1");
    fx_add(cl, "c3", "create table c(id int)", "drop table c");
    fx_tag(fx_add(cl, "c4", "create table d(id int)", "drop table d"), "v2");
}

static enum tm_code run(struct pgx_conn *c, const struct chlog *cl, const char *tag, long count,
                        enum engine_strategy strategy, struct engine_result *res,
                        struct tm_err *err)
{
    struct engine_opts o;
    engine_opts_init(&o);
    o.tag = tag;
    o.count = count;
    o.strategy = strategy;
    engine_result_init(res);
    return engine_run(c, cl, &o, res, err);
}

static bool has_table(struct pgx_conn *c, const char *t)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT to_regclass('public.%s') IS NOT NULL", t);
    return strcmp(pgdb_val(c, sql), "t") == 0;
}

static const char *count_rows(struct pgx_conn *c)
{
    return pgdb_val(c, "SELECT count(*) FROM public.databasechangelog");
}

TM_TEST(engine_applies_to_a_tag_and_writes_rows_as_liquibase)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "apply_tag"));
    four(&cl);
    cl.sets[0].comment = strdup("first table");
    cl.sets[0].contexts = strdup("prod");
    cl.sets[0].labels = strdup("core");
    TM_EXPECT_INT(run(d.c, &cl, "v1", -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 2);
    TM_EXPECT_STR(res.applied_tag, "v1");
    TM_EXPECT_STR(res.last_applied, "db/changelog.sql::c2::alice");
    TM_EXPECT_INT(res.nsteps, 2);
    TM_EXPECT(has_table(d.c, "a") && has_table(d.c, "b") && !has_table(d.c, "c"));
    /* Exactly what Liquibase writes for these changesets. */
    char want[512];
    snprintf(want, sizeof(want),
             "c1|alice|db/changelog.sql|EXECUTED|1|%s|sql|first table||tidemark-%s|prod|core|10",
             cl.sets[0].checksum, TM_VERSION);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT concat_ws('|', id, author, filename, exectype, "
                                "orderexecuted, md5sum, description, comments, "
                                "coalesce(tag, ''), liquibase, contexts, labels, "
                                "length(deployment_id)) FROM databasechangelog WHERE id = 'c1'"),
                  want);
    snprintf(want, sizeof(want), "c2|EXECUTED|2|%s|sql; tagDatabase||v1", cl.sets[1].checksum);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT concat_ws('|', id, exectype, orderexecuted, md5sum, "
                                "description, comments, tag) FROM databasechangelog "
                                "WHERE id = 'c2'"),
                  want);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT (contexts IS NULL AND labels IS NULL)::text FROM "
                                "databasechangelog WHERE id = 'c2'"),
                  "true");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(DISTINCT deployment_id) || ':' || "
                                "bool_and(deployment_id ~ '^[0-9]{10}$') || ':' || "
                                "bool_and(dateexecuted <= now()::timestamp + interval '1 min') "
                                "FROM databasechangelog"),
                  "1:true:true");
    /* The table has Liquibase's columns and types, in Liquibase's order. */
    TM_EXPECT_STR(
        pgdb_val(d.c, "SELECT string_agg(column_name || ' ' || data_type || "
                      "coalesce('(' || character_maximum_length || ')', '') || "
                      "CASE WHEN is_nullable = 'NO' THEN ' NN' ELSE '' END, ', ' ORDER BY "
                      "ordinal_position) FROM information_schema.columns WHERE table_schema = "
                      "'public' AND table_name = 'databasechangelog'"),
        "id character varying(255) NN, author character varying(255) NN, filename character "
        "varying(255) NN, dateexecuted timestamp without time zone NN, orderexecuted integer "
        "NN, exectype character varying(10) NN, md5sum character varying(35), description "
        "character varying(255), comments character varying(255), tag character varying(255), "
        "liquibase character varying(20), contexts character varying(255), labels character "
        "varying(255), deployment_id character varying(10)");
    engine_result_release(&res);
    /* to latest: the rest, orderexecuted continues */
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 2);
    TM_EXPECT_STR(res.applied_tag, "v2");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(id || '=' || orderexecuted, ',' ORDER BY "
                                "orderexecuted) FROM databasechangelog"),
                  "c1=1,c2=2,c3=3,c4=4");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(DISTINCT deployment_id) FROM databasechangelog"),
                  "2");
    engine_result_release(&res);
    /* Liquibase's trimToEmpty + limitSize on COMMENTS */
    {
        struct chlog more;
        memset(&more, 0, sizeof(more));
        struct chlog_changeset *cs = fx_add(&more, "long", "select 1", NULL);
        char big[400];
        memset(big, 'x', sizeof(big));
        big[0] = ' ';
        big[sizeof(big) - 1] = '\0';
        cs->comment = strdup(big);
        struct engine_opts lo;
        engine_opts_init(&lo);
        lo.table = "public.comments_history";
        engine_result_init(&res);
        TM_EXPECT_INT(engine_run(d.c, &more, &lo, &res, &err), TM_OK);
        /* MarkChangeSetRanGenerator (4.33): limitSize(trimToEmpty(comments), 250) */
        TM_EXPECT_STR(pgdb_val(d.c, "SELECT length(comments) || ':' || (comments LIKE "
                                    "'xxx%...') FROM comments_history"),
                      "250:true");
        engine_result_release(&res);
        fx_free(&more);
    }
    /* and again: nothing to do */
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 0);
    TM_EXPECT_STR(res.applied_tag, "v2");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

struct seen {
    int calls;
    char last[256];
};

static void count_steps(void *ctx, const struct chlog_changeset *cs,
                        const struct engine_step_result *st)
{
    struct seen *s = ctx;
    s->calls++;
    snprintf(s->last, sizeof(s->last), "%s %s %s", cs->id, engine_outcome_name(st->outcome),
             st->changeset);
}

TM_TEST(engine_reports_each_step_to_the_progress_callback)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    struct seen seen = {0};
    TM_ASSERT(pgdb_open(&d, "progress"));
    four(&cl);
    struct engine_opts o;
    engine_opts_init(&o);
    o.progress = count_steps;
    o.progress_ctx = &seen;
    engine_result_init(&res);
    TM_EXPECT_INT(engine_run(d.c, &cl, &o, &res, &err), TM_OK);
    TM_EXPECT_INT(seen.calls, 4);
    TM_EXPECT_STR(seen.last, "c4 EXECUTED db/changelog.sql::c4::alice");
    engine_result_release(&res);
    o.tag = "v1";
    engine_result_init(&res);
    TM_EXPECT_INT(engine_run(d.c, &cl, &o, &res, &err), TM_OK);
    TM_EXPECT_INT(seen.calls, 6);
    TM_EXPECT_STR(seen.last, "c3 ROLLED_BACK db/changelog.sql::c3::alice");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_rolls_back_to_a_tag_and_by_count)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "rollback"));
    four(&cl);
    TM_ASSERT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    engine_result_release(&res);
    TM_EXPECT_INT(run(d.c, &cl, "v1", -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.rolled_back, 2);
    TM_ASSERT_INT(res.nsteps, 2);
    TM_EXPECT_STR(res.steps[0].changeset, "db/changelog.sql::c4::alice");
    TM_EXPECT_INT(res.steps[0].outcome, ENGINE_OUT_ROLLED_BACK);
    TM_EXPECT_STR(res.applied_tag, "v1");
    TM_EXPECT(!has_table(d.c, "c") && !has_table(d.c, "d") && has_table(d.c, "b"));
    TM_EXPECT_STR(count_rows(d.c), "2");
    engine_result_release(&res);
    TM_EXPECT_INT(run(d.c, &cl, NULL, 1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.rolled_back, 1);
    TM_EXPECT(!has_table(d.c, "b") && has_table(d.c, "a"));
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(id, ',') FROM databasechangelog"), "c1");
    TM_EXPECT(res.applied_tag == NULL);
    engine_result_release(&res);
    /* to the empty database */
    TM_EXPECT_INT(run(d.c, &cl, "", -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT(!has_table(d.c, "a"));
    TM_EXPECT_STR(count_rows(d.c), "0");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_missing_rollback_fails_before_anything_runs)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "norollback"));
    four(&cl);
    free(cl.sets[2].rollback_sql);
    cl.sets[2].rollback_sql = NULL;
    cl.sets[2].has_rollback = false;
    TM_ASSERT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    engine_result_release(&res);
    TM_EXPECT_INT(run(d.c, &cl, "v1", -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_E_POLICY);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.sql::c3::alice has no rollback");
    TM_EXPECT_INT(res.nsteps, 0);
    TM_EXPECT(has_table(d.c, "d")); /* c4 was not rolled back either */
    TM_EXPECT_STR(count_rows(d.c), "4");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

/* c1 fine, c2 creates a table then fails with a syntax error, c3 fine. */
static void failing(struct chlog *cl)
{
    memset(cl, 0, sizeof(*cl));
    fx_add(cl, "c1", "create table a(id int)", "drop table a");
    fx_add(cl, "c2", "create table half(id int); selec 1", "drop table if exists half");
    fx_add(cl, "c3", "create table c(id int)", "drop table c");
}

TM_TEST(engine_failed_changeset_rolls_back_with_the_rollback_strategy)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "fail_rb"));
    failing(&cl);
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_E_DB);
    TM_EXPECT_STR(err.sqlstate, "42601");
    TM_EXPECT_INT(err.retry, TM_RETRY_TERMINAL);
    TM_EXPECT_CONTAINS(err.msg, "changeset db/changelog.sql::c2::alice");
    TM_EXPECT_CONTAINS(err.msg, "syntax error");
    TM_EXPECT_INT(res.applied, 1);
    TM_ASSERT_INT(res.nsteps, 2);
    TM_EXPECT_INT(res.steps[1].outcome, ENGINE_OUT_FAILED);
    TM_EXPECT(has_table(d.c, "a") && !has_table(d.c, "half") && !has_table(d.c, "c"));
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(id, ',') FROM databasechangelog"), "c1");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_mark_next_run_records_mark_ran_and_the_next_run_goes_on)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "fail_mnr"));
    failing(&cl);
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_MARK_NEXT_RUN, &res, &err), TM_E_DB);
    TM_EXPECT_CONTAINS(err.msg, "c2");
    TM_ASSERT_INT(res.nsteps, 2);
    TM_EXPECT_INT(res.steps[1].outcome, ENGINE_OUT_MARKED_NEXT_RUN);
    TM_EXPECT(!has_table(d.c, "half") && !has_table(d.c, "c"));
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(id || ':' || exectype || ':' || "
                                "orderexecuted, ',' ORDER BY orderexecuted) FROM "
                                "databasechangelog"),
                  "c1:EXECUTED:1,c2:MARK_RAN:2");
    engine_result_release(&res);
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 1);
    TM_EXPECT(has_table(d.c, "c"));
    engine_result_release(&res);
    /* a rollback includes the marked changeset (its rollback copes: IF EXISTS) */
    TM_EXPECT_INT(run(d.c, &cl, "", -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.rolled_back, 3);
    TM_EXPECT_STR(count_rows(d.c), "0");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_fail_strategy_records_nothing_and_is_terminal)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "fail_fail"));
    failing(&cl);
    /* a serialization-class error would normally be retried: Fail makes it terminal */
    free(cl.sets[1].changes[0].sql);
    cl.sets[1].changes[0].sql =
        strdup("create table half(id int); do $$ begin raise exception using errcode = "
               "'40001', message = 'conflict'; end $$");
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_FAIL, &res, &err), TM_E_DB);
    TM_EXPECT_STR(err.sqlstate, "40001");
    TM_EXPECT_INT(err.retry, TM_RETRY_TERMINAL);
    TM_EXPECT(!has_table(d.c, "half"));
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(id, ',') FROM databasechangelog"), "c1");
    engine_result_release(&res);
    /* the same error under Rollback keeps its transient class */
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_E_DB);
    TM_EXPECT_INT(err.retry, TM_RETRY_TRANSIENT);
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_drift_blocks_apply_unless_allowed)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct engine_status st;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "drift"));
    four(&cl);
    TM_ASSERT_INT(run(d.c, &cl, "v1", -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    engine_result_release(&res);
    pgdb_exec(d.c, "UPDATE databasechangelog SET md5sum = '9:0123' WHERE id = 'c1'");
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_E_DRIFT);
    TM_EXPECT_CONTAINS(err.msg, "c1::alice checksum changed");
    TM_EXPECT(!has_table(d.c, "c"));
    engine_result_release(&res);
    TM_ASSERT_INT(engine_status_read(d.c, &cl, NULL, NULL, &st, &err), TM_OK);
    TM_ASSERT_INT(st.ndrift, 1);
    TM_EXPECT_INT(st.drift[0].reason, ENGINE_DRIFT_CHECKSUM_MISMATCH);
    TM_EXPECT_STR(st.drift[0].stored, "9:0123");
    TM_EXPECT_INT(st.npending, 2);
    TM_EXPECT_STR(st.applied_tag, "v1");
    engine_status_release(&st);
    /* a NULL md5sum is accepted */
    pgdb_exec(d.c, "UPDATE databasechangelog SET md5sum = NULL WHERE id = 'c1'");
    pgdb_exec(d.c, "INSERT INTO databasechangelog (id, author, filename, dateexecuted, "
                   "orderexecuted, exectype) VALUES ('ghost', 'bob', 'old.sql', now(), 3, "
                   "'EXECUTED')");
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_E_DRIFT);
    TM_EXPECT_CONTAINS(err.msg, "old.sql::ghost::bob has no changeset");
    engine_result_release(&res);
    struct engine_opts o;
    engine_opts_init(&o);
    o.allow_drift = true;
    engine_result_init(&res);
    TM_EXPECT_INT(engine_run(d.c, &cl, &o, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 2);
    TM_EXPECT(has_table(d.c, "d"));
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_second_applier_waits_then_fails_locked_until_the_first_dies)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "lock"));
    four(&cl);
    struct pgx_conn *first = pgdb_connect(&d, "tidemark-first");
    TM_ASSERT(first != NULL);
    TM_ASSERT_INT(engine_lock(first, NULL, 0, &err), TM_OK);
    struct engine_opts o;
    engine_opts_init(&o);
    o.lock_wait_ms = 300;
    engine_result_init(&res);
    TM_EXPECT_INT(engine_run(d.c, &cl, &o, &res, &err), TM_E_LOCKED);
    TM_EXPECT_INT(err.retry, TM_RETRY_WAITING);
    TM_EXPECT_CONTAINS(err.msg, "tidemark-first");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('public.databasechangelog') IS NULL"), "t");
    engine_result_release(&res);
    /* the holder's session dies without unlocking: the lock goes with it */
    pgx_conn_free(first);
    o.lock_wait_ms = 60000;
    engine_result_init(&res);
    TM_EXPECT_INT(engine_run(d.c, &cl, &o, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 4);
    engine_result_release(&res);
    /* and a finished run leaves the lock free */
    struct pgx_conn *third = pgdb_connect(&d, "tidemark-third");
    TM_ASSERT(third != NULL);
    TM_EXPECT_INT(engine_lock(third, NULL, 0, &err), TM_OK);
    TM_EXPECT_INT(engine_unlock(third, NULL, &err), TM_OK);
    pgx_conn_free(third);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_refuses_to_run_while_a_liquibase_lock_is_held)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "lblock"));
    four(&cl);
    pgdb_exec(d.c, "CREATE TABLE public.databasechangeloglock (ID INTEGER NOT NULL, LOCKED "
                   "BOOLEAN NOT NULL, LOCKGRANTED TIMESTAMP WITHOUT TIME ZONE, LOCKEDBY "
                   "VARCHAR(255), CONSTRAINT databasechangeloglock_pkey PRIMARY KEY (ID))");
    pgdb_exec(d.c, "INSERT INTO databasechangeloglock VALUES (1, true, "
                   "'2026-01-02 03:04:05', 'buildhost (10.0.0.7)')");
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_E_LOCKED);
    TM_EXPECT_INT(err.retry, TM_RETRY_WAITING);
    TM_EXPECT_CONTAINS(err.msg, "buildhost (10.0.0.7) since 2026-01-02 03:04:05");
    TM_EXPECT(!has_table(d.c, "a"));
    engine_result_release(&res);
    pgdb_exec(d.c, "UPDATE databasechangeloglock SET locked = false, lockedby = NULL");
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 4);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT locked::text FROM databasechangeloglock"), "false");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

/* The fingerprint a DBInstance recheck reads before the whole history:
 * equal while nothing moved; a new row, an edited checksum and the
 * Liquibase lock row each change it; a missing table is "absent". */
TM_TEST(engine_history_fingerprint_moves_with_rows_checksums_and_the_lock)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    char f0[ENGINE_FINGERPRINT_MAX], f1[ENGINE_FINGERPRINT_MAX], f2[ENGINE_FINGERPRINT_MAX];
    TM_ASSERT(pgdb_open(&d, "fingerprint"));
    four(&cl);
    TM_EXPECT_INT(engine_history_fingerprint(d.c, NULL, false, f0, sizeof(f0), &err), TM_OK);
    TM_EXPECT_STR(f0, "absent");
    TM_EXPECT_INT(run(d.c, &cl, "v1", -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    engine_result_release(&res);
    TM_EXPECT_INT(engine_history_fingerprint(d.c, NULL, false, f1, sizeof(f1), &err), TM_OK);
    TM_EXPECT_CONTAINS(f1, "rows=2 order=2 ");
    TM_EXPECT_CONTAINS(f1, " lock=-");
    TM_EXPECT_INT(engine_history_fingerprint(d.c, NULL, false, f2, sizeof(f2), &err), TM_OK);
    TM_EXPECT_STR(f2, f1);
    /* an edited checksum: no new row, same newest order and date */
    pgdb_exec(d.c, "UPDATE databasechangelog SET md5sum = '9:0' WHERE id = 'c1'");
    TM_EXPECT_INT(engine_history_fingerprint(d.c, NULL, false, f2, sizeof(f2), &err), TM_OK);
    TM_EXPECT(strcmp(f2, f1) != 0);
    snprintf(f1, sizeof(f1), "%s", f2);
    /* a row another client adds */
    pgdb_exec(d.c, "INSERT INTO databasechangelog (id, author, filename, dateexecuted, "
                   "orderexecuted, exectype) VALUES ('x', 'other', 'x.sql', now(), 3, 'EXECUTED')");
    TM_EXPECT_INT(engine_history_fingerprint(d.c, NULL, false, f2, sizeof(f2), &err), TM_OK);
    TM_EXPECT_CONTAINS(f2, "rows=3 order=3 ");
    snprintf(f1, sizeof(f1), "%s", f2);
    /* Liquibase's lock table: its row is part of the fingerprint */
    pgdb_exec(d.c, "CREATE TABLE public.databasechangeloglock (ID INTEGER NOT NULL, LOCKED "
                   "BOOLEAN NOT NULL, LOCKGRANTED TIMESTAMP WITHOUT TIME ZONE, LOCKEDBY "
                   "VARCHAR(255), CONSTRAINT databasechangeloglock_pkey PRIMARY KEY (ID))");
    pgdb_exec(d.c, "INSERT INTO databasechangeloglock VALUES (1, false, NULL, NULL)");
    TM_EXPECT_INT(engine_history_fingerprint(d.c, NULL, false, f2, sizeof(f2), &err), TM_OK);
    TM_EXPECT_CONTAINS(f2, " lock=1:false::");
    snprintf(f1, sizeof(f1), "%s", f2);
    pgdb_exec(d.c, "UPDATE databasechangeloglock SET locked = true, lockedby = 'buildhost', "
                   "lockgranted = '2026-01-02 03:04:05'");
    TM_EXPECT_INT(engine_history_fingerprint(d.c, NULL, false, f2, sizeof(f2), &err), TM_OK);
    TM_EXPECT_CONTAINS(f2, " lock=1:true:buildhost:2026-01-02 03:04:05");
    TM_EXPECT(strcmp(f2, f1) != 0);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_runs_create_index_concurrently_outside_a_transaction)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "concurrently"));
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "create table a(id int, x int)", "drop table a");
    struct chlog_changeset *cs =
        fx_add(&cl, "c2",
               "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_x ON a (x);\n"
               "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_id ON a (id);",
               "DROP INDEX CONCURRENTLY IF EXISTS a_x; DROP INDEX CONCURRENTLY IF EXISTS a_id");
    cs->run_in_transaction = false;
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 2);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM "
                                "pg_indexes WHERE tablename = 'a'"),
                  "a_id,a_x");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT exectype FROM databasechangelog WHERE id = 'c2'"),
                  "EXECUTED");
    engine_result_release(&res);
    /* the crash story: the index exists, the row does not -> the rerun is harmless */
    pgdb_exec(d.c, "DELETE FROM databasechangelog WHERE id = 'c2'");
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 1);
    engine_result_release(&res);
    TM_EXPECT_INT(run(d.c, &cl, NULL, 1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(*) FROM pg_indexes WHERE tablename = 'a'"), "0");
    engine_result_release(&res);
    /* inside a transaction the same SQL fails, and nothing is recorded */
    cl.sets[1].run_in_transaction = true;
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_E_DB);
    TM_EXPECT_STR(err.sqlstate, "25001");
    TM_EXPECT_STR(count_rows(d.c), "1");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

static void precondition(struct chlog_changeset *cs, const char *sql, const char *expected,
                         enum chlog_on_fail on_fail)
{
    cs->precondition = calloc(1, sizeof(*cs->precondition));
    cs->precondition->sql = strdup(sql);
    cs->precondition->expected = strdup(expected);
    cs->precondition->on_fail = on_fail;
}

TM_TEST(engine_preconditions_halt_mark_ran_or_continue)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "precond"));
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "create table a(id int)", "drop table a");
    fx_add(&cl, "c2", "create table b(id int)", "drop table b");
    fx_add(&cl, "c3", "create table c(id int)", "drop table c");
    fx_add(&cl, "c4", "create table d(id int)", "drop table d");
    precondition(&cl.sets[1], "SELECT count(*) FROM a", "0", CHLOG_ONFAIL_HALT);   /* passes */
    precondition(&cl.sets[2], "SELECT count(*) FROM a", "5", CHLOG_ONFAIL_MARK_RAN);
    precondition(&cl.sets[3], "SELECT 'no'", "yes", CHLOG_ONFAIL_CONTINUE);
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 2);
    TM_EXPECT_INT(res.marked_ran, 1);
    TM_EXPECT_INT(res.skipped, 1);
    TM_EXPECT(has_table(d.c, "b") && !has_table(d.c, "c") && !has_table(d.c, "d"));
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(id || ':' || exectype, ',' ORDER BY "
                                "orderexecuted) FROM databasechangelog"),
                  "c1:EXECUTED,c2:EXECUTED,c3:MARK_RAN");
    engine_result_release(&res);
    /* HALT stops the run */
    cl.sets[3].precondition->on_fail = CHLOG_ONFAIL_HALT;
    TM_EXPECT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_E_POLICY);
    TM_EXPECT_CONTAINS(err.msg, "c4::alice: precondition failed");
    TM_EXPECT_STR(count_rows(d.c), "3");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_run_always_rewrites_its_row_as_reran)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "reran"));
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "create table a(n int); insert into a values (1)", "drop table a");
    fx_add(&cl, "c2", "insert into a values (2)", "delete from a where n = 2");
    cl.sets[1].run_always = true;
    fx_add(&cl, "c3", "create table c(id int)", "drop table c");
    TM_ASSERT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    engine_result_release(&res);
    TM_ASSERT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 1);
    TM_ASSERT_INT(res.nsteps, 1);
    TM_EXPECT_INT(res.steps[0].outcome, ENGINE_OUT_RERAN);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(*) FROM a WHERE n = 2"), "2");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(id || ':' || exectype || ':' || "
                                "orderexecuted, ',' ORDER BY orderexecuted) FROM "
                                "databasechangelog"),
                  "c1:EXECUTED:1,c3:EXECUTED:3,c2:RERAN:4");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_stamps_the_prestart_tag_and_rolls_back_to_it)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    char *tag = NULL;
    TM_ASSERT(pgdb_open(&d, "prestart"));
    four(&cl);
    /* empty history (no table even): the empty database */
    TM_EXPECT_INT(engine_stamp_prestart_tag(d.c, NULL, "pre-1", &tag, &err), TM_OK);
    TM_EXPECT_STR(tag, "");
    free(tag);
    TM_ASSERT_INT(run(d.c, &cl, "v1", -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    engine_result_release(&res);
    /* newest row carries v1: returned as is */
    TM_EXPECT_INT(engine_stamp_prestart_tag(d.c, NULL, "pre-2", &tag, &err), TM_OK);
    TM_EXPECT_STR(tag, "v1");
    free(tag);
    TM_ASSERT_INT(run(d.c, &cl, NULL, 1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    engine_result_release(&res);
    /* newest row (c1) has no tag: it gets the proposed one */
    TM_EXPECT_INT(engine_stamp_prestart_tag(d.c, NULL, "pre-3", &tag, &err), TM_OK);
    TM_EXPECT_STR(tag, "pre-3");
    free(tag);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT tag FROM databasechangelog WHERE id = 'c1'"), "pre-3");
    TM_ASSERT_INT(run(d.c, &cl, NULL, -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 3);
    engine_result_release(&res);
    TM_EXPECT_INT(run(d.c, &cl, "pre-3", -1, ENGINE_STRATEGY_ROLLBACK, &res, &err), TM_OK);
    TM_EXPECT_INT(res.rolled_back, 3);
    TM_EXPECT_STR(res.applied_tag, "pre-3");
    TM_EXPECT_STR(count_rows(d.c), "1");
    engine_result_release(&res);
    /* engine_tag: Liquibase `tag` */
    TM_EXPECT_INT(engine_tag(d.c, NULL, "manual", &err), TM_OK);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT tag FROM databasechangelog"), "manual");
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(engine_history_in_a_custom_schema_and_table)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "custom_table"));
    four(&cl);
    pgdb_exec(d.c, "CREATE SCHEMA \"Ops\"");
    struct engine_opts o;
    engine_opts_init(&o);
    o.table = "Ops.Schema History";
    engine_result_init(&res);
    TM_EXPECT_INT(engine_run(d.c, &cl, &o, &res, &err), TM_OK);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(*) FROM \"Ops\".\"Schema History\""), "4");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('public.databasechangelog') IS NULL"), "t");
    engine_result_release(&res);
    o.table = "a.b.c";
    engine_result_init(&res);
    TM_EXPECT_INT(engine_run(d.c, &cl, &o, &res, &err), TM_E_INVAL);
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST(pgx_connect_errors_are_classified_without_the_password)
{
    const char *url = tm_test_env("TIDEMARK_PG_URL");
    TM_ASSERT(url != NULL);
    struct tm_err err;
    struct pgx_params p = {0};
    p.url = url;
    p.connect_timeout_s = PGDB_CONNECT_TIMEOUT_S;
    p.password = "Sup3rS3cret-pw";
    TM_EXPECT(pgx_conn_new(&p, &err) == NULL);
    TM_EXPECT_INT(err.code, TM_E_AUTH);
    TM_EXPECT_INT(err.retry, TM_RETRY_TERMINAL);
    TM_EXPECT_STR(err.sqlstate, "28P01");
    TM_EXPECT_NOT_CONTAINS(err.msg, "Sup3rS3cret-pw");
    memset(&p, 0, sizeof(p));
    p.url = url;
    p.connect_timeout_s = PGDB_CONNECT_TIMEOUT_S;
    p.dbname = "tm_no_such_database";
    TM_EXPECT(pgx_conn_new(&p, &err) == NULL);
    TM_EXPECT_INT(err.code, TM_E_DB);
    TM_EXPECT_STR(err.sqlstate, "3D000");
    TM_EXPECT_INT(err.retry, TM_RETRY_TERMINAL);
    memset(&p, 0, sizeof(p));
    p.host = "127.0.0.1";
    p.port = "1"; /* nothing listens there */
    p.connect_timeout_s = 2;
    TM_EXPECT(pgx_conn_new(&p, &err) == NULL);
    TM_EXPECT_INT(err.retry, TM_RETRY_TRANSIENT);
    TM_EXPECT_STR(err.sqlstate, "08001");
}

TM_TEST(pgx_statement_and_lock_timeouts_map_to_retry_classes)
{
    struct pgdb d;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "timeouts"));
    struct pgx_params p = {0};
    p.url = getenv("TIDEMARK_PG_URL");
    p.dbname = d.name;
    p.connect_timeout_s = PGDB_CONNECT_TIMEOUT_S;
    p.statement_timeout_ms = 100;
    struct pgx_conn *c = pgx_conn_new(&p, &err);
    TM_ASSERT(c != NULL);
    TM_EXPECT_INT(pgx_exec(c, "SELECT pg_sleep(5)", &err), TM_E_TIMEOUT);
    TM_EXPECT_STR(err.sqlstate, "57014");
    TM_EXPECT_INT(err.retry, TM_RETRY_TRANSIENT);
    pgx_conn_free(c);
    p.statement_timeout_ms = 0;
    p.lock_timeout_ms = 100;
    c = pgx_conn_new(&p, &err);
    TM_ASSERT(c != NULL);
    pgdb_exec(d.c, "CREATE TABLE t(id int)");
    pgdb_exec(d.c, "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
    TM_EXPECT_INT(pgx_exec(c, "SELECT * FROM t", &err), TM_E_LOCKED);
    TM_EXPECT_STR(err.sqlstate, "55P03");
    TM_EXPECT_INT(err.retry, TM_RETRY_WAITING);
    pgdb_exec(d.c, "ROLLBACK");
    /* the server ends our session: connection lost is transient */
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                               "datname = '%s' AND pid <> pg_backend_pid() AND "
                               "application_name = 'tidemark'",
             d.name);
    pgdb_exec(d.c, sql);
    TM_EXPECT(pgx_exec(c, "SELECT 1", &err) != TM_OK);
    TM_EXPECT_INT(err.retry, TM_RETRY_TRANSIENT);
    pgx_conn_free(c);
    pgdb_close(&d);
}

TM_TEST_MAIN()
