/* Unit tests: Flyway folders through chlog_load: naming, settings,
 * placeholders, checksums and the transaction decision.  Expected values
 * marked "Flyway 13.12.2" were taken from real Flyway runs on PostgreSQL
 * (flyway-core + flyway-database-postgresql 13.12.2, Flyway.migrate()). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "changelog/flyway_int.h"
#include "tm_test.h"
#include "chlog_fixture.h"


TM_TEST(flyway_orders_versions_numerically_then_repeatables_by_description)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db", &c, &err,
        "db/V1_10__ten.sql", "SELECT 110;\n",
        "db/V1_9__nine.sql", "SELECT 19;\n",
        "db/V2__two.sql", "SELECT 2;\n",
        "db/V1__create_orders_table.sql", "CREATE TABLE orders (id int);\n",
        "db/U1__create_orders_table.sql", "DROP TABLE orders;\n",
        "db/R__b_views.sql", "SELECT 'b';\n",
        "db/R__a_grants.sql", "SELECT 'a';\n",
        "db/README.md", "ignored",
        "db/flyway.conf", "# settings\nflyway.mixed=false\n",
        NULL);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_INT(c->format, CHLOG_FORMAT_FLYWAY);
    TM_ASSERT_INT(c->nsets, 6);
    const char *ids[] = {"1", "1.9", "1.10", "2", "a grants", "b views"};
    for (size_t i = 0; i < 6; i++) {
        TM_EXPECT_STR(c->sets[i].id, ids[i]);
        TM_EXPECT_STR(c->sets[i].author, "flyway");
    }
    const struct chlog_changeset *v1 = &c->sets[0];
    TM_EXPECT_STR(v1->filename, "V1__create_orders_table.sql");
    TM_EXPECT_STR(v1->version, "1");
    TM_EXPECT_STR(v1->description, "create orders table");
    TM_EXPECT_STR(v1->tag, "1");
    TM_EXPECT_STR(v1->changes[0].sql, "CREATE TABLE orders (id int);\n");
    TM_EXPECT(v1->has_rollback);
    TM_EXPECT_STR(v1->rollback_sql, "DROP TABLE orders;\n");
    TM_EXPECT(!c->sets[1].has_rollback);
    TM_EXPECT_STR(c->sets[2].tag, "1.10");
    TM_EXPECT_INT(chlog_find_tag(c, "1.10"), 2);
    TM_EXPECT_INT(chlog_find_tag(c, "2"), 3);
    const struct chlog_changeset *r = &c->sets[4];
    TM_EXPECT(r->run_on_change);
    TM_EXPECT(r->version == NULL);
    TM_EXPECT(r->tag == NULL);
    TM_EXPECT_STR(r->filename, "R__a_grants.sql");
    /* zlib.crc32(b"CREATE TABLE orders (id int);") as int32 */
    char want[32];
    snprintf(want, sizeof(want), "%d", chlog_checksum_flyway("CREATE TABLE orders (id int);", 29));
    TM_EXPECT_STR(v1->checksum, want);
    chlog_free(c);
}

TM_TEST(flyway_sample_folder_on_disk)
{
    const char *src = tm_test_env("TIDEMARK_SOURCE_DIR");
    TM_ASSERT(src != NULL);
    char root[4096];
    snprintf(root, sizeof(root), "%s/tests/data/changelogs", src);
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_disk_init(&fs, root), TM_OK);
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = chlog_load(&fs, "flyway", NULL, &c, &err);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 3);
    TM_EXPECT_STR(c->sets[0].id, "1");
    TM_EXPECT_STR(c->sets[1].id, "1.1");
    TM_EXPECT_STR(c->sets[1].filename, "V1_1__create_orders.sql");
    TM_EXPECT_CONTAINS(c->sets[1].rollback_sql, "DROP TABLE orders;");
    TM_EXPECT_STR(c->sets[2].id, "views");
    TM_EXPECT(c->sets[2].run_on_change);
    chlog_free(c);
    chlog_fs_disk_release(&fs);
}

static void expect_error(enum tm_code code, const char *what, const char *name, const char *body)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db", &c, &err, "db/V1__ok.sql", "SELECT 1;", name, body, NULL);
    TM_EXPECT_INT(rc, code);
    TM_EXPECT(c == NULL);
    TM_EXPECT_CONTAINS(err.msg, what);
    chlog_free(c);
}

