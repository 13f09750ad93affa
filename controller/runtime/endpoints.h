/* endpoints: the manager's HTTP endpoints: /metrics (Prometheus text),
 * /healthz and /livez (the supervision loop is alive), /readyz (caches
 * synced, or a healthy standby waiting for the Lease); 404 elsewhere.
 *
 * Design: a leaf under mgr.c.  The answers come from probe callbacks, so
 * this file knows nothing of the manager's state and the manager only says
 * where to listen.  One server thread (http/http.c) serves both listeners;
 * when metrics and health name the same fixed address there is one
 * listener, ":0" always means a port of its own.
 *
 * Does not: decide health or readiness (the probes do), authenticate, or
 * serve anything but GET-style reads. */
#ifndef TM_RUNTIME_ENDPOINTS_H
#define TM_RUNTIME_ENDPOINTS_H

#include <stdbool.h>

#include "common/err.h"
#include "log/log.h"
#include "runtime/metrics.h"

/* Called on the HTTP thread: must be thread-safe. */
struct endpoints_probes {
    int (*healthz)(void *ctx); /* 200 or 503 */
    int (*readyz)(void *ctx);  /* 200 or 503 */
    bool (*standby)(void *ctx); /* ready only as a standby (not leading) */
    void *ctx;
};

struct endpoints;

/* Listens on metrics_addr and health_addr (NULL, "" or "0": not wanted) and
 * starts serving; *out is NULL when neither is wanted.  metrics NULL: /metrics
 * answers 404.  probes and metrics are borrowed (outlive the endpoints).
 * Errors name the flag ("--metrics-addr: ...").  On failure *out is NULL
 * and nothing is left running. */
enum tm_code endpoints_start(const char *metrics_addr, const char *health_addr,
                             struct metrics *metrics, const struct endpoints_probes *probes,
                             struct tm_log *log, struct endpoints **out,
                             struct tm_err *err) TM_MUST_CHECK;

/* Stops serving and frees.  NULL ok. */
void endpoints_free(struct endpoints *ep);

/* Bound ports (0: no such listener). */
int endpoints_metrics_port(const struct endpoints *ep);
int endpoints_health_port(const struct endpoints *ep);

#endif
