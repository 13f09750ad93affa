/* apply: runs a plan against PostgreSQL under the history table's lock.
 *
 * One run: take the session advisory lock of the history table (polling to
 * a deadline) -> refuse if a Liquibase lock row is set -> create the history
 * table if missing -> read history -> plan -> lint -> run each step -> read
 * the applied tag -> unlock.  Each forward step is
 *   BEGIN; precondition; changeset SQL (PQexec); history row; COMMIT
 * so the SQL and its row commit together.  For a Liquibase changeset that
 * step is one simple query, one round trip (run_one_message):
 *   [BEGIN;] SQL of each change; INSERT history row (literals); COMMIT
 * PostgreSQL stops at the first failing statement, so nothing after it
 * runs and the caller's ROLLBACK discards the rest; a change whose text does
 * not end at the top level (open quote, comment, dollar quote) is never
 * joined with what follows, and its changeset goes step by step instead.
 * (The history row's values are PQescapeLiteral literals rather than
 * parameters because a simple query cannot carry parameters.)
 * runInTransaction:false runs each
 * statement alone (autocommit), then writes the row: a crash in between
 * leaves the statement applied without a row, and the next run re-runs it
 * (write such changesets idempotently).  A rollback step is
 *   BEGIN; rollback SQL; DELETE its row; COMMIT
 * as one simple query too when its text allows (rollback_one_message).
 * The advisory lock is session-level: if this process dies, PostgreSQL
 * releases it with the connection.  We never write databasechangeloglock.
 *
 * Rows are written as Liquibase writes them (MarkChangeSetRanGenerator):
 * DATEEXECUTED = NOW(), ORDEREXECUTED = the run's next number (max read
 * under the lock, then counted up: StandardChangeLogHistoryService.
 * getNextSequenceValue, so no row scans the table), MD5SUM = checksum,
 * DESCRIPTION = change names joined by "; " ("sql", "sqlFile",
 * "tagDatabase"; "empty" when none), COMMENTS = comment or "", TAG = the
 * tagDatabase tag or NULL, LIQUIBASE = ENGINE_LIQUIBASE_VERSION, CONTEXTS /
 * LABELS = Liquibase's text ("inc AND (a, b)", "inc,a,b": select_history_columns)
 * or NULL when none, DEPLOYMENT_ID = 10 digits shared by the run
 * (Liquibase: epoch milliseconds without the first three digits).  Reruns
 * update the existing row to RERAN with a new ORDEREXECUTED and date.
 * Flyway: a new flyway_schema_history row per run of a script (type SQL,
 * installed_by current_user); an undo deletes the script's newest row
 * (Flyway Teams would add an UNDO_SQL row; we do not). */
#include "engine/pgx_int.h"
#include "common/clock.h"
#include "common/buf.h"
#include "common/caps.h"
#include "engine/select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENGINE_LOCK_KEY1 1953328945 /* 'tmk1': first int of our advisory lock keys */
#define ENGINE_LOCK_POLL_MS 50

struct run {
    struct pgx_conn *c;
    const struct chlog *cl;
    const struct engine_opts *o;
    struct engine_result *res;
    bool flyway;
    const char *table;    /* "schema.table" as given */
    char q[300];          /* quoted table */
    char deployment_id[11];
    long last_order;      /* Liquibase: ORDEREXECUTED of the newest row written */
    /* Flyway: */
    char table_buf[300];  /* the history table from the changelog's settings */
    bool failed_rows;     /* the history holds success = false rows */
    long server_version;  /* server_version_num, read when a script needs it */
};


const char *engine_outcome_name(enum engine_outcome o)
{
    switch (o) {
    case ENGINE_OUT_EXECUTED: return "EXECUTED";
    case ENGINE_OUT_RERAN: return "RERAN";
    case ENGINE_OUT_MARK_RAN: return "MARK_RAN";
    case ENGINE_OUT_SKIPPED: return "SKIPPED";
    case ENGINE_OUT_ROLLED_BACK: return "ROLLED_BACK";
    case ENGINE_OUT_FAILED: return "FAILED";
    case ENGINE_OUT_MARKED_NEXT_RUN: return "MARKED_NEXT_RUN";
    }
    return "UNKNOWN";
}

void engine_opts_init(struct engine_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->count = -1;
    o->strategy = ENGINE_STRATEGY_ROLLBACK;
    o->lint.destructive = LINT_ALLOW;
}

void engine_result_init(struct engine_result *r)
{
    memset(r, 0, sizeof(*r));
    lint_report_init(&r->lint);
}

void engine_result_release(struct engine_result *r)
{
    if (!r)
        return;
    free(r->last_applied);
    free(r->applied_tag);
    for (size_t i = 0; i < r->nsteps; i++)
        free(r->steps[i].changeset);
    free(r->steps);
    for (size_t i = 0; i < r->nwarnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    lint_report_release(&r->lint);
    engine_result_init(r);
}

static const char *default_table(const char *table, bool flyway)
{
    if (table && *table)
        return table;
    return flyway ? ENGINE_DEFAULT_FLYWAY_TABLE : ENGINE_DEFAULT_TABLE;
}

/* "schema.table" with the default schema filled in: the lock's name. */
static enum tm_code lock_name(const char *table, char *out, size_t n, struct tm_err *err)
{
    char schema[128], base[128];
    enum tm_code rc = pgx_split_qualified(table, schema, sizeof(schema), base, sizeof(base), err);
    if (rc == TM_OK)
        snprintf(out, n, "%s.%s", schema, base);
    return rc;
}

/* ---- locks --------------------------------------------------------------- */

/* The advisory lock of a history table (NULL: the default one): its two
 * keys, ENGINE_LOCK_KEY1 as text in k1 and the table's lock_name in name. */
static enum tm_code lock_key(const char *table, char *name, size_t name_size, char *k1,
                             size_t k1_size, struct tm_err *err)
{
    snprintf(k1, k1_size, "%d", ENGINE_LOCK_KEY1);
    return lock_name(default_table(table, false), name, name_size, err);
}

static enum tm_code lock_holder(struct pgx_conn *c, const char *name, char *out, size_t n,
                                struct tm_err *err)
{
    char k1[16];
    snprintf(k1, sizeof(k1), "%d", ENGINE_LOCK_KEY1);
    const char *params[2] = {k1, name};
    char *v = NULL;
    enum tm_code rc = pgx_query_value(
        c,
        "SELECT 'pid ' || a.pid || ' (application_name \"' || coalesce(a.application_name, '') "
        "|| '\", client ' || coalesce(host(a.client_addr), 'local') || ', since ' || "
        "coalesce(a.backend_start::text, '?') || ')' FROM pg_locks l JOIN pg_stat_activity a "
        "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = "
        "$1::int4::oid AND l.objid = hashtext($2)::oid AND l.objsubid = 2 AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1",
        2, params, &v, err);
    if (rc != TM_OK)
        return rc;
    snprintf(out, n, "%s", v ? v : "another session (gone now)");
    free(v);
    return TM_OK;
}

enum tm_code engine_lock(struct pgx_conn *c, const char *table, int wait_ms, struct tm_err *err)
{
    char name[300], k1[16];
    enum tm_code rc = lock_key(table, name, sizeof(name), k1, sizeof(k1), err);
    if (rc != TM_OK)
        return rc;
    const char *params[2] = {k1, name};
    int64_t deadline = tm_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        char *v = NULL;
        rc = pgx_query_value(c, "SELECT pg_try_advisory_lock($1::int4, hashtext($2))::text", 2,
                             params, &v, err);
        if (rc != TM_OK)
            return tm_err_prefix(err, "lock %s", name);
        bool got = v && strcmp(v, "true") == 0;
        free(v);
        if (got)
            return TM_OK;
        if (tm_mono_ms() >= deadline)
            break;
        tm_sleep_ms(ENGINE_LOCK_POLL_MS);
    }
    char who[400];
    rc = lock_holder(c, name, who, sizeof(who), err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "lock %s", name);
    return tm_err_setr(err, TM_E_LOCKED, TM_RETRY_WAITING, "lock %s: held by %s", name, who);
}

