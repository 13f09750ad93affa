/* flyway_db: what the engine does to a database for a Flyway changelog
 * besides running scripts: where the history table lives, creating the
 * schemas Flyway manages (with Flyway's schema-creation marker row), and
 * putting the default schema first on search_path while migrating.
 *
 * Rules followed (flyway-core 13.12.2, checked against real runs):
 *   - the history table is <defaultSchema>.<table>; defaultSchema defaults to
 *     the first of `schemas`, else the connection's schema (public here);
 *   - only when the history table does not exist yet: every configured schema
 *     that is missing is created; if any was, the history gets the row
 *     (installed_rank 0, version NULL, '<< Flyway Schema Creation >>',
 *     type SCHEMA, script = the schemas it created, each double-quoted, joined
 *     by ',', checksum NULL, execution_time 0, success true);
 *   - search_path becomes "<defaultSchema>", <the session's search_path>
 *     unless it already starts with it (PostgreSQLConnection
 *     .changeCurrentSchemaTo), and is put back after the run.
 * Runs under the engine's advisory lock, so no race with another tidemark. */
#include "engine/pgx_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

const char *engine_flyway_table(const struct chlog *cl, const char *table, char *buf, size_t n)
{
    if (table && *table)
        return table;
    if (!cl || cl->format != CHLOG_FORMAT_FLYWAY || !cl->flyway_table[0])
        return ENGINE_DEFAULT_FLYWAY_TABLE;
    snprintf(buf, n, "%s.%s", cl->flyway_schema[0] ? cl->flyway_schema : "public",
             cl->flyway_table);
    return buf;
}

/* The schemas Flyway manages: `schemas`, else the default schema alone. */
static const char *managed_schemas(const struct chlog *cl)
{
    return cl->flyway_schemas[0] ? cl->flyway_schemas : cl->flyway_schema;
}

/* Creates the missing schemas of list; *created when any was; marker gets
 * the created ones as "a","b". */
static enum tm_code create_schemas(struct pgx_conn *c, const char *list, bool *created,
                                   struct tm_buf *marker, struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    const char *p = list;
    *created = false;
    while (*p && rc == TM_OK) {
        p += strspn(p, " ,");
        size_t l = strcspn(p, ",");
        size_t tl = l;
        while (tl > 0 && p[tl - 1] == ' ')
            tl--;
        if (tl == 0) {
            p += l;
            continue;
        }
        char name[128], q[300], sql[400];
        snprintf(name, sizeof(name), "%.*s", (int)tl, p);
        p += l;
        const char *params[1] = {name};
        char *v = NULL;
        rc = pgx_query_value(c, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, params, &v,
                             err);
        if (rc != TM_OK)
            return rc;
        bool exists = v != NULL;
        free(v);
        if (exists)
            continue;
        rc = pgx_quote_ident(c, name, q, sizeof(q), err);
        if (rc != TM_OK)
            return rc;
        snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", q);
        rc = pgx_exec(c, sql, err);
        if (rc != TM_OK)
            return rc;
        *created = true;
        rc = tm_buf_addf(marker, "%s\"%s\"", tm_buf_str(marker)[0] ? "," : "", name);
        if (rc != TM_OK)
            return tm_err_set(err, rc, "flyway schemas: list too long");
    }
    return rc;
}

enum tm_code engine_flyway_prepare(struct pgx_conn *c, const struct chlog *cl, const char *table,
                                   struct tm_err *err)
{
    char q[300];
    bool exists = false;
    enum tm_code rc = pgx_quote_qualified(c, table, q, sizeof(q), err);
    if (rc == TM_OK)
        rc = engine_table_exists(c, q, &exists, err);
    if (rc != TM_OK || exists)
        return rc;
    bool created = false;
    struct tm_buf marker;
    tm_buf_init(&marker, 1000); /* script is VARCHAR(1000) */
    const char *list = managed_schemas(cl);
    if (list[0])
        rc = create_schemas(c, list, &created, &marker, err);
    if (rc == TM_OK)
        rc = engine_history_ensure(c, table, true, err);
    if (rc == TM_OK && created) {
        char sql[700];
        const char *params[2] = {tm_buf_str(&marker),
                                 cl->flyway_installed_by[0] ? cl->flyway_installed_by : NULL};
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s (installed_rank, version, description, type, script, checksum, "
                 "installed_by, execution_time, success) VALUES (0, NULL, "
                 "'<< Flyway Schema Creation >>', 'SCHEMA', $1, NULL, "
                 "coalesce($2, current_user), 0, true)",
                 q);
        rc = pgx_exec_params(c, sql, 2, params, NULL, err);
    }
    tm_buf_release(&marker);
    if (rc != TM_OK)
        return tm_err_prefix(err, "flyway schemas %s", list);
    return TM_OK;
}

enum tm_code engine_flyway_search_path(struct pgx_conn *c, const struct chlog *cl, char **saved,
                                       struct tm_err *err)
{
    *saved = NULL;
    if (!cl->flyway_schema[0])
        return TM_OK;
    char *orig = NULL;
    enum tm_code rc = pgx_query_value(c, "SELECT current_setting('search_path')", 0, NULL,
                                      &orig, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "search_path");
    char quoted[300];
    snprintf(quoted, sizeof(quoted), "\"%s\"", cl->flyway_schema);
    const char *o = orig ? orig : "";
    size_t ql = strlen(quoted);
    bool first = strcmp(o, cl->flyway_schema) == 0 || strcmp(o, quoted) == 0 ||
                 (strncmp(o, quoted, ql) == 0 && o[ql] == ',');
    if (first) {
        free(orig);
        return TM_OK;
    }
    const char *params[2] = {quoted, o};
    rc = pgx_exec_params(c,
                         "SELECT set_config('search_path', CASE WHEN $2 = '' THEN $1 ELSE $1 "
                         "|| ', ' || $2 END, false)",
                         2, params, NULL, err);
    if (rc != TM_OK) {
        free(orig);
        return tm_err_prefix(err, "search_path");
    }
    *saved = orig ? orig : strdup("");
    if (!*saved)
        return tm_err_set(err, TM_E_NOMEM, "search_path: out of memory");
    return TM_OK;
}

enum tm_code engine_flyway_search_path_restore(struct pgx_conn *c, const char *saved,
                                               struct tm_err *err)
{
    if (!saved)
        return TM_OK;
    const char *params[1] = {saved};
    return pgx_exec_params(c, "SELECT set_config('search_path', $1, false)", 1, params, NULL,
                           err);
}

enum tm_code engine_server_version_num(struct pgx_conn *c, long *out, struct tm_err *err)
{
    char *v = NULL;
    *out = 0;
    enum tm_code rc =
        pgx_query_value(c, "SELECT current_setting('server_version_num')", 0, NULL, &v, err);
    if (rc == TM_OK && v)
        *out = strtol(v, NULL, 10);
    free(v);
    return rc;
}
