/* kube: the Kubernetes API client (libcurl + cJSON + libyaml), prefix kube_.
 *
 * Layers, bottom up, each usable alone:
 *   config   where the API server is and how to authenticate (kubeconfig or
 *            in-cluster service account).  Immutable after load except the
 *            service-account token, re-read under a mutex when it rotates.
 *            One config is shared by every client and watch of a process.
 *   path     a builder for /api/v1/... and /apis/G/V/... paths with escaping.
 *   client   one per thread: a reused curl easy handle (keep-alive, warm TLS)
 *            for plain JSON requests.  Responses are cJSON trees the caller
 *            owns.  Non-2xx answers become struct tm_err from the API's Status.
 *   watch    a pure line framer (chunks in, events out; unit-testable), and a
 *            watch object owning one curl easy handle that the runtime adds
 *            to its own curl multi handle (several watches, one thread).
 *   events   events.k8s.io/v1 Events with de-duplication into `series`,
 *            recorded without blocking and sent by one thread per eventer.
 *   lease    typed get/create/update of coordination.k8s.io/v1 Leases; the
 *            election algorithm lives in runtime/.
 *
 * Why libcurl directly and no generated client: we need a handful of verbs
 * on raw JSON; typed access is done by the callers on cJSON.
 *
 * Invariants: TLS is verified unless the kubeconfig explicitly sets
 * insecure-skip-tls-verify; tokens and keys are never logged, never put in
 * error messages, never written to files (-data PEM goes to curl as blobs).
 * Threads: a config is thread-safe; a client, a watch and a framer are used
 * by one thread at a time; an eventer is thread-safe (own mutex).
 * curl_global_init must be called once before any thread uses this module
 * (kube_global_init does it).
 *
 * Not done here: informers, caches, work queues, leader election, retries
 * with backoff (callers decide from tm_err.retry), strategic merge patch. */
#ifndef TM_KUBE_KUBE_H
#define TM_KUBE_KUBE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "common/buf.h"
#include "common/err.h"

/* ------------------------------------------------------------------ global */

/* curl_global_init(CURL_GLOBAL_DEFAULT), once; call before threads start.
 * Safe to call again (later calls do nothing). */
enum tm_code kube_global_init(struct tm_err *err) TM_MUST_CHECK;

/* ------------------------------------------------------------------ config */

struct kube_config; /* opaque */

/* Counts API requests: called once per finished HTTP exchange (also for
 * watches, when they end) with a fixed verb name ("get", "list", "create",
 * "update", "patch", "apply", "delete", "watch") and the HTTP status, or 0
 * when no response came (connection error, timeout).  Called from whatever
 * thread made the request: must be thread-safe and must not block. */
typedef void (*kube_request_hook)(void *ctx, const char *verb, int http_status);

struct kube_config_opts {
    const char *kubeconfig;   /* --kubeconfig path; NULL: $KUBECONFIG (first of a
                                 colon list), else in-cluster when
                                 KUBERNETES_SERVICE_HOST is set, else ~/.kube/config */
    const char *context;      /* named context; NULL: current-context */
    const char *incluster_dir;/* NULL: /var/run/secrets/kubernetes.io/serviceaccount */
};

/* Loads a config following opts (NULL opts = all defaults).  Returns NULL and
 * fills err (TM_E_IO unreadable file, TM_E_PARSE bad YAML with file:line:col,
 * TM_E_INVAL missing/contradictory fields, naming which) on failure. */
struct kube_config *kube_config_load(const struct kube_config_opts *opts, struct tm_err *err);

/* Parses kubeconfig YAML from memory (name is used in messages; relative
 * certificate/token paths resolve against base_dir, NULL = cwd). context NULL:
 * current-context.  Files named in it (certificate-authority, tokenFile,
 * client-certificate, client-key) are read now, into memory. */
struct kube_config *kube_config_from_kubeconfig(const char *data, size_t len, const char *name,
                                                const char *base_dir, const char *context,
                                                struct tm_err *err);