enum tm_code engine_unlock(struct pgx_conn *c, const char *table, struct tm_err *err)
{
    char name[300], k1[16];
    enum tm_code rc = lock_key(table, name, sizeof(name), k1, sizeof(k1), err);
    if (rc != TM_OK)
        return rc;
    const char *params[2] = {k1, name};
    return pgx_exec_params(c, "SELECT pg_advisory_unlock($1::int4, hashtext($2))", 2, params,
                           NULL, err);
}

/* A live Liquibase lock: <table>lock in the same schema with locked = true. */
static enum tm_code check_liquibase_lock(struct pgx_conn *c, const char *table, struct tm_err *err)
{
    char schema[128], base[128], lt[300], q[400], sql[600];
    enum tm_code rc = pgx_split_qualified(table, schema, sizeof(schema), base, sizeof(base), err);
    if (rc != TM_OK)
        return rc;
    snprintf(lt, sizeof(lt), "%s.%slock", schema, base);
    rc = pgx_quote_qualified(c, lt, q, sizeof(q), err);
    if (rc != TM_OK)
        return rc;
    bool exists = false;
    rc = engine_table_exists(c, q, &exists, err);
    if (rc != TM_OK || !exists)
        return rc;
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(lockedby, '?') || ' since ' || coalesce(lockgranted::text, '?') "
             "FROM %s WHERE locked LIMIT 1",
             q);
    char *v = NULL;
    rc = pgx_query_value(c, sql, 0, NULL, &v, err);
    if (rc != TM_OK)
        return rc;
    if (v) {
        rc = tm_err_setr(err, TM_E_LOCKED, TM_RETRY_WAITING,
                         "liquibase lock %s is held by %s (clear it with `liquibase "
                         "release-locks` if that run is dead)",
                         lt, v);
        free(v);
    }
    return rc;
}

/* ---- history rows -------------------------------------------------------- */

static void description_of(const struct chlog_changeset *cs, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    if (cs->nchanges == 0) {
        snprintf(out, n, "empty");
        return;
    }
    for (size_t i = 0; i < cs->nchanges && len < n; i++) {
        const char *d = cs->changes[i].description         ? cs->changes[i].description
                        : cs->changes[i].kind == CHLOG_CHANGE_SQL_FILE ? "sqlFile"
                        : cs->changes[i].kind == CHLOG_CHANGE_TAG      ? "tagDatabase"
                        : cs->changes[i].type                          ? cs->changes[i].type
                                                                       : "sql";
        int w = snprintf(out + len, n - len, "%s%s", i ? "; " : "", d);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* Liquibase 4.33's MarkChangeSetRanGenerator: StringUtil.limitSize(value,
 * 250) for DESCRIPTION and COMMENTS: a value longer than 250 UTF-16 code
 * units keeps its first 247 and gets "...".  (ChangeSet.getDescription has
 * already cut at 255 the same way; the 250 cut then decides.)  s is UTF-8;
 * out must hold 4*247+4 bytes. */
#define LB_LIMIT 250
static void limit(const char *s, char *out, size_t n)
{
    size_t units = 0, cut = 0, i = 0;
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    while (u[i]) {
        size_t len = u[i] < 0x80 ? 1 : u[i] < 0xE0 ? 2 : u[i] < 0xF0 ? 3 : 4;
        size_t w = len == 4 ? 2 : 1; /* supplementary: a surrogate pair */
        if (units + w <= LB_LIMIT - 3)
            cut = i + len;
        units += w;
        for (size_t k = 0; k < len && u[i]; k++)
            i++;
    }
    size_t keep = units > LB_LIMIT ? cut : i;
    if (keep >= n)
        keep = n - 1;
    memcpy(out, s ? s : "", keep);
    out[keep] = '\0';
    if (units > LB_LIMIT && keep + 3 < n)
        memcpy(out + keep, "...", 4);
}

/* The columns of a Liquibase history row, in the order lb_row.v holds them. */
#define LB_ROW_COLUMNS                                                                     \
    "ID, AUTHOR, FILENAME, ORDEREXECUTED, MD5SUM, DESCRIPTION, COMMENTS, EXECTYPE, "     \
    "CONTEXTS, LABELS, LIQUIBASE, DEPLOYMENT_ID, TAG, DATEEXECUTED"
#define LB_ROW_NVALUES 13 /* DATEEXECUTED is NOW() */

/* The values of a new Liquibase history row (MarkChangeSetRanGenerator);
 * v[] borrows from cs, r and the buffers here.  lb_row_release frees. */
struct lb_row {
    const char *v[LB_ROW_NVALUES];
    char order[24];
    char desc[1024], comments[1024];
    char *contexts, *labels;
};

static void lb_row_release(struct lb_row *row)
{
    free(row->contexts);
    free(row->labels);
    row->contexts = row->labels = NULL;
}

static enum tm_code lb_row_init(struct run *r, const struct chlog_changeset *cs,
                                const char *exectype, struct lb_row *row, struct tm_err *err)
{
    char descall[2048];
    row->contexts = row->labels = NULL;
    description_of(cs, descall, sizeof(descall));
    limit(descall, row->desc, sizeof(row->desc));
    /* StringUtil.trimToEmpty, then limitSize */
    const char *cb = cs->comment ? cs->comment : "";
    while (*cb == ' ' || *cb == '\t' || *cb == '\n' || *cb == '\r')
        cb++;
    size_t cl = strlen(cb);
    while (cl > 0 && (cb[cl - 1] == ' ' || cb[cl - 1] == '\t' || cb[cl - 1] == '\n' ||
                      cb[cl - 1] == '\r'))
        cl--;
    char *ctrim = strndup(cb, cl);
    if (!ctrim)
        return tm_err_set(err, TM_E_NOMEM, "history row: out of memory");
    limit(ctrim, row->comments, sizeof(row->comments));
    free(ctrim);
    /* CONTEXTS / LABELS as Liquibase writes them (engine/select.h) */
    enum tm_code rc = select_history_columns(cs, &row->contexts, &row->labels, err);
    if (rc != TM_OK)
        return rc;
    snprintf(row->order, sizeof(row->order), "%ld", r->last_order + 1);
    const char *v[LB_ROW_NVALUES] = {cs->id,
                                     cs->author,
                                     cs->filename,
                                     row->order,
                                     cs->checksum[0] ? cs->checksum : NULL,
                                     row->desc,
                                     row->comments,
                                     exectype,
                                     row->contexts,
                                     row->labels,
                                     ENGINE_LIQUIBASE_VERSION,
                                     r->deployment_id,
                                     cs->tag};
    memcpy(row->v, v, sizeof(v));
    return TM_OK;
}

/* tm_buf_adds for a statement being built: a failure is named in err. */
static enum tm_code sql_add(struct tm_buf *b, const char *s, struct tm_err *err)
{
    enum tm_code rc = tm_buf_adds(b, s);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "%s", rc == TM_E_NOMEM ? "out of memory" : "statement too long");
    return TM_OK;
}

/* Appends to b the statement that writes cs's Liquibase history row: the
 * new row, or for a rerun the RERAN update of its row.  Values are
 * literals (pgx_buf_add_literal) so that the statement can share one simple
 * query with the changeset's SQL and COMMIT (run_one_message). */
