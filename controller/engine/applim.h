/* applim: admission of applies against --max-concurrent-applies (overall) and
 * --max-concurrent-applies-per-server, with a FIFO of the applies waiting for a slot.
 *
 * Why: when 1,000 DBRollouts move at once, each one's apply holds a dedicated session and a
 * worker for its whole run.  The pool (pgpool.h) bounds sessions per server; this bounds how
 * many applies run at once, overall and per server, and decides who goes next.
 *
 * Design: admission never blocks.  applim_enter() answers START (the caller runs its apply
 * and calls applim_leave() after) or WAIT: the caller is recorded as a waiter (by its key,
 * "ns/name") and ends its reconcile, so a waiting rollout holds neither a worker nor a
 * connection.  When a slot frees, the waiters that may start are picked in FIFO order
 * (applim_pick: a waiter whose server is full does not hold back one on a server with room),
 * their slots are reserved, and opts.wake is called with their keys (the controller enqueues
 * them); a reserved waiter's next applim_enter() starts at once.  A reservation not taken
 * within hold_ms goes back to waiting (its place kept); a waiter not seen again within
 * forget_ms (deleted, or no longer needing an apply) is dropped.  A callback that wakes too
 * late costs only a poll: callers requeue their waits after APPLIM_POLL_MS anyway.
 *
 * Servers are named "host:port" (pgpool_server_name): the load an apply puts on a
 * PostgreSQL server does not depend on the user it connects as.
 *
 * Thread-safe: one mutex; wake runs outside it.  The pure decision (applim_pick) has no
 * state, no clock and no I/O, and is unit-tested on its own. */
#ifndef TM_ENGINE_APPLIM_H
#define TM_ENGINE_APPLIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"

#define APPLIM_DEFAULT_MAX_TOTAL 8
#define APPLIM_DEFAULT_HOLD_MS 15000
#define APPLIM_DEFAULT_FORGET_MS 120000
/* How often a waiting caller tries again on its own, in case a wake-up was lost. */
#define APPLIM_POLL_MS 30000
#define APPLIM_SERVER_MAX 160

/* ---- the decision (pure) ---- */

struct applim_limits {
    int total;      /* applies at once, all servers; <= 0: no limit */
    int per_server; /* applies at once on one server; <= 0: no limit */
};

struct applim_waiter_view {
    size_t server; /* index into the caller's per-server counts */
    bool reserved; /* a slot is already held for it (counted in the counts) */
};

/* Walks waiters in FIFO order and picks each unreserved one whose server and the overall
 * count both have room under lim; a pick takes its slot, so *total and server_running[] are
 * updated as if the picked waiters had started.  *total and server_running[] count applies
 * running plus slots reserved.  Sets pick[i] (n entries) and returns how many were picked. */
size_t applim_pick(const struct applim_limits *lim, int *total, int *server_running,
                   const struct applim_waiter_view *waiters, size_t n, bool *pick);

/* ---- the limiter ---- */

struct applim_opts {
    struct applim_limits limits;
    int64_t hold_ms;   /* 0 = APPLIM_DEFAULT_HOLD_MS */
    int64_t forget_ms; /* 0 = APPLIM_DEFAULT_FORGET_MS */
    struct tm_clock clock; /* zeroed = monotonic */
    /* called, outside the lock, with the key of each waiter given a slot; NULL: none */
    void (*wake)(void *ctx, const char *key);
    void *wake_ctx;
};

struct applim;

/* One caller's slot, held from START to applim_leave.  Zeroed = none. */
struct applim_ticket {
    bool held;
    char server[APPLIM_SERVER_MAX];
    int64_t waited_ms; /* START: how long it waited, from its first WAIT (0: at once) */
};

enum applim_answer { APPLIM_START = 0, APPLIM_WAIT };

/* A limiter, or NULL when out of memory. */
struct applim *applim_new(const struct applim_opts *o);
/* Frees l and its waiters.  No thread may be using it.  NULL ok. */
void applim_free(struct applim *l);

/* Asks for a slot for key (copied) on server.  START: t holds the slot (call applim_leave);
 * WAIT: key is queued (or kept in its place) and t is zeroed; on out of memory it answers
 * WAIT without queueing (the caller's poll retries). */
enum applim_answer applim_enter(struct applim *l, const char *key, const char *server,
                                struct applim_ticket *t);

/* Gives t's slot back (no-op unless held), wakes the waiters that may start, zeroes t. */
void applim_leave(struct applim *l, struct applim_ticket *t);

/* What a waiter waits behind, for its status ("N applies running on host:port (limit M)"). */
struct applim_wait {
    char server[APPLIM_SERVER_MAX];
    int running_server; /* applies running or holding a reserved slot on its server */
    int running_total;  /* the same over all servers */
    struct applim_limits limits;
};

/* True when key waits in the line without a slot, filling *out; false when it is not in the
 * line (never told to wait, started, or forgotten) or a slot is reserved for it (its next
 * applim_enter starts).  Reads only: the waiter's place and expiry are not touched. */
bool applim_waiting(struct applim *l, const char *key, struct applim_wait *out);

/* Per-server figures, for metrics and tests. */
struct applim_server_stats {
    const char *server; /* borrowed for the call */
    int running;        /* applies started and not yet left */
    int reserved;       /* slots held for woken waiters */
    int waiting;        /* waiters without a slot */
};

/* Calls fn once per server seen, under the lock (fn must not call l); *running_total
 * (NULL ok) gets the applies running on all servers.  Returns the number of servers. */
size_t applim_stats(struct applim *l, void (*fn)(const struct applim_server_stats *s, void *ctx),
                    void *ctx, int *running_total);

#endif
