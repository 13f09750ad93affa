/* Unit tests of the tiny HTTP server (controller/http/http.c): a real
 * loopback socket, raw HTTP/1.1 requests, exact status lines and bodies. */
#include "../tm_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"

static void handler(void *ctx, const char *method, const char *path, struct http_response *r)
{
    int *calls = ctx;
    (*calls)++;
    if (strcmp(path, "/healthz") == 0) {
        if (tm_buf_adds(&r->body, "ok\n") != TM_OK)
            r->status = 500;
    } else if (strcmp(path, "/readyz") == 0) {
        r->status = 503;
        if (tm_buf_adds(&r->body, "caches not synced\n") != TM_OK)
            r->status = 500;
    } else if (strcmp(path, "/metrics") == 0) {
        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
        if (tm_buf_addf(&r->body, "x_total %d\n", *calls) != TM_OK)
            r->status = 500;
    } else {
        r->status = 404;
        if (tm_buf_adds(&r->body, "not found\n") != TM_OK)
            r->status = 500;
    }
}

/* Sends raw, reads the whole answer (server closes) into out. */
static bool roundtrip(int port, const char *raw, char *out, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return false;
    }
    size_t len = strlen(raw);
    if (send(fd, raw, len, MSG_NOSIGNAL) != (ssize_t)len) {
        close(fd);
        return false;
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, out + got, n - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
    return got > 0;
}

struct fixture {
    struct http_server *s;
    int calls;
    int port;
};

static bool start(struct fixture *f)
{
    struct tm_err e;
    f->calls = 0;
    f->s = http_server_new(handler, &f->calls, &e);
    if (!f->s)
        return false;
    if (http_server_listen(f->s, "127.0.0.1:0", &e) != TM_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return false;
    }
    f->port = http_server_port(f->s, 0);
    return f->port > 0 && http_server_start(f->s, &e) == TM_OK;
}

