/* history: the Liquibase- (or Flyway-) compatible history table.
 *
 * The Liquibase table has exactly the columns Liquibase 4.x creates on
 * PostgreSQL (liquibase-standard CreateDatabaseChangeLogTableGenerator):
 *   ID, AUTHOR, FILENAME VARCHAR(255) NOT NULL, DATEEXECUTED TIMESTAMP NOT
 *   NULL, ORDEREXECUTED INTEGER NOT NULL, EXECTYPE VARCHAR(10) NOT NULL,
 *   MD5SUM VARCHAR(35), DESCRIPTION, COMMENTS, TAG VARCHAR(255), LIQUIBASE
 *   VARCHAR(20), CONTEXTS, LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10);
 * no primary key.  Unquoted names, so PostgreSQL folds them to lower case
 * as Liquibase's do.  The Flyway table is flyway_schema_history with its
 * primary key on installed_rank and its success index.
 * Rows are read in Liquibase's order: DATEEXECUTED, then ORDEREXECUTED.
 * Creation is idempotent and safe under a race: a fast existence check, then
 * CREATE TABLE IF NOT EXISTS inside a transaction holding a transaction-level
 * advisory lock on the table's name. */
#include "engine/pgx_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void engine_history_init(struct engine_history *h)
{
    memset(h, 0, sizeof(*h));
}

static void row_release(struct engine_row *r)
{
    free(r->id);
    free(r->author);
    free(r->filename);
    free(r->dateexecuted);
    free(r->md5sum);
    free(r->description);
    free(r->comments);
    free(r->tag);
    free(r->liquibase);
    free(r->contexts);
    free(r->labels);
    free(r->deployment_id);
}

void engine_history_release(struct engine_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nrows; i++)
        row_release(&h->rows[i]);
    free(h->rows);
    engine_history_init(h);
}

static bool dup_field(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return true;
    *dst = strdup(src);
    return *dst != NULL;
}

enum tm_code engine_history_add(struct engine_history *h, const struct engine_row *r)
{
    struct engine_row *nr = realloc(h->rows, (h->nrows + 1) * sizeof(*nr));
    if (!nr)
        return TM_E_NOMEM;
    h->rows = nr;
    struct engine_row *d = &h->rows[h->nrows];
    memset(d, 0, sizeof(*d));
    d->orderexecuted = r->orderexecuted;
    d->exectype = r->exectype;
    bool ok = dup_field(&d->id, r->id) && dup_field(&d->author, r->author) &&
              dup_field(&d->filename, r->filename) &&
              dup_field(&d->dateexecuted, r->dateexecuted) && dup_field(&d->md5sum, r->md5sum) &&
              dup_field(&d->description, r->description) &&
              dup_field(&d->comments, r->comments) && dup_field(&d->tag, r->tag) &&
              dup_field(&d->liquibase, r->liquibase) && dup_field(&d->contexts, r->contexts) &&
              dup_field(&d->labels, r->labels) && dup_field(&d->deployment_id, r->deployment_id);
    if (!ok) {
        row_release(d);
        return TM_E_NOMEM;
    }
    h->nrows++;
    return TM_OK;
}

long engine_history_find(const struct engine_history *h, const struct chlog_changeset *cs)
{
    for (size_t k = h->nrows; k-- > 0;) {
        const struct engine_row *r = &h->rows[k];
        const char *f = r->filename ? r->filename : "";
        if (strcmp(f, cs->filename ? cs->filename : "") != 0)
            continue;
        if (h->flyway)
            return (long)k;
        if (strcmp(r->id ? r->id : "", cs->id ? cs->id : "") == 0 &&
            strcmp(r->author ? r->author : "", cs->author ? cs->author : "") == 0)
            return (long)k;
    }
    return -1;
}

