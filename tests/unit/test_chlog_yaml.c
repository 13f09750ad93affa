/* Unit tests: Liquibase YAML changelogs through chlog_load (mem and disk fs). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "common/buf.h"
#include "common/caps.h"
#include "tm_test.h"
#include "chlog_fixture.h"


TM_TEST(yaml_parses_ids_authors_sql_rollback_and_attributes)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db/changelog.yaml", &c, &err,
        "db/changelog.yaml",
        "databaseChangeLog:\n"
        "  - changeSet:\n"
        "      id: 1\n"
        "      author: alice\n"
        "      runOnChange: true\n"
        "      runAlways: false\n"
        "      runInTransaction: false\n"
        "      failOnError: false\n"
        "      contextFilter: prod and !test\n"
        "      labels: core,orders\n"
        "      comment: first table\n"
        "      dbms: postgresql\n"
        "      validCheckSum: [ANY, '9:abc']\n"
        "      changes:\n"
        "        - sql: CREATE TABLE a (id int);\n"
        "        - sql:\n"
        "            sql: CREATE TABLE b (id int)/\n"
        "            splitStatements: false\n"
        "            stripComments: true\n"
        "            endDelimiter: /\n"
        "      rollback: DROP TABLE b; DROP TABLE a;\n"
        "  - changeSet:\n"
        "      id: two\n"
        "      author: bob\n"
        "      context: dev\n"
        "      changes:\n"
        "        - sql: {sql: SELECT 1}\n",
        NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->format, CHLOG_FORMAT_LIQUIBASE_YAML);
    TM_EXPECT_STR(c->entry, "db/changelog.yaml");
    TM_ASSERT_INT(c->nsets, 2);
    const struct chlog_changeset *a = &c->sets[0];
    TM_EXPECT_STR(a->id, "1");
    TM_EXPECT_STR(a->author, "alice");
    TM_EXPECT_STR(a->filename, "db/changelog.yaml");
    TM_EXPECT_INT(a->line, 2);
    TM_EXPECT(a->run_on_change);
    TM_EXPECT(!a->run_always);
    TM_EXPECT(!a->run_in_transaction);
    TM_EXPECT(!a->fail_on_error);
    TM_EXPECT_STR(a->contexts, "prod and !test");
    TM_EXPECT_STR(a->labels, "core,orders");
    TM_EXPECT_STR(a->comment, "first table");
    TM_EXPECT_STR(a->dbms, "postgresql");
    TM_ASSERT_INT(a->nvalid_checksums, 2);
    TM_EXPECT_STR(a->valid_checksums[0], "ANY");
    TM_EXPECT_STR(a->valid_checksums[1], "9:abc");
    TM_ASSERT_INT(a->nchanges, 2);
    TM_EXPECT_INT(a->changes[0].kind, CHLOG_CHANGE_SQL);
    TM_EXPECT_STR(a->changes[0].sql, "CREATE TABLE a (id int);");
    TM_EXPECT(a->changes[0].split_statements);
    TM_EXPECT(!a->changes[0].strip_comments);
    TM_EXPECT_STR(a->changes[1].sql, "CREATE TABLE b (id int)/");
    TM_EXPECT(!a->changes[1].split_statements);
    TM_EXPECT(a->changes[1].strip_comments);
    TM_EXPECT_STR(a->changes[1].end_delimiter, "/");
    TM_EXPECT(a->has_rollback);
    TM_EXPECT_STR(a->rollback_sql, "DROP TABLE b; DROP TABLE a;");
    TM_EXPECT(a->tag == NULL);
    const struct chlog_changeset *b = &c->sets[1];
    TM_EXPECT_STR(b->id, "two");
    TM_EXPECT_STR(b->contexts, "dev");
    TM_EXPECT(b->run_in_transaction);
    TM_EXPECT(b->fail_on_error);
    TM_EXPECT(!b->has_rollback);
    TM_EXPECT(b->rollback_sql == NULL);
    TM_EXPECT_STR(b->changes[0].sql, "SELECT 1");
    chlog_free(c);
}

TM_TEST(yaml_tags_attach_to_their_changeset_and_find_tag_returns_first)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("c.yaml", &c, &err, "c.yaml",
        "databaseChangeLog:\n"
        "- changeSet: {id: a, author: x, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: t1, author: x, changes: [{tagDatabase: {tag: v1}}]}\n"
        "- changeSet: {id: b, author: x, changes: [{sql: SELECT 2}, {tagDatabase: {tag: v2}}]}\n"
        "- changeSet: {id: t1again, author: x, changes: [{tagDatabase: {tag: v1}}]}\n",
        NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 4);
    TM_EXPECT(c->sets[0].tag == NULL);
    TM_EXPECT_STR(c->sets[1].tag, "v1");
    TM_EXPECT_INT(c->sets[1].changes[0].kind, CHLOG_CHANGE_TAG);
    TM_EXPECT(c->sets[1].changes[0].sql == NULL);
    TM_EXPECT_STR(c->sets[2].tag, "v2");
    TM_EXPECT_INT(chlog_find_tag(c, "v1"), 1);
    TM_EXPECT_INT(chlog_find_tag(c, "v2"), 2);
    TM_EXPECT_INT(chlog_find_tag(c, "v3"), -1);
    chlog_free(c);
}

TM_TEST(yaml_explicit_empty_rollback_is_marked)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("c.yaml", &c, &err, "c.yaml",
        "databaseChangeLog:\n"
        "- changeSet:\n"
        "    id: a\n"
        "    author: x\n"
        "    changes: [{sql: INSERT INTO t VALUES (1)}]\n"
        "    rollback:\n"
        "- changeSet:\n"
        "    id: b\n"
        "    author: x\n"
        "    changes: [{sql: INSERT INTO t VALUES (2)}]\n"
        "    rollback: []\n"
        "- changeSet:\n"
        "    id: c\n"
        "    author: x\n"
        "    changes: [{sql: CREATE TABLE u (i int)}]\n"
        "    rollback:\n"
        "      - sql: {sql: DELETE FROM u}\n"
        "      - DROP TABLE u\n",
        NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 3);
    TM_EXPECT(c->sets[0].has_rollback);
    TM_EXPECT_STR(c->sets[0].rollback_sql, "");
    TM_EXPECT(c->sets[1].has_rollback);
    TM_EXPECT_STR(c->sets[1].rollback_sql, "");
    TM_EXPECT(c->sets[2].has_rollback);
    TM_EXPECT_STR(c->sets[2].rollback_sql, "DELETE FROM u;\nDROP TABLE u");
    chlog_free(c);
}

TM_TEST(yaml_properties_substitute_and_unknown_stay)
{
    struct chlog_props props;
    chlog_props_init(&props);
    struct tm_err err = {0};
    TM_ASSERT_INT(chlog_props_set(&props, "owner", "app_user", &err), TM_OK);
    TM_ASSERT_INT(chlog_props_set(&props, "schema", "from_caller", &err), TM_OK);
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    const char *y =
        "databaseChangeLog:\n"
        "- changeSet:\n"
        "    id: a\n"
        "    author: x\n"
        "    changes:\n"
        "      - sql: CREATE TABLE ${schema}.${table} (id int); GRANT ALL ON ${table} TO ${owner}; -- ${missing}\n"
        "    rollback: DROP TABLE ${schema}.${table}\n"
        "- property: {name: table, value: orders}\n"
        "- property: {name: schema, value: from_file}\n";
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "c.yaml", y, strlen(y), &err), TM_OK);
    struct chlog *c = NULL;
    enum tm_code rc = chlog_load(&fs, "c.yaml", &props, &c, &err);
    TM_ASSERT_INT(rc, TM_OK);
    TM_EXPECT_STR(c->sets[0].changes[0].sql,
                  "CREATE TABLE from_caller.orders (id int); GRANT ALL ON orders TO app_user; "
                  "-- ${missing}");
    TM_EXPECT_STR(c->sets[0].rollback_sql, "DROP TABLE from_caller.orders");
    chlog_free(c);
    chlog_fs_mem_release(&fs);
    chlog_props_release(&props);
}

TM_TEST(yaml_include_and_sqlfile_resolve_paths_and_filenames)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db/master.yaml", &c, &err,
        "db/master.yaml",
        "databaseChangeLog:\n"
        "- include: {file: parts/one.yaml, relativeToChangelogFile: true}\n"
        "- include: {file: db/parts/two.yaml}\n"
        "- changeSet:\n"
        "    id: m\n"
        "    author: x\n"
        "    changes:\n"
        "      - sqlFile: {path: sql/m.sql, relativeToChangelogFile: true, splitStatements: false}\n"
        "      - sqlFile: {path: db/sql/m.sql}\n",
        "db/parts/one.yaml",
        "databaseChangeLog:\n"
        "- changeSet: {id: one, author: x, changes: [{sqlFile: {path: ../sql/one.sql, relativeToChangelogFile: true}}]}\n",
        "db/parts/two.yaml",
        "databaseChangeLog:\n- changeSet: {id: two, author: x, changes: [{sql: SELECT 2}]}\n",
        "db/sql/one.sql", "SELECT 'one';\n",
        "db/sql/m.sql", "SELECT 'm';\n",
        NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 3);
    TM_EXPECT_STR(c->sets[0].id, "one");
    TM_EXPECT_STR(c->sets[0].filename, "db/parts/one.yaml");
    TM_EXPECT_INT(c->sets[0].changes[0].kind, CHLOG_CHANGE_SQL_FILE);
    TM_EXPECT_STR(c->sets[0].changes[0].path, "../sql/one.sql");
    TM_EXPECT_STR(c->sets[0].changes[0].sql, "SELECT 'one';\n");
    TM_EXPECT_STR(c->sets[1].id, "two");
    TM_EXPECT_STR(c->sets[1].filename, "db/parts/two.yaml");
    TM_EXPECT_STR(c->sets[2].filename, "db/master.yaml");
    TM_EXPECT_STR(c->sets[2].changes[0].sql, "SELECT 'm';\n");
    TM_EXPECT(!c->sets[2].changes[0].split_statements);
    TM_EXPECT_STR(c->sets[2].changes[1].sql, "SELECT 'm';\n");
    chlog_free(c);
}

TM_TEST(yaml_include_all_is_recursive_and_lexicographic)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("master.yaml", &c, &err,
        "master.yaml",
        "databaseChangeLog:\n"
        "- includeAll: {path: changes/}\n"
        "- changeSet: {id: last, author: x, changes: [{sql: SELECT 9}]}\n",
        "changes/10-b.yaml", "databaseChangeLog:\n- changeSet: {id: b10, author: x, changes: [{sql: SELECT 10}]}\n",
        "changes/2-a.yaml", "databaseChangeLog:\n- changeSet: {id: a2, author: x, changes: [{sql: SELECT 2}]}\n",
        "changes/1-sub/x.sql", "--liquibase formatted sql\n--changeset y:sub\nSELECT 1;\n",
        "changes/3-raw.sql", "SELECT 3;\n",
        "changes/README.md", "not a changelog",
        NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 5);
    /* bytewise order of full paths: 1-sub/x.sql, 10-b.yaml, 2-a.yaml, 3-raw.sql */
    TM_EXPECT_STR(c->sets[0].id, "sub");
    TM_EXPECT_STR(c->sets[0].filename, "changes/1-sub/x.sql");
    TM_EXPECT_STR(c->sets[1].id, "b10");
    TM_EXPECT_STR(c->sets[1].filename, "changes/10-b.yaml");
    TM_EXPECT_STR(c->sets[2].id, "a2");
    TM_EXPECT_STR(c->sets[3].id, "raw");
    TM_EXPECT_STR(c->sets[3].author, "includeAll");
    TM_EXPECT_STR(c->sets[3].changes[0].sql, "SELECT 3;\n");
    TM_EXPECT_STR(c->sets[4].id, "last");
    chlog_free(c);
}

