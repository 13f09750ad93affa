/* Fuzz target: API Status bodies → tm_err (controller/kube/path.c), the
 * reason extraction, and single watch lines.  The first two bytes pick the
 * HTTP status (100..599); the rest is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int status = 100 + ((data[0] << 8) | data[1]) % 500;
    const char *body = (const char *)data + 2;
    size_t n = size - 2;
    struct tm_err err;
    tm_err_clear(&err);
    enum tm_code rc = kube_status_to_err(status, body, n, &err);
    if (rc == TM_OK || err.code != rc || strlen(err.msg) >= sizeof(err.msg))
        abort(); /* a non-2xx answer is always an error */
    char reason[64];
    kube_err_reason(&err, reason, sizeof(reason));
    tm_err_prefix(&err, "get /x");
    kube_err_reason(&err, reason, sizeof(reason));
    struct kube_watch_event ev;
    if (kube_watch_parse_line(body, n, &ev, &err) == TM_OK)
        cJSON_Delete(ev.object);
    return 0;
}