static enum engine_exectype exectype_parse(const char *s)
{
    if (!s)
        return ENGINE_EXEC_OTHER;
    if (strcmp(s, "EXECUTED") == 0)
        return ENGINE_EXEC_EXECUTED;
    if (strcmp(s, "MARK_RAN") == 0)
        return ENGINE_EXEC_MARK_RAN;
    if (strcmp(s, "RERAN") == 0)
        return ENGINE_EXEC_RERAN;
    if (strcmp(s, "FAILED") == 0)
        return ENGINE_EXEC_FAILED;
    return ENGINE_EXEC_OTHER;
}

/* "schema.table" defaults. */
static const char *table_or_default(const char *table, bool flyway)
{
    if (table && *table)
        return table;
    return flyway ? ENGINE_DEFAULT_FLYWAY_TABLE : ENGINE_DEFAULT_TABLE;
}

enum tm_code engine_table_exists(struct pgx_conn *c, const char *quoted, bool *exists,
                                 struct tm_err *err)
{
    const char *params[1] = {quoted};
    char *v = NULL;
    enum tm_code rc = pgx_query_value(c, "SELECT to_regclass($1)::text", 1, params, &v, err);
    *exists = rc == TM_OK && v != NULL;
    free(v);
    return rc;
}

static char *getv(const PGresult *res, int i, int j)
{
    return PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
}

enum tm_code engine_history_read(struct pgx_conn *c, const char *table, bool flyway,
                                 struct engine_history *out, struct tm_err *err)
{
    char q[300], sql[1024];
    PGresult *res = NULL;
    engine_history_init(out);
    out->flyway = flyway;
    table = table_or_default(table, flyway);
    enum tm_code rc = pgx_quote_qualified(c, table, q, sizeof(q), err);
    if (rc != TM_OK)
        goto out;
    rc = engine_table_exists(c, q, &out->exists, err);
    if (rc != TM_OK || !out->exists)
        goto out;
    if (flyway)
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(version, description), '', script, installed_on::text, "
                 "installed_rank, CASE WHEN success THEN 'EXECUTED' ELSE 'FAILED' END, "
                 "checksum::text, description, NULL, NULL, NULL, NULL, NULL, NULL "
                 "FROM %s WHERE type IN ('SQL', 'JDBC') ORDER BY installed_rank",
                 q);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT id, author, filename, dateexecuted::text, orderexecuted, exectype, "
                 "md5sum, description, comments, tag, liquibase, contexts, labels, "
                 "deployment_id FROM %s ORDER BY dateexecuted, orderexecuted",
                 q);
    rc = pgx_exec_params(c, sql, 0, NULL, &res, err);
    if (rc != TM_OK)
        goto out;
    int n = PQntuples(res);
    out->rows = calloc(n > 0 ? (size_t)n : 1, sizeof(*out->rows));
    if (!out->rows) {
        rc = tm_err_set(err, TM_E_NOMEM, "read history: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        struct engine_row r = {0};
        r.id = getv(res, i, 0);
        r.author = getv(res, i, 1);
        r.filename = getv(res, i, 2);
        r.dateexecuted = getv(res, i, 3);
        r.orderexecuted = strtol(PQgetvalue(res, i, 4), NULL, 10);
        r.exectype = exectype_parse(getv(res, i, 5));
        r.md5sum = getv(res, i, 6);
        r.description = getv(res, i, 7);
        r.comments = getv(res, i, 8);
        r.tag = getv(res, i, 9);
        r.liquibase = getv(res, i, 10);
        r.contexts = getv(res, i, 11);
        r.labels = getv(res, i, 12);
        r.deployment_id = getv(res, i, 13);
        if (engine_history_add(out, &r) != TM_OK) {
            rc = tm_err_set(err, TM_E_NOMEM, "read history: out of memory");
            goto out;
        }
    }
out:
    PQclear(res);
    if (rc != TM_OK) {
        engine_history_release(out);
        tm_err_prefix(err, "read history %s", table);
    }
    return rc;
}

/* The rows of the Liquibase lock table lt ("schema.tablelock", which
 * exists) into lock: "id:locked:lockedby:lockgranted", comma-separated. */
