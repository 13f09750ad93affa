/* Integration tests: Liquibase preconditions compiled by precond.c and run by
 * the engine (apply.c) against a real PostgreSQL (TIDEMARK_PG_URL).  Each
 * precondition kind true and false on real tables, indexes, keys, views and
 * sequences; not/or/and nesting with Liquibase's short-circuits; onFail and
 * onError actions (HALT, CONTINUE, MARK_RAN, WARN) at changeset and
 * changelog level.  Expected outcomes follow the Liquibase 4.33.0 sources
 * named in precond.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/node.h"
#include "chlog_fixture.h"
#include "chlog_ld_fixture.h"
#include "engine/engine.h"
#include "engine_fixture.h"
#include "engine_pgdb.h"
#include "tm_test.h"

/* Compiles "<preConditions ...>...</preConditions>" (XML); NULL on error
 * (printed). */
static struct chlog_precondition *compile(const char *xml)
{
    struct ld_fix f;
    struct tm_err err = {0};
    struct chlog_node *root = NULL;
    struct chlog_precondition *pc = NULL;
    char doc[8192];
    snprintf(doc, sizeof(doc), "<databaseChangeLog>\n%s\n</databaseChangeLog>", xml);
    if (ld_fix_init(&f) == TM_OK && ld_fix_add(&f, "pre.xml", doc, &err) == TM_OK &&
        chlog_xml_read(&f.ld, "pre.xml", &root, &err) == TM_OK &&
        chlog_precond_compile(&f.ld, chlog_node_child(root, "preConditions"), &pc, &err) != TM_OK)
        pc = NULL;
    if (!pc)
        fprintf(stderr, "compile: %s\n", err.msg);
    chlog_node_free(root);
    ld_fix_release(&f);
    return pc;
}

static void release(struct chlog *cl)
{
    for (size_t i = 0; i < cl->nsets; i++) {
        chlog_precond_free(cl->sets[i].precondition);
        cl->sets[i].precondition = NULL;
    }
    chlog_precond_free(cl->precondition);
    cl->precondition = NULL;
    fx_free(cl);
}

static enum tm_code run(struct pgx_conn *c, const struct chlog *cl, struct engine_result *res,
                        struct tm_err *err)
{
    struct engine_opts o;
    engine_opts_init(&o);
    o.allow_drift = true; /* each test adds changesets run by earlier changelogs */
    engine_result_init(res);
    tm_err_clear(err);
    return engine_run(c, cl, &o, res, err);
}

static const char *history(struct pgx_conn *c)
{
    return pgdb_val(c, "SELECT coalesce(string_agg(id || ':' || exectype, ',' ORDER BY "
                       "orderexecuted), '') FROM databasechangelog");
}

static int seq; /* outcome()'s changesets: p1, p2, ... in each database */

/* A database with a little of everything the checks look at. */
static bool open_db(struct pgdb *d, const char *name)
{
    if (!pgdb_open(d, name))
        return false;
    seq = 0;
    struct tm_err err;
    const char *setup =
        "CREATE SCHEMA app;"
        "CREATE TABLE orders (id bigint PRIMARY KEY, note text);"
        "INSERT INTO orders VALUES (1, 'a'), (2, 'b');"
        "CREATE TABLE \"MixedCase\" (id int);"
        "CREATE TABLE items (id int, order_id bigint CONSTRAINT fk_items_order REFERENCES "
        "orders (id));"
        "CREATE INDEX idx_items_order ON items (order_id);"
        "CREATE INDEX idx_items_multi ON items (order_id, id);"
        "CREATE SEQUENCE seq_orders;"
        "CREATE VIEW v_orders AS SELECT * FROM orders;"
        "CREATE TABLE app.things (id int CONSTRAINT things_pk PRIMARY KEY);"
        "ALTER TABLE orders ADD CONSTRAINT uq_orders_note UNIQUE (note);"
        "CREATE TABLE pairs (a int, b int, CONSTRAINT uq_pairs UNIQUE (a, b));"
        "CREATE UNIQUE INDEX ux_items_id ON items (id);";
    if (pgx_exec(d->c, setup, &err) != TM_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return false;
    }
    return true;
}

