/* Unit tests: the precondition compiler (controller/changelog/precond.c):
 * preConditions nodes (read from XML, or built in the YAML reader's shape)
 * in, the tree the engine evaluates out: kinds, SQL parameters with
 * Liquibase's PostgreSQL name correction, options, messages and errors.
 * What the SQL answers on a real database is tests/integration/
 * test_precond_pg.c. */
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/node.h"
#include "chlog_ld_fixture.h"
#include "tm_test.h"

/* Compiles the first preConditions element of an XML changelog body. */
static enum tm_code compile_xml(struct ld_fix *f, const char *body,
                                struct chlog_precondition **pc, struct tm_err *err)
{
    *pc = NULL;
    char x[8192];
    snprintf(x, sizeof(x), "<databaseChangeLog>\n%s\n</databaseChangeLog>\n", body);
    if (ld_fix_init(f) != TM_OK)
        return TM_E_NOMEM;
    enum tm_code rc = ld_fix_add(f, "c.xml", x, err);
    struct chlog_node *root = NULL;
    if (rc == TM_OK)
        rc = chlog_xml_read(&f->ld, "c.xml", &root, err);
    if (rc == TM_OK) {
        const struct chlog_node *pre = chlog_node_child(root, "preConditions");
        rc = pre ? chlog_precond_compile(&f->ld, pre, pc, err) : TM_E_NOTFOUND;
    }
    chlog_node_free(root);
    return rc;
}

static const char *param(const struct chlog_precondition *pc, size_t i)
{
    return pc && i < pc->nparams ? pc->params[i] : "(out of range)";
}

TM_TEST(precond_container_defaults_to_halt_and_is_an_and)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(compile_xml(&f, "<preConditions><tableExists tableName=\"t\"/></preConditions>",
                              &pc, &err),
                  TM_OK);
    TM_EXPECT_INT(pc->kind, CHLOG_PRECOND_AND);
    TM_EXPECT(pc->container);
    TM_EXPECT_INT(pc->on_fail, CHLOG_ONFAIL_HALT);
    TM_EXPECT_INT(pc->on_error, CHLOG_ONFAIL_HALT);
    TM_EXPECT(pc->on_fail_message == NULL && pc->on_error_message == NULL);
    TM_ASSERT_INT(pc->nkids, 1);
    TM_EXPECT_INT(pc->kids[0].kind, CHLOG_PRECOND_CHECK);
    chlog_precond_free(pc);
    ld_fix_release(&f);
}

TM_TEST(precond_options_are_case_insensitive_and_messages_kept)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(compile_xml(&f,
                              "<preConditions onFail=\"mark_ran\" onError=\"Warn\" "
                              "onFailMessage=\"already done\" onErrorMessage=\"broken\" "
                              "onSqlOutput=\"test\"><dbms type=\"postgresql\"/></preConditions>",
                              &pc, &err),
                  TM_OK);
    TM_EXPECT_INT(pc->on_fail, CHLOG_ONFAIL_MARK_RAN);
    TM_EXPECT_INT(pc->on_error, CHLOG_ONFAIL_WARN);
    TM_EXPECT_STR(pc->on_fail_message, "already done");
    TM_EXPECT_STR(pc->on_error_message, "broken");
    TM_ASSERT_INT(pc->nkids, 1); /* the options are not preconditions */
    chlog_precond_free(pc);
    ld_fix_release(&f);

    TM_EXPECT_INT(compile_xml(&f, "<preConditions onFail=\"SKIP\"/>", &pc, &err), TM_E_INVAL);
    TM_EXPECT(pc == NULL);
    TM_EXPECT_CONTAINS(err.msg, "c.xml:2: Unknown onFail attribute value 'SKIP'");
    TM_EXPECT_CONTAINS(err.msg, "HALT, CONTINUE, MARK_RAN, WARN");
    ld_fix_release(&f);

    TM_EXPECT_INT(compile_xml(&f, "<preConditions onError=\"x\"/>", &pc, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "Unknown onError attribute value 'x'");
    ld_fix_release(&f);

    TM_EXPECT_INT(compile_xml(&f, "<preConditions onSqlOutput=\"x\"/>", &pc, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "Unknown onSqlOutput attribute value 'x'");
    ld_fix_release(&f);
}

TM_TEST(precond_names_are_corrected_like_liquibase_on_postgresql)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(compile_xml(&f,
                              "<preConditions>\n"
                              "<tableExists tableName=\"ORDERS\" schemaName=\"APP\"/>\n"
                              "<tableExists tableName=\"Orders\"/>\n"
                              "<tableExists tableName=\"user\"/>\n"
                              "<tableExists tableName=\"my-Table\"/>\n"
                              "<tableExists tableName=\"1st\"/>\n"
                              "<viewExists viewName=\"V_Orders\"/>\n"
                              "</preConditions>",
                              &pc, &err),
                  TM_OK);
    TM_ASSERT_INT(pc->nkids, 6);
    const struct chlog_precondition *k = pc->kids;
    TM_EXPECT_INT(k[0].nparams, 2);
    TM_EXPECT_STR(param(&k[0], 0), "app");
    TM_EXPECT_STR(param(&k[0], 1), "orders");
    TM_EXPECT(k[1].params[0] == NULL); /* default schema: current_schema() */
    TM_EXPECT_CONTAINS(k[1].sql, "COALESCE($1, current_schema())");
    TM_EXPECT_CONTAINS(k[1].sql, "relkind IN ('r', 'p')");
    TM_EXPECT_STR(k[1].expected, "true");
    TM_EXPECT_STR(param(&k[1], 1), "Orders");   /* mixed case: kept */
    TM_EXPECT_STR(param(&k[2], 1), "user");     /* reserved word: kept */
    TM_EXPECT_STR(param(&k[3], 1), "my-Table"); /* '-': kept */
    TM_EXPECT_STR(param(&k[4], 1), "1st");
    TM_EXPECT_CONTAINS(k[5].sql, "relkind = 'v'");
    TM_EXPECT_STR(param(&k[5], 1), "V_Orders");
    TM_EXPECT_STR(k[0].what, "c.xml:3: Table APP.ORDERS does not exist");
    TM_EXPECT_STR(k[5].what, "c.xml:8: View V_Orders does not exist");
    chlog_precond_free(pc);
    ld_fix_release(&f);
}

