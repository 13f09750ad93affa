/* rec: shared reconciler I/O (see rec.h). */
#include "reconcilers/rec.h"
#include "common/clock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/caps.h"
#include "engine/engine.h"
#include "kube/kube.h"
#include "runtime/informer.h"
#include "runtime/metrics.h"
/* mgr.h's header comment holds "reconcilers/" followed by "*.c" (a nested
 * comment opener); silence -Wcomment for that include only. */
#include "runtime/mgr.h"
#include "source/source.h"

/* --------------------------------------------------------------- objects */

static enum tm_code obj_path(struct tm_buf *b, const char *group, const char *version,
                             const char *resource, const char *ns, const char *name,
                             struct tm_err *err)
{
    struct kube_ref ref = {.group = group, .version = version, .ns = ns, .resource = resource,
                           .name = name};
    return kube_path(b, &ref, err);
}

enum tm_code rec_get_live(struct tm_proc *proc, const char *group, const char *version,
                          const char *resource, const char *ns, const char *name, cJSON **out,
                          struct tm_err *err)
{
    struct tm_buf path;
    tm_buf_init(&path, TM_CAP_SMALL);
    *out = NULL;
    enum tm_code rc = obj_path(&path, group, version, resource, ns, name, err);
    if (rc == TM_OK) {
        if (!proc->kube)
            rc = tm_err_set(err, TM_E_INTERNAL, "no API client");
        else
            rc = kube_get(proc->kube, tm_buf_str(&path), out, err);
    }
    tm_buf_release(&path);
    return rc;
}

enum tm_code rec_get(struct tm_proc *proc, const char *group, const char *version,
                     const char *resource, const char *ns, const char *name, cJSON **out,
                     struct tm_err *err)
{
    if (proc->mgr && mgr_informer(proc->mgr, group, version, resource))
        return mgr_cache_get(proc->mgr, group, version, resource, ns, name, out, err);
    return rec_get_live(proc, group, version, resource, ns, name, out, err);
}

struct foreach_ctx {
    void (*fn)(void *ctx, const cJSON *obj);
    void *ctx;
};

static bool foreach_cb(void *ctx, const cJSON *obj)
{
    struct foreach_ctx *f = ctx;
    f->fn(f->ctx, obj);
    return true;
}

enum tm_code rec_foreach_live(struct tm_proc *proc, const char *group, const char *version,
                              const char *resource, const char *ns,
                              void (*fn)(void *ctx, const cJSON *obj), void *ctx,
                              struct tm_err *err)
{
    struct tm_buf path;
    tm_buf_init(&path, TM_CAP_SMALL);
    cJSON *list = NULL;
    enum tm_code rc = obj_path(&path, group, version, resource, ns, NULL, err);
    if (rc == TM_OK && !proc->kube)
        rc = tm_err_set(err, TM_E_INTERNAL, "no API client");
    if (rc == TM_OK)
        rc = kube_list(proc->kube, tm_buf_str(&path), NULL, &list, err);
    if (rc == TM_OK) {
        const cJSON *it;
        cJSON_ArrayForEach(it, rec_at(list, "items")) fn(ctx, it);
    }
    cJSON_Delete(list);
    tm_buf_release(&path);
    return rc;
}

enum tm_code rec_foreach(struct tm_proc *proc, const char *group, const char *version,
                         const char *resource, const char *ns,
                         void (*fn)(void *ctx, const cJSON *obj), void *ctx, struct tm_err *err)
{
    struct informer *inf = proc->mgr ? mgr_informer(proc->mgr, group, version, resource) : NULL;
    if (inf) {
        struct foreach_ctx f = {fn, ctx};
        informer_foreach(inf, ns, foreach_cb, &f);
        return TM_OK;
    }
    return rec_foreach_live(proc, group, version, resource, ns, fn, ctx, err);
}

