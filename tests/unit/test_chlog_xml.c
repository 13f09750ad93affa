/* Unit tests: the Liquibase XML reader (controller/changelog/xml.c): the node
 * shapes of Liquibase's XMLChangeLogSAXHandler, errors with file:line, and
 * untrusted-input payloads (XXE, external DTDs, parameter entities,
 * billion laughs, size cap), concurrent parses and a silent stderr. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/node.h"
#include "common/caps.h"
#include "chlog_ld_fixture.h"
#include "tm_test.h"

#define LB_NS                                                                              \
    "xmlns=\"http://www.liquibase.org/xml/ns/dbchangelog\" "                             \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "                           \
    "xsi:schemaLocation=\"http://www.liquibase.org/xml/ns/dbchangelog "                  \
    "http://www.liquibase.org/xml/ns/dbchangelog/dbchangelog-latest.xsd\""

/* Reads text as "db/changelog.xml"; *root NULL on failure. */
static enum tm_code read_xml(struct ld_fix *f, const char *text, struct chlog_node **root,
                             struct tm_err *err)
{
    *root = NULL;
    if (ld_fix_init(f) != TM_OK)
        return TM_E_NOMEM;
    enum tm_code rc = ld_fix_add(f, "db/changelog.xml", text, err);
    if (rc != TM_OK)
        return rc;
    return chlog_xml_read(&f->ld, "db/changelog.xml", root, err);
}

static const struct chlog_node *kid(const struct chlog_node *n, size_t i)
{
    return n && i < n->nkids ? n->kids[i] : NULL;
}

TM_TEST(xml_attributes_come_first_then_child_elements_in_document_order)
{
    struct ld_fix f;
    struct chlog_node *root = NULL;
    struct tm_err err = {0};
    const char *x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<databaseChangeLog " LB_NS ">\n"
                    "  <changeSet id=\"1\" author=\"alice\" runOnChange=\"true\">\n"
                    "    <createTable tableName=\"orders\">\n"
                    "      <column name=\"id\" type=\"bigint\">\n"
                    "        <constraints primaryKey=\"true\" nullable=\"false\"/>\n"
                    "      </column>\n"
                    "      <column name=\"note\" type=\"varchar(20)\"/>\n"
                    "    </createTable>\n"
                    "  </changeSet>\n"
                    "</databaseChangeLog>\n";
    TM_ASSERT_INT(read_xml(&f, x, &root, &err), TM_OK);
    TM_ASSERT(root != NULL);
    TM_EXPECT_STR(root->name, "databaseChangeLog");
    TM_EXPECT_STR(root->file, "db/changelog.xml");
    TM_EXPECT_INT(root->line, 2);
    /* xmlns declarations are not attributes; xsi:schemaLocation is one */
    TM_ASSERT_INT(root->nkids, 2);
    TM_EXPECT_STR(kid(root, 0)->name, "schemaLocation");
    TM_EXPECT_CONTAINS(kid(root, 0)->value, "dbchangelog-latest.xsd");
    const struct chlog_node *cs = kid(root, 1);
    TM_ASSERT(cs != NULL);
    TM_EXPECT_STR(cs->name, "changeSet");
    TM_EXPECT_INT(cs->line, 3);
    TM_EXPECT_INT(cs->col, 0);
    TM_ASSERT_INT(cs->nkids, 4);
    TM_EXPECT_STR(kid(cs, 0)->name, "id");
    TM_EXPECT_STR(kid(cs, 0)->value, "1");
    TM_EXPECT_STR(kid(cs, 1)->name, "author");
    TM_EXPECT_STR(kid(cs, 1)->value, "alice");
    TM_EXPECT_STR(kid(cs, 2)->name, "runOnChange");
    TM_EXPECT_INT(kid(cs, 2)->line, 3);
    const struct chlog_node *ct = kid(cs, 3);
    TM_EXPECT_STR(ct->name, "createTable");
    TM_EXPECT(ct->value == NULL); /* whitespace-only text is no value */
    TM_EXPECT_STR(chlog_node_text(ct, "tableName"), "orders");
    TM_ASSERT_INT(ct->nkids, 3);
    const struct chlog_node *c1 = kid(ct, 1);
    TM_EXPECT_STR(c1->name, "column");
    TM_EXPECT_INT(c1->line, 5);
    TM_EXPECT_STR(chlog_node_text(c1, "type"), "bigint");
    const struct chlog_node *cons = chlog_node_child(c1, "constraints");
    TM_ASSERT(cons != NULL);
    TM_EXPECT_STR(chlog_node_text(cons, "primaryKey"), "true");
    TM_EXPECT_STR(chlog_node_text(cons, "nullable"), "false");
    TM_EXPECT_STR(chlog_node_text(kid(ct, 2), "name"), "note");
    TM_EXPECT_STR(kid(ct, 2)->file, "db/changelog.xml");
    chlog_node_free(root);
    ld_fix_release(&f);
}

