/* Unit tests: Liquibase formatted SQL changelogs through chlog_load. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "tm_test.h"

static enum tm_code load_one(const char *name, const char *text, struct chlog **out,
                             struct tm_err *err)
{
    struct chlog_fs fs;
    if (chlog_fs_mem_init(&fs) != TM_OK)
        return TM_E_NOMEM;
    enum tm_code rc = chlog_fs_mem_add(&fs, name, text, strlen(text), err);
    if (rc == TM_OK)
        rc = chlog_load(&fs, name, NULL, out, err);
    chlog_fs_mem_release(&fs);
    return rc;
}

TM_TEST(sqlfmt_parses_changesets_bodies_rollbacks_and_attributes)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_one("db/changelog.sql",
        "\n"
        "--liquibase formatted sql\n"
        "\n"
        "--changeset alice:1 runOnChange:true runAlways:false runInTransaction:false failOnError:false splitStatements:false stripComments:true endDelimiter:GO context:\"prod or dev\" labels:core dbms:postgresql\n"
        "--comment: creates t\n"
        "CREATE TABLE t (id int);\n"
        "-- a plain comment stays\n"
        "INSERT INTO t VALUES (1);\n"
        "--rollback DELETE FROM t;\n"
        "--rollback DROP TABLE t;\n"
        "\n"
        "--changeset bob:two contextFilter:test\n"
        "SELECT 2;\n"
        "/* liquibase rollback\n"
        "SELECT 'undo 2';\n"
        "SELECT 'more';\n"
        "*/\n"
        "--changeset \"carol smith\":\"3 three\"\n"
        "SELECT 3;\n",
        &c, &err);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_INT(c->format, CHLOG_FORMAT_LIQUIBASE_SQL);
    TM_ASSERT_INT(c->nsets, 3);
    const struct chlog_changeset *a = &c->sets[0];
    TM_EXPECT_STR(a->id, "1");
    TM_EXPECT_STR(a->author, "alice");
    TM_EXPECT_STR(a->filename, "db/changelog.sql");
    TM_EXPECT_INT(a->line, 4);
    TM_EXPECT(a->run_on_change);
    TM_EXPECT(!a->run_always);
    TM_EXPECT(!a->run_in_transaction);
    TM_EXPECT(!a->fail_on_error);
    TM_EXPECT_STR(a->contexts, "prod or dev");
    TM_EXPECT_STR(a->labels, "core");
    TM_EXPECT_STR(a->dbms, "postgresql");
    TM_EXPECT_STR(a->comment, "creates t");
    TM_ASSERT_INT(a->nchanges, 1);
    TM_EXPECT(!a->changes[0].split_statements);
    TM_EXPECT(a->changes[0].strip_comments);
    TM_EXPECT_STR(a->changes[0].end_delimiter, "GO");
    TM_EXPECT_STR(a->changes[0].sql,
                  "CREATE TABLE t (id int);\n-- a plain comment stays\nINSERT INTO t VALUES (1);");
    TM_EXPECT(a->has_rollback);
    TM_EXPECT_STR(a->rollback_sql, "DELETE FROM t;\nDROP TABLE t;");
    const struct chlog_changeset *b = &c->sets[1];
    TM_EXPECT_STR(b->id, "two");
    TM_EXPECT_STR(b->author, "bob");
    TM_EXPECT_STR(b->contexts, "test");
    TM_EXPECT(b->run_in_transaction);
    TM_EXPECT(b->changes[0].split_statements);
    TM_EXPECT_STR(b->changes[0].sql, "SELECT 2;");
    TM_EXPECT_STR(b->rollback_sql, "SELECT 'undo 2';\nSELECT 'more';");
    TM_EXPECT_STR(c->sets[2].author, "carol smith");
    TM_EXPECT_STR(c->sets[2].id, "3 three");
    TM_EXPECT(!c->sets[2].has_rollback);
    chlog_free(c);
}