TM_TEST(precond_not_or_and_nest_in_document_order)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(compile_xml(&f,
                              "<preConditions onFail=\"CONTINUE\">\n"
                              "  <not><tableExists tableName=\"a\"/><viewExists viewName=\"b\"/></not>\n"
                              "  <or>\n"
                              "    <and><dbms type=\"oracle\"/><sequenceExists sequenceName=\"s\"/></and>\n"
                              "    <changeSetExecuted id=\"1\" author=\"me\" changeLogFile=\"x.xml\"/>\n"
                              "  </or>\n"
                              "</preConditions>",
                              &pc, &err),
                  TM_OK);
    TM_EXPECT_INT(pc->on_fail, CHLOG_ONFAIL_CONTINUE);
    TM_ASSERT_INT(pc->nkids, 2);
    const struct chlog_precondition *no = &pc->kids[0], *either = &pc->kids[1];
    TM_EXPECT_INT(no->kind, CHLOG_PRECOND_NOT);
    TM_EXPECT(!no->container);
    TM_ASSERT_INT(no->nkids, 2);
    TM_EXPECT_STR(param(&no->kids[1], 1), "b");
    TM_EXPECT_STR(no->what, "c.xml:3: Not precondition failed");
    TM_EXPECT_INT(either->kind, CHLOG_PRECOND_OR);
    TM_ASSERT_INT(either->nkids, 2);
    TM_EXPECT_INT(either->kids[0].kind, CHLOG_PRECOND_AND);
    TM_ASSERT_INT(either->kids[0].nkids, 2);
    TM_EXPECT_INT(either->kids[0].kids[0].kind, CHLOG_PRECOND_CONST);
    TM_EXPECT(!either->kids[0].kids[0].const_pass);
    TM_EXPECT_CONTAINS(either->kids[0].kids[1].sql, "ILIKE $2");
    const struct chlog_precondition *ex = &either->kids[1];
    TM_EXPECT_INT(ex->kind, CHLOG_PRECOND_EXECUTED);
    TM_EXPECT_STR(ex->cs_id, "1");
    TM_EXPECT_STR(ex->cs_author, "me");
    TM_EXPECT_STR(ex->cs_file, "x.xml");
    chlog_precond_free(pc);
    ld_fix_release(&f);
}

TM_TEST(precond_dbms_is_decided_for_postgresql_when_compiled)
{
    const char *types[] = {"postgresql", "PostgreSQL", "oracle, postgresql", "oracle,mysql",
                           "!postgresql", "!oracle", "all", "none", ""};
    const bool pass[] = {true, true, true, false, false, true, true, false, false};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct ld_fix f;
        struct chlog_precondition *pc = NULL;
        struct tm_err err = {0};
        char body[256];
        snprintf(body, sizeof(body), "<preConditions><dbms type=\"%s\"/></preConditions>",
                 types[i]);
        TM_ASSERT_INT(compile_xml(&f, body, &pc, &err), TM_OK);
        TM_EXPECT_INT(pc->kids[0].kind, CHLOG_PRECOND_CONST);
        if (pc->kids[0].const_pass != pass[i])
            TM_EXPECT_STR(types[i], pass[i] ? "(should pass)" : "(should fail)");
        chlog_precond_free(pc);
        ld_fix_release(&f);
    }
}

