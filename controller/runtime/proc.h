/* tm_proc: what a piece of controller code may use from its process, passed
 * down explicitly (STYLE.md rule 5: no hidden globals).
 *
 * Built once in the `controller` subcommand (cli/cmd_controller.c) and
 * copied per worker thread: each worker's copy has its own `kube` client
 * (a curl easy handle is never shared between threads), everything else is
 * shared and thread-safe.  Tests build one by hand with a manual clock.
 *
 * The only file-scope state in the process is the signal handler's flag,
 * which `stop` points to.  It is a lock-free atomic_int rather than STYLE.md's
 * `volatile sig_atomic_t`: the handler may run on any thread and the flag is
 * read by others, and C11 allows lock-free atomics in signal handlers while
 * volatile gives no inter-thread ordering (ThreadSanitizer reports it). */
#ifndef TM_RUNTIME_PROC_H
#define TM_RUNTIME_PROC_H

#include <stdatomic.h>
#include <stdbool.h>

#include "log/log.h"
#include "common/clock.h"

struct metrics;
struct kube_config;
struct kube_client;
struct kube_eventer;
struct mgr;
struct pgpool;
struct applim;

struct tm_proc {
    struct tm_log *log;              /* borrowed; NULL: no logs */
    struct tm_clock clock;           /* durations and timers (monotonic ms) */
    struct metrics *metrics;         /* borrowed; NULL: no metrics */
    const atomic_int *stop;          /* non-zero once stopping (SIGTERM/SIGINT); NULL: never */
    struct kube_config *kube_config; /* shared API config (thread-safe); NULL outside a cluster */
    struct kube_client *kube;        /* this thread's API client; NULL where none was made */
    struct kube_eventer *events;     /* Event recorder (thread-safe); NULL: no Events */
    struct mgr *mgr;                 /* the manager (caches: mgr_cache); NULL outside it */
    const char *identity;            /* this process: pod name or hostname + pid */
    struct pgpool *pgpool;           /* database connections, bounded per server (thread-safe);
                                      * NULL: each reconcile connects on its own */
    struct applim *applies;          /* admission of applies (--max-concurrent-applies*;
                                      * thread-safe); NULL: no limit but the pool's */
};

/* True once shutdown was requested. */
static inline bool tm_proc_stopping(const struct tm_proc *p)
{
    return p && p->stop && atomic_load(p->stop) != 0;
}

#endif
