/* chlog checksums: Liquibase checksum v9 and Flyway's CRC32.
 *
 * Liquibase v9, as read in liquibase/liquibase (liquibase-standard/src/main/java/):
 *   - liquibase/changelog/ChangeSet.java generateCheckSum(): for each change
 *     (v9 skips a DbmsTargetedChange whose dbms does not match the database),
 *     append change.generateCheckSum().toString() + ":"; the changeset's
 *     checksum is CheckSum.compute(that string).
 *   - liquibase/change/CheckSum.java: toString() is "<version>:<md5 hex>";
 *     compute(String) is the MD5 of the UTF-8 text after line endings are
 *     standardised and NFC-normalised (our inputs are already "\n"-free hex).
 *   - liquibase/change/AbstractSQLChange.java generateCheckSum(): v9 hashes the
 *     SQL (after ${} expansion; setSql() trims) through NormalizingStream,
 *     which drops every ' ', '\t', '\n', '\r' - nothing else (comments and
 *     case stay; splitStatements/stripComments/endDelimiter do not count).
 *     RawSQLChange (sql, formatted SQL body) uses it as is.
 *   - liquibase/change/core/SQLFileChange.java generateCheckSum(): the same
 *     normalisation over getSql(doExpandExpressionsInGenerateChecksum), which
 *     is false by default: the file's text WITHOUT ${} expansion (path and
 *     relativeToChangelogFile do not count).  Liquibase before 4.26 hashed
 *     the expanded text; the history upgrade code accepts that value for rows
 *     written by those versions - chlog_checksum_v9_legacy() computes it.
 *     Inline sql (YAML `sql`, formatted SQL bodies) is hashed after expansion:
 *     the parsers expand properties before the change is built.
 *   - liquibase/change/AbstractChange.java generateCheckSum(): other changes
 *     (tagDatabase) hash StringChangeLogSerializer.serialize(change): the
 *     change name, ":[", then per non-null field "\n" + 4 spaces + name="value"
 *     in sorted order, then "\n]"; TagDatabaseChange.java has one field, tag,
 *     so tagDatabase v1.0 hashes `tagDatabase:[\n    tag="v1.0"\n]`.
 *     (Serializer: liquibase/serializer/core/string/StringChangeLogSerializer.java.)
 * Not confirmed against a running Liquibase: the tagDatabase vector is derived
 * from that source reading only; the sql vectors match REFERENCE.md.
 *
 * Flyway: CRC32 over each line's bytes without its terminator, BOM removed
 * (flyway-core ChecksumCalculator).  As empty lines add no bytes this equals
 * CRC32 of the text with every CR and LF removed. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "common/buf.h"
#include "common/caps.h"

/* OpenSSL 3 looks EVP_md5() up in its providers on every EVP_Digest (about
 * half the cost of hashing one change); the MD5 fetched once is kept for
 * the process (one-time library init). */
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;
static EVP_MD *md5_fetched;

static void md5_fetch(void)
{
    md5_fetched = EVP_MD_fetch(NULL, "MD5", NULL);
}

static void md5_to_hex(const unsigned char h[16], char hex[33])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 16; i++) {
        hex[2 * i] = digits[h[i] >> 4];
        hex[2 * i + 1] = digits[h[i] & 15];
    }
    hex[32] = '\0';
}

enum tm_code chlog_md5_hex(const void *data, size_t len, char hex[33])
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    (void)pthread_once(&md5_once, md5_fetch);
    const EVP_MD *md = md5_fetched ? md5_fetched : EVP_md5();
    if (EVP_Digest(data, len, h, &hl, md, NULL) != 1 || hl != 16)
        return TM_E_INTERNAL;
    md5_to_hex(h, hex);
    return TM_OK;
}

enum tm_code chlog_md5_begin(struct chlog_md5 *m)
{
    m->bl = 0;
    m->ok = true;
    m->ctx = EVP_MD_CTX_new();
    if (!m->ctx || EVP_DigestInit_ex(m->ctx, EVP_md5(), NULL) != 1) {
        EVP_MD_CTX_free(m->ctx);
        m->ctx = NULL;
        return TM_E_NOMEM;
    }
    return TM_OK;
}

void chlog_md5_put(struct chlog_md5 *m, unsigned char c)
{
    if (!m->ok)
        return;
    m->blk[m->bl++] = c;
    if (m->bl == sizeof m->blk) {
        m->ok = EVP_DigestUpdate(m->ctx, m->blk, m->bl) == 1;
        m->bl = 0;
    }
}

enum tm_code chlog_md5_end(struct chlog_md5 *m, char hex[33])
{
    bool ok = m->ok;
    if (ok && m->bl)
        ok = EVP_DigestUpdate(m->ctx, m->blk, m->bl) == 1;
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    ok = ok && EVP_DigestFinal_ex(m->ctx, h, &hl) == 1 && hl == 16;
    EVP_MD_CTX_free(m->ctx);
    m->ctx = NULL;
    if (!ok)
        return TM_E_INTERNAL;
    md5_to_hex(h, hex);
    return TM_OK;
}