TM_TEST(precond_column_exists_uses_liquibase_postgres_query_for_simple_names)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(compile_xml(&f,
                              "<preConditions>"
                              "<columnExists tableName=\"Orders\" columnName=\"Total_1\"/>"
                              "<columnExists tableName=\"T\" columnName=\"Total Sum\" "
                              "schemaName=\"S\"/>"
                              "</preConditions>",
                              &pc, &err),
                  TM_OK);
    const struct chlog_precondition *fast = &pc->kids[0], *slow = &pc->kids[1];
    TM_EXPECT_CONTAINS(fast->sql, "lower(a.attname) = lower($3)");
    TM_EXPECT_STR(param(fast, 1), "Orders"); /* as written: lower() in the query */
    TM_EXPECT_STR(param(fast, 2), "Total_1");
    TM_EXPECT_CONTAINS(slow->sql, "a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped");
    TM_EXPECT_STR(param(slow, 0), "s");
    TM_EXPECT_STR(param(slow, 1), "t");
    TM_EXPECT_STR(param(slow, 2), "Total Sum"); /* mixed case: kept */
    chlog_precond_free(pc);
    ld_fix_release(&f);
}

TM_TEST(precond_index_and_keys_check_their_required_attributes)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(compile_xml(&f,
                              "<preConditions>"
                              "<indexExists indexName=\"IDX_A\"/>"
                              "<indexExists tableName=\"t\" columnNames=\" A, b_2 ,C \"/>"
                              "<primaryKeyExists tableName=\"T\"/>"
                              "<primaryKeyExists primaryKeyName=\"T_PKEY\"/>"
                              "<foreignKeyConstraintExists foreignKeyName=\"FK_X\" "
                              "foreignKeyTableName=\"Child\"/>"
                              "</preConditions>",
                              &pc, &err),
                  TM_OK);
    TM_ASSERT_INT(pc->nkids, 5);
    const struct chlog_precondition *k = pc->kids;
    TM_EXPECT_STR(param(&k[0], 1), "idx_a");
    TM_EXPECT(k[0].params[2] == NULL);
    TM_EXPECT_STR(param(&k[1], 1), "t");
    TM_EXPECT_STR(param(&k[1], 2), "a,b_2,c");
    TM_EXPECT_STR(param(&k[1], 3), "3");
    TM_EXPECT_STR(k[1].what, "c.xml:2: Index  on t columns A, b_2 ,C  does not exist");
    TM_EXPECT_STR(param(&k[2], 1), "t");
    TM_EXPECT(k[2].params[2] == NULL);
    TM_EXPECT(k[3].params[1] == NULL);
    TM_EXPECT_STR(param(&k[3], 2), "T_PKEY"); /* compared ignoring case */
    TM_EXPECT_STR(param(&k[4], 1), "FK_X");
    TM_EXPECT_STR(param(&k[4], 2), "Child"); /* mixed case: kept; lower() in SQL */
    chlog_precond_free(pc);
    ld_fix_release(&f);

    TM_EXPECT_INT(compile_xml(&f, "<preConditions>\n<indexExists tableName=\"t\"/></preConditions>",
                              &pc, &err),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "c.xml:3: indexExists needs indexName OR (tableName and columnNames)");
    ld_fix_release(&f);
    TM_EXPECT_INT(compile_xml(&f, "<preConditions><primaryKeyExists schemaName=\"s\"/></preConditions>",
                              &pc, &err),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "primaryKeyExists needs primaryKeyName or tableName");
    ld_fix_release(&f);
    TM_EXPECT_INT(compile_xml(&f, "<preConditions><foreignKeyConstraintExists/></preConditions>",
                              &pc, &err),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "foreignKeyConstraintExists needs foreignKeyName");
    ld_fix_release(&f);
}