TM_TEST(yaml_include_all_relative_uses_normalised_paths)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("db/master.yaml", &c, &err,
        "db/master.yaml",
        "databaseChangeLog:\n- includeAll: {path: ./changes, relativeToChangelogFile: true}\n",
        "db/changes/b.yaml", "databaseChangeLog:\n- changeSet: {id: b, author: x, changes: [{sql: SELECT 2}]}\n",
        "db/changes/a.yaml", "databaseChangeLog:\n- changeSet: {id: a, author: x, changes: [{sql: SELECT 1}]}\n",
        NULL);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 2);
    TM_EXPECT_STR(c->sets[0].filename, "db/changes/a.yaml");
    TM_EXPECT_STR(c->sets[1].filename, "db/changes/b.yaml");
    chlog_free(c);
    rc = load_mem("db/master.yaml", &c, &err,
        "db/master.yaml", "databaseChangeLog:\n- includeAll: {path: nowhere/}\n", NULL);
    TM_EXPECT_INT(rc, TM_E_NOTFOUND);
    TM_EXPECT_CONTAINS(err.msg, "db/master.yaml:2:3: includeAll: folder nowhere not found");
    chlog_free(c);
}

TM_TEST(yaml_precondition_sql_check_and_on_fail)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("c.yaml", &c, &err, "c.yaml",
        "databaseChangeLog:\n"
        "- changeSet:\n"
        "    id: a\n"
        "    author: x\n"
        "    preConditions:\n"
        "      - onFail: MARK_RAN\n"
        "      - sqlCheck:\n"
        "          expectedResult: 0\n"
        "          sql: SELECT count(*) FROM pg_tables WHERE tablename = 't'\n"
        "    changes: [{sql: CREATE TABLE t (i int)}]\n",
        NULL);
    TM_ASSERT_INT(rc, TM_OK);
    const struct chlog_precondition *pc = c->sets[0].precondition;
    TM_ASSERT(pc != NULL);
    TM_EXPECT_INT(pc->on_fail, CHLOG_ONFAIL_MARK_RAN);
    /* the preConditions element is an AND container holding the sqlCheck */
    TM_EXPECT_INT(pc->kind, CHLOG_PRECOND_AND);
    TM_ASSERT(pc->nkids == 1);
    TM_EXPECT_INT(pc->kids[0].kind, CHLOG_PRECOND_CHECK);
    TM_EXPECT_STR(pc->kids[0].expected, "0");
    TM_EXPECT_STR(pc->kids[0].sql, "SELECT count(*) FROM pg_tables WHERE tablename = 't'");
    chlog_free(c);
}

