/* Unit tests of the Liquibase changelog interpreter (controller/changelog/
 * lbparse.c) across XML, YAML and JSON: FILENAME rules (normalizePath,
 * classpath:, relativeToChangelogFile, logicalFilePath inheritance),
 * includeAll order and filters, properties with dbms, dbms-scoped changeSets
 * and changes, include context/labels, rollback forms, and the quirks
 * Liquibase tolerates (reported as warnings). */
#include "tm_test.h"

#include "changelog/chlog.h"
#include "chlog_fixture.h"

static const struct chlog_changeset *by_id(const struct chlog *c, const char *id)
{
    for (size_t i = 0; c && i < c->nsets; i++)
        if (strcmp(c->sets[i].id, id) == 0)
            return &c->sets[i];
    return NULL;
}

TM_TEST(xml_master_includes_yaml_json_and_sql_with_liquibase_filenames)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "db/master.xml", &c, &err, "db/master.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<databaseChangeLog xmlns=\"http://www.liquibase.org/xml/ns/dbchangelog\"\n"
        "  xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"
        "  xsi:schemaLocation=\"http://www.liquibase.org/xml/ns/dbchangelog "
        "http://www.liquibase.org/xml/ns/dbchangelog/dbchangelog-4.9.xsd\">\n"
        "  <include file=\"classpath:db/a.yaml\"/>\n"
        "  <include file=\"parts/b.json\" relativeToChangelogFile=\"true\"/>\n"
        "  <include file=\"/db/parts/../c.sql\"/>\n"
        "  <changeSet id=\"m1\" author=\"me\">\n"
        "    <comment>first line</comment>\n"
        "    <sql splitStatements=\"false\">\n      SELECT 'm1';\n    </sql>\n"
        "    <rollback>SELECT 'undo m1'</rollback>\n"
        "  </changeSet>\n"
        "</databaseChangeLog>\n",
        "db/a.yaml",
        "databaseChangeLog:\n- changeSet: {id: a1, author: me, changes: [{sql: SELECT 1}]}\n",
        "db/parts/b.json",
        "{\"databaseChangeLog\": [{\"changeSet\": {\"id\": \"b1\", \"author\": \"me\", "
        "\"changes\": [{\"sql\": {\"sql\": \"SELECT 2\"}}]}}]}\n",
        "db/c.sql", "--liquibase formatted sql\n--changeset me:c1\nSELECT 3;\n", NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->nsets == 4);
    TM_EXPECT_INT(c->format, CHLOG_FORMAT_LIQUIBASE_XML);
    /* non-relative include: the path as written, normalised (classpath: and a
     * leading '/' dropped, .. resolved); relative: resolved against the
     * including file */
    TM_EXPECT_STR(c->sets[0].filename, "db/a.yaml");
    TM_EXPECT_STR(c->sets[1].filename, "db/parts/b.json");
    TM_EXPECT_STR(c->sets[2].filename, "db/c.sql");
    TM_EXPECT_STR(c->sets[3].filename, "db/master.xml");
    TM_EXPECT_STR(c->sets[3].comment, "first line");
    TM_EXPECT_STR(c->sets[3].changes[0].sql, "SELECT 'm1';");
    TM_EXPECT(!c->sets[3].changes[0].split_statements);
    TM_EXPECT_STR(c->sets[3].rollback_sql, "SELECT 'undo m1'");
    chlog_free(c);
}

TM_TEST(entry_path_is_normalised_like_liquibase)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "classpath:db/changelog/master.yaml", &c, &err, "db/changelog/master.yaml",
        "databaseChangeLog:\n- changeSet: {id: 1, author: me, changes: [{sql: SELECT 1}]}\n",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_EXPECT_STR(c->sets[0].filename, "db/changelog/master.yaml");
    chlog_free(c);
}

