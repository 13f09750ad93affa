/* Integration tests of the engine's one-message changeset (apply.c
 * run_one_message): in a transaction, "[BEGIN;] SQL; history row; COMMIT"
 * go to PostgreSQL as one simple query.  What must hold, against a real
 * PostgreSQL (TIDEMARK_PG_URL):
 *   - the SQL and its row still commit together or not at all, whichever
 *     part fails (a statement, the row, the COMMIT);
 *   - a failure is named for the part that failed;
 *   - text that does not end at the top level (open quote, dollar quote)
 *     is not joined with what follows: the server reports it as written;
 *   - texts ending in a line comment, and several changes, are joined safely.
 * Each test works in its own fresh database (tests/engine_pgdb.h). */
#include "engine_fixture.h"
#include "engine_pgdb.h"
#include "tm_test.h"

static enum tm_code run_all(struct pgx_conn *c, const struct chlog *cl,
                            struct engine_result *res, struct tm_err *err)
{
    struct engine_opts o;
    engine_opts_init(&o);
    engine_result_init(res);
    tm_err_clear(err);
    return engine_run(c, cl, &o, res, err);
}

static bool has_table(struct pgx_conn *c, const char *t)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT to_regclass('public.%s') IS NOT NULL", t);
    return strcmp(pgdb_val(c, sql), "t") == 0;
}

static const char *rows(struct pgx_conn *c)
{
    return pgdb_val(c, "SELECT coalesce(string_agg(left(id, 8) || ':' || orderexecuted, ',' "
                       "ORDER BY orderexecuted), '-') FROM public.databasechangelog");
}

/* A trailing line comment without a newline, a second change, a function
 * body holding ';' and a string holding ';': all joined, all applied. */
TM_TEST(one_message_joins_changes_ending_in_comments_and_quotes)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "one_msg_join"));
    memset(&cl, 0, sizeof(cl));
    struct chlog_changeset *cs = fx_add(&cl, "c1", "create table a(id int) -- no newline", NULL);
    TM_ASSERT(chlog_set_add_sql(cs, "create table b(v text default 'x;y')") != NULL);
    TM_ASSERT(chlog_set_add_sql(cs, "create function f() returns int language plpgsql as $f$ "
                                    "begin return 1; end $f$") != NULL);
    TM_ASSERT_INT(chlog_checksum_v9(cs, cs->checksum), TM_OK);
    fx_add(&cl, "c2", "insert into b values (default); /* done */", NULL);
    TM_EXPECT_INT(run_all(d.c, &cl, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 2);
    TM_EXPECT(has_table(d.c, "a") && has_table(d.c, "b"));
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT v || f() FROM b"), "x;y1");
    TM_EXPECT_STR(rows(d.c), "c1:1,c2:2");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

/* A statement fails half-way: nothing of the changeset stays, no row, and
 * the error is the statement's, not the history row's. */
TM_TEST(one_message_failed_statement_leaves_nothing)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "one_msg_stmt"));
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "create table a(id int)", NULL);
    fx_add(&cl, "c2", "create table b(id int); select 1/0; create table c(id int)", NULL);
    TM_EXPECT_INT(run_all(d.c, &cl, &res, &err), TM_E_DB);
    TM_EXPECT_CONTAINS(err.msg, "division by zero");
    TM_EXPECT_NOT_CONTAINS(err.msg, "history row");
    TM_EXPECT_STR(err.sqlstate, "22012");
    TM_EXPECT(has_table(d.c, "a") && !has_table(d.c, "b") && !has_table(d.c, "c"));
    TM_EXPECT_STR(rows(d.c), "c1:1");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

/* The history row fails (an id longer than the ID column): the changeset's
 * SQL is rolled back with it, and the error says it was the row. */
TM_TEST(one_message_failed_history_row_rolls_back_the_sql)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    char id[300];
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    TM_ASSERT(pgdb_open(&d, "one_msg_row"));
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, id, "create table a(id int)", NULL);
    TM_EXPECT_INT(run_all(d.c, &cl, &res, &err), TM_E_DB);
    TM_EXPECT_CONTAINS(err.msg, "history row: exec: value too long");
    TM_EXPECT_STR(err.sqlstate, "22001");
    TM_EXPECT(!has_table(d.c, "a"));
    TM_EXPECT_STR(rows(d.c), "-");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