TM_TEST(precond_sql_check_takes_the_element_text_and_strips_one_semicolon)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(compile_xml(&f,
                              "<preConditions><sqlCheck expectedResult=\"0\">\n"
                              "  SELECT count(*) FROM t;\n"
                              "</sqlCheck></preConditions>",
                              &pc, &err),
                  TM_OK);
    TM_EXPECT_INT(pc->kids[0].kind, CHLOG_PRECOND_CHECK);
    TM_EXPECT_STR(pc->kids[0].sql, "SELECT count(*) FROM t");
    TM_EXPECT_STR(pc->kids[0].expected, "0");
    TM_EXPECT(pc->kids[0].report_value);
    TM_EXPECT_INT(pc->kids[0].nparams, 0);
    chlog_precond_free(pc);
    ld_fix_release(&f);

    TM_EXPECT_INT(compile_xml(&f, "<preConditions><sqlCheck>SELECT 1</sqlCheck></preConditions>",
                              &pc, &err),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "sqlCheck needs expectedResult");
    ld_fix_release(&f);
}

TM_TEST(precond_row_count_quotes_the_corrected_table_name)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(compile_xml(&f,
                              "<preConditions>"
                              "<rowCount tableName=\"ORDERS\" schemaName=\"app\" expectedRows=\"12\"/>"
                              "<rowCount tableName=\"we&quot;Ird\" expectedRows=\"0\"/>"
                              "<tableIsEmpty tableName=\"Items\"/>"
                              "</preConditions>",
                              &pc, &err),
                  TM_OK);
    TM_EXPECT_STR(pc->kids[0].sql, "SELECT count(*) FROM \"app\".\"orders\"");
    TM_EXPECT_STR(pc->kids[0].expected, "12");
    TM_EXPECT_STR(pc->kids[1].sql, "SELECT count(*) FROM \"we\"\"Ird\"");
    TM_EXPECT_STR(pc->kids[2].sql,
                  "SELECT CASE WHEN EXISTS (SELECT * FROM \"Items\") THEN 'false' ELSE 'true' END");
    TM_EXPECT_STR(pc->kids[2].what, "c.xml:2: Table Items is not empty.");
    chlog_precond_free(pc);
    ld_fix_release(&f);

    TM_EXPECT_INT(compile_xml(&f,
                              "<preConditions><rowCount tableName=\"t\" expectedRows=\"many\"/>"
                              "</preConditions>",
                              &pc, &err),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "expectedRows 'many' is not a number");
    ld_fix_release(&f);
}

TM_TEST(precond_unknown_precondition_is_an_error_and_unknown_attribute_a_warning)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_EXPECT_INT(compile_xml(&f,
                              "<preConditions>\n<not>\n<tableExist tableName=\"t\"/></not>"
                              "</preConditions>",
                              &pc, &err),
                  TM_E_INVAL);
    TM_EXPECT(pc == NULL);
    TM_EXPECT_CONTAINS(err.msg, "c.xml:4: unknown precondition 'tableExist'");
    ld_fix_release(&f);

    /* an unknown attribute is ignored with a warning, as Liquibase ignores it */
    TM_ASSERT_INT(ld_fix_init(&f), TM_OK);
    struct chlog cl = {0};
    f.ld.c = &cl;
    TM_ASSERT_INT(ld_fix_add(&f, "c.xml",
                             "<databaseChangeLog>\n<preConditions>\n<changeSetExecuted id=\"1\" "
                             "author=\"a\" changelog-file=\"x.json\"/></preConditions>"
                             "</databaseChangeLog>",
                             &err),
                  TM_OK);
    struct chlog_node *root = NULL;
    TM_ASSERT_INT(chlog_xml_read(&f.ld, "c.xml", &root, &err), TM_OK);
    TM_EXPECT_INT(chlog_precond_compile(&f.ld, chlog_node_child(root, "preConditions"), &pc, &err),
                  TM_OK);
    TM_ASSERT_INT(cl.nwarnings, 1);
    TM_EXPECT_STR(cl.warnings[0],
                  "c.xml:3: changeSetExecuted: unknown attribute 'changelog-file' ignored, as "
                  "Liquibase does");
    TM_EXPECT(pc && pc->kids[0].cs_file == NULL);
    free(cl.warnings[0]);
    free(cl.warnings);
    chlog_precond_free(pc);
    chlog_node_free(root);
    ld_fix_release(&f);

    TM_EXPECT_INT(compile_xml(&f,
                              "<preConditions><expectedQuotingStrategy strategy=\"LEGACY\"/>"
                              "</preConditions>",
                              &pc, &err),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "unknown precondition 'expectedQuotingStrategy'");
    ld_fix_release(&f);

    TM_EXPECT_INT(compile_xml(&f,
                              "<preConditions><uniqueConstraintExists tableName=\"t\"/>"
                              "</preConditions>",
                              &pc, &err),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "constraintName OR columnNames is required");
    ld_fix_release(&f);
}

