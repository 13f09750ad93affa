/* tm error helpers: set, chain and name errors (see err.h). */
#include "common/err.h"

#include <stdio.h>
#include <string.h>

void tm_err_clear(struct tm_err *e)
{
    if (!e)
        return;
    memset(e, 0, sizeof(*e));
}

static void err_vset(struct tm_err *e, enum tm_code code, enum tm_retry retry, const char *fmt,
                     va_list ap)
{
    e->code = code;
    e->retry = retry;
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

enum tm_code tm_err_set(struct tm_err *e, enum tm_code code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, TM_RETRY_TERMINAL, fmt, ap);
    va_end(ap);
    return code;
}

enum tm_code tm_err_setr(struct tm_err *e, enum tm_code code, enum tm_retry retry,
                         const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, retry, fmt, ap);
    va_end(ap);
    return code;
}

enum tm_code tm_err_prefix(struct tm_err *e, const char *fmt, ...)
{
    if (!e)
        return TM_OK;
    char head[TM_ERR_MSG_MAX];
    char joined[2 * TM_ERR_MSG_MAX + 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    snprintf(joined, sizeof(joined), "%s: %s", head, e->msg);
    memcpy(e->msg, joined, sizeof(e->msg) - 1);
    e->msg[sizeof(e->msg) - 1] = '\0';
    return e->code;
}

const char *tm_code_name(enum tm_code code)
{
    switch (code) {
    case TM_OK: return "OK";
    case TM_E_NOMEM: return "E_NOMEM";
    case TM_E_TOOBIG: return "E_TOOBIG";
    case TM_E_INVAL: return "E_INVAL";
    case TM_E_PARSE: return "E_PARSE";
    case TM_E_IO: return "E_IO";
    case TM_E_HTTP: return "E_HTTP";
    case TM_E_DB: return "E_DB";
    case TM_E_NOTFOUND: return "E_NOTFOUND";
    case TM_E_CONFLICT: return "E_CONFLICT";
    case TM_E_LOCKED: return "E_LOCKED";
    case TM_E_DRIFT: return "E_DRIFT";
    case TM_E_POLICY: return "E_POLICY";
    case TM_E_TIMEOUT: return "E_TIMEOUT";
    case TM_E_CANCELLED: return "E_CANCELLED";
    case TM_E_INTERNAL: return "E_INTERNAL";
    case TM_E_AUTH: return "E_AUTH";
    }
    return "E_UNKNOWN";
}
