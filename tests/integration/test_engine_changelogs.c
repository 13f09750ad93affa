/* Integration tests of the engine on real changelogs parsed by chlog_load
 * (tests/data/changelogs: Liquibase YAML with includes/sqlFile/tagDatabase,
 * and a Flyway folder), against a real PostgreSQL; and history-table
 * creation racing between two appliers. */
#include <pthread.h>

#include "engine_pgdb.h"
#include "tm_test.h"

struct loaded {
    struct chlog_fs fs;
    struct chlog *cl;
};

static bool load(const char *sub, const char *entry, struct loaded *l)
{
    const char *src = tm_test_env("TIDEMARK_SOURCE_DIR");
    char root[1024];
    struct tm_err err;
    if (!src)
        return false;
    snprintf(root, sizeof(root), "%s/tests/data/changelogs/%s", src, sub);
    if (chlog_fs_disk_init(&l->fs, root) != TM_OK)
        return false;
    if (chlog_load(&l->fs, entry, NULL, &l->cl, &err) != TM_OK) {
        fprintf(stderr, "load %s/%s: %s\n", sub, entry, err.msg);
        chlog_fs_disk_release(&l->fs);
        return false;
    }
    return true;
}

static void unload(struct loaded *l)
{
    chlog_free(l->cl);
    chlog_fs_disk_release(&l->fs);
}

static enum tm_code run_to(struct pgx_conn *c, const struct chlog *cl, const char *tag,
                           struct engine_result *res, struct tm_err *err)
{
    struct engine_opts o;
    engine_opts_init(&o);
    o.tag = tag;
    engine_result_init(res);
    return engine_run(c, cl, &o, res, err);
}

TM_TEST(yaml_changelog_applies_and_rolls_back_with_liquibase_rows)
{
    struct pgdb d;
    struct loaded l;
    struct engine_result res;
    struct tm_err err;
    char sql[1024];
    TM_ASSERT(pgdb_open(&d, "yaml"));
    TM_ASSERT(load("liquibase-yaml", "changelog.yaml", &l));
    TM_EXPECT_INT(run_to(d.c, l.cl, "v1.1.0", &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 5);
    TM_EXPECT_STR(res.applied_tag, "v1.1.0");
    engine_result_release(&res);
    /* each row carries the parser's FILENAME and checksum, and Liquibase's description */
    for (size_t i = 0; i < 5; i++) {
        const struct chlog_changeset *cs = &l.cl->sets[i];
        /* AbstractChange.getDescription: sqlFile names its path */
        const char *desc = cs->nchanges && cs->changes[0].kind == CHLOG_CHANGE_TAG ? "tagDatabase"
                           : cs->nchanges && cs->changes[0].kind == CHLOG_CHANGE_SQL_FILE
                               ? "sqlFile path=sql/002-orders.sql"
                               : "sql";
        char want[512];
        snprintf(want, sizeof(want), "%s|%s|EXECUTED|%s|%s|%zu|%s", cs->filename, cs->author,
                 cs->checksum, desc, i + 1, cs->tag ? cs->tag : "-");
        snprintf(sql, sizeof(sql),
                 "SELECT concat_ws('|', filename, author, exectype, md5sum, description, "
                 "orderexecuted, coalesce(tag, '-')) FROM databasechangelog WHERE id = '%s'",
                 cs->id);
        TM_EXPECT_STR(pgdb_val(d.c, sql), want);
    }
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT labels FROM databasechangelog WHERE id = "
                                "'001-customers'"),
                  "core");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(*) FROM pg_indexes WHERE indexname = "
                                "'orders_customer_id_idx'"),
                  "1");
    /* back to v1.0.0: tag-v1.1.0, the index (outside a transaction), orders (sqlFile) */
    TM_EXPECT_INT(run_to(d.c, l.cl, "v1.0.0", &res, &err), TM_OK);
    TM_EXPECT_INT(res.rolled_back, 3);
    TM_EXPECT_STR(res.applied_tag, "v1.0.0");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('public.orders') IS NULL"), "t");
    engine_result_release(&res);
    /* then forward to the latest */
    TM_EXPECT_INT(run_to(d.c, l.cl, NULL, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, 5);
    TM_EXPECT_STR(res.applied_tag, "v1.2.0");
    engine_result_release(&res);
    struct engine_status st;
    TM_EXPECT_INT(engine_status_read(d.c, l.cl, NULL, NULL, &st, &err), TM_OK);
    TM_EXPECT_INT(st.npending, 0);
    TM_EXPECT_INT(st.ndrift, 0);
    TM_EXPECT_INT(st.applied, l.cl->nsets);
    engine_status_release(&st);
    unload(&l);
    pgdb_close(&d);
}

