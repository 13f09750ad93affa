/* The tiny HTTP/1.1 server (see http.h). */
#include "http/http.h"
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/caps.h"

struct http_server {
    http_handler fn;
    void *ctx;
    int fds[HTTP_MAX_LISTENERS];
    int ports[HTTP_MAX_LISTENERS];
    int nfds;
    int wake[2]; /* self-pipe: a byte in wake[1] stops the thread */
    pthread_t thread;
    bool started;
};

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

struct http_server *http_server_new(http_handler fn, void *ctx, struct tm_err *err)
{
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s) {
        tm_err_set(err, TM_E_NOMEM, "http server: out of memory");
        return NULL;
    }
    s->fn = fn;
    s->ctx = ctx;
    if (pipe(s->wake) != 0) {
        tm_err_set(err, TM_E_IO, "http server: pipe: %s", strerror(errno));
        free(s);
        return NULL;
    }
    fcntl(s->wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(s->wake[1], F_SETFD, FD_CLOEXEC);
    return s;
}

/* Splits addr into host (NULL = any) and port. */
static enum tm_code split_addr(const char *addr, char *host, size_t hn, char *port, size_t pn,
                               struct tm_err *err)
{
    const char *colon;
    const char *h = addr;
    size_t hl;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':')
            return tm_err_set(err, TM_E_INVAL, "bad listen address \"%s\"", addr);
        h = addr + 1;
        hl = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return tm_err_set(err, TM_E_INVAL, "bad listen address \"%s\": want host:port", addr);
        hl = (size_t)(colon - addr);
    }
    if (hl >= hn || strlen(colon + 1) >= pn || colon[1] == '\0')
        return tm_err_set(err, TM_E_INVAL, "bad listen address \"%s\"", addr);
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, pn, "%s", colon + 1);
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return tm_err_set(err, TM_E_INVAL, "bad port in listen address \"%s\"", addr);
    return TM_OK;
}

enum tm_code http_server_listen(struct http_server *s, const char *addr, struct tm_err *err)
{
    char host[256], port[16];
    struct addrinfo hints = {0}, *res = NULL;
    int fd = -1;
    enum tm_code rc = TM_OK;
    if (s->nfds == HTTP_MAX_LISTENERS)
        return tm_err_set(err, TM_E_INVAL, "http server: too many listeners");
    rc = split_addr(addr, host, sizeof(host), port, sizeof(port), err);
    if (rc != TM_OK)
        return rc;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0)
        return tm_err_setr(err, TM_E_IO, TM_RETRY_TERMINAL, "listen %s: %s", addr,
                           gai_strerror(gai));
    int last_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return tm_err_set(err, TM_E_IO, "listen %s: %s", addr, strerror(last_errno));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int bound = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char pbuf[16];
        if (getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, pbuf, sizeof(pbuf), NI_NUMERICSERV) ==
            0)
            bound = (int)strtol(pbuf, NULL, 10);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    s->fds[s->nfds] = fd;
    s->ports[s->nfds] = bound;
    s->nfds++;
    return TM_OK;
}

int http_server_port(const struct http_server *s, int i)
{
    return i >= 0 && i < s->nfds ? s->ports[i] : 0;
}

/* Waits for fd to be ready for events until deadline; false on timeout/error. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - tm_mono_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

static void send_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLOUT, deadline))
            continue;
        return; /* client went away or too slow: drop it */
    }
}

static void respond(int fd, int status, const char *ctype, const char *body, size_t blen,
                    bool head, int64_t deadline)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, http_reason(status), ctype, blen);
    if (n > 0 && (size_t)n < sizeof(hdr))
        send_all(fd, hdr, (size_t)n, deadline);
    if (!head && blen)
        send_all(fd, body, blen, deadline);
}