enum tm_code rec_foreach_indexed(struct tm_proc *proc, const char *group, const char *version,
                                 const char *resource, const char *ns, const char *path,
                                 const char *value, void (*fn)(void *ctx, const cJSON *obj),
                                 void *ctx, struct tm_err *err)
{
    struct informer *inf = proc->mgr ? mgr_informer(proc->mgr, group, version, resource) : NULL;
    struct foreach_ctx f = {fn, ctx};
    struct tm_err ierr;
    if (inf && informer_foreach_indexed(inf, path, ns, value, foreach_cb, &f, &ierr) == TM_OK)
        return TM_OK;
    return rec_foreach(proc, group, version, resource, ns, fn, ctx, err); /* no such index */
}

enum tm_code rec_get_subject(struct tm_proc *proc, const char *resource, const char *ns,
                             const char *name, cJSON **out, struct tm_err *err)
{
    *out = NULL;
    enum tm_code rc = rec_get(proc, REC_GROUP, REC_VERSION, resource, ns, name, out, err);
    return rc == TM_E_NOTFOUND ? TM_OK : rc;
}

enum tm_code rec_patch_status(struct tm_proc *proc, const char *resource, const char *ns,
                              const char *name, const char *rv, const cJSON *status,
                              cJSON **out, struct tm_err *err)
{
    struct tm_buf path;
    tm_buf_init(&path, TM_CAP_SMALL);
    cJSON *body = cJSON_CreateObject();
    enum tm_code rc = body ? TM_OK : tm_err_set(err, TM_E_NOMEM, "out of memory");
    if (rc == TM_OK && rv) {
        cJSON *md = cJSON_AddObjectToObject(body, "metadata");
        if (!md || !cJSON_AddStringToObject(md, "resourceVersion", rv))
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    if (rc == TM_OK && !cJSON_AddItemReferenceToObject(body, "status", (cJSON *)status))
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
    if (rc == TM_OK)
        rc = obj_path(&path, REC_GROUP, REC_VERSION, resource, ns, name, err);
    if (rc == TM_OK)
        rc = kube_patch_status(proc->kube, tm_buf_str(&path), KUBE_PATCH_MERGE, body, out, err);
    /* the cache was behind the object (its own last write not watched back
     * yet, or another writer): not a failure, the next round reads the
     * newer version (logged at info, not counted in reconcile errors) */
    if (rc == TM_E_CONFLICT && err)
        err->retry = TM_RETRY_WAITING;
    cJSON_Delete(body);
    tm_buf_release(&path);
    return rc;
}

void rec_event(struct tm_proc *proc, const cJSON *obj, const char *reason, bool warning,
               const char *action, const char *note)
{
    /* every Event is a transition: the log shows it too (a Warning at warn level) */
    log_fields(proc->log, warning ? LOG_WARN : LOG_INFO, "event", LF_S("kind", rec_str(obj, "kind")),
               LF_S("namespace", rec_str(obj, "metadata.namespace")),
               LF_S("name", rec_str(obj, "metadata.name")), LF_S("reason", reason),
               LF_S("note", note), LF_END);
    if (!proc->events)
        return; /* no recorder (tests without a manager): no Events */
    struct kube_event e = {
        .regarding = {.api_version = rec_str(obj, "apiVersion"),
                      .kind = rec_str(obj, "kind"),
                      .ns = rec_str(obj, "metadata.namespace"),
                      .name = rec_str(obj, "metadata.name"),
                      .uid = rec_str(obj, "metadata.uid"),
                      .resource_version = rec_str(obj, "metadata.resourceVersion")},
        .type = warning ? "Warning" : "Normal",
        .reason = reason,
        .action = action ? action : reason,
        .note = note,
    };
    /* queued for the eventer's sender: the reconcile never waits for the API server */
    enum kube_event_recorded r = kube_event_record(proc->events, &e, tm_wall_ms());
    if (r == KUBE_EVENT_QUEUED)
        return;
    if (proc->metrics)
        metrics_inc(metrics_counter(proc->metrics, "tidemark_events_dropped_total",
                                    "Events not recorded because the queue of Events waiting "
                                    "to be sent was full (the API server is slow or down).",
                                    NULL, NULL),
                    NULL);
    if (r == KUBE_EVENT_DROPPED_FIRST) /* once per burst: the next queued Event ends it */
        log_warn(proc->log, "events dropped: the queue of events to send is full",
                 LF_S("reason", reason), LF_I("queue", KUBE_EVENT_QUEUE_DEFAULT));
}

void rec_post_events(struct tm_proc *proc, const cJSON *obj, const struct rec_plan_event *events,
                     size_t nevents, const char *action)
{
    for (size_t i = 0; i < nevents; i++)
        rec_event(proc, obj, events[i].reason, events[i].warning, action, events[i].note);
}

/* ------------------------------------------------------------- changelog */

static const char *git_cache_dir(void)
{
    const char *d = getenv("TIDEMARK_GIT_CACHE");
    return d && *d ? d : "/tmp/tidemark-git-cache";
}

/* Parses the changelog from fs, mounted at spec.mountPath when given (so
 * FILENAMEs are what the app's Liquibase wrote), with spec.properties. */
static enum tm_code load_mounted(const struct chlog_fs *fs, const struct src_spec *spec,
                                 struct chlog **out, struct tm_err *err)
{
    if (!spec->mount_path)
        return chlog_load(fs, spec->changelog, &spec->props, out, err);
    struct chlog_fs mounted;
    enum tm_code rc = chlog_fs_mount_init(&mounted, fs, spec->mount_path, err);
    if (rc != TM_OK)
        return rc;
    size_t n = strlen(spec->mount_path) + strlen(spec->changelog) + 2;
    char *entry = malloc(n);
    if (!entry) {
        chlog_fs_mount_release(&mounted);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    snprintf(entry, n, "%s/%s", spec->mount_path, spec->changelog);
    rc = chlog_load(&mounted, entry, &spec->props, out, err);
    free(entry);
    chlog_fs_mount_release(&mounted);
    return rc;
}

/* True when the ConfigMap carries SRC_CONFIGMAP_LABEL=SRC_CONFIGMAP_LABEL_VALUE. */
static bool configmap_labelled(const cJSON *cm)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec_at(cm, "metadata.labels"),
                                                      SRC_CONFIGMAP_LABEL);
    return cJSON_IsString(v) && strcmp(v->valuestring, SRC_CONFIGMAP_LABEL_VALUE) == 0;
}

