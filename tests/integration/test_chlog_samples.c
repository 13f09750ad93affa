/* Integration tests: the sample changelogs in tests/data/changelogs/ parse,
 * and their SQL (cut by chlog_split_statements) and rollbacks run on a real
 * PostgreSQL (TIDEMARK_PG_URL).  Each changeset runs the way the engine
 * runs it: inside BEGIN/COMMIT unless runInTransaction is false (the
 * CREATE INDEX CONCURRENTLY changesets prove that attribute is carried).
 * Preconditions are evaluated on the fresh database.  Then every rollback
 * runs newest first and the schema must be empty again.  Each test uses its
 * own database and drops it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "changelog/chlog.h"
#include "tm_test.h"

struct db {
    PGconn *admin;
    PGconn *c;
    char name[64];
};

static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
    if (!ok)
        fprintf(stderr, "sql failed: %s\n  %s\n", PQerrorMessage(c), sql);
    PQclear(r);
    return ok;
}

/* Opens admin + a fresh database named for the test. */
static bool db_open(struct db *d, const char *tag)
{
    memset(d, 0, sizeof(*d));
    const char *url = tm_test_env("TIDEMARK_PG_URL");
    if (!url)
        return false;
    d->admin = PQconnectdb(url);
    if (PQstatus(d->admin) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s\n", PQerrorMessage(d->admin));
        return false;
    }
    snprintf(d->name, sizeof(d->name), "tm_chlog_%s_%ld", tag, (long)getpid());
    char sql[160];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", d->name);
    if (!exec_ok(d->admin, sql))
        return false;
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", d->name);
    if (!exec_ok(d->admin, sql))
        return false;
    /* expand_dbname: the URL gives host/port/user; the later dbname wins */
    const char *k2[] = {"dbname", "dbname", NULL};
    const char *v2[] = {url, d->name, NULL};
    d->c = PQconnectdbParams(k2, v2, 1);
    if (PQstatus(d->c) != CONNECTION_OK) {
        fprintf(stderr, "connect %s: %s\n", d->name, PQerrorMessage(d->c));
        return false;
    }
    return true;
}

static void db_close(struct db *d)
{
    if (d->c)
        PQfinish(d->c);
    if (d->admin && d->name[0]) {
        char sql[160];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", d->name);
        (void)exec_ok(d->admin, sql);
    }
    if (d->admin)
        PQfinish(d->admin);
}

static const char *val(PGconn *c, const char *sql, char *buf, size_t n)
{
    PGresult *r = PQexec(c, sql);
    buf[0] = '\0';
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        snprintf(buf, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

/* Runs text as the engine would: split, each statement in order. */
static bool run_sql(PGconn *c, const char *text, const char *delim, bool strip)
{
    char **st = NULL;
    size_t n = 0;
    struct tm_err err = {0};
    if (chlog_split_statements(text, delim, strip, &st, &n, &err) != TM_OK) {
        fprintf(stderr, "split: %s\n", err.msg);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = exec_ok(c, st[i]);
    chlog_statements_free(st, n);
    return ok;
}

static bool apply_set(PGconn *c, const struct chlog_changeset *cs)
{
    if (cs->precondition) {
        /* the samples hold one sqlCheck: the first check of the tree */
        const struct chlog_precondition *pc = cs->precondition;
        while (pc->kind != CHLOG_PRECOND_CHECK && pc->nkids)
            pc = &pc->kids[0];
        char buf[64];
        val(c, pc->sql, buf, sizeof(buf));
        if (!pc->expected || strcmp(buf, pc->expected) != 0) {
            fprintf(stderr, "precondition of %s: got %s, expected %s\n", cs->id, buf,
                    pc->expected ? pc->expected : "(none)");
            return false;
        }
    }
    bool ok = !cs->run_in_transaction || exec_ok(c, "BEGIN");
    for (size_t k = 0; k < cs->nchanges && ok; k++)
        if (cs->changes[k].sql)
            ok = run_sql(c, cs->changes[k].sql, cs->changes[k].end_delimiter,
                         cs->changes[k].strip_comments);
    if (cs->run_in_transaction)
        ok = exec_ok(c, ok ? "COMMIT" : "ROLLBACK") && ok;
    return ok;
}

static bool rollback_set(PGconn *c, const struct chlog_changeset *cs)
{
    if (!cs->has_rollback || !cs->rollback_sql[0])
        return true;
    bool ok = !cs->run_in_transaction || exec_ok(c, "BEGIN");
    ok = ok && run_sql(c, cs->rollback_sql, NULL, false);
    if (cs->run_in_transaction)
        ok = exec_ok(c, ok ? "COMMIT" : "ROLLBACK") && ok;
    return ok;
}

static int count_relations(PGconn *c)
{
    char buf[32];
    val(c, "SELECT count(*) FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace "
           "WHERE n.nspname = 'public' AND r.relkind IN ('r', 'v', 'i')",
        buf, sizeof(buf));
    return (int)strtol(buf, NULL, 10);
}

static void sample_round_trip(const char *tag, const char *entry)
{
    const char *src = tm_test_env("TIDEMARK_SOURCE_DIR");
    TM_ASSERT(src != NULL);
    char root[4096];
    snprintf(root, sizeof(root), "%s/tests/data/changelogs", src);
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_disk_init(&fs, root), TM_OK);
    struct chlog *cl = NULL;
    struct tm_err err = {0};
    enum tm_code rc = chlog_load(&fs, entry, NULL, &cl, &err);
    chlog_fs_disk_release(&fs);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    struct db d;
    if (!db_open(&d, tag)) {
        TM_EXPECT(!"database opens");
        db_close(&d);
        chlog_free(cl);
        return;
    }
    for (size_t i = 0; i < cl->nsets; i++)
        TM_EXPECT(apply_set(d.c, &cl->sets[i]));
    char buf[64];
    TM_EXPECT_STR(val(d.c, "SELECT to_regclass('public.customers') IS NOT NULL", buf, sizeof(buf)), "t");
    TM_EXPECT_STR(val(d.c, "SELECT to_regclass('public.orders') IS NOT NULL", buf, sizeof(buf)), "t");
    TM_EXPECT_STR(val(d.c, "SELECT to_regclass('public.orders_customer_id_idx') IS NOT NULL", buf,
                      sizeof(buf)), "t");
    TM_EXPECT_STR(val(d.c, "SELECT count(*) FROM public.order_totals", buf, sizeof(buf)), "0");
    TM_EXPECT(count_relations(d.c) > 0);
    for (size_t i = cl->nsets; i-- > 0;)
        TM_EXPECT(rollback_set(d.c, &cl->sets[i]));
    if (cl->format == CHLOG_FORMAT_FLYWAY) /* repeatables have no undo */
        TM_EXPECT(exec_ok(d.c, "DROP VIEW IF EXISTS order_totals"));
    TM_EXPECT_INT(count_relations(d.c), 0);
    db_close(&d);
    chlog_free(cl);
}

TM_TEST(samples_liquibase_yaml_applies_and_rolls_back_on_postgres)
{
    sample_round_trip("yaml", "liquibase-yaml/changelog.yaml");
}

TM_TEST(samples_formatted_sql_applies_and_rolls_back_on_postgres)
{
    sample_round_trip("sql", "liquibase-sql/changelog.sql");
}

TM_TEST(samples_flyway_applies_and_rolls_back_on_postgres)
{
    sample_round_trip("flyway", "flyway");
}

TM_TEST_MAIN()
