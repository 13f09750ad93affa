/* Unit tests: data change types (insert, update, delete, loadData,
 * loadUpdateData) compiled by change_data.c, from hand-made nodes and
 * in-memory CSV files.
 *
 * Every expected SQL text and md5sum marked "Liquibase 4.33.0" was observed
 * by running liquibase-core 4.33.0 (`update-sql` on an empty PostgreSQL 15
 * database, then `update` and `rollback-count-sql`) on the same changelog
 * and files; only Liquibase's default-schema prefix "public." is dropped
 * (tidemark writes bare names, see change_int.h).  md5sums are the
 * changeset's (DATABASECHANGELOG.MD5SUM of a changeset holding just that
 * change), so the tests fold the change checksum the way checksum.c does. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "changelog/change_int.h"
#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/node.h"
#include "tm_test.h"

#define CL "db/changelog.xml"

/* A load context over an in-memory file set. */
struct fx {
    struct chlog_fs fs;
    struct chlog_ld ld;
    struct chlog_change_env env;
    struct chlog_change ch;
    struct tm_err err;
};

static void fx_init(struct fx *f, ...)
{
    memset(f, 0, sizeof(*f));
    if (chlog_fs_mem_init(&f->fs) != TM_OK)
        abort();
    va_list ap;
    va_start(ap, f);
    const char *p;
    while ((p = va_arg(ap, const char *)) != NULL) {
        const char *d = va_arg(ap, const char *);
        if (chlog_fs_mem_add(&f->fs, p, d, strlen(d), &f->err) != TM_OK)
            abort();
    }
    va_end(ap);
    f->ld.fs = &f->fs;
    f->env.ld = &f->ld;
    f->env.path = CL;
}

static void fx_release(struct fx *f)
{
    free(f->ch.sql);
    free(f->ch.rollback_auto);
    chlog_fs_mem_release(&f->fs);
}

static enum tm_code fx_compile(struct fx *f, struct chlog_node *n)
{
    enum tm_code rc = chlog_change_data_compile(&f->env, n, &f->ch, &f->err);
    chlog_node_free(n);
    return rc;
}

/* A node with attributes given as name, value, ..., NULL. */
static struct chlog_node *vnode(const char *name, va_list ap)
{
    struct chlog_node *n = chlog_node_new(name, NULL, CL, 7, 5);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if (!chlog_node_add_new(n, k, v, 7, 5))
            abort();
    }
    return n;
}

static struct chlog_node *mk(const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    struct chlog_node *n = vnode(name, ap);
    va_end(ap);
    return n;
}

/* Appends an element child with attributes; returns it. */
static struct chlog_node *kid(struct chlog_node *parent, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    struct chlog_node *n = vnode(name, ap);
    va_end(ap);
    if (chlog_node_add(parent, n) != TM_OK)
        abort();
    return n;
}

/* The changeset checksum of a changeset holding only this change
 * (checksum.c: "9:" + md5("9:<md5>:")). */
static const char *set_md5(const char *change_checksum)
{
    static char out[40];
    char in[64];
    snprintf(in, sizeof(in), "%s:", change_checksum);
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    EVP_Digest(in, strlen(in), h, &hl, EVP_md5(), NULL);
    snprintf(out, sizeof(out), "9:");
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 + 2 * i, 3, "%02x", h[i]);
    return out;
}

/* ---- insert / update / delete ------------------------------------------- */