static enum tm_code lb_row_sql(struct run *r, const struct chlog_changeset *cs,
                               const char *exectype, bool rerun, struct tm_buf *b,
                               struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    if (rerun) {
        char order[24];
        snprintf(order, sizeof(order), "%ld", r->last_order + 1);
        const char *parts[7][2] = {{"UPDATE ", NULL},
                                   {" SET DATEEXECUTED = NOW(), ORDEREXECUTED = ", order},
                                   {", MD5SUM = ", cs->checksum[0] ? cs->checksum : NULL},
                                   {", EXECTYPE = ", exectype},
                                   {", DEPLOYMENT_ID = ", r->deployment_id},
                                   {" WHERE ID = ", cs->id},
                                   {" AND AUTHOR = ", cs->author}};
        for (size_t i = 0; i < 7 && rc == TM_OK; i++) {
            rc = sql_add(b, parts[i][0], err);
            if (rc == TM_OK)
                rc = i == 0 ? sql_add(b, r->q, err)
                            : pgx_buf_add_literal(r->c, b, parts[i][1], err);
        }
        if (rc == TM_OK)
            rc = sql_add(b, " AND FILENAME = ", err);
        if (rc == TM_OK)
            rc = pgx_buf_add_literal(r->c, b, cs->filename, err);
        return rc;
    }
    struct lb_row row;
    rc = lb_row_init(r, cs, exectype, &row, err);
    if (rc != TM_OK)
        return rc;
    rc = sql_add(b, "INSERT INTO ", err);
    if (rc == TM_OK)
        rc = sql_add(b, r->q, err);
    if (rc == TM_OK)
        rc = sql_add(b, " (" LB_ROW_COLUMNS ") VALUES (", err);
    for (size_t i = 0; i < LB_ROW_NVALUES && rc == TM_OK; i++) {
        rc = pgx_buf_add_literal(r->c, b, row.v[i], err);
        if (rc == TM_OK)
            rc = sql_add(b, ", ", err);
    }
    if (rc == TM_OK)
        rc = sql_add(b, "NOW())", err);
    lb_row_release(&row);
    return rc;
}

static enum tm_code write_row(struct run *r, const struct chlog_changeset *cs,
                              const char *exectype, bool rerun, long duration_ms, bool commit,
                              struct tm_err *err)
{
    if (r->flyway) {
        char sql[1400], ms[24];
        snprintf(ms, sizeof(ms), "%ld", duration_ms);
        const char *desc = cs->description ? cs->description : (cs->id ? cs->id : "");
        /* Flyway writes a failed non-transactional script as success = false */
        const char *params[7] = {cs->version, desc, cs->filename,
                                 cs->checksum[0] ? cs->checksum : NULL, ms,
                                 r->cl->flyway_installed_by[0] ? r->cl->flyway_installed_by : NULL,
                                 strcmp(exectype, "FAILED") == 0 ? "false" : "true"};
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s (installed_rank, version, description, type, script, "
                 "checksum, installed_by, execution_time, success) VALUES ((SELECT "
                 "coalesce(max(installed_rank), 0) + 1 FROM %s), $1, $2, 'SQL', $3, $4::int, "
                 "coalesce($6, current_user), $5::int, $7::boolean)",
                 r->q, r->q);
        return commit ? pgx_exec_params_commit(r->c, sql, 7, params, err)
                      : pgx_exec_params(r->c, sql, 7, params, NULL, err);
    }
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc = lb_row_sql(r, cs, exectype, rerun, &b, err);
    if (rc == TM_OK && commit)
        rc = sql_add(&b, ";\nCOMMIT", err);
    int nok = 0;
    if (rc == TM_OK) /* with COMMIT: one round trip */
        rc = pgx_exec_script(r->c, tm_buf_str(&b), &nok, err);
    tm_buf_release(&b);
    if (rc != TM_OK)
        return tm_err_prefix(err, nok == 0 ? "history row" : "commit");
    r->last_order++; /* committed (COMMIT, or autocommit outside a transaction) */
    return TM_OK;
}

/* Appends to b the statement that deletes the history row of a rolled
 * back changeset (values as literals, as lb_row_sql). */
static enum tm_code delete_row_sql(struct run *r, const struct chlog_changeset *cs,
                                   const struct engine_row *row, struct tm_buf *b,
                                   struct tm_err *err)
{
    enum tm_code rc = sql_add(b, "DELETE FROM ", err);
    if (rc == TM_OK)
        rc = sql_add(b, r->q, err);
    if (rc == TM_OK && r->flyway) {
        char rank[48];
        snprintf(rank, sizeof(rank), " WHERE installed_rank = %ld", row->orderexecuted);
        return sql_add(b, rank, err);
    }
    const char *parts[3][2] = {
        {" WHERE ID = ", cs->id}, {" AND AUTHOR = ", cs->author}, {" AND FILENAME = ", cs->filename}};
    for (size_t i = 0; i < 3 && rc == TM_OK; i++) {
        rc = sql_add(b, parts[i][0], err);
        if (rc == TM_OK)
            rc = pgx_buf_add_literal(r->c, b, parts[i][1], err);
    }
    return rc;
}

static enum tm_code delete_row(struct run *r, const struct chlog_changeset *cs,
                               const struct engine_row *row, struct tm_err *err)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc = delete_row_sql(r, cs, row, &b, err);
    if (rc == TM_OK)
        rc = pgx_exec(r->c, tm_buf_str(&b), err);
    tm_buf_release(&b);
    return rc;
}

/* ---- running SQL ------------------------------------------------------- */

/* Runs text: one PQexec (in a transaction: multi-statement text is fine),
 * or statement by statement when outside a transaction (so that each
 * commits alone and CREATE INDEX CONCURRENTLY works) or when a custom
 * delimiter is used. */
static enum tm_code exec_text(struct pgx_conn *c, const char *sql, const char *delim,
                              bool split, bool strip, bool in_tx, bool *begin,
                              struct tm_err *err)
{
    bool custom = delim && *delim && strcmp(delim, ";") != 0;
    if (!sql || !*sql)
        return TM_OK;
    /* what pgjdbc would send: "??" is the "?" operator (jdbc_sql.c) */
    char *native = chlog_jdbc_sql(sql);
    if (native) {
        enum tm_code rc = exec_text(c, native, delim, split, strip, in_tx, begin, err);
        free(native);
        return rc;
    }
    if (!custom && (in_tx || !split)) {
        if (begin && *begin) {
            /* "BEGIN;" and the SQL in one simple query: the explicit block
             * stays open after it (one round trip saved per changeset). */
            size_t n = strlen(sql);
            char *both = malloc(n + 8);
            if (!both)
                return tm_err_set(err, TM_E_NOMEM, "out of memory");
            memcpy(both, "BEGIN;\n", 7);
            memcpy(both + 7, sql, n + 1);
            *begin = false;
            enum tm_code rc = pgx_exec(c, both, err);
            free(both);
            return rc;
        }
        return pgx_exec(c, sql, err);
    }
    if (begin && *begin) {
        enum tm_code rc = pgx_exec(c, "BEGIN", err);
        *begin = false;
        if (rc != TM_OK)
            return rc;
    }
    char **stmts = NULL;
    size_t n = 0;
    enum tm_code rc = chlog_split_statements(sql, delim, strip, &stmts, &n, err);
    for (size_t i = 0; i < n && rc == TM_OK; i++)
        rc = pgx_exec(c, stmts[i], err);
    chlog_statements_free(stmts, n);
    return rc;
}

/* Appends SQL text (a change's, or a rollback) to a one-message script,
 * followed by "\n;\n".  *ok becomes false when the text cannot share a
 * message: a custom
 * delimiter, or text that does not end at the top level (an open quote,
 * comment, dollar quote, parenthesis or BEGIN ... END body) and so would
 * swallow what follows it; the sentinel statement after it must come out
 * of chlog_split_statements alone.  *nstmts gets the text's statements. */
