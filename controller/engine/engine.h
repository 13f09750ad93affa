/* engine: plan and apply a changelog to one PostgreSQL database.
 *
 * Layers, bottom up (each usable alone):
 *   pgx_     a thin libpq wrapper: connect (URL or discrete params), run SQL,
 *            map failures to struct tm_err with sqlstate and a retry class.
 *   engine_history_*  the Liquibase-compatible history table
 *            (`databasechangelog`, exactly Liquibase 4.x's columns) or
 *            Flyway's `flyway_schema_history`, read into memory.
 *   plan_    the planner: pure, no I/O.  Changelog + history + target in,
 *            ordered steps out (apply forward, or roll back newest first).
 *   select_  which changesets a run's Liquibase contexts and label filter
 *            select (select.h; the planner and status use it).
 *   lint_    the policy linter: pure.  A small SQL lexer (comments, string
 *            literals, quoted identifiers and dollar-quoted bodies are skipped)
 *            flags destructive statements in the SQL a plan would run.
 *   engine_  status (history vs changelog: applied tag, pending, drift) and
 *            the applier: one session-level advisory lock per history table,
 *            one transaction per changeset holding its SQL and its history row.
 *
 * Design choices (why):
 *  - The history row is written in the same transaction as the changeset's
 *    SQL, so both commit or neither (Liquibase commits the DDL before the
 *    row: liquibase#7442).  runInTransaction:false changesets cannot have that
 *    guarantee: each statement commits alone, then the row is written; a crash
 *    in between leaves the statement applied and no row, and the next run
 *    re-runs it, so such changesets must be idempotent (CREATE INDEX
 *    CONCURRENTLY IF NOT EXISTS).
 *  - Mutual exclusion is a PostgreSQL advisory lock held by the session, not
 *    a lock row: a crashed applier's lock dies with its connection
 *    (liquibase#1311).  A live Liquibase lock row (databasechangeloglock with
 *    locked = true) is respected: we refuse to run; we never take that row.
 *  - The planner and linter are pure so the reconcilers' decide step and the
 *    unit tests can call them without a database.
 *
 * Threads: nothing here is shared; one struct pgx_conn is used by one thread
 * at a time.  Ownership follows STYLE.md: _new/_free, _init/_release; every
 * char * in a result struct is owned by that struct.
 *
 * Not here: parsing changelogs (changelog/), reading Secrets or CRs
 * (reconcilers/), emitting Events (the caller's progress callback does). */
#ifndef TM_ENGINE_ENGINE_H
#define TM_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "changelog/chlog.h"
#include "common/err.h"

/* The LIQUIBASE column value we write (VARCHAR(20)): honest about who wrote
 * the row; Liquibase only displays this column. */
#define ENGINE_LIQUIBASE_VERSION "tidemark-" TM_VERSION
#define ENGINE_DEFAULT_TABLE "public.databasechangelog"
#define ENGINE_DEFAULT_FLYWAY_TABLE "public.flyway_schema_history"

/* ===================================================================== */
/* pgx: connections                                                       */
/* ===================================================================== */

/* How to connect.  Either url (a postgres:// URL or a key=value conninfo,
 * passed to libpq as "dbname" with expand_dbname) or the discrete fields;
 * discrete fields that are set override what the URL says.  All borrowed. */
struct pgx_params {
    const char *url;
    const char *host;
    const char *port;
    const char *dbname;
    const char *user;
    const char *password;
    const char *sslmode;      /* disable|require|verify-ca|verify-full; NULL = libpq default */
    const char *sslrootcert;
    int connect_timeout_s;    /* 0 = 10 s */
    int statement_timeout_ms; /* 0 = server default; applied with SET */
    int lock_timeout_ms;      /* PostgreSQL lock_timeout for our statements; 0 = default */
    const char *application_name; /* NULL = "tidemark" */
};

struct pgx_conn; /* opaque: a PGconn plus its settings */