/* Runs one new changeset ("SELECT 1") guarded by
 * <preConditions onFail="CONTINUE" onError="MARK_RAN">body</preConditions>:
 * 'P' passed (executed), 'F' failed (skipped), 'E' error (marked ran), or
 * '?' when anything else happened. */
static char outcome(struct pgdb *d, const char *body)
{
    char id[32], xml[4096];
    snprintf(id, sizeof(id), "p%d", ++seq);
    snprintf(xml, sizeof(xml),
             "<preConditions onFail=\"CONTINUE\" onError=\"MARK_RAN\">%s</preConditions>", body);
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    struct chlog_changeset *cs = fx_add(&cl, id, "SELECT 1", NULL);
    cs->precondition = compile(xml);
    if (!cs->precondition) {
        release(&cl);
        return '?';
    }
    struct engine_result res;
    struct tm_err err;
    char r = '?';
    if (run(d->c, &cl, &res, &err) == TM_OK && res.nsteps == 1) {
        if (res.applied == 1)
            r = 'P';
        else if (res.skipped == 1)
            r = 'F';
        else if (res.marked_ran == 1)
            r = 'E';
    } else {
        fprintf(stderr, "run: %s\n", err.msg);
    }
    engine_result_release(&res);
    release(&cl);
    return r;
}

#define EXPECT_OUTCOME(d, body, want)                                                    \
    do {                                                                                 \
        char got_ = outcome((d), (body));                                                \
        if (got_ != (want)) {                                                            \
            char g_[2] = {got_, 0}, w_[2] = {(want), 0};                                 \
            fprintf(stderr, "%s\n", (body));                                             \
            TM_EXPECT_STR(g_, w_);                                                       \
        }                                                                                \
    } while (0)

TM_TEST(precond_pg_tables_views_and_columns)
{
    struct pgdb d;
    TM_ASSERT(open_db(&d, "pre_tables"));
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"orders\"/>", 'P');
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"ORDERS\"/>", 'P'); /* folded */
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"nope\"/>", 'F');
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"MixedCase\"/>", 'P');
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"mixedcase\"/>", 'F');
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"things\" schemaName=\"app\"/>", 'P');
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"things\"/>", 'F'); /* not in public */
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"v_orders\"/>", 'F'); /* a view */
    EXPECT_OUTCOME(&d, "<viewExists viewName=\"v_orders\"/>", 'P');
    EXPECT_OUTCOME(&d, "<viewExists viewName=\"orders\"/>", 'F');
    EXPECT_OUTCOME(&d, "<columnExists tableName=\"orders\" columnName=\"note\"/>", 'P');
    EXPECT_OUTCOME(&d, "<columnExists tableName=\"Orders\" columnName=\"NOTE\"/>", 'P');
    EXPECT_OUTCOME(&d, "<columnExists tableName=\"orders\" columnName=\"missing\"/>", 'F');
    EXPECT_OUTCOME(&d, "<columnExists tableName=\"nope\" columnName=\"id\"/>", 'F');
    EXPECT_OUTCOME(&d, "<columnExists tableName=\"things\" schemaName=\"app\" columnName=\"id\"/>",
                   'P');
    pgdb_close(&d);
}

