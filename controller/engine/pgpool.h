/* pgpool: the controller's PostgreSQL connections, bounded per database server and shared.
 *
 * Why: thousands of DBInstances on one server must never open thousands of connections (a
 * server allows max_connections, 100 by default).  Every connection to one server — to any
 * of its databases, for observing or for applying — counts against one limit,
 * max_per_server.  A server is (host, port, user, sslmode) as given: two spellings of one
 * machine are two servers.
 *
 * Two uses:
 *   PGPOOL_OBSERVE  short reads (history, fingerprints).  Reuses an idle connection to the
 *                   same database with the same credentials and settings; released ones
 *                   stay open (idle) until idle_timeout_ms, unless broken or mid-transaction.
 *   PGPOOL_APPLY    a dedicated session for one apply (advisory locks and SET are per
 *                   session): always a fresh connection, closed at release, never shared.
 * So that a bound never deadlocks an apply behind observers, and observers never starve:
 *   - a waiting apply gets the next free slot before any waiting observer;
 *   - applies hold at most max_per_server - 1 slots (when max_per_server >= 2), so one
 *     slot is always left for observers;
 *   - an idle connection (to any database of the server) is closed to make room;
 *   - waits are bounded: past wait_ms the caller gets TM_E_TIMEOUT with retry WAITING and
 *     requeues, holding nothing.
 *
 * Thread-safe: one mutex; connects and closes run outside it (a slot is reserved first).
 * Passwords are compared by SHA-256 digest and never kept. */
#ifndef TM_ENGINE_PGPOOL_H
#define TM_ENGINE_PGPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/err.h"
#include "engine/engine.h"

#define PGPOOL_DEFAULT_MAX_PER_SERVER 4
#define PGPOOL_DEFAULT_IDLE_TIMEOUT_MS 60000

enum pgpool_use { PGPOOL_OBSERVE, PGPOOL_APPLY };

struct pgpool_opts {
    int max_per_server;      /* 0 = PGPOOL_DEFAULT_MAX_PER_SERVER */
    int64_t idle_timeout_ms; /* 0 = PGPOOL_DEFAULT_IDLE_TIMEOUT_MS */
    struct tm_clock clock;   /* ages of idle connections; zeroed = monotonic */
    /* called (outside the pool's lock) once per acquire that found no free slot and had to
     * wait for one (closing an idle connection to make room is not a wait), after the wait,
     * with the server's "host:port" and the use; NULL: none (the controller counts them) */
    void (*on_wait)(void *ctx, const char *server, enum pgpool_use use);
    void *on_wait_ctx;
};

struct pgpool;       /* opaque */
struct pgpool_lease; /* opaque: one connection lent to one caller */

/* A pool, or NULL (out of memory, or max_per_server < 0). */
struct pgpool *pgpool_new(const struct pgpool_opts *o);

/* Closes every idle connection and frees the pool.  Every lease must have been released.
 * NULL ok. */
void pgpool_free(struct pgpool *p);

/* Lends a connection for use, waiting up to wait_ms (0: not at all) for a free slot.
 * Returns NULL with err set: the connect errors of pgx_conn_new, or TM_E_TIMEOUT (WAITING)
 * when the server's slots stayed taken, or TM_E_NOMEM. */
struct pgpool_lease *pgpool_acquire(struct pgpool *p, const struct pgx_params *params,
                                    enum pgpool_use use, int64_t wait_ms, struct tm_err *err);

/* The lease's connection (borrowed; valid until the lease is released). */
struct pgx_conn *pgpool_conn(const struct pgpool_lease *l);

/* Gives the connection back.  reusable = false when the caller saw it fail (a lost
 * connection, an error mid-transaction): it is closed.  Apply sessions are always closed.
 * NULL ok. */
void pgpool_release(struct pgpool *p, struct pgpool_lease *l, bool reusable);

/* Closes idle connections older than the idle timeout; returns how many. */
int pgpool_reap(struct pgpool *p);

/* Per-server figures, for metrics and tests. */
struct pgpool_server_stats {
    char server[160];  /* "host:port" (no user, no password) */
    int open;          /* leased + idle */
    int idle;
    int applies;       /* leased for applies */
    int waiting;       /* callers waiting for a slot */
};

/* Calls fn once per server the pool has seen, under the pool's lock (fn must not call the
 * pool).  Returns the number of servers. */
size_t pgpool_stats(struct pgpool *p, void (*fn)(const struct pgpool_server_stats *s, void *ctx),
                    void *ctx);

/* Keys, exposed for tests: the server a params set connects to ("host\x1fport\x1fuser\x1f
 * sslmode", the URL's fields overridden by the discrete ones, "" when unset), and the
 * identity of a reusable connection (server, database, password digest, settings).
 * Return TM_E_TOOBIG when out is too small, TM_E_INVAL when the URL does not parse. */
enum tm_code pgpool_server_key(const struct pgx_params *params, char *out, size_t n,
                               struct tm_err *err);
enum tm_code pgpool_conn_key(const struct pgx_params *params, char *out, size_t n,
                             struct tm_err *err);
/* The server's name for people and metrics: "host:port" (defaults localhost, 5432). */
enum tm_code pgpool_server_name(const struct pgx_params *params, char *out, size_t n,
                                struct tm_err *err);

#endif