/* The files of a ConfigMap source into fs, loaded only on TM_OK.  The cache
 * holds only labelled ConfigMaps (dbschema_reconciler's selector), so a miss
 * is read live once: absent is "not found"; present without the label is a
 * terminal error telling the user to label it (labelling it is a watch event
 * that reconciles the DBSchema again). */
static enum tm_code fetch_configmap(struct tm_proc *proc, const char *ns,
                                    const struct src_spec *spec, struct chlog_fs *fs,
                                    struct tm_err *err)
{
    const char *name = spec->configmap_name;
    cJSON *obj = NULL;
    enum tm_code rc = rec_get(proc, "", "v1", "configmaps", ns, name, &obj, err);
    if (rc == TM_E_NOTFOUND && proc->mgr)
        rc = rec_get_live(proc, "", "v1", "configmaps", ns, name, &obj, err);
    if (rc == TM_E_NOTFOUND)
        tm_err_set(err, TM_E_NOTFOUND, "configmap %s not found", name);
    if (rc == TM_OK && !configmap_labelled(obj))
        rc = tm_err_set(err, TM_E_INVAL,
                        "configmap %s has no label %s: the controller watches only labelled "
                        "changelog ConfigMaps; run kubectl -n %s label configmap %s %s",
                        name, SRC_CONFIGMAP_SELECTOR, ns ? ns : "default", name,
                        SRC_CONFIGMAP_SELECTOR);
    if (rc == TM_OK)
        rc = src_load_configmap(obj, fs, err);
    cJSON_Delete(obj);
    return rc;
}