TM_TEST(precond_pg_indexes_keys_and_sequences)
{
    struct pgdb d;
    TM_ASSERT(open_db(&d, "pre_keys"));
    EXPECT_OUTCOME(&d, "<indexExists indexName=\"idx_items_order\"/>", 'P');
    EXPECT_OUTCOME(&d, "<indexExists indexName=\"IDX_ITEMS_ORDER\"/>", 'P');
    EXPECT_OUTCOME(&d, "<indexExists indexName=\"nope\"/>", 'F');
    EXPECT_OUTCOME(&d, "<indexExists indexName=\"idx_items_order\" tableName=\"items\"/>", 'P');
    EXPECT_OUTCOME(&d, "<indexExists indexName=\"idx_items_order\" tableName=\"orders\"/>", 'F');
    EXPECT_OUTCOME(&d, "<indexExists tableName=\"items\" columnNames=\"order_id\"/>", 'P');
    EXPECT_OUTCOME(&d, "<indexExists tableName=\"items\" columnNames=\"ORDER_ID , id\"/>", 'P');
    EXPECT_OUTCOME(&d, "<indexExists tableName=\"items\" columnNames=\"id, order_id\"/>", 'F');
    EXPECT_OUTCOME(&d, "<indexExists tableName=\"items\" columnNames=\"id\"/>", 'P'); /* ux_items_id */
    EXPECT_OUTCOME(&d, "<indexExists tableName=\"items\" columnNames=\"id, id\"/>", 'F');
    EXPECT_OUTCOME(&d, "<indexExists tableName=\"orders\" columnNames=\"id\"/>", 'P'); /* pkey */
    EXPECT_OUTCOME(&d, "<foreignKeyConstraintExists foreignKeyName=\"fk_items_order\"/>", 'P');
    EXPECT_OUTCOME(&d, "<foreignKeyConstraintExists foreignKeyName=\"FK_ITEMS_ORDER\" "
                       "foreignKeyTableName=\"Items\"/>",
                   'P');
    EXPECT_OUTCOME(&d, "<foreignKeyConstraintExists foreignKeyName=\"fk_items_order\" "
                       "foreignKeyTableName=\"orders\"/>",
                   'F');
    EXPECT_OUTCOME(&d, "<foreignKeyConstraintExists foreignKeyName=\"nope\"/>", 'F');
    EXPECT_OUTCOME(&d, "<primaryKeyExists tableName=\"orders\"/>", 'P');
    EXPECT_OUTCOME(&d, "<primaryKeyExists tableName=\"items\"/>", 'F');
    EXPECT_OUTCOME(&d, "<primaryKeyExists primaryKeyName=\"ORDERS_PKEY\"/>", 'P');
    EXPECT_OUTCOME(&d, "<primaryKeyExists primaryKeyName=\"nope\"/>", 'F');
    EXPECT_OUTCOME(&d, "<primaryKeyExists tableName=\"orders\" primaryKeyName=\"wrong\"/>", 'F');
    EXPECT_OUTCOME(&d, "<primaryKeyExists tableName=\"things\" schemaName=\"app\" "
                       "primaryKeyName=\"things_pk\"/>",
                   'P');
    EXPECT_OUTCOME(&d, "<uniqueConstraintExists tableName=\"orders\" columnNames=\"note\"/>", 'P');
    EXPECT_OUTCOME(&d, "<uniqueConstraintExists tableName=\"ORDERS\" "
                       "constraintName=\"UQ_ORDERS_NOTE\"/>",
                   'P');
    EXPECT_OUTCOME(&d, "<uniqueConstraintExists tableName=\"orders\" columnNames=\"id\"/>", 'F');
    EXPECT_OUTCOME(&d, "<uniqueConstraintExists tableName=\"pairs\" columnNames=\"a, b\"/>", 'P');
    EXPECT_OUTCOME(&d, "<uniqueConstraintExists tableName=\"pairs\" columnNames=\"b,a\"/>", 'F');
    EXPECT_OUTCOME(&d, "<uniqueConstraintExists tableName=\"pairs\" constraintName=\"other\" "
                       "columnNames=\"a,b\"/>",
                   'P'); /* UniqueConstraintComparator: the columns decide */
    EXPECT_OUTCOME(&d, "<uniqueConstraintExists tableName=\"pairs\" constraintName=\"other\"/>",
                   'F');
    /* a unique index is not a unique constraint */
    EXPECT_OUTCOME(&d, "<uniqueConstraintExists tableName=\"items\" columnNames=\"id\"/>", 'F');
    EXPECT_OUTCOME(&d, "<sequenceExists sequenceName=\"seq_orders\"/>", 'P');
    EXPECT_OUTCOME(&d, "<sequenceExists sequenceName=\"SEQ_Orders\"/>", 'P'); /* ILIKE */
    EXPECT_OUTCOME(&d, "<sequenceExists sequenceName=\"seq_orders\" schemaName=\"app\"/>", 'F');
    EXPECT_OUTCOME(&d, "<sequenceExists sequenceName=\"nope\"/>", 'F');
    pgdb_close(&d);
}