static enum tm_code script_add_text(const char *sql, const char *delim, struct tm_buf *b,
                                    int *nstmts, bool *ok, struct tm_err *err)
{
    static const char sentinel[] = "\n;\nCOMMIT";
    if (!sql || !*sql)
        return TM_OK;
    if (delim && *delim && strcmp(delim, ";") != 0) {
        *ok = false;
        return TM_OK;
    }
    /* what pgjdbc would send: "??" is the "?" operator (jdbc_sql.c) */
    char *native = chlog_jdbc_sql(sql);
    const char *text = native ? native : sql;
    size_t n = strlen(text);
    char *probe = malloc(n + sizeof(sentinel));
    if (!probe) {
        free(native);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    memcpy(probe, text, n);
    memcpy(probe + n, sentinel, sizeof(sentinel));
    char **stmts = NULL;
    size_t k = 0;
    enum tm_code rc = chlog_split_statements(probe, NULL, false, &stmts, &k, err);
    free(probe);
    if (rc == TM_OK && (k == 0 || strcmp(stmts[k - 1], "COMMIT") != 0))
        *ok = false;
    chlog_statements_free(stmts, k);
    if (rc == TM_OK && *ok) {
        *nstmts += (int)k - 1;
        rc = sql_add(b, text, err);
        if (rc == TM_OK)
            rc = sql_add(b, "\n;\n", err);
    }
    free(native);
    return rc;
}

/* Ends the one-message script b (";\nCOMMIT") and sends it as one simple
 * query.  rc is what building b returned; ok false means a change could not
 * share the message.  Then, and when b outgrew its cap, nothing is sent
 * (*sent stays false) and TM_OK returns: the caller goes step by step.  A
 * failure at statement nrow (the history row) or after it (COMMIT) says so.
 * Releases b. */
static enum tm_code send_one_message(struct run *r, struct tm_buf *b, enum tm_code rc, bool ok,
                                     int nrow, bool *sent, struct tm_err *err)
{
    if (rc == TM_OK && ok)
        rc = sql_add(b, ";\nCOMMIT", err);
    if (rc == TM_E_TOOBIG) { /* step by step, with no such limit */
        ok = false;
        rc = TM_OK;
        tm_err_clear(err);
    }
    if (rc == TM_OK && ok) {
        int nok = 0;
        *sent = true;
        rc = pgx_exec_script(r->c, tm_buf_str(b), &nok, err);
        if (rc != TM_OK && nok == nrow)
            tm_err_prefix(err, "history row");
        else if (rc != TM_OK && nok > nrow)
            tm_err_prefix(err, "commit");
    }
    tm_buf_release(b);
    return rc;
}

/* A changeset in a transaction, as one simple query (one round trip):
 *   [BEGIN;] its changes' SQL; its history row; COMMIT
 * PostgreSQL runs the statements in order and stops at the first failure,
 * so the SQL and the row still commit together or not at all.  *sent =
 * false (and nothing sent) when some change cannot share the message
 * (script_add_text): the caller runs the changeset step by step. */
static enum tm_code run_one_message(struct run *r, const struct chlog_changeset *cs,
                                    bool rerun, bool begin, bool *sent, struct tm_err *err)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_TOTAL);
    bool ok = true;
    int nuser = 0;
    *sent = false;
    enum tm_code rc = begin ? sql_add(&b, "BEGIN;\n", err) : TM_OK;
    for (size_t i = 0; i < cs->nchanges && rc == TM_OK && ok; i++)
        if (cs->changes[i].kind != CHLOG_CHANGE_TAG)
            rc = script_add_text(cs->changes[i].sql, cs->changes[i].end_delimiter, &b, &nuser,
                                 &ok, err);
    if (rc == TM_OK && ok)
        rc = lb_row_sql(r, cs, rerun ? "RERAN" : "EXECUTED", rerun, &b, err);
    rc = send_one_message(r, &b, rc, ok, (begin ? 1 : 0) + nuser, sent, err);
    if (rc == TM_OK && *sent)
        r->last_order++;
    return rc;
}

static void rollback_quietly(struct pgx_conn *c)
{
    struct tm_err ignore;
    if (pgx_exec(c, "ROLLBACK", &ignore) != TM_OK) {
        /* connection gone: the server has rolled back */
    }
}

/* ---- preconditions -----------------------------------------------------------
 * The tree chlog_precond_compile() builds (chlog.h), walked with Liquibase's
 * rules (4.33.0, liquibase/precondition/core/AndPrecondition.java, Or..., Not...,
 * PreconditionContainer.java): and stops at the first failure, or at the
 * first pass, not fails when any kid passes, and an error (a query that
 * fails) ends the walk at once.  A preConditions container
 * applies its own onFail/onError WARN (log, then count as passed) and its
 * onFailMessage/onErrorMessage (PreconditionContainer.check); the caller
 * then acts on what is left (ChangeSet.execute, ValidatingVisitor). */
enum pc_result { PC_PASS, PC_FAIL, PC_ERROR };

struct pc_eval {
    struct run *r;
    const char *own_file;   /* FILENAME for a changeSetExecuted without changeLogFile */
    const char *subject;    /* "changeset x" / "changelog" for warnings */
    bool savepoints;        /* in a transaction that must survive a failed query */
    char msg[700];          /* why the last FAIL/ERROR */
    struct tm_err qerr;     /* the query's error on PC_ERROR */
};

/* True when some error may be gone past (onError other than HALT on a
 * container): then, in a transaction, each query runs under a savepoint so
 * that a failed one does not abort what follows. */
static bool pc_soft_errors(const struct chlog_precondition *pc)
{
    if (pc->container && pc->on_error != CHLOG_ONFAIL_HALT)
        return true;
    for (size_t i = 0; i < pc->nkids; i++)
        if (pc_soft_errors(&pc->kids[i]))
            return true;
    return false;
}

static enum tm_code pc_query(struct pc_eval *e, const char *sql, size_t n,
                             const char *const *params, char **v)
{
    tm_err_clear(&e->qerr);
    if (e->savepoints && pgx_exec(e->r->c, "SAVEPOINT tm_precondition", &e->qerr) != TM_OK)
        return e->qerr.code;
    enum tm_code rc = pgx_query_value(e->r->c, sql, (int)n, params, v, &e->qerr);
    if (rc != TM_OK && e->savepoints) {
        struct tm_err ignore;
        if (pgx_exec(e->r->c, "ROLLBACK TO SAVEPOINT tm_precondition", &ignore) != TM_OK) {
            /* the connection is gone: what follows fails on its own */
        }
    }
    return rc;
}

static void pc_warn(struct pc_eval *e, const char *fmt, const char *why)
{
    char line[1024];
    snprintf(line, sizeof(line), fmt, e->subject, why);
    char **w = realloc(e->r->res->warnings, (e->r->res->nwarnings + 1) * sizeof(*w));
    if (!w)
        return; /* a lost warning is not worth failing the run */
    e->r->res->warnings = w;
    if ((w[e->r->res->nwarnings] = strdup(line)) != NULL)
        e->r->res->nwarnings++;
}

static enum pc_result pc_check(struct pc_eval *e, const struct chlog_precondition *pc)
{
    char *v = NULL;
    const char *what = pc->what ? pc->what : "SQL Precondition failed";
    if (pc_query(e, pc->sql, pc->nparams, (const char *const *)pc->params, &v) != TM_OK) {
        snprintf(e->msg, sizeof(e->msg), "%s: %s", pc->what ? pc->what : "sqlCheck",
                 e->qerr.msg);
        return PC_ERROR;
    }
    if (!v) { /* SqlPrecondition: a NULL or no row fails */
        snprintf(e->msg, sizeof(e->msg), "%s: No rows returned from SQL Precondition", what);
        return PC_FAIL;
    }
    const char *want = pc->expected ? pc->expected : "";
    while (*want == ' ')
        want++;
    size_t wl = strlen(want);
    while (wl > 0 && want[wl - 1] == ' ')
        wl--;
    bool ok = strlen(v) == wl && strncmp(v, want, wl) == 0;
    if (!ok) {
        if (pc->report_value || !pc->what)
            snprintf(e->msg, sizeof(e->msg), "%s.  Expected '%.*s' got '%s'", what, (int)wl,
                     want, v);
        else
            snprintf(e->msg, sizeof(e->msg), "%s", what);
    }
    free(v);
    return ok ? PC_PASS : PC_FAIL;
}

