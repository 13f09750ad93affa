/* dbinstance: the DBInstance reconciler — a database and the schema that
 * lives in it.  It connects, reads the history table, compares it with the
 * DBSchema's changelog and reports; it NEVER changes the database (only a
 * DBRollout does).
 *
 * Layout (STYLE.md rule 8): observe (dbinstance.c: the DBInstance and its
 * DBSchema from the cache, the Secret, a connection and the history via the
 * engine) -> decide (dbinstance_decide.c, pure: this header) -> report
 * (status patch only on change, Events on Connected/Drifted transitions).
 *
 * Decisions (why):
 *  - observedGeneration is always the current generation: every reconcile
 *    fully handles the spec (there is nothing long-running to wait for).
 *    So the first status write replaces the CRDs' status default
 *    {observedGeneration: -1}, which a new object carries until then (the
 *    same holds for DBSchema).
 *  - lastCheckTime moves only when something else in the status changed or
 *    it is older than DBINSTANCE_CHECK_REFRESH_MS, so a healthy instance
 *    rechecked on its interval does not cost a status write each time.
 *  - Drift makes Ready False and Stalled True (a human must reconcile the
 *    history); pending changesets do not (applying them is a DBRollout's job).
 *  - A connection refused is Reconciling (retried with backoff); a refused
 *    password or a missing Secret key is Stalled (retried on the interval:
 *    the Secret may be fixed).
 *  - Rechecks are spread over their interval (spec.checkInterval, default
 *    5m): each object has a phase, a hash of namespace/name modulo the
 *    interval, and a successful check requeues to the next instant of that
 *    phase (in (0, interval]).  The same object always lands at the same
 *    offset, so restarts and a burst of creations do not line them up; a
 *    hash, not a random draw, so the spread needs no memory.
 *  - Cheap change detection: the history's fingerprint (rows, max
 *    orderexecuted, max dateexecuted, the Liquibase lock row) is kept in
 *    status.historyFingerprint with the status of the full read it came
 *    from.  When the fingerprint read now equals it, and the generation and
 *    the changelog revision are the ones that status was computed for, the
 *    history is not read and nothing is written (only the lock holder and
 *    the lastCheckTime refresh can still change).  In status, not in memory:
 *    it survives restarts and leader changes, needs no map shared by the
 *    workers, and a user can see why a recheck was skipped.
 *  - The first check after this process began reconciling (a start or a
 *    leader change: every object is queued at once then) waits for the
 *    object's phase when its status is current (fingerprint and full read of
 *    this generation, the DBSchema's revision, the lock holder it reports):
 *    the database is not touched before that instant, so a restart does not
 *    open a wave of connections.  Only the first look at each object waits
 *    (dbinstance.c remembers which it has seen): a later Event or edit
 *    checks at once.  An instance with work to do (a new generation, no
 *    status, a new changelog revision, a lock moved) is checked at once.
 * Secrets: the observed struct carries only messages that name Secrets and
 * keys, never values; nothing here can leak a password. */
#ifndef TM_RECONCILERS_DBINSTANCE_H
#define TM_RECONCILERS_DBINSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "reconcilers/conditions.h"
#include "reconcilers/plan_event.h"

#define DBINSTANCE_COND_CONNECTED "Connected"
#define DBINSTANCE_COND_DRIFTED "Drifted"
#define DBINSTANCE_CHECK_INTERVAL_MS (5 * 60 * 1000) /* spec.checkInterval's default */
#define DBINSTANCE_CHECK_INTERVAL_MIN_MS 10000       /* and its minimum (the CRD's too) */
/* the whole history is read (and lastCheckTime written) at least this often
 * even when the fingerprint has not moved: the fingerprint already sums a
 * hash of every column the status reads, so this only bounds how long a
 * hash collision could hide an edit.  An hour, not less: at 10,000
 * instances every 10 minutes made half the rechecks full reads with a
 * status write (16 a second), more than 2 workers could keep up with. */
#define DBINSTANCE_CHECK_REFRESH_MS (60 * 60 * 1000)
#define DBINSTANCE_RETRY_MS 10000
#define DBINSTANCE_DRIFT_MAX 50 /* drift entries listed in status (all are counted) */

/* One drifted history row (strings borrowed). */
struct dbinstance_drift {
    const char *id;
    const char *author;
    const char *file;
    const char *reason;  /* "ChecksumMismatch" | "UnknownChangeSet" */
    const char *message; /* NULL ok */
};

/* The status; strings and arrays are borrowed from the observed struct. */
struct dbinstance_status {
    const char *schema_revision;
    const char *applied_tag;
    long applied;         /* -1: unknown (never read) */
    long pending;         /* -1: unknown */
    const char *last_applied;
    const char *active_rollout;
    const struct dbinstance_drift *drift;
    size_t ndrift;
    int64_t last_check_ms; /* 0: never */
    const char *fingerprint; /* of the history this status was read from; NULL: none */
    int64_t observed_generation;
    struct cond_list conds;
};