TM_TEST(insert_values_of_each_kind_match_liquibase)
{
    struct fx f;
    fx_init(&f, NULL);
    struct chlog_node *n = mk("insert", "tableName", "t1", NULL);
    kid(n, "column", "name", "id", "valueNumeric", "1", NULL);
    kid(n, "column", "name", "name", "value", "O'Brien", NULL);
    struct chlog_node *note = kid(n, "column", "name", "note", NULL);
    note->value = strdup("  body text  "); /* XML element text */
    kid(n, "column", "name", "flag", "valueBoolean", "true", NULL);
    kid(n, "column", "name", "amount", "valueNumeric", "12.50", NULL);
    kid(n, "column", "name", "created", "valueDate", "2020-01-02T03:04:05", NULL);
    kid(n, "column", "name", "d", "valueDate", "2021-05-06", NULL);
    kid(n, "column", "name", "u", "valueComputed", "gen_random_uuid()", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    /* Liquibase 4.33.0 */
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO t1 (id, name, note, flag, amount, created, d, u) VALUES "
                            "(1, 'O''Brien', 'body text', TRUE, 12.50, '2020-01-02 03:04:05', "
                            "'2021-05-06', gen_random_uuid())");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:381e748c40bbc848a98e75a995a7bfcb");
    TM_EXPECT(f.ch.rollback_auto == NULL);
    fx_release(&f);
}

TM_TEST(insert_null_function_and_parenthesised_number_match_liquibase)
{
    struct fx f;
    fx_init(&f, NULL);
    struct chlog_node *n = mk("insert", "tableName", "t1", NULL);
    kid(n, "column", "name", "id", "value", "2", NULL);
    kid(n, "column", "name", "name", "value", "NULL", NULL);
    kid(n, "column", "name", "note", "value", "now()", NULL);
    kid(n, "column", "name", "flag", "valueBoolean", "false", NULL);
    kid(n, "column", "name", "amount", "valueNumeric", "(3)", NULL);
    kid(n, "column", "name", "created", "valueDate", "now()", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    /* Liquibase 4.33.0 */
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO t1 (id, name, note, flag, amount, created) VALUES "
                            "('2', NULL, now(), FALSE, 3, NOW())");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:8e397288658da3ed225a6628b8952c4c");
    fx_release(&f);
}

TM_TEST(insert_leaves_out_auto_increment_columns)
{
    struct fx f;
    fx_init(&f, NULL);
    struct chlog_node *n = mk("insert", "tableName", "t", "schemaName", "app", NULL);
    kid(n, "column", "name", "id", "valueNumeric", "5", "autoIncrement", "true", NULL);
    kid(n, "column", "name", "Name", "value", "x", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO app.t (\"Name\") VALUES ('x')");
    fx_release(&f);
}

TM_TEST(update_sorts_columns_by_name_like_liquibase)
{
    struct fx f;
    fx_init(&f, NULL);
    struct chlog_node *n = mk("update", "tableName", "t1", NULL);
    kid(n, "column", "name", "name", "value", "upd", NULL);
    kid(n, "column", "name", "amount", "valueNumeric", "7", NULL);
    kid(n, "where", NULL);
    n->kids[n->nkids - 1]->value = strdup("id = 1");
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    /* Liquibase 4.33.0 */
    TM_EXPECT_STR(f.ch.sql, "UPDATE t1 SET amount = 7, name = 'upd' WHERE id = 1");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:f736f12e2e71f275032d7bb06ddb0781");
    TM_EXPECT(f.ch.rollback_auto == NULL);
    fx_release(&f);
}

TM_TEST(update_where_params_fill_name_and_value_placeholders)
{
    struct fx f;
    fx_init(&f, NULL);
    struct chlog_node *n = mk("update", "tableName", "t1", "where",
                              ":name = :value AND name IS NULL", NULL);
    kid(n, "column", "name", "note", "value", "p", NULL);
    struct chlog_node *wp = kid(n, "whereParams", NULL);
    kid(wp, "param", "name", "id", "valueNumeric", "2", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    /* Liquibase 4.33.0 */
    TM_EXPECT_STR(f.ch.sql, "UPDATE t1 SET note = 'p' WHERE id = 2 AND name IS NULL");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:475448486eabc72ec6c20ae525fdcc77");
    fx_release(&f);
}

TM_TEST(delete_with_and_without_where_matches_liquibase)
{
    struct fx f;
    fx_init(&f, NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("delete", "tableName", "t1", "where", "id = 99", NULL)),
                  TM_OK);
    /* Liquibase 4.33.0 */
    TM_EXPECT_STR(f.ch.sql, "DELETE FROM t1 WHERE id = 99");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:72548443cc5eb7c7671789e4df48360a");
    TM_EXPECT(f.ch.rollback_auto == NULL);
    fx_release(&f);

    fx_init(&f, NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("delete", "tableName", "t1", NULL)), TM_OK);
    TM_EXPECT_STR(f.ch.sql, "DELETE FROM t1");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:594ecfea8e7b468d0eda18994bf71a35");
    fx_release(&f);
}