/* A deferred constraint fails at COMMIT: nothing stays, named "commit". */
TM_TEST(one_message_failed_commit_leaves_nothing)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "one_msg_commit"));
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1",
           "create table p(id int primary key);\n"
           "create table c(pid int references p(id) deferrable initially deferred);\n"
           "insert into c values (1)",
           NULL);
    TM_EXPECT_INT(run_all(d.c, &cl, &res, &err), TM_E_DB);
    TM_EXPECT_CONTAINS(err.msg, "commit: exec:");
    TM_EXPECT_STR(err.sqlstate, "23503");
    TM_EXPECT(!has_table(d.c, "p") && !has_table(d.c, "c"));
    TM_EXPECT_STR(rows(d.c), "-");
    /* the connection is usable afterwards (no transaction left open) */
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT 1"), "1");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

/* Text ending inside a quote or a dollar quote is not joined with the row
 * and COMMIT (they would be swallowed into it): it runs as written and the
 * server refuses it; nothing is applied. */
TM_TEST(one_message_unterminated_text_is_not_joined)
{
    static const char *const bad[] = {"create table a(v text default 'x", "select $q$ x",
                                      "create table a(id int", "select 1 /* open"};
    static const char *const want[] = {"unterminated quoted string",
                                       "unterminated dollar-quoted string", "syntax error",
                                       "unterminated /* comment"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pgdb d;
        struct chlog cl;
        struct engine_result res;
        struct tm_err err;
        TM_ASSERT(pgdb_open(&d, "one_msg_open"));
        memset(&cl, 0, sizeof(cl));
        fx_add(&cl, "c1", bad[i], NULL);
        TM_EXPECT_INT(run_all(d.c, &cl, &res, &err), TM_E_DB);
        TM_EXPECT_CONTAINS(err.msg, want[i]);
        TM_EXPECT_NOT_CONTAINS(err.msg, "history row");
        TM_EXPECT(!has_table(d.c, "a"));
        TM_EXPECT_STR(rows(d.c), "-");
        engine_result_release(&res);
        fx_free(&cl);
        pgdb_close(&d);
    }
}

/* Values with quotes and backslashes reach the row unchanged (literals via
 * PQescapeLiteral), with standard_conforming_strings either way. */
TM_TEST(one_message_row_values_keep_quotes_and_backslashes)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "one_msg_quote"));
    memset(&cl, 0, sizeof(cl));
    struct chlog_changeset *cs = fx_add(&cl, "it's \\n", "create table a(id int)", NULL);
    cs->comment = strdup("say 'hi' \\ $$ ;");
    fx_add(&cl, "c2", "set standard_conforming_strings = off", NULL);
    cs = fx_add(&cl, "c3 \\' x", "create table b(id int)", NULL);
    cs->comment = strdup("o'k \\");
    TM_EXPECT_INT(run_all(d.c, &cl, &res, &err), TM_OK);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(id || '|' || comments, ',' ORDER BY "
                                "orderexecuted) FROM databasechangelog"),
                  "it's \\n|say 'hi' \\ $$ ;,c2|,c3 \\' x|o'k \\");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

/* A rollback step is one message too: a failing rollback leaves the schema
 * and the history row as they were; a good one removes both together. */
TM_TEST(one_message_rollback_is_all_or_nothing)
{
    struct pgdb d;
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    struct engine_opts o;
    TM_ASSERT(pgdb_open(&d, "one_msg_rollback"));
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "create table a(id int)", "drop table a");
    fx_add(&cl, "c2", "create table b(id int)", "drop table b; select 1/0");
    TM_ASSERT_INT(run_all(d.c, &cl, &res, &err), TM_OK);
    engine_result_release(&res);
    engine_opts_init(&o);
    o.count = 1;
    o.rollback_only = true;
    engine_result_init(&res);
    TM_EXPECT_INT(engine_run(d.c, &cl, &o, &res, &err), TM_E_DB);
    TM_EXPECT_CONTAINS(err.msg, "division by zero");
    TM_EXPECT(has_table(d.c, "a") && has_table(d.c, "b"));
    TM_EXPECT_STR(rows(d.c), "c1:1,c2:2");
    engine_result_release(&res);
    /* c2's rollback fixed: both roll back, rows and tables go together */
    free(cl.sets[1].rollback_sql);
    cl.sets[1].rollback_sql = strdup("drop table b -- gone");
    o.count = 2;
    engine_result_init(&res);
    tm_err_clear(&err);
    TM_EXPECT_INT(engine_run(d.c, &cl, &o, &res, &err), TM_OK);
    TM_EXPECT_INT(res.rolled_back, 2);
    TM_EXPECT(!has_table(d.c, "a") && !has_table(d.c, "b"));
    TM_EXPECT_STR(rows(d.c), "-");
    engine_result_release(&res);
    fx_free(&cl);
    pgdb_close(&d);
}

TM_TEST_MAIN()