static enum pc_result pc_executed(struct pc_eval *e, const struct chlog_precondition *pc)
{
    char sql[700];
    char *v = NULL;
    snprintf(sql, sizeof(sql),
             "SELECT EXISTS (SELECT 1 FROM %s WHERE id = $1 AND author = $2 AND filename = $3 "
             "AND exectype IN ('EXECUTED', 'RERAN', 'MARK_RAN'))::text",
             e->r->q);
    const char *params[3] = {pc->cs_id, pc->cs_author, pc->cs_file ? pc->cs_file : e->own_file};
    if (pc_query(e, sql, 3, params, &v) != TM_OK) {
        snprintf(e->msg, sizeof(e->msg), "%s: %s", pc->what ? pc->what : "changeSetExecuted",
                 e->qerr.msg);
        return PC_ERROR;
    }
    bool ran = v && strcmp(v, "true") == 0;
    free(v);
    if (!ran)
        snprintf(e->msg, sizeof(e->msg), "%s", pc->what ? pc->what : "changeSetExecuted failed");
    return ran ? PC_PASS : PC_FAIL;
}

static enum pc_result pc_eval(struct pc_eval *e, const struct chlog_precondition *pc, int depth)
{
    enum pc_result res = PC_PASS;
    switch (pc->kind) {
    case CHLOG_PRECOND_CHECK:
        res = pc_check(e, pc);
        break;
    case CHLOG_PRECOND_EXECUTED:
        res = pc_executed(e, pc);
        break;
    case CHLOG_PRECOND_CONST:
        res = pc->const_pass ? PC_PASS : PC_FAIL;
        if (!pc->const_pass)
            snprintf(e->msg, sizeof(e->msg), "%s", pc->what ? pc->what : "precondition failed");
        break;
    case CHLOG_PRECOND_AND:
        for (size_t i = 0; i < pc->nkids && res == PC_PASS; i++)
            res = pc_eval(e, &pc->kids[i], depth + 1);
        break;
    case CHLOG_PRECOND_OR: {
        char first[sizeof(e->msg)] = "";
        res = PC_FAIL;
        for (size_t i = 0; i < pc->nkids && res == PC_FAIL; i++) {
            res = pc_eval(e, &pc->kids[i], depth + 1);
            if (res == PC_FAIL && !first[0])
                memcpy(first, e->msg, sizeof(first));
        }
        if (res == PC_FAIL)
            snprintf(e->msg, sizeof(e->msg), "%s",
                     first[0] ? first : (pc->what ? pc->what : "or precondition failed"));
        break;
    }
    case CHLOG_PRECOND_NOT:
        for (size_t i = 0; i < pc->nkids && res == PC_PASS; i++) {
            enum pc_result k = pc_eval(e, &pc->kids[i], depth + 1);
            if (k == PC_ERROR)
                res = PC_ERROR;
            else if (k == PC_PASS) {
                res = PC_FAIL;
                snprintf(e->msg, sizeof(e->msg), "%s",
                         pc->what ? pc->what : "Not precondition failed");
            }
        }
        break;
    }
    if (!pc->container || res == PC_PASS)
        return res;
    /* PreconditionContainer.check */
    if (res == PC_FAIL) {
        if (pc->on_fail_message)
            snprintf(e->msg, sizeof(e->msg), "%s", pc->on_fail_message);
        if (pc->on_fail == CHLOG_ONFAIL_WARN) {
            pc_warn(e, "%s: precondition failed (onFail WARN), went on: %s", e->msg);
            return PC_PASS;
        }
    } else {
        if (pc->on_error == CHLOG_ONFAIL_WARN) {
            pc_warn(e, "%s: precondition error (onError WARN), went on: %s", e->msg);
            return PC_PASS;
        }
        if (pc->on_error_message && pc->on_error != CHLOG_ONFAIL_CONTINUE)
            snprintf(e->msg, sizeof(e->msg), "%s", pc->on_error_message);
    }
    return res;
}

static const char *on_fail_name(enum chlog_on_fail f)
{
    switch (f) {
    case CHLOG_ONFAIL_HALT: return "HALT";
    case CHLOG_ONFAIL_CONTINUE: return "CONTINUE";
    case CHLOG_ONFAIL_MARK_RAN: return "MARK_RAN";
    case CHLOG_ONFAIL_WARN: return "WARN";
    }
    return "HALT";
}

/* Changelog-level preConditions (ValidatingVisitor.validate): checked once
 * before anything runs, in a transaction that is rolled back; a failure or
 * an error stops the run with nothing applied whatever onFail/onError say,
 * except WARN, which the container turns into a warning. */
static enum tm_code check_changelog_preconditions(struct run *r, struct tm_err *err)
{
    const struct chlog_precondition *pc = r->cl->precondition;
    struct pc_eval e = {.r = r, .own_file = r->cl->entry, .subject = "changelog",
                        .savepoints = pc->on_error != CHLOG_ONFAIL_HALT || pc_soft_errors(pc)};
    enum tm_code rc = pgx_exec(r->c, "BEGIN", err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "changelog preconditions");
    enum pc_result res = pc_eval(&e, pc, 0);
    rollback_quietly(r->c);
    if (res == PC_PASS)
        return TM_OK;
    if (res == PC_FAIL)
        return tm_err_setr(err, TM_E_POLICY, TM_RETRY_TERMINAL,
                           "changelog preconditions failed (onFail %s), nothing applied: %s",
                           on_fail_name(pc->on_fail), e.msg);
    if (err)
        *err = e.qerr; /* keeps the sqlstate */
    return tm_err_setr(err, e.qerr.code ? e.qerr.code : TM_E_DB, TM_RETRY_TERMINAL,
                       "changelog preconditions: error (onError %s), nothing applied: %s",
                       on_fail_name(pc->on_error), e.msg);
}

static enum tm_code record_step(struct run *r, const struct chlog_changeset *cs,
                                enum engine_outcome out, long ms, struct tm_err *err)
{
    struct engine_result *res = r->res;
    struct engine_step_result *ns = realloc(res->steps, (res->nsteps + 1) * sizeof(*ns));
    if (!ns)
        return tm_err_set(err, TM_E_NOMEM, "record step: out of memory");
    res->steps = ns;
    char name[1024];
    engine_changeset_name(cs, name, sizeof(name));
    struct engine_step_result *s = &res->steps[res->nsteps];
    s->outcome = out;
    s->duration_ms = ms;
    s->changeset = strdup(name);
    if (!s->changeset)
        return tm_err_set(err, TM_E_NOMEM, "record step: out of memory");
    res->nsteps++;
    switch (out) {
    case ENGINE_OUT_EXECUTED:
    case ENGINE_OUT_RERAN:
        res->applied++;
        free(res->last_applied);
        res->last_applied = strdup(name);
        break;
    case ENGINE_OUT_MARK_RAN:
    case ENGINE_OUT_MARKED_NEXT_RUN:
        res->marked_ran++;
        break;
    case ENGINE_OUT_SKIPPED:
        res->skipped++;
        break;
    case ENGINE_OUT_ROLLED_BACK:
        res->rolled_back++;
        break;
    case ENGINE_OUT_FAILED:
        break;
    }
    if (r->o->progress)
        r->o->progress(r->o->progress_ctx, cs, s);
    return TM_OK;
}

