/* Unit tests of the policy linter and the statement splitter (engine/lint.c). */
#include "engine_fixture.h"
#include "tm_test.h"

/* Lints sql and returns the number of hits; *kind gets the first one. */
static size_t hits_of(const char *sql, enum lint_kind *kind, int *line)
{
    struct lint_hit *h = NULL;
    size_t n = 0;
    struct tm_err err;
    if (lint_sql(sql, &h, &n, &err) != TM_OK)
        return 999;
    if (n > 0) {
        if (kind)
            *kind = h[0].kind;
        if (line)
            *line = h[0].line;
    }
    free(h);
    return n;
}

static void expect_kind(const char *sql, enum lint_kind want)
{
    enum lint_kind k = (enum lint_kind)-1;
    size_t n = hits_of(sql, &k, NULL);
    if (n != 1 || k != want) {
        fprintf(stderr, "sql: %s\n  expected one %s, got %zu hit(s), first %s\n", sql,
                lint_kind_name(want), n, n ? lint_kind_name(k) : "-");
        tm_failed_++;
    }
}

TM_TEST(lint_flags_each_destructive_kind)
{
    expect_kind("DROP TABLE orders", LINT_DROP_TABLE);
    expect_kind("drop table if exists public.orders cascade;", LINT_DROP_TABLE);
    expect_kind("ALTER TABLE orders DROP COLUMN note", LINT_DROP_COLUMN);
    expect_kind("alter table only \"Sales\".\"Orders\" drop note", LINT_DROP_COLUMN);
    expect_kind("ALTER TABLE IF EXISTS orders ADD COLUMN x int, DROP COLUMN y", LINT_DROP_COLUMN);
    expect_kind("DROP SCHEMA billing CASCADE", LINT_DROP_SCHEMA);
    expect_kind("DROP DATABASE prod", LINT_DROP_DATABASE);
    expect_kind("TRUNCATE orders", LINT_TRUNCATE);
    expect_kind("ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,2)", LINT_ALTER_COLUMN_TYPE);
    expect_kind("alter table orders alter total set data type bigint", LINT_ALTER_COLUMN_TYPE);
    expect_kind("DELETE FROM orders", LINT_DELETE_WITHOUT_WHERE);
    expect_kind("UPDATE orders SET total = 0", LINT_UPDATE_WITHOUT_WHERE);
    expect_kind("UPDATE orders SET total = (SELECT max(x) FROM y WHERE y.id = 1)",
                LINT_UPDATE_WITHOUT_WHERE);
    expect_kind("ALTER TABLE orders DROP CONSTRAINT orders_pk", LINT_DROP_CONSTRAINT);
}