TM_TEST(data_changes_refuse_unknown_attributes_naming_them)
{
    struct fx f;
    fx_init(&f, NULL);
    TM_EXPECT_INT(fx_compile(&f, mk("delete", "tableName", "t", "wher", "x", NULL)),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(f.err.msg, CL ":7:");
    TM_EXPECT_CONTAINS(f.err.msg, "wher");
    fx_release(&f);

    fx_init(&f, "db/a.csv", "id\n1\n", NULL);
    struct chlog_node *n = mk("loadData", "tableName", "t", "file", "a.csv",
                              "relativeToChangelogFile", "true", NULL);
    kid(n, "column", "name", "id", "typo", "NUMERIC", NULL);
    TM_EXPECT_INT(fx_compile(&f, n), TM_E_INVAL);
    TM_EXPECT_CONTAINS(f.err.msg, "typo");
    fx_release(&f);
}

TM_TEST(insert_reads_yaml_shaped_columns_and_keeps_its_dbms)
{
    /* YAML: columns: [ {column: {...}} ] gives a "columns" wrapper */
    struct fx f;
    fx_init(&f, NULL);
    struct chlog_node *n = mk("insert", "tableName", "t1", "dbms", "postgresql,h2", NULL);
    struct chlog_node *cols = kid(n, "columns", NULL);
    cols->is_list = true;
    kid(cols, "column", "name", "id", "valueNumeric", "1", NULL);
    kid(cols, "column", "name", "name", "value", "x", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO t1 (id, name) VALUES (1, 'x')");
    TM_EXPECT_STR(f.ch.dbms, "postgresql,h2");
    free(f.ch.dbms);
    fx_release(&f);
}

/* ---- loadData ------------------------------------------------------------ */

static const char a_csv[] =
    "id,name,note,flag,amount,created,u\n"
    "1,plain,n1,true,1.50,2020-01-02 03:04:05,11111111-1111-1111-1111-111111111111\n"
    "2,,,,,,\n"
    "3,NULL,null,1,2,2020-01-02T03:04:05,\n"
    "#comment,x,x,x,x,x,x\n"
    "   \n"
    "4,\"a,b\nc\",x,t,3.0,2021-01-01,\n"
    "5,\"say \"\"hi\"\"\", spaced ,yes,-4,2021-01-01 10:00:00.5,\n";

TM_TEST(load_data_untyped_columns_match_liquibase_without_snapshot)
{
    struct fx f;
    fx_init(&f, "data/a.csv", a_csv, NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("loadData", "tableName", "t2", "file", "data/a.csv", NULL)),
                  TM_OK);
    /* Liquibase 4.33.0 update-sql (no snapshot of t2) */
    TM_EXPECT_STR(f.ch.sql,
                  "INSERT INTO t2 (id, name, note, flag, amount, created, u) VALUES ('1', "
                  "'plain', 'n1', 'true', '1.50', '2020-01-02 03:04:05', "
                  "'11111111-1111-1111-1111-111111111111'),('2', NULL, NULL, NULL, NULL, NULL, "
                  "NULL),('3', NULL, NULL, '1', '2', '2020-01-02T03:04:05', NULL),('4', 'a,b\nc', "
                  "'x', 't', '3.0', '2021-01-01', NULL),('5', 'say \"hi\"', ' spaced ', 'yes', "
                  "'-4', '2021-01-01 10:00:00.5', NULL)");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:c8849149438f09b3ca7cef9edb35e68e");
    TM_EXPECT(f.ch.rollback_auto == NULL);
    fx_release(&f);
}

TM_TEST(load_data_typed_columns_match_liquibase)
{
    struct fx f;
    fx_init(&f, "db/b.csv",
            "ID;name;FLAG;AMT;CREATED;D;IGN;C\n"
            "1;'x;y';true;1.25;2020-01-02T03:04:05;2020-01-02;zz;upper('c')\n"
            "2;;0;;;;;\n"
            "3;NULL;NULL;NULL;NULL;NULL;NULL;NULL\n"
            "4;it''s;t;(5);2021-02-03 04:05:06;2021-02-03;q;now()\n",
            NULL);
    struct chlog_node *n = mk("loadData", "tableName", "t3", "file", "b.csv",
                              "relativeToChangelogFile", "true", "separator", ";", "quotchar",
                              "'", NULL);
    kid(n, "column", "name", "id", "header", "ID", "type", "NUMERIC", NULL);
    kid(n, "column", "name", "name", "index", "1", "type", "STRING", NULL);
    kid(n, "column", "name", "flag", "header", "FLAG", "type", "BOOLEAN", NULL);
    kid(n, "column", "name", "amount", "header", "AMT", "type", "numeric", "defaultValueNumeric",
        "9.5", NULL);
    kid(n, "column", "name", "created", "header", "CREATED", "type", "DATETIME", NULL);
    kid(n, "column", "name", "d", "header", "D", "type", "DATE", NULL);
    kid(n, "column", "header", "IGN", "type", "skip", NULL);
    kid(n, "column", "name", "c", "header", "C", "type", "COMPUTED", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    /* Liquibase 4.33.0 */
    TM_EXPECT_STR(f.ch.sql,
                  "INSERT INTO t3 (id, name, flag, amount, created, d, c) VALUES (1, 'x;y', "
                  "TRUE, 1.25, '2020-01-02 03:04:05', '2020-01-02', upper('c')),(2, '', FALSE, "
                  "9.5, NULL, NULL, NULL),(3, NULL, NULL, NULL, NULL, NULL, NULL),(4, 'it''s', "
                  "TRUE, 5, '2021-02-03 04:05:06', '2021-02-03', NOW())");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:2aa3ec5dcf33b83bd94de2f8db37922f");
    fx_release(&f);
}

TM_TEST(load_data_stops_at_an_empty_line_like_liquibase)
{
    struct fx f;
    fx_init(&f, "data/blank.csv", "id,name\n10,a\n\n11,b\n", NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("loadData", "tableName", "t5", "file", "data/blank.csv",
                                    NULL)),
                  TM_OK);
    /* Liquibase 4.33.0: opencsv returns no record for the empty line */
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO t5 (id, name) VALUES ('10', 'a')");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:25b670fa1f4f27cfec0bc8f430337f1d");
    fx_release(&f);
}

