/* http: a tiny single-threaded HTTP/1.1 server for the controller's
 * /metrics, /healthz, /livez and /readyz (answered by runtime/endpoints.c).
 *
 * Design: one thread polls every listening socket plus a self-pipe (for
 * shutdown); each accepted connection is served to completion before the next
 * one: read the request head (bounded: HTTP_MAX_REQUEST bytes within
 * HTTP_READ_TIMEOUT_MS), call the handler, write one response with
 * Content-Length and "Connection: close" (within HTTP_IO_TIMEOUT_MS), close.
 * Scrapes and probes are rare and small, so serialising them costs nothing
 * and keeps the code free of per-connection state machines.  The price: a
 * client that connects and sends nothing holds the loop for up to
 * HTTP_READ_TIMEOUT_MS, so that deadline is kept below the kubelet's default
 * probe timeout (1 s); a real client sends its request at once.
 *
 * Only GET and HEAD are served (405 otherwise); the query string is dropped
 * before the handler sees the path.  No keep-alive, no chunked requests, no
 * TLS (bind to loopback or put it behind the cluster network).
 *
 * Threads: http_server_new/listen/start/free from one owning thread; the
 * handler runs on the server thread (it must be thread-safe with respect to
 * what it reads). */
#ifndef TM_HTTP_HTTP_H
#define TM_HTTP_HTTP_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/err.h"

#define HTTP_MAX_REQUEST 8192
#define HTTP_READ_TIMEOUT_MS 500 /* request head */
#define HTTP_IO_TIMEOUT_MS 2000  /* whole connection, response included */
#define HTTP_MAX_LISTENERS 4

struct http_response {
    int status;               /* default 200 */
    const char *content_type; /* static string; default "text/plain; charset=utf-8" */
    struct tm_buf body;       /* initialised by the server (cap TM_CAP_HTTP_BODY) */
};

/* Fills resp for method ("GET"/"HEAD") and path (no query).  Runs on the
 * server thread. */
typedef void (*http_handler)(void *ctx, const char *method, const char *path,
                             struct http_response *resp);

struct http_server;

/* Creates a server with no listener yet.  NULL + err. */
struct http_server *http_server_new(http_handler fn, void *ctx, struct tm_err *err);

/* Binds and listens on addr: "host:port", "[v6]:port" or ":port" (all
 * interfaces); port 0 picks a free one (see http_server_port).  Before
 * http_server_start.  TM_E_IO with the address on failure; TM_E_INVAL for a
 * malformed addr or more than HTTP_MAX_LISTENERS. */
enum tm_code http_server_listen(struct http_server *s, const char *addr,
                                struct tm_err *err) TM_MUST_CHECK;

/* The bound port of listener i (in listen order); 0 when there is none. */
int http_server_port(const struct http_server *s, int i);

/* Starts the server thread. */
enum tm_code http_server_start(struct http_server *s, struct tm_err *err) TM_MUST_CHECK;

/* Serves at most one connection, waiting up to timeout_ms for one (for a
 * caller that runs its own loop instead of http_server_start).  TM_OK also
 * when none came. */
enum tm_code http_server_serve_one(struct http_server *s, int timeout_ms,
                                   struct tm_err *err) TM_MUST_CHECK;

/* Stops the thread (if started), closes the sockets, frees s.  NULL ok. */
void http_server_free(struct http_server *s);

/* The reason phrase of a status code ("OK", "Not Found", ...). */
const char *http_reason(int status);

#endif