static enum tm_code read_lock_row(struct pgx_conn *c, const char *lt, char *lock, size_t n,
                                  struct tm_err *err)
{
    char q[400], sql[700];
    char *v = NULL;
    enum tm_code rc = pgx_quote_qualified(c, lt, q, sizeof(q), err);
    if (rc != TM_OK)
        return rc;
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(string_agg(id::text || ':' || locked::text || ':' || "
             "coalesce(lockedby, '') || ':' || coalesce(lockgranted::text, ''), ',' ORDER BY id), "
             "'') FROM %s",
             q);
    rc = pgx_query_value(c, sql, 0, NULL, &v, err);
    if (rc == TM_OK)
        snprintf(lock, n, "%s", v ? v : "");
    free(v);
    return rc;
}

enum tm_code engine_history_fingerprint(struct pgx_conn *c, const char *table, bool flyway,
                                        char *out, size_t n, struct tm_err *err)
{
    char q[300], schema[128], base[128], lt[300], sql[1200], lock[256] = "-";
    PGresult *res = NULL;
    table = table_or_default(table, flyway);
    enum tm_code rc = pgx_quote_qualified(c, table, q, sizeof(q), err);
    if (rc == TM_OK)
        rc = pgx_split_qualified(table, schema, sizeof(schema), base, sizeof(base), err);
    if (rc != TM_OK)
        goto out;
    snprintf(lt, sizeof(lt), "%s.%slock", schema, base);
    if (flyway)
        snprintf(sql, sizeof(sql),
                 "SELECT count(*), max(installed_rank), max(installed_on)::text, "
                 "coalesce(sum(hashtext(concat_ws(':', version, description, script, checksum, "
                 "success))::bigint), 0), false FROM %s",
                 q);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT count(*), max(orderexecuted), max(dateexecuted)::text, "
                 "coalesce(sum(hashtext(concat_ws(':', id, author, filename, md5sum, exectype, "
                 "tag))::bigint), 0), to_regclass($1) IS NOT NULL FROM %s",
                 q);
    const char *params[1] = {lt};
    rc = pgx_exec_params(c, sql, flyway ? 0 : 1, flyway ? NULL : params, &res, err);
    if (rc != TM_OK && strcmp(err ? err->sqlstate : "", "42P01") == 0) {
        snprintf(out, n, "absent"); /* undefined_table: no history yet */
        if (err)
            tm_err_clear(err);
        rc = TM_OK;
        goto out;
    }
    if (rc != TM_OK)
        goto out;
    if (PQntuples(res) != 1 || PQnfields(res) != 5) {
        rc = tm_err_set(err, TM_E_DB, "unexpected result shape");
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 4), "t") == 0) {
        rc = read_lock_row(c, lt, lock, sizeof(lock), err);
        if (rc != TM_OK)
            goto out;
    }
    snprintf(out, n, "%srows=%s order=%s date=%s sum=%s lock=%s", flyway ? "flyway " : "",
             PQgetvalue(res, 0, 0),
             PQgetisnull(res, 0, 1) ? "-" : PQgetvalue(res, 0, 1),
             PQgetisnull(res, 0, 2) ? "-" : PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), lock);
out:
    PQclear(res);
    if (rc != TM_OK)
        tm_err_prefix(err, "read history fingerprint %s", table);
    return rc;
}