/* The YAML reader's shape: preConditions: [ {onFail: CONTINUE},
 *   {not: [ {tableExists: {tableName: t}} ]},
 *   {sqlCheck: {expectedResult: 1, sql: "SELECT 1"}} ] */
TM_TEST(precond_compiles_the_yaml_reader_shape)
{
    struct ld_fix f;
    TM_ASSERT_INT(ld_fix_init(&f), TM_OK);
    const char *file = chlog_ld_keep(&f.ld, "c.yaml");
    struct chlog_node *pre = chlog_node_new("preConditions", NULL, file, 5, 3);
    TM_ASSERT(pre != NULL);
    pre->is_list = true;
    struct chlog_node *of = chlog_node_add_new(pre, "onFail", "CONTINUE", 6, 7);
    struct chlog_node *no = chlog_node_add_new(pre, "not", NULL, 7, 7);
    no->is_list = true;
    struct chlog_node *te = chlog_node_add_new(no, "tableExists", NULL, 8, 11);
    struct chlog_node *tn = chlog_node_add_new(te, "tableName", "t", 9, 13);
    struct chlog_node *sc = chlog_node_add_new(pre, "sqlCheck", NULL, 10, 7);
    struct chlog_node *er = chlog_node_add_new(sc, "expectedResult", "1", 11, 9);
    struct chlog_node *sq = chlog_node_add_new(sc, "sql", "SELECT 1", 12, 9);
    TM_ASSERT(of && te && tn && er && sq);
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(chlog_precond_compile(&f.ld, pre, &pc, &err), TM_OK);
    TM_EXPECT_INT(pc->on_fail, CHLOG_ONFAIL_CONTINUE);
    TM_ASSERT_INT(pc->nkids, 2);
    TM_EXPECT_INT(pc->kids[0].kind, CHLOG_PRECOND_NOT);
    TM_EXPECT_STR(pc->kids[0].kids[0].what, "c.yaml:8:11: Table t does not exist");
    TM_EXPECT_STR(pc->kids[1].sql, "SELECT 1");
    chlog_precond_free(pc);

    /* an unknown key in a YAML list item */
    struct chlog_node *bad = chlog_node_add_new(pre, "tableExist", NULL, 13, 7);
    TM_ASSERT(bad && chlog_node_add_new(bad, "tableName", "x", 13, 19));
    TM_EXPECT_INT(chlog_precond_compile(&f.ld, pre, &pc, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "c.yaml:13:7: unknown precondition 'tableExist'");
    chlog_node_free(pre);
    ld_fix_release(&f);
}

TM_TEST(precond_property_defined_is_decided_from_known_properties)
{
    struct ld_fix f;
    struct chlog_precondition *pc = NULL;
    struct tm_err err = {0};
    TM_ASSERT_INT(compile_xml(&f,
                              "<preConditions><changeLogPropertyDefined property=\"env\"/>"
                              "<changeLogPropertyDefined property=\"env\" value=\"prod\"/>"
                              "</preConditions>",
                              &pc, &err),
                  TM_OK);
    TM_EXPECT(!pc->kids[0].const_pass);
    TM_EXPECT_CONTAINS(pc->kids[0].what, "Changelog property 'env' was not set");
    chlog_precond_free(pc);
    ld_fix_release(&f);

    TM_ASSERT_INT(ld_fix_init(&f), TM_OK);
    TM_ASSERT_INT(chlog_props_set(&f.ld.props, "env", "dev", &err), TM_OK);
    TM_ASSERT_INT(ld_fix_add(&f, "c.xml",
                             "<databaseChangeLog><preConditions>"
                             "<changeLogPropertyDefined property=\"env\"/>"
                             "<changeLogPropertyDefined property=\"env\" value=\"prod\"/>"
                             "</preConditions></databaseChangeLog>",
                             &err),
                  TM_OK);
    struct chlog_node *root = NULL;
    TM_ASSERT_INT(chlog_xml_read(&f.ld, "c.xml", &root, &err), TM_OK);
    TM_ASSERT_INT(chlog_precond_compile(&f.ld, chlog_node_child(root, "preConditions"), &pc, &err),
                  TM_OK);
    TM_EXPECT(pc->kids[0].const_pass);
    TM_EXPECT(!pc->kids[1].const_pass);
    TM_EXPECT_CONTAINS(pc->kids[1].what, "to have a value of 'prod'.  Got 'dev'");
    chlog_precond_free(pc);
    chlog_node_free(root);
    ld_fix_release(&f);
}

TM_TEST_MAIN()