TM_TEST(yaml_sample_changelog_on_disk_has_three_tags_in_order)
{
    const char *src = tm_test_env("TIDEMARK_SOURCE_DIR");
    TM_ASSERT(src != NULL);
    char root[4096];
    snprintf(root, sizeof(root), "%s/tests/data/changelogs/liquibase-yaml", src);
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_disk_init(&fs, root), TM_OK);
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = chlog_load(&fs, "changelog.yaml", NULL, &c, &err);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 7);
    TM_EXPECT_STR(c->sets[0].id, "001-customers");
    TM_EXPECT_STR(c->sets[0].filename, "changes/001-customers.yaml");
    TM_EXPECT_CONTAINS(c->sets[0].changes[0].sql, "CREATE TABLE public.customers");
    TM_EXPECT_STR(c->sets[0].rollback_sql, "DROP TABLE public.customers;");
    TM_EXPECT_INT(chlog_find_tag(c, "v1.0.0"), 1);
    TM_EXPECT_STR(c->sets[2].id, "002-orders");
    TM_EXPECT_CONTAINS(c->sets[2].changes[0].sql, "REFERENCES public.customers (id)");
    TM_EXPECT_STR(c->sets[2].rollback_sql, "DROP TABLE public.orders;");
    TM_EXPECT(!c->sets[3].run_in_transaction);
    TM_EXPECT_INT(chlog_find_tag(c, "v1.1.0"), 4);
    TM_EXPECT(c->sets[5].run_on_change);
    TM_EXPECT_INT(chlog_find_tag(c, "v1.2.0"), 6);
    for (size_t i = 0; i < c->nsets; i++)
        TM_EXPECT(strncmp(c->sets[i].checksum, "9:", 2) == 0 && strlen(c->sets[i].checksum) == 34);
    chlog_free(c);
    chlog_fs_disk_release(&fs);
}

