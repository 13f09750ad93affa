/* tm error type: one code enum and one error struct shared by every module.
 *
 * Fallible functions return enum tm_code and fill an optional struct tm_err.
 * Codes are append-only (they may be logged and compared by tests).  The
 * message is lowercase, chained by callers with tm_err_prefix():
 *   "get dbinstance prod/orders: 403 forbidden".
 * retry tells a reconciler what to do with the failure:
 *   TERMINAL  - bad input/spec: report Stalled, do not retry;
 *   TRANSIENT - network, server restart: retry with backoff;
 *   WAITING   - not an error yet, check again later (lock busy, app rolling).
 * Messages never contain secrets: callers pass names, never values of Secrets. */
#ifndef TM_COMMON_ERR_H
#define TM_COMMON_ERR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define TM_MUST_CHECK __attribute__((warn_unused_result))
#define TM_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum tm_code {
    TM_OK = 0,
    TM_E_NOMEM,     /* allocation failed */
    TM_E_TOOBIG,    /* a bounded buffer or input passed its cap */
    TM_E_INVAL,     /* bad argument or bad user input */
    TM_E_PARSE,     /* a document did not parse (message has file:line) */
    TM_E_IO,        /* file or socket error */
    TM_E_HTTP,      /* HTTP/API error (http_status set) */
    TM_E_DB,        /* database error (sqlstate set) */
    TM_E_NOTFOUND,  /* object, tag, file or key does not exist */
    TM_E_CONFLICT,  /* optimistic concurrency conflict (HTTP 409) */
    TM_E_LOCKED,    /* someone else holds the lock */
    TM_E_DRIFT,     /* history disagrees with the changelog */
    TM_E_POLICY,    /* a policy forbids the change */
    TM_E_TIMEOUT,   /* deadline passed */
    TM_E_CANCELLED, /* shutdown requested */
    TM_E_INTERNAL,  /* a bug: an invariant was broken */
    TM_E_AUTH,      /* authentication or authorisation refused */
};

enum tm_retry {
    TM_RETRY_TERMINAL = 0,
    TM_RETRY_TRANSIENT,
    TM_RETRY_WAITING,
};

#define TM_ERR_MSG_MAX 512

struct tm_err {
    enum tm_code code;
    enum tm_retry retry;
    int http_status;   /* 0 when not an HTTP error */
    char sqlstate[6];  /* "" when not a database error */
    char msg[TM_ERR_MSG_MAX];
};

/* Resets e (NULL allowed) to TM_OK with an empty message. */
void tm_err_clear(struct tm_err *e);

/* Sets e (NULL allowed) to code, TERMINAL, and the formatted message;
 * returns code so callers can `return tm_err_set(...)`. */
enum tm_code tm_err_set(struct tm_err *e, enum tm_code code, const char *fmt, ...) TM_PRINTF(3, 4);

/* Same as tm_err_set with an explicit retry class. */
enum tm_code tm_err_setr(struct tm_err *e, enum tm_code code, enum tm_retry retry,
                         const char *fmt, ...) TM_PRINTF(4, 5);

/* Prepends "<formatted>: " to e->msg (truncating at the end if needed).
 * Returns e->code (TM_OK when e is NULL). */
enum tm_code tm_err_prefix(struct tm_err *e, const char *fmt, ...) TM_PRINTF(2, 3);

/* Short stable name of a code, e.g. "E_PARSE". */
const char *tm_code_name(enum tm_code code);

#endif