TM_TEST(sqlfmt_tag_extension_tags_the_changeset_and_stays_in_sql)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_one("c.sql",
        "--liquibase formatted sql\n"
        "--changeset a:1\n"
        "CREATE TABLE t (i int);\n"
        "--tag v1.0.0\n"
        "--changeset a:2\n"
        "-- tag this is prose, not a tag\n"
        "SELECT 1;\n"
        "--changeset a:3\n"
        "SELECT 3;\n"
        "-- tagDatabase: v2\n"
        "--changeset a:4\n"
        "--tagDatabase v3 is prose without the colon\n"
        "SELECT 4;\n",
        &c, &err);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 4);
    TM_EXPECT(c->sets[3].tag == NULL);
    TM_EXPECT_STR(c->sets[0].tag, "v1.0.0");
    TM_EXPECT_STR(c->sets[0].changes[0].sql, "CREATE TABLE t (i int);\n--tag v1.0.0");
    TM_EXPECT(c->sets[1].tag == NULL);
    TM_EXPECT_STR(c->sets[2].tag, "v2");
    TM_EXPECT_INT(chlog_find_tag(c, "v1.0.0"), 0);
    TM_EXPECT_INT(chlog_find_tag(c, "v2"), 2);
    chlog_free(c);
}

TM_TEST(sqlfmt_empty_rollback_forms_are_marked)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_one("c.sql",
        "--liquibase formatted sql\n"
        "--changeset a:1\nSELECT 1;\n--rollback empty\n"
        "--changeset a:2\nSELECT 2;\n--rollback not required\n"
        "--changeset a:3\nSELECT 3;\n--rollback EMPTY on purpose: data only\n"
        "--changeset a:4\nSELECT 4;\n--rollback\n--rollback \n",
        &c, &err);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 4);
    for (size_t i = 0; i < 3; i++) {
        TM_EXPECT(c->sets[i].has_rollback);
        TM_EXPECT_STR(c->sets[i].rollback_sql, "");
    }
    /* Liquibase: a bare "--rollback" is a comment of the body, and
     * "--rollback " with nothing after it declares no rollback */
    TM_EXPECT(!c->sets[3].has_rollback);
    TM_EXPECT(c->sets[3].rollback_sql == NULL);
    TM_EXPECT_STR(c->sets[3].changes[0].sql, "SELECT 4;\n--rollback");
    chlog_free(c);
}

TM_TEST(sqlfmt_preconditions_properties_and_valid_checksums)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_one("c.sql",
        "--liquibase formatted sql\n"
        "--property name:tbl value:orders\n"
        "--changeset a:${tbl}-1\n"
        "--preconditions onFail:MARK_RAN onError:WARN\n"
        "--precondition-sql-check expectedResult:0 SELECT count(*) FROM pg_tables WHERE tablename = '${tbl}'\n"
        "--validCheckSum: 9:0123\n"
        "--validCheckSum ANY\n"
        "CREATE TABLE ${tbl} (id int); -- ${nope}\n"
        "--rollback DROP TABLE ${tbl};\n"
        "--changeset a:2\n"
        "--precondition-sql-check expectedResult:'a b' SELECT 'a b'\n"
        "SELECT 2;\n",
        &c, &err);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 2);
    const struct chlog_changeset *a = &c->sets[0];
    TM_EXPECT_STR(a->id, "orders-1");
    TM_EXPECT_STR(a->changes[0].sql, "CREATE TABLE orders (id int); -- ${nope}");
    TM_EXPECT_STR(a->rollback_sql, "DROP TABLE orders;");
    TM_ASSERT(a->precondition != NULL);
    TM_EXPECT_INT(a->precondition->on_fail, CHLOG_ONFAIL_MARK_RAN);
    TM_EXPECT_INT(a->precondition->on_error, CHLOG_ONFAIL_WARN);
    TM_EXPECT_STR(a->precondition->expected, "0");
    TM_EXPECT_STR(a->precondition->sql, "SELECT count(*) FROM pg_tables WHERE tablename = 'orders'");
    TM_ASSERT_INT(a->nvalid_checksums, 2);
    TM_EXPECT_STR(a->valid_checksums[0], "9:0123");
    TM_EXPECT_STR(a->valid_checksums[1], "ANY");
    TM_ASSERT(c->sets[1].precondition != NULL);
    TM_EXPECT_INT(c->sets[1].precondition->on_fail, CHLOG_ONFAIL_HALT);
    TM_EXPECT_STR(c->sets[1].precondition->expected, "a b");
    TM_EXPECT_STR(c->sets[1].precondition->sql, "SELECT 'a b'");
    chlog_free(c);
}