TM_TEST(logical_file_path_inherits_down_includes_unless_a_file_has_its_own)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog logicalFilePath=\"logical/master\">\n"
        "  <include file=\"x.xml\"/>\n"
        "  <include file=\"y.xml\"/>\n"
        "  <changeSet id=\"m\" author=\"a\"><sql>SELECT 1</sql></changeSet>\n"
        "  <changeSet id=\"own\" author=\"a\" logicalFilePath=\"/per/changeset\">"
        "<sql>SELECT 1</sql></changeSet>\n"
        "</databaseChangeLog>\n",
        "x.xml",
        "<databaseChangeLog><changeSet id=\"x\" author=\"a\"><sql>SELECT 1</sql></changeSet>"
        "</databaseChangeLog>\n",
        "y.xml",
        "<databaseChangeLog logicalFilePath=\"y-own\"><changeSet id=\"y\" author=\"a\">"
        "<sql>SELECT 1</sql></changeSet></databaseChangeLog>\n",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_EXPECT_STR(by_id(c, "x")->filename, "logical/master");
    TM_EXPECT_STR(by_id(c, "y")->filename, "y-own");
    TM_EXPECT_STR(by_id(c, "m")->filename, "logical/master");
    TM_EXPECT_STR(by_id(c, "own")->filename, "per/changeset");
    chlog_free(c);
}

TM_TEST(include_all_sorts_paths_takes_every_format_and_drops_a_leading_slash)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "db/master.json", &c, &err, "db/master.json",
        "{\"databaseChangeLog\": [{\"includeAll\": {\"path\": \"/changes\", "
        "\"relativeToChangelogFile\": true}}]}\n",
        "db/changes/2.yaml",
        "databaseChangeLog:\n- changeSet: {id: two, author: a, changes: [{sql: SELECT 2}]}\n",
        "db/changes/10.xml",
        "<databaseChangeLog><changeSet id=\"ten\" author=\"a\"><sql>SELECT 10</sql></changeSet>"
        "</databaseChangeLog>",
        "db/changes/1/x.json",
        "{\"databaseChangeLog\": [{\"changeSet\": {\"id\": \"one\", \"author\": \"a\", "
        "\"changes\": [{\"sql\": \"SELECT 1\"}]}}]}",
        "db/changes/notes.txt", "not a changelog", NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->nsets == 3);
    /* String order of the resource paths: "1/x.json" < "10.xml" < "2.yaml" */
    TM_EXPECT_STR(c->sets[0].id, "one");
    TM_EXPECT_STR(c->sets[0].filename, "db/changes/1/x.json");
    TM_EXPECT_STR(c->sets[1].id, "ten");
    TM_EXPECT_STR(c->sets[2].id, "two");
    chlog_free(c);
}

TM_TEST(include_all_of_a_missing_folder_is_an_error_unless_allowed)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("m.xml", &c, &err, "m.xml",
                               "<databaseChangeLog><includeAll path=\"gone/\"/></databaseChangeLog>",
                               NULL);
    TM_EXPECT_INT(rc, TM_E_NOTFOUND);
    TM_EXPECT_CONTAINS(err.msg, "m.xml:1:");
    TM_EXPECT_CONTAINS(err.msg, "folder gone not found");
    rc = load_mem("m.xml", &c, &err, "m.xml",
                  "<databaseChangeLog><includeAll path=\"gone/\" errorIfMissingOrEmpty=\"false\"/>"
                  "<changeSet id=\"1\" author=\"a\"><sql>SELECT 1</sql></changeSet>"
                  "</databaseChangeLog>",
                  NULL);
    TM_ASSERT(rc == TM_OK);
    TM_EXPECT(c->nsets == 1);
    TM_ASSERT(c->nwarnings == 1);
    TM_EXPECT_CONTAINS(c->warnings[0], "folder gone not found; skipped");
    chlog_free(c);
}

TM_TEST(properties_scoped_to_another_dbms_do_not_apply)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog>\n"
        "  <property name=\"now\" value=\"sysdate\" dbms=\"oracle\"/>\n"
        "  <property name=\"now\" value=\"current_timestamp\" dbms=\"postgresql\"/>\n"
        "  <property name=\"now\" value=\"now()\" dbms=\"h2\"/>\n"
        "  <property name=\"later\" value=\"${now} + 1\"/>\n"
        "  <changeSet id=\"1\" author=\"a\"><sql>SELECT ${now}, ${later}, ${unset}</sql>"
        "</changeSet>\n"
        "</databaseChangeLog>\n",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_EXPECT_STR(c->sets[0].changes[0].sql,
                  "SELECT current_timestamp, current_timestamp + 1, ${unset}");
    chlog_free(c);
}

