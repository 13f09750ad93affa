/* Unit tests: Flyway folders through chlog_load. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
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
        "db/flyway.conf", "ignored",
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

TM_TEST(flyway_bad_versions_are_clear_errors)
{
    expect_error(TM_E_INVAL, "V1a__bad.sql: invalid version '1a'", "db/V1a__bad.sql", "SELECT 1;");
    expect_error(TM_E_INVAL, "V2.__x.sql: invalid version '2.'", "db/V2.__x.sql", "SELECT 1;");
    expect_error(TM_E_INVAL, "V__none.sql: missing version", "db/V__none.sql", "SELECT 1;");
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
    TM_EXPECT_CONTAINS(err.msg, "no Flyway V<version>__<description>.sql files");
    chlog_free(c);
}

TM_TEST_MAIN()