TM_TEST(load_data_writes_51_rows_per_insert_like_liquibase)
{
    char csv[4096] = "id,name\n";
    size_t used = strlen(csv);
    for (int i = 100; i < 220; i++)
        used += (size_t)snprintf(csv + used, sizeof(csv) - used, "%d,n%d\n", i, i);
    struct fx f;
    fx_init(&f, "data/many.csv", csv, NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("loadData", "tableName", "t5", "file", "data/many.csv",
                                    NULL)),
                  TM_OK);
    /* Liquibase 4.33.0: three INSERTs of 51, 51 and 18 rows */
    int stmts = 0, rows = 0;
    for (const char *p = f.ch.sql; (p = strstr(p, "INSERT INTO t5 (id, name) VALUES ")); p++)
        stmts++;
    for (const char *p = f.ch.sql; (p = strstr(p, "('")); p++)
        rows++;
    TM_EXPECT_INT(stmts, 3);
    TM_EXPECT_INT(rows, 120);
    TM_EXPECT_CONTAINS(f.ch.sql, "('150', 'n150');\nINSERT INTO t5 (id, name) VALUES ('151', "
                                 "'n151'),");
    TM_EXPECT_CONTAINS(f.ch.sql, "('201', 'n201');\nINSERT INTO t5 (id, name) VALUES ('202', ");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:1d011c77de4ea1147b653cc4bd625f1c");
    fx_release(&f);
}