TM_TEST(sqlfmt_comment_and_rollback_match_liquibase_patterns_exactly)
{
    /* COMMENT is `--[\s]*comment:? (.*)` from the line start; ROLLBACK needs
     * "rollback " - other spellings are SQL comments of the body (and so
     * part of the checksum, as in Liquibase) */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_one("c.sql",
        "--liquibase formatted sql\n--changeset a:1\n"
        "-- comment: real\n"
        "  --comment: indented is body\n"
        "--comment:glued is body\n"
        "SELECT 1;\n"
        "  -- rollback SELECT 0;\n",
        &c, &err);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(c->sets[0].comment, "real");
    TM_EXPECT_STR(c->sets[0].changes[0].sql,
                  "--comment: indented is body\n--comment:glued is body\nSELECT 1;");
    TM_EXPECT_STR(c->sets[0].rollback_sql, "SELECT 0;");
    chlog_free(c);
}

TM_TEST(sqlfmt_crlf_and_bom_are_accepted)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_one("c.sql",
        "\xEF\xBB\xBF--liquibase formatted sql\r\n--changeset a:1\r\nSELECT 1;\r\n--rollback SELECT 0;\r\n",
        &c, &err);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(c->sets[0].changes[0].sql, "SELECT 1;");
    TM_EXPECT_STR(c->sets[0].rollback_sql, "SELECT 0;");
    chlog_free(c);
}

TM_TEST(sqlfmt_sample_changelog_on_disk_matches_the_yaml_one)
{
    const char *src = tm_test_env("TIDEMARK_SOURCE_DIR");
    TM_ASSERT(src != NULL);
    char root[4096];
    snprintf(root, sizeof(root), "%s/tests/data/changelogs", src);
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_disk_init(&fs, root), TM_OK);
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = chlog_load(&fs, "liquibase-sql/changelog.sql", NULL, &c, &err);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 4);
    TM_EXPECT_STR(c->sets[0].filename, "liquibase-sql/changelog.sql");
    TM_EXPECT_INT(chlog_find_tag(c, "v1.0.0"), 0);
    TM_EXPECT_INT(chlog_find_tag(c, "v1.1.0"), 2);
    TM_EXPECT_INT(chlog_find_tag(c, "v1.2.0"), 3);
    TM_EXPECT(!c->sets[2].run_in_transaction);
    TM_EXPECT(c->sets[3].run_on_change);
    TM_EXPECT_STR(c->sets[3].rollback_sql, "DROP VIEW IF EXISTS public.order_totals;");
    TM_EXPECT_STR(c->sets[0].rollback_sql, "DROP TABLE public.customers;");
    TM_ASSERT(c->sets[0].precondition != NULL);
    TM_EXPECT_INT(c->sets[0].precondition->on_fail, CHLOG_ONFAIL_MARK_RAN);
    TM_EXPECT_STR(c->sets[0].comment, "customers who place orders");
    TM_EXPECT_CONTAINS(c->sets[1].changes[0].sql, "REFERENCES public.customers (id)");
    chlog_free(c);
    chlog_fs_disk_release(&fs);
}

/* ---- malformed ---- */

static void expect_error(const char *text, enum tm_code code, const char *where, const char *what)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_one("changelog.sql", text, &c, &err);
    TM_EXPECT_INT(rc, code);
    TM_EXPECT(c == NULL);
    TM_EXPECT_CONTAINS(err.msg, where);
    TM_EXPECT_CONTAINS(err.msg, what);
    chlog_free(c);
}

TM_TEST(sqlfmt_changeset_before_header_is_an_error)
{
    expect_error("--changeset a:1\n--liquibase formatted sql\nSELECT 1;\n", TM_E_PARSE,
                 "changelog.sql:1:", "--liquibase formatted sql");
}

TM_TEST(sqlfmt_missing_author_is_an_error)
{
    expect_error("--liquibase formatted sql\n\n--changeset 1\nSELECT 1;\n", TM_E_PARSE,
                 "changelog.sql:3:", "expected --changeset author:id");
    expect_error("--liquibase formatted sql\n--changeset alice:\nSELECT 1;\n", TM_E_PARSE,
                 "changelog.sql:2:", "the id is missing");
    expect_error("--liquibase formatted sql\n--changeset alice: 1\nSELECT 1;\n", TM_E_PARSE,
                 "changelog.sql:2:19:", "no space after ':'");
}