/* Reads a kubeconfig file (path must exist) and calls the function above. */
struct kube_config *kube_config_from_file(const char *path, const char *context,
                                          struct tm_err *err);

/* In-cluster config: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
 * dir/{token,ca.crt,namespace} (dir NULL = the standard service-account dir).
 * The token file is re-read at most every 60 s and when kube_config_token is
 * asked to refresh (after a 401). */
struct kube_config *kube_config_in_cluster(const char *dir, struct tm_err *err);

/* Frees cfg (NULL ok).  Every client and watch made from it must be freed first. */
void kube_config_free(struct kube_config *cfg);

/* Sets the request-count hook (before clients are made; not thread-safe). */
void kube_config_set_request_hook(struct kube_config *cfg, kube_request_hook fn, void *ctx);

/* Borrowed strings, valid while cfg lives. */
const char *kube_config_server(const struct kube_config *cfg);    /* "https://host:port" */
const char *kube_config_namespace(const struct kube_config *cfg); /* "default" when unset */
bool kube_config_insecure(const struct kube_config *cfg);
/* What authenticates us, for messages: "token", "token-file", "client-cert", "none". */
const char *kube_config_auth_kind(const struct kube_config *cfg);

#define KUBE_TOKEN_MAX 16384

/* Copies the current bearer token into out (n bytes, NUL-terminated; "" when
 * the config uses no token).  refresh true re-reads a token file now (after a
 * 401); otherwise it is re-read when older than 60 s.  Thread-safe.
 * TM_E_IO when a token file cannot be read, TM_E_TOOBIG when it does not fit. */
enum tm_code kube_config_token(struct kube_config *cfg, bool refresh, char *out, size_t n,
                               struct tm_err *err) TM_MUST_CHECK;

/* Sets what every request to this server shares on an easy handle: TLS
 * verification (only the kubeconfig's CA when it gives one), client
 * certificate/key blobs, tls-server-name, CURLOPT_NOSIGNAL, TCP keepalive.
 * Not the URL, headers or timeouts; the bearer token is NOT set here (see
 * kube_config_token).  For callers that drive their own handles; clients and
 * watches use it internally. */
enum tm_code kube_config_setup_easy(const struct kube_config *cfg, CURL *easy,
                                    struct tm_err *err) TM_MUST_CHECK;

/* -------------------------------------------------------------------- path */

/* Names an API object or collection.  group "" or NULL = core (/api/v1);
 * ns NULL = cluster-scoped or all namespaces; name NULL = the collection;
 * subresource (e.g. "status") needs a name. */
struct kube_ref {
    const char *group;
    const char *version;
    const char *ns;
    const char *resource;  /* plural, lowercase: "configmaps", "dbrollouts" */
    const char *name;
    const char *subresource;
};

/* Appends the path of ref to out (reset first), every segment percent-encoded
 * (RFC 3986 unreserved characters kept).  TM_E_INVAL when version/resource is
 * missing, a segment is empty, "." or "..", or subresource has no name. */
enum tm_code kube_path(struct tm_buf *out, const struct kube_ref *ref,
                       struct tm_err *err) TM_MUST_CHECK;

/* Appends "?key=value" or "&key=value" (value percent-encoded) to a path. */
enum tm_code kube_path_query(struct tm_buf *out, const char *key, const char *value,
                             struct tm_err *err) TM_MUST_CHECK;

/* Percent-encodes s (all but A-Za-z0-9-._~) onto out. */
enum tm_code kube_escape(struct tm_buf *out, const char *s) TM_MUST_CHECK;

/* ------------------------------------------------------------------ errors */