/* The files of a Git source into fs (loaded only on TM_OK) and the commit
 * into revision: at pin when it is a commit id, else at the spec's branch,
 * tag or commit.  Credentials come from the source's Secret, read live,
 * and are wiped once the fetch is done. */
static enum tm_code fetch_git(struct tm_proc *proc, const char *ns, struct src_spec *spec,
                              const char *pin, struct chlog_fs *fs,
                              char revision[REC_REVISION_MAX], struct tm_err *err)
{
    struct src_git_auth auth;
    cJSON *secret = NULL;
    enum tm_code rc = TM_OK;
    memset(&auth, 0, sizeof(auth));
    if (spec->git.secret_name) {
        rc = rec_get_live(proc, "", "v1", "secrets", ns, spec->git.secret_name, &secret, err);
        if (rc == TM_OK)
            rc = src_git_auth_from_secret(secret, &auth, err);
        if (rc != TM_OK)
            tm_err_prefix(err, "git secret %s", spec->git.secret_name);
    }
    if (rc == TM_OK && src_git_is_commit_id(pin)) {
        char *commit = strdup(pin);
        if (!commit) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            goto out;
        }
        free(spec->git.branch);
        free(spec->git.tag);
        free(spec->git.commit);
        spec->git.branch = spec->git.tag = NULL;
        spec->git.commit = commit;
    }
    if (rc == TM_OK) {
        struct src_git_opts go = {.cache_dir = git_cache_dir(),
                                  .allow_file = getenv("TIDEMARK_GIT_ALLOW_FILE") != NULL};
        rc = src_git_fetch(&go, &spec->git, spec->git.secret_name ? &auth : NULL, fs, revision,
                           err);
    }
out:
    src_git_auth_release(&auth);
    cJSON_Delete(secret);
    return rc;
}

enum tm_code rec_load_changelog(struct tm_proc *proc, const cJSON *dbschema, const char *pin,
                                struct chlog **out, char revision[REC_REVISION_MAX],
                                int64_t *git_interval_ms, char **summary,
                                enum rec_load_stage *stage, struct tm_err *err)
{
    enum rec_load_stage dummy;
    struct src_spec spec;
    struct chlog_fs fs;
    const char *ns = rec_str(dbschema, "metadata.namespace");
    enum tm_code rc;

    memset(&spec, 0, sizeof(spec));
    *out = NULL;
    revision[0] = '\0';
    if (git_interval_ms)
        *git_interval_ms = 0;
    if (summary)
        *summary = NULL;

    if (!stage)
        stage = &dummy;
    *stage = REC_LOAD_SPEC;
    rc = src_spec_parse(rec_at(dbschema, "spec"), &spec, err);
    if (rc != TM_OK)
        return rc;
    *stage = REC_LOAD_FETCH;
    if (summary)
        *summary = src_spec_summary(&spec);
    switch (spec.kind) {
    case SRC_KIND_INLINE:
        rc = src_load_inline(spec.inline_files, &fs, err);
        break;
    case SRC_KIND_CONFIGMAP:
        rc = fetch_configmap(proc, ns, &spec, &fs, err);
        break;
    case SRC_KIND_GIT:
        if (git_interval_ms)
            *git_interval_ms = spec.git.interval_ms;
        rc = fetch_git(proc, ns, &spec, pin, &fs, revision, err);
        break;
    }
    bool have_fs = rc == TM_OK;
    if (rc == TM_OK && spec.kind != SRC_KIND_GIT) /* Git names its revision: the commit */
        rc = src_content_revision(&fs, revision, err);
    if (rc == TM_OK) {
        *stage = REC_LOAD_PARSE;
        rc = load_mounted(&fs, &spec, out, err);
        if (rc != TM_OK && err)
            err->retry = TM_RETRY_TERMINAL;
        if (rc == TM_OK)
            *stage = REC_LOAD_OK;
    }
    if (have_fs)
        chlog_fs_mem_release(&fs);
    src_spec_release(&spec);
    return rc;
}

/* ------------------------------------------------------------- database */

static void wipe_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