TM_TEST(load_data_checksum_follows_liquibase_comment_and_newline_skipping)
{
    struct fx f;
    /* CRLF, two trailing comments: the last newline is dropped */
    fx_init(&f, "data/d.csv", "id,name\r\n20,a\r\n#c1\r\n#c2\r\n", NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("loadData", "tableName", "t5", "file", "data/d.csv", NULL)),
                  TM_OK);
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO t5 (id, name) VALUES ('20', 'a')");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:1a97b69ef627f4f00de9339e7b42b42d"); /* 4.33.0 */
    fx_release(&f);

    /* LF, two trailing comments: Liquibase's look-ahead keeps the newline */
    fx_init(&f, "e.csv", "id,name\n30,b\n#c1\n#c2\n", NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("loadData", "tableName", "t5", "file", "e.csv", NULL)),
                  TM_OK);
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:06af252462a1717851d161e24fc09567"); /* 4.33.0 */
    fx_release(&f);
}

TM_TEST(load_data_comment_prefix_can_change_or_be_disabled)
{
    struct fx f;
    fx_init(&f, "x.csv", "a\n--x\n#y\n", NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("loadData", "tableName", "t", "file", "x.csv",
                                    "commentLineStartsWith", "--", NULL)),
                  TM_OK);
    /* Liquibase 4.33.0 (YAML changelog) */
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO t (a) VALUES ('#y')");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:6c44d9f331f4fe13f9374fe177128c50");
    fx_release(&f);

    fx_init(&f, "x.csv", "a\n--x\n#y\n", NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("loadData", "tableName", "t", "file", "x.csv",
                                    "commentLineStartsWith", "", NULL)),
                  TM_OK);
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO t (a) VALUES ('--x'),('#y')");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:c0eb10c49507370c3bf1661698fe7085");
    fx_release(&f);
}

TM_TEST(load_data_missing_file_is_not_found_at_the_change)
{
    struct fx f;
    fx_init(&f, NULL);
    TM_EXPECT_INT(fx_compile(&f, mk("loadData", "tableName", "t", "file", "nope.csv",
                                    "relativeToChangelogFile", "true", NULL)),
                  TM_E_NOTFOUND);
    TM_EXPECT_CONTAINS(f.err.msg, CL ":7:");
    TM_EXPECT_CONTAINS(f.err.msg, "db/nope.csv");
    fx_release(&f);
}

