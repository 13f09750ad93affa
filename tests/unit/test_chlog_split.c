/* Unit tests: chlog_split_statements follows PostgreSQL's lexical rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "tm_test.h"

/* Splits and compares with the expected statements (NULL-terminated). */
static void expect_split(const char *sql, const char *delim, bool strip, const char *const *want)
{
    char **st = NULL;
    size_t n = 0;
    struct tm_err err = {0};
    TM_ASSERT_INT(chlog_split_statements(sql, delim, strip, &st, &n, &err), TM_OK);
    size_t wn = 0;
    while (want[wn])
        wn++;
    TM_EXPECT_INT(n, wn);
    for (size_t i = 0; i < n && i < wn; i++)
        TM_EXPECT_STR(st[i], want[i]);
    chlog_statements_free(st, n);
}

TM_TEST(split_plain_statements_and_drops_empty_ones)
{
    const char *w[] = {"CREATE TABLE a (i int)", "INSERT INTO a VALUES (1)", NULL};
    expect_split("CREATE TABLE a (i int);\n;;  INSERT INTO a VALUES (1) ;\n\n", NULL, false, w);
    const char *none[] = {NULL};
    expect_split("  ; -- only a comment\n /* and another */ ;", NULL, false, none);
    expect_split("", NULL, false, none);
}

TM_TEST(split_semicolon_in_single_quotes)
{
    const char *w[] = {"INSERT INTO t VALUES ('a;b', 'it''s; fine')", "SELECT 2", NULL};
    expect_split("INSERT INTO t VALUES ('a;b', 'it''s; fine'); SELECT 2", NULL, false, w);
}

TM_TEST(split_semicolon_in_double_quoted_identifier)
{
    const char *w[] = {"CREATE TABLE \"we;ird\"\"name\" (i int)", "SELECT 1", NULL};
    expect_split("CREATE TABLE \"we;ird\"\"name\" (i int); SELECT 1;", NULL, false, w);
}

TM_TEST(split_escape_string_with_backslash_quote)
{
    /* E'\'' is one quote character; the ; after it is inside the string */
    const char *w[] = {"SELECT E'\\';x', e'\\\\'", "SELECT 'plain\\'", NULL};
    expect_split("SELECT E'\\';x', e'\\\\'; SELECT 'plain\\';", NULL, false, w);
}

TM_TEST(split_semicolon_in_line_and_nested_block_comments)
{
    const char *w[] = {"SELECT 1 -- not the end; really\n + 1",
                       "SELECT /* outer /* inner; */ still; comment */ 2", NULL};
    expect_split("SELECT 1 -- not the end; really\n + 1; SELECT /* outer /* inner; */ still; comment */ 2;",
                 NULL, false, w);
}

TM_TEST(split_strip_comments_removes_them)
{
    const char *w[] = {"SELECT 1 \n + 1", "SELECT   2", NULL};
    expect_split("-- head\nSELECT 1 -- tail; x\n + 1; SELECT /* a /* b */ c */ 2;", NULL, true, w);
}

TM_TEST(split_dollar_quoted_bodies)
{
    const char *body =
        "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql";
    const char *body2 =
        "CREATE FUNCTION g() RETURNS text AS $fn$ SELECT '$$;'; $x$ ; $fn$ LANGUAGE sql";
    const char *w[] = {body, body2, "SELECT $1::int", "SELECT a$b FROM t", NULL};
    char sql[512];
    snprintf(sql, sizeof(sql), "%s;\n%s;\nSELECT $1::int; SELECT a$b FROM t;", body, body2);
    expect_split(sql, NULL, false, w);
}

TM_TEST(split_parentheses_keep_semicolons_inside)
{
    const char *w[] = {"CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b)", "SELECT 1",
                       NULL};
    expect_split("CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b); SELECT 1", NULL,
                 false, w);
}

TM_TEST(split_sql_standard_function_body_begin_atomic)
{
    const char *f = "CREATE OR REPLACE FUNCTION h(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC "
                    "SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT a; END";
    const char *w[] = {f, "BEGIN", "SELECT 1", "END", NULL};
    char sql[512];
    snprintf(sql, sizeof(sql), "%s;\nBEGIN; SELECT 1; END;", f);
    expect_split(sql, NULL, false, w);
}

TM_TEST(split_custom_delimiters)
{
    const char *w[] = {"SELECT 1; SELECT 2", "SELECT 3", NULL};
    expect_split("SELECT 1; SELECT 2\nGO\nSELECT 3\ngo\n", "GO", false, w);
    const char *w2[] = {"SELECT 1; SELECT 'GO'", "SELECT 3", NULL};
    expect_split("SELECT 1; SELECT 'GO'\n/\nSELECT 3", "\\n/", false, w2);
    const char *w3[] = {"SELECT 1", "SELECT 2", NULL};
    expect_split("SELECT 1 @@ SELECT 2 @@", "@@", false, w3);
}

TM_TEST(split_unterminated_quote_keeps_the_rest)
{
    const char *w[] = {"SELECT 1", "SELECT 'oops; SELECT 2", NULL};
    expect_split("SELECT 1; SELECT 'oops; SELECT 2", NULL, false, w);
}

/* pgjdbc's rewrite (jdbc_sql.c): "??" is sent as "?" outside literals,
 * quoted identifiers, dollar quotes and comments; nothing else changes. */
TM_TEST(jdbc_sql_turns_escaped_question_marks_into_the_operator)
{
    char *s = chlog_jdbc_sql("CREATE INDEX i ON t(d) WHERE d ?\? 'k' AND d ?\?| array['a']");
    TM_EXPECT_STR(s, "CREATE INDEX i ON t(d) WHERE d ? 'k' AND d ?| array['a']");
    free(s);
    s = chlog_jdbc_sql("SELECT '?\?', \"a?\?\", E'\\'?\?', $x$ ?\? $x$ -- ?\?\n/* ?\? /* ?\? */ */ ,d?\?'k'");
    TM_EXPECT_STR(s, "SELECT '?\?', \"a?\?\", E'\\'?\?', $x$ ?\? $x$ -- ?\?\n/* ?\? /* ?\? */ */ ,d?'k'");
    free(s);
    /* nothing to change: NULL (send as written), also for ?\? only in literals */
    TM_EXPECT(chlog_jdbc_sql("SELECT 1") == NULL);
    TM_EXPECT(chlog_jdbc_sql("SELECT '?\?'") == NULL);
    TM_EXPECT(chlog_jdbc_sql(NULL) == NULL);
}

TM_TEST_MAIN()