TM_TEST(dbms_scoped_changesets_and_changes_for_other_databases_are_dropped)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog>\n"
        "  <changeSet id=\"ora\" author=\"a\" dbms=\"oracle\"><sql>SELECT 1 FROM dual</sql>"
        "</changeSet>\n"
        "  <changeSet id=\"notpg\" author=\"a\" dbms=\"!postgresql\"><sql>x</sql></changeSet>\n"
        "  <changeSet id=\"pg\" author=\"a\" dbms=\"h2, postgresql\">\n"
        "    <sql dbms=\"mssql\">SELECT 'mssql'</sql>\n"
        "    <sql>SELECT 'all'</sql>\n"
        "  </changeSet>\n"
        "</databaseChangeLog>\n",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->nsets == 1);
    TM_EXPECT_STR(c->sets[0].id, "pg");
    /* the mssql change stays a change (DESCRIPTION "sql; sql") but never runs */
    TM_ASSERT(c->sets[0].nchanges == 2);
    TM_EXPECT(c->sets[0].changes[0].sql == NULL);
    TM_EXPECT_STR(c->sets[0].changes[0].dbms, "mssql");
    TM_EXPECT_STR(c->sets[0].changes[1].sql, "SELECT 'all'");
    /* and the v9 checksum is that of the PostgreSQL change alone */
    struct chlog_changeset one = c->sets[0];
    one.changes = &c->sets[0].changes[1];
    one.nchanges = 1;
    char want[64];
    TM_ASSERT(chlog_checksum_v9(&one, want) == TM_OK);
    TM_EXPECT_STR(c->sets[0].checksum, want);
    chlog_free(c);
}

TM_TEST(include_context_and_labels_are_inherited_by_included_changesets)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.yaml", &c, &err, "m.yaml",
        "databaseChangeLog:\n"
        "- include: {file: a.yaml, context: faker, labels: demo}\n"
        "- include: {file: b.sql, contextFilter: dev}\n",
        "a.yaml",
        "databaseChangeLog:\n"
        "- changeSet: {id: 1, author: a, context: 'test or prod', changes: [{sql: SELECT 1}]}\n"
        "- changeSet: {id: 2, author: a, changes: [{sql: SELECT 2}]}\n",
        "b.sql", "--liquibase formatted sql\n--changeset a:3 context:x\nSELECT 3;\n", NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->nsets == 3);
    /* own and inherited apart, as Liquibase keeps them */
    TM_EXPECT_STR(c->sets[0].contexts, "test or prod");
    TM_ASSERT(c->sets[0].ninherited_contexts == 1);
    TM_EXPECT_STR(c->sets[0].inherited_contexts[0], "faker");
    TM_EXPECT(c->sets[0].labels == NULL);
    TM_ASSERT(c->sets[0].ninherited_labels == 1);
    TM_EXPECT_STR(c->sets[0].inherited_labels[0], "demo");
    TM_EXPECT(c->sets[1].contexts == NULL);
    TM_EXPECT_STR(c->sets[1].inherited_contexts[0], "faker");
    TM_EXPECT_STR(c->sets[2].contexts, "x");
    TM_ASSERT(c->sets[2].ninherited_contexts == 1);
    TM_EXPECT_STR(c->sets[2].inherited_contexts[0], "dev");
    chlog_free(c);
    /* nested includes and a root context: innermost first */
    rc = load_mem("m.xml", &c, &err, "m.xml",
                  "<databaseChangeLog context=\"root\"><include file=\"a.xml\" context=\"outer\"/>"
                  "</databaseChangeLog>",
                  "a.xml",
                  "<databaseChangeLog><include file=\"b.xml\" contextFilter=\"inner\" context=\"x\"/>"
                  "</databaseChangeLog>",
                  "b.xml",
                  "<databaseChangeLog><changeSet id=\"1\" author=\"a\" context=\"own\" "
                  "contextFilter=\"\"><sql>SELECT 1</sql></changeSet></databaseChangeLog>",
                  NULL);
    TM_ASSERT(rc == TM_OK);
    TM_EXPECT_STR(c->sets[0].contexts, "own"); /* an empty contextFilter falls back */
    TM_ASSERT(c->sets[0].ninherited_contexts == 3);
    TM_EXPECT_STR(c->sets[0].inherited_contexts[0], "inner");
    TM_EXPECT_STR(c->sets[0].inherited_contexts[1], "outer");
    TM_EXPECT_STR(c->sets[0].inherited_contexts[2], "root");
    chlog_free(c);
}