TM_TEST(load_data_row_with_wrong_field_count_is_refused)
{
    struct fx f;
    fx_init(&f, "x.csv", "a,b\n1,2\n3,4,5\n", NULL);
    TM_EXPECT_INT(fx_compile(&f, mk("loadData", "tableName", "t", "file", "x.csv", NULL)),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(f.err.msg, "line 3 has 3 values defined, header has 2");
    fx_release(&f);

    fx_init(&f, "x.csv", "a,b\n1,\"open\n", NULL);
    TM_EXPECT_INT(fx_compile(&f, mk("loadData", "tableName", "t", "file", "x.csv", NULL)),
                  TM_E_PARSE);
    TM_EXPECT_CONTAINS(f.err.msg, "unterminated");
    fx_release(&f);
}

TM_TEST(load_data_now_and_today_use_the_database_clock)
{
    /* tidemark's documented deviation: Liquibase writes the JVM's clock as a
     * literal; tidemark lets the database fill it in */
    struct fx f;
    fx_init(&f, "x.csv", "ts,d\nnow,today-2\nnow+3h,\n", NULL);
    struct chlog_node *n = mk("loadData", "tableName", "t", "file", "x.csv", NULL);
    kid(n, "column", "name", "ts", "type", "datetime", NULL);
    kid(n, "column", "name", "d", "type", "date", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO t (ts, d) VALUES (LOCALTIMESTAMP(3), "
                            "CAST(LOCALTIMESTAMP(3) - INTERVAL '2 day' AS DATE)),"
                            "(LOCALTIMESTAMP(3) + INTERVAL '3 hour', NULL)");
    fx_release(&f);
}

TM_TEST(load_data_prepared_statements_give_one_insert_per_row)
{
    struct fx f;
    fx_init(&f, "x.csv", "id,label\n1,now()\n2,NULL\n", NULL);
    struct chlog_node *n = mk("loadData", "tableName", "t", "file", "x.csv",
                              "usePreparedStatements", "true", NULL);
    kid(n, "column", "name", "id", "type", "numeric", NULL);
    kid(n, "column", "name", "label", "type", "string", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    /* bound strings are not function calls; "NULL" cells are still NULL */
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO t (id, label) VALUES (1, 'now()');\n"
                            "INSERT INTO t (id, label) VALUES (2, NULL)");
    fx_release(&f);
}

TM_TEST(load_data_boolean_cells_follow_liquibase_boolean_util)
{
    struct fx f;
    fx_init(&f, "bool.csv", "id,b\n1,on\n2,2\n3,-1\n4, yes \n5,N\n6,\n", NULL);
    struct chlog_node *n = mk("loadData", "tableName", "tb", "file", "bool.csv", NULL);
    struct chlog_node *cols = kid(n, "columns", NULL);
    kid(cols, "column", "name", "b", "type", "BOOLEAN", "defaultValueBoolean", "true", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    /* Liquibase 4.33.0 update-sql */
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO tb (id, b) VALUES ('1', FALSE),('2', TRUE),('3', FALSE),"
                            "('4', TRUE),('5', FALSE),('6', TRUE)");
    fx_release(&f);
}

TM_TEST(load_data_clob_rows_are_bound_and_the_others_dropped_like_liquibase)
{
    /* Liquibase 4.33.0 `update` loads rows 1 and 3 only: on PostgreSQL it
     * runs just the prepared statements once a row needs one, and a row
     * whose CLOB cell is NULL did not (LoadDataChange.generateStatementsFromRows).
     * Bound text is not a function call: 'now()' stays text. */
    struct fx f;
    fx_init(&f, "clob.csv", "id,note\n1,abc\n2,NULL\n3,now()\n", NULL);
    struct chlog_node *n = mk("loadData", "tableName", "tc", "file", "clob.csv", NULL);
    kid(n, "column", "name", "note", "type", "CLOB", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO tc (id, note) VALUES ('1', 'abc');\n"
                            "INSERT INTO tc (id, note) VALUES ('3', 'now()')");
    fx_release(&f);

    /* a CLOB cell naming a file loads the file */
    fx_init(&f, "db/c.csv", "id,note\n1,doc.txt\n", "db/doc.txt", "it's long\n", NULL);
    n = mk("loadData", "tableName", "tc", "file", "c.csv", "relativeToChangelogFile", "true",
           NULL);
    kid(n, "column", "name", "note", "type", "CLOB", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO tc (id, note) VALUES ('1', 'it''s long\n')");
    fx_release(&f);
}

TM_TEST(load_data_uuid_and_other_types_quote_and_null_like_liquibase)
{
    struct fx f;
    fx_init(&f, "uu.csv", "id,u,o\n1,11111111-1111-1111-1111-111111111111,x\n2,NULL,null\n",
            NULL);
    struct chlog_node *n = mk("loadData", "tableName", "tu", "file", "uu.csv", NULL);
    kid(n, "column", "name", "u", "type", "UUID", NULL);
    kid(n, "column", "name", "o", "type", "OTHER", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    /* Liquibase 4.33.0 update-sql */
    TM_EXPECT_STR(f.ch.sql, "INSERT INTO tu (id, u, o) VALUES ('1', "
                            "'11111111-1111-1111-1111-111111111111', 'x'),('2', NULL, NULL)");
    fx_release(&f);
}

/* ---- loadUpdateData ------------------------------------------------------ */

TM_TEST(load_update_data_matches_liquibase_do_blocks_and_rolls_back_by_key)
{
    struct fx f;
    fx_init(&f, "data/c.csv", "id,k2,name,amount\n1,a,new,5\n2,b,two,NULL\n3,,three,\n", NULL);
    TM_ASSERT_INT(fx_compile(&f, mk("loadUpdateData", "tableName", "t4", "file", "data/c.csv",
                                    "primaryKey", "id", NULL)),
                  TM_OK);
    /* Liquibase 4.33.0 update-sql */
    TM_EXPECT_STR(f.ch.sql,
                  "DO\n$$\nBEGIN\n"
                  "UPDATE t4 SET amount = '5', k2 = 'a', name = 'new' WHERE id = '1';\n"
                  "IF not found THEN\n"
                  "INSERT INTO t4 (id, k2, name, amount) VALUES ('1', 'a', 'new', '5');\n"
                  "END IF;\nEND;\n$$\nLANGUAGE plpgsql;\n"
                  "DO\n$$\nBEGIN\n"
                  "UPDATE t4 SET amount = NULL, k2 = 'b', name = 'two' WHERE id = '2';\n"
                  "IF not found THEN\n"
                  "INSERT INTO t4 (id, k2, name, amount) VALUES ('2', 'b', 'two', NULL);\n"
                  "END IF;\nEND;\n$$\nLANGUAGE plpgsql;\n"
                  "DO\n$$\nBEGIN\n"
                  "UPDATE t4 SET amount = NULL, k2 = NULL, name = 'three' WHERE id = '3';\n"
                  "IF not found THEN\n"
                  "INSERT INTO t4 (id, k2, name, amount) VALUES ('3', NULL, 'three', NULL);\n"
                  "END IF;\nEND;\n$$\nLANGUAGE plpgsql");
    TM_EXPECT_STR(set_md5(f.ch.checksum_v9), "9:ec1a70866c6c9146738e62295945cd00");
    /* Liquibase 4.33.0 rollback-count-sql writes id = 1 (it snapshots the
     * table, id is numeric); without a snapshot the key is the CSV text */
    TM_EXPECT_STR(f.ch.rollback_auto, "DELETE FROM t4 WHERE id = '1';\n"
                                      "DELETE FROM t4 WHERE id = '2';\n"
                                      "DELETE FROM t4 WHERE id = '3'");
    fx_release(&f);
}

TM_TEST(load_update_data_without_updatable_columns_performs_then_inserts)
{
    struct fx f;
    fx_init(&f, "k.csv", "a,b\n1,x\n", NULL);
    struct chlog_node *n = mk("loadUpdateData", "tableName", "t", "file", "k.csv", "primaryKey",
                              "a,b", "onlyUpdate", "true", NULL);
    TM_ASSERT_INT(fx_compile(&f, n), TM_OK);
    TM_EXPECT_STR(f.ch.sql, "DO\n$$\nBEGIN\nperform * from t WHERE a = '1' AND b = 'x';\n"
                            "END;\n$$\nLANGUAGE plpgsql");
    fx_release(&f);
}

TM_TEST_MAIN()