TM_TEST(precond_pg_sql_rows_dbms_user_and_executed)
{
    struct pgdb d;
    TM_ASSERT(open_db(&d, "pre_sql"));
    EXPECT_OUTCOME(&d, "<sqlCheck expectedResult=\"2\">SELECT count(*) FROM orders;</sqlCheck>",
                   'P');
    EXPECT_OUTCOME(&d, "<sqlCheck expectedResult=\"3\">SELECT count(*) FROM orders</sqlCheck>",
                   'F');
    EXPECT_OUTCOME(&d, "<sqlCheck expectedResult=\"null\">SELECT NULL</sqlCheck>", 'F');
    EXPECT_OUTCOME(&d, "<sqlCheck expectedResult=\"0\">SELECT 1 WHERE false</sqlCheck>", 'F');
    EXPECT_OUTCOME(&d, "<sqlCheck expectedResult=\"0\">SELECT count(*) FROM nope</sqlCheck>",
                   'E');
    EXPECT_OUTCOME(&d, "<rowCount tableName=\"orders\" expectedRows=\"2\"/>", 'P');
    EXPECT_OUTCOME(&d, "<rowCount tableName=\"ORDERS\" expectedRows=\"3\"/>", 'F');
    EXPECT_OUTCOME(&d, "<rowCount tableName=\"nope\" expectedRows=\"0\"/>", 'E');
    EXPECT_OUTCOME(&d, "<tableIsEmpty tableName=\"items\"/>", 'P');
    EXPECT_OUTCOME(&d, "<tableIsEmpty tableName=\"orders\"/>", 'F');
    EXPECT_OUTCOME(&d, "<dbms type=\"postgresql\"/>", 'P');
    EXPECT_OUTCOME(&d, "<dbms type=\"oracle,mssql\"/>", 'F');
    char body[1200];
    snprintf(body, sizeof(body), "<runningAs username=\"%s\"/>",
             pgdb_val(d.c, "SELECT upper(session_user)"));
    EXPECT_OUTCOME(&d, body, 'P');
    EXPECT_OUTCOME(&d, "<runningAs username=\"someone_else\"/>", 'F');
    /* outcome() ran changesets p1.. of db/changelog.sql: p1 EXECUTED, p2
     * skipped (no row), p5 MARK_RAN */
    TM_EXPECT_CONTAINS(history(d.c), "p1:EXECUTED");
    EXPECT_OUTCOME(&d, "<changeSetExecuted id=\"p1\" author=\"alice\" "
                       "changeLogFile=\"db/changelog.sql\"/>",
                   'P');
    EXPECT_OUTCOME(&d, "<changeSetExecuted id=\"p1\" author=\"alice\"/>", 'P'); /* own file */
    EXPECT_OUTCOME(&d, "<changeSetExecuted id=\"p5\" author=\"alice\"/>", 'P'); /* MARK_RAN */
    EXPECT_OUTCOME(&d, "<changeSetExecuted id=\"p2\" author=\"alice\"/>", 'F');
    EXPECT_OUTCOME(&d, "<changeSetExecuted id=\"p1\" author=\"bob\"/>", 'F');
    EXPECT_OUTCOME(&d, "<changeSetExecuted id=\"p1\" author=\"alice\" "
                       "changeLogFile=\"other.xml\"/>",
                   'F');
    pgdb_close(&d);
}

