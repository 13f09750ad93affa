/* kube watch: the event-stream framer and the watch request (see kube.h).
 *
 * The framer is pure: curl hands the write callback chunks of any size, split
 * anywhere (inside a line, inside a UTF-8 sequence), so bytes are gathered in
 * a bounded tm_buf until "\n" and only whole lines are parsed.  When a chunk
 * holds whole lines and nothing is pending they are parsed in place, without
 * a copy.  A line longer than the cap is an error (never a crash, never an
 * unbounded allocation), and the error is sticky.
 *
 * The watch owns one easy handle; the runtime adds it to its multi handle
 * (kube_watch_start) and hands back the CURLMSG_DONE result (kube_watch_done).
 * kube_watch_done is the one place that decides a watch has expired (HTTP
 * 410, or an ERROR event with code 410 anywhere in the stream): callers
 * relist on KUBE_WATCH_END_EXPIRED and keep no 410 logic of their own.
 * No CURLOPT_TIMEOUT: the server ends the stream after timeoutSeconds, and a
 * dead connection is caught by LOW_SPEED_LIMIT 1 byte over a window a bit
 * longer than that.  A non-200 answer is a Status, collected separately. */
#include "kube/kube_int.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/caps.h"

#define KUBE_WATCH_RV_MAX 256

const char *kube_watch_type_name(enum kube_watch_type t)
{
    switch (t) {
    case KUBE_WATCH_ADDED: return "ADDED";
    case KUBE_WATCH_MODIFIED: return "MODIFIED";
    case KUBE_WATCH_DELETED: return "DELETED";
    case KUBE_WATCH_BOOKMARK: return "BOOKMARK";
    case KUBE_WATCH_ERROR: return "ERROR";
    case KUBE_WATCH_EXPIRED: return "EXPIRED";
    }
    return "?";
}

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    }
    return true;
}

enum tm_code kube_watch_parse_line(const char *line, size_t len, struct kube_watch_event *ev,
                                   struct tm_err *err)
{
    ev->object = NULL;
    ev->resource_version = "";
    ev->type = KUBE_WATCH_ERROR;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!root)
        return tm_err_setr(err, TM_E_PARSE, TM_RETRY_TRANSIENT,
                           "watch event: not JSON (%zu bytes)", len);
    enum tm_code rc = TM_OK;
    if (!end || !is_blank(end, len - (size_t)(end - line))) {
        rc = tm_err_setr(err, TM_E_PARSE, TM_RETRY_TRANSIENT,
                         "watch event: trailing data after the JSON object");
        goto out;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "object");
    if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
        rc = tm_err_setr(err, TM_E_PARSE, TM_RETRY_TRANSIENT,
                         "watch event: expected {\"type\": string, \"object\": object}");
        goto out;
    }
    const char *t = type->valuestring;
    if (strcmp(t, "ADDED") == 0) {
        ev->type = KUBE_WATCH_ADDED;
    } else if (strcmp(t, "MODIFIED") == 0) {
        ev->type = KUBE_WATCH_MODIFIED;
    } else if (strcmp(t, "DELETED") == 0) {
        ev->type = KUBE_WATCH_DELETED;
    } else if (strcmp(t, "BOOKMARK") == 0) {
        ev->type = KUBE_WATCH_BOOKMARK;
    } else if (strcmp(t, "ERROR") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
        ev->type = cJSON_IsNumber(code) && code->valuedouble == 410 ? KUBE_WATCH_EXPIRED
                                                                    : KUBE_WATCH_ERROR;
    } else {
        char tn[32];
        snprintf(tn, sizeof(tn), "%s", t);
        rc = tm_err_setr(err, TM_E_PARSE, TM_RETRY_TRANSIENT, "watch event: unknown type \"%s\"",
                         tn);
        goto out;
    }
    ev->object = cJSON_DetachItemViaPointer(root, obj);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(ev->object, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
    if (cJSON_IsString(rv))
        ev->resource_version = rv->valuestring;
out:
    cJSON_Delete(root);
    return rc;
}