TM_TEST(yaml_plain_scalar_ids_are_typed_like_snakeyaml)
{
    /* Liquibase reads `id: 1.10` as the Double 1.1 and stores "1.1" */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("c.yaml", &c, &err, "c.yaml",
        "databaseChangeLog:\n"
        "- changeSet: {id: 1.10, author: yes, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: '1.10', author: 'yes', changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: 007, author: x, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: 0x1F, author: x, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: 1_000, author: x, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: 08, author: x, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: 1e7, author: x, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: 1.2.3, author: x, changes: [{sql: SELECT 1}, {tagDatabase: {tag: 2.0}}]}\n"
        "- changeSet: {id: 0.001, author: Off, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: -12, author: x, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: 1:30, author: x, changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: 1:70, author: x, changes: [{sql: SELECT 1}]}\n",
        NULL);
    if (rc != TM_OK)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT_INT(rc, TM_OK);
    TM_ASSERT_INT(c->nsets, 12);
    TM_EXPECT_STR(c->sets[0].id, "1.1");
    TM_EXPECT_STR(c->sets[0].author, "true");
    TM_EXPECT_STR(c->sets[1].id, "1.10");
    TM_EXPECT_STR(c->sets[1].author, "yes");
    TM_EXPECT_STR(c->sets[2].id, "7");
    TM_EXPECT_STR(c->sets[3].id, "31");
    TM_EXPECT_STR(c->sets[4].id, "1000");
    TM_EXPECT_STR(c->sets[5].id, "8.0");
    TM_EXPECT_STR(c->sets[6].id, "1.0E7");
    TM_EXPECT_STR(c->sets[7].id, "1.2.3");
    TM_EXPECT_STR(c->sets[7].tag, "2.0");
    TM_EXPECT_STR(c->sets[8].id, "0.001");
    TM_EXPECT_STR(c->sets[8].author, "false");
    TM_EXPECT_STR(c->sets[9].id, "-12");
    TM_EXPECT_STR(c->sets[10].id, "90"); /* YAML 1.1 sexagesimal */
    TM_EXPECT_STR(c->sets[11].id, "1:70");
    chlog_free(c);
}