TM_TEST(xml_text_is_trimmed_like_java_and_cdata_becomes_text)
{
    struct ld_fix f;
    struct chlog_node *root = NULL;
    struct tm_err err = {0};
    const char *x = "<databaseChangeLog>\n"
                    "<changeSet id=\"t\" author=\"a\">\n"
                    "  <sql splitStatements=\" false \">\n"
                    "\t  SELECT 1;\n"
                    "    SELECT 2;  \r\n"
                    "  </sql>\n"
                    "  <sql><![CDATA[SELECT '<x> & y' ]]> -- tail</sql>\n"
                    "  <comment>  </comment>\n"
                    "  <rollback>DROP <!-- gone --> TABLE t<sqlFile path=\"x\"/> ;</rollback>\n"
                    "  <sql>&lt;&amp;&#65;&#x42;&gt;</sql>\n"
                    "</changeSet></databaseChangeLog>";
    TM_ASSERT_INT(read_xml(&f, x, &root, &err), TM_OK);
    const struct chlog_node *cs = kid(root, 0);
    TM_ASSERT(cs != NULL);
    const struct chlog_node *s1 = kid(cs, 2);
    TM_EXPECT_STR(s1->value, "SELECT 1;\n    SELECT 2;");
    /* attribute values are kept as written */
    TM_EXPECT_STR(chlog_node_text(s1, "splitStatements"), " false ");
    TM_EXPECT_STR(kid(cs, 3)->value, "SELECT '<x> & y'  -- tail");
    TM_EXPECT(kid(cs, 4)->value == NULL);
    /* the element's own text pieces, joined; comments dropped; the child
     * element is a node, not text */
    const struct chlog_node *rb = kid(cs, 5);
    TM_EXPECT_STR(rb->value, "DROP  TABLE t ;");
    TM_ASSERT_INT(rb->nkids, 1);
    TM_EXPECT_STR(kid(rb, 0)->name, "sqlFile");
    TM_EXPECT_STR(kid(cs, 6)->value, "<&AB>");
    chlog_node_free(root);
    ld_fix_release(&f);
}

TM_TEST(xml_namespace_prefixes_are_dropped_from_elements_and_attributes)
{
    struct ld_fix f;
    struct chlog_node *root = NULL;
    struct tm_err err = {0};
    const char *x =
        "<lb:databaseChangeLog xmlns:lb=\"http://www.liquibase.org/xml/ns/dbchangelog\"\n"
        "   xmlns:ext=\"http://www.liquibase.org/xml/ns/dbchangelog-ext\">\n"
        "<lb:changeSet id=\"n\" author=\"a\" ext:flag=\"y\">\n"
        "  <ext:createView viewName=\"v\">SELECT 1</ext:createView>\n"
        "</lb:changeSet></lb:databaseChangeLog>";
    TM_ASSERT_INT(read_xml(&f, x, &root, &err), TM_OK);
    TM_EXPECT_STR(root->name, "databaseChangeLog");
    TM_EXPECT_INT(root->nkids, 1);
    const struct chlog_node *cs = kid(root, 0);
    TM_EXPECT_STR(cs->name, "changeSet");
    TM_EXPECT_STR(chlog_node_text(cs, "flag"), "y");
    const struct chlog_node *v = chlog_node_child(cs, "createView");
    TM_ASSERT(v != NULL);
    TM_EXPECT_STR(v->value, "SELECT 1");
    TM_EXPECT_STR(chlog_node_text(v, "viewName"), "v");
    TM_EXPECT_INT(v->line, 4);
    chlog_node_free(root);
    ld_fix_release(&f);
}