/* Turns an API answer into err: http_status set, message
 * "<status> <reason>: <Status.message>" (reason from the Status body, else the
 * HTTP reason phrase).  Code/retry: 404 NOTFOUND, 409 CONFLICT (both
 * TERMINAL: the caller decides), 401/403 AUTH TERMINAL, 410 NOTFOUND
 * TRANSIENT with reason Expired (relist), 422/400 INVAL TERMINAL, 429 and 5xx
 * HTTP TRANSIENT, other HTTP TERMINAL.  body may be NULL, empty, not JSON or
 * not a Status: the message then uses the status line only.  With
 * http_status 200 the code comes from the Status body (an ERROR event's
 * object inside a watch stream).  Never fails; returns the code (err may be
 * NULL). */
enum tm_code kube_status_to_err(int http_status, const char *body, size_t len,
                                struct tm_err *err);

/* The reason string of the last Status seen ("NotFound", "AlreadyExists",
 * "Conflict", "Invalid", "Expired", ...): the first word after the status
 * code in err->msg.  Copies into out (n bytes); "" when none. */
void kube_err_reason(const struct tm_err *err, char *out, size_t n);

/* ------------------------------------------------------------------ client */

struct kube_client; /* opaque; one per thread */

struct kube_client_opts {
    long timeout_ms;          /* whole request; 0 = 30000 */
    long connect_timeout_ms;  /* 0 = 10000 */
    const char *user_agent;   /* NULL = "tidemark/<version>" */
    const char *field_manager;/* server-side apply manager; NULL = "tidemark" */
    int max_retry_after_s;    /* longest Retry-After honoured on 429; 0 = 10 */
    int max_429_retries;      /* 0 = 3; -1 = never retry 429 */
};

/* Makes a client over cfg (borrowed: must outlive the client).  opts NULL =
 * defaults.  NULL + err on failure. */
struct kube_client *kube_client_new(struct kube_config *cfg, const struct kube_client_opts *opts,
                                    struct tm_err *err);
void kube_client_free(struct kube_client *c);

/* One request.  method "GET", "POST", ...; verb the metrics label; path
 * starts with "/" (query included); body/content_type may be NULL.  On 2xx
 * with a JSON body and out != NULL, *out is the parsed tree (caller
 * cJSON_Deletes it; NULL when the body was empty).  Non-2xx → err via
 * kube_status_to_err, prefixed "<verb> <path>".  Connection problems →
 * TM_E_IO TRANSIENT; a body past TM_CAP_HTTP_BODY → TM_E_TOOBIG.  A 401 with
 * a token file re-reads the token and retries once; a 429 waits Retry-After
 * (capped) and retries (bounded).  *http_status (NULL ok) gets the last code. */
enum tm_code kube_request(struct kube_client *c, const char *verb, const char *method,
                          const char *path, const char *content_type, const char *body,
                          size_t body_len, cJSON **out, int *http_status,
                          struct tm_err *err) TM_MUST_CHECK;

/* GET one object. */
enum tm_code kube_get(struct kube_client *c, const char *path, cJSON **out,
                      struct tm_err *err) TM_MUST_CHECK;

struct kube_list_opts {
    const char *label_selector; /* NULL = none */
    const char *field_selector; /* NULL = none */
    long limit;                 /* page size; 0 = 500 */
    const char *resource_version; /* NULL = most recent (consistent read) */
};

/* Lists a collection path (no query), following `continue` across pages.
 * *out is the first page's List object whose "items" holds every item of
 * every page and whose metadata.resourceVersion is the list's RV (the one
 * to start a watch from); metadata.continue removed.  A 410 on a continue
 * token (compacted) restarts from the first page once, then fails. */
enum tm_code kube_list(struct kube_client *c, const char *path, const struct kube_list_opts *o,
                       cJSON **out, struct tm_err *err) TM_MUST_CHECK;

/* POST body to a collection path.  *out (NULL ok) = created object. */
enum tm_code kube_create(struct kube_client *c, const char *path, const cJSON *body, cJSON **out,
                         struct tm_err *err) TM_MUST_CHECK;

/* PUT body to an object path (metadata.resourceVersion in body makes it
 * conditional: stale → TM_E_CONFLICT). */