TM_TEST(yaml_null_author_is_missing)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("c.yaml", &c, &err, "c.yaml",
        "databaseChangeLog:\n- changeSet: {id: 1, author: ~, changes: [{sql: SELECT 1}]}\n", NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "c.yaml:2:3: changeSet needs an author");
    chlog_free(c);
}

/* ---- malformed input: each error names file:line and what was expected ---- */

static void expect_error(const char *yaml, enum tm_code code, const char *where,
                         const char *what)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("changelog.yaml", &c, &err, "changelog.yaml", yaml,
                               "other.yaml", "databaseChangeLog:\n- changeSet: {id: 1, author: x, changes: [{sql: SELECT 1}]}\n",
                               NULL);
    TM_EXPECT_INT(rc, code);
    TM_EXPECT(c == NULL);
    TM_EXPECT_CONTAINS(err.msg, where);
    TM_EXPECT_CONTAINS(err.msg, what);
    chlog_free(c);
}

TM_TEST(yaml_bad_yaml_reports_line_and_column)
{
    expect_error("databaseChangeLog:\n- changeSet:\n    id: [1\n    author: x\n", TM_E_PARSE,
                 "changelog.yaml:", "invalid YAML");
}

TM_TEST(yaml_missing_author_is_an_error_with_position)
{
    expect_error("databaseChangeLog:\n"
                 "- changeSet:\n"
                 "    id: 1\n"
                 "    changes: [{sql: SELECT 1}]\n",
                 TM_E_INVAL, "changelog.yaml:2:3:", "changeSet needs an author");
}

TM_TEST(yaml_missing_id_is_an_error)
{
    expect_error("databaseChangeLog:\n- changeSet: {author: x, changes: [{sql: SELECT 1}]}\n",
                 TM_E_INVAL, "changelog.yaml:2:3:", "changeSet needs an id");
}

TM_TEST(yaml_duplicate_changeset_is_an_error)
{
    expect_error("databaseChangeLog:\n"
                 "- changeSet: {id: 1, author: x, changes: [{sql: SELECT 1}]}\n"
                 "- changeSet: {id: 1, author: x, changes: [{sql: SELECT 2}]}\n",
                 TM_E_INVAL, "changelog.yaml:3:", "duplicate changeSet 1::x::changelog.yaml");
}

TM_TEST(yaml_same_id_in_another_file_is_not_a_duplicate)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("changelog.yaml", &c, &err, "changelog.yaml",
        "databaseChangeLog:\n"
        "- changeSet: {id: 1, author: x, changes: [{sql: SELECT 1}]}\n"
        "- include: {file: other.yaml}\n",
        "other.yaml", "databaseChangeLog:\n- changeSet: {id: 1, author: x, changes: [{sql: SELECT 1}]}\n",
        NULL);
    TM_EXPECT_INT(rc, TM_OK);
    TM_EXPECT(c && c->nsets == 2);
    chlog_free(c);
}

TM_TEST(yaml_bad_boolean_is_an_error)
{
    expect_error("databaseChangeLog:\n"
                 "- changeSet:\n"
                 "    id: 1\n"
                 "    author: x\n"
                 "    runOnChange: sometimes\n"
                 "    changes: [{sql: SELECT 1}]\n",
                 TM_E_INVAL, "changelog.yaml:5:18:", "runOnChange: expected true or false");
}

TM_TEST(yaml_unknown_change_type_is_an_error)
{
    expect_error("databaseChangeLog:\n"
                 "- changeSet:\n"
                 "    id: 1\n"
                 "    author: x\n"
                 "    changes:\n"
                 "      - createTabel: {tableName: t}\n",
                 TM_E_INVAL, "changelog.yaml:6:9:", "unknown change type 'createTabel'");
}