TM_TEST(xml_plain_doctype_without_declarations_is_accepted)
{
    struct ld_fix f;
    struct chlog_node *root = NULL;
    struct tm_err err = {0};
    TM_EXPECT_INT(read_xml(&f, "<!DOCTYPE databaseChangeLog>\n<databaseChangeLog/>", &root, &err),
                  TM_OK);
    TM_EXPECT(root && root->nkids == 0 && root->value == NULL);
    chlog_node_free(root);
    ld_fix_release(&f);
}

TM_TEST(xml_root_other_than_databaseChangeLog_is_an_error_naming_it)
{
    struct ld_fix f;
    struct chlog_node *root = NULL;
    struct tm_err err = {0};
    TM_EXPECT_INT(read_xml(&f, "<?xml version=\"1.0\"?>\n\n<changeLog><a/></changeLog>", &root,
                           &err),
                  TM_E_PARSE);
    TM_EXPECT(root == NULL);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.xml:3:");
    TM_EXPECT_CONTAINS(err.msg, "\"databaseChangeLog\" expected as root element");
    TM_EXPECT_CONTAINS(err.msg, "\"changeLog\"");
    ld_fix_release(&f);
}

TM_TEST(xml_syntax_errors_carry_file_line_and_libxml2_message)
{
    struct ld_fix f;
    struct chlog_node *root = NULL;
    struct tm_err err = {0};
    const char *x = "<databaseChangeLog>\n"
                    "  <changeSet id=\"1\" author=\"a\">\n"
                    "    <sql>SELECT 1</sqll>\n"
                    "  </changeSet>\n"
                    "</databaseChangeLog>\n";
    TM_EXPECT_INT(read_xml(&f, x, &root, &err), TM_E_PARSE);
    TM_EXPECT(root == NULL);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.xml:3: ");
    TM_EXPECT_CONTAINS(err.msg, "mismatch"); /* "Opening and ending tag mismatch: sql ..." */
    TM_EXPECT(strchr(err.msg, '\n') == NULL);
    ld_fix_release(&f);

    TM_EXPECT_INT(read_xml(&f, "<databaseChangeLog>\n<a b=\"1\" b=\"2\"/></databaseChangeLog>",
                           &root, &err),
                  TM_E_PARSE);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.xml:2: ");
    TM_EXPECT_CONTAINS(err.msg, "redefined");
    ld_fix_release(&f);

    TM_EXPECT_INT(read_xml(&f, "", &root, &err), TM_E_PARSE);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.xml:");
    TM_EXPECT_CONTAINS(err.msg, "empty");
    ld_fix_release(&f);

    TM_EXPECT_INT(read_xml(&f, "<databaseChangeLog><sql>&undefined;</sql></databaseChangeLog>",
                           &root, &err),
                  TM_E_PARSE);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.xml:1: ");
    TM_EXPECT_CONTAINS(err.msg, "undefined");
    ld_fix_release(&f);
}

TM_TEST(xml_external_entity_to_etc_passwd_is_refused_and_never_read)
{
    struct ld_fix f;
    struct chlog_node *root = NULL;
    struct tm_err err = {0};
    const char *x = "<?xml version=\"1.0\"?>\n"
                    "<!DOCTYPE databaseChangeLog [\n"
                    "  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n"
                    "]>\n"
                    "<databaseChangeLog><changeSet id=\"1\" author=\"a\">"
                    "<sql>&xxe;</sql></changeSet></databaseChangeLog>\n";
    TM_EXPECT_INT(read_xml(&f, x, &root, &err), TM_E_PARSE);
    TM_EXPECT(root == NULL);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.xml:3: ");
    TM_EXPECT_CONTAINS(err.msg, "<!ENTITY> xxe refused");
    TM_EXPECT_NOT_CONTAINS(err.msg, "root:");
    ld_fix_release(&f);

    /* in an attribute value too */
    const char *y = "<!DOCTYPE d [<!ENTITY xxe SYSTEM \"/etc/passwd\">]>\n"
                    "<databaseChangeLog><property name=\"p\" value=\"&xxe;\"/></databaseChangeLog>";
    TM_EXPECT_INT(read_xml(&f, y, &root, &err), TM_E_PARSE);
    TM_EXPECT(root == NULL);
    TM_EXPECT_NOT_CONTAINS(err.msg, "root:");
    ld_fix_release(&f);
}

/* A DTD file that, if it were ever read, would define entities carrying a
 * marker into the document. */
