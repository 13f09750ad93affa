/* pgx: the thin libpq wrapper every engine call goes through.
 *
 * Connects with PQconnectdbParams (never a conninfo string we built: values
 * are passed as values), with application_name=tidemark and the timeouts as
 * startup options, so no extra round trip.  Every failure becomes a
 * struct tm_err classified by SQLSTATE (STYLE.md "libpq"): the retry class
 * tells a reconciler whether to back off, wait, or stall.  Connection
 * failures carry no SQLSTATE through libpq, so those are classified from
 * the server's message (auth, missing database) and default to TRANSIENT.
 * Messages never contain the password or the URL. */
#include "engine/pgx_int.h"

#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pgx_conn {
    PGconn *pg;
};

/* Copies the first line of msg without trailing spaces into out. */
static void first_line(const char *msg, char *out, size_t n)
{
    const char *s = msg ? msg : "";
    if (strncmp(s, "ERROR:  ", 8) == 0 || strncmp(s, "FATAL:  ", 8) == 0)
        s += 8;
    size_t k = 0;
    while (s[k] && s[k] != '\n' && k + 1 < n)
        k++;
    while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\r'))
        k--;
    memcpy(out, s, k);
    out[k] = '\0';
}

void pgx_err_set_sqlstate(struct tm_err *err, const char *state)
{
    if (!err)
        return;
    snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state ? state : "");
}

/* Classifies a SQLSTATE into code and retry class. */
static void classify(const char *st, enum tm_code *code, enum tm_retry *retry)
{
    *code = TM_E_DB;
    *retry = TM_RETRY_TERMINAL;
    if (!st || !*st)
        return;
    if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
        strcmp(st, "57P03") == 0 || strcmp(st, "53300") == 0 || strcmp(st, "40001") == 0 ||
        strcmp(st, "40P01") == 0) {
        *retry = TM_RETRY_TRANSIENT;
    } else if (strcmp(st, "55P03") == 0) {
        *code = TM_E_LOCKED;
        *retry = TM_RETRY_WAITING;
    } else if (strcmp(st, "57014") == 0) {
        *code = TM_E_TIMEOUT;
        *retry = TM_RETRY_TRANSIENT;
    } else if (strcmp(st, "28P01") == 0 || strcmp(st, "28000") == 0) {
        *code = TM_E_AUTH;
    }
}

enum tm_code pgx_err_from_result(PGconn *pg, const PGresult *res, struct tm_err *err,
                                 const char *what)
{
    char line[400];
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *prim = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (prim)
        first_line(prim, line, sizeof(line));
    else
        first_line(PQerrorMessage(pg), line, sizeof(line));
    if (!st && PQstatus(pg) == CONNECTION_BAD)
        st = "08006"; /* connection lost: libpq reports no SQLSTATE */
    enum tm_code code;
    enum tm_retry retry;
    classify(st, &code, &retry);
    tm_err_setr(err, code, retry, "%s: %s%s%s%s", what, line, st ? " (sqlstate " : "",
                st ? st : "", st ? ")" : "");
    pgx_err_set_sqlstate(err, st);
    return code;
}

