/* mgr: the controller manager.  It owns the informers, one work queue per
 * reconciled kind, the worker threads, leader election and the HTTP
 * endpoints, and it calls the reconcilers (reconcilers/) with keys.
 *
 * How a reconciler plugs in (controller-runtime's Reconciler, in C):
 *
 *   static enum tm_code dbrollout_reconcile(void *ctx, struct tm_proc *proc,
 *                                           const char *ns, const char *name,
 *                                           struct mgr_result *res, struct tm_err *err);
 *   const struct mgr_reconciler dbrollout_reconciler = {
 *       .kind = "DBRollout",
 *       .group = "tidemark.dev", .version = "v1alpha1", .resource = "dbrollouts",
 *       .reconcile = dbrollout_reconcile,
 *       .secondary = {
 *           {.group = "apps", .version = "v1", .resource = "deployments",
 *            .ref_paths = {"spec.deploymentRef.name"}},
 *           {.group = "tidemark.dev", .version = "v1alpha1", .resource = "dbinstances",
 *            .ref_paths = {"spec.instanceRef.name"}},
 *       },
 *   };
 *   mgr_new(..., (const struct mgr_reconciler *[]){&dbrollout_reconciler, NULL}, ...)
 *
 * Contract of reconcile (level-triggered; STYLE.md rule 8):
 *   - it gets a key (ns, name), never an event; it reads the current object
 *     from the cache (mgr_cache_get(proc->mgr, ...) duplicates it; never
 *     mutate a borrowed cache object) and may find it gone (then: clean up,
 *     return TM_OK);
 *   - proc is this worker's copy: proc->kube is the worker's own API client,
 *     proc->log/metrics/events/clock are shared; proc->mgr reads caches;
 *   - one key is never reconciled by two workers at once (work queue rule);
 *     different keys of a kind run in parallel (--workers per kind, or
 *     --workers-<kind>: each kind has its own threads, so a long DBRollout
 *     apply never holds up a DBInstance check);
 *   - return TM_OK: done; set res->requeue_after_ms > 0 to be called again
 *     after that long (e.g. polling a Deployment rollout).  The key's backoff
 *     is reset;
 *   - return an error with err->retry:
 *       TM_RETRY_TRANSIENT: requeued with per-key exponential backoff
 *                           (5 ms * 2^n, capped at 5 min);
 *       TM_RETRY_WAITING:   requeued after res->requeue_after_ms (or the
 *                           backoff delay when 0), backoff not increased;
 *       TM_RETRY_TERMINAL:  not requeued (a spec change will enqueue it again);
 *     the reconciler reports the error in the object's status itself;
 *   - it should return promptly once tm_proc_stopping(proc) (true as soon as
 *     the manager stops for any reason: signal, mgr_request_stop, lost
 *     leadership): shutdown waits for in-flight reconciles only up to the
 *     grace period.
 *
 * Secondary watches: a change to a secondary object enqueues primary keys:
 *   - ref_paths: every primary object in the same namespace whose string at
 *     one of the dotted paths equals the secondary object's name (an index
 *     on the primary informer, so lookups do not scan);
 *   - owner: primaries named in the secondary's metadata.ownerReferences with
 *     kind == owner_kind (controller-runtime's EnqueueRequestForOwner);
 *   - map: any other rule: call mgr_enqueue() for each primary key.
 *   An update routes only when it changed one of the secondary's update_paths
 *   (when it has any), like controller-runtime's predicates.
 *   Informers are shared: the same resource used by several reconcilers (as
 *   primary or secondary) is listed and watched once.
 *
 * Life of the process (mgr_run): start HTTP (/healthz, /readyz, /metrics),
 * then (after winning the Lease, with leader election) start informers, wait
 * for their caches, start workers.  On stop (signal flag, or leadership lost)
 * queues stop handing out keys, in-flight reconciles get up to the grace
 * period, the Lease is released (holderIdentity ""), and mgr_run returns.
 *
 * Metrics kept by the manager: tidemark_reconcile_total{kind,result}
 * (result: success, requeue, error, terminal, waiting),
 * tidemark_reconcile_errors_total{kind}, tidemark_reconcile_duration_seconds
 * {kind}, tidemark_workqueue_depth{kind}, tidemark_leader, and through the
 * informers and the API client tidemark_watch_restarts_total{resource},
 * tidemark_relists_total{resource}, tidemark_api_requests_total{verb,code},
 * plus tidemark_process_resident_memory_bytes.  Reconcilers add their own
 * families to proc->metrics (metrics.h; registering is idempotent). */
#ifndef TM_RUNTIME_MGR_H
#define TM_RUNTIME_MGR_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "runtime/proc.h"

#define MGR_MAX_SECONDARY 6
#define MGR_MAX_REF_PATHS 4
#define MGR_MAX_UPDATE_PATHS 4
#define MGR_MAX_RECONCILERS 8

struct mgr;
struct informer;

struct mgr_result {
    int64_t requeue_after_ms; /* > 0: reconcile this key again after this long */
};

typedef enum tm_code (*mgr_reconcile_fn)(void *ctx, struct tm_proc *proc, const char *ns,
                                         const char *name, struct mgr_result *res,
                                         struct tm_err *err);