TM_TEST(lint_leaves_safe_statements_alone)
{
    TM_EXPECT_INT(hits_of("CREATE TABLE orders (id int primary key)", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("DELETE FROM orders WHERE id = 1", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("update orders set total = 0 where id in (select id from x)", NULL,
                          NULL),
                  0);
    TM_EXPECT_INT(hits_of("DROP INDEX orders_idx", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("ALTER TABLE orders ADD COLUMN note text", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("ALTER TABLE orders ALTER COLUMN note DROP NOT NULL", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'x'", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("", NULL, NULL), 0);
}

TM_TEST(lint_ignores_keywords_in_comments_strings_and_quotes)
{
    TM_EXPECT_INT(hits_of("-- DROP TABLE orders\nSELECT 1", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("/* DROP TABLE orders; /* nested */ TRUNCATE x; */ SELECT 1", NULL,
                          NULL),
                  0);
    TM_EXPECT_INT(hits_of("INSERT INTO log VALUES ('DROP TABLE orders; TRUNCATE x')", NULL,
                          NULL),
                  0);
    TM_EXPECT_INT(hits_of("INSERT INTO log VALUES ('it''s; DROP TABLE x')", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("INSERT INTO log VALUES (E'a\\'; DROP TABLE x')", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("CREATE TABLE \"drop table x; truncate\" (id int)", NULL, NULL), 0);
    TM_EXPECT_INT(hits_of("CREATE FUNCTION f() RETURNS void AS $$ BEGIN DELETE FROM t; END $$ "
                          "LANGUAGE plpgsql",
                          NULL, NULL),
                  0);
    TM_EXPECT_INT(hits_of("CREATE FUNCTION f() RETURNS void AS $body$ TRUNCATE t; $x$ $body$ "
                          "LANGUAGE sql",
                          NULL, NULL),
                  0);
    /* and the statement after a skipped part is still seen */
    enum lint_kind k;
    int line = 0;
    TM_EXPECT_INT(hits_of("SELECT 'x;'; -- c\n/* c */\nDROP TABLE orders;", &k, &line), 1);
    TM_EXPECT_INT(k, LINT_DROP_TABLE);
    TM_EXPECT_INT(line, 3);
}

TM_TEST(lint_counts_several_statements_with_lines)
{
    struct lint_hit *h = NULL;
    size_t n = 0;
    struct tm_err err;
    TM_ASSERT_INT(lint_sql("create table a(id int);\nDROP TABLE b;\n\nTRUNCATE c;\n", &h, &n,
                           &err),
                  TM_OK);
    TM_ASSERT_INT(n, 2);
    TM_EXPECT_INT(h[0].kind, LINT_DROP_TABLE);
    TM_EXPECT_INT(h[0].line, 2);
    TM_EXPECT_INT(h[1].kind, LINT_TRUNCATE);
    TM_EXPECT_INT(h[1].line, 4);
    free(h);
}

TM_TEST(lint_changeset_applies_the_policy)
{
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "select 1;\nDROP TABLE old_orders;", NULL);
    fx_add(&cl, "c2", "ALTER TABLE t DROP CONSTRAINT t_fk", "select 1");
    const struct chlog_changeset *cs = &cl.sets[0]; /* after the adds: they realloc */
    struct lint_report r;
    struct tm_err err;
    struct lint_opts deny = {.destructive = LINT_DENY, .require_rollback = false};
    lint_report_init(&r);
    TM_EXPECT_INT(lint_changeset(cs, &deny, &r, &err), TM_OK);
    TM_ASSERT_INT(r.n, 1);
    TM_EXPECT(r.items[0].denied);
    TM_EXPECT_INT(r.items[0].kind, LINT_DROP_TABLE);
    TM_EXPECT_STR(r.items[0].changeset, "db/changelog.sql::c1::alice");
    TM_EXPECT_STR(r.items[0].file, "db/changelog.sql");
    TM_EXPECT_INT(r.items[0].line, cs->line + 2);
    TM_EXPECT_INT(lint_changeset(&cl.sets[1], &deny, &r, &err), TM_OK);
    TM_ASSERT_INT(r.n, 2);
    TM_EXPECT(!r.items[1].denied); /* DROP CONSTRAINT: a warning even under Deny */
    TM_EXPECT_INT(r.ndenied, 1);
    lint_report_release(&r);

    struct lint_opts warn = {.destructive = LINT_WARN};
    TM_EXPECT_INT(lint_changeset(cs, &warn, &r, &err), TM_OK);
    TM_EXPECT_INT(r.n, 1);
    TM_EXPECT_INT(r.ndenied, 0);
    lint_report_release(&r);

    struct lint_opts allow = {.destructive = LINT_ALLOW, .require_rollback = true};
    TM_EXPECT_INT(lint_changeset(cs, &allow, &r, &err), TM_OK);
    TM_ASSERT_INT(r.n, 1);
    TM_EXPECT_INT(r.items[0].kind, LINT_NO_ROLLBACK);
    TM_EXPECT(r.items[0].denied);
    lint_report_release(&r);
    fx_free(&cl);
}

TM_TEST(lint_plan_denies_forward_steps_but_not_rollback_sql)
{
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    fx_add(&cl, "c1", "CREATE TABLE a(id int)", "DROP TABLE a");
    fx_add(&cl, "c2", "TRUNCATE a", "select 1");
    struct engine_history h;
    engine_history_init(&h);
    struct plan p;
    struct lint_report r;
    struct tm_err err;
    struct lint_opts deny = {.destructive = LINT_DENY};
    /* forward to latest: c2's TRUNCATE is denied */
    TM_ASSERT_INT(plan_to_tag(&cl, &h, NULL, -1, &p, &err), TM_OK);
    lint_report_init(&r);
    TM_EXPECT_INT(lint_plan(&cl, &p, &deny, &r, &err), TM_E_POLICY);
    TM_EXPECT_CONTAINS(err.msg, "TRUNCATE in changeset db/changelog.sql::c2::alice");
    lint_report_release(&r);
    plan_release(&p);
    /* rolling back c1 runs DROP TABLE: not linted */
    fx_applied(&h, &cl, 1);
    TM_ASSERT_INT(plan_to_tag(&cl, &h, "", -1, &p, &err), TM_OK);
    TM_EXPECT_INT(lint_plan(&cl, &p, &deny, &r, &err), TM_OK);
    TM_EXPECT_INT(r.n, 0);
    lint_report_release(&r);
    plan_release(&p);
    engine_history_release(&h);
    fx_free(&cl);
}

TM_TEST_MAIN()