void kube_watch_framer_init(struct kube_watch_framer *f, size_t line_cap, kube_watch_fn fn,
                            void *ctx)
{
    tm_buf_init(&f->line, line_cap ? line_cap : TM_CAP_WATCH_LINE);
    f->fn = fn;
    f->ctx = ctx;
    tm_err_clear(&f->failed);
    f->events = 0;
}

void kube_watch_framer_release(struct kube_watch_framer *f)
{
    if (!f)
        return;
    tm_buf_release(&f->line);
}

static enum tm_code framer_fail(struct kube_watch_framer *f, struct tm_err *e, struct tm_err *err)
{
    f->failed = *e;
    if (f->failed.code == TM_OK)
        f->failed.code = TM_E_INTERNAL; /* a callback returned an error but set no err */
    tm_buf_release(&f->line);
    if (err)
        *err = f->failed;
    return f->failed.code;
}

static enum tm_code framer_line(struct kube_watch_framer *f, const char *s, size_t n,
                                struct tm_err *err)
{
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (is_blank(s, n))
        return TM_OK;
    struct tm_err e;
    tm_err_clear(&e);
    struct kube_watch_event ev;
    enum tm_code rc = kube_watch_parse_line(s, n, &ev, &e);
    if (rc != TM_OK)
        return framer_fail(f, &e, err);
    f->events++;
    rc = f->fn(f->ctx, &ev, &e);
    cJSON_Delete(ev.object);
    if (rc != TM_OK) {
        if (e.code == TM_OK)
            tm_err_set(&e, rc, "watch event handler failed");
        return framer_fail(f, &e, err);
    }
    return TM_OK;
}

enum tm_code kube_watch_framer_feed(struct kube_watch_framer *f, const char *data, size_t n,
                                    struct tm_err *err)
{
    if (f->failed.code != TM_OK) {
        if (err)
            *err = f->failed;
        return f->failed.code;
    }
    size_t cap = f->line.cap;
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t seg = nl ? (size_t)(nl - data) : n;
        struct tm_err e;
        tm_err_clear(&e);
        if (f->line.len + seg > cap) {
            tm_err_setr(&e, TM_E_TOOBIG, TM_RETRY_TRANSIENT,
                        "watch event: line longer than %zu bytes", cap);
            return framer_fail(f, &e, err);
        }
        if (!nl) {
            enum tm_code rc = tm_buf_add(&f->line, data, seg);
            if (rc != TM_OK) {
                tm_err_set(&e, rc, "watch event: cannot buffer line");
                return framer_fail(f, &e, err);
            }
            return TM_OK;
        }
        enum tm_code rc;
        if (f->line.len == 0) {
            rc = framer_line(f, data, seg, err);
        } else {
            rc = tm_buf_add(&f->line, data, seg);
            if (rc != TM_OK) {
                tm_err_set(&e, rc, "watch event: cannot buffer line");
                return framer_fail(f, &e, err);
            }
            rc = framer_line(f, f->line.data, f->line.len, err);
            tm_buf_reset(&f->line);
        }
        if (rc != TM_OK)
            return rc;
        data = nl + 1;
        n -= seg + 1;
    }
    return TM_OK;
}

enum tm_code kube_watch_framer_finish(struct kube_watch_framer *f, struct tm_err *err)
{
    if (f->failed.code != TM_OK) {
        if (err)
            *err = f->failed;
        return f->failed.code;
    }
    if (f->line.len == 0)
        return TM_OK;
    enum tm_code rc = framer_line(f, f->line.data, f->line.len, err);
    tm_buf_reset(&f->line);
    return rc;
}

/* ------------------------------------------------------------ watch object */

struct kube_watch {
    struct kube_config *cfg; /* borrowed */
    CURL *easy;
    CURLM *multi;            /* borrowed while started */
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    struct kube_watch_framer framer;
    struct tm_buf errbody;   /* body of a non-200 answer */
    char *path, *label_selector, *field_selector;
    int timeout_seconds;
    bool bookmarks;
    kube_watch_fn on_event;
    void *ctx;
    const atomic_bool *stop;
    char rv[KUBE_WATCH_RV_MAX];
    long status;             /* HTTP status of the current transfer, 0 until known */
    bool expired;            /* an EXPIRED event arrived */
    bool write_failed;       /* the framer or the handler failed */
    bool refresh_token;      /* the last transfer got 401: re-read a token file */
    struct tm_err write_err;
};

