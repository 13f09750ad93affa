/* Structured log lines (see log.h).  A line is formatted into one tm_buf
 * bounded by TM_CAP_LOG_LINE and written with one fwrite under the mutex; a
 * line that would pass the cap is replaced by a "log line too long" error
 * line, never split. */
#include "log/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/caps.h"

void log_init(struct tm_log *lg, FILE *out, enum log_level min, bool json)
{
    lg->out = out;
    lg->min = min;
    lg->json = json;
    pthread_mutex_init(&lg->mu, NULL);
}

void log_release(struct tm_log *lg)
{
    if (lg)
        pthread_mutex_destroy(&lg->mu);
}

bool log_level_parse(const char *s, enum log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

static const char *level_name(enum log_level l)
{
    switch (l) {
    case LOG_DEBUG: return "debug";
    case LOG_INFO: return "info";
    case LOG_WARN: return "warn";
    case LOG_ERROR: return "error";
    }
    return "info";
}

static enum tm_code add_json_string(struct tm_buf *b, const char *s)
{
    enum tm_code rc = tm_buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; rc == TM_OK && *p; p++) {
        switch (*p) {
        case '"': rc = tm_buf_adds(b, "\\\""); break;
        case '\\': rc = tm_buf_adds(b, "\\\\"); break;
        case '\n': rc = tm_buf_adds(b, "\\n"); break;
        case '\r': rc = tm_buf_adds(b, "\\r"); break;
        case '\t': rc = tm_buf_adds(b, "\\t"); break;
        default:
            if (*p < 0x20)
                rc = tm_buf_addf(b, "\\u%04x", *p);
            else
                rc = tm_buf_add(b, p, 1);
        }
    }
    if (rc == TM_OK)
        rc = tm_buf_add(b, "\"", 1);
    return rc;
}

void log_fields(struct tm_log *lg, enum log_level level, const char *msg, ...)
{
    if (!lg || !lg->out || level < lg->min)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tmv;
    gmtime_r(&ts.tv_sec, &tmv);
    char when[80];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tmv.tm_year + 1900,
             tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec,
             ts.tv_nsec / 1000000);

    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_LOG_LINE);
    enum tm_code rc;
    if (lg->json) {
        rc = tm_buf_addf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", when, level_name(level));
        if (rc == TM_OK)
            rc = add_json_string(&b, msg);
    } else {
        rc = tm_buf_addf(&b, "%s %-5s %s", when, level_name(level), msg);
    }
    va_list ap;
    va_start(ap, msg);
    /* the first append past the cap empties the buffer: stop there, or the fields after it
     * would start a fragment of a line in the emptied buffer */
    while (rc == TM_OK) {
        struct log_field f = va_arg(ap, struct log_field);
        if (f.kind == LF_END_KIND || !f.key)
            break;
        if (lg->json) {
            rc = tm_buf_adds(&b, ",");
            if (rc == TM_OK)
                rc = add_json_string(&b, f.key);
            if (rc == TM_OK)
                rc = tm_buf_adds(&b, ":");
            if (rc == TM_OK) {
                if (f.kind == LF_INT)
                    rc = tm_buf_addf(&b, "%lld", f.i);
                else
                    rc = add_json_string(&b, f.s ? f.s : "");
            }
        } else if (f.kind == LF_INT) {
            rc = tm_buf_addf(&b, " %s=%lld", f.key, f.i);
        } else {
            rc = tm_buf_addf(&b, " %s=%s", f.key, f.s ? f.s : "");
        }
    }
    va_end(ap);
    if (rc != TM_OK) { /* over the cap: say so rather than print a partial line */
        tm_buf_release(&b);
        rc = tm_buf_addf(&b, lg->json ? "{\"ts\":\"%s\",\"level\":\"error\",\"msg\":\"log line too long\""
                                      : "%s error log line too long", when);
    }
    if (lg->json)
        rc = tm_buf_adds(&b, "}");
    rc = tm_buf_adds(&b, "\n");
    (void)rc; /* an empty buffer is simply not written */
    pthread_mutex_lock(&lg->mu);
    fwrite(tm_buf_str(&b), 1, b.len, lg->out);
    fflush(lg->out);
    pthread_mutex_unlock(&lg->mu);
    tm_buf_release(&b);
}

void log_redact_url(const char *url, char *out, size_t n)
{
    if (n == 0)
        return;
    snprintf(out, n, "%s", url ? url : "");
    /* URL form: scheme://user:password@host */
    char *scheme = strstr(out, "://");
    if (scheme) {
        char *userinfo = scheme + 3;
        char *at = strchr(userinfo, '@');
        char *colon = strchr(userinfo, ':');
        if (at && colon && colon < at) {
            char rest[1024];
            snprintf(rest, sizeof(rest), "%s", at);
            colon[1] = '\0';
            size_t used = strlen(out);
            snprintf(out + used, n - used, "***%s", rest);
        }
    }
    /* keyword form: password=value (value up to space) */
    char *pw = strstr(out, "password=");
    if (pw) {
        char *val = pw + strlen("password=");
        char *end = strpbrk(val, " \t&");
        char rest[1024];
        snprintf(rest, sizeof(rest), "%s", end ? end : "");
        *val = '\0';
        size_t used = strlen(out);
        snprintf(out + used, n - used, "***%s", rest);
    }
}