/* The decoded value of key in secret, or NULL with err naming secret and key. */
static char *secret_value(const cJSON *secret, const char *secret_name, const char *key,
                          struct tm_err *err)
{
    const cJSON *data = rec_at(secret, "data");
    const cJSON *v = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, key) : NULL;
    if (!cJSON_IsString(v)) {
        tm_err_set(err, TM_E_NOTFOUND, "secret %s has no key \"%s\"", secret_name, key);
        return NULL;
    }
    char *s = NULL;
    if (tm_b64_decode(v->valuestring, TM_B64_LAX_TEXT, SIZE_MAX, &s, NULL, NULL) != TM_OK)
        tm_err_set(err, TM_E_INVAL, "secret %s key \"%s\" is not valid base64 text", secret_name,
                   key);
    return s;
}

/* tidemark_apply_queue_wait_seconds: from no wait to the half hour 1,000 queued applies may
 * take behind a few slots. */
static const double apply_wait_buckets[] = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};

/* An apply's turn in proc->applies on params' server; false (with *why and err set) when it
 * must wait or the server cannot be named.  The time it queued goes to the histogram. */
static bool admit_apply(struct tm_proc *proc, const struct pgx_params *params, const char *key,
                        struct rec_db *db, enum rec_conn_failure *why, struct tm_err *err)
{
    char server[APPLIM_SERVER_MAX];
    if (pgpool_server_name(params, server, sizeof(server), err) != TM_OK) {
        *why = REC_CONN_CREDENTIALS; /* a URL that does not parse */
        return false;
    }
    if (applim_enter(proc->applies, key, server, &db->apply) != APPLIM_START) {
        *why = REC_CONN_QUEUED;
        tm_err_setr(err, TM_E_TIMEOUT, TM_RETRY_WAITING,
                    "waiting for an apply slot: the applies allowed at once on %s or overall "
                    "are running (--max-concurrent-applies-per-server, --max-concurrent-applies)",
                    server);
        return false;
    }
    if (proc->metrics) {
        struct metrics_family *f = metrics_histogram(
            proc->metrics, "tidemark_apply_queue_wait_seconds",
            "From a DBRollout asking to apply or roll back (its first turn refused) to its "
            "apply starting.",
            NULL, apply_wait_buckets, sizeof(apply_wait_buckets) / sizeof(apply_wait_buckets[0]), NULL);
        metrics_observe(f, NULL, (double)db->apply.waited_ms / 1000.0);
    }
    return true;
}

static struct pgx_conn *connect_for(struct tm_proc *proc, const cJSON *inst, enum pgpool_use use,
                                    const char *apply_key, struct rec_db *db, const char **table,
                                    enum rec_conn_failure *why, struct tm_err *err)
{
    const char *ns = rec_str(inst, "metadata.namespace");
    const cJSON *conn = rec_at(inst, "spec.connection");
    const char *user_secret = rec_str(conn, "userSecretRef.name");
    const char *url_secret = rec_str(conn, "urlSecretRef.name");
    const char *secret_name = user_secret ? user_secret : url_secret;
    char port[24] = "";
    char *user = NULL, *password = NULL, *url = NULL;
    cJSON *secret = NULL;
    struct pgx_conn *c = NULL;