TM_TEST(http_serves_each_endpoint_with_status_and_body)
{
    struct fixture f;
    TM_ASSERT(start(&f));
    char buf[4096];
    TM_ASSERT(roundtrip(f.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf)));
    TM_EXPECT_STR(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 3\r\nConnection: close\r\n\r\nok\n");
    TM_ASSERT(roundtrip(f.port, "GET /readyz HTTP/1.1\r\n\r\n", buf, sizeof(buf)));
    TM_EXPECT_STR(buf, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
                       "charset=utf-8\r\nContent-Length: 18\r\nConnection: close\r\n\r\n"
                       "caches not synced\n");
    TM_ASSERT(roundtrip(f.port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n", buf, sizeof(buf)));
    TM_EXPECT_STR(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                       "charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
                       "x_total 3\n");
    http_server_free(f.s);
}

TM_TEST(http_answers_404_for_unknown_paths)
{
    struct fixture f;
    TM_ASSERT(start(&f));
    char buf[4096];
    TM_ASSERT(roundtrip(f.port, "GET /nope HTTP/1.1\r\n\r\n", buf, sizeof(buf)));
    TM_EXPECT_STR(buf, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 10\r\nConnection: close\r\n\r\nnot found\n");
    http_server_free(f.s);
}

TM_TEST(http_rejects_other_methods_and_malformed_requests)
{
    struct fixture f;
    TM_ASSERT(start(&f));
    char buf[4096];
    TM_ASSERT(roundtrip(f.port, "POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", buf,
                        sizeof(buf)));
    TM_EXPECT_CONTAINS(buf, "HTTP/1.1 405 Method Not Allowed\r\n");
    TM_ASSERT(roundtrip(f.port, "hello there\r\n\r\n", buf, sizeof(buf)));
    TM_EXPECT_CONTAINS(buf, "HTTP/1.1 400 Bad Request\r\n");
    TM_EXPECT_INT(f.calls, 0); /* the handler never saw them */
    http_server_free(f.s);
}

TM_TEST(http_head_sends_headers_without_body)
{
    struct fixture f;
    TM_ASSERT(start(&f));
    char buf[4096];
    TM_ASSERT(roundtrip(f.port, "HEAD /healthz HTTP/1.1\r\n\r\n", buf, sizeof(buf)));
    TM_EXPECT_STR(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 3\r\nConnection: close\r\n\r\n");
    http_server_free(f.s);
}

TM_TEST(http_rejects_oversized_request_heads)
{
    struct fixture f;
    TM_ASSERT(start(&f));
    size_t n = HTTP_MAX_REQUEST + 100;
    char *big = malloc(n + 1);
    TM_ASSERT(big != NULL);
    memcpy(big, "GET /healthz HTTP/1.1\r\nX: ", 26);
    memset(big + 26, 'a', n - 26);
    big[n] = '\0';
    char buf[4096];
    TM_EXPECT(roundtrip(f.port, big, buf, sizeof(buf)));
    TM_EXPECT_CONTAINS(buf, "HTTP/1.1 413 ");
    free(big);
    http_server_free(f.s);
}

TM_TEST(http_silent_client_gets_408_and_does_not_block_others_for_good)
{
    struct fixture f;
    TM_ASSERT(start(&f));
    int silent = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f.port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    TM_ASSERT(connect(silent, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    char buf[4096];
    /* served after the silent one timed out */
    TM_ASSERT(roundtrip(f.port, "GET /healthz HTTP/1.1\r\n\r\n", buf, sizeof(buf)));
    TM_EXPECT_CONTAINS(buf, "HTTP/1.1 200 OK\r\n");
    size_t got = 0;
    ssize_t r;
    while (got < sizeof(buf) - 1 && (r = recv(silent, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    TM_EXPECT_CONTAINS(buf, "HTTP/1.1 408 Request Timeout\r\n");
    close(silent);
    http_server_free(f.s);
}

TM_TEST(http_serves_two_listeners_from_one_thread)
{
    struct tm_err e;
    int calls = 0;
    struct http_server *s = http_server_new(handler, &calls, &e);
    TM_ASSERT(s != NULL);
    TM_ASSERT_INT(http_server_listen(s, "127.0.0.1:0", &e), TM_OK);
    TM_ASSERT_INT(http_server_listen(s, "127.0.0.1:0", &e), TM_OK);
    TM_ASSERT(http_server_port(s, 0) != http_server_port(s, 1));
    TM_ASSERT_INT(http_server_start(s, &e), TM_OK);
    char buf[4096];
    TM_ASSERT(roundtrip(http_server_port(s, 0), "GET /healthz HTTP/1.1\r\n\r\n", buf, sizeof(buf)));
    TM_EXPECT_CONTAINS(buf, "200 OK");
    TM_ASSERT(roundtrip(http_server_port(s, 1), "GET /readyz HTTP/1.1\r\n\r\n", buf, sizeof(buf)));
    TM_EXPECT_CONTAINS(buf, "503 Service Unavailable");
    http_server_free(s);
}

TM_TEST(http_listen_reports_bad_and_busy_addresses)
{
    struct tm_err e;
    int calls = 0;
    struct http_server *s = http_server_new(handler, &calls, &e);
    TM_ASSERT(s != NULL);
    TM_EXPECT_INT(http_server_listen(s, "no-port", &e), TM_E_INVAL);
    TM_EXPECT_INT(http_server_listen(s, "127.0.0.1:http", &e), TM_E_INVAL);
    TM_ASSERT_INT(http_server_listen(s, "127.0.0.1:0", &e), TM_OK);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", http_server_port(s, 0));
    struct http_server *s2 = http_server_new(handler, &calls, &e);
    TM_ASSERT(s2 != NULL);
    TM_EXPECT_INT(http_server_listen(s2, addr, &e), TM_E_IO);
    TM_EXPECT_CONTAINS(e.msg, addr);
    http_server_free(s2);
    http_server_free(s);
}

TM_TEST_MAIN()