static void notice_drop(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int kv_add(const char **keys, const char **vals, int n, const char *k, const char *v)
{
    if (!v || !*v)
        return n;
    keys[n] = k;
    vals[n] = v;
    return n + 1;
}

struct pgx_conn *pgx_conn_new(const struct pgx_params *p, struct tm_err *err)
{
    const char *keys[16], *vals[16];
    int n = 0;
    char timeout[16], options[128];
    snprintf(timeout, sizeof(timeout), "%d", p->connect_timeout_s > 0 ? p->connect_timeout_s : 10);
    options[0] = '\0';
    if (p->statement_timeout_ms > 0 || p->lock_timeout_ms > 0)
        snprintf(options, sizeof(options), "-c statement_timeout=%d -c lock_timeout=%d",
                 p->statement_timeout_ms > 0 ? p->statement_timeout_ms : 0,
                 p->lock_timeout_ms > 0 ? p->lock_timeout_ms : 0);
#define KV(k, v) n = kv_add(keys, vals, n, (k), (v))
    KV("dbname", p->url); /* expanded (expand_dbname = 1); later keys override it */
    KV("host", p->host);
    KV("port", p->port);
    /* a second dbname is taken literally, overriding the URL's */
    KV("dbname", p->dbname);
    KV("user", p->user);
    KV("password", p->password);
    KV("sslmode", p->sslmode);
    KV("sslrootcert", p->sslrootcert);
    KV("connect_timeout", timeout);
    KV("application_name", p->application_name ? p->application_name : "tidemark");
    KV("options", options);
#undef KV
    keys[n] = NULL;
    vals[n] = NULL;

    struct pgx_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        tm_err_set(err, TM_E_NOMEM, "connect: out of memory");
        return NULL;
    }
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg) {
        tm_err_set(err, TM_E_NOMEM, "connect: out of memory");
        free(c);
        return NULL;
    }
    /* Server notices (RAISE NOTICE, "skipping" messages) are not errors and
     * must not reach stderr of a controller: dropped. */
    PQsetNoticeProcessor(c->pg, notice_drop, NULL);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char line[400];
        first_line(PQerrorMessage(c->pg), line, sizeof(line));
        /* libpq's message names host and port, never the password. */
        if (strstr(line, "password authentication failed") ||
            strstr(line, "no password supplied")) {
            tm_err_set(err, TM_E_AUTH, "connect: %s", line);
            pgx_err_set_sqlstate(err, "28P01");
        } else if (strstr(line, "role \"") && strstr(line, "does not exist")) {
            tm_err_set(err, TM_E_AUTH, "connect: %s", line);
            pgx_err_set_sqlstate(err, "28000");
        } else if (strstr(line, "no pg_hba.conf entry")) {
            tm_err_set(err, TM_E_AUTH, "connect: %s", line);
            pgx_err_set_sqlstate(err, "28000");
        } else if (strstr(line, "database \"") && strstr(line, "does not exist")) {
            tm_err_set(err, TM_E_DB, "connect: %s", line);
            pgx_err_set_sqlstate(err, "3D000");
        } else if (strstr(line, "invalid") || strstr(line, "missing \"=\"")) {
            tm_err_set(err, TM_E_INVAL, "connect: bad connection parameters: %s", line);
        } else {
            tm_err_setr(err, TM_E_DB, TM_RETRY_TRANSIENT, "connect: %s", line);
            pgx_err_set_sqlstate(err, "08001");
        }
        pgx_conn_free(c);
        return NULL;
    }
    return c;
}

void pgx_conn_free(struct pgx_conn *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

struct pg_conn *pgx_conn_pg(struct pgx_conn *c)
{
    return c->pg;
}

enum tm_code pgx_exec(struct pgx_conn *c, const char *sql, struct tm_err *err)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    enum tm_code rc = TM_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        rc = pgx_err_from_result(c->pg, res, err, "exec");
    PQclear(res);
    return rc;
}

enum tm_code pgx_exec_params(struct pgx_conn *c, const char *sql, int nparams,
                             const char *const *params, PGresult **out, struct tm_err *err)
{
    PGresult *res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        enum tm_code rc = pgx_err_from_result(c->pg, res, err, "query");
        PQclear(res);
        if (out)
            *out = NULL;
        return rc;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return TM_OK;
}

enum tm_code pgx_query_value(struct pgx_conn *c, const char *sql, int nparams,
                             const char *const *params, char **out, struct tm_err *err)
{
    PGresult *res = NULL;
    *out = NULL;
    enum tm_code rc = pgx_exec_params(c, sql, nparams, params, &res, err);
    if (rc != TM_OK)
        return rc;
    if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)) {
        *out = strdup(PQgetvalue(res, 0, 0));
        if (!*out)
            rc = tm_err_set(err, TM_E_NOMEM, "query: out of memory");
    }
    PQclear(res);
    return rc;
}

enum tm_code pgx_split_qualified(const char *name, char *schema, size_t ns, char *table,
                                 size_t nt, struct tm_err *err)
{
    const char *dot = strchr(name, '.');
    if (dot && strchr(dot + 1, '.'))
        return tm_err_set(err, TM_E_INVAL, "table name \"%s\": more than one dot", name);
    const char *sch = "public";
    size_t sl = 6;
    const char *tab = name;
    if (dot) {
        sch = name;
        sl = (size_t)(dot - name);
        tab = dot + 1;
    }
    size_t tl = strlen(tab);
    if (sl == 0 || tl == 0)
        return tm_err_set(err, TM_E_INVAL, "table name \"%s\": empty part", name);
    if (sl >= ns || tl >= nt || sl > 63 || tl > 63)
        return tm_err_set(err, TM_E_INVAL, "table name \"%s\": part too long", name);
    memcpy(schema, sch, sl);
    schema[sl] = '\0';
    memcpy(table, tab, tl);
    table[tl] = '\0';
    return TM_OK;
}