/* Connects.  Returns the connection, or NULL with err set:
 *   server unreachable / shutting down  -> TM_E_DB, TRANSIENT, sqlstate 08xxx
 *   bad password / no such role (28P01/28000) -> TM_E_AUTH, TERMINAL
 *   database missing (3D000)            -> TM_E_DB, TERMINAL
 * The message never contains the password or the conninfo. */
struct pgx_conn *pgx_conn_new(const struct pgx_params *p, struct tm_err *err);

/* Closes and frees.  NULL ok. */
void pgx_conn_free(struct pgx_conn *c);

/* The libpq connection (borrowed; for tests and special queries). */
struct pg_conn *pgx_conn_pg(struct pgx_conn *c);

/* Runs one or more SQL commands with PQexec and discards any rows.
 * Errors are mapped as in pgx_conn_new plus: 55P03 lock_not_available ->
 * TM_E_LOCKED WAITING; 40001/40P01 -> TRANSIENT; 57014 cancelled ->
 * TM_E_TIMEOUT TRANSIENT; connection lost -> TRANSIENT; else TERMINAL. */
enum tm_code pgx_exec(struct pgx_conn *c, const char *sql, struct tm_err *err) TM_MUST_CHECK;

/* Runs a one-row-one-column query (PQexecParams, nparams text params) and
 * returns the value in *out (malloc'd; NULL for SQL NULL or no row). */
enum tm_code pgx_query_value(struct pgx_conn *c, const char *sql, int nparams,
                             const char *const *params, char **out,
                             struct tm_err *err) TM_MUST_CHECK;

/* Quotes "schema.table" (or "table" = public.table) part by part with
 * PQescapeIdentifier into out (size n): "\"public\".\"databasechangelog\"".
 * TM_E_INVAL for an empty part or more than one dot. */
enum tm_code pgx_quote_qualified(struct pgx_conn *c, const char *name, char *out, size_t n,
                                 struct tm_err *err) TM_MUST_CHECK;

/* ===================================================================== */
/* history                                                                */
/* ===================================================================== */

enum engine_exectype {
    ENGINE_EXEC_EXECUTED = 0,
    ENGINE_EXEC_MARK_RAN,
    ENGINE_EXEC_RERAN,
    ENGINE_EXEC_FAILED,  /* Flyway success = false */
    ENGINE_EXEC_OTHER,   /* SKIPPED etc. written by other tools */
};

/* One history row.  For Flyway: id = version (or description for a
 * repeatable), author = "", filename = script, md5sum = checksum as
 * decimal text, orderexecuted = installed_rank. */
struct engine_row {
    char *id;
    char *author;
    char *filename;
    char *dateexecuted;   /* as the server prints it */
    long orderexecuted;
    enum engine_exectype exectype;
    char *md5sum;         /* NULL when stored NULL */
    char *description;
    char *comments;
    char *tag;            /* NULL when none */
    char *liquibase;
    char *contexts;
    char *labels;
    char *deployment_id;
};

/* The history, rows sorted by orderexecuted ascending. */
struct engine_history {
    struct engine_row *rows;
    size_t nrows;
    bool exists;          /* the table exists */
    bool flyway;          /* read from a flyway_schema_history table */
};

void engine_history_init(struct engine_history *h);
void engine_history_release(struct engine_history *h);

/* Appends a row (copies every string; NULLs allowed).  For tests and
 * readers.  TM_E_NOMEM on failure (h unchanged). */
enum tm_code engine_history_add(struct engine_history *h, const struct engine_row *r) TM_MUST_CHECK;

/* Reads the history table `table` ("schema.table"; NULL = the default for
 * flyway or not).  A missing table is not an error: exists = false, no rows. */
enum tm_code engine_history_read(struct pgx_conn *c, const char *table, bool flyway,
                                 struct engine_history *out, struct tm_err *err) TM_MUST_CHECK;