TM_TEST(precond_pg_not_or_and_short_circuit_like_liquibase)
{
    struct pgdb d;
    TM_ASSERT(open_db(&d, "pre_logic"));
    EXPECT_OUTCOME(&d, "<not><tableExists tableName=\"nope\"/></not>", 'P');
    EXPECT_OUTCOME(&d, "<not><tableExists tableName=\"orders\"/></not>", 'F');
    /* not over several kids: none may pass */
    EXPECT_OUTCOME(&d, "<not><tableExists tableName=\"nope\"/><tableExists tableName=\"orders\"/></not>",
                   'F');
    EXPECT_OUTCOME(&d, "<or><tableExists tableName=\"nope\"/><tableExists tableName=\"orders\"/></or>",
                   'P');
    EXPECT_OUTCOME(&d, "<or><tableExists tableName=\"nope\"/><viewExists viewName=\"nope\"/></or>",
                   'F');
    EXPECT_OUTCOME(&d, "<and><tableExists tableName=\"orders\"/><tableExists tableName=\"nope\"/></and>",
                   'F');
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"orders\"/><not><or><dbms type=\"oracle\"/>"
                       "<sequenceExists sequenceName=\"nope\"/></or></not>",
                   'P');
    /* and stops at the first failure: the sqlCheck on the missing table never runs */
    EXPECT_OUTCOME(&d, "<tableExists tableName=\"nope\"/>"
                       "<sqlCheck expectedResult=\"0\">SELECT count(*) FROM nope</sqlCheck>",
                   'F');
    /* ... but an error before a failure is an error */
    EXPECT_OUTCOME(&d, "<sqlCheck expectedResult=\"0\">SELECT count(*) FROM nope</sqlCheck>"
                       "<tableExists tableName=\"nope\"/>",
                   'E');
    /* or stops at the first pass */
    EXPECT_OUTCOME(&d, "<or><tableExists tableName=\"orders\"/>"
                       "<sqlCheck expectedResult=\"0\">SELECT broken</sqlCheck></or>",
                   'P');
    /* an error inside not stays an error */
    EXPECT_OUTCOME(&d, "<not><sqlCheck expectedResult=\"0\">SELECT broken</sqlCheck></not>", 'E');
    pgdb_close(&d);
}

TM_TEST(precond_pg_on_error_actions_for_a_broken_sql_check)
{
    struct pgdb d;
    TM_ASSERT(open_db(&d, "pre_onerror"));
    const char *opts[] = {"CONTINUE", "MARK_RAN", "WARN"};
    for (int tx = 1; tx >= 0; tx--) {
        for (size_t i = 0; i < 3; i++) {
            char xml[512], id[32];
            snprintf(xml, sizeof(xml),
                     "<preConditions onError=\"%s\"><sqlCheck expectedResult=\"0\">SELECT * "
                     "FROM no_such_table</sqlCheck></preConditions>",
                     opts[i]);
            snprintf(id, sizeof(id), "e%s%d", opts[i], tx);
            struct chlog cl;
            memset(&cl, 0, sizeof(cl));
            struct chlog_changeset *cs = fx_add(&cl, id, "CREATE TABLE made_here (n int)", NULL);
            cs->run_in_transaction = tx;
            cs->precondition = compile(xml);
            TM_ASSERT(cs->precondition != NULL);
            fx_add(&cl, "after", "SELECT 1", NULL);
            struct engine_result res;
            struct tm_err err;
            if (run(d.c, &cl, &res, &err) != TM_OK)
                TM_EXPECT_STR(err.msg, "");
            TM_ASSERT_INT(res.nsteps, 2);
            enum engine_outcome want = i == 0   ? ENGINE_OUT_SKIPPED
                                       : i == 1 ? ENGINE_OUT_MARK_RAN
                                                : ENGINE_OUT_EXECUTED;
            TM_EXPECT_STR(engine_outcome_name(res.steps[0].outcome), engine_outcome_name(want));
            TM_EXPECT_STR(engine_outcome_name(res.steps[1].outcome), "EXECUTED");
            TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('made_here') IS NOT NULL"),
                          i == 2 ? "t" : "f");
            if (i == 2) {
                TM_ASSERT_INT(res.nwarnings, 1);
                TM_EXPECT_CONTAINS(res.warnings[0], "precondition error (onError WARN)");
                TM_EXPECT_CONTAINS(res.warnings[0], "no_such_table");
            } else {
                TM_EXPECT_INT(res.nwarnings, 0);
            }
            engine_result_release(&res);
            release(&cl);
            TM_ASSERT_INT(pgx_exec(d.c, "DROP TABLE IF EXISTS made_here; DELETE FROM "
                                        "databasechangelog WHERE id = 'after'",
                                   &err),
                          TM_OK);
        }
    }
    TM_EXPECT_STR(history(d.c), "eMARK_RAN1:MARK_RAN,eWARN1:EXECUTED,eMARK_RAN0:MARK_RAN,"
                                "eWARN0:EXECUTED");

    /* HALT (the default): the run stops with the database's error */
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    struct chlog_changeset *cs = fx_add(&cl, "halt", "CREATE TABLE made_here (n int)", NULL);
    cs->precondition = compile("<preConditions onErrorMessage=\"the check is broken\">"
                               "<sqlCheck expectedResult=\"0\">SELECT * FROM no_such_table"
                               "</sqlCheck></preConditions>");
    TM_ASSERT(cs->precondition != NULL);
    fx_add(&cl, "after", "SELECT 1", NULL);
    struct engine_result res;
    struct tm_err err;
    TM_EXPECT_INT(run(d.c, &cl, &res, &err), TM_E_DB);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.sql::halt::alice: precondition error (onError HALT)");
    TM_EXPECT_CONTAINS(err.msg, "the check is broken");
    TM_EXPECT_STR(err.sqlstate, "42P01");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('made_here') IS NOT NULL"), "f");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(*) FROM databasechangelog WHERE id IN ('halt', "
                                "'after')"),
                  "0");
    engine_result_release(&res);
    release(&cl);
    pgdb_close(&d);
}