TM_TEST(sqlfmt_duplicate_changeset_is_an_error)
{
    expect_error("--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n--changeset a:1\nSELECT 2;\n",
                 TM_E_INVAL, "changelog.sql:4:", "duplicate changeSet 1::a::changelog.sql");
}

TM_TEST(sqlfmt_bad_attribute_value_is_an_error)
{
    expect_error("--liquibase formatted sql\n--changeset a:1 runInTransaction:maybe\nSELECT 1;\n",
                 TM_E_INVAL, "changelog.sql:2:17:", "runInTransaction: expected true or false");
}

TM_TEST(sqlfmt_unknown_tag_syntax_is_an_error)
{
    expect_error("--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n--tag v1 v2\n", TM_E_PARSE,
                 "changelog.sql:4:", "expected --tag <name>");
    expect_error("--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n--tag\n", TM_E_PARSE,
                 "changelog.sql:4:", "expected --tag <name>");
    expect_error("--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n--tagDatabase:\n",
                 TM_E_PARSE, "changelog.sql:4:", "expected --tag <name>");
    expect_error("--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n--tag a\n--tag b\n",
                 TM_E_INVAL, "changelog.sql:5:", "already has a tag");
}

TM_TEST(sqlfmt_empty_body_and_sql_outside_changeset_are_errors)
{
    expect_error("--liquibase formatted sql\n--changeset a:1\n--rollback SELECT 1;\n--changeset a:2\nSELECT 2;\n",
                 TM_E_INVAL, "changelog.sql:2:", "has no SQL");
    expect_error("--liquibase formatted sql\nDROP TABLE t;\n--changeset a:1\nSELECT 1;\n", TM_E_PARSE,
                 "changelog.sql:2:", "SQL outside a changeset");
}

TM_TEST(sqlfmt_bad_preconditions_are_errors)
{
    expect_error("--liquibase formatted sql\n--changeset a:1\n--preconditions onFail:EXPLODE\nSELECT 1;\n",
                 TM_E_INVAL, "changelog.sql:3:", "onFail: expected HALT");
    expect_error("--liquibase formatted sql\n--changeset a:1\n--precondition-sql-check expectedResult:0\nSELECT 1;\n",
                 TM_E_PARSE, "changelog.sql:3:", "expectedResult:<value> <sql>");
    expect_error("--liquibase formatted sql\n--changeset a:1\n--precondition-table-exists table:t\nSELECT 1;\n",
                 TM_E_INVAL, "changelog.sql:3:", "only --precondition-sql-check");
}

TM_TEST(sqlfmt_rollback_by_changeset_reference_is_refused)
{
    expect_error("--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n"
                 "--rollback changesetId:0 changesetAuthor:a\n",
                 TM_E_INVAL, "changelog.sql:2:", "changesetId reference is not supported");
}

TM_TEST(sqlfmt_property_accepts_space_after_colon)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_one("c.sql",
        "--liquibase formatted sql\n--property name: t value: \"x\"\n--changeset a:1\nSELECT '${t}';\n",
        &c, &err);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(c->sets[0].changes[0].sql, "SELECT 'x';");
    chlog_free(c);
}

TM_TEST(sqlfmt_unterminated_rollback_block_is_an_error)
{
    expect_error("--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n/* liquibase rollback\nSELECT 0;\n",
                 TM_E_PARSE, "changelog.sql:4:", "unterminated");
}

TM_TEST(sqlfmt_huge_file_is_too_big)
{
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    size_t n = (16u << 20) + 1;
    char *big = malloc(n);
    TM_ASSERT(big != NULL);
    memset(big, 'x', n);
    struct tm_err err = {0};
    TM_EXPECT_INT(chlog_fs_mem_add(&fs, "big.sql", big, n, &err), TM_E_TOOBIG);
    TM_EXPECT_CONTAINS(err.msg, "big.sql");
    free(big);
    chlog_fs_mem_release(&fs);
}

TM_TEST_MAIN()