/* Writes a MARK_RAN row in its own transaction (strategy MarkNextRun). */
static enum tm_code mark_next_run(struct run *r, const struct chlog_changeset *cs, bool rerun,
                                  struct tm_err *err)
{
    enum tm_code rc = pgx_exec(r->c, "BEGIN", err);
    if (rc == TM_OK)
        rc = write_row(r, cs, "MARK_RAN", rerun, 0, true, err);
    if (rc != TM_OK)
        rollback_quietly(r->c);
    return rc;
}

/* One forward step being run: what its helpers share. */
struct fwd {
    struct run *r;
    const struct chlog_changeset *cs;
    bool rerun;
    bool in_tx;   /* runs in a transaction */
    int64_t t0;   /* when the step started (tm_mono_ms) */
    char name[1024]; /* engine_changeset_name */
};

static long fwd_ms(const struct fwd *f)
{
    return (long)(tm_mono_ms() - f->t0);
}

/* The step failed (err says why; an open transaction is rolled back): the
 * strategy decides what is recorded and the retry class.  failOnError
 * false: recorded as failed and TM_OK, the run goes on. */
static enum tm_code forward_failed(const struct fwd *f, struct tm_err *err)
{
    struct run *r = f->r;
    const struct chlog_changeset *cs = f->cs;
    if (f->in_tx)
        rollback_quietly(r->c);
    long fms = fwd_ms(f);
    if (r->flyway && !f->in_tx) {
        /* Flyway records a failed non-transactional script (success = false);
         * the next run removes that row and tries the script again */
        struct tm_err ferr;
        tm_err_clear(&ferr);
        if (write_row(r, cs, "FAILED", false, fms, false, &ferr) == TM_OK)
            r->failed_rows = true;
    }
    if (!f->in_tx)
        tm_err_prefix(err, "runInTransaction false: the statements before this one stay "
                           "applied");
    tm_err_prefix(err, "changeset %s", f->name);
    if (!cs->fail_on_error && r->o->strategy != ENGINE_STRATEGY_FAIL) {
        /* failOnError: false -> the failure is reported and the run goes on */
        (void)record_step(r, cs, ENGINE_OUT_FAILED, fms, NULL);
        tm_err_clear(err);
        return TM_OK;
    }
    enum tm_code code = err ? err->code : TM_E_DB;
    switch (r->o->strategy) {
    case ENGINE_STRATEGY_ROLLBACK:
        (void)record_step(r, cs, ENGINE_OUT_FAILED, fms, NULL);
        break;
    case ENGINE_STRATEGY_MARK_NEXT_RUN: {
        struct tm_err merr;
        tm_err_clear(&merr);
        if (mark_next_run(r, cs, f->rerun, &merr) != TM_OK) {
            (void)record_step(r, cs, ENGINE_OUT_FAILED, fms, NULL);
            tm_err_prefix(err, "and marking it ran failed (%s)", merr.msg);
        } else {
            (void)record_step(r, cs, ENGINE_OUT_MARKED_NEXT_RUN, fms, NULL);
        }
        if (err)
            err->retry = TM_RETRY_TERMINAL;
        break;
    }
    case ENGINE_STRATEGY_FAIL:
        (void)record_step(r, cs, ENGINE_OUT_FAILED, fms, NULL);
        if (err)
            err->retry = TM_RETRY_TERMINAL;
        break;
    }
    return code == TM_OK ? TM_E_DB : code;
}

/* The changeset's preconditions (inside its transaction when in_tx, BEGIN
 * already sent).  *done false: run the changeset (they passed, or WARN);
 * true: the step ended here with the returned code (HALT, CONTINUE,
 * MARK_RAN). */
static enum tm_code forward_preconditions(const struct fwd *f, bool *done, struct tm_err *err)
{
    struct run *r = f->r;
    const struct chlog_changeset *cs = f->cs;
    const struct chlog_precondition *pc = cs->precondition;
    *done = false;
    char subject[1100];
    snprintf(subject, sizeof(subject), "changeset %s", f->name);
    struct pc_eval e = {.r = r, .own_file = cs->filename, .subject = subject,
                        .savepoints = f->in_tx && (pc->on_error != CHLOG_ONFAIL_HALT ||
                                                   pc_soft_errors(pc))};
    enum pc_result res = pc_eval(&e, pc, 0);
    enum chlog_on_fail act = res == PC_ERROR ? pc->on_error : pc->on_fail;
    const char *kind = res == PC_ERROR ? "error (onError" : "failed (onFail";
    if (res == PC_PASS)
        return TM_OK;
    enum tm_code rc = TM_OK;
    switch (act) {
    case CHLOG_ONFAIL_HALT:
        *done = true;
        if (f->in_tx)
            rollback_quietly(r->c);
        (void)record_step(r, cs, ENGINE_OUT_FAILED, fwd_ms(f), NULL);
        if (res == PC_ERROR && err)
            *err = e.qerr; /* keeps the sqlstate */
        return tm_err_setr(err, res == PC_ERROR ? TM_E_DB : TM_E_POLICY, TM_RETRY_TERMINAL,
                           "changeset %s: precondition %s HALT): %s", f->name, kind, e.msg);
    case CHLOG_ONFAIL_CONTINUE:
        *done = true;
        if (f->in_tx)
            rollback_quietly(r->c);
        return record_step(r, cs, ENGINE_OUT_SKIPPED, fwd_ms(f), err);
    case CHLOG_ONFAIL_MARK_RAN:
        *done = true;
        rc = write_row(r, cs, "MARK_RAN", f->rerun, 0, f->in_tx, err);
        if (rc != TM_OK)
            return forward_failed(f, err);
        return record_step(r, cs, ENGINE_OUT_MARK_RAN, fwd_ms(f), err);
    case CHLOG_ONFAIL_WARN:
        /* Liquibase: warn and run the changeset anyway */
        pc_warn(&e, res == PC_ERROR ? "%s: precondition error (onError WARN), ran "
                                      "anyway: %s"
                                    : "%s: precondition failed (onFail WARN), ran "
                                      "anyway: %s",
                e.msg);
        break;
    }
    return TM_OK;
}

/* One forward step.  On a changeset failure: err names it; the strategy
 * decides what is recorded and the retry class (forward_failed). */
