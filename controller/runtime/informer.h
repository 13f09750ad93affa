/* informer: list+watch caches of Kubernetes objects (client-go's reflector,
 * store, indexer and shared informer, in C).
 *
 * An informer is a store (store.h: the objects and field indexes) kept in
 * step by a reflector (reflector.h: list, watch, relist).  An
 * informer_group runs every informer of a process on two threads:
 *   - the watch thread: each informer's watch is an easy handle in ONE curl
 *     multi handle; the thread sleeps in curl_multi_poll() until bytes
 *     arrive, a timer (backoff) is due, or curl_multi_wakeup() is called (by
 *     the list thread or informer_group_stop()).  It writes every cache and
 *     fires every handler, so handlers see a stable cache without extra
 *     locks and never run concurrently.
 *   - the list thread: the blocking LIST requests, one at a time in the
 *     order they fall due, with its own API client; each result goes back
 *     to the watch thread, which applies it.  A (re)list therefore never
 *     delays the other informers' watch events; lists wait for each other.
 * Why so few threads: a controller watches 3-7 resources that are idle most
 * of the time; one watch thread costs one stack and shares one TLS session
 * cache and connection pool.
 *
 * Per informer (reflector semantics, client-go tools/cache/reflector.go):
 *   - list (paged, limit=page_size) -> replace the cache, firing add/update
 *     for what changed and delete for objects gone from the list ("synthesized
 *     deletes"), then watch from the list's resourceVersion with bookmarks;
 *   - a watch that ends (timeoutSeconds, EOF) is started again from the last
 *     resourceVersion seen (event or bookmark): no relist;
 *   - 410 Expired (HTTP status or an ERROR event with code 410): relist;
 *   - other errors (connection refused, 5xx, a broken stream): wait with
 *     backoff (800 ms doubling to 30 s, reset by a successful list or a watch
 *     that ended normally), then watch again from the last resourceVersion,
 *     falling back to a relist on 410.
 *   resourceVersions are opaque: compared only for equality.
 *
 * Cache contract: readers get their own copy (informer_get: the caller owns
 * and may edit it; informer_foreach: valid during the callback).  Objects
 * are stored as compact JSON text, without metadata.managedFields and
 * kubectl's last-applied-configuration annotation (memory; see store.h).
 * Keys are "namespace/name", or "name" for cluster-scoped objects.
 *
 * Namespaces: an informer watches all namespaces, one, or a list.  A list
 * costs one list+watch (and one store) per namespace, as in
 * controller-runtime's multi-namespace cache, and needs only namespaced
 * grants (a Role in each); the reads below merge them: get, peek and
 * index lookups go to the namespace's own store, foreach with ns NULL and
 * len visit all, stats add up.  A namespace outside the list reads as
 * empty (informer_get: TM_E_NOTFOUND).
 *
 * Handlers run on the group's watch thread after the cache has been updated, with
 * no lock held; the objects they get are borrowed for the call only.  They
 * must be quick (enqueue a key) and must not block.
 *
 * Threads: informer_group_add/start/stop/free from one owner thread; the read
 * functions from any thread. */
#ifndef TM_RUNTIME_INFORMER_H
#define TM_RUNTIME_INFORMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "runtime/proc.h"

#define INFORMER_MAX_HANDLERS 8
#define INFORMER_MAX_INDEXES 4
#define INFORMER_KEY_MAX 512
#define INFORMER_MAX_NAMESPACES 64
#define INFORMER_BACKOFF_MIN_MS 800
#define INFORMER_BACKOFF_MAX_MS 30000

struct informer_group;
struct informer;

struct informer_opts {
    const char *group;          /* "" or NULL: core */
    const char *version;        /* "v1" */
    const char *resource;       /* plural: "configmaps" */
    const char *ns;             /* one namespace; NULL and no namespaces: all */
    /* several namespaces, NULL-terminated (at most INFORMER_MAX_NAMESPACES,
     * each once, none empty); NULL: see ns.  Not with ns. */
    const char *const *namespaces;
    const char *label_selector; /* NULL: none */
    int watch_timeout_s;        /* server-side timeoutSeconds; 0 = 300 (minus jitter) */
    long page_size;             /* list page; 0 = 500 */
};

struct informer_handlers {
    void (*on_add)(void *ctx, const cJSON *obj);
    void (*on_update)(void *ctx, const cJSON *old_obj, const cJSON *obj);
    /* obj: the object as last known (the DELETED event's, or the cached one
     * for a delete synthesized after a relist). */
    void (*on_delete)(void *ctx, const cJSON *obj);
    void *ctx;
};

struct informer_stats {
    uint64_t lists;            /* successful lists, the first included */
    uint64_t relists;          /* lists after the first (410, or an error recovery) */
    uint64_t watches;          /* watch requests started */
    uint64_t watch_restarts;   /* watches started after the first */
    uint64_t events;           /* ADDED/MODIFIED/DELETED applied */
    uint64_t bookmarks;
    uint64_t synthesized_deletes;
    uint64_t errors;           /* failed lists and watches */
};