    memset(db, 0, sizeof(*db));
    db->use = use;
    *why = REC_CONN_CREDENTIALS;
    *table = rec_str(inst, "spec.changelogTable");
    if (!*table || !**table)
        *table = ENGINE_DEFAULT_TABLE;
    if (!secret_name) {
        tm_err_set(err, TM_E_INVAL, "spec.connection names no userSecretRef or urlSecretRef");
        goto out;
    }
    enum tm_code rc = rec_get_live(proc, "", "v1", "secrets", ns, secret_name, &secret, err);
    if (rc != TM_OK) {
        if (rc == TM_E_NOTFOUND)
            tm_err_set(err, TM_E_NOTFOUND, "secret %s not found", secret_name);
        else
            tm_err_prefix(err, "read secret %s", secret_name);
        if (rc != TM_E_NOTFOUND && err && err->retry == TM_RETRY_TRANSIENT)
            *why = REC_CONN_CONNECT;
        goto out;
    }
    if (user_secret) {
        const char *uk = rec_str(conn, "userSecretRef.usernameKey");
        const char *pk = rec_str(conn, "userSecretRef.passwordKey");
        user = secret_value(secret, secret_name, uk ? uk : "username", err);
        if (!user)
            goto out;
        password = secret_value(secret, secret_name, pk ? pk : "password", err);
        if (!password)
            goto out;
    } else {
        const char *k = rec_str(conn, "urlSecretRef.key");
        url = secret_value(secret, secret_name, k ? k : "url", err);
        if (!url)
            goto out;
    }
    int64_t p = rec_int(conn, "port", 0);
    if (p > 0)
        snprintf(port, sizeof(port), "%lld", (long long)p);
    struct pgx_params params = {
        .url = url,
        .host = rec_str(conn, "host"),
        .port = port[0] ? port : NULL,
        .dbname = rec_str(conn, "database"),
        .user = user,
        .password = password,
        .sslmode = rec_str(conn, "sslMode"),
        .connect_timeout_s = (int)rec_int(conn, "connectTimeoutSeconds", 10),
        .application_name = "tidemark",
    };
    if (apply_key && proc->applies && !admit_apply(proc, &params, apply_key, db, why, err))
        goto out;
    *why = REC_CONN_CONNECT;
    if (proc->pgpool) {
        db->lease = pgpool_acquire(proc->pgpool, &params, use, REC_POOL_WAIT_MS, err);
        c = pgpool_conn(db->lease);
    } else {
        c = pgx_conn_new(&params, err);
    }
    db->conn = c;
    if (!c && proc->applies)
        applim_leave(proc->applies, &db->apply); /* no session: the slot goes to the next */
    if (c)
        *why = REC_CONN_OK;
    else if (err && err->code == TM_E_AUTH)
        *why = REC_CONN_CREDENTIALS;
    else if (err && err->code == TM_E_TIMEOUT && err->retry == TM_RETRY_WAITING) {
        *why = REC_CONN_WAITING;
        tm_err_prefix(err, "waiting for a database connection");
    }
out:
    wipe_free(user);
    wipe_free(password);
    wipe_free(url);
    if (secret) {
        /* the decoded values are wiped; the base64 copies go with the tree */
        cJSON_Delete(secret);
    }
    return c;
}

struct pgx_conn *rec_connect(struct tm_proc *proc, const cJSON *inst, enum pgpool_use use,
                             struct rec_db *db, const char **table, enum rec_conn_failure *why,
                             struct tm_err *err)
{
    return connect_for(proc, inst, use, NULL, db, table, why, err);
}

struct pgx_conn *rec_connect_apply(struct tm_proc *proc, const cJSON *inst, const char *key,
                                   struct rec_db *db, const char **table,
                                   enum rec_conn_failure *why, struct tm_err *err)
{
    return connect_for(proc, inst, PGPOOL_APPLY, key, db, table, why, err);
}

void rec_release_apply_slot(struct tm_proc *proc, struct rec_db *db)
{
    if (!db || !proc->applies || !db->apply.held)
        return;
    log_info(proc->log, "apply slot released", LF_S("server", db->apply.server));
    applim_leave(proc->applies, &db->apply);
}

void rec_disconnect(struct tm_proc *proc, struct rec_db *db, bool reusable)
{
    if (!db)
        return;
    if (db->lease)
        pgpool_release(proc->pgpool, db->lease, reusable);
    else
        pgx_conn_free(db->conn);
    rec_release_apply_slot(proc, db); /* after the session closed: the next apply's slot */
    memset(db, 0, sizeof(*db));
}

bool rec_conn_lost(const struct tm_err *err)
{
    const char *st = err ? err->sqlstate : "";
    return strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
           strcmp(st, "57P03") == 0;
}
