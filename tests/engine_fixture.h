/* engine_fixture: hand-built changelogs and histories for the engine tests.
 *
 * Builds a struct chlog the way the parsers would (Liquibase defaults:
 * runInTransaction and failOnError true, one `sql` change per changeset,
 * FILENAME "db/changelog.sql", author "alice") and computes the Liquibase v9
 * checksum of its SQL (REFERENCE.md: drop spaces/tabs/CR/LF, md5 hex h,
 * "9:" + md5hex("9:" + h + ":")), so rows written by the engine can be
 * compared with what Liquibase writes.  Everything is freed by fx_free(). */
#ifndef TM_TESTS_ENGINE_FIXTURE_H
#define TM_TESTS_ENGINE_FIXTURE_H

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "engine/engine.h"

#define FX_FILE "db/changelog.sql"
#define FX_AUTHOR "alice"

static inline void fx_md5hex(const char *data, size_t n, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, n, md, &mdlen, EVP_md5(), NULL);
    for (unsigned int i = 0; i < mdlen && i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[32] = '\0';
}

/* Liquibase v9 checksum of changesets made of sql changes (NULL = none). */
static inline void fx_checksum(const char *const *sqls, size_t n, char out[64])
{
    char s[64 * 64] = "";
    size_t sl = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(sqls[i]);
        char *norm = malloc(l + 1);
        size_t k = 0;
        for (size_t j = 0; j < l; j++)
            if (sqls[i][j] != ' ' && sqls[i][j] != '\t' && sqls[i][j] != '\r' &&
                sqls[i][j] != '\n')
                norm[k++] = sqls[i][j];
        char h[33];
        fx_md5hex(norm, k, h);
        free(norm);
        sl += (size_t)snprintf(s + sl, sizeof(s) - sl, "9:%s:", h);
    }
    char h[33];
    fx_md5hex(s, sl, h);
    snprintf(out, 64, "9:%s", h);
}

static inline char *fx_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Appends a changeset with one sql change (sql NULL = no change). */
static inline struct chlog_changeset *fx_add(struct chlog *cl, const char *id, const char *sql,
                                             const char *rollback)
{
    cl->sets = realloc(cl->sets, (cl->nsets + 1) * sizeof(*cl->sets));
    struct chlog_changeset *cs = &cl->sets[cl->nsets++];
    memset(cs, 0, sizeof(*cs));
    cs->id = fx_dup(id);
    cs->author = fx_dup(FX_AUTHOR);
    cs->filename = fx_dup(FX_FILE);
    cs->run_in_transaction = true;
    cs->fail_on_error = true;
    cs->line = (int)cl->nsets * 10;
    if (sql) {
        cs->changes = calloc(1, sizeof(*cs->changes));
        cs->nchanges = 1;
        cs->changes[0].kind = CHLOG_CHANGE_SQL;
        cs->changes[0].sql = fx_dup(sql);
        cs->changes[0].split_statements = true;
        const char *one[1] = {sql};
        fx_checksum(one, 1, cs->checksum);
    } else {
        fx_checksum(NULL, 0, cs->checksum);
    }
    if (rollback) {
        cs->rollback_sql = fx_dup(rollback);
        cs->has_rollback = true;
    }
    return cs;
}

/* Adds a tagDatabase change to cs (Liquibase: the checksum does not change
 * for our purposes here; tests that compare checksums use untagged sets). */
static inline void fx_tag(struct chlog_changeset *cs, const char *tag)
{
    cs->changes = realloc(cs->changes, (cs->nchanges + 1) * sizeof(*cs->changes));
    struct chlog_change *ch = &cs->changes[cs->nchanges++];
    memset(ch, 0, sizeof(*ch));
    ch->kind = CHLOG_CHANGE_TAG;
    ch->tag = fx_dup(tag);
    cs->tag = ch->tag;
}

static inline void fx_free(struct chlog *cl)
{
    for (size_t i = 0; i < cl->nsets; i++) {
        struct chlog_changeset *cs = &cl->sets[i];
        for (size_t j = 0; j < cs->nchanges; j++) {
            free(cs->changes[j].sql);
            free(cs->changes[j].path);
            free(cs->changes[j].tag);
            free(cs->changes[j].end_delimiter);
            free(cs->changes[j].dbms);
        }
        free(cs->changes);
        if (cs->precondition) {
            free(cs->precondition->sql);
            free(cs->precondition->expected);
            free(cs->precondition);
        }
        for (size_t j = 0; j < cs->nvalid_checksums; j++)
            free(cs->valid_checksums[j]);
        free(cs->valid_checksums);
        free(cs->id);
        free(cs->author);
        free(cs->filename);
        free(cs->comment);
        free(cs->contexts);
        free(cs->labels);
        free(cs->dbms);
        free(cs->rollback_sql);
        free(cs->version);
        free(cs->description);
        free(cs->own_tag);
        free(cs->path);
    }
    free(cl->sets);
    free(cl->entry);
    memset(cl, 0, sizeof(*cl));
}

/* Appends a history row for changeset id (author/filename of the fixture). */
static inline void fx_row(struct engine_history *h, const char *id, const char *md5,
                          const char *tag, enum engine_exectype type)
{
    struct engine_row r = {0};
    r.id = (char *)id;
    r.author = (char *)FX_AUTHOR;
    r.filename = (char *)FX_FILE;
    r.md5sum = (char *)md5;
    r.tag = (char *)tag;
    r.exectype = type;
    r.orderexecuted = (long)h->nrows + 1;
    h->exists = true;
    if (engine_history_add(h, &r) != TM_OK)
        abort();
}

/* Rows for the first n changesets of cl, as a clean apply would leave them. */
static inline void fx_applied(struct engine_history *h, const struct chlog *cl, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fx_row(h, cl->sets[i].id, cl->sets[i].checksum, cl->sets[i].tag, ENGINE_EXEC_EXECUTED);
}

#endif