static char *dup_or_null(const char *s, bool *ok)
{
    if (!s || !*s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

struct kube_watch *kube_watch_new(struct kube_config *cfg, const struct kube_watch_opts *o,
                                  struct tm_err *err)
{
    if (!o || !o->path || o->path[0] != '/' || !o->on_event) {
        tm_err_set(err, TM_E_INVAL, "watch: path (starting with /) and on_event are required");
        return NULL;
    }
    if (o->resource_version && strlen(o->resource_version) >= KUBE_WATCH_RV_MAX) {
        tm_err_set(err, TM_E_TOOBIG, "watch %s: resourceVersion too long", o->path);
        return NULL;
    }
    if (kube_global_init(err) != TM_OK)
        return NULL;
    struct kube_watch *w = calloc(1, sizeof(*w));
    if (!w) {
        tm_err_set(err, TM_E_NOMEM, "watch: out of memory");
        return NULL;
    }
    bool ok = true;
    w->cfg = cfg;
    w->easy = curl_easy_init();
    w->path = dup_or_null(o->path, &ok);
    w->label_selector = dup_or_null(o->label_selector, &ok);
    w->field_selector = dup_or_null(o->field_selector, &ok);
    w->timeout_seconds = o->timeout_seconds > 0 ? o->timeout_seconds : 300;
    w->bookmarks = !o->no_bookmarks;
    w->on_event = o->on_event;
    w->ctx = o->ctx;
    w->stop = o->stop;
    snprintf(w->rv, sizeof(w->rv), "%s", o->resource_version ? o->resource_version : "");
    tm_buf_init(&w->errbody, TM_CAP_SMALL);
    kube_watch_framer_init(&w->framer, TM_CAP_WATCH_LINE, NULL, NULL);
    if (!ok || !w->easy) {
        kube_watch_free(w);
        tm_err_set(err, TM_E_NOMEM, "watch: out of memory");
        return NULL;
    }
    return w;
}

void kube_watch_free(struct kube_watch *w)
{
    if (!w)
        return;
    if (w->multi && w->easy)
        curl_multi_remove_handle(w->multi, w->easy);
    if (w->easy)
        curl_easy_cleanup(w->easy);
    curl_slist_free_all(w->headers);
    kube_watch_framer_release(&w->framer);
    tm_buf_release(&w->errbody);
    free(w->path);
    free(w->label_selector);
    free(w->field_selector);
    free(w);
}

CURL *kube_watch_easy(const struct kube_watch *w)
{
    return w->easy;
}

const char *kube_watch_last_rv(const struct kube_watch *w)
{
    return w->rv;
}

enum tm_code kube_watch_set_rv(struct kube_watch *w, const char *rv, struct tm_err *err)
{
    if (!rv)
        rv = "";
    if (strlen(rv) >= sizeof(w->rv))
        return tm_err_set(err, TM_E_TOOBIG, "watch %s: resourceVersion too long", w->path);
    snprintf(w->rv, sizeof(w->rv), "%s", rv);
    return TM_OK;
}

/* Framer callback: track the RV, note expiry, pass the event on. */
static enum tm_code watch_on_event(void *ctx, struct kube_watch_event *ev, struct tm_err *err)
{
    struct kube_watch *w = ctx;
    if (ev->type == KUBE_WATCH_EXPIRED)
        w->expired = true;
    else if (ev->type != KUBE_WATCH_ERROR && ev->resource_version[0] &&
             strlen(ev->resource_version) < sizeof(w->rv))
        snprintf(w->rv, sizeof(w->rv), "%s", ev->resource_version);
    return w->on_event(w->ctx, ev, err);
}

static bool stop_requested(const struct kube_watch *w)
{
    return w->stop && atomic_load(w->stop);
}

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct kube_watch *w = ud;
    size_t n = size * nmemb;
    if (stop_requested(w))
        return CURL_WRITEFUNC_ERROR;
    if (w->status == 0)
        curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->status);
    if (w->status != 200) {
        if (tm_buf_add(&w->errbody, ptr, n) != TM_OK)
            return n; /* keep going: the status code says enough */
        return n;
    }
    if (kube_watch_framer_feed(&w->framer, ptr, n, &w->write_err) != TM_OK) {
        w->write_failed = true;
        return CURL_WRITEFUNC_ERROR;
    }
    return n;
}