#define ENGINE_FINGERPRINT_MAX 512

/* Reads the history's fingerprint into out (size n, >= ENGINE_FINGERPRINT_MAX):
 * "rows=N order=MAX(orderexecuted) date=MAX(dateexecuted) sum=S lock=L",
 * where S sums a hash of each row's id, author, filename, checksum, exectype
 * and tag (an edited checksum changes it with no new row) and L is the
 * Liquibase lock row (<table>lock: id:locked:lockedby:lockgranted; "-" when
 * there is no lock table).  Flyway: "flyway rows=N order=MAX(installed_rank)
 * date=MAX(installed_on) sum=S lock=-", so a stored fingerprint says which
 * table it was read from.  One
 * query (two when a Liquibase lock table exists); "absent" for a missing
 * history table.  Equal fingerprints mean no row was added, removed or
 * re-stamped and the lock did not move; cheaper than engine_history_read
 * (aggregates only, nothing transferred per row). */
enum tm_code engine_history_fingerprint(struct pgx_conn *c, const char *table, bool flyway,
                                        char *out, size_t n, struct tm_err *err) TM_MUST_CHECK;

/* Creates the history table if missing, idempotently and safely when two
 * appliers race (CREATE TABLE IF NOT EXISTS under a transaction-level
 * advisory lock), with exactly Liquibase's (or Flyway's) columns. */
enum tm_code engine_history_ensure(struct pgx_conn *c, const char *table, bool flyway,
                                   struct tm_err *err) TM_MUST_CHECK;

/* Index in h of the row recording cs (id + author + filename; Flyway:
 * filename = script, the newest such row), or -1. */
long engine_history_find(const struct engine_history *h, const struct chlog_changeset *cs);

/* "filename::id::author", the changeset's name in every message. */
void engine_changeset_name(const struct chlog_changeset *cs, char *out, size_t n);

/* ===================================================================== */
/* status                                                                 */
/* ===================================================================== */

enum engine_drift_reason {
    ENGINE_DRIFT_CHECKSUM_MISMATCH = 0, /* stored md5sum differs, not runOnChange, not a validCheckSum */
    ENGINE_DRIFT_UNKNOWN_CHANGESET,     /* a row with no changeset in the changelog */
};

struct engine_drift {
    enum engine_drift_reason reason;
    char *id;
    char *author;
    char *filename;
    char *stored;    /* stored checksum (mismatch) */
    char *expected;  /* changelog checksum (mismatch) */
};

struct engine_status {
    char *applied_tag;      /* NULL: no tag applied */
    size_t applied;         /* changesets of the changelog recorded in history */
    size_t *pending;        /* indexes into chlog->sets, changelog order */
    size_t npending;
    struct engine_drift *drift;
    size_t ndrift;
    size_t nrows;           /* history rows */
    char *last_applied;     /* "filename::id::author" of the newest row, NULL if none */
    bool history_exists;
};

void engine_status_init(struct engine_status *s);
void engine_status_release(struct engine_status *s);

/* Pure: compares history with the changelog.  applied_tag: the tag of the
 * newest row carrying one in its TAG column, else the tag of the newest
 * applied changeset that carries a tag in the changelog.  A stored NULL
 * md5sum is not drift (Liquibase fills it in).  context: the run's Liquibase
 * contexts ("a, b"; NULL = none given), restricting pending as
 * engine/select.h decides (an unparseable expression fails with TM_E_INVAL). */
enum tm_code engine_status_compute(const struct chlog *cl, const struct engine_history *h,
                                   const char *context, struct engine_status *out,
                                   struct tm_err *err) TM_MUST_CHECK;

/* Reads the history and computes the status. */
enum tm_code engine_status_read(struct pgx_conn *c, const struct chlog *cl, const char *table,
                                const char *context, struct engine_status *out,
                                struct tm_err *err) TM_MUST_CHECK;