enum tm_code kube_update(struct kube_client *c, const char *path, const cJSON *body, cJSON **out,
                         struct tm_err *err) TM_MUST_CHECK;

enum kube_patch_type {
    KUBE_PATCH_MERGE = 0, /* application/merge-patch+json (RFC 7386) */
    KUBE_PATCH_JSON,      /* application/json-patch+json (RFC 6902), body is an array */
};

enum tm_code kube_patch(struct kube_client *c, const char *path, enum kube_patch_type type,
                        const cJSON *body, cJSON **out, struct tm_err *err) TM_MUST_CHECK;

/* Server-side apply: PATCH application/apply-patch+yaml with the JSON body,
 * ?fieldManager=<opts.field_manager>&force=true.  body must carry apiVersion,
 * kind and metadata.name. */
enum tm_code kube_apply(struct kube_client *c, const char *path, const cJSON *body, cJSON **out,
                        struct tm_err *err) TM_MUST_CHECK;

/* DELETE with propagationPolicy ("Foreground", "Background", "Orphan"; NULL =
 * server default).  *out (NULL ok) = the answer (object or Status). */
enum tm_code kube_delete(struct kube_client *c, const char *path, const char *propagation,
                         cJSON **out, struct tm_err *err) TM_MUST_CHECK;

/* Status subresource: the same as kube_update/kube_patch on path + "/status"
 * (path names the object, not the subresource). */
enum tm_code kube_update_status(struct kube_client *c, const char *path, const cJSON *body,
                                cJSON **out, struct tm_err *err) TM_MUST_CHECK;
enum tm_code kube_patch_status(struct kube_client *c, const char *path,
                               enum kube_patch_type type, const cJSON *body, cJSON **out,
                               struct tm_err *err) TM_MUST_CHECK;

/* Edits obj in place (a fresh copy read from the server; the function owns
 * nothing else).  Sets *changed false to skip the write.  A non-OK return
 * aborts kube_update_with_retry with that error. */
typedef enum tm_code (*kube_mutate_fn)(cJSON *obj, void *ctx, bool *changed, struct tm_err *err);

#define KUBE_UPDATE_ATTEMPTS 5

/* GET path, mutate, PUT (conditional on the read resourceVersion); on 409
 * read again and re-apply the mutation, at most KUBE_UPDATE_ATTEMPTS times
 * (then TM_E_CONFLICT TRANSIENT).  status true: PUT to path + "/status".
 * *out (NULL ok) = the object as written (or as read when unchanged). */
enum tm_code kube_update_with_retry(struct kube_client *c, const char *path, bool status,
                                    kube_mutate_fn fn, void *ctx, cJSON **out,
                                    struct tm_err *err) TM_MUST_CHECK;

/* ------------------------------------------------------------------- watch */

enum kube_watch_type {
    KUBE_WATCH_ADDED = 0,
    KUBE_WATCH_MODIFIED,
    KUBE_WATCH_DELETED,
    KUBE_WATCH_BOOKMARK,
    KUBE_WATCH_ERROR,   /* object is a Status other than 410 */
    KUBE_WATCH_EXPIRED, /* ERROR whose Status code is 410: relist, then watch again */
};

const char *kube_watch_type_name(enum kube_watch_type t);

struct kube_watch_event {
    enum kube_watch_type type;
    /* The event's object.  The framer deletes it after the callback returns
     * unless the callback takes it by setting ev->object = NULL. */
    cJSON *object;
    /* object.metadata.resourceVersion (borrowed from object; "" when none). */
    const char *resource_version;
};

/* Called once per complete event, in stream order.  Returning non-OK stops
 * the framer (feed returns that code; err as filled by the callback). */
typedef enum tm_code (*kube_watch_fn)(void *ctx, struct kube_watch_event *ev,
                                      struct tm_err *err);

/* A pure framer: bytes in (any split, even mid-UTF-8), complete lines out.
 * Blank lines are skipped.  Holds at most line_cap bytes of an unfinished
 * line.  After a failure every further feed returns the same error. */
