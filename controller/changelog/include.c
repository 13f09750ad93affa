/* chlog include: what an include or includeAll entry reads, by the file's
 * kind — Liquibase XML, YAML and JSON through lbparse.c, formatted SQL
 * through sqlfmt.c, and a .sql file without the formatted header as one raw
 * changeset (Liquibase's SqlChangeLogParser) — with the include's
 * logicalFilePath, context and labels applied to what it adds.  The include
 * stack (cycles, depth) is the load state's (load.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"

/* A .sql file without the formatted header: one changeset, as Liquibase's
 * SqlChangeLogParser (id "raw", author "includeAll", whole file as SQL). */
static enum tm_code parse_raw_sql(struct chlog_ld *ld, const char *path, const char *filename,
                                  const char *data, struct tm_err *err)
{
    struct chlog_changeset *cs = chlog_ld_add_set(ld);
    if (!cs)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    cs->id = strdup("raw");
    cs->author = strdup("includeAll");
    cs->filename = strdup(filename);
    cs->path = strdup(path);
    cs->line = 1;
    struct chlog_change *ch = chlog_set_add_change(cs);
    if (!ch || !cs->id || !cs->author || !cs->filename || !cs->path)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    ch->kind = CHLOG_CHANGE_SQL;
    ch->line = 1;
    ch->sql = chlog_ld_expand(ld, data);
    if (!ch->sql)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    return TM_OK;
}

/* ANDs the include's context/labels into changesets [from, nsets) and sets
 * the inherited logicalFilePath (formatted SQL: the parser knows neither). */
static enum tm_code scope_sets(struct chlog_ld *ld, size_t from, const char *filename,
                               const char *logical, const char *context, const char *labels,
                               bool raw, struct tm_err *err)
{
    for (size_t i = from; i < ld->c->nsets; i++) {
        struct chlog_changeset *cs = &ld->c->sets[i];
        const char *add[2] = {context, labels};
        char **dst[2] = {&cs->contexts, &cs->labels};
        for (int k = 0; k < 2; k++) {
            if (!add[k] || !add[k][0])
                continue;
            char *old = *dst[k];
            size_t n = strlen(add[k]) + (old ? strlen(old) : 0) + 16;
            char *nv = malloc(n);
            if (!nv)
                return tm_err_set(err, TM_E_NOMEM, "out of memory");
            if (old && old[0])
                snprintf(nv, n, "(%s) and (%s)", add[k], old);
            else
                snprintf(nv, n, "%s", add[k]);
            free(old);
            *dst[k] = nv;
        }
        /* DatabaseChangeLog.include: not for raw SQL changelogs */
        if (logical && logical[0] && !raw && strcmp(cs->filename, filename) == 0) {
            char *f = strdup(logical);
            if (!f)
                return tm_err_set(err, TM_E_NOMEM, "out of memory");
            free(cs->filename);
            cs->filename = f;
        }
    }
    return TM_OK;
}

enum tm_code chlog_ld_include_lb(struct chlog_ld *ld, const char *path, const char *filename,
                                 const char *logical, const char *context, const char *labels,
                                 const char *from, int line, struct tm_err *err)
{
    enum tm_code rc = chlog_ld_push(ld, path, from, line, err);
    if (rc != TM_OK)
        return rc;
    if (chlog_has_suffix(path, ".yaml") || chlog_has_suffix(path, ".yml") ||
        chlog_has_suffix(path, ".json") || chlog_has_suffix(path, ".xml")) {
        rc = chlog_lb_parse(ld, path, filename, logical, context, labels, err);
        if (rc == TM_E_NOTFOUND && from && err && !strstr(err->msg, "not found"))
            rc = chlog_ld_fail(err, TM_E_NOTFOUND, from, line, 0, "included file %s not found",
                               path);
    } else if (chlog_has_suffix(path, ".sql")) {
        char *data = NULL;
        size_t len = 0;
        size_t before = ld->c->nsets;
        rc = chlog_ld_read(ld, path, &data, &len, err);
        bool raw = false;
        if (rc == TM_OK) {
            if (chlog_is_formatted_sql(data, len)) {
                rc = chlog_sqlfmt_parse(ld, path, filename, data, len, err);
            } else {
                raw = true;
                rc = parse_raw_sql(ld, path, filename, data, err);
            }
        } else if (rc == TM_E_NOTFOUND && from) {
            rc = chlog_ld_fail(err, TM_E_NOTFOUND, from, line, 0, "included file %s not found",
                               path);
        }
        free(data);
        if (rc == TM_OK)
            rc = scope_sets(ld, before, filename, logical, context, labels, raw, err);
    } else {
        rc = chlog_ld_fail(err, TM_E_INVAL, from ? from : path, line, 0,
                           "%s: unsupported changelog file type (expected .xml, .yaml, .yml, "
                           ".json or .sql)",
                           path);
    }
    chlog_ld_pop(ld);
    return rc;
}