struct mgr_secondary {
    const char *group, *version, *resource; /* NULL resource ends the list */
    /* watch only objects matching this label selector ("a=b"); NULL: all.
     * Objects outside it are not cached (mgr_cache_get: TM_E_NOTFOUND). */
    const char *label_selector;
    /* enqueue primaries (same namespace) whose value at one of these paths
     * equals the secondary object's metadata.name */
    const char *ref_paths[MGR_MAX_REF_PATHS];
    /* enqueue the primary named by an ownerReference of this kind */
    const char *owner_kind;
    /* on update, route only when the value at one of these dotted paths
     * changed (json_paths_changed); adds and deletes always route.  None:
     * every update routes.  For a secondary whose status changes often while
     * its primaries read one field of it (a DBInstance reads its DBSchema's
     * status.revision, not the instance list the DBSchema keeps). */
    const char *update_paths[MGR_MAX_UPDATE_PATHS];
    /* custom mapping: call mgr_enqueue(m, primary_kind, key) as needed;
     * runs on the informer thread: no blocking, no API calls */
    void (*map)(void *ctx, struct mgr *m, const cJSON *obj);
    void *map_ctx;
};

struct metrics;

struct mgr_reconciler {
    const char *kind;                        /* "DBRollout": logs and metric label */
    const char *group, *version, *resource;  /* the primary resource */
    mgr_reconcile_fn reconcile;
    void *ctx;                               /* passed to reconcile */
    struct mgr_secondary secondary[MGR_MAX_SECONDARY];
    int workers;                             /* 0: the manager's --workers */
    /* optional: called at each /metrics scrape (any thread) with the
     * manager's struct tm_proc * as ctx, for gauges counted from the cache
     * when asked rather than after every reconcile */
    void (*collect)(void *proc, struct metrics *mx);
};

struct mgr_kind_workers {
    const char *kind; /* a reconciler's kind; NULL ends the list */
    int workers;      /* > 0 */
};

struct mgr_opts {
    const char *ns;                 /* watch one namespace; NULL (and no namespaces): all */
    /* watch these namespaces (NULL-terminated, borrowed for m's life; not
     * with ns): every resource, primary or secondary, is listed and watched
     * in each of them and nowhere else, so objects elsewhere are never
     * enqueued nor cached (informer.h: one list+watch per namespace). */
    const char *const *namespaces;
    int workers;                    /* per kind; 0 = 2 */
    /* per-kind worker counts ({"DBRollout", 16}, ...; ends at a NULL kind; borrowed for m's
     * life): a kind listed here gets its count, else its reconciler's own, else workers */
    const struct mgr_kind_workers *kind_workers;
    bool leader_elect;
    const char *lease_ns;           /* NULL: the config's namespace */
    const char *lease_name;         /* NULL: "tidemark-controller" */
    int64_t lease_duration_ms;      /* 0 = 15000 */
    int64_t renew_deadline_ms;      /* 0 = 10000 */
    int64_t retry_period_ms;        /* 0 = 2000 */
    const char *metrics_addr;       /* NULL/"": no metrics listener ("0" disables too) */
    const char *health_addr;        /* NULL/"": no health listener */
    int64_t grace_ms;               /* in-flight reconciles at shutdown; 0 = 30000 */
    int watch_timeout_s;            /* informers' timeoutSeconds; 0 = default */
};

/* ---- lifecycle ---- */

/* Makes a manager for the NULL-terminated reconciler list (borrowed: must
 * outlive m; may be empty).  proc is copied (its log, metrics, stop flag and
 * kube_config are borrowed; a metrics registry is required for /metrics).
 * Validates the list (kind and resource set, unique kinds): TM_E_INVAL.
 * NULL + err on failure. */
struct mgr *mgr_new(const struct tm_proc *proc, const struct mgr_opts *opts,
                    const struct mgr_reconciler *const *reconcilers, struct tm_err *err);

void mgr_free(struct mgr *m);

/* Runs until *proc->stop becomes non-zero or leadership is lost; see the
 * header comment.  TM_OK after a requested stop; TM_E_LOCKED when leadership
 * was lost (the caller should exit non-zero so the pod restarts clean);
 * other codes when start-up failed (listen, API unreachable at start is NOT
 * an error: informers retry). */
enum tm_code mgr_run(struct mgr *m, struct tm_err *err) TM_MUST_CHECK;

/* Asks a running mgr_run to stop (thread-safe; also what the stop flag does). */
void mgr_request_stop(struct mgr *m);

/* ---- for reconcilers and mappers ---- */

/* Enqueues key ("ns/name") for the reconciler of kind.  Thread-safe.  Unknown
 * kinds are ignored (returns TM_E_NOTFOUND). */
enum tm_code mgr_enqueue(struct mgr *m, const char *kind, const char *key) TM_MUST_CHECK;

/* mgr_enqueue at the head of the kind's queue (wq_add_first): for a key whose turn came. */
enum tm_code mgr_enqueue_first(struct mgr *m, const char *kind, const char *key) TM_MUST_CHECK;

/* The shared informer of a resource registered by some reconciler (primary or
 * secondary); NULL when none watches it.  Borrowed for m's lifetime. */
struct informer *mgr_informer(struct mgr *m, const char *group, const char *version,
                              const char *resource);

/* A duplicate of a cached object (caller cJSON_Deletes it); TM_E_NOTFOUND
 * when the object is not in the cache or the resource is not watched. */
enum tm_code mgr_cache_get(struct mgr *m, const char *group, const char *version,
                           const char *resource, const char *ns, const char *name,
                           cJSON **out, struct tm_err *err) TM_MUST_CHECK;

/* ---- state (for probes and tests) ---- */

bool mgr_is_leader(struct mgr *m);
/* True when the caches of the running informers have synced (false while
 * they are not running). */
bool mgr_synced(struct mgr *m);
/* /healthz and /readyz answers: 200 or 503 (readyz: synced leader, or a
 * healthy standby waiting for the Lease). */
int mgr_healthz(struct mgr *m);
int mgr_readyz(struct mgr *m);
/* Bound ports of the HTTP listeners (0 when none), for tests using ":0". */
int mgr_metrics_port(struct mgr *m);
int mgr_health_port(struct mgr *m);

#endif