TM_TEST(precond_pg_on_fail_message_and_nested_warn_container)
{
    struct pgdb d;
    TM_ASSERT(open_db(&d, "pre_onfail"));
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    struct chlog_changeset *cs = fx_add(&cl, "h", "SELECT 1", NULL);
    cs->precondition = compile("<preConditions onFailMessage=\"orders must be gone\">"
                               "<not><tableExists tableName=\"orders\"/></not></preConditions>");
    TM_ASSERT(cs->precondition != NULL);
    struct engine_result res;
    struct tm_err err;
    TM_EXPECT_INT(run(d.c, &cl, &res, &err), TM_E_POLICY);
    TM_EXPECT_CONTAINS(err.msg, "precondition failed (onFail HALT): orders must be gone");
    engine_result_release(&res);
    release(&cl);

    /* without a message: the first failing check, with file:line */
    memset(&cl, 0, sizeof(cl));
    cs = fx_add(&cl, "h2", "SELECT 1", NULL);
    cs->precondition = compile("<preConditions>\n<tableExists tableName=\"orders\"/>\n"
                               "<sqlCheck expectedResult=\"9\">SELECT count(*) FROM orders"
                               "</sqlCheck></preConditions>");
    TM_EXPECT_INT(run(d.c, &cl, &res, &err), TM_E_POLICY);
    TM_EXPECT_CONTAINS(err.msg, "pre.xml:4: SQL Precondition failed.  Expected '9' got '2'");
    engine_result_release(&res);
    release(&cl);

    /* a nested preConditions with onFail WARN turns its failure into a
     * warning (PreconditionContainer.check), so the outer one passes */
    memset(&cl, 0, sizeof(cl));
    cs = fx_add(&cl, "w", "SELECT 1", NULL);
    cs->precondition = compile("<preConditions><preConditions onFail=\"WARN\">"
                               "<tableExists tableName=\"nope\"/></preConditions>"
                               "<tableExists tableName=\"orders\"/></preConditions>");
    TM_EXPECT_INT(run(d.c, &cl, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 1);
    TM_ASSERT_INT(res.nwarnings, 1);
    TM_EXPECT_CONTAINS(res.warnings[0], "precondition failed (onFail WARN)");
    TM_EXPECT_CONTAINS(res.warnings[0], "Table nope does not exist");
    engine_result_release(&res);
    release(&cl);
    pgdb_close(&d);
}

/* A changelog of three changesets guarded by a changelog-level precondition. */
static void guarded(struct chlog *cl, const char *pre)
{
    memset(cl, 0, sizeof(*cl));
    fx_add(cl, "g1", "CREATE TABLE g1 (n int)", "DROP TABLE g1");
    fx_add(cl, "g2", "CREATE TABLE g2 (n int)", "DROP TABLE g2");
    cl->precondition = compile(pre);
}

TM_TEST(precond_pg_changelog_level_halts_before_anything_or_warns)
{
    struct pgdb d;
    TM_ASSERT(open_db(&d, "pre_changelog"));
    struct chlog cl;
    struct engine_result res;
    struct tm_err err;
    /* HALT, and also CONTINUE / MARK_RAN: Liquibase's ValidatingVisitor
     * fails the update for any failure the container does not WARN about */
    const char *halting[] = {"HALT", "CONTINUE", "MARK_RAN"};
    for (size_t i = 0; i < 3; i++) {
        char xml[256];
        snprintf(xml, sizeof(xml),
                 "<preConditions onFail=\"%s\"><tableExists tableName=\"nope\"/></preConditions>",
                 halting[i]);
        guarded(&cl, xml);
        TM_ASSERT(cl.precondition != NULL);
        TM_EXPECT_INT(run(d.c, &cl, &res, &err), TM_E_POLICY);
        TM_EXPECT_CONTAINS(err.msg, "changelog preconditions failed");
        TM_EXPECT_CONTAINS(err.msg, "nothing applied: pre.xml:2: Table nope does not exist");
        TM_EXPECT_INT(res.nsteps, 0);
        TM_EXPECT_STR(history(d.c), "");
        engine_result_release(&res);
        release(&cl);
    }
    /* an error halts too, with the database's error */
    guarded(&cl, "<preConditions onError=\"CONTINUE\"><sqlCheck expectedResult=\"1\">SELECT "
                 "* FROM no_such_table</sqlCheck></preConditions>");
    TM_EXPECT_INT(run(d.c, &cl, &res, &err), TM_E_DB);
    TM_EXPECT_CONTAINS(err.msg, "changelog preconditions: error (onError CONTINUE)");
    TM_EXPECT_STR(err.sqlstate, "42P01");
    TM_EXPECT_STR(history(d.c), "");
    engine_result_release(&res);
    release(&cl);
    /* WARN goes on */
    guarded(&cl, "<preConditions onFail=\"WARN\"><tableExists tableName=\"nope\"/></preConditions>");
    TM_EXPECT_INT(run(d.c, &cl, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 2);
    TM_ASSERT_INT(res.nwarnings, 1);
    TM_EXPECT_CONTAINS(res.warnings[0], "changelog: precondition failed (onFail WARN)");
    engine_result_release(&res);
    release(&cl);
    TM_ASSERT_INT(pgx_exec(d.c, "DROP TABLE g1; DROP TABLE g2; DELETE FROM databasechangelog",
                           &err),
                  TM_OK);
    /* a passing one applies everything */
    guarded(&cl, "<preConditions><dbms type=\"postgresql\"/><tableExists tableName=\"orders\"/>"
                 "</preConditions>");
    TM_EXPECT_INT(run(d.c, &cl, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 2);
    TM_EXPECT_INT(res.nwarnings, 0);
    TM_EXPECT_STR(history(d.c), "g1:EXECUTED,g2:EXECUTED");
    engine_result_release(&res);
    release(&cl);
    pgdb_close(&d);
}

/* The whole chain: an XML and a YAML changelog loaded by chlog_load (XML
 * reader / YAML reader -> lbparse -> precond.c) and applied. */
TM_TEST(precond_pg_changelogs_from_xml_and_yaml_apply_with_their_preconditions)
{
    struct pgdb d;
    TM_ASSERT(open_db(&d, "pre_chain"));
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<databaseChangeLog xmlns=\"http://www.liquibase.org/xml/ns/dbchangelog\"\n"
        "  xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"
        "  xsi:schemaLocation=\"http://www.liquibase.org/xml/ns/dbchangelog "
        "http://www.liquibase.org/xml/ns/dbchangelog/dbchangelog-latest.xsd\">\n"
        "  <preConditions><dbms type=\"postgresql\"/></preConditions>\n"
        "  <changeSet id=\"x1\" author=\"a\">\n"
        "    <preConditions onFail=\"MARK_RAN\"><not><tableExists tableName=\"orders\"/></not>"
        "</preConditions>\n"
        "    <sql>CREATE TABLE orders (id int)</sql>\n"
        "  </changeSet>\n"
        "  <changeSet id=\"x2\" author=\"a\">\n"
        "    <preConditions onFail=\"CONTINUE\"><columnExists tableName=\"orders\" "
        "columnName=\"nope\"/></preConditions>\n"
        "    <sql>CREATE TABLE x2 (id int)</sql>\n"
        "  </changeSet>\n"
        "  <changeSet id=\"x3\" author=\"a\">\n"
        "    <preConditions><changeSetExecuted id=\"x1\" author=\"a\" "
        "changeLogFile=\"db/changelog.xml\"/><sqlCheck expectedResult=\"2\">SELECT count(*) "
        "FROM orders</sqlCheck></preConditions>\n"
        "    <sql>CREATE TABLE x3 (id int)</sql>\n"
        "  </changeSet>\n"
        "</databaseChangeLog>\n";
    struct chlog *cl = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(load_mem("db/changelog.xml", &cl, &err, "db/changelog.xml", xml, NULL), TM_OK);
    TM_ASSERT(cl->precondition != NULL);
    TM_ASSERT_INT(cl->nsets, 3);
    TM_ASSERT(cl->sets[0].precondition != NULL);
    struct engine_result res;
    TM_EXPECT_INT(run(d.c, cl, &res, &err), TM_OK);
    TM_EXPECT_STR(history(d.c), "x1:MARK_RAN,x3:EXECUTED");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('x2') IS NULL AND to_regclass('x3') IS NOT "
                                "NULL"),
                  "t");
    engine_result_release(&res);
    chlog_free(cl);

    const char *yaml = "databaseChangeLog:\n"
                       "  - preConditions:\n"
                       "      - onFail: HALT\n"
                       "      - tableExists:\n"
                       "          tableName: no_such_table\n"
                       "  - changeSet:\n"
                       "      id: y1\n"
                       "      author: a\n"
                       "      changes:\n"
                       "        - sql: CREATE TABLE y1 (id int)\n";
    TM_ASSERT_INT(load_mem("db/changelog.yaml", &cl, &err, "db/changelog.yaml", yaml, NULL), TM_OK);
    TM_ASSERT(cl->precondition != NULL);
    TM_EXPECT_INT(run(d.c, cl, &res, &err), TM_E_POLICY);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.yaml:4");
    TM_EXPECT_CONTAINS(err.msg, "Table no_such_table does not exist");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('y1') IS NULL"), "t");
    engine_result_release(&res);
    chlog_free(cl);
    pgdb_close(&d);
}

/* A lone sqlCheck as the formatted-SQL parser builds it (no container):
 * onError still applies, inside the changeset's transaction. */
TM_TEST(precond_pg_lone_sql_check_on_error_mark_ran_in_a_transaction)
{
    struct pgdb d;
    TM_ASSERT(open_db(&d, "pre_lone"));
    struct chlog cl;
    memset(&cl, 0, sizeof(cl));
    struct chlog_changeset *cs = fx_add(&cl, "lone", "CREATE TABLE lone (n int)", NULL);
    cs->precondition = calloc(1, sizeof(*cs->precondition));
    TM_ASSERT(cs->precondition != NULL);
    cs->precondition->sql = strdup("SELECT * FROM no_such_table");
    cs->precondition->expected = strdup("0");
    cs->precondition->on_error = CHLOG_ONFAIL_MARK_RAN;
    struct engine_result res;
    struct tm_err err;
    TM_EXPECT_INT(run(d.c, &cl, &res, &err), TM_OK);
    TM_EXPECT_STR(history(d.c), "lone:MARK_RAN");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('lone') IS NULL"), "t");
    engine_result_release(&res);
    release(&cl);
    pgdb_close(&d);
}

TM_TEST_MAIN()
