/* Unit tests: Liquibase v9 and Flyway checksums.
 *
 * Vectors: `select 1` and "no changes" from REFERENCE.md (Liquibase's own
 * values); the others are derived from the liquibase-standard source as cited
 * in controller/changelog/checksum.c (MD5 of whitespace-free SQL per change,
 * "9:<h>:" concatenated, MD5 again), computed independently with Python's
 * hashlib; Flyway values with zlib.crc32 as a signed 32-bit integer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "tm_test.h"

static void one_sql(struct chlog_changeset *cs, struct chlog_change *ch, const char *sql)
{
    memset(cs, 0, sizeof(*cs));
    memset(ch, 0, sizeof(*ch));
    ch->kind = CHLOG_CHANGE_SQL;
    ch->sql = (char *)sql;
    cs->changes = ch;
    cs->nchanges = 1;
}

TM_TEST(checksum_v9_select_1_matches_liquibase)
{
    struct chlog_changeset cs;
    struct chlog_change ch;
    one_sql(&cs, &ch, "select 1");
    char out[64];
    TM_ASSERT_INT(chlog_checksum_v9(&cs, out), TM_OK);
    TM_EXPECT_STR(out, "9:3b78b9910981c62ca27148640fad7bc2");
}

TM_TEST(checksum_v9_ignores_spaces_tabs_and_line_endings)
{
    struct chlog_changeset cs;
    struct chlog_change ch;
    one_sql(&cs, &ch, "\r\n  select\t\t1 \n");
    char out[64];
    TM_ASSERT_INT(chlog_checksum_v9(&cs, out), TM_OK);
    TM_EXPECT_STR(out, "9:3b78b9910981c62ca27148640fad7bc2");
    one_sql(&cs, &ch, "SELECT 1");
    TM_ASSERT_INT(chlog_checksum_v9(&cs, out), TM_OK);
    TM_EXPECT(strcmp(out, "9:3b78b9910981c62ca27148640fad7bc2") != 0); /* case counts */
}

TM_TEST(checksum_v9_no_changes_is_md5_of_empty)
{
    struct chlog_changeset cs;
    memset(&cs, 0, sizeof(cs));
    char out[64];
    TM_ASSERT_INT(chlog_checksum_v9(&cs, out), TM_OK);
    TM_EXPECT_STR(out, "9:d41d8cd98f00b204e9800998ecf8427e");
}

TM_TEST(checksum_v9_multiple_changes_concatenate)
{
    /* md5("9:" md5("select1") ":9:" md5("select2") ":") */
    struct chlog_change ch[2];
    memset(ch, 0, sizeof(ch));
    ch[0].kind = CHLOG_CHANGE_SQL;
    ch[0].sql = (char *)"select 1";
    ch[1].kind = CHLOG_CHANGE_SQL_FILE;
    ch[1].sql = (char *)"select 2";
    ch[1].path = (char *)"x.sql";
    struct chlog_changeset cs;
    memset(&cs, 0, sizeof(cs));
    cs.changes = ch;
    cs.nchanges = 2;
    char out[64];
    TM_ASSERT_INT(chlog_checksum_v9(&cs, out), TM_OK);
    TM_EXPECT_STR(out, "9:2ac49e4fd8ee89c1e05104c04ceb2df8");
}

TM_TEST(checksum_v9_tag_database_hashes_its_serialized_form)
{
    struct chlog_change ch;
    memset(&ch, 0, sizeof(ch));
    ch.kind = CHLOG_CHANGE_TAG;
    ch.tag = (char *)"v1.0.0";
    struct chlog_changeset cs;
    memset(&cs, 0, sizeof(cs));
    cs.changes = &ch;
    cs.nchanges = 1;
    char out[64];
    TM_ASSERT_INT(chlog_checksum_v9(&cs, out), TM_OK);
    TM_EXPECT_STR(out, "9:19241f4e7bc7a9aa36aa862d15e66697");
}