struct kube_watch_framer {
    struct tm_buf line;   /* private */
    kube_watch_fn fn;     /* private */
    void *ctx;            /* private */
    struct tm_err failed; /* private: sticky error */
    uint64_t events;      /* events delivered so far */
};

/* line_cap 0 = TM_CAP_WATCH_LINE. */
void kube_watch_framer_init(struct kube_watch_framer *f, size_t line_cap, kube_watch_fn fn,
                            void *ctx);

/* Feeds n bytes.  TM_E_TOOBIG when a line passes the cap; TM_E_PARSE when a
 * line is not a {"type","object"} event; else what the callback returned. */
enum tm_code kube_watch_framer_feed(struct kube_watch_framer *f, const char *data, size_t n,
                                    struct tm_err *err) TM_MUST_CHECK;

/* At end of stream: a final line without "\n" is parsed as an event too. */
enum tm_code kube_watch_framer_finish(struct kube_watch_framer *f,
                                      struct tm_err *err) TM_MUST_CHECK;

/* Frees the line buffer; f may be re-initialised. */
void kube_watch_framer_release(struct kube_watch_framer *f);

/* Parses one line (no "\n") into an event (pure; used by the framer and the
 * fuzzers).  On TM_OK ev->object is owned by the caller (cJSON_Delete). */
enum tm_code kube_watch_parse_line(const char *line, size_t len, struct kube_watch_event *ev,
                                   struct tm_err *err) TM_MUST_CHECK;

/* One watch request: GET path?watch=1&resourceVersion=RV&allowWatchBookmarks=
 * true&timeoutSeconds=N streamed through a curl write callback into a
 * framer.  Lifecycle, for a runtime with one curl multi handle:
 *   w = kube_watch_new(cfg, &opts, err)
 *   kube_watch_start(w, multi, err)        adds w's easy handle to multi
 *   ... curl_multi_poll / perform; events arrive in opts.on_event ...
 *   on CURLMSG_DONE for easy == kube_watch_easy(w):
 *       end = kube_watch_done(w, multi, msg->data.result, err)
 *   then: KUBE_WATCH_END_CLOSED  -> start again (from kube_watch_last_rv)
 *         KUBE_WATCH_END_EXPIRED -> relist, kube_watch_set_rv, start again
 *         KUBE_WATCH_END_ERROR   -> err says why; back off, start again
 *                                   (after a 401 the next start re-reads a token file)
 * kube_watch_run() does the same with a private loop (blocking; tests/CLI). */
struct kube_watch; /* opaque */

struct kube_watch_opts {
    const char *path;             /* collection path, no query (kube_path) */
    const char *resource_version; /* start RV; NULL/"" = from now (no RV sent) */
    const char *label_selector;   /* NULL = none */
    const char *field_selector;   /* NULL = none */
    int timeout_seconds;          /* server-side end; 0 = 300 */
    bool no_bookmarks;            /* default: allowWatchBookmarks=true */
    kube_watch_fn on_event;       /* required */
    void *ctx;
    const atomic_bool *stop;      /* NULL ok: when true the transfer aborts (END_CANCELLED) */
};

enum kube_watch_end {
    KUBE_WATCH_END_CLOSED = 0, /* server ended it (timeoutSeconds, EOF): resume from last RV */
    KUBE_WATCH_END_EXPIRED,    /* 410 (HTTP or ERROR event): relist */
    KUBE_WATCH_END_ERROR,      /* err says why (HTTP status, network, framing, callback) */
    KUBE_WATCH_END_CANCELLED,  /* stop flag seen */
};

/* Copies opts' strings.  cfg is borrowed (must outlive w).  NULL + err. */
struct kube_watch *kube_watch_new(struct kube_config *cfg, const struct kube_watch_opts *opts,
                                  struct tm_err *err);

/* Removes w from its multi handle if still added, frees it. NULL ok. */
void kube_watch_free(struct kube_watch *w);