enum tm_code engine_history_ensure(struct pgx_conn *c, const char *table, bool flyway,
                                   struct tm_err *err)
{
    char q[300], sql[2048];
    bool exists = false;
    table = table_or_default(table, flyway);
    enum tm_code rc = pgx_quote_qualified(c, table, q, sizeof(q), err);
    if (rc != TM_OK)
        return rc;
    rc = engine_table_exists(c, q, &exists, err);
    if (rc != TM_OK || exists)
        return rc;
    const char *params[1] = {table};
    rc = pgx_exec(c, "BEGIN", err);
    if (rc != TM_OK)
        return rc;
    /* Serialises concurrent creators; released at COMMIT/ROLLBACK. */
    rc = pgx_exec_params(c, "SELECT pg_advisory_xact_lock(hashtext('tidemark:create:' || $1))",
                         1, params, NULL, err);
    if (rc != TM_OK)
        goto out;
    if (flyway) {
        char idx[300], pk[300], base[128], schema[128];
        rc = pgx_split_qualified(table, schema, sizeof(schema), base, sizeof(base), err);
        if (rc != TM_OK)
            goto out;
        char pkname[200], idxname[200];
        snprintf(pkname, sizeof(pkname), "%s_pk", base);
        snprintf(idxname, sizeof(idxname), "%s_s_idx", base);
        rc = pgx_quote_ident(c, pkname, pk, sizeof(pk), err);
        if (rc == TM_OK)
            rc = pgx_quote_ident(c, idxname, idx, sizeof(idx), err);
        if (rc != TM_OK)
            goto out;
        snprintf(sql, sizeof(sql),
                 "CREATE TABLE IF NOT EXISTS %s (\n"
                 "    installed_rank INT NOT NULL,\n"
                 "    version VARCHAR(50),\n"
                 "    description VARCHAR(200) NOT NULL,\n"
                 "    type VARCHAR(20) NOT NULL,\n"
                 "    script VARCHAR(1000) NOT NULL,\n"
                 "    checksum INTEGER,\n"
                 "    installed_by VARCHAR(100) NOT NULL,\n"
                 "    installed_on TIMESTAMP NOT NULL DEFAULT now(),\n"
                 "    execution_time INTEGER NOT NULL,\n"
                 "    success BOOLEAN NOT NULL,\n"
                 "    CONSTRAINT %s PRIMARY KEY (installed_rank));\n"
                 "CREATE INDEX IF NOT EXISTS %s ON %s (success)",
                 q, pk, idx, q);
    } else {
        snprintf(sql, sizeof(sql),
                 "CREATE TABLE IF NOT EXISTS %s (ID VARCHAR(255) NOT NULL, "
                 "AUTHOR VARCHAR(255) NOT NULL, FILENAME VARCHAR(255) NOT NULL, "
                 "DATEEXECUTED TIMESTAMP WITHOUT TIME ZONE NOT NULL, "
                 "ORDEREXECUTED INTEGER NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, "
                 "MD5SUM VARCHAR(35), DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), "
                 "TAG VARCHAR(255), LIQUIBASE VARCHAR(20), CONTEXTS VARCHAR(255), "
                 "LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10))",
                 q);
    }
    rc = pgx_exec(c, sql, err);
    if (rc != TM_OK)
        goto out;
    rc = pgx_exec(c, "COMMIT", err);
    if (rc != TM_OK)
        goto out;
    return TM_OK;
out: {
    struct tm_err ignore;
    if (pgx_exec(c, "ROLLBACK", &ignore) != TM_OK) {
        /* the connection is gone: the server rolled back already */
    }
}
    return tm_err_prefix(err, "create history table %s", table);
}

enum tm_code engine_status_read(struct pgx_conn *c, const struct chlog *cl, const char *table,
                                const char *context, struct engine_status *out,
                                struct tm_err *err)
{
    return engine_status_read_filtered(c, cl, table, context, NULL, out, err);
}

enum tm_code engine_status_read_filtered(struct pgx_conn *c, const struct chlog *cl,
                                         const char *table, const char *context,
                                         const char *label_filter, struct engine_status *out,
                                         struct tm_err *err)
{
    struct engine_history h;
    char fwtable[300];
    engine_status_init(out);
    if (cl->format == CHLOG_FORMAT_FLYWAY)
        table = engine_flyway_table(cl, table, fwtable, sizeof(fwtable));
    enum tm_code rc =
        engine_history_read(c, table, cl->format == CHLOG_FORMAT_FLYWAY, &h, err);
    if (rc != TM_OK)
        return rc;
    rc = engine_status_compute_filtered(cl, &h, context, label_filter, out, err);
    engine_history_release(&h);
    return rc;
}
