/* Unit tests of controller/kube/path.c (API paths, escaping, Status → tm_err)
 * and of the time helpers in controller/kube/event.c. */
#include "../tm_test.h"

#include "kube/kube.h"

static void expect_path(const struct kube_ref *ref, const char *want, int line)
{
    struct tm_buf b;
    tm_buf_init(&b, 4096);
    struct tm_err err;
    tm_err_clear(&err);
    enum tm_code rc = kube_path(&b, ref, &err);
    if (rc != TM_OK || strcmp(tm_buf_str(&b), want) != 0)
        TM_FAIL_("line %d: want %s, got rc %d \"%s\" (%s)", line, want, rc, tm_buf_str(&b),
                 err.msg);
    tm_buf_release(&b);
}

TM_TEST(kube_path_builds_core_group_namespaced_and_cluster_paths)
{
    expect_path(&(struct kube_ref){.version = "v1", .ns = "prod", .resource = "configmaps"},
                "/api/v1/namespaces/prod/configmaps", __LINE__);
    expect_path(&(struct kube_ref){.group = "", .version = "v1", .ns = "prod",
                                   .resource = "configmaps", .name = "orders"},
                "/api/v1/namespaces/prod/configmaps/orders", __LINE__);
    expect_path(&(struct kube_ref){.version = "v1", .resource = "namespaces", .name = "prod"},
                "/api/v1/namespaces/prod", __LINE__);
    expect_path(&(struct kube_ref){.group = "tidemark.dev", .version = "v1alpha1", .ns = "a",
                                   .resource = "dbrollouts", .name = "r1", .subresource = "status"},
                "/apis/tidemark.dev/v1alpha1/namespaces/a/dbrollouts/r1/status", __LINE__);
    expect_path(&(struct kube_ref){.group = "apiextensions.k8s.io", .version = "v1",
                                   .resource = "customresourcedefinitions"},
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", __LINE__);
}

TM_TEST(kube_path_escapes_every_segment)
{
    expect_path(&(struct kube_ref){.version = "v1", .ns = "n s", .resource = "configmaps",
                                   .name = "a/b?c=d&e#f%\xc3\xa9"},
                "/api/v1/namespaces/n%20s/configmaps/a%2Fb%3Fc%3Dd%26e%23f%25%C3%A9", __LINE__);
    expect_path(&(struct kube_ref){.version = "v1", .resource = "x", .name = "a.b-c_d~e"},
                "/api/v1/x/a.b-c_d~e", __LINE__);
}

TM_TEST(kube_path_rejects_missing_and_dot_segments)
{
    struct tm_buf b;
    tm_buf_init(&b, 4096);
    struct tm_err err;
    TM_EXPECT_INT(kube_path(&b, &(struct kube_ref){.resource = "x"}, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "no version");
    TM_EXPECT_INT(kube_path(&b, &(struct kube_ref){.version = "v1"}, &err), TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "no resource");
    TM_EXPECT_INT(kube_path(&b, &(struct kube_ref){.version = "v1", .resource = "x", .name = ".."},
                            &err),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "may not be \"..\"");
    TM_EXPECT_INT(kube_path(&b, &(struct kube_ref){.version = "v1", .resource = "x",
                                                   .subresource = "status"},
                            &err),
                  TM_E_INVAL);
    TM_EXPECT_CONTAINS(err.msg, "without a name");
    tm_buf_release(&b);
}

TM_TEST(kube_path_query_appends_escaped_parameters)
{
    struct tm_buf b;
    tm_buf_init(&b, 4096);
    struct tm_err err;
    TM_ASSERT_INT(tm_buf_adds(&b, "/api/v1/pods"), TM_OK);
    TM_ASSERT_INT(kube_path_query(&b, "labelSelector", "app=web,tier in (a,b)", &err), TM_OK);
    TM_ASSERT_INT(kube_path_query(&b, "limit", "5", &err), TM_OK);
    TM_EXPECT_STR(tm_buf_str(&b),
                  "/api/v1/pods?labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29&limit=5");
    tm_buf_release(&b);
}

/* Status bodies as kube-apiserver sends them. */
TM_TEST(kube_status_maps_not_found_with_reason_and_message)
{
    const char *body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                       "\"Failure\",\"message\":\"configmaps \\\"x\\\" not found\",\"reason\":"
                       "\"NotFound\",\"details\":{\"name\":\"x\",\"kind\":\"configmaps\"},\"code\":404}";
    struct tm_err err;
    TM_EXPECT_INT(kube_status_to_err(404, body, strlen(body), &err), TM_E_NOTFOUND);
    TM_EXPECT_INT(err.code, TM_E_NOTFOUND);
    TM_EXPECT_INT(err.retry, TM_RETRY_TERMINAL);
    TM_EXPECT_INT(err.http_status, 404);
    TM_EXPECT_STR(err.msg, "404 NotFound: configmaps \"x\" not found");
    tm_err_prefix(&err, "get /api/v1/namespaces/a/configmaps/x");
    char reason[32];
    kube_err_reason(&err, reason, sizeof(reason));
    TM_EXPECT_STR(reason, "NotFound");
}

TM_TEST(kube_status_maps_each_class_of_code)
{
    struct {
        int status;
        const char *body;
        enum tm_code code;
        enum tm_retry retry;
        const char *reason;
    } cases[] = {
        {409, "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"the object has been modified\",\"code\":409}",
         TM_E_CONFLICT, TM_RETRY_TERMINAL, "Conflict"},
        {409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"message\":\"exists\",\"code\":409}",
         TM_E_CONFLICT, TM_RETRY_TERMINAL, "AlreadyExists"},
        {401, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\",\"message\":\"Unauthorized\",\"code\":401}",
         TM_E_AUTH, TM_RETRY_TERMINAL, "Unauthorized"},
        {403, "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"message\":\"no\",\"code\":403}",
         TM_E_AUTH, TM_RETRY_TERMINAL, "Forbidden"},
        {422, "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"message\":\"bad name\",\"code\":422}",
         TM_E_INVAL, TM_RETRY_TERMINAL, "Invalid"},
        {410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"message\":\"too old\",\"code\":410}",
         TM_E_NOTFOUND, TM_RETRY_TRANSIENT, "Expired"},
        {429, "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"message\":\"slow down\",\"code\":429}",
         TM_E_HTTP, TM_RETRY_TRANSIENT, "TooManyRequests"},
        {503, NULL, TM_E_HTTP, TM_RETRY_TRANSIENT, "ServiceUnavailable"},
        {500, "<html>proxy error</html>", TM_E_HTTP, TM_RETRY_TRANSIENT, "InternalError"},
        {415, "", TM_E_HTTP, TM_RETRY_TERMINAL, "UnsupportedMediaType"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tm_err err;
        tm_err_clear(&err);
        enum tm_code rc = kube_status_to_err(cases[i].status, cases[i].body,
                                             cases[i].body ? strlen(cases[i].body) : 0, &err);
        char reason[64];
        kube_err_reason(&err, reason, sizeof(reason));
        if (rc != cases[i].code || err.retry != cases[i].retry ||
            err.http_status != cases[i].status || strcmp(reason, cases[i].reason) != 0)
            TM_FAIL_("case %zu (%d): got code %d retry %d status %d reason %s msg \"%s\"", i,
                     cases[i].status, rc, err.retry, err.http_status, reason, err.msg);
    }
}

TM_TEST(kube_status_without_json_uses_the_status_line)
{
    struct tm_err err;
    kube_status_to_err(502, "Bad Gateway", 11, &err);
    TM_EXPECT_STR(err.msg, "502 InternalError");
    TM_EXPECT_INT(err.retry, TM_RETRY_TRANSIENT);
}

TM_TEST(kube_time_formats_micro_time_and_parses_rfc3339)
{
    char t[32];
    kube_time_micro(0, t);
    TM_EXPECT_STR(t, "1970-01-01T00:00:00.000000Z");
    kube_time_micro(1700000000123456LL, t);
    TM_EXPECT_STR(t, "2023-11-14T22:13:20.123456Z");
    kube_time_rfc3339(1700000000, t);
    TM_EXPECT_STR(t, "2023-11-14T22:13:20Z");
    int64_t us = 0;
    TM_EXPECT(kube_time_parse("2023-11-14T22:13:20.123456Z", &us));
    TM_EXPECT_INT(us, 1700000000123456LL);
    TM_EXPECT(kube_time_parse("2023-11-14T22:13:20Z", &us));
    TM_EXPECT_INT(us, 1700000000000000LL);
    TM_EXPECT(kube_time_parse("2023-11-15T00:13:20.5+02:00", &us));
    TM_EXPECT_INT(us, 1700000000500000LL);
    TM_EXPECT(!kube_time_parse("2023-11-14 22:13", &us));
    TM_EXPECT(!kube_time_parse("2023-13-14T22:13:20Z", &us));
    TM_EXPECT(!kube_time_parse("2023-11-14T22:13:20", &us));
}

TM_TEST_MAIN()