static void write_marker_dtd(char *path, size_t n)
{
    snprintf(path, n, "/tmp/tm-xml-test-%ld.dtd", (long)getpid());
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs("<!ENTITY leak \"TM_XXE_MARKER\">\n<!ENTITY % inner \"<!ENTITY leak2 'TM_XXE_MARKER'>\">\n%inner;\n",
              fp);
        fclose(fp);
    }
}

static bool tree_contains(const struct chlog_node *n, const char *s)
{
    if (!n)
        return false;
    if ((n->value && strstr(n->value, s)) || strstr(n->name, s))
        return true;
    for (size_t i = 0; i < n->nkids; i++)
        if (tree_contains(n->kids[i], s))
            return true;
    return false;
}

TM_TEST(xml_parameter_entities_and_external_dtds_are_refused)
{
    char dtd[128];
    write_marker_dtd(dtd, sizeof(dtd));
    char x[1024];
    const char *fmts[] = {
        /* external parameter entity pulled in by reference */
        "<!DOCTYPE databaseChangeLog [\n<!ENTITY %% ext SYSTEM \"file://%s\">\n%%ext;\n]>\n"
        "<databaseChangeLog><sql>&leak;</sql></databaseChangeLog>",
        /* external DTD subset */
        "<!DOCTYPE databaseChangeLog SYSTEM \"file://%s\">\n"
        "<databaseChangeLog><sql>&leak;</sql></databaseChangeLog>",
        /* PUBLIC id with a system id */
        "<!DOCTYPE databaseChangeLog PUBLIC \"-//X//Y\" \"%s\">\n"
        "<databaseChangeLog><sql>&leak;</sql></databaseChangeLog>",
        /* network DTD (must not be fetched, nor even tried) */
        "<!DOCTYPE databaseChangeLog SYSTEM \"http://127.0.0.1:9/%s\">\n"
        "<databaseChangeLog/>",
        /* internal parameter entity */
        "<!DOCTYPE databaseChangeLog [\n<!ENTITY %% p \"<!ENTITY leak 'TM_XXE_MARKER'>\">\n%%p;\n]>"
        "<!-- %s -->\n<databaseChangeLog><sql>&leak;</sql></databaseChangeLog>",
    };
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        struct ld_fix f;
        struct chlog_node *root = NULL;
        struct tm_err err = {0};
        snprintf(x, sizeof(x), fmts[i], dtd);
        TM_EXPECT_INT(read_xml(&f, x, &root, &err), TM_E_PARSE);
        TM_EXPECT(root == NULL);
        TM_EXPECT(!tree_contains(root, "TM_XXE_MARKER"));
        TM_EXPECT_NOT_CONTAINS(err.msg, "TM_XXE_MARKER");
        TM_EXPECT_CONTAINS(err.msg, "refused");
        TM_EXPECT_CONTAINS(err.msg, "db/changelog.xml:");
        chlog_node_free(root);
        ld_fix_release(&f);
    }
    unlink(dtd);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TM_TEST(xml_billion_laughs_is_refused_quickly)
{
    char x[4096];
    size_t n = 0;
    n += (size_t)snprintf(x + n, sizeof(x) - n,
                          "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for (int i = 1; i <= 12; i++) {
        n += (size_t)snprintf(x + n, sizeof(x) - n, "<!ENTITY lol%d \"", i);
        for (int k = 0; k < 10; k++) {
            if (i == 1)
                n += (size_t)snprintf(x + n, sizeof(x) - n, "&lol;");
            else
                n += (size_t)snprintf(x + n, sizeof(x) - n, "&lol%d;", i - 1);
        }
        n += (size_t)snprintf(x + n, sizeof(x) - n, "\">\n");
    }
    snprintf(x + n, sizeof(x) - n, "]>\n<databaseChangeLog><sql>&lol12;</sql></databaseChangeLog>\n");
    struct ld_fix f;
    struct chlog_node *root = NULL;
    struct tm_err err = {0};
    double t0 = now_s();
    TM_EXPECT_INT(read_xml(&f, x, &root, &err), TM_E_PARSE);
    double dt = now_s() - t0;
    TM_EXPECT(root == NULL);
    TM_EXPECT(dt < 1.0);
    TM_EXPECT_CONTAINS(err.msg, "db/changelog.xml:3: <!ENTITY> lol refused");
    chlog_node_free(root);
    ld_fix_release(&f);
}