static enum tm_code run_forward(struct run *r, const struct plan_step *st, struct tm_err *err)
{
    const struct chlog_changeset *cs = &r->cl->sets[st->set];
    struct fwd f = {.r = r, .cs = cs, .rerun = st->action == PLAN_RERUN};
    /* Flyway: ALTER TYPE ... ADD VALUE runs outside a transaction before PG 12 */
    f.in_tx = cs->run_in_transaction &&
              !(r->flyway && cs->no_tx_below_pg12 && r->server_version < 120000);
    engine_changeset_name(cs, f.name, sizeof(f.name));
    f.t0 = tm_mono_ms();
    bool rerun = f.rerun, in_tx = f.in_tx;
    enum tm_code rc = TM_OK;
    if (r->flyway && r->failed_rows) {
        /* a failed (non-transactional) run left a success = false row: drop it
         * before trying again, as `flyway repair` would */
        char sql[400];
        const char *params[1] = {cs->filename};
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE script = $1 AND NOT success", r->q);
        rc = pgx_exec_params(r->c, sql, 1, params, NULL, err);
        if (rc != TM_OK)
            return tm_err_prefix(err, "changeset %s: remove its failed history row", f.name);
    }
    bool begin = in_tx; /* BEGIN still to send (with the first SQL when possible) */
    if (in_tx && cs->precondition) {
        begin = false;
        rc = pgx_exec(r->c, "BEGIN", err);
        if (rc != TM_OK)
            return tm_err_prefix(err, "changeset %s", f.name);
    }
    if (cs->precondition) {
        bool done = false;
        rc = forward_preconditions(&f, &done, err);
        if (done)
            return rc;
    }
    if (in_tx && !r->flyway) {
        bool sent = false;
        rc = run_one_message(r, cs, rerun, begin, &sent, err);
        if (rc != TM_OK)
            return forward_failed(&f, err);
        if (sent)
            return record_step(r, cs, rerun ? ENGINE_OUT_RERAN : ENGINE_OUT_EXECUTED, fwd_ms(&f),
                               err);
    }
    for (size_t i = 0; i < cs->nchanges && rc == TM_OK; i++) {
        const struct chlog_change *ch = &cs->changes[i];
        if (ch->kind == CHLOG_CHANGE_TAG)
            continue;
        rc = exec_text(r->c, ch->sql, ch->end_delimiter, ch->split_statements,
                       ch->strip_comments, in_tx, &begin, err);
    }
    if (rc == TM_OK && begin) { /* no SQL ran (tagDatabase only) */
        begin = false;
        rc = pgx_exec(r->c, "BEGIN", err);
    }
    if (rc != TM_OK)
        return forward_failed(&f, err);
    long ms = fwd_ms(&f);
    rc = write_row(r, cs, rerun ? "RERAN" : "EXECUTED", rerun, ms, in_tx, err);
    if (rc != TM_OK)
        return forward_failed(&f, err);
    return record_step(r, cs, rerun ? ENGINE_OUT_RERAN : ENGINE_OUT_EXECUTED, ms, err);
}

/* A rollback step in a transaction as one simple query, as run_one_message:
 *   BEGIN; rollback SQL; DELETE its history row; COMMIT
 * *sent = false (nothing sent) when the rollback text cannot share it. */
static enum tm_code rollback_one_message(struct run *r, const struct plan_step *st,
                                         const struct chlog_changeset *cs,
                                         const struct engine_row *row, bool *sent,
                                         struct tm_err *err)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_TOTAL);
    bool ok = true;
    int nuser = 0;
    *sent = false;
    enum tm_code rc = sql_add(&b, "BEGIN;\n", err);
    if (rc == TM_OK)
        rc = script_add_text(st->rollback_sql, NULL, &b, &nuser, &ok, err);
    if (rc == TM_OK && ok)
        rc = delete_row_sql(r, cs, row, &b, err);
    return send_one_message(r, &b, rc, ok, 1 + nuser, sent, err);
}

static enum tm_code run_rollback(struct run *r, const struct plan_step *st,
                                 const struct engine_history *h, struct tm_err *err)
{
    const struct chlog_changeset *cs = &r->cl->sets[st->set];
    const struct engine_row *row = &h->rows[st->row];
    bool in_tx = cs->run_in_transaction;
    char name[1024];
    engine_changeset_name(cs, name, sizeof(name));
    int64_t t0 = tm_mono_ms();
    enum tm_code rc = TM_OK;
    bool sent = false;
    if (in_tx)
        rc = rollback_one_message(r, st, cs, row, &sent, err);
    if (rc == TM_OK && !sent) {
        if (in_tx)
            rc = pgx_exec(r->c, "BEGIN", err);
        if (rc == TM_OK && st->rollback_sql)
            rc = exec_text(r->c, st->rollback_sql, NULL, true, false, in_tx, NULL, err);
        if (rc == TM_OK)
            rc = delete_row(r, cs, row, err);
        if (rc == TM_OK && in_tx)
            rc = pgx_exec(r->c, "COMMIT", err);
    }
    long ms = (long)(tm_mono_ms() - t0);
    if (rc != TM_OK) {
        if (in_tx)
            rollback_quietly(r->c);
        (void)record_step(r, cs, ENGINE_OUT_FAILED, ms, NULL);
        return tm_err_prefix(err, "roll back changeset %s", name);
    }
    return record_step(r, cs, ENGINE_OUT_ROLLED_BACK, ms, err);
}

/* Liquibase's deployment id: epoch milliseconds without the first 3 digits. */
static void make_deployment_id(char out[11])
{
    long long ms = (long long)tm_wall_ms();
    char all[32];
    snprintf(all, sizeof(all), "%lld", ms);
    size_t l = strlen(all);
    const char *tail = l > 10 ? all + (l - 10) : all;
    size_t tl = strlen(tail);
    memcpy(out, tail, tl);
    out[tl] = '\0';
}

static enum tm_code run_locked(struct run *r, struct tm_err *err)
{
    struct engine_history h;
    struct plan p;
    struct engine_status st;
    engine_history_init(&h);
    plan_init(&p);
    engine_status_init(&st);
    char *saved_search_path = NULL; /* Flyway: search_path to put back */
    enum tm_code rc = TM_OK;
    if (!r->flyway) {
        rc = check_liquibase_lock(r->c, r->table, err);
        if (rc != TM_OK)
            goto out;
    }
    if (!r->o->dry_run && r->flyway) {
        rc = engine_flyway_prepare(r->c, r->cl, r->table, err);
        if (rc != TM_OK)
            goto out;
    }
    if (!r->o->dry_run) {
        rc = engine_history_ensure(r->c, r->table, r->flyway, err);
        if (rc != TM_OK)
            goto out;
    }
    rc = engine_history_read(r->c, r->table, r->flyway, &h, err);
    if (rc != TM_OK)
        goto out;
    for (size_t i = 0; i < h.nrows; i++)
        if (h.rows[i].orderexecuted > r->last_order)
            r->last_order = h.rows[i].orderexecuted;
    if (r->flyway && !r->o->dry_run) {
        for (size_t i = 0; i < h.nrows; i++)
            r->failed_rows |= h.rows[i].exectype == ENGINE_EXEC_FAILED;
        for (size_t i = 0; i < r->cl->nsets && rc == TM_OK; i++)
            if (r->cl->sets[i].no_tx_below_pg12 && r->server_version == 0)
                rc = engine_server_version_num(r->c, &r->server_version, err);
        if (rc == TM_OK)
            rc = engine_flyway_search_path(r->c, r->cl, &saved_search_path, err);
        if (rc != TM_OK)
            goto out;
    }
    struct plan_opts po = {.tag = r->o->tag,
                           .count = r->o->count,
                           .context = r->o->context,
                           .allow_drift = r->o->allow_drift,
                           .label_filter = r->o->label_filter};
    rc = plan_build(r->cl, &h, &po, &p, err);
    if (rc != TM_OK)
        goto out;
    if (r->o->rollback_only && !p.rollback && p.nsteps > 0) {
        rc = tm_err_set(err, TM_E_NOTFOUND,
                        "tag \"%s\" is not applied: a rollback only goes back to an applied "
                        "tag (use update to move forward)",
                        r->o->tag ? r->o->tag : "");
        goto out;
    }
    rc = lint_plan(r->cl, &p, &r->o->lint, &r->res->lint, err);
    if (rc != TM_OK)
        goto out;
    if (!r->o->dry_run && r->cl->precondition) {
        rc = check_changelog_preconditions(r, err);
        if (rc != TM_OK)
            goto out;
    }
    if (!r->o->dry_run) {
        for (size_t i = 0; i < p.nsteps && rc == TM_OK; i++) {
            if (p.steps[i].action == PLAN_ROLLBACK)
                rc = run_rollback(r, &p.steps[i], &h, err);
            else
                rc = run_forward(r, &p.steps[i], err);
        }
    }
    /* The applied tag after the run, from the history as it now is. */
    {
        struct tm_err terr;
        tm_err_clear(&terr);
        if (p.nsteps > 0 && !r->o->dry_run) {
            engine_history_release(&h);
            if (engine_history_read(r->c, r->table, r->flyway, &h, &terr) != TM_OK)
                goto out; /* keep the run's own error (or success) */
        }
        if (engine_status_compute_filtered(r->cl, &h, r->o->context, r->o->label_filter, &st,
                                           &terr) == TM_OK &&
            st.applied_tag) {
            free(r->res->applied_tag);
            r->res->applied_tag = strdup(st.applied_tag);
        }
    }
out:
    if (saved_search_path) {
        struct tm_err serr;
        tm_err_clear(&serr);
        if (engine_flyway_search_path_restore(r->c, saved_search_path, &serr) != TM_OK) {
            /* the connection broke: the session and its search_path are gone */
        }
        free(saved_search_path);
    }
    engine_status_release(&st);
    plan_release(&p);
    engine_history_release(&h);
    return rc;
}