struct dbinstance_observed {
    int64_t generation;
    struct dbinstance_status status;  /* as read from the object */

    bool schema_ready;                /* DBSchema found, fetched and parsed */
    const char *schema_message;       /* why not */
    const char *schema_revision;

    const char *credentials_error;    /* Secret or key missing; NULL: fine */
    bool connected;
    const char *connect_error;        /* why not (no secrets) */
    enum tm_retry connect_retry;

    bool history_ok;                  /* history read and compared */
    const char *history_error;
    const char *applied_tag;
    long applied;
    long pending;
    const char *last_applied;
    const struct dbinstance_drift *drift;
    size_t ndrift;

    const char *active_rollout;       /* DBRollout holding the lock, NULL none */
    int64_t check_interval_ms;        /* 0: DBINSTANCE_CHECK_INTERVAL_MS */
    int64_t check_phase_ms;           /* dbinstance_check_phase_ms of the object */

    const char *fingerprint;          /* read before the history; NULL: not read */
    bool unchanged;                   /* fingerprint, generation and revision equal the
                                       * status's: the history was not read */
    int64_t started_ms;               /* when this process began reconciling (decide's
                                       * clock); 0: unknown, no first-check wait */
    bool deferred;                    /* the first check waits for its phase: the
                                       * database was not read (dbinstance_first_check_wait_ms) */
};

struct dbinstance_plan {
    struct dbinstance_status status;
    struct rec_plan_event events[3];
    size_t nevents;
    int64_t requeue_ms;
    bool backoff;                     /* transient failure: use the queue's backoff */
};

/* Pure: the status to write, Events and when to look again. */
void dbinstance_decide(const struct dbinstance_observed *o, int64_t now_ms,
                       struct dbinstance_plan *p);

/* The object's phase in its check interval: FNV-1a of "ns/name" modulo
 * the interval's whole seconds, in ms, so in [0, interval_ms) and a whole
 * second (decide's clock counts seconds: a phase inside a second would be
 * requeued to again within that second).  Same name, same phase. */
int64_t dbinstance_check_phase_ms(const char *ns, const char *name, int64_t interval_ms);

/* How long from now_ms to the next instant of phase_ms in the interval:
 * in (0, interval_ms] (an instant exactly at the phase waits one interval). */
int64_t dbinstance_next_check_delay_ms(int64_t phase_ms, int64_t interval_ms, int64_t now_ms);

/* How long ago the object's latest phase instant was at now_ms, in
 * [0, interval_ms): a recheck's lag behind its due time. */
int64_t dbinstance_check_lag_ms(int64_t phase_ms, int64_t interval_ms, int64_t now_ms);

/* Parses spec.checkInterval, a Go-style duration of whole units ("90s",
 * "5m", "1h30m"; units h, m, s) into *ms.  False when it is not one, or is
 * below DBINSTANCE_CHECK_INTERVAL_MIN_MS (the CRD refuses both first). */
bool dbinstance_parse_interval(const char *s, int64_t *ms);

/* True when o's status may stand for the database at now_ms: it has a
 * fingerprint and a schemaRevision, was computed for this generation, and
 * its full read (lastCheckTime) is younger than DBINSTANCE_CHECK_REFRESH_MS,
 * so the whole history is still compared at least that often.  Then, if
 * the DBSchema still reports that revision, observe reads the fingerprint
 * before loading the changelog at all. */
bool dbinstance_status_current(const struct dbinstance_observed *o, int64_t now_ms);

/* True when the skip rule above holds for o at now_ms: the status is
 * current and the fingerprint read now and the changelog revision are the
 * status's. */
bool dbinstance_history_unchanged(const struct dbinstance_observed *o, int64_t now_ms);

/* How long o's first check after started_ms still waits at now_ms: the
 * time to the first instant of its phase after started_ms, when its status
 * is current (dbinstance_status_current), the DBSchema reports the status's
 * revision and the lock holder is the status's.  0: check now (no start
 * known, past that instant, or work to do).  Needs no database: observe
 * asks it before connecting. */
int64_t dbinstance_first_check_wait_ms(const struct dbinstance_observed *o, int64_t now_ms);

/* True when the two statuses would serialise the same. */
bool dbinstance_status_equal(const struct dbinstance_status *a,
                             const struct dbinstance_status *b);

/* ------------------------------------------------------- the reconciler */

struct tm_proc;
struct mgr_result;
struct mgr_reconciler;

enum tm_code dbinstance_reconcile(void *ctx, struct tm_proc *proc, const char *ns,
                                  const char *name, struct mgr_result *res, struct tm_err *err);

struct metrics;
/* tidemark_dbinstances{state} from the cache, at each /metrics scrape (proc: the manager's
 * struct tm_proc; mgr_reconciler.collect). */
void dbinstance_collect_metrics(void *proc, struct metrics *mx);

/* Registration: primary dbinstances; secondary dbschemas
 * (spec.schemaRef.name: a new revision recomputes pending and drift). */
extern const struct mgr_reconciler dbinstance_reconciler;

#endif