/* The same with the run's label filter too (Liquibase --label-filter):
 * contexts = label_filter = NULL is engine_status_compute(..., NULL, ...). */
enum tm_code engine_status_compute_filtered(const struct chlog *cl,
                                            const struct engine_history *h,
                                            const char *context, const char *label_filter,
                                            struct engine_status *out,
                                            struct tm_err *err) TM_MUST_CHECK;
enum tm_code engine_status_read_filtered(struct pgx_conn *c, const struct chlog *cl,
                                         const char *table, const char *context,
                                         const char *label_filter, struct engine_status *out,
                                         struct tm_err *err) TM_MUST_CHECK;

/* ===================================================================== */
/* planner (pure)                                                         */
/* ===================================================================== */

enum plan_action {
    PLAN_APPLY = 0,   /* run the changeset, insert EXECUTED */
    PLAN_RERUN,       /* runAlways / runOnChange with a new checksum: run, row -> RERAN */
    PLAN_ROLLBACK,    /* run its rollback SQL, delete its row */
};

struct plan_step {
    enum plan_action action;
    long set;                  /* index in chlog->sets */
    long row;                  /* index in history->rows (RERUN, ROLLBACK), else -1 */
    const char *rollback_sql;  /* ROLLBACK: borrowed from the changeset ("" = nothing to
                                * run); NULL for a changeset of only tagDatabase.  MARK_RAN
                                * rows are rolled back like any other (as Liquibase does, and
                                * as Harness's "mark failed changeset ran" relies on) */
};

struct plan {
    struct plan_step *steps;
    size_t nsteps;
    bool rollback;             /* steps go backwards */
    char *target_tag;          /* the tag reached when all steps run; NULL = latest / count */
    size_t nskipped_context;   /* pending changesets left out by the context or label
                                * filter */
};

struct plan_opts {
    const char *tag;        /* NULL = latest; "" = the empty database (roll back everything) */
    long count;             /* >= 0: roll back this many rows (tag ignored); -1 = none */
    const char *context;    /* the run's Liquibase contexts ("a, b"); NULL = none given */
    bool allow_drift;       /* else drift fails the plan with TM_E_DRIFT */
    /* Appended: the run's Liquibase label filter expression; NULL = none. */
    const char *label_filter;
};

void plan_init(struct plan *p);
void plan_release(struct plan *p);

/* Plans the way from history to the target.
 * Direction: when the target tag is recorded in history (TAG column) or its
 * tagged changeset is applied, every row after it is rolled back, newest
 * first by ORDEREXECUTED (Liquibase rollback-to-tag: after the oldest row
 * carrying the tag).  Otherwise pending changesets up to and including the
 * tagged one are applied in changelog order.  runAlways changesets are
 * re-run every time; runOnChange ones when their checksum changed.
 * Contexts and labels (engine/select.h) select which changesets are applied
 * and which rows are rolled back, as Liquibase's update and rollback filter
 * them: an unselected row stays, and --count counts selected rows only.
 * Fails, with nothing planned:
 *   TM_E_NOTFOUND  unknown tag (message lists the known tags);
 *   TM_E_POLICY    a rollback step has no rollback SQL ("changeset X has no rollback"),
 *                  or a row to roll back has no changeset in the changelog;
 *   TM_E_DRIFT     drift and !allow_drift (message names the first drift);
 *   TM_E_INVAL     a context or label expression Liquibase cannot parse either
 *                  (message: file:line and the changeset). */
enum tm_code plan_build(const struct chlog *cl, const struct engine_history *h,
                        const struct plan_opts *o, struct plan *out,
                        struct tm_err *err) TM_MUST_CHECK;

/* plan_build with defaults: no context, drift not allowed. */
enum tm_code plan_to_tag(const struct chlog *cl, const struct engine_history *h,
                         const char *tag, long count, struct plan *out,
                         struct tm_err *err) TM_MUST_CHECK;


