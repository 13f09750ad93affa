/* kube client: plain JSON requests on one reused curl easy handle (see kube.h).
 *
 * One client per thread.  Each request curl_easy_reset()s the handle (so no
 * option of the previous request leaks into the next) and sets it up again;
 * reset keeps curl's connection cache, so keep-alive connections and TLS
 * sessions stay warm across requests.  The response body is collected into a
 * bounded tm_buf (TM_CAP_HTTP_BODY) and parsed with cJSON.
 *
 * Retries inside one call are few and specific: a 401 when the token comes
 * from a file (re-read it: it may have rotated) once, and a 429 after the
 * server's Retry-After (capped), a bounded number of times.  Everything else
 * goes back to the caller, classified through tm_err.retry. */
#include "kube/kube_int.h"
#include "common/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/caps.h"

struct kube_client {
    struct kube_config *cfg; /* borrowed */
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];
    struct tm_buf body;
    long timeout_ms;
    long connect_timeout_ms;
    int max_retry_after_s;
    int max_429_retries;
    long retry_after_s; /* from the last response, -1 when absent */
    bool too_big;       /* the last body passed TM_CAP_HTTP_BODY */
    long connects;      /* new connections opened so far (CURLINFO_NUM_CONNECTS) */
    char user_agent[128];
    char field_manager[128];
};

struct kube_client *kube_client_new(struct kube_config *cfg, const struct kube_client_opts *opts,
                                    struct tm_err *err)
{
    struct kube_client_opts none = {0};
    if (!opts)
        opts = &none;
    if (kube_global_init(err) != TM_OK)
        return NULL;
    struct kube_client *c = calloc(1, sizeof(*c));
    if (!c) {
        tm_err_set(err, TM_E_NOMEM, "kube client: out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->easy = curl_easy_init();
    if (!c->easy) {
        free(c);
        tm_err_set(err, TM_E_NOMEM, "kube client: curl_easy_init failed");
        return NULL;
    }
    tm_buf_init(&c->body, TM_CAP_HTTP_BODY);
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
    c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
    c->max_retry_after_s = opts->max_retry_after_s > 0 ? opts->max_retry_after_s : 10;
    c->max_429_retries = opts->max_429_retries == 0 ? 3 : opts->max_429_retries < 0 ? 0
                                                                                    : opts->max_429_retries;
#ifdef TM_VERSION
    snprintf(c->user_agent, sizeof(c->user_agent), "%s",
             opts->user_agent ? opts->user_agent : "tidemark/" TM_VERSION);
#else
    snprintf(c->user_agent, sizeof(c->user_agent), "%s",
             opts->user_agent ? opts->user_agent : "tidemark");
#endif
    snprintf(c->field_manager, sizeof(c->field_manager), "%s",
             opts->field_manager ? opts->field_manager : "tidemark");
    return c;
}

long kube_int_client_connects(const struct kube_client *c)
{
    return c->connects;
}

void kube_client_free(struct kube_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->easy);
    tm_buf_release(&c->body);
    free(c);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct kube_client *c = ud;
    size_t n = size * nmemb;
    if (tm_buf_add(&c->body, ptr, n) != TM_OK) {
        c->too_big = true;
        return CURL_WRITEFUNC_ERROR;
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct kube_client *c = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
        long v = 0;
        size_t i = sizeof(name) - 1;
        while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
            i++;
        bool digits = false;
        while (i < n && isdigit((unsigned char)ptr[i]) && v < 100000) {
            v = v * 10 + (ptr[i] - '0');
            digits = true;
            i++;
        }
        if (digits)
            c->retry_after_s = v;
    }
    return n;
}

/* Sets up c->easy for one exchange.  *headers is owned by the caller after. */
static enum tm_code prepare(struct kube_client *c, const char *method, const char *path,
                            const char *content_type, const char *body, size_t body_len,
                            bool refresh, struct curl_slist **headers, struct tm_err *err)
{
    enum tm_code rc;
    curl_easy_reset(c->easy);
    rc = kube_config_setup_easy(c->cfg, c->easy, err);
    if (rc != TM_OK)
        return rc;
    rc = kube_int_headers(c->cfg, refresh, "application/json", content_type, headers, err);
    if (rc != TM_OK)
        return rc;
    struct tm_buf url;
    tm_buf_init(&url, TM_CAP_SMALL);
    rc = tm_buf_adds(&url, kube_int_base_url(c->cfg));
    if (rc == TM_OK)
        rc = tm_buf_adds(&url, path);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "request url too long");
    c->errbuf[0] = '\0';
    c->retry_after_s = -1;
    c->too_big = false;
    tm_buf_reset(&c->body);
    CURLcode cc = curl_easy_setopt(c->easy, CURLOPT_URL, tm_buf_str(&url));
    tm_buf_release(&url);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, *headers);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_USERAGENT, c->user_agent);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, "");
    if (cc == CURLE_OK) {
        if (strcmp(method, "GET") == 0)
            cc = curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
        else
            cc = curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
    }
    if (cc == CURLE_OK && body) {
        cc = curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
    }
    if (cc != CURLE_OK)
        return tm_err_set(err, TM_E_INTERNAL, "curl setopt: %s", curl_easy_strerror(cc));
    return TM_OK;
}

