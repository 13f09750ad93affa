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

enum tm_code chlog_scope_apply(const struct chlog_scope *scope, struct chlog_changeset *cs)
{
    if (!scope)
        return TM_OK;
    const char *const *src[2] = {scope->contexts, scope->labels};
    size_t nsrc[2] = {scope->ncontexts, scope->nlabels};
    char ***dst[2] = {&cs->inherited_contexts, &cs->inherited_labels};
    size_t *ndst[2] = {&cs->ninherited_contexts, &cs->ninherited_labels};
    for (int k = 0; k < 2; k++) {
        if (!nsrc[k])
            continue;
        char **v = calloc(nsrc[k], sizeof(*v));
        if (!v)
            return TM_E_NOMEM;
        *dst[k] = v;
        for (size_t i = 0; i < nsrc[k]; i++) {
            v[i] = strdup(src[k][nsrc[k] - 1 - i]); /* innermost first */
            if (!v[i])
                return TM_E_NOMEM;
            (*ndst[k])++;
        }
    }
    return TM_OK;
}

/* Applies scope to changesets [from, nsets) of an included SQL file, whose
 * parser knows nothing of includes: the inherited contexts and labels, and
 * the logicalFilePath (DatabaseChangeLog.include: not for raw SQL). */
static enum tm_code scope_sets(struct chlog_ld *ld, size_t from, const char *filename,
                               const struct chlog_scope *scope, bool raw, struct tm_err *err)
{
    for (size_t i = from; scope && i < ld->c->nsets; i++) {
        struct chlog_changeset *cs = &ld->c->sets[i];
        if (chlog_scope_apply(scope, cs) != TM_OK)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        if (scope->logical && scope->logical[0] && !raw && strcmp(cs->filename, filename) == 0) {
            char *f = strdup(scope->logical);
            if (!f)
                return tm_err_set(err, TM_E_NOMEM, "out of memory");
            free(cs->filename);
            cs->filename = f;
        }
    }
    return TM_OK;
}

enum tm_code chlog_ld_include_lb(struct chlog_ld *ld, const char *path, const char *filename,
                                 const struct chlog_scope *scope, const char *from, int line,
                                 struct tm_err *err)
{
    enum tm_code rc = chlog_ld_push(ld, path, from, line, err);
    if (rc != TM_OK)
        return rc;
    if (chlog_has_suffix(path, ".yaml") || chlog_has_suffix(path, ".yml") ||
        chlog_has_suffix(path, ".json") || chlog_has_suffix(path, ".xml")) {
        rc = chlog_lb_parse(ld, path, filename, scope, err);
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
            rc = scope_sets(ld, before, filename, scope, raw, err);
    } else {
        rc = chlog_ld_fail(err, TM_E_INVAL, from ? from : path, line, 0,
                           "%s: unsupported changelog file type (expected .xml, .yaml, .yml, "
                           ".json or .sql)",
                           path);
    }
    chlog_ld_pop(ld);
    return rc;
}