/* ===================================================================== */
/* lint (pure)                                                            */
/* ===================================================================== */

enum lint_policy { LINT_ALLOW = 0, LINT_WARN, LINT_DENY };

enum lint_kind {
    LINT_DROP_TABLE = 0,
    LINT_DROP_COLUMN,
    LINT_DROP_SCHEMA,
    LINT_DROP_DATABASE,
    LINT_TRUNCATE,
    LINT_ALTER_COLUMN_TYPE,
    LINT_DELETE_WITHOUT_WHERE,
    LINT_UPDATE_WITHOUT_WHERE,
    LINT_DROP_CONSTRAINT,   /* not data loss: always a warning, never denied */
    LINT_NO_ROLLBACK,       /* requireRollback and no rollback SQL */
};

/* "DROP TABLE", "DELETE without WHERE", ... */
const char *lint_kind_name(enum lint_kind k);

/* One flagged statement found in a SQL text; line is 1-based within it. */
struct lint_hit {
    enum lint_kind kind;
    int line;
};

/* Lexes sql and appends a hit per destructive statement to *hits (realloc'd;
 * caller frees), *n updated. */
enum tm_code lint_sql(const char *sql, struct lint_hit **hits, size_t *n,
                      struct tm_err *err) TM_MUST_CHECK;

struct lint_finding {
    enum lint_kind kind;
    bool denied;            /* counts against the policy */
    char *changeset;        /* "filename::id::author" */
    char *file;             /* filename, or the sqlFile path */
    int line;               /* best known line in file (0 unknown) */
};

struct lint_report {
    struct lint_finding *items;
    size_t n;
    size_t ndenied;
};

struct lint_opts {
    enum lint_policy destructive; /* Allow: nothing reported; Warn: reported; Deny: denied */
    bool require_rollback;
};

void lint_report_init(struct lint_report *r);
void lint_report_release(struct lint_report *r);

/* Appends findings for one changeset's forward SQL (its rollback SQL is not
 * linted: undoing a CREATE TABLE is a DROP TABLE by nature). */
enum tm_code lint_changeset(const struct chlog_changeset *cs, const struct lint_opts *o,
                            struct lint_report *r, struct tm_err *err) TM_MUST_CHECK;

/* Lints every APPLY/RERUN step of a plan.  Returns TM_E_POLICY (TERMINAL,
 * message names the first denied finding) when r->ndenied > 0. */
enum tm_code lint_plan(const struct chlog *cl, const struct plan *p, const struct lint_opts *o,
                       struct lint_report *r, struct tm_err *err) TM_MUST_CHECK;

/* ===================================================================== */
/* applier                                                                */
/* ===================================================================== */

enum engine_strategy {
    ENGINE_STRATEGY_ROLLBACK = 0, /* failed changeset's transaction rolls back; run stops */
    ENGINE_STRATEGY_MARK_NEXT_RUN,/* Harness "mark failed changeset ran": as Rollback, then
                                   * the changeset is recorded MARK_RAN, so a later rollback
                                   * includes it (its rollback SQL must cope with a change
                                   * that never applied: IF EXISTS) and the next run
                                   * continues past it */
    ENGINE_STRATEGY_FAIL,         /* stop, record nothing, TERMINAL whatever the error */
};

enum engine_outcome {
    ENGINE_OUT_EXECUTED = 0,
    ENGINE_OUT_RERAN,
    ENGINE_OUT_MARK_RAN,       /* precondition onFail MARK_RAN */
    ENGINE_OUT_SKIPPED,        /* precondition onFail CONTINUE: not run, not recorded
                                * (onFail WARN runs the changeset anyway) */
    ENGINE_OUT_ROLLED_BACK,
    ENGINE_OUT_FAILED,
    ENGINE_OUT_MARKED_NEXT_RUN,/* failed, recorded MARK_RAN (strategy MarkNextRun) */
};

const char *engine_outcome_name(enum engine_outcome o);