enum tm_code engine_run(struct pgx_conn *c, const struct chlog *cl, const struct engine_opts *o,
                        struct engine_result *res, struct tm_err *err)
{
    struct run r = {0};
    r.c = c;
    r.cl = cl;
    r.o = o;
    r.res = res;
    r.flyway = cl->format == CHLOG_FORMAT_FLYWAY;
    r.table = r.flyway ? engine_flyway_table(cl, o->table, r.table_buf, sizeof(r.table_buf))
                       : default_table(o->table, r.flyway);
    make_deployment_id(r.deployment_id);
    memcpy(res->deployment_id, r.deployment_id, sizeof(res->deployment_id));
    enum tm_code rc = pgx_quote_qualified(c, r.table, r.q, sizeof(r.q), err);
    if (rc != TM_OK)
        return rc;
    rc = engine_lock(c, r.table, o->lock_wait_ms, err);
    if (rc != TM_OK)
        return rc;
    rc = run_locked(&r, err);
    struct tm_err uerr;
    tm_err_clear(&uerr);
    if (engine_unlock(c, r.table, &uerr) != TM_OK && rc == TM_OK) {
        /* The connection broke after the work committed: the lock died with
         * it; report nothing more. */
    }
    return rc;
}

/* ---- tags ---------------------------------------------------------------- */

static enum tm_code newest_row_tag(struct pgx_conn *c, const char *q, bool *any, char **tag,
                                   struct tm_err *err)
{
    char sql[600];
    PGresult *res = NULL;
    snprintf(sql, sizeof(sql),
             "SELECT tag FROM %s ORDER BY dateexecuted DESC, orderexecuted DESC LIMIT 1", q);
    *any = false;
    *tag = NULL;
    enum tm_code rc = pgx_exec_params(c, sql, 0, NULL, &res, err);
    if (rc != TM_OK)
        return rc;
    if (PQntuples(res) > 0) {
        *any = true;
        if (!PQgetisnull(res, 0, 0) && *PQgetvalue(res, 0, 0) &&
            !(*tag = strdup(PQgetvalue(res, 0, 0))))
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    PQclear(res);
    return rc;
}

static enum tm_code set_newest_tag(struct pgx_conn *c, const char *q, const char *tag,
                                   struct tm_err *err)
{
    char sql[900];
    const char *params[1] = {tag};
    snprintf(sql, sizeof(sql),
             "UPDATE %s SET TAG = $1 WHERE ctid = (SELECT ctid FROM %s ORDER BY dateexecuted "
             "DESC, orderexecuted DESC LIMIT 1)",
             q, q);
    return pgx_exec_params(c, sql, 1, params, NULL, err);
}

/* True when table is a Flyway history (it has installed_rank). */
static enum tm_code flyway_table(struct pgx_conn *c, const char *table, bool *fw,
                                 struct tm_err *err)
{
    char schema[128], base[128];
    *fw = false;
    enum tm_code rc = pgx_split_qualified(table, schema, sizeof(schema), base, sizeof(base), err);
    if (rc != TM_OK)
        return rc;
    const char *params[2] = {schema, base};
    char *v = NULL;
    rc = pgx_query_value(c,
                         "SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND "
                         "table_name = $2 AND column_name = 'installed_rank'",
                         2, params, &v, err);
    *fw = rc == TM_OK && v != NULL;
    free(v);
    return rc;
}

/* The history table: q its quoted name, *exists, *fw a Flyway one. */
static enum tm_code find_history(struct pgx_conn *c, const char *table, char *q, size_t qsize,
                                 bool *exists, bool *fw, struct tm_err *err)
{
    enum tm_code rc = pgx_quote_qualified(c, table, q, qsize, err);
    if (rc == TM_OK)
        rc = engine_table_exists(c, q, exists, err);
    if (rc == TM_OK && *exists)
        rc = flyway_table(c, table, fw, err);
    return rc;
}

/* Flyway: every version is a tag, so the prestart tag is the newest
 * successfully applied version ("" when none). */
static enum tm_code flyway_prestart(struct pgx_conn *c, const char *q, char **tag_out,
                                    struct tm_err *err)
{
    char sql[600];
    char *v = NULL;
    snprintf(sql, sizeof(sql),
             "SELECT version FROM %s WHERE success AND version IS NOT NULL ORDER BY "
             "installed_rank DESC LIMIT 1",
             q);
    enum tm_code rc = pgx_query_value(c, sql, 0, NULL, &v, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "stamp prestart tag");
    *tag_out = v ? v : strdup("");
    if (!*tag_out)
        return tm_err_set(err, TM_E_NOMEM, "stamp prestart tag: out of memory");
    return TM_OK;
}

enum tm_code engine_stamp_prestart_tag(struct pgx_conn *c, const char *table,
                                       const char *proposed, char **tag_out,
                                       struct tm_err *err)
{
    char q[300];
    bool exists = false, any = false;
    char *tag = NULL;
    *tag_out = NULL;
    table = default_table(table, false);
    bool fw = false;
    enum tm_code rc = find_history(c, table, q, sizeof(q), &exists, &fw, err);
    if (rc == TM_OK && fw)
        return flyway_prestart(c, q, tag_out, err);
    if (rc == TM_OK && exists)
        rc = newest_row_tag(c, q, &any, &tag, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "stamp prestart tag");
    if (!any) {
        free(tag);
        *tag_out = strdup("");
    } else if (tag) {
        *tag_out = tag;
    } else {
        if (!proposed || !*proposed)
            return tm_err_set(err, TM_E_INVAL, "stamp prestart tag: empty proposed tag");
        rc = set_newest_tag(c, q, proposed, err);
        if (rc != TM_OK)
            return tm_err_prefix(err, "stamp prestart tag");
        *tag_out = strdup(proposed);
    }
    if (!*tag_out)
        return tm_err_set(err, TM_E_NOMEM, "stamp prestart tag: out of memory");
    return TM_OK;
}

enum tm_code engine_tag(struct pgx_conn *c, const char *table, const char *tag,
                        struct tm_err *err)
{
    char q[300];
    bool exists = false, any = false;
    char *old = NULL;
    table = default_table(table, false);
    if (!tag || !*tag)
        return tm_err_set(err, TM_E_INVAL, "tag: empty tag");
    bool fw = false;
    enum tm_code rc = find_history(c, table, q, sizeof(q), &exists, &fw, err);
    if (rc == TM_OK && fw)
        return tm_err_set(err, TM_E_INVAL,
                          "tag: %s is a Flyway history: every version is a tag already", table);
    if (rc == TM_OK && exists)
        rc = newest_row_tag(c, q, &any, &old, err);
    free(old);
    if (rc != TM_OK)
        return tm_err_prefix(err, "tag");
    if (!any)
        return tm_err_set(err, TM_E_NOTFOUND, "tag: the history %s is empty: nothing to tag",
                          table);
    rc = set_newest_tag(c, q, tag, err);
    return rc == TM_OK ? TM_OK : tm_err_prefix(err, "tag");
}