enum tm_code chlog_md5_sql_hex(const char *sql, char hex[33])
{
    struct chlog_md5 m;
    enum tm_code rc = chlog_md5_begin(&m);
    if (rc != TM_OK)
        return rc;
    for (const char *p = sql ? sql : ""; *p && m.ok; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            chlog_md5_put(&m, (unsigned char)*p);
    return chlog_md5_end(&m, hex);
}

enum tm_code chlog_checksum_of_parts(const char *prefix, const char *inner_hex, char out[40])
{
    struct tm_buf t;
    tm_buf_init(&t, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_addf(&t, "%s:9:%s", prefix, inner_hex);
    char hex[33];
    if (rc == TM_OK)
        rc = chlog_md5_hex(tm_buf_str(&t), t.len, hex);
    tm_buf_release(&t);
    if (rc == TM_OK)
        snprintf(out, 40, "9:%s", hex);
    return rc;
}

/* Liquibase DatabaseList.definitionMatches(dbms, postgresql, true): empty or
 * "all" matches, "none" does not, a comma list matches when it names
 * postgresql, and "!x" entries exclude. */
bool chlog_dbms_matches_postgres(const char *dbms)
{
    if (!dbms)
        return true;
    bool any = false, included = false, only_negations = true;
    const char *p = dbms, *end = dbms + strlen(dbms), *s;
    size_t n;
    while (chlog_list_item(&p, end, false, &s, &n)) {
        any = true;
        bool neg = *s == '!';
        if (neg) {
            s++;
            n--;
        }
        bool pg = (n == 10 && strncasecmp(s, "postgresql", 10) == 0);
        bool all = (n == 3 && strncasecmp(s, "all", 3) == 0);
        bool none = (n == 4 && strncasecmp(s, "none", 4) == 0);
        if (neg && pg)
            return false;
        if (!neg) {
            only_negations = false;
            if (pg || all)
                included = true;
            if (none)
                return false;
        }
    }
    if (!any)
        return true;
    return included || only_negations;
}

static enum tm_code checksum_v9(const struct chlog_changeset *cs, bool expanded_files,
                                char out[64])
{
    out[0] = '\0';
    struct tm_buf s;
    tm_buf_init(&s, TM_CAP_SMALL * 4);
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < cs->nchanges && rc == TM_OK; i++) {
        const struct chlog_change *ch = &cs->changes[i];
        char hex[33];
        if (ch->kind == CHLOG_CHANGE_STRUCT) {
            /* change.c computed "9:<md5>" from Liquibase's serialisation */
            rc = tm_buf_addf(&s, "%s:", ch->checksum_v9);
            continue;
        }
        if (ch->kind == CHLOG_CHANGE_TAG) {
            struct tm_buf t;
            tm_buf_init(&t, TM_CAP_SMALL);
            rc = ch->tag ? tm_buf_addf(&t, "tagDatabase:[\n    tag=\"%s\"\n]", ch->tag)
                         : tm_buf_adds(&t, "tagDatabase:[]");
            if (rc == TM_OK)
                rc = chlog_md5_hex(tm_buf_str(&t), t.len, hex);
            tm_buf_release(&t);
        } else {
            if (!chlog_dbms_matches_postgres(ch->dbms))
                continue;
            bool raw = ch->kind == CHLOG_CHANGE_SQL_FILE && ch->raw_sql && !expanded_files;
            rc = chlog_md5_sql_hex(raw ? ch->raw_sql : ch->sql, hex);
        }
        if (rc == TM_OK)
            rc = tm_buf_addf(&s, "9:%s:", hex);
    }
    char hex[33];
    if (rc == TM_OK)
        rc = chlog_md5_hex(tm_buf_str(&s), s.len, hex);
    tm_buf_release(&s);
    if (rc != TM_OK)
        return rc;
    snprintf(out, 64, "9:%s", hex);
    return TM_OK;
}

enum tm_code chlog_checksum_v9(const struct chlog_changeset *cs, char out[64])
{
    return checksum_v9(cs, false, out);
}

enum tm_code chlog_checksum_v9_legacy(const struct chlog_changeset *cs, char out[64])
{
    return checksum_v9(cs, true, out);
}

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    /* reflected CRC-32 (IEEE 802.3, poly 0xEDB88320), bitwise: inputs are small */
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

int chlog_checksum_flyway(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0;
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    uint32_t crc = 0xFFFFFFFFu;
    while (i < len) {
        size_t s = i;
        while (i < len && p[i] != '\n' && p[i] != '\r')
            i++;
        crc = crc32_update(crc, p + s, i - s);
        while (i < len && (p[i] == '\n' || p[i] == '\r'))
            i++;
    }
    crc ^= 0xFFFFFFFFu;
    return (int)(int32_t)crc;
}