TM_TEST(flyway_bad_names_are_skipped_as_flyway_does)
{
    /* Flyway 13.12.2: V1x__bad.sql and X3__other.sql are skipped; V2.sql is
     * version 2 with an empty description; the description keeps doubled and
     * trailing spaces. */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db", &c, &err, "db/V1__ok.sql", "SELECT 1;\n",
                               "db/V1x__bad.sql", "SELECT 2;\n", "db/V2.sql", "SELECT 3;\n",
                               "db/X3__other.sql", "SELECT 4;\n", "db/V3__.sql", "SELECT 5;\n",
                               "db/V4__a__b.sql", "select 6;\n", "db/V5__trail_.sql",
                               "select 7;\n", NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 5);
    const char *ver[] = {"1", "2", "3", "4", "5"};
    const char *desc[] = {"ok", "", "", "a  b", "trail "};
    const char *script[] = {"V1__ok.sql", "V2.sql", "V3__.sql", "V4__a__b.sql", "V5__trail_.sql"};
    for (size_t i = 0; i < 5; i++) {
        TM_EXPECT_STR(c->sets[i].version, ver[i]);
        TM_EXPECT_STR(c->sets[i].description, desc[i]);
        TM_EXPECT_STR(c->sets[i].filename, script[i]);
    }
    chlog_free(c);
}

TM_TEST(flyway_duplicate_versions_are_errors)
{
    expect_error(TM_E_INVAL, "more than one migration with version 1", "db/V1_0__same.sql",
                 "SELECT 1;");
    expect_error(TM_E_INVAL, "more than one migration with version 1", "db/V001__same.sql",
                 "SELECT 1;");
}

TM_TEST(flyway_undo_without_versioned_is_an_error)
{
    expect_error(TM_E_INVAL, "U7__x.sql: undo migration for version 7 has no V7__ file",
                 "db/U7__x.sql", "DROP TABLE x;");
}

TM_TEST(flyway_folder_without_migrations_is_an_error)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db", &c, &err, "db/notes.txt", "hello", NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "db: folder holds no Flyway migrations (V<version>__<description>.sql");
    chlog_free(c);
}

/* Loads files (path, content, ..., NULL) with caller properties given as
 * "name=value" strings in props (NULL-ended). */
static enum tm_code load_props(const char *entry, const char *const *props, struct chlog **out,
                               struct tm_err *err, ...)
{
    struct chlog_fs fs;
    struct chlog_props pm;
    chlog_props_init(&pm);
    if (chlog_fs_mem_init(&fs) != TM_OK)
        return TM_E_NOMEM;
    enum tm_code rc = TM_OK;
    for (size_t i = 0; props && props[i] && rc == TM_OK; i++) {
        char name[200];
        const char *eq = strchr(props[i], '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq - props[i]), props[i]);
        rc = chlog_props_set(&pm, name, eq + 1, err);
    }
    va_list ap;
    va_start(ap, err);
    const char *p;
    while (rc == TM_OK && (p = va_arg(ap, const char *)) != NULL) {
        const char *d = va_arg(ap, const char *);
        rc = chlog_fs_mem_add(&fs, p, d, strlen(d), err);
    }
    va_end(ap);
    if (rc == TM_OK)
        rc = chlog_load(&fs, entry, &pm, out, err);
    chlog_props_release(&pm);
    chlog_fs_mem_release(&fs);
    return rc;
}

TM_TEST(flyway_validate_migration_naming_lists_every_bad_name)
{
    /* Flyway 13.12.2 with validateMigrationNaming=true: "Invalid SQL filenames
     * found: Invalid versioned migration name format: V1x__bad.sql (could not
     * recognise version number 1x) Unrecognised migration name format:
     * X3__other.sql" */
    const char *props[] = {"flyway.validateMigrationNaming=true", NULL};
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_props("db", props, &c, &err, "db/V1__ok.sql", "SELECT 1;",
                                 "db/V1x__bad.sql", "SELECT 2;", "db/X3__other.sql", "SELECT 4;",
                                 NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT(c == NULL);
    TM_EXPECT_CONTAINS(err.msg, "Invalid versioned migration name format: V1x__bad.sql (could "
                                "not recognise version number 1x)");
    TM_EXPECT_CONTAINS(err.msg, "Unrecognised migration name format: X3__other.sql");
    chlog_free(c);
}

TM_TEST(flyway_empty_prefix_still_reads_repeatables)
{
    /* OpenLMIS: sqlMigrationPrefix= (empty), files <timestamp>__name.sql;
     * the longest matching prefix wins, so R__x.sql stays repeatable */
    const char *props[] = {"spring.flyway.sql-migration-prefix=", NULL};
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_props("db/migration", props, &c, &err,
                                 "db/migration/20170206205240748__initial_schema.sql", "SELECT 1;",
                                 "db/migration/20170206205310272__initial_bootstrap_data.sql",
                                 "SELECT 2;", "db/migration/R__views.sql", "SELECT 3;",
                                 "db/migration/.gitignore", "*.tmp\n", NULL);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 3);
    TM_EXPECT_STR(c->sets[0].version, "20170206205240748");
    TM_EXPECT_STR(c->sets[0].description, "initial schema");
    TM_EXPECT_STR(c->sets[1].filename, "20170206205310272__initial_bootstrap_data.sql");
    TM_EXPECT(c->sets[2].run_on_change);
    TM_EXPECT_STR(c->sets[2].description, "views");
    chlog_free(c);
}

TM_TEST(flyway_custom_suffix_keeps_trailing_spaces_in_description)
{
    /* hawkBit: sqlMigrationSuffixes=POSTGRESQL.sql, table=schema_version.
     * Flyway 13.12.2 wrote description "baseline   " and checksum 224281080
     * for that set's V1_12_15__baseline___POSTGRESQL.sql; here a small file. */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db", &c, &err, "db/flyway.conf",
                               "flyway.sqlMigrationSuffixes=POSTGRESQL.sql\n"
                               "flyway.table = schema_version\n",
                               "db/V1_12_15__baseline___POSTGRESQL.sql", "SELECT 1;\n",
                               "db/V1_12_16__other__H2.sql", "SELECT 2;\n", NULL);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 1);
    TM_EXPECT_STR(c->sets[0].version, "1.12.15");
    TM_EXPECT_STR(c->sets[0].description, "baseline   ");
    TM_EXPECT_STR(c->flyway_table, "schema_version");
    chlog_free(c);
}