enum tm_code kube_request(struct kube_client *c, const char *verb, const char *method,
                          const char *path, const char *content_type, const char *body,
                          size_t body_len, cJSON **out, int *http_status, struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    bool refresh = false;
    bool refreshed = false;
    int tries_429 = 0;
    long status = 0;
    if (out)
        *out = NULL;
    if (http_status)
        *http_status = 0;
    for (;;) {
        struct curl_slist *headers = NULL;
        rc = prepare(c, method, path, content_type, body, body_len, refresh, &headers, err);
        if (rc != TM_OK) {
            curl_slist_free_all(headers);
            return tm_err_prefix(err, "%s %s", verb, path);
        }
        CURLcode cc = curl_easy_perform(c->easy);
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(headers);
        status = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
        long nc = 0;
        if (curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &nc) == CURLE_OK)
            c->connects += nc;
        if (http_status)
            *http_status = (int)status;
        if (cc != CURLE_OK) {
            kube_int_count(c->cfg, verb, 0);
            if (cc == CURLE_WRITE_ERROR && c->too_big)
                rc = tm_err_setr(err, TM_E_TOOBIG, TM_RETRY_TERMINAL,
                                 "response larger than %u bytes", TM_CAP_HTTP_BODY);
            else
                rc = kube_int_curl_err(cc, c->errbuf, err);
            return tm_err_prefix(err, "%s %s", verb, path);
        }
        kube_int_count(c->cfg, verb, (int)status);
        if (status == 401 && !refreshed && kube_int_token_from_file(c->cfg)) {
            refresh = true;
            refreshed = true;
            continue;
        }
        refresh = false;
        if (status == 429 && tries_429 < c->max_429_retries) {
            long s = c->retry_after_s >= 0 ? c->retry_after_s : 1;
            if (s > c->max_retry_after_s)
                s = c->max_retry_after_s;
            tries_429++;
            tm_sleep_ms(s * 1000);
            continue;
        }
        break;
    }
    if (status < 200 || status > 299) {
        kube_status_to_err((int)status, c->body.data, c->body.len, err);
        return tm_err_prefix(err, "%s %s", verb, path);
    }
    if (out && c->body.len > 0) {
        const char *end = NULL;
        *out = cJSON_ParseWithLengthOpts(c->body.data, c->body.len, &end, false);
        if (!*out)
            return tm_err_setr(err, TM_E_PARSE, TM_RETRY_TRANSIENT,
                               "%s %s: response is not JSON (%zu bytes)", verb, path,
                               c->body.len);
    }
    return TM_OK;
}

/* Serialises body and runs one request. */
static enum tm_code json_request(struct kube_client *c, const char *verb, const char *method,
                                 const char *path, const char *content_type, const cJSON *body,
                                 cJSON **out, struct tm_err *err)
{
    char *text = NULL;
    if (body) {
        text = cJSON_PrintUnformatted(body);
        if (!text)
            return tm_err_set(err, TM_E_NOMEM, "%s %s: cannot serialise body", verb, path);
    }
    enum tm_code rc = kube_request(c, verb, method, path, content_type, text,
                                   text ? strlen(text) : 0, out, NULL, err);
    cJSON_free(text);
    return rc;
}

enum tm_code kube_get(struct kube_client *c, const char *path, cJSON **out, struct tm_err *err)
{
    return kube_request(c, "get", "GET", path, NULL, NULL, 0, out, NULL, err);
}