struct engine_step_result {
    enum engine_outcome outcome;
    char *changeset;       /* "filename::id::author" */
    long duration_ms;
};

struct engine_result {
    size_t applied;        /* EXECUTED + RERAN */
    size_t rolled_back;
    size_t marked_ran;
    size_t skipped;
    char *last_applied;    /* changeset name of the last applied step, NULL if none */
    char *applied_tag;     /* after the run (as engine_status), NULL if none */
    struct engine_step_result *steps;
    size_t nsteps;
    struct lint_report lint;
    char deployment_id[11];
    /* Appended: precondition warnings (onFail/onError WARN: "changeset X:
     * precondition failed (onFail WARN), ran anyway: <why>"), in order. */
    char **warnings;
    size_t nwarnings;
};

void engine_result_init(struct engine_result *r);
void engine_result_release(struct engine_result *r);

struct engine_opts {
    const char *table;            /* history table; NULL = default for the changelog's format */
    const char *tag;              /* plan_opts.tag */
    long count;                   /* plan_opts.count (-1 none) */
    const char *context;
    enum engine_strategy strategy;
    bool allow_drift;
    struct lint_opts lint;
    int lock_wait_ms;             /* wait this long for the advisory lock; 0 = try once */
    bool dry_run;                 /* plan and lint only */
    /* Called after each step (and nothing else); may be NULL. */
    void (*progress)(void *ctx, const struct chlog_changeset *cs,
                     const struct engine_step_result *step);
    void *progress_ctx;
    /* Refuse a plan that would apply changesets (Liquibase `rollback` to a
     * tag that is not applied): TM_E_NOTFOUND, nothing runs. */
    bool rollback_only;
    /* Appended: plan_opts.label_filter (Liquibase --label-filter; NULL none). */
    const char *label_filter;
};

/* Defaults: table NULL, tag NULL, count -1, strategy Rollback, Allow, 0 wait. */
void engine_opts_init(struct engine_opts *o);

/* Locks, creates the history table if missing, reads history, plans, lints,
 * applies, unlocks.  Forward or backward as plan_build decides.
 * On failure the result holds what ran before it.  Errors:
 *   TM_E_LOCKED (WAITING)   the advisory lock is held (message: by whom) or a
 *                           Liquibase lock row is set (lockedby, lockgranted);
 *   TM_E_DRIFT, TM_E_NOTFOUND, TM_E_POLICY  from plan/lint, nothing ran;
 *   TM_E_DB                 a changeset failed (message names it, sqlstate set). */
enum tm_code engine_run(struct pgx_conn *c, const struct chlog *cl, const struct engine_opts *o,
                        struct engine_result *res, struct tm_err *err) TM_MUST_CHECK;

/* Takes the advisory lock of table, waiting up to wait_ms (polling).
 * TM_E_LOCKED WAITING with the holder's application_name/pid when busy. */
enum tm_code engine_lock(struct pgx_conn *c, const char *table, int wait_ms,
                         struct tm_err *err) TM_MUST_CHECK;
enum tm_code engine_unlock(struct pgx_conn *c, const char *table, struct tm_err *err) TM_MUST_CHECK;

/* preStartTag: if the newest row has a tag, *tag_out = it; else the newest
 * row's TAG is set to proposed and *tag_out = proposed; empty history ->
 * *tag_out = "" (the empty database: plan_build tag "" rolls back all).
 * *tag_out is malloc'd. */
enum tm_code engine_stamp_prestart_tag(struct pgx_conn *c, const char *table,
                                       const char *proposed, char **tag_out,
                                       struct tm_err *err) TM_MUST_CHECK;

/* Liquibase `tag`: sets TAG on the newest row.  TM_E_NOTFOUND on an empty history. */
enum tm_code engine_tag(struct pgx_conn *c, const char *table, const char *tag,
                        struct tm_err *err) TM_MUST_CHECK;

#endif
