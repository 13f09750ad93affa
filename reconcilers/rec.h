/* rec: I/O helpers shared by the three reconcilers (prefix rec_): reading
 * objects (from the manager's cache, or live when there is no manager, as in
 * integration tests), JSON field access, condition and time (de)serialisation,
 * status patches, Events, loading a DBSchema's changelog and connecting to a
 * DBInstance's database.
 *
 * Why here and not in each reconciler: the DBRollout and DBInstance
 * reconcilers both need "the changelog of this schema" and "a connection to
 * this instance"; one implementation keeps Secret handling in one place.
 *
 * Secrets: rec_connect() reads the Secret live (never cached: the controller
 * does not watch Secrets, so it holds none in memory beyond one connect),
 * decodes the values into memory it wipes after connecting, and puts only
 * Secret and key NAMES in messages.
 *
 * Threads: every function uses only the proc passed in (its kube client is
 * this worker's own). */
#ifndef TM_RECONCILERS_REC_H
#define TM_RECONCILERS_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "changelog/chlog.h"
#include "common/err.h"
#include "engine/applim.h"
#include "engine/pgpool.h"
#include "reconcilers/conditions.h"
#include "reconcilers/plan_event.h"
#include "reconcilers/rec_time.h"
#include "runtime/proc.h"

#define REC_GROUP "tidemark.dev"
#define REC_VERSION "v1alpha1"
#define REC_API_VERSION "tidemark.dev/v1alpha1"
#define REC_REVISION_MAX 72

struct pgx_conn;

/* ---- JSON ---- */

/* The value at a dotted path ("spec.instanceRef.name"), or NULL. Borrowed. */
const cJSON *rec_at(const cJSON *obj, const char *path);
/* String at path, or NULL (not a string / absent).  Borrowed. */
const char *rec_str(const cJSON *obj, const char *path);
/* Number at path as int64, or def.  Strings of digits are accepted too
 * (annotations such as deployment.kubernetes.io/revision). */
int64_t rec_int(const cJSON *obj, const char *path, int64_t def);
/* metadata.annotations[key] (keys contain dots, so no dotted path). */
const char *rec_annotation(const cJSON *obj, const char *key);

/* ---- time (wall clock, ms since the epoch): rec_time.h ---- */

/* ---- conditions ---- */

/* Parses status.conditions (array, NULL ok) into l (unknown statuses read
 * Unknown; at most COND_MAX kept). */
void rec_conds_from_json(const cJSON *arr, struct cond_list *l);
/* A new JSON array of l; NULL on allocation failure. */
cJSON *rec_conds_to_json(const struct cond_list *l);
/* A new status object (caller cJSON_Deletes it) holding "conditions" from
 * l, the field every kind's status starts with; NULL on allocation failure. */
cJSON *rec_status_new(const struct cond_list *l);
/* A new empty object appended to arr (arr owns it); NULL on allocation
 * failure, arr unchanged. */
cJSON *rec_array_add_object(cJSON *arr);

/* ---- objects ---- */

/* A copy of one object (caller cJSON_Deletes it): from proc->mgr's cache
 * when the manager runs, else a live GET through proc->kube.  group ""
 * = core.  TM_E_NOTFOUND when absent. */
enum tm_code rec_get(struct tm_proc *proc, const char *group, const char *version,
                     const char *resource, const char *ns, const char *name, cJSON **out,
                     struct tm_err *err) TM_MUST_CHECK;

/* The tidemark.dev object a reconcile is about, as rec_get; TM_OK with *out
 * NULL when it is gone (deleted: nothing to do, by design). */
enum tm_code rec_get_subject(struct tm_proc *proc, const char *resource, const char *ns,
                             const char *name, cJSON **out, struct tm_err *err) TM_MUST_CHECK;

/* The same as rec_get, always live (fresh resourceVersion). */
enum tm_code rec_get_live(struct tm_proc *proc, const char *group, const char *version,
                          const char *resource, const char *ns, const char *name, cJSON **out,
                          struct tm_err *err) TM_MUST_CHECK;

/* Calls fn for every object of the resource in ns (cache, else a live list). */
enum tm_code rec_foreach(struct tm_proc *proc, const char *group, const char *version,
                         const char *resource, const char *ns,
                         void (*fn)(void *ctx, const cJSON *obj), void *ctx,
                         struct tm_err *err) TM_MUST_CHECK;

/* Calls fn for the objects of the resource in ns whose string at path
 * equals value, through the cache's index on path when there is one (no
 * other object is parsed), else for every object (cache or live list): fn
 * must check the value itself. */
enum tm_code rec_foreach_indexed(struct tm_proc *proc, const char *group, const char *version,
                                 const char *resource, const char *ns, const char *path,
                                 const char *value, void (*fn)(void *ctx, const cJSON *obj),
                                 void *ctx, struct tm_err *err) TM_MUST_CHECK;

/* The same, always a live list (when the cache may lag behind a write). */
enum tm_code rec_foreach_live(struct tm_proc *proc, const char *group, const char *version,
                              const char *resource, const char *ns,
                              void (*fn)(void *ctx, const cJSON *obj), void *ctx,
                              struct tm_err *err) TM_MUST_CHECK;

/* Merge-patches the object's /status with {"metadata":{"resourceVersion":rv},
 * "status": status} (rv NULL: unconditional).  status is borrowed.  *out
 * (NULL ok) = the object as stored.  409 -> TM_E_CONFLICT TRANSIENT. */
enum tm_code rec_patch_status(struct tm_proc *proc, const char *resource, const char *ns,
                              const char *name, const char *rv, const cJSON *status,
                              cJSON **out, struct tm_err *err) TM_MUST_CHECK;

