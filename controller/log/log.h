/* Structured logging: one line per call, JSON (default) or text, to one FILE.
 *
 * STYLE.md rule 7: `msg` is a fixed phrase; data goes in fields:
 *   log_info(lg, "changeset applied", LF_S("changeset", id), LF_I("duration_ms", ms));
 * Field values are escaped.  Callers must never pass tokens, passwords or
 * conninfo strings; log_redact_url() strips a password from a URL if one
 * must be shown.  Thread-safe: a line is written under a mutex in one fwrite. */
#ifndef TM_LOG_LOG_H
#define TM_LOG_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

struct tm_log {
    FILE *out;            /* borrowed */
    enum log_level min;   /* lines below are dropped */
    bool json;            /* JSON lines, else "ts level msg k=v" */
    pthread_mutex_t mu;
};

enum log_field_kind { LF_END_KIND = 0, LF_STR, LF_INT };

struct log_field {
    const char *key;
    const char *s;
    long long i;
    enum log_field_kind kind;
};

#define LF_S(k, v) ((struct log_field){.key = (k), .s = (v), .kind = LF_STR})
#define LF_I(k, v) ((struct log_field){.key = (k), .i = (long long)(v), .kind = LF_INT})
#define LF_END ((struct log_field){.key = NULL, .kind = LF_END_KIND})

/* Initialises lg writing to out (borrowed). */
void log_init(struct tm_log *lg, FILE *out, enum log_level min, bool json);
void log_release(struct tm_log *lg);

/* Parses "debug|info|warn|error"; false when unknown. */
bool log_level_parse(const char *s, enum log_level *out);

/* Writes one line; the variadic part is struct log_field values ended by LF_END.
 * A NULL lg writes nothing.  Use the log_* macros below. */
void log_fields(struct tm_log *lg, enum log_level level, const char *msg, ...);

#define log_debug(lg, ...) log_fields((lg), LOG_DEBUG, __VA_ARGS__, LF_END)
#define log_info(lg, ...) log_fields((lg), LOG_INFO, __VA_ARGS__, LF_END)
#define log_warn(lg, ...) log_fields((lg), LOG_WARN, __VA_ARGS__, LF_END)
#define log_error(lg, ...) log_fields((lg), LOG_ERROR, __VA_ARGS__, LF_END)

/* Copies url into out (size n) with any password replaced by "***"
 * ("postgres://u:pw@h/db" -> "postgres://u:***@h/db"; key=value conninfo
 * "password=x" -> "password=***"). */
void log_redact_url(const char *url, char *out, size_t n);

#endif