TM_TEST(yaml_missing_sql_file_is_an_error)
{
    expect_error("databaseChangeLog:\n"
                 "- changeSet:\n"
                 "    id: 1\n"
                 "    author: x\n"
                 "    changes:\n"
                 "      - sqlFile: {path: nope.sql}\n",
                 TM_E_NOTFOUND, "changelog.yaml:6:9:", "sqlFile nope.sql not found");
}

TM_TEST(yaml_missing_include_is_an_error)
{
    expect_error("databaseChangeLog:\n- include: {file: gone.yaml}\n", TM_E_NOTFOUND,
                 "changelog.yaml:2:", "gone.yaml not found");
}

TM_TEST(yaml_path_escaping_root_is_refused)
{
    expect_error("databaseChangeLog:\n"
                 "- changeSet:\n"
                 "    id: 1\n"
                 "    author: x\n"
                 "    changes:\n"
                 "      - sqlFile: {path: ../../etc/passwd}\n",
                 TM_E_INVAL, "changelog.yaml:6:", "escapes the changelog root");
    /* Liquibase (DatabaseChangeLog.normalizePath) drops a leading '/': the
     * path is read below the changelog root, never from the host's / */
    expect_error("databaseChangeLog:\n- include: {file: /etc/passwd.yaml}\n", TM_E_NOTFOUND,
                 "changelog.yaml:2:", "etc/passwd.yaml not found");
}

TM_TEST(yaml_include_cycle_is_an_error)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("a.yaml", &c, &err,
        "a.yaml", "databaseChangeLog:\n- include: {file: b.yaml}\n",
        "b.yaml", "databaseChangeLog:\n- include: {file: a.yaml}\n", NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "b.yaml:2:");
    TM_EXPECT_CONTAINS(err.msg, "include cycle");
    chlog_free(c);
}

TM_TEST(yaml_binary_input_is_refused)
{
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    struct tm_err err = {0};
    const char bin[] = "databaseChangeLog:\n\0\x01\x02";
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "c.yaml", bin, sizeof(bin) - 1, &err), TM_OK);
    struct chlog *c = NULL;
    TM_EXPECT_INT(chlog_load(&fs, "c.yaml", NULL, &c, &err), TM_E_PARSE);
    TM_EXPECT_CONTAINS(err.msg, "c.yaml:2:");
    TM_EXPECT_CONTAINS(err.msg, "binary");
    chlog_fs_mem_release(&fs);
}

TM_TEST(yaml_aliases_cannot_multiply_input_past_the_cap)
{
    /* a 1 MiB changeset repeated through 100 aliases would be 100 MiB */
    size_t big = 1u << 20;
    struct tm_buf b;
    tm_buf_init(&b, 4u << 20);
    TM_ASSERT_INT(tm_buf_adds(&b, "databaseChangeLog:\n- changeSet: &cs {id: a, author: x, "
                                  "changes: [{sql: \"SELECT '"), TM_OK);
    for (size_t i = 0; i < big / 64; i++)
        TM_ASSERT_INT(tm_buf_adds(&b, "0123456789012345678901234567890123456789012345678901234567890123"), TM_OK);
    TM_ASSERT_INT(tm_buf_adds(&b, "'\"}]}\n"), TM_OK);
    for (int i = 0; i < 100; i++)
        TM_ASSERT_INT(tm_buf_adds(&b, "- changeSet: *cs\n"), TM_OK);
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    struct tm_err err = {0};
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "c.yaml", tm_buf_str(&b), b.len, &err), TM_OK);
    tm_buf_release(&b);
    struct chlog *c = NULL;
    TM_EXPECT_INT(chlog_load(&fs, "c.yaml", NULL, &c, &err), TM_E_TOOBIG);
    TM_EXPECT_CONTAINS(err.msg, "changelog too large");
    TM_EXPECT(c == NULL);
    chlog_fs_mem_release(&fs);
}

TM_TEST(yaml_second_document_is_an_error)
{
    expect_error("databaseChangeLog:\n- changeSet: {id: 1, author: x, changes: [{sql: SELECT 1}]}\n"
                 "---\ndatabaseChangeLog: []\n",
                 TM_E_PARSE, "changelog.yaml:4:", "expected one YAML document");
}

TM_TEST(yaml_changelog_without_root_key_is_an_error)
{
    expect_error("changeSet:\n  id: 1\n", TM_E_PARSE, "changelog.yaml:1:1:",
                 "expected databaseChangeLog");
}

TM_TEST_MAIN()