static enum tm_code list_page(struct kube_client *c, const char *path,
                              const struct kube_list_opts *o, long limit, const char *cont,
                              cJSON **out, struct tm_err *err)
{
    struct tm_buf q;
    tm_buf_init(&q, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_adds(&q, path);
    if (rc != TM_OK) {
        rc = tm_err_set(err, rc, "list %s: path too long", path);
        goto out;
    }
    char lim[32];
    snprintf(lim, sizeof(lim), "%ld", limit);
    rc = kube_path_query(&q, "limit", lim, err);
    if (rc == TM_OK && o->label_selector && *o->label_selector)
        rc = kube_path_query(&q, "labelSelector", o->label_selector, err);
    if (rc == TM_OK && o->field_selector && *o->field_selector)
        rc = kube_path_query(&q, "fieldSelector", o->field_selector, err);
    if (rc == TM_OK && cont)
        rc = kube_path_query(&q, "continue", cont, err);
    else if (rc == TM_OK && o->resource_version && *o->resource_version)
        rc = kube_path_query(&q, "resourceVersion", o->resource_version, err);
    if (rc == TM_OK)
        rc = kube_request(c, "list", "GET", tm_buf_str(&q), NULL, NULL, 0, out, NULL, err);
out:
    tm_buf_release(&q);
    return rc;
}

static const char *continue_token(const cJSON *list)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(list, "metadata");
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(md, "continue");
    return cJSON_IsString(ct) && ct->valuestring[0] ? ct->valuestring : NULL;
}

enum tm_code kube_list(struct kube_client *c, const char *path, const struct kube_list_opts *o,
                       cJSON **out, struct tm_err *err)
{
    struct kube_list_opts none = {0};
    if (!o)
        o = &none;
    long limit = o->limit > 0 ? o->limit : 500;
    *out = NULL;
    bool restarted = false;
restart:;
    cJSON *first = NULL;
    enum tm_code rc = list_page(c, path, o, limit, NULL, &first, err);
    if (rc != TM_OK)
        return rc;
    cJSON *items = cJSON_GetObjectItemCaseSensitive(first, "items");
    if (!cJSON_IsArray(items)) {
        /* an empty list may come with "items": null */
        cJSON_DeleteItemFromObjectCaseSensitive(first, "items");
        items = cJSON_AddArrayToObject(first, "items");
        if (!items) {
            cJSON_Delete(first);
            return tm_err_set(err, TM_E_NOMEM, "list %s: out of memory", path);
        }
    }
    char *cont = continue_token(first) ? strdup(continue_token(first)) : NULL;
    while (cont) {
        cJSON *page = NULL;
        rc = list_page(c, path, o, limit, cont, &page, err);
        free(cont);
        cont = NULL;
        if (rc != TM_OK) {
            cJSON_Delete(first);
            if (err && err->http_status == 410 && !restarted) {
                restarted = true; /* continue token expired: start over once */
                goto restart;
            }
            return rc;
        }
        cJSON *pitems = cJSON_GetObjectItemCaseSensitive(page, "items");
        while (cJSON_IsArray(pitems) && pitems->child) {
            cJSON *it = cJSON_DetachItemViaPointer(pitems, pitems->child);
            if (!cJSON_AddItemToArray(items, it)) {
                cJSON_Delete(it);
                cJSON_Delete(page);
                cJSON_Delete(first);
                return tm_err_set(err, TM_E_NOMEM, "list %s: out of memory", path);
            }
        }
        const char *next = continue_token(page);
        if (next) {
            cont = strdup(next);
            if (!cont) {
                cJSON_Delete(page);
                cJSON_Delete(first);
                return tm_err_set(err, TM_E_NOMEM, "list %s: out of memory", path);
            }
        }
        cJSON_Delete(page);
    }
    cJSON *md = cJSON_GetObjectItemCaseSensitive(first, "metadata");
    if (cJSON_IsObject(md)) {
        cJSON_DeleteItemFromObjectCaseSensitive(md, "continue");
        cJSON_DeleteItemFromObjectCaseSensitive(md, "remainingItemCount");
    }
    *out = first;
    return TM_OK;
}

enum tm_code kube_create(struct kube_client *c, const char *path, const cJSON *body, cJSON **out,
                         struct tm_err *err)
{
    return json_request(c, "create", "POST", path, "application/json", body, out, err);
}

enum tm_code kube_update(struct kube_client *c, const char *path, const cJSON *body, cJSON **out,
                         struct tm_err *err)
{
    return json_request(c, "update", "PUT", path, "application/json", body, out, err);
}