TM_TEST(flyway_folder_writes_flyway_schema_history)
{
    struct pgdb d;
    struct loaded l;
    struct engine_result res;
    struct tm_err err;
    char want[1024];
    TM_ASSERT(pgdb_open(&d, "flyway"));
    TM_ASSERT(load("flyway", ".", &l) || load("flyway", "", &l));
    TM_ASSERT_INT(l.cl->format, CHLOG_FORMAT_FLYWAY);
    TM_EXPECT_INT(run_to(d.c, l.cl, NULL, &res, &err), TM_OK);
    TM_EXPECT_INT(res.applied, l.cl->nsets);
    engine_result_release(&res);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT to_regclass('public.databasechangelog') IS NULL"), "t");
    size_t off = 0;
    for (size_t i = 0; i < l.cl->nsets; i++) {
        const struct chlog_changeset *cs = &l.cl->sets[i];
        off += (size_t)snprintf(want + off, sizeof(want) - off, "%s%zu:%s:%s:SQL:%s:%s:t",
                                i ? "," : "", i + 1, cs->version ? cs->version : "-",
                                cs->description, cs->filename, cs->checksum);
    }
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT string_agg(concat_ws(':', installed_rank, "
                                "coalesce(version, '-'), description, type, script, checksum, "
                                "CASE WHEN success THEN 't' ELSE 'f' END), ',' ORDER BY "
                                "installed_rank) FROM flyway_schema_history"),
                  want);
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT bool_and(installed_by = current_user AND "
                                "execution_time >= 0)::text FROM flyway_schema_history"),
                  "true");
    /* nothing pending; an edited checksum is drift */
    struct engine_status st;
    TM_EXPECT_INT(engine_status_read(d.c, l.cl, NULL, NULL, &st, &err), TM_OK);
    TM_EXPECT_INT(st.npending, 0);
    TM_EXPECT_INT(st.ndrift, 0);
    TM_EXPECT(st.applied_tag != NULL);
    engine_status_release(&st);
    /* every version is a tag: the prestart tag is the newest version */
    char *tag = NULL;
    TM_EXPECT_INT(engine_stamp_prestart_tag(d.c, ENGINE_DEFAULT_FLYWAY_TABLE, "pre", &tag, &err),
                  TM_OK);
    TM_EXPECT_STR(tag, "1.1");
    free(tag);
    TM_EXPECT_INT(engine_tag(d.c, ENGINE_DEFAULT_FLYWAY_TABLE, "x", &err), TM_E_INVAL);
    pgdb_exec(d.c, "UPDATE flyway_schema_history SET checksum = 12345 WHERE version = '1'");
    TM_EXPECT_INT(engine_status_read(d.c, l.cl, NULL, NULL, &st, &err), TM_OK);
    TM_EXPECT_INT(st.ndrift, 1);
    engine_status_release(&st);
    unload(&l);
    pgdb_close(&d);
}

struct racer {
    struct pgx_conn *c;
    pthread_barrier_t *go;
    enum tm_code rc;
    struct tm_err err;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->go);
    r->rc = engine_history_ensure(r->c, "public.databasechangelog", false, &r->err);
    return NULL;
}

TM_TEST(history_table_creation_is_safe_when_appliers_race)
{
    struct pgdb d;
    TM_ASSERT(pgdb_open(&d, "ensure_race"));
    for (int round = 0; round < 5; round++) {
        struct racer r[4];
        pthread_t t[4];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 4);
        for (int i = 0; i < 4; i++) {
            memset(&r[i], 0, sizeof(r[i]));
            r[i].c = pgdb_connect(&d, "tidemark-racer");
            r[i].go = &go;
        }
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, race, &r[i]);
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            TM_EXPECT_INT(r[i].rc, TM_OK);
            if (r[i].rc != TM_OK)
                fprintf(stderr, "racer %d: %s\n", i, r[i].err.msg);
            pgx_conn_free(r[i].c);
        }
        pthread_barrier_destroy(&go);
        TM_EXPECT_STR(pgdb_val(d.c, "SELECT count(*) FROM pg_class WHERE relname = "
                                    "'databasechangelog'"),
                      "1");
        pgdb_exec(d.c, "DROP TABLE databasechangelog");
    }
    pgdb_close(&d);
}

TM_TEST_MAIN()
