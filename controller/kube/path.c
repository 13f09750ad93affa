/* kube paths and API errors: the URL path builder with percent-encoding, and
 * the mapping from an API answer (HTTP status + Status body) to struct tm_err
 * (one table: which status is which tm_code and retry class), and back
 * (kube_err_reason: the API's reason word out of such a message).
 *
 * Pure functions, no I/O: unit-tested and fuzzed directly.  Every path
 * segment is escaped, so a name can never add a segment or a query. */
#include "kube/kube.h"

#include <stdio.h>
#include <string.h>

enum tm_code kube_escape(struct tm_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        enum tm_code rc;
        if (keep) {
            rc = tm_buf_add(out, p, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = tm_buf_add(out, e, 3);
        }
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

static enum tm_code add_segment(struct tm_buf *out, const char *what, const char *seg,
                                struct tm_err *err)
{
    if (!seg || !*seg)
        return tm_err_set(err, TM_E_INVAL, "api path: empty %s", what);
    if (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
        return tm_err_set(err, TM_E_INVAL, "api path: %s may not be \"%s\"", what, seg);
    enum tm_code rc = tm_buf_adds(out, "/");
    if (rc == TM_OK)
        rc = kube_escape(out, seg);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "api path: too long");
    return TM_OK;
}

enum tm_code kube_path(struct tm_buf *out, const struct kube_ref *ref, struct tm_err *err)
{
    enum tm_code rc;
    tm_buf_reset(out);
    if (!ref->version || !*ref->version)
        return tm_err_set(err, TM_E_INVAL, "api path: no version");
    if (!ref->resource || !*ref->resource)
        return tm_err_set(err, TM_E_INVAL, "api path: no resource");
    if (ref->subresource && *ref->subresource && !(ref->name && *ref->name))
        return tm_err_set(err, TM_E_INVAL, "api path: subresource %s without a name",
                          ref->subresource);
    if (ref->group && *ref->group) {
        rc = tm_buf_adds(out, "/apis");
        if (rc != TM_OK)
            return tm_err_set(err, rc, "api path: too long");
        rc = add_segment(out, "group", ref->group, err);
    } else {
        rc = tm_buf_adds(out, "/api");
        if (rc != TM_OK)
            return tm_err_set(err, rc, "api path: too long");
    }
    if (rc == TM_OK)
        rc = add_segment(out, "version", ref->version, err);
    if (rc == TM_OK && ref->ns && *ref->ns) {
        rc = add_segment(out, "namespaces", "namespaces", err);
        if (rc == TM_OK)
            rc = add_segment(out, "namespace", ref->ns, err);
    }
    if (rc == TM_OK)
        rc = add_segment(out, "resource", ref->resource, err);
    if (rc == TM_OK && ref->name && *ref->name)
        rc = add_segment(out, "name", ref->name, err);
    if (rc == TM_OK && ref->subresource && *ref->subresource)
        rc = add_segment(out, "subresource", ref->subresource, err);
    return rc;
}

enum tm_code kube_path_query(struct tm_buf *out, const char *key, const char *value,
                             struct tm_err *err)
{
    const char *s = tm_buf_str(out);
    enum tm_code rc = tm_buf_adds(out, strchr(s, '?') ? "&" : "?");
    if (rc == TM_OK)
        rc = kube_escape(out, key);
    if (rc == TM_OK)
        rc = tm_buf_adds(out, "=");
    if (rc == TM_OK)
        rc = kube_escape(out, value ? value : "");
    if (rc != TM_OK)
        return tm_err_set(err, rc, "api path: query too long");
    return TM_OK;
}

static const char *http_phrase(int status)
{
    switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return status >= 500 ? "InternalError" : "Unknown";
    }
}

/* Copies a reason into dst keeping only [A-Za-z0-9] (it is used as a word). */
static void copy_word(char *dst, size_t n, const char *src)
{
    size_t j = 0;
    for (size_t i = 0; src[i] && j + 1 < n; i++) {
        char c = src[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            dst[j++] = c;
    }
    dst[j] = '\0';
}

enum tm_code kube_status_to_err(int http_status, const char *body, size_t len,
                                struct tm_err *err)
{
    char reason[64] = "";
    char message[TM_ERR_MSG_MAX] = "";
    int code = http_status;
    cJSON *root = NULL;
    if (body && len > 0) {
        const char *end = NULL;
        root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    }
    if (root && cJSON_IsObject(root)) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "reason");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "code");
        bool is_status = cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0;
        if (is_status || cJSON_IsString(m)) {
            if (cJSON_IsString(r))
                copy_word(reason, sizeof(reason), r->valuestring);
            if (cJSON_IsString(m))
                snprintf(message, sizeof(message), "%s", m->valuestring);
            if (cJSON_IsNumber(c) && c->valuedouble >= 100 && c->valuedouble < 600 &&
                http_status == 200)
                code = (int)c->valuedouble; /* an ERROR event inside a 200 stream */
        }
    }
    cJSON_Delete(root);
    if (!reason[0])
        copy_word(reason, sizeof(reason), http_phrase(code));

    /* what each API status means to a caller; 5xx, and no answer at all
     * (0), are transient too; any other code is a terminal HTTP error */
    static const struct {
        int code;
        enum tm_code tc;
        enum tm_retry retry;
    } meaning[] = {
        {404, TM_E_NOTFOUND, TM_RETRY_TERMINAL},  {409, TM_E_CONFLICT, TM_RETRY_TERMINAL},
        {401, TM_E_AUTH, TM_RETRY_TERMINAL},      {403, TM_E_AUTH, TM_RETRY_TERMINAL},
        {410, TM_E_NOTFOUND, TM_RETRY_TRANSIENT}, {400, TM_E_INVAL, TM_RETRY_TERMINAL},
        {422, TM_E_INVAL, TM_RETRY_TERMINAL},     {429, TM_E_HTTP, TM_RETRY_TRANSIENT},
        {0, TM_E_HTTP, TM_RETRY_TRANSIENT},
    };
    enum tm_code tc = TM_E_HTTP;
    enum tm_retry retry = code >= 500 ? TM_RETRY_TRANSIENT : TM_RETRY_TERMINAL;
    for (size_t i = 0; i < sizeof(meaning) / sizeof(meaning[0]); i++) {
        if (meaning[i].code == code) {
            tc = meaning[i].tc;
            retry = meaning[i].retry;
        }
    }
    if (!err)
        return tc;
    if (message[0])
        tm_err_setr(err, tc, retry, "%d %s: %s", code, reason, message);
    else
        tm_err_setr(err, tc, retry, "%d %s", code, reason);
    err->http_status = code;
    return tc;
}

void kube_err_reason(const struct tm_err *err, char *out, size_t n)
{
    if (n == 0)
        return;
    out[0] = '\0';
    if (!err || err->http_status <= 0)
        return;
    char needle[16];
    snprintf(needle, sizeof(needle), "%d ", err->http_status);
    const char *p = err->msg;
    const char *hit = NULL;
    while ((p = strstr(p, needle)) != NULL) {
        /* the code must start the message or follow ": " */
        if (p == err->msg || (p >= err->msg + 2 && p[-1] == ' ' && p[-2] == ':'))
            hit = p; /* keep the last: the innermost (API) one */
        p++;
    }
    if (!hit)
        return;
    hit += strlen(needle);
    size_t j = 0;
    while (hit[j] && hit[j] != ':' && hit[j] != ' ' && j + 1 < n) {
        out[j] = hit[j];
        j++;
    }
    out[j] = '\0';
}
