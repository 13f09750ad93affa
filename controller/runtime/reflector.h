/* reflector: keeps one informer's store in step with the API server
 * (client-go tools/cache/reflector.go): list, then watch from the list's
 * resourceVersion, relist on 410 Expired, back off on errors.  It also
 * tells the informer's handlers what changed.
 *
 * Design: a state machine driven by the informer group (informer.c), which
 * owns the threads.  Every step runs on the group's watch thread except
 * reflector_list_fetch, the blocking LIST request, which runs on the
 * group's list thread so that a (re)list never holds up the other watches:
 *
 *   LIST --(due: reflector_tick returns true)--> LISTING
 *   LISTING --(reflector_list_done: ok)--> WATCH_WAIT   (failed: LIST after backoff)
 *   WATCH_WAIT --(due: reflector_tick starts the watch)--> WATCHING
 *   WATCHING --(reflector_watch_done)--> WATCH_WAIT (closed: at once;
 *              error: after backoff) or LIST (410 Expired)
 *
 * 410 is decided in one place, kube_watch_done (kube/watch.c): an HTTP 410
 * or an ERROR event with code 410 ends the watch as KUBE_WATCH_END_EXPIRED,
 * and the reflector relists.  Backoff: 800 ms doubling to 30 s, reset by a
 * successful list or a watch that ended normally.  resourceVersions are
 * opaque: compared only for equality.
 *
 * Threads: the group thread owns everything but the resourceVersion (read
 * by informer_last_rv under a mutex), the stats and the synced flag
 * (atomics); reflector_list_fetch reads only what never changes after
 * reflector_new.  Handlers run on the group thread with no lock held. */
#ifndef TM_RUNTIME_REFLECTOR_H
#define TM_RUNTIME_REFLECTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "kube/kube.h"
#include "runtime/informer.h"
#include "runtime/metrics.h"
#include "runtime/store.h"

/* What the reflectors of one group share (borrowed; outlives them). */
struct reflector_env {
    struct kube_config *cfg;
    const struct tm_proc *proc;                 /* log, clock */
    struct metrics_family *m_restarts, *m_relists; /* NULL: no metrics */
    const atomic_bool *stop;                    /* the group's stop flag */
};

/* What to list and watch (strings borrowed; must outlive the reflector). */
struct reflector_opts {
    const char *path;     /* collection path */
    const char *selector; /* label selector or NULL */
    const char *label;    /* "configmaps" or "dbrollouts.tidemark.dev": logs, metrics */
    const char *ns;       /* NULL: all namespaces (logs only) */
    int watch_timeout_s;  /* 0: 240..300 s */
    long page_size;       /* > 0 */
};

struct reflector;

/* store is borrowed (written only by this reflector).  NULL + err. */
struct reflector *reflector_new(const struct reflector_env *env, struct store *store,
                                const struct reflector_opts *o, struct tm_err *err);
/* Frees the reflector and its watch (not in any multi handle).  NULL ok. */
void reflector_free(struct reflector *r);

/* Adds a handler set (copied); at most INFORMER_MAX_HANDLERS.  Before start. */
enum tm_code reflector_add_handlers(struct reflector *r, const struct informer_handlers *h,
                                    struct tm_err *err) TM_MUST_CHECK;

/* ---- group thread ---- */

/* At group start: a watch that was running is started again, now. */
void reflector_resume(struct reflector *r);

/* Starts r's watch in multi when due.  true when a list is due: r is then
 * LISTING until the caller hands the result of reflector_list_fetch to
 * reflector_list_done (or reflector_list_cancel). */
bool reflector_tick(struct reflector *r, CURLM *multi);

/* Milliseconds until r's next timer (0: due), or INT64_MAX while it waits
 * for a list result or its watch. */
int64_t reflector_next_timer_ms(const struct reflector *r);

/* Applies a list (taken; NULL when rc != TM_OK) and fires the handlers;
 * on failure backs off.  err: why the list failed. */
void reflector_list_done(struct reflector *r, enum tm_code rc, cJSON *list,
                         const struct tm_err *err);

/* A due list that was never fetched (the group stopped): LIST again. */
void reflector_list_cancel(struct reflector *r);

/* True when easy is r's running watch. */
bool reflector_owns(const struct reflector *r, const CURL *easy);

/* The watch's transfer ended with result: decides what comes next. */
void reflector_watch_done(struct reflector *r, CURLM *multi, CURLcode result);

/* At group stop: takes a running watch out of multi (it resumes on the next
 * start from the last resourceVersion). */
void reflector_detach(struct reflector *r, CURLM *multi);

/* ---- list thread ---- */

/* The blocking, paged LIST (client: the list thread's own).  *list: the
 * whole list (the caller hands it to reflector_list_done). */
enum tm_code reflector_list_fetch(const struct reflector *r, struct kube_client *client,
                                  cJSON **list, struct tm_err *err) TM_MUST_CHECK;

/* ---- any thread ---- */

bool reflector_synced(struct reflector *r);
void reflector_last_rv(struct reflector *r, char *out, size_t n);
/* Sets the resourceVersion the next watch starts from (group stopped). */
void reflector_set_resume_rv(struct reflector *r, const char *rv);
void reflector_get_stats(struct reflector *r, struct informer_stats *out);

#endif