TM_TEST(include_ignore_skips_the_included_changesets)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog><include file=\"a.xml\" ignore=\"true\"/>"
        "<changeSet id=\"keep\" author=\"a\"><sql>SELECT 1</sql></changeSet></databaseChangeLog>",
        "a.xml",
        "<databaseChangeLog><changeSet id=\"skip\" author=\"a\"><sql>SELECT 1</sql></changeSet>"
        "</databaseChangeLog>",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->nsets == 1);
    TM_EXPECT_STR(c->sets[0].id, "keep");
    chlog_free(c);
}

TM_TEST(rollback_forms_text_changes_reference_and_empty)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog>\n"
        "  <changeSet id=\"1\" author=\"a\"><sql>CREATE TABLE t (id int)</sql>"
        "<rollback><sql>DROP TABLE t</sql><sql>SELECT 'after'</sql></rollback></changeSet>\n"
        "  <changeSet id=\"2\" author=\"a\"><sql>DROP TABLE t</sql>"
        "<rollback changeSetId=\"1\" changeSetAuthor=\"a\"/></changeSet>\n"
        "  <changeSet id=\"3\" author=\"a\"><sql>SELECT 3</sql><rollback/></changeSet>\n"
        "  <changeSet id=\"4\" author=\"a\"><sql>SELECT 4</sql>"
        "<rollback changeSetId=\"nope\" changeSetAuthor=\"a\"/></changeSet>\n"
        "</databaseChangeLog>\n",
        NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "m.xml:5:");
    TM_EXPECT_CONTAINS(err.msg, "changeSet nope does not exist");
    rc = load_mem("m.yaml", &c, &err, "m.yaml",
                  "databaseChangeLog:\n"
                  "- changeSet:\n"
                  "    id: 1\n    author: a\n"
                  "    changes: [{sql: CREATE TABLE t (id int)}]\n"
                  "    rollback: [{sql: DROP TABLE t}, {sql: {sql: \"SELECT 'after'\"}}]\n"
                  "- changeSet:\n"
                  "    id: 2\n    author: a\n"
                  "    changes: [{sql: DROP TABLE t}]\n"
                  "    rollback: {changeSetId: 1, changeSetAuthor: a}\n"
                  "- changeSet:\n"
                  "    id: 3\n    author: a\n"
                  "    changes:\n"
                  "    - sql: SELECT 3\n"
                  "    - rollback: SELECT 'inside changes'\n",
                  NULL);
    TM_ASSERT(rc == TM_OK);
    TM_EXPECT_STR(c->sets[0].rollback_sql, "DROP TABLE t;\nSELECT 'after'");
    TM_EXPECT_STR(c->sets[1].rollback_sql, "CREATE TABLE t (id int)");
    /* aqts writes rollback as an item of changes: Liquibase takes it */
    TM_EXPECT(c->sets[2].has_rollback);
    TM_EXPECT_STR(c->sets[2].rollback_sql, "SELECT 'inside changes'");
    TM_EXPECT(c->sets[2].nchanges == 1);
    chlog_free(c);
}

TM_TEST(yaml_includes_written_as_lists_load)
{
    /* gravitee: "- include: [ {file: ...}, {relativeToChangelogFile: true} ]" */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "db/m.yml", &c, &err, "db/m.yml",
        "databaseChangeLog:\n"
        "  - include:\n"
        "      - file: v1/schema.yml\n"
        "      - relativeToChangelogFile: true\n",
        "db/v1/schema.yml",
        "databaseChangeLog:\n- changeSet: {id: 1, author: a, changes: [{sql: SELECT 1}]}\n",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->nsets == 1);
    TM_EXPECT_STR(c->sets[0].filename, "db/v1/schema.yml");
    chlog_free(c);
}

TM_TEST(json_that_is_only_valid_as_yaml_loads_like_liquibase)
{
    /* goldmanager: a bare "key": value pair inside a flow sequence */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.json", &c, &err, "m.json",
        "{\"databaseChangeLog\": [{\"changeSet\": {\"id\": \"1\", \"author\": \"a\",\n"
        "  \"changes\": [ {\"sql\": {\"sql\": \"SELECT 1\"}},\n"
        "               \"sql\": {\"sql\": \"SELECT 2\"} ]}}]}\n",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->nsets == 1);
    TM_ASSERT(c->sets[0].nchanges == 2);
    TM_EXPECT_STR(c->sets[0].changes[1].sql, "SELECT 2");
    TM_EXPECT_INT(c->format, CHLOG_FORMAT_LIQUIBASE_JSON);
    chlog_free(c);
}