TM_TEST(flyway_settings_from_conf_toml_and_properties_in_that_order)
{
    const char *props[] = {"flyway.sqlMigrationSeparator=--", NULL};
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_props(
        "db", props, &c, &err, "flyway.conf",
        "flyway.sqlMigrationPrefix=M\nflyway.sqlMigrationSeparator=__\nflyway.table=ignored\n",
        "db/flyway.toml",
        "[environments.dev]\nurl = \"jdbc:x\"\n[flyway]\nsqlMigrationPrefix = \"Mig\"\n"
        "schemas = [\"app\", \"audit\"]\ntable = 'hist'\ninstalledBy = \"deployer\"\n",
        "db/Mig1--first.sql", "SELECT 1;", "db/M2__ignored.sql", "SELECT 2;", NULL);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 1);
    TM_EXPECT_STR(c->sets[0].version, "1");
    TM_EXPECT_STR(c->sets[0].description, "first");
    TM_EXPECT_STR(c->flyway_table, "hist");
    TM_EXPECT_STR(c->flyway_schemas, "app,audit");
    TM_EXPECT_STR(c->flyway_schema, "app");
    TM_EXPECT_STR(c->flyway_installed_by, "deployer");
    chlog_free(c);
}

TM_TEST(flyway_unknown_setting_is_refused_by_name)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db", &c, &err, "db/flyway.conf", "flyway.sqlMigrationPrefx=V\n",
                               "db/V1__a.sql", "SELECT 1;", NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "db/flyway.conf:1: flyway.sqlMigrationPrefx: a Flyway setting");
    chlog_free(c);
}

TM_TEST(flyway_placeholders_replaced_after_checksum)
{
    /* Flyway 13.12.2 with flyway.placeholders.x=XV stored
     * XV | tidemark | fwc_a | public | V1__place_holders.sql |
     * flyway_schema_history | XV   and checksum -958969786 (the file's own
     * CRC: Flyway checksums before replacement). */
    const char *props[] = {"flyway.placeholders.x=XV", "flyway.placeholders.flyway:user=tidemark",
                           "flyway.placeholders.flyway:database=fwc_a", NULL};
    const char *file =
        "CREATE TABLE p (a text, b text, c text, d text, e text, f text, g text);\n"
        "INSERT INTO p VALUES ('${x}', '${flyway:user}', '${flyway:database}', "
        "'${flyway:defaultSchema}', '${flyway:filename}', '${flyway:table}', '${X}');\n";
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_props("a", props, &c, &err, "a/V1__place_holders.sql", file, NULL);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_CONTAINS(c->sets[0].changes[0].sql,
                       "VALUES ('XV', 'tidemark', 'fwc_a', 'public', 'V1__place_holders.sql', "
                       "'flyway_schema_history', 'XV');");
    TM_EXPECT_STR(c->sets[0].checksum, "-958969786");
    chlog_free(c);
}