/* ---- group lifecycle ---- */

/* cfg and proc are borrowed (must outlive the group); proc->metrics, when
 * set, gets tidemark_watch_restarts_total{resource} and
 * tidemark_relists_total{resource}; proc->log gets one line per list, watch
 * error and relist.  NULL + err on failure. */
struct informer_group *informer_group_new(struct kube_config *cfg, const struct tm_proc *proc,
                                          struct tm_err *err);

/* Adds an informer (before start).  The same group/version/resource/
 * namespaces/selector added twice returns the same informer (shared between
 * the users).  Strings are copied.  NULL + err (TM_E_INVAL: a bad namespace
 * list). */
struct informer *informer_group_add(struct informer_group *g, const struct informer_opts *o,
                                    struct tm_err *err);

/* Starts the watch and list threads.  TM_E_INVAL when running. */
enum tm_code informer_group_start(struct informer_group *g, struct tm_err *err) TM_MUST_CHECK;

/* Stops the threads and waits for them (an in-flight list finishes and is
 * applied first; a list not yet started is made on the next start);
 * caches, resourceVersions and stats are kept, so start may be called again
 * and the watches resume from where they were. */
void informer_group_stop(struct informer_group *g);

/* Stops if running, frees every informer and its cache.  NULL ok. */
void informer_group_free(struct informer_group *g);

/* True once every informer of g has completed its first list. */
bool informer_group_synced(struct informer_group *g);

/* ---- informer set-up (before start) ---- */

/* Adds a handler set (copied); at most INFORMER_MAX_HANDLERS. */
enum tm_code informer_add_handlers(struct informer *inf, const struct informer_handlers *h,
                                   struct tm_err *err) TM_MUST_CHECK;

/* Indexes objects by the string at a dotted path ("spec.deploymentRef.name"),
 * per namespace.  Objects without a string there are not indexed.  The path
 * names the index.  Adding the same path again is a no-op.  Must be called
 * before the first list. */
enum tm_code informer_add_field_index(struct informer *inf, const char *path,
                                      struct tm_err *err) TM_MUST_CHECK;

/* Sets the resourceVersion the next watch (of every namespace) starts from
 * (while the group is stopped).  For tests (a stale RV forces a 410) and diagnosis. */
enum tm_code informer_set_resume_rv(struct informer *inf, const char *rv,
                                    struct tm_err *err) TM_MUST_CHECK;

/* ---- reading ---- */

bool informer_has_synced(struct informer *inf);

/* A duplicate of the cached object (caller cJSON_Deletes it).
 * TM_E_NOTFOUND when absent, TM_E_NOMEM.  ns "" or NULL for cluster-scoped. */
enum tm_code informer_get(struct informer *inf, const char *ns, const char *name, cJSON **out,
                          struct tm_err *err) TM_MUST_CHECK;

/* Calls fn for each cached object (in namespace ns; NULL = all) under the
 * read lock, until fn returns false.  fn must not call informer functions.
 * With several namespaces and ns NULL, one namespace after the other, each
 * under its own lock (no snapshot across namespaces). */
void informer_foreach(struct informer *inf, const char *ns,
                      bool (*fn)(void *ctx, const cJSON *obj), void *ctx);

/* Calls fn with the key of every object in ns whose indexed path equals
 * value, under the read lock.  TM_E_NOTFOUND when no such index. */
enum tm_code informer_index_keys(struct informer *inf, const char *path, const char *ns,
                                 const char *value, void (*fn)(void *ctx, const char *key),
                                 void *ctx, struct tm_err *err) TM_MUST_CHECK;

/* Calls fn for each cached object in ns whose indexed path equals value (only
 * those are parsed), under the read lock, until fn returns false.  fn must not
 * call informer functions.  TM_E_NOTFOUND when no such index. */
enum tm_code informer_foreach_indexed(struct informer *inf, const char *path, const char *ns,
                                     const char *value, bool (*fn)(void *ctx, const cJSON *obj),
                                     void *ctx, struct tm_err *err) TM_MUST_CHECK;

size_t informer_len(struct informer *inf);
/* The last resourceVersion seen, copied into out ("" before the first list);
 * with several namespaces, the first one's (each has its own). */
void informer_last_rv(struct informer *inf, char *out, size_t n);
void informer_get_stats(struct informer *inf, struct informer_stats *out);
/* "configmaps" or "dbrollouts.tidemark.dev": the metric label. */
const char *informer_resource_label(const struct informer *inf);

/* ---- keys ---- */

/* Writes obj's key ("ns/name" or "name") into out.  false when obj has no
 * metadata.name or the key does not fit. */
bool informer_key(const cJSON *obj, char *out, size_t n);

/* Splits a key into namespace ("" when cluster-scoped) and name, into the
 * caller's buffers.  false when a part does not fit. */
bool informer_split_key(const char *key, char *ns, size_t nsn, char *name, size_t namen);

#endif