/* Builds the request (current RV, fresh token) and adds the easy handle to
 * multi (borrowed).  TM_E_INVAL if already started and not done. */
enum tm_code kube_watch_start(struct kube_watch *w, CURLM *multi,
                              struct tm_err *err) TM_MUST_CHECK;

/* The easy handle (to match CURLMSG_DONE messages); never NULL. */
CURL *kube_watch_easy(const struct kube_watch *w);

/* Finishes a transfer: removes the handle from multi, flushes the framer,
 * maps the outcome.  result is msg->data.result. */
enum kube_watch_end kube_watch_done(struct kube_watch *w, CURLM *multi, CURLcode result,
                                    struct tm_err *err);

/* Blocking: start + drive a private multi handle until done.  */
enum kube_watch_end kube_watch_run(struct kube_watch *w, struct tm_err *err);

/* Last resourceVersion seen (event or bookmark), else the start RV; borrowed. */
const char *kube_watch_last_rv(const struct kube_watch *w);

/* Sets the RV the next start uses (after a relist).  TM_E_TOOBIG if too long. */
enum tm_code kube_watch_set_rv(struct kube_watch *w, const char *rv,
                               struct tm_err *err) TM_MUST_CHECK;

/* ------------------------------------------------------------------ events */

#define KUBE_EVENT_NOTE_MAX 1024
#define KUBE_EVENT_SERIES_WINDOW_MS (10 * 60 * 1000)

struct kube_event_regarding {
    const char *api_version;      /* "tidemark.dev/v1alpha1" */
    const char *kind;
    const char *ns;               /* NULL for cluster-scoped: event goes to "default" */
    const char *name;
    const char *uid;
    const char *resource_version; /* NULL ok */
};

struct kube_event {
    struct kube_event_regarding regarding;
    const char *type;   /* "Normal" or "Warning" */
    const char *reason; /* CamelCase, e.g. "SchemaApplied" */
    const char *action; /* e.g. "Apply", "Rollback" */
    const char *note;   /* human text; truncated to 1 kB (UTF-8 safe) */
};

struct kube_eventer; /* opaque, thread-safe */

/* Events a recorder holds for its sender before it drops new ones. */
#define KUBE_EVENT_QUEUE_DEFAULT 1000
/* The sender's whole-request timeout: what kube_eventer_free may wait past a flush. */
#define KUBE_EVENT_SEND_TIMEOUT_MS 10000

/* controller NULL = "tidemark.dev/controller"; instance NULL = $POD_NAME,
 * else the hostname.  No sender runs until kube_eventer_start. */
struct kube_eventer *kube_eventer_new(const char *controller, const char *instance,
                                      struct tm_err *err);
/* Stops the sender (it finishes the request it is in, at most
 * KUBE_EVENT_SEND_TIMEOUT_MS), drops what is still queued (flush first to send
 * it), joins the thread, frees ev.  No thread may record into ev any more.  NULL ok. */
void kube_eventer_free(struct kube_eventer *ev);

/* Called on the sender thread for an Event the API refused or could not take
 * (e and err are borrowed for the call). */
typedef void (*kube_event_failed_fn)(void *ctx, const struct kube_event *e,
                                     const struct tm_err *err);

/* Starts ev's sender thread, with its own client over cfg (borrowed: must outlive ev),
 * sending recorded Events one at a time in order through kube_event_emit (so with its
 * series de-duplication).  queue_max 0 = KUBE_EVENT_QUEUE_DEFAULT.  on_failed NULL: failures
 * are only counted.  Call once, before any kube_event_record.  TM_E_NOMEM, or the
 * client's error. */
enum tm_code kube_eventer_start(struct kube_eventer *ev, struct kube_config *cfg,
                                size_t queue_max, kube_event_failed_fn on_failed, void *ctx,
                                struct tm_err *err) TM_MUST_CHECK;