/* Emits an Event about obj (a tidemark object or any object with
 * apiVersion/kind/metadata) through proc->events (none when it is NULL).
 * Failures are logged, never returned: an Event is never worth failing a
 * reconcile for. */
void rec_event(struct tm_proc *proc, const cJSON *obj, const char *reason, bool warning,
               const char *action, const char *note);

/* rec_event for each Event a decide function asked for, in order; action
 * NULL: each Event's reason. */
void rec_post_events(struct tm_proc *proc, const cJSON *obj, const struct rec_plan_event *events,
                     size_t nevents, const char *action);

/* ---- changelog and database ---- */

/* Where rec_load_changelog stopped. */
enum rec_load_stage {
    REC_LOAD_SPEC = 0, /* the spec was refused (TERMINAL) */
    REC_LOAD_FETCH,    /* fetching the files failed (retry class of the source) */
    REC_LOAD_PARSE,    /* the files did not parse (TERMINAL; file:line in err) */
    REC_LOAD_OK,
};

/* Fetches and parses the changelog of a DBSchema object.  With pin set
 * (NULL ok), a Git source is fetched at that commit instead of its branch or
 * tag: DBRollouts and DBInstances pass the DBSchema's status.revision so they
 * work on exactly the revision the DBSchema reported Ready.  *revision gets
 * the fetched revision even when parsing fails (then *out is NULL).  *stage
 * (NULL ok) says where it stopped.  *git_interval_ms (NULL ok) gets the Git
 * poll interval, 0 for other sources; *summary (NULL ok) a malloc'd
 * src_spec_summary (caller frees). */
enum tm_code rec_load_changelog(struct tm_proc *proc, const cJSON *dbschema, const char *pin,
                                struct chlog **out, char revision[REC_REVISION_MAX],
                                int64_t *git_interval_ms, char **summary,
                                enum rec_load_stage *stage, struct tm_err *err) TM_MUST_CHECK;

/* Why rec_connect failed, for status reasons. */
enum rec_conn_failure {
    REC_CONN_OK = 0,
    REC_CONN_CREDENTIALS, /* Secret or key missing/invalid */
    REC_CONN_CONNECT,     /* the server refused or is unreachable */
    REC_CONN_WAITING,     /* the server's connections (--max-connections-per-server) stayed
                           * taken for REC_POOL_WAIT_MS: requeue, not a failure */
    REC_CONN_QUEUED,      /* an apply waits for its turn (--max-concurrent-applies*): it is
                           * woken when a slot frees, else requeue after APPLIM_POLL_MS */
};

/* How long a reconcile waits for one of its server's connections, and when an object whose
 * wait timed out is tried again. */
#define REC_POOL_WAIT_MS 5000
#define REC_POOL_RETRY_MS 1000

/* One database session of a reconcile: a lease from proc->pgpool (shared, bounded per
 * server), or, in a process without a pool (integration tests), a connection of its own.
 * Zeroed = none; conn is NULL when not connected. */
struct rec_db {
    struct pgx_conn *conn;      /* borrowed from lease, or owned when lease is NULL */
    struct pgpool_lease *lease; /* NULL: conn is owned (no pool) */
    enum pgpool_use use;
    struct applim_ticket apply; /* an apply's slot in proc->applies (held: leave at release) */
};

/* Connects db (zeroed or released) to the database of a DBInstance object for use, reading
 * its Secret live.  PGPOOL_OBSERVE for reads, PGPOOL_APPLY for the session of an apply or
 * rollback (its own connection: advisory locks are per session).  *table gets
 * spec.changelogTable (borrowed from dbinstance; default public.databasechangelog).
 * Returns db->conn, or NULL + err and *why on failure (REC_CONN_WAITING: a pool wait timed
 * out, err->retry WAITING; its message starts "waiting for a database connection: "). */
struct pgx_conn *rec_connect(struct tm_proc *proc, const cJSON *dbinstance, enum pgpool_use use,
                             struct rec_db *db, const char **table, enum rec_conn_failure *why,
                             struct tm_err *err);

/* rec_connect for an apply or rollback session (PGPOOL_APPLY) of the object key ("ns/name"),
 * first admitted by proc->applies (when set): when the limits are reached, it returns NULL
 * with *why REC_CONN_QUEUED and err WAITING ("waiting for an apply slot: ..."), holding
 * nothing; key is woken (enqueued) when its turn comes.  Once admitted, the time it queued
 * is observed in tidemark_apply_queue_wait_seconds and db holds the slot until
 * rec_disconnect. */
struct pgx_conn *rec_connect_apply(struct tm_proc *proc, const cJSON *dbinstance, const char *key,
                                   struct rec_db *db, const char **table,
                                   enum rec_conn_failure *why, struct tm_err *err);

/* Gives db's apply slot back (no-op unless it holds one) once its apply or rollback is over,
 * keeping the session for the reads that follow: the slot bounds the load applies put on a
 * server, and a re-read of the history is not one.  rec_disconnect does it too.  NULL ok. */
void rec_release_apply_slot(struct tm_proc *proc, struct rec_db *db);

/* Gives db's connection back (to the pool, or closes it), leaves its apply slot, and zeroes db.  reusable = false
 * after a connection-class error (rec_conn_lost): the connection is closed.  NULL ok. */
void rec_disconnect(struct tm_proc *proc, struct rec_db *db, bool reusable);

/* True when err says the session is gone or unusable (SQLSTATE class 08, server shutdown
 * 57P01-57P03). */
bool rec_conn_lost(const struct tm_err *err);

#endif