static void serve_conn(struct http_server *s, int fd)
{
    int64_t start = tm_mono_ms();
    int64_t read_deadline = start + HTTP_READ_TIMEOUT_MS;
    int64_t deadline = start + HTTP_IO_TIMEOUT_MS;
    char req[HTTP_MAX_REQUEST + 1];
    size_t len = 0;
    req[0] = '\0';
    const char *text = "text/plain; charset=utf-8";
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    /* read the request head */
    while (!strstr(req, "\r\n\r\n") && !strstr(req, "\n\n")) {
        if (len == HTTP_MAX_REQUEST) {
            respond(fd, 413, text, "request too large\n", 18, false, deadline);
            return;
        }
        ssize_t r = recv(fd, req + len, HTTP_MAX_REQUEST - len, 0);
        if (r > 0) {
            len += (size_t)r;
            req[len] = '\0';
            continue;
        }
        if (r == 0)
            break; /* peer closed: answer what we have if the line is complete */
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLIN, read_deadline))
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            respond(fd, 408, text, "request timeout\n", 16, false, deadline);
        return;
    }
    req[len] = '\0';
    /* request line: METHOD SP TARGET SP HTTP/x.y */
    char *eol = strpbrk(req, "\r\n");
    if (!eol) {
        respond(fd, 400, text, "bad request\n", 12, false, deadline);
        return;
    }
    *eol = '\0';
    char *sp1 = strchr(req, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1[1] != '/') {
        respond(fd, 400, text, "bad request\n", 12, false, deadline);
        return;
    }
    *sp1 = '\0';
    *sp2 = '\0';
    const char *method = req;
    char *path = sp1 + 1;
    char *q = strchr(path, '?');
    if (q)
        *q = '\0';
    bool head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        respond(fd, 405, text, "method not allowed\n", 19, false, deadline);
        return;
    }
    struct http_response resp = {.status = 200, .content_type = text};
    tm_buf_init(&resp.body, TM_CAP_HTTP_BODY);
    s->fn(s->ctx, head ? "HEAD" : "GET", path, &resp);
    respond(fd, resp.status, resp.content_type ? resp.content_type : text, tm_buf_str(&resp.body),
            resp.body.len, head, deadline);
    tm_buf_release(&resp.body);
}

/* Closes c gracefully: a close with unread request bytes (a body, an
 * oversized head) would send a RST that can destroy the response in flight,
 * so half-close and drain briefly first. */
static void linger_close(int c)
{
    shutdown(c, SHUT_WR);
    int64_t deadline = tm_mono_ms() + 200;
    char sink[4096];
    for (;;) {
        ssize_t r = recv(c, sink, sizeof(sink), 0);
        if (r > 0)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(c, POLLIN, deadline))
            continue;
        break;
    }
    close(c);
}

/* Polls listeners (and the wake pipe when wake is true). Returns false when woken. */
static bool poll_once(struct http_server *s, int timeout_ms, bool wake)
{
    struct pollfd p[HTTP_MAX_LISTENERS + 1];
    int n = 0;
    for (int i = 0; i < s->nfds; i++)
        p[n++] = (struct pollfd){.fd = s->fds[i], .events = POLLIN};
    if (wake)
        p[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
    int r = poll(p, (nfds_t)n, timeout_ms);
    if (r <= 0)
        return true;
    if (wake && (p[n - 1].revents & POLLIN))
        return false;
    for (int i = 0; i < s->nfds; i++) {
        if (!(p[i].revents & POLLIN))
            continue;
        int c = accept(s->fds[i], NULL, NULL);
        if (c < 0)
            continue;
        fcntl(c, F_SETFD, FD_CLOEXEC);
        serve_conn(s, c);
        linger_close(c);
    }
    return true;
}

enum tm_code http_server_serve_one(struct http_server *s, int timeout_ms, struct tm_err *err)
{
    if (s->nfds == 0)
        return tm_err_set(err, TM_E_INVAL, "http server: no listener");
    poll_once(s, timeout_ms, false);
    return TM_OK;
}

static void *server_main(void *arg)
{
    struct http_server *s = arg;
    while (poll_once(s, -1, true))
        ;
    return NULL;
}

enum tm_code http_server_start(struct http_server *s, struct tm_err *err)
{
    if (s->nfds == 0)
        return tm_err_set(err, TM_E_INVAL, "http server: no listener");
    int rc = pthread_create(&s->thread, NULL, server_main, s);
    if (rc != 0)
        return tm_err_set(err, TM_E_INTERNAL, "http server: thread: %s", strerror(rc));
    s->started = true;
    return TM_OK;
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    if (s->started) {
        ssize_t w;
        do {
            w = write(s->wake[1], "x", 1);
        } while (w < 0 && errno == EINTR);
        pthread_join(s->thread, NULL);
    }
    for (int i = 0; i < s->nfds; i++)
        close(s->fds[i]);
    close(s->wake[0]);
    close(s->wake[1]);
    free(s);
}