enum tm_code kube_patch(struct kube_client *c, const char *path, enum kube_patch_type type,
                        const cJSON *body, cJSON **out, struct tm_err *err)
{
    const char *ct = type == KUBE_PATCH_JSON ? "application/json-patch+json"
                                             : "application/merge-patch+json";
    return json_request(c, "patch", "PATCH", path, ct, body, out, err);
}

enum tm_code kube_apply(struct kube_client *c, const char *path, const cJSON *body, cJSON **out,
                        struct tm_err *err)
{
    struct tm_buf q;
    tm_buf_init(&q, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_adds(&q, path);
    if (rc != TM_OK)
        rc = tm_err_set(err, rc, "apply %s: path too long", path);
    if (rc == TM_OK)
        rc = kube_path_query(&q, "fieldManager", c->field_manager, err);
    if (rc == TM_OK)
        rc = kube_path_query(&q, "force", "true", err);
    if (rc == TM_OK)
        rc = json_request(c, "apply", "PATCH", tm_buf_str(&q), "application/apply-patch+yaml",
                          body, out, err);
    tm_buf_release(&q);
    return rc;
}

enum tm_code kube_delete(struct kube_client *c, const char *path, const char *propagation,
                         cJSON **out, struct tm_err *err)
{
    struct tm_buf q;
    tm_buf_init(&q, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_adds(&q, path);
    if (rc != TM_OK)
        rc = tm_err_set(err, rc, "delete %s: path too long", path);
    if (rc == TM_OK && propagation && *propagation)
        rc = kube_path_query(&q, "propagationPolicy", propagation, err);
    if (rc == TM_OK)
        rc = kube_request(c, "delete", "DELETE", tm_buf_str(&q), NULL, NULL, 0, out, NULL, err);
    tm_buf_release(&q);
    return rc;
}

static enum tm_code status_path(struct tm_buf *q, const char *path, struct tm_err *err)
{
    tm_buf_init(q, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_adds(q, path);
    if (rc == TM_OK)
        rc = tm_buf_adds(q, "/status");
    if (rc != TM_OK)
        return tm_err_set(err, rc, "%s/status: path too long", path);
    return TM_OK;
}

enum tm_code kube_update_status(struct kube_client *c, const char *path, const cJSON *body,
                                cJSON **out, struct tm_err *err)
{
    struct tm_buf q;
    enum tm_code rc = status_path(&q, path, err);
    if (rc == TM_OK)
        rc = kube_update(c, tm_buf_str(&q), body, out, err);
    tm_buf_release(&q);
    return rc;
}

enum tm_code kube_patch_status(struct kube_client *c, const char *path,
                               enum kube_patch_type type, const cJSON *body, cJSON **out,
                               struct tm_err *err)
{
    struct tm_buf q;
    enum tm_code rc = status_path(&q, path, err);
    if (rc == TM_OK)
        rc = kube_patch(c, tm_buf_str(&q), type, body, out, err);
    tm_buf_release(&q);
    return rc;
}

enum tm_code kube_update_with_retry(struct kube_client *c, const char *path, bool status,
                                    kube_mutate_fn fn, void *ctx, cJSON **out,
                                    struct tm_err *err)
{
    if (out)
        *out = NULL;
    for (int attempt = 1; attempt <= KUBE_UPDATE_ATTEMPTS; attempt++) {
        cJSON *obj = NULL;
        enum tm_code rc = kube_get(c, path, &obj, err);
        if (rc != TM_OK)
            return rc;
        if (!obj)
            return tm_err_setr(err, TM_E_PARSE, TM_RETRY_TRANSIENT, "get %s: empty body", path);
        bool changed = true;
        rc = fn(obj, ctx, &changed, err);
        if (rc != TM_OK) {
            cJSON_Delete(obj);
            return rc;
        }
        if (!changed) {
            if (out)
                *out = obj;
            else
                cJSON_Delete(obj);
            return TM_OK;
        }
        cJSON *written = NULL;
        rc = status ? kube_update_status(c, path, obj, out ? &written : NULL, err)
                    : kube_update(c, path, obj, out ? &written : NULL, err);
        cJSON_Delete(obj);
        if (rc == TM_OK) {
            if (out)
                *out = written;
            return TM_OK;
        }
        if (rc != TM_E_CONFLICT)
            return rc;
        /* 409: someone wrote in between; read fresh and mutate again */
    }
    return tm_err_setr(err, TM_E_CONFLICT, TM_RETRY_TRANSIENT,
                       "update %s: still conflicting after %d attempts", path,
                       KUBE_UPDATE_ATTEMPTS);
}