enum tm_code pgx_quote_ident(struct pgx_conn *c, const char *ident, char *out, size_t n,
                             struct tm_err *err)
{
    char *q = PQescapeIdentifier(c->pg, ident, strlen(ident));
    if (!q) {
        char line[300];
        first_line(PQerrorMessage(c->pg), line, sizeof(line));
        return tm_err_set(err, TM_E_INVAL, "quote identifier: %s", line);
    }
    enum tm_code rc = TM_OK;
    if ((size_t)snprintf(out, n, "%s", q) >= n)
        rc = tm_err_set(err, TM_E_TOOBIG, "quote identifier: too long");
    PQfreemem(q);
    return rc;
}

enum tm_code pgx_quote_qualified(struct pgx_conn *c, const char *name, char *out, size_t n,
                                 struct tm_err *err)
{
    char schema[128], table[128], qs[300], qt[300];
    enum tm_code rc = pgx_split_qualified(name, schema, sizeof(schema), table, sizeof(table), err);
    if (rc != TM_OK)
        return rc;
    rc = pgx_quote_ident(c, schema, qs, sizeof(qs), err);
    if (rc != TM_OK)
        return rc;
    rc = pgx_quote_ident(c, table, qt, sizeof(qt), err);
    if (rc != TM_OK)
        return rc;
    if ((size_t)snprintf(out, n, "%s.%s", qs, qt) >= n)
        return tm_err_set(err, TM_E_TOOBIG, "table name \"%s\": too long", name);
    return TM_OK;
}

enum tm_code pgx_exec_params_commit(struct pgx_conn *c, const char *sql, int nparams,
                                    const char *const *params, struct tm_err *err)
{
    PGconn *pg = c->pg;
    if (PQenterPipelineMode(pg) != 1) {
        enum tm_code rc = pgx_exec_params(c, sql, nparams, params, NULL, err);
        return rc == TM_OK ? pgx_exec(c, "COMMIT", err) : rc;
    }
    enum tm_code rc = TM_OK;
    if (!PQsendQueryParams(pg, sql, nparams, NULL, params, NULL, NULL, 0) ||
        !PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(pg)) {
        rc = pgx_err_from_result(pg, NULL, err, "query");
    } else {
        /* Two queries, each ending with a NULL result, then the sync. */
        for (int q = 0; q < 2; q++) {
            PGresult *res;
            while ((res = PQgetResult(pg)) != NULL) {
                ExecStatusType st = PQresultStatus(res);
                if (rc == TM_OK && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
                    rc = pgx_err_from_result(pg, res, err, q == 0 ? "query" : "commit");
                PQclear(res);
            }
        }
        PGresult *sync = PQgetResult(pg);
        if (rc == TM_OK && (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC))
            rc = pgx_err_from_result(pg, sync, err, "commit");
        PQclear(sync);
    }
    if (PQexitPipelineMode(pg) != 1 && rc == TM_OK)
        rc = pgx_err_from_result(pg, NULL, err, "leave pipeline");
    return rc;
}

enum tm_code pgx_buf_add_literal(struct pgx_conn *c, struct tm_buf *b, const char *s,
                                 struct tm_err *err)
{
    if (!s)
        return tm_buf_adds(b, "NULL") == TM_OK
                   ? TM_OK
                   : tm_err_set(err, TM_E_TOOBIG, "quote literal: statement too long");
    char *q = PQescapeLiteral(c->pg, s, strlen(s));
    if (!q) {
        char line[300];
        first_line(PQerrorMessage(c->pg), line, sizeof(line));
        return tm_err_set(err, TM_E_INVAL, "quote literal: %s", line);
    }
    enum tm_code rc = tm_buf_adds(b, q);
    PQfreemem(q);
    return rc == TM_OK ? TM_OK : tm_err_set(err, rc, "quote literal: statement too long");
}

enum tm_code pgx_exec_script(struct pgx_conn *c, const char *sql, int *nok, struct tm_err *err)
{
    PGconn *pg = c->pg;
    enum tm_code rc = TM_OK;
    *nok = 0;
    if (!PQsendQuery(pg, sql))
        return pgx_err_from_result(pg, NULL, err, "exec");
    /* one result per statement, up to the first that fails; then NULL */
    PGresult *res;
    while ((res = PQgetResult(pg)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (rc == TM_OK) {
            if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
                (*nok)++;
            else
                rc = pgx_err_from_result(pg, res, err, "exec");
        }
        PQclear(res);
    }
    return rc;
}