TM_TEST(tolerated_quirks_become_warnings_not_silence)
{
    /* strohkoenigbot: update bodies without the 'update' key; aqts: an
     * 'inlude' typo at the top level.  Liquibase ignores both. */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.yaml", &c, &err, "m.yaml",
        "databaseChangeLog:\n"
        "- inlude: {file: x.yaml}\n"
        "- changeSet:\n"
        "    id: 1\n    author: a\n"
        "    changes:\n"
        "    - sql: SELECT 1\n"
        "    - tableName: t\n"
        "    - columns: [{column: {name: c, value: v}}]\n",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_EXPECT(c->sets[0].nchanges == 1);
    TM_ASSERT(c->nwarnings == 3);
    TM_EXPECT_CONTAINS(c->warnings[0], "m.yaml:2:");
    TM_EXPECT_CONTAINS(c->warnings[0], "unknown entry 'inlude'");
    TM_EXPECT_CONTAINS(c->warnings[1], "'tableName' inside changes");
    TM_EXPECT_CONTAINS(c->warnings[2], "'columns' inside changes");
    chlog_free(c);
}

TM_TEST(unknown_changeset_attribute_and_change_type_are_errors_with_position)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem("m.xml", &c, &err, "m.xml",
                               "<databaseChangeLog>\n<changeSet id=\"1\" author=\"a\" "
                               "runOnChnage=\"true\"><sql>SELECT 1</sql></changeSet>\n"
                               "</databaseChangeLog>",
                               NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "m.xml:2:");
    TM_EXPECT_CONTAINS(err.msg, "unknown changeSet attribute 'runOnChnage'");
    rc = load_mem("m.xml", &c, &err, "m.xml",
                  "<databaseChangeLog>\n<changeSet id=\"1\" author=\"a\">\n"
                  "  <createTabel tableName=\"t\"><column name=\"c\" type=\"int\"/></createTabel>\n"
                  "</changeSet></databaseChangeLog>",
                  NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "m.xml:3:");
    TM_EXPECT_CONTAINS(err.msg, "unknown change type 'createTabel'");
}

TM_TEST(comments_join_and_modify_sql_for_other_databases_is_ignored)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog><changeSet id=\"1\" author=\"a\">"
        "<comment> one </comment><sql>SELECT 1</sql><comment>two</comment>"
        "<modifySql dbms=\"mssql\"><replace replace=\"a\" with=\"b\"/></modifySql>"
        "</changeSet></databaseChangeLog>",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_EXPECT_STR(c->sets[0].comment, "one\ntwo");
    chlog_free(c);
    rc = load_mem("m.xml", &c, &err, "m.xml",
                  "<databaseChangeLog><changeSet id=\"1\" author=\"a\"><sql>SELECT 1</sql>"
                  "<modifySql><append value=\" x\"/></modifySql></changeSet></databaseChangeLog>",
                  NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "modifySql for PostgreSQL is not supported");
}

TM_TEST(change_descriptions_follow_liquibase_get_description)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog><changeSet id=\"1\" author=\"a\">"
        "<createIndex indexName=\"ix\" tableName=\"t\" schemaName=\"s\">"
        "<column name=\"c\"/></createIndex>"
        "<sqlFile path=\"x.sql\" relativeToChangelogFile=\"true\"/>"
        "<sql>SELECT 1</sql>"
        "</changeSet></databaseChangeLog>",
        "x.sql", "SELECT 2;", NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->sets[0].nchanges == 3);
    /* names ending in "name" (not schema/catalog) or "path", sorted */
    TM_EXPECT_STR(c->sets[0].changes[0].description, "createIndex indexName=ix, tableName=t");
    TM_EXPECT_STR(c->sets[0].changes[1].description, "sqlFile path=x.sql");
    TM_EXPECT(c->sets[0].changes[2].description == NULL);
    chlog_free(c);
}

TM_TEST(changelog_level_preconditions_of_included_files_nest_in_one_container)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog><preConditions><dbms type=\"postgresql\"/></preConditions>"
        "<include file=\"a.xml\"/></databaseChangeLog>",
        "a.xml",
        "<databaseChangeLog><preConditions onFail=\"WARN\"><tableExists tableName=\"t\"/>"
        "</preConditions><changeSet id=\"1\" author=\"a\"><sql>SELECT 1</sql></changeSet>"
        "</databaseChangeLog>",
        NULL);
    TM_ASSERT(rc == TM_OK);
    const struct chlog_precondition *pc = c->precondition;
    TM_ASSERT(pc != NULL);
    TM_EXPECT_INT(pc->kind, CHLOG_PRECOND_AND);
    TM_ASSERT(pc->nkids == 2);
    /* each file's container keeps its own onFail */
    TM_EXPECT(pc->kids[0].container);
    TM_EXPECT_INT(pc->kids[0].on_fail, CHLOG_ONFAIL_HALT);
    TM_EXPECT(pc->kids[1].container);
    TM_EXPECT_INT(pc->kids[1].on_fail, CHLOG_ONFAIL_WARN);
    chlog_free(c);
}

