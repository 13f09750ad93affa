/* Integration tests: Flyway folders applied by the engine to a real
 * PostgreSQL (TIDEMARK_PG_URL), checked against the flyway_schema_history
 * rows Flyway 13.12.2 wrote for the same files (flyway-core +
 * flyway-database-postgresql 13.12.2, Flyway.migrate(), PostgreSQL 15):
 * scripts that must run outside a transaction (CREATE/DROP INDEX
 * CONCURRENTLY), a failed non-transactional script (success = false), mixed
 * scripts, and schemas Flyway creates (the marker row, search_path).
 * installed_rank|version|description|type|script|checksum|success are
 * compared; installed_by is the connection's user, as Flyway writes it. */
#include <stdarg.h>

#include "changelog/chlog.h"
#include "engine_pgdb.h"
#include "tm_test.h"

/* Loads a Flyway folder from files (path, content, ..., NULL) with caller
 * properties "name=value" (NULL-ended list, NULL ok). */
static struct chlog *load(const char *entry, const char *const *props, ...)
{
    struct chlog_fs fs;
    struct chlog_props pm;
    struct chlog *cl = NULL;
    struct tm_err err;
    tm_err_clear(&err);
    chlog_props_init(&pm);
    if (chlog_fs_mem_init(&fs) != TM_OK)
        return NULL;
    enum tm_code rc = TM_OK;
    for (size_t i = 0; props && props[i] && rc == TM_OK; i++) {
        char name[200];
        const char *eq = strchr(props[i], '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq - props[i]), props[i]);
        rc = chlog_props_set(&pm, name, eq + 1, &err);
    }
    va_list ap;
    va_start(ap, props);
    const char *p;
    while (rc == TM_OK && (p = va_arg(ap, const char *)) != NULL) {
        const char *d = va_arg(ap, const char *);
        rc = chlog_fs_mem_add(&fs, p, d, strlen(d), &err);
    }
    va_end(ap);
    if (rc == TM_OK)
        rc = chlog_load(&fs, entry, &pm, &cl, &err);
    if (rc != TM_OK)
        fprintf(stderr, "load: %s\n", err.msg);
    chlog_props_release(&pm);
    chlog_fs_mem_release(&fs);
    return cl;
}

static enum tm_code apply(struct pgx_conn *c, const struct chlog *cl, struct tm_err *err)
{
    struct engine_opts o;
    struct engine_result res;
    engine_opts_init(&o);
    engine_result_init(&res);
    tm_err_clear(err);
    enum tm_code rc = engine_run(c, cl, &o, &res, err);
    engine_result_release(&res);
    return rc;
}

/* The history rows as Flyway's columns joined by '|', one per line. */
static const char *rows(struct pgx_conn *c, const char *table)
{
    char sql[600];
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(concat_ws('|', installed_rank, coalesce(version, ''), "
             "description, type, script, coalesce(checksum::text, ''), success, "
             "installed_by = current_user), E'\\n' ORDER BY installed_rank) FROM %s",
             table);
    return pgdb_val(c, sql);
}

#define V1_T "CREATE TABLE t (a int, b int);\n"
#define V2_CONC "-- c\nCREATE INDEX CONCURRENTLY t_a ON t (a);\n"
#define V3_TWO "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_b ON t (b);\nDROP INDEX CONCURRENTLY t_a;\n"

TM_TEST(flyway_concurrently_scripts_apply_outside_a_transaction_with_flyways_rows)
{
    struct pgdb d;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "fw_conc"));
    struct chlog *cl = load("b", NULL, "b/V1__t.sql", V1_T, "b/V2__conc.sql", V2_CONC,
                            "b/V3__two_conc.sql", V3_TWO, NULL);
    TM_ASSERT(cl != NULL);
    enum tm_code rc = apply(d.c, cl, &err);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_EXPECT_INT(rc, TM_OK);
    /* Flyway 13.12.2 wrote exactly these rows for these files */
    TM_EXPECT_STR(rows(d.c, "flyway_schema_history"),
                  "1|1|t|SQL|V1__t.sql|1352439208|t|t\n"
                  "2|2|conc|SQL|V2__conc.sql|176411970|t|t\n"
                  "3|3|two conc|SQL|V3__two_conc.sql|-1039734461|t|t");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(c.relname || ':' || i.indisvalid, ',') FROM "
                                "pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE "
                                "i.indrelid = 'public.t'::regclass"),
                  "t_b:true");
    chlog_free(cl);
    pgdb_close(&d);
}