TM_TEST(checksum_v9_skips_changes_for_other_databases)
{
    struct chlog_change ch[2];
    memset(ch, 0, sizeof(ch));
    ch[0].kind = CHLOG_CHANGE_SQL;
    ch[0].sql = (char *)"select 1";
    ch[1].kind = CHLOG_CHANGE_SQL;
    ch[1].sql = (char *)"select 2";
    ch[1].dbms = (char *)"oracle, mysql";
    struct chlog_changeset cs;
    memset(&cs, 0, sizeof(cs));
    cs.changes = ch;
    cs.nchanges = 2;
    char out[64];
    TM_ASSERT_INT(chlog_checksum_v9(&cs, out), TM_OK);
    TM_EXPECT_STR(out, "9:3b78b9910981c62ca27148640fad7bc2");
    ch[1].dbms = (char *)"!oracle";
    TM_ASSERT_INT(chlog_checksum_v9(&cs, out), TM_OK);
    TM_EXPECT_STR(out, "9:2ac49e4fd8ee89c1e05104c04ceb2df8");
}

TM_TEST(checksum_loaded_formatted_sql_matches_v9_of_its_body)
{
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    struct tm_err err = {0};
    const char *t = "--liquibase formatted sql\n--changeset a:1\nselect 1\n--rollback select 0\n";
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "c.sql", t, strlen(t), &err), TM_OK);
    struct chlog *c = NULL;
    TM_ASSERT_INT(chlog_load(&fs, "c.sql", NULL, &c, &err), TM_OK);
    TM_EXPECT_STR(c->sets[0].checksum, "9:3b78b9910981c62ca27148640fad7bc2");
    chlog_free(c);
    chlog_fs_mem_release(&fs);
}

TM_TEST(checksum_v9_sql_file_hashes_unexpanded_text_with_legacy_variant)
{
    /* SQLFileChange.generateCheckSum (4.26+) hashes the file before ${}
     * expansion; Liquibase < 4.26 hashed it expanded (checksum_legacy) */
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    struct tm_err err = {0};
    const char *y = "databaseChangeLog:\n"
                    "- property: {name: p, value: '42'}\n"
                    "- changeSet: {id: f, author: x, changes: [{sqlFile: {path: one.sql}}]}\n"
                    "- changeSet: {id: g, author: x, changes: [{sql: 'SELECT ${p};'}]}\n";
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "c.yaml", y, strlen(y), &err), TM_OK);
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "one.sql", "SELECT ${p};\n", 13, &err), TM_OK);
    struct chlog *c = NULL;
    TM_ASSERT_INT(chlog_load(&fs, "c.yaml", NULL, &c, &err), TM_OK);
    TM_EXPECT_STR(c->sets[0].changes[0].sql, "SELECT 42;\n");
    TM_EXPECT_STR(c->sets[0].changes[0].raw_sql, "SELECT ${p};\n");
    TM_EXPECT_STR(c->sets[0].checksum, "9:ef3dd6717f07e13a046fd7721f232043");
    TM_EXPECT_STR(c->sets[0].checksum_legacy, "9:e5601c2c2ce9f52e4f3fdaf6bbec6633");
    /* inline sql is expanded before hashing; no legacy variant */
    TM_EXPECT_STR(c->sets[1].checksum, "9:e5601c2c2ce9f52e4f3fdaf6bbec6633");
    TM_EXPECT_STR(c->sets[1].checksum_legacy, "");
    chlog_free(c);
    chlog_fs_mem_release(&fs);
}

TM_TEST(checksum_flyway_crc32_is_signed_and_line_ending_blind)
{
    /* zlib.crc32(b"select 1;") = 3604442937 -> -690524359 as int32 */
    TM_EXPECT_INT(chlog_checksum_flyway("select 1;", 9), -690524359);
    TM_EXPECT_INT(chlog_checksum_flyway("select 1;\n", 10), -690524359);
    TM_EXPECT_INT(chlog_checksum_flyway("\xEF\xBB\xBFselect 1;\r\n", 12), -690524359);
    /* lines: "select" + " 1;" -> crc32(b"select 1;") */
    TM_EXPECT_INT(chlog_checksum_flyway("select\n 1;\n", 11), -690524359);
    /* zlib.crc32(b"CREATE TABLE t (id int);") = 92137680 */
    TM_EXPECT_INT(chlog_checksum_flyway("CREATE TABLE t (id int);\n", 25), 92137680);
    TM_EXPECT_INT(chlog_checksum_flyway("", 0), 0);
}

TM_TEST_MAIN()