TM_TEST(flyway_unknown_placeholder_is_an_error_unless_replacement_is_off)
{
    /* Flyway 13.12.2: "No value provided for placeholder: ${nope}.  Check
     * your configuration!" */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("d", &c, &err, "d/V1__d.sql", "SELECT 1;\nSELECT '${nope}';\n",
                               NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "V1__d.sql:2: No value provided for placeholder: ${nope}");
    chlog_free(c);
    c = NULL;
    const char *props[] = {"flyway.placeholderReplacement=false", NULL};
    rc = load_props("d", props, &c, &err, "d/V1__d.sql", "SELECT '${nope}';\n", NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(c->sets[0].changes[0].sql, "SELECT '${nope}';\n");
    chlog_free(c);
    c = NULL;
    const char *props2[] = {"flyway.placeholderPrefix=#[", "flyway.placeholderSuffix=]",
                            "flyway.placeholders.who=me", NULL};
    rc = load_props("d", props2, &c, &err, "d/V1__d.sql", "SELECT '${nope}', '#[WHO]';\n", NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(c->sets[0].changes[0].sql, "SELECT '${nope}', 'me';\n");
    chlog_free(c);
}

TM_TEST(flyway_statement_transaction_rules)
{
    /* PostgreSQLParser.detectCanExecuteInTransaction with the first 10
     * keywords outside parentheses; ALTER TYPE ... ADD VALUE only below 12. */
    struct {
        const char *sql;
        enum flyway_tx want;
    } cases[] = {
        {"CREATE INDEX CONCURRENTLY t_a ON t (a)", FLYWAY_NO_TX},
        {"-- c\ncreate unique index concurrently if not exists t_b on t (b)", FLYWAY_NO_TX},
        {"DROP INDEX CONCURRENTLY t_a", FLYWAY_NO_TX},
        {"DROP INDEX CONCURRENTLY IF EXISTS public.t_a", FLYWAY_NO_TX},
        {"VACUUM ANALYZE t", FLYWAY_NO_TX},
        {"vacuum", FLYWAY_NO_TX},
        {"CREATE DATABASE x", FLYWAY_NO_TX},
        {"DROP TABLESPACE x", FLYWAY_NO_TX},
        {"ALTER SYSTEM SET work_mem = '64MB'", FLYWAY_NO_TX},
        {"REINDEX DATABASE x", FLYWAY_NO_TX},
        {"REINDEX VERBOSE SCHEMA public", FLYWAY_NO_TX},
        {"REINDEX (VERBOSE) SYSTEM x", FLYWAY_NO_TX},
        {"DISCARD ALL", FLYWAY_NO_TX},
        {"CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p", FLYWAY_NO_TX},
        {"ALTER TYPE mood ADD VALUE 'meh'", FLYWAY_NO_TX_BELOW_PG12},
        {"ALTER TYPE public.mood ADD VALUE IF NOT EXISTS 'meh' AFTER 'ok'",
         FLYWAY_NO_TX_BELOW_PG12},
        /* not on Flyway's list: runs in a transaction (and PostgreSQL refuses it) */
        {"REINDEX INDEX CONCURRENTLY t_a", FLYWAY_TX},
        {"CREATE INDEX t_a ON t (a)", FLYWAY_TX},
        {"CREATE /* CONCURRENTLY */ INDEX t_a ON t (a)", FLYWAY_TX},
        {"CREATE \"INDEX\" CONCURRENTLY", FLYWAY_TX},
        {"SELECT 'VACUUM'", FLYWAY_TX},
        {"DO $$ BEGIN VACUUM; END $$", FLYWAY_TX},
        {"ALTER TYPE mood RENAME VALUE 'a' TO 'b'", FLYWAY_TX},
        {"ALTER TYPE mood OWNER TO x", FLYWAY_TX},
        /* a 12th keyword is past the cutoff */
        {"ALTER TYPE a b c d e f g h ADD VALUE 'x'", FLYWAY_TX},
        {"ALTER TYPE a b c d e f ADD VALUE 'x'", FLYWAY_NO_TX_BELOW_PG12},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum flyway_tx got = flyway_statement_tx(cases[i].sql);
        if (got != cases[i].want)
            fprintf(stderr, "case %zu: %s\n", i, cases[i].sql);
        TM_EXPECT_INT(got, cases[i].want);
    }
}

TM_TEST(flyway_concurrently_scripts_run_outside_a_transaction)
{
    /* Flyway 13.12.2 applied these with checksums 1352439208, 176411970,
     * -1039734461 (and 635163532 for the mixed one under mixed=true). */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "b", &c, &err, "b/V1__t.sql", "CREATE TABLE t (a int, b int);\n", "b/V2__conc.sql",
        "-- c\nCREATE INDEX CONCURRENTLY t_a ON t (a);\n", "b/V3__two_conc.sql",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_b ON t (b);\nDROP INDEX "
        "CONCURRENTLY t_a;\n",
        NULL);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT(c->sets[0].run_in_transaction);
    TM_EXPECT(!c->sets[1].run_in_transaction);
    TM_EXPECT(!c->sets[2].run_in_transaction);
    TM_EXPECT_STR(c->sets[0].checksum, "1352439208");
    TM_EXPECT_STR(c->sets[1].checksum, "176411970");
    TM_EXPECT_STR(c->sets[2].checksum, "-1039734461");
    chlog_free(c);
}

TM_TEST(flyway_mixed_script_is_refused_unless_mixed)
{
    /* Flyway 13.12.2: "Detected both transactional and non-transactional
     * statements within the same migration (even though mixed is false).
     * Offending statement found at line 2: CREATE INDEX CONCURRENTLY u_a ON u
     * (a) [non-transactional]" */
    const char *mixed = "CREATE TABLE u (a int);\nCREATE INDEX CONCURRENTLY u_a ON u (a);\n";
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("b", &c, &err, "b/V4__mixed.sql", mixed, NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "V4__mixed.sql:2: Detected both transactional and "
                                "non-transactional statements");
    TM_EXPECT_CONTAINS(err.msg, "CREATE INDEX CONCURRENTLY u_a ON u (a) [non-transactional]");
    chlog_free(c);
    c = NULL;
    const char *props[] = {"flyway.mixed=true", NULL};
    rc = load_props("b", props, &c, &err, "b/V4__mixed.sql", mixed, NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT(!c->sets[0].run_in_transaction);
    TM_EXPECT_STR(c->sets[0].checksum, "635163532");
    chlog_free(c);
    c = NULL;
    /* a script's own .conf decides, mixed or not (SqlScriptMetadata) */
    rc = load_mem("b", &c, &err, "b/V4__mixed.sql", mixed, "b/V4__mixed.sql.conf",
                  "executeInTransaction=true\n", NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT(c->sets[0].run_in_transaction);
    chlog_free(c);
}

TM_TEST(flyway_alter_type_add_value_is_left_to_the_server_version)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("e", &c, &err, "e/V1__enum.sql",
                               "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood ADD VALUE 'meh';\n",
                               NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT(c->sets[0].run_in_transaction);
    TM_EXPECT(c->sets[0].no_tx_below_pg12);
    chlog_free(c);
}

TM_TEST(flyway_locations_name_scripts_below_their_location)
{
    /* Conductor: V13.1 in one location, V13.2 in another, ordered together */
    const char *props[] = {
        "flyway.locations=classpath:db/main, filesystem:db/data", NULL};
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_props("db/main", props, &c, &err, "db/main/V13__a.sql", "SELECT 1;",
                                 "db/main/V13.1__b.sql", "SELECT 2;", "db/data/V13.2__c.sql",
                                 "SELECT 3;", "db/data/sub/V14__d.sql", "SELECT 4;",
                                 "db/other/V15__e.sql", "SELECT 5;", NULL);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 4);
    TM_EXPECT_STR(c->sets[1].filename, "V13.1__b.sql");
    TM_EXPECT_STR(c->sets[2].filename, "V13.2__c.sql");
    TM_EXPECT_STR(c->sets[3].filename, "sub/V14__d.sql");
    chlog_free(c);
}

TM_TEST(flyway_callback_scripts_are_refused)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db", &c, &err, "db/V1__a.sql", "SELECT 1;", "db/afterMigrate.sql",
                               "SELECT 2;", NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "afterMigrate.sql: a Flyway callback script");
    chlog_free(c);
}

TM_TEST_MAIN()