TM_TEST(flyway_failed_non_transactional_script_leaves_a_failed_row_then_retries)
{
    struct pgdb d;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "fw_fail"));
    struct chlog *cl = load("b", NULL, "b/V1__t.sql", V1_T, "b/V2__conc.sql", V2_CONC,
                            "b/V3__fail.sql", "CREATE INDEX CONCURRENTLY bad ON nosuch (a);\n",
                            NULL);
    TM_ASSERT(cl != NULL);
    TM_EXPECT_INT(apply(d.c, cl, &err), TM_E_DB);
    TM_EXPECT_STR(err.sqlstate, "42P01");
    /* Flyway 13.12.2: "Migration ... to version "3 - fail" [non-transactional]
     * failed!" and this third row */
    TM_EXPECT_STR(rows(d.c, "flyway_schema_history"),
                  "1|1|t|SQL|V1__t.sql|1352439208|t|t\n"
                  "2|2|conc|SQL|V2__conc.sql|176411970|t|t\n"
                  "3|3|fail|SQL|V3__fail.sql|986523397|f|t");
    chlog_free(cl);
    /* fixed script: the failed row goes (as `flyway repair` would) and it runs */
    cl = load("b", NULL, "b/V1__t.sql", V1_T, "b/V2__conc.sql", V2_CONC, "b/V3__fail.sql",
              "CREATE INDEX CONCURRENTLY good ON t (b);\n", NULL);
    TM_ASSERT(cl != NULL);
    enum tm_code rc = apply(d.c, cl, &err);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_EXPECT_INT(rc, TM_OK);
    char want[300];
    snprintf(want, sizeof(want), "3|3|fail|SQL|V3__fail.sql|%s|t|t", cl->sets[2].checksum);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT concat_ws('|', installed_rank, version, description, "
                                "type, script, checksum, success, installed_by = current_user) "
                                "FROM flyway_schema_history WHERE version = '3'"),
                  want);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(*) FROM flyway_schema_history"), "3");
    chlog_free(cl);
    pgdb_close(&d);
}

TM_TEST(flyway_mixed_true_runs_the_whole_script_outside_a_transaction)
{
    struct pgdb d;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "fw_mixed"));
    const char *props[] = {"flyway.mixed=true", NULL};
    struct chlog *cl = load("b", props, "b/V4__mixed.sql",
                            "CREATE TABLE u (a int);\nCREATE INDEX CONCURRENTLY u_a ON u (a);\n",
                            NULL);
    TM_ASSERT(cl != NULL);
    TM_EXPECT_INT(apply(d.c, cl, &err), TM_OK);
    TM_EXPECT_STR(rows(d.c, "flyway_schema_history"), "1|4|mixed|SQL|V4__mixed.sql|635163532|t|t");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('public.u_a') IS NOT NULL"), "t");
    chlog_free(cl);
    pgdb_close(&d);
}

TM_TEST(flyway_schemas_are_created_with_the_marker_row_and_lead_search_path)
{
    struct pgdb d;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "fw_schemas"));
    char before[1100];
    snprintf(before, sizeof(before), "%s", pgdb_val(d.c, "SHOW search_path"));
    const char *props[] = {"flyway.schemas=myschema,other", NULL};
    struct chlog *cl = load("c", props, "c/V1__s.sql", "CREATE TABLE s1 (a int);\n", NULL);
    TM_ASSERT(cl != NULL);
    enum tm_code rc = apply(d.c, cl, &err);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_EXPECT_INT(rc, TM_OK);
    /* Flyway 13.12.2 wrote these two rows into myschema.flyway_schema_history */
    TM_EXPECT_STR(rows(d.c, "myschema.flyway_schema_history"),
                  "0||<< Flyway Schema Creation >>|SCHEMA|\"myschema\",\"other\"||t|t\n"
                  "1|1|s|SQL|V1__s.sql|-386049975|t|t");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('myschema.s1') IS NOT NULL AND "
                                "to_regnamespace('other') IS NOT NULL"),
                  "t");
    TM_EXPECT_STR(pgdb_val(d.c, "SHOW search_path"), before);
    /* a second run finds the history in myschema: nothing to do, no new marker */
    TM_EXPECT_INT(apply(d.c, cl, &err), TM_OK);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(*) FROM myschema.flyway_schema_history"), "2");
    chlog_free(cl);
    pgdb_close(&d);
}

TM_TEST(flyway_marker_row_names_only_the_schemas_it_created)
{
    struct pgdb d;
    struct tm_err err;
    TM_ASSERT(pgdb_open(&d, "fw_marker"));
    pgdb_exec(d.c, "CREATE SCHEMA other");
    const char *props[] = {"flyway.schemas=myschema,other", NULL};
    struct chlog *cl = load("c", props, "c/V1__s.sql", "CREATE TABLE s1 (a int);\n", NULL);
    TM_ASSERT(cl != NULL);
    TM_EXPECT_INT(apply(d.c, cl, &err), TM_OK);
    /* Flyway 13.12.2 with "other" already there: script "myschema" only */
    TM_EXPECT_STR(rows(d.c, "myschema.flyway_schema_history"),
                  "0||<< Flyway Schema Creation >>|SCHEMA|\"myschema\"||t|t\n"
                  "1|1|s|SQL|V1__s.sql|-386049975|t|t");
    chlog_free(cl);
    pgdb_close(&d);
}

TM_TEST_MAIN()