TM_TEST(xml_file_over_the_size_cap_is_too_big)
{
    char dir[] = "/tmp/tm-xml-big-XXXXXX";
    TM_ASSERT(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/big.xml", dir);
    FILE *fp = fopen(path, "w");
    TM_ASSERT(fp != NULL);
    fputs("<databaseChangeLog><sql>", fp);
    static char chunk[1 << 16];
    memset(chunk, 'x', sizeof(chunk));
    for (size_t w = 0; w <= TM_CAP_CHANGELOG_FILE; w += sizeof(chunk))
        fwrite(chunk, 1, sizeof(chunk), fp);
    fputs("</sql></databaseChangeLog>", fp);
    fclose(fp);
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_disk_init(&fs, dir), TM_OK);
    struct chlog_ld ld;
    memset(&ld, 0, sizeof(ld));
    ld.fs = &fs;
    struct chlog_node *root = NULL;
    struct tm_err err = {0};
    TM_EXPECT_INT(chlog_xml_read(&ld, "big.xml", &root, &err), TM_E_TOOBIG);
    TM_EXPECT(root == NULL);
    TM_EXPECT_CONTAINS(err.msg, "big.xml");
    for (size_t i = 0; i < ld.nkept; i++)
        free(ld.kept[i]);
    free(ld.kept);
    chlog_fs_disk_release(&fs);
    unlink(path);
    rmdir(dir);
}

TM_TEST(xml_errors_are_not_printed_to_stderr)
{
    fflush(stderr);
    int saved = dup(2);
    TM_ASSERT(saved >= 0);
    char tmpl[] = "/tmp/tm-xml-stderr-XXXXXX";
    int fd = mkstemp(tmpl);
    TM_ASSERT(fd >= 0);
    dup2(fd, 2);
    const char *bad[] = {
        "<databaseChangeLog><a></b></databaseChangeLog>",
        "<?xml version=\"1.0\" encoding=\"no-such-encoding\"?><databaseChangeLog/>",
        "<databaseChangeLog xmlns=\"relative/uri\"><x:y/></databaseChangeLog>",
        "<!DOCTYPE d [<!ENTITY e SYSTEM \"/etc/passwd\">]><databaseChangeLog/>",
        "<databaseChangeLog>\xff\xfe</databaseChangeLog>",
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ld_fix f;
        struct chlog_node *root = NULL;
        struct tm_err err = {0};
        fails += read_xml(&f, bad[i], &root, &err) != TM_OK;
        chlog_node_free(root);
        ld_fix_release(&f);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    struct stat st;
    TM_ASSERT(fstat(fd, &st) == 0);
    close(fd);
    unlink(tmpl);
    TM_EXPECT_INT(fails, 5);
    TM_EXPECT_INT(st.st_size, 0);
}

/* Several threads parse at once: each gets its own tree and its own error. */
struct par {
    bool good;
    int failures;
};

static void *parse_loop(void *arg)
{
    struct par *p = arg;
    for (int i = 0; i < 200; i++) {
        struct ld_fix f;
        struct chlog_node *root = NULL;
        struct tm_err err = {0};
        char x[256];
        if (p->good)
            snprintf(x, sizeof(x),
                     "<databaseChangeLog>\n<changeSet id=\"%d\" author=\"t\"/></databaseChangeLog>",
                     i);
        else
            snprintf(x, sizeof(x), "<databaseChangeLog>\n\n<x%d></y></databaseChangeLog>", i);
        enum tm_code rc = read_xml(&f, x, &root, &err);
        char want[16];
        snprintf(want, sizeof(want), "%d", i);
        if (p->good) {
            if (rc != TM_OK || !root || root->nkids != 1 ||
                strcmp(chlog_node_text(root->kids[0], "id"), want) != 0)
                p->failures++;
        } else {
            char tag[32];
            snprintf(tag, sizeof(tag), "x%d", i);
            if (rc != TM_E_PARSE || !strstr(err.msg, "db/changelog.xml:3: ") ||
                !strstr(err.msg, tag))
                p->failures++;
        }
        chlog_node_free(root);
        ld_fix_release(&f);
    }
    return NULL;
}

TM_TEST(xml_parses_concurrently_with_per_parse_errors)
{
    pthread_t t[4];
    struct par p[4] = {{true, 0}, {false, 0}, {true, 0}, {false, 0}};
    for (int i = 0; i < 4; i++)
        TM_ASSERT(pthread_create(&t[i], NULL, parse_loop, &p[i]) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        TM_EXPECT_INT(p[i].failures, 0);
}

TM_TEST_MAIN()
