/* pgx_int: what the engine's own files share about libpq (not for other
 * modules: include engine/engine.h).  Every function follows engine.h's
 * error contract: tm_err with sqlstate and retry class. */
#ifndef TM_ENGINE_PGX_INT_H
#define TM_ENGINE_PGX_INT_H

#include <libpq-fe.h>

#include "engine/engine.h"

/* Fills err from a failed result (NULL res = read PQerrorMessage); returns the code. */
enum tm_code pgx_err_from_result(PGconn *pg, const PGresult *res, struct tm_err *err,
                                 const char *what);

/* Copies a SQLSTATE into err->sqlstate ("" for NULL). */
void pgx_err_set_sqlstate(struct tm_err *err, const char *state);

/* PQexecParams with text params; *out (NULL ok: discarded) gets a
 * COMMAND_OK/TUPLES_OK result the caller PQclear()s. */
enum tm_code pgx_exec_params(struct pgx_conn *c, const char *sql, int nparams,
                             const char *const *params, PGresult **out,
                             struct tm_err *err) TM_MUST_CHECK;

/* Runs one parameterised statement and COMMIT in one round trip (libpq
 * pipeline mode): for the history row that closes a changeset's transaction.
 * On failure the transaction is left open and aborted: the caller rolls back. */
enum tm_code pgx_exec_params_commit(struct pgx_conn *c, const char *sql, int nparams,
                                    const char *const *params,
                                    struct tm_err *err) TM_MUST_CHECK;

struct tm_buf;

/* Appends s as a SQL literal (PQescapeLiteral: right for the connection's
 * encoding, E'' when s holds a backslash, so standard_conforming_strings
 * cannot change its meaning), or NULL for a NULL s.  On failure b may hold
 * part of the literal: the caller drops the statement. */
enum tm_code pgx_buf_add_literal(struct pgx_conn *c, struct tm_buf *b, const char *s,
                                 struct tm_err *err) TM_MUST_CHECK;

/* Runs sql (one or more statements) as one simple query: one round trip.
 * *nok = how many statements completed before the one that failed (all of
 * them on success), so a caller that built sql knows which part failed.
 * PostgreSQL stops at the first failure; an open transaction is then aborted. */
enum tm_code pgx_exec_script(struct pgx_conn *c, const char *sql, int *nok,
                             struct tm_err *err) TM_MUST_CHECK;

/* Splits "schema.table" ("table" = public.table) without quoting. */
enum tm_code pgx_split_qualified(const char *name, char *schema, size_t ns, char *table,
                                 size_t nt, struct tm_err *err) TM_MUST_CHECK;

/* PQescapeIdentifier into out. */
enum tm_code pgx_quote_ident(struct pgx_conn *c, const char *ident, char *out, size_t n,
                             struct tm_err *err) TM_MUST_CHECK;

/* *exists = to_regclass(quoted) is not NULL. */
enum tm_code engine_table_exists(struct pgx_conn *c, const char *quoted, bool *exists,
                                 struct tm_err *err) TM_MUST_CHECK;

/* ---- Flyway (flyway_db.c) ------------------------------------------------- */

/* The history table for cl: table when given, else Flyway's
 * <defaultSchema>.<table> from cl's settings (written into buf), else
 * ENGINE_DEFAULT_FLYWAY_TABLE.  Only for Flyway changelogs. */
const char *engine_flyway_table(const struct chlog *cl, const char *table, char *buf, size_t n);

/* When the history table is missing: creates the missing schemas of cl, the
 * table, and Flyway's schema-creation marker row when a schema was created. */
enum tm_code engine_flyway_prepare(struct pgx_conn *c, const struct chlog *cl, const char *table,
                                   struct tm_err *err) TM_MUST_CHECK;

/* Puts cl's default schema first on search_path; *saved (malloc'd, NULL when
 * nothing changed) is what _restore puts back. */
enum tm_code engine_flyway_search_path(struct pgx_conn *c, const struct chlog *cl, char **saved,
                                       struct tm_err *err) TM_MUST_CHECK;
enum tm_code engine_flyway_search_path_restore(struct pgx_conn *c, const char *saved,
                                               struct tm_err *err) TM_MUST_CHECK;

/* server_version_num (e.g. 160004). */
enum tm_code engine_server_version_num(struct pgx_conn *c, long *out,
                                       struct tm_err *err) TM_MUST_CHECK;

#endif
