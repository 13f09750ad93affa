/* Fuzz target: the watch stream framer (controller/kube/watch.c).
 * The first input byte picks a chunk size; the rest is the stream.  Checks a
 * property, not just "no crash": feeding the stream whole and in chunks
 * yields the same events and the same outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"

static enum tm_code rec(void *ctx, struct kube_watch_event *ev, struct tm_err *err)
{
    struct tm_buf *b = ctx;
    char *s = cJSON_PrintUnformatted(ev->object);
    enum tm_code rc = tm_buf_addf(b, "%d %s %s\n", (int)ev->type, ev->resource_version,
                                  s ? s : "");
    cJSON_free(s);
    return rc;
}

static enum tm_code run(const char *d, size_t n, size_t chunk, struct tm_buf *out)
{
    struct kube_watch_framer f;
    kube_watch_framer_init(&f, 4096, rec, out);
    struct tm_err err;
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < n && rc == TM_OK; i += chunk)
        rc = kube_watch_framer_feed(&f, d + i, n - i < chunk ? n - i : chunk, &err);
    if (rc == TM_OK)
        rc = kube_watch_framer_finish(&f, &err);
    kube_watch_framer_release(&f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] % 17 + 1;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    struct tm_buf a, b;
    tm_buf_init(&a, 1 << 24);
    tm_buf_init(&b, 1 << 24);
    enum tm_code ra = run(d, n, n ? n : 1, &a);
    enum tm_code rb = run(d, n, chunk, &b);
    if (ra != rb || strcmp(tm_buf_str(&a), tm_buf_str(&b)) != 0) {
        fprintf(stderr, "framer differs by split: %d vs %d\n", ra, rb);
        abort();
    }
    tm_buf_release(&a);
    tm_buf_release(&b);
    return 0;
}