TM_TEST(yaml_unknown_attributes_are_warnings_xml_ones_errors)
{
    /* Liquibase checks XML against its XSD but reads YAML/JSON without a
     * schema, ignoring what no property reads (terra, jade, gravitee do this) */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.yaml", &c, &err, "m.yaml",
        "databaseChangeLog:\n"
        "- changeSet:\n"
        "    id: 1\n    author: a\n    remarks: not a changeSet attribute\n"
        "    changes:\n"
        "    - createTable:\n"
        "        tableName: t\n"
        "        columns:\n"
        "        - column: {name: id, type: int, constraints: {nullable: false, default: 0}}\n"
        "        - addPrimaryKey: {columnNames: id}\n"
        "    - addPrimaryKey: {tableName: t, columnNames: id, remarks: pk}\n",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->nwarnings == 4);
    TM_EXPECT_CONTAINS(c->warnings[0], "m.yaml:5:");
    TM_EXPECT_CONTAINS(c->warnings[0], "unknown changeSet attribute 'remarks'");
    TM_EXPECT_CONTAINS(c->warnings[1], "constraints: unknown attribute 'default'");
    TM_EXPECT_CONTAINS(c->warnings[2], "'addPrimaryKey' in columns is not a column");
    TM_EXPECT_CONTAINS(c->warnings[3], "addPrimaryKey: unknown attribute 'remarks'");
    TM_EXPECT(c->sets[0].nchanges == 2);
    chlog_free(c);
    rc = load_mem("m.xml", &c, &err, "m.xml",
                  "<databaseChangeLog><changeSet id=\"1\" author=\"a\">"
                  "<addPrimaryKey tableName=\"t\" columnNames=\"id\" remarks=\"pk\"/>"
                  "</changeSet></databaseChangeLog>",
                  NULL);
    TM_EXPECT_INT(rc, TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "addPrimaryKey: unknown attribute 'remarks'");
}

TM_TEST(database_properties_are_defined_first_like_liquibase)
{
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog><property name=\"database.typeName\" value=\"oracle\"/>"
        "<changeSet id=\"1\" author=\"a\"><sql>SELECT '${database.typeName}', "
        "'${database.defaultSchemaName}', ${database.currentDateTimeFunction}</sql></changeSet>"
        "</databaseChangeLog>",
        NULL);
    TM_ASSERT(rc == TM_OK);
    TM_EXPECT_STR(c->sets[0].changes[0].sql, "SELECT 'postgresql', 'public', NOW()");
    chlog_free(c);
}

TM_TEST(load_data_types_untyped_columns_from_the_changelogs_own_tables)
{
    /* JHipster: jhi_user.image_url is varchar and left untyped in loadData;
     * Liquibase types it from the table, so an empty cell is '' (not NULL) */
    struct chlog *c = NULL;
    struct tm_err err = {0};
    enum tm_code rc = load_mem(
        "m.xml", &c, &err, "m.xml",
        "<databaseChangeLog><changeSet id=\"1\" author=\"a\">"
        "<createTable tableName=\"u\"><column name=\"id\" type=\"bigint\"/>"
        "<column name=\"img\" type=\"varchar(256)\"/><column name=\"n\" type=\"int\"/>"
        "</createTable>"
        "<loadData tableName=\"u\" file=\"u.csv\" separator=\";\">"
        "<column name=\"id\" type=\"numeric\"/></loadData>"
        "</changeSet></databaseChangeLog>",
        "u.csv", "id;img;n\n1;;\n", NULL);
    TM_ASSERT(rc == TM_OK);
    TM_ASSERT(c->sets[0].nchanges == 2);
    const char *sql = c->sets[0].changes[1].sql;
    TM_EXPECT_CONTAINS(sql, "(1, '', NULL)");
    chlog_free(c);
}

TM_TEST_MAIN()