static int watch_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                          curl_off_t ulnow)
{
    struct kube_watch *w = ud;
    return stop_requested(w) ? 1 : 0;
}

enum tm_code kube_watch_start(struct kube_watch *w, CURLM *multi, struct tm_err *err)
{
    if (w->multi)
        return tm_err_set(err, TM_E_INVAL, "watch %s: already started", w->path);
    enum tm_code rc;
    struct tm_buf url;
    tm_buf_init(&url, TM_CAP_SMALL);
    curl_easy_reset(w->easy);
    curl_slist_free_all(w->headers);
    w->headers = NULL;
    kube_watch_framer_release(&w->framer);
    kube_watch_framer_init(&w->framer, TM_CAP_WATCH_LINE, watch_on_event, w);
    tm_buf_release(&w->errbody);
    w->status = 0;
    w->expired = false;
    w->write_failed = false;
    tm_err_clear(&w->write_err);
    w->errbuf[0] = '\0';

    rc = kube_config_setup_easy(w->cfg, w->easy, err);
    if (rc == TM_OK)
        rc = kube_int_headers(w->cfg, w->refresh_token, "application/json", NULL, &w->headers,
                              err);
    w->refresh_token = false;
    if (rc != TM_OK)
        goto out;
    char tmo[32];
    snprintf(tmo, sizeof(tmo), "%d", w->timeout_seconds);
    rc = tm_buf_adds(&url, kube_int_base_url(w->cfg));
    if (rc == TM_OK)
        rc = tm_buf_adds(&url, w->path);
    if (rc != TM_OK) {
        rc = tm_err_set(err, rc, "watch %s: url too long", w->path);
        goto out;
    }
    rc = kube_path_query(&url, "watch", "1", err);
    if (rc == TM_OK && w->rv[0])
        rc = kube_path_query(&url, "resourceVersion", w->rv, err);
    if (rc == TM_OK && w->bookmarks)
        rc = kube_path_query(&url, "allowWatchBookmarks", "true", err);
    if (rc == TM_OK)
        rc = kube_path_query(&url, "timeoutSeconds", tmo, err);
    if (rc == TM_OK && w->label_selector)
        rc = kube_path_query(&url, "labelSelector", w->label_selector, err);
    if (rc == TM_OK && w->field_selector)
        rc = kube_path_query(&url, "fieldSelector", w->field_selector, err);
    if (rc != TM_OK)
        goto out;
    CURLcode cc = curl_easy_setopt(w->easy, CURLOPT_URL, tm_buf_str(&url));
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_HTTPGET, 1L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->errbuf);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, watch_write);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_NOPROGRESS, 0L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_XFERINFOFUNCTION, watch_progress);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_XFERINFODATA, w);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_TIME, (long)w->timeout_seconds + 30L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(w->easy, CURLOPT_USERAGENT, "tidemark-watch");
    if (cc != CURLE_OK) {
        rc = tm_err_set(err, TM_E_INTERNAL, "watch %s: curl setopt: %s", w->path,
                        curl_easy_strerror(cc));
        goto out;
    }
    CURLMcode mc = curl_multi_add_handle(multi, w->easy);
    if (mc != CURLM_OK) {
        rc = tm_err_set(err, TM_E_INTERNAL, "watch %s: curl_multi_add_handle: %s", w->path,
                        curl_multi_strerror(mc));
        goto out;
    }
    w->multi = multi;
out:
    tm_buf_release(&url);
    return rc;
}

/* Why the transfer ended, before looking at 410 events: ERROR (err set) or
 * CLOSED.  An HTTP 410 answer is EXPIRED. */
