/* engine_fixture: hand-built changelogs and histories for the engine tests.
 *
 * Builds a struct chlog with the changelog builder every parser uses
 * (chlog.h: chlog_add_set, chlog_set_add_sql, chlog_set_add_tag; Liquibase
 * defaults: runInTransaction and failOnError true), one `sql` change per
 * changeset, FILENAME "db/changelog.sql", author "alice", and the Liquibase v9
 * checksum chlog_checksum_v9() computes (checked against REFERENCE.md's
 * vectors in test_plan's checksum_fixture_matches_liquibase_vectors), so rows
 * written by the engine can be compared with what Liquibase writes.
 * Everything is freed by fx_free() (chlog_release). */
#ifndef TM_TESTS_ENGINE_FIXTURE_H
#define TM_TESTS_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "engine/engine.h"

#define FX_FILE "db/changelog.sql"
#define FX_AUTHOR "alice"

/* Liquibase v9 checksum of a changeset made of sql changes (NULL = none). */
static inline void fx_checksum(const char *const *sqls, size_t n, char out[64])
{
    struct chlog c;
    memset(&c, 0, sizeof(c));
    struct chlog_changeset *cs = chlog_add_set(&c, "x", FX_AUTHOR, FX_FILE);
    for (size_t i = 0; cs && i < n; i++)
        if (!chlog_set_add_sql(cs, sqls[i]))
            abort();
    if (!cs || chlog_checksum_v9(cs, out) != TM_OK)
        abort();
    chlog_release(&c);
}

static inline char *fx_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Appends a changeset with one sql change (sql NULL = no change). */
static inline struct chlog_changeset *fx_add(struct chlog *cl, const char *id, const char *sql,
                                             const char *rollback)
{
    struct chlog_changeset *cs = chlog_add_set(cl, id, FX_AUTHOR, FX_FILE);
    if (!cs || (sql && !chlog_set_add_sql(cs, sql)))
        abort();
    cs->line = (int)cl->nsets * 10;
    if (chlog_checksum_v9(cs, cs->checksum) != TM_OK)
        abort();
    if (rollback) {
        cs->rollback_sql = fx_dup(rollback);
        cs->has_rollback = true;
    }
    return cs;
}

/* Adds a tagDatabase change to cs; the checksum is recomputed with it, as
 * Liquibase's includes the tagDatabase change. */
static inline void fx_tag(struct chlog_changeset *cs, const char *tag)
{
    if (!chlog_set_add_tag(cs, tag) || chlog_checksum_v9(cs, cs->checksum) != TM_OK)
        abort();
}

static inline void fx_free(struct chlog *cl)
{
    chlog_release(cl);
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
