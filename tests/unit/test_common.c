/* Unit tests of controller/common (tm_buf, tm_err) and controller/log. */
#include "../tm_test.h"

#include "common/buf.h"
#include "common/caps.h"
#include "common/err.h"
#include "common/json_path.h"
#include "log/log.h"

TM_TEST(buf_appends_and_stays_nul_terminated)
{
    struct tm_buf b;
    tm_buf_init(&b, 100);
    TM_EXPECT_STR(tm_buf_str(&b), "");
    TM_ASSERT_INT(tm_buf_adds(&b, "hello"), TM_OK);
    TM_ASSERT_INT(tm_buf_addf(&b, " %d", 42), TM_OK);
    TM_EXPECT_STR(tm_buf_str(&b), "hello 42");
    TM_EXPECT_INT(b.len, 8);
    size_t n = 0;
    char *s = tm_buf_detach(&b, &n);
    TM_EXPECT_STR(s, "hello 42");
    TM_EXPECT_INT(n, 8);
    TM_EXPECT_STR(tm_buf_str(&b), "");
    free(s);
}

TM_TEST(buf_rejects_growth_past_cap_and_frees)
{
    struct tm_buf b;
    tm_buf_init(&b, 8);
    TM_ASSERT_INT(tm_buf_adds(&b, "12345678"), TM_OK);
    TM_EXPECT_INT(tm_buf_adds(&b, "9"), TM_E_TOOBIG);
    TM_EXPECT_INT(b.len, 0);
    TM_EXPECT(b.data == NULL);
    TM_ASSERT_INT(tm_buf_adds(&b, "ok"), TM_OK); /* reusable */
    TM_EXPECT_STR(tm_buf_str(&b), "ok");
    tm_buf_release(&b);
}

TM_TEST(err_prefix_chains_messages)
{
    struct tm_err e;
    tm_err_clear(&e);
    TM_EXPECT_INT(tm_err_set(&e, TM_E_HTTP, "%d forbidden", 403), TM_E_HTTP);
    tm_err_prefix(&e, "get dbinstance %s", "prod/orders");
    TM_EXPECT_STR(e.msg, "get dbinstance prod/orders: 403 forbidden");
    TM_EXPECT_INT(e.retry, TM_RETRY_TERMINAL);
}

TM_TEST(log_redacts_passwords_in_urls_and_conninfo)
{
    char out[256];
    log_redact_url("postgresql://app:s3cret@db:5432/orders", out, sizeof(out));
    TM_EXPECT_STR(out, "postgresql://app:***@db:5432/orders");
    log_redact_url("host=db password=s3cret dbname=x", out, sizeof(out));
    TM_EXPECT_STR(out, "host=db password=*** dbname=x");
    log_redact_url("postgresql://db/orders", out, sizeof(out));
    TM_EXPECT_STR(out, "postgresql://db/orders");
}

TM_TEST(log_writes_json_lines_with_escaped_fields)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    struct tm_log lg;
    log_init(&lg, f, LOG_INFO, true);
    log_debug(&lg, "dropped");
    log_info(&lg, "changeset applied", LF_S("changeset", "a\"b"), LF_I("duration_ms", 12));
    fclose(f);
    TM_EXPECT_NOT_CONTAINS(mem, "dropped");
    TM_EXPECT_CONTAINS(mem, "\"msg\":\"changeset applied\",\"changeset\":\"a\\\"b\",\"duration_ms\":12}");
    log_release(&lg);
    free(mem);
}

/* A field past the line cap must not leave a fragment: the fields after it used to start
 * over in the emptied buffer and print ',"after":"x"}' as a line. */
TM_TEST(log_replaces_a_line_past_the_cap_whole)
{
    size_t big_len = TM_CAP_LOG_LINE + 16;
    char *big = malloc(big_len + 1);
    TM_ASSERT(big != NULL);
    memset(big, 'x', big_len);
    big[big_len] = '\0';
    for (int json = 0; json <= 1; json++) {
        char *mem = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        struct tm_log lg;
        log_init(&lg, f, LOG_INFO, json);
        log_info(&lg, "too big", LF_S("huge", big), LF_S("after", "tail"), LF_I("n", 7));
        log_info(&lg, "next line");
        fclose(f);
        TM_EXPECT_CONTAINS(mem, "log line too long");
        TM_EXPECT_NOT_CONTAINS(mem, "tail");
        TM_EXPECT_NOT_CONTAINS(mem, "xxxx");
        TM_EXPECT_CONTAINS(mem, "next line");
        /* two whole lines: the replacement, then the next one */
        int lines = 0;
        for (const char *p = mem; *p; p++)
            lines += *p == '\n';
        TM_EXPECT_INT(lines, 2);
        if (json)
            TM_EXPECT(mem[0] == '{' && strstr(mem, "}\n{") != NULL);
        log_release(&lg);
        free(mem);
    }
    free(big);
}

TM_TEST(json_path_walks_objects_only)
{
    cJSON *o = cJSON_Parse("{\"spec\":{\"ref\":{\"name\":\"a\"},\"n\":3,\"l\":[1]}}");
    TM_ASSERT(o != NULL);
    TM_EXPECT_STR(json_path_str(o, "spec.ref.name"), "a");
    TM_EXPECT(json_path(o, "") == o);
    TM_EXPECT_INT((int)json_path(o, "spec.n")->valuedouble, 3);
    TM_EXPECT(json_path_str(o, "spec.n") == NULL);       /* not a string */
    TM_EXPECT(json_path(o, "spec.n.x") == NULL);         /* through a number */
    TM_EXPECT(json_path(o, "spec.l.0") == NULL);         /* no array indexes */
    TM_EXPECT(json_path(o, "spec..ref") == NULL);        /* empty segment */
    TM_EXPECT(json_path(o, "spec.missing.name") == NULL);
    TM_EXPECT(json_path(NULL, "spec") == NULL);
    cJSON_Delete(o);
}

TM_TEST(json_paths_changed_compares_only_the_paths_given)
{
    cJSON *a = cJSON_Parse("{\"metadata\":{\"generation\":2,\"resourceVersion\":\"7\"},"
                           "\"status\":{\"revision\":\"r1\",\"instances\":[{\"n\":\"x\"}]}}");
    cJSON *b = cJSON_Parse("{\"metadata\":{\"generation\":2,\"resourceVersion\":\"8\"},"
                           "\"status\":{\"revision\":\"r1\",\"instances\":[{\"n\":\"y\"}]}}");
    cJSON *c = cJSON_Parse("{\"metadata\":{\"generation\":2},\"status\":{}}");
    TM_ASSERT(a && b && c);
    const char *paths[4] = {"metadata.generation", "status.revision", NULL, "status.instances"};
    TM_EXPECT(!json_paths_changed(paths, 4, a, b)); /* the NULL ends the list */
    TM_EXPECT(json_paths_changed(paths + 3, 1, a, b));
    TM_EXPECT(json_paths_changed(paths, 2, a, c));  /* revision gone */
    TM_EXPECT(json_paths_changed(paths, 2, c, a));  /* revision appears */
    const char *absent[] = {"status.nothing"};
    TM_EXPECT(!json_paths_changed(absent, 1, a, c)); /* absent in both */
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}

TM_TEST_MAIN()