enum kube_event_recorded {
    KUBE_EVENT_QUEUED = 0,
    KUBE_EVENT_DROPPED,       /* the queue was full: not recorded (counted) */
    KUBE_EVENT_DROPPED_FIRST, /* the same, and the first drop of a burst: worth a log line */
};

/* Records e, seen at now_ms (the caller's wall clock, ms since the epoch), for the sender:
 * copies it and returns at once, never blocking on the API server.  A full queue (or an
 * eventer that was never started and filled up) drops it.  Thread-safe. */
enum kube_event_recorded kube_event_record(struct kube_eventer *ev, const struct kube_event *e,
                                           int64_t now_ms);

/* Waits until every Event recorded so far was sent (or failed), at most timeout_ms.
 * Returns how many are still queued or being sent (0: all done).  Without a running
 * sender it returns the queue's length at once. */
size_t kube_eventer_flush(struct kube_eventer *ev, int64_t timeout_ms);

struct kube_eventer_stats {
    size_t queued;    /* waiting for the sender now */
    uint64_t dropped; /* refused by kube_event_record (queue full) since ev was made */
    uint64_t failed;  /* the API server refused or could not take them */
};
struct kube_eventer_stats kube_eventer_stats(struct kube_eventer *ev);

/* Sends e now through client c (the caller's thread's client): the sender's
 * step, also usable alone.  A repeat of
 * (regarding.uid, reason, type, note) within KUBE_EVENT_SERIES_WINDOW_MS of
 * the previous one PATCHes that Event's series {count, lastObservedTime};
 * otherwise (or when that Event is gone) a new Event is created.  now_ms is
 * the caller's clock (ms since the epoch).  TM_E_INVAL for a bad type or
 * missing reason/name. */
enum tm_code kube_event_emit(struct kube_eventer *ev, struct kube_client *c,
                             const struct kube_event *e, int64_t now_ms,
                             struct tm_err *err) TM_MUST_CHECK;

/* Formats µs since the epoch as a MicroTime "2006-01-02T15:04:05.000000Z"
 * (out needs 32 bytes) / seconds as an RFC 3339 Time "2006-01-02T15:04:05Z". */
void kube_time_micro(int64_t unix_us, char out[32]);
void kube_time_rfc3339(int64_t unix_s, char out[32]);
/* Parses RFC 3339 with optional fraction and Z/±hh:mm into µs since the epoch. */
bool kube_time_parse(const char *s, int64_t *unix_us);

/* ------------------------------------------------------------------ leases */

#define KUBE_NAME_MAX 254
#define KUBE_RV_MAX 64

/* A coordination.k8s.io/v1 Lease, typed.  Times in µs since the epoch, 0 = unset. */
struct kube_lease {
    char ns[KUBE_NAME_MAX];
    char name[KUBE_NAME_MAX];
    char resource_version[KUBE_RV_MAX]; /* "" on create */
    char holder[KUBE_NAME_MAX];         /* spec.holderIdentity, "" = none */
    int duration_s;                     /* spec.leaseDurationSeconds, 0 = unset */
    int64_t acquire_us;                 /* spec.acquireTime */
    int64_t renew_us;                   /* spec.renewTime */
    int transitions;                    /* spec.leaseTransitions */
};

/* TM_E_NOTFOUND when absent. */
enum tm_code kube_lease_get(struct kube_client *c, const char *ns, const char *name,
                            struct kube_lease *out, struct tm_err *err) TM_MUST_CHECK;
/* TM_E_CONFLICT (AlreadyExists, 409) when someone created it first. *out gets
 * the stored lease (with its resourceVersion); out may equal in. */
enum tm_code kube_lease_create(struct kube_client *c, const struct kube_lease *in,
                               struct kube_lease *out, struct tm_err *err) TM_MUST_CHECK;
/* PUT with in->resource_version: TM_E_CONFLICT when it changed meanwhile. */
enum tm_code kube_lease_update(struct kube_client *c, const struct kube_lease *in,
                               struct kube_lease *out, struct tm_err *err) TM_MUST_CHECK;

#endif