static enum kube_watch_end transfer_end(struct kube_watch *w, CURLcode result, long status,
                                        struct tm_err *err)
{
    if (w->write_failed) {
        if (err)
            *err = w->write_err;
        tm_err_prefix(err, "watch %s", w->path);
        return KUBE_WATCH_END_ERROR;
    }
    if (result != CURLE_OK) {
        kube_int_curl_err(result, w->errbuf, err);
        tm_err_prefix(err, "watch %s", w->path);
        return KUBE_WATCH_END_ERROR;
    }
    if (status != 200) {
        kube_status_to_err((int)status, w->errbody.data, w->errbody.len, err);
        tm_err_prefix(err, "watch %s", w->path);
        tm_buf_release(&w->errbody);
        return status == 410 ? KUBE_WATCH_END_EXPIRED : KUBE_WATCH_END_ERROR;
    }
    struct tm_err e;
    tm_err_clear(&e);
    if (kube_watch_framer_finish(&w->framer, &e) != TM_OK) {
        if (err)
            *err = e;
        tm_err_prefix(err, "watch %s", w->path);
        return KUBE_WATCH_END_ERROR;
    }
    return KUBE_WATCH_END_CLOSED;
}

enum kube_watch_end kube_watch_done(struct kube_watch *w, CURLM *multi, CURLcode result,
                                    struct tm_err *err)
{
    if (multi)
        curl_multi_remove_handle(multi, w->easy);
    w->multi = NULL;
    long status = 0;
    curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
    kube_int_count(w->cfg, "watch", (int)status);
    w->refresh_token = status == 401 && kube_int_token_from_file(w->cfg);
    if (stop_requested(w) &&
        (result == CURLE_ABORTED_BY_CALLBACK || result == CURLE_WRITE_ERROR)) {
        tm_err_setr(err, TM_E_CANCELLED, TM_RETRY_TERMINAL, "watch %s: stopped", w->path);
        return KUBE_WATCH_END_CANCELLED;
    }
    enum kube_watch_end end = transfer_end(w, result, status, err);
    /* The one place a watch is declared expired: an HTTP 410 (above), or an
     * ERROR event with code 410, whatever ended the stream after it. */
    if (w->expired && end != KUBE_WATCH_END_EXPIRED) {
        tm_err_setr(err, TM_E_NOTFOUND, TM_RETRY_TRANSIENT,
                    "watch %s: 410 Expired: resourceVersion too old", w->path);
        if (err)
            err->http_status = 410;
        end = KUBE_WATCH_END_EXPIRED;
    }
    if (end == KUBE_WATCH_END_CLOSED)
        tm_err_clear(err);
    return end;
}

enum kube_watch_end kube_watch_run(struct kube_watch *w, struct tm_err *err)
{
    CURLM *multi = curl_multi_init();
    if (!multi) {
        tm_err_set(err, TM_E_NOMEM, "watch %s: curl_multi_init failed", w->path);
        return KUBE_WATCH_END_ERROR;
    }
    enum kube_watch_end end = KUBE_WATCH_END_ERROR;
    if (kube_watch_start(w, multi, err) != TM_OK)
        goto out;
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(multi, &running);
        if (mc == CURLM_OK) {
            int left = 0;
            CURLMsg *msg;
            while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == w->easy) {
                    end = kube_watch_done(w, multi, msg->data.result, err);
                    goto out;
                }
            }
        }
        if (mc != CURLM_OK) {
            tm_err_setr(err, TM_E_INTERNAL, TM_RETRY_TRANSIENT, "watch %s: curl multi: %s",
                        w->path, curl_multi_strerror(mc));
            curl_multi_remove_handle(multi, w->easy);
            w->multi = NULL;
            goto out;
        }
        /* wake at least every 200 ms so a stop flag is seen promptly */
        mc = curl_multi_poll(multi, NULL, 0, 200, NULL);
        if (mc != CURLM_OK) {
            tm_err_setr(err, TM_E_INTERNAL, TM_RETRY_TRANSIENT, "watch %s: curl poll: %s",
                        w->path, curl_multi_strerror(mc));
            curl_multi_remove_handle(multi, w->easy);
            w->multi = NULL;
            goto out;
        }
    }
out:
    curl_multi_cleanup(multi);
    return end;
}
