/* Unit tests for controller/source (src_): DBSchema spec parsing, inline and
 * ConfigMap files into a mem fs, Git Secrets, URL/ref validation, durations.
 * The JSON is shaped exactly as the apiserver returns these objects.  Git
 * fetches against real servers are in tests/integration/test_source_git.c. */
#include <stdlib.h>
#include <string.h>

#include "source/source.h"
#include "tm_test.h"

static cJSON *json(const char *s)
{
    cJSON *j = cJSON_Parse(s);
    if (!j)
        fprintf(stderr, "bad test JSON: %s\n", s);
    return j;
}

/* Reads path from fs into a malloc'd string, or NULL. */
static char *fs_get(const struct chlog_fs *fs, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (fs->read(fs->ctx, path, &data, &len, NULL) != TM_OK)
        return NULL;
    return data;
}

TM_TEST(spec_parse_inline_defaults_changelog)
{
    cJSON *spec = json("{\"source\":{\"inline\":{\"files\":{\"changelog.yaml\":\"x\"}}}}");
    struct src_spec s;
    struct tm_err e;
    TM_ASSERT_INT(src_spec_parse(spec, &s, &e), TM_OK);
    TM_EXPECT_INT(s.kind, SRC_KIND_INLINE);
    TM_EXPECT_STR(s.changelog, "changelog.yaml");
    TM_EXPECT(cJSON_IsObject(s.inline_files));
    char *sum = src_spec_summary(&s);
    TM_EXPECT_STR(sum, "inline");
    free(sum);
    src_spec_release(&s);
    cJSON_Delete(spec);
}

TM_TEST(spec_parse_git_reads_every_field)
{
    cJSON *spec = json("{\"changelog\":\"master.yaml\",\"source\":{\"git\":{"
                       "\"url\":\"https://example.com/org/repo.git\",\"ref\":{\"tag\":\"v1.2.0\"},"
                       "\"path\":\"db/\",\"secretRef\":{\"name\":\"git-creds\"},"
                       "\"interval\":\"1m30s\",\"timeout\":\"45s\"}}}");
    struct src_spec s;
    struct tm_err e;
    TM_ASSERT_INT(src_spec_parse(spec, &s, &e), TM_OK);
    TM_EXPECT_INT(s.kind, SRC_KIND_GIT);
    TM_EXPECT_STR(s.git.url, "https://example.com/org/repo.git");
    TM_EXPECT_STR(s.git.tag, "v1.2.0");
    TM_EXPECT(s.git.branch == NULL && s.git.commit == NULL);
    TM_EXPECT_STR(s.git.path, "db/");
    TM_EXPECT_STR(s.git.secret_name, "git-creds");
    TM_EXPECT_INT(s.git.interval_ms, 90000);
    TM_EXPECT_INT(s.git.timeout_ms, 45000);
    TM_EXPECT_STR(s.changelog, "master.yaml");
    char *sum = src_spec_summary(&s);
    TM_EXPECT_STR(sum, "https://example.com/org/repo.git@v1.2.0");
    free(sum);
    src_spec_release(&s);
    cJSON_Delete(spec);
}

TM_TEST(spec_parse_configmap_summary)
{
    cJSON *spec = json("{\"source\":{\"configMapRef\":{\"name\":\"orders-changelog\"}}}");
    struct src_spec s;
    TM_ASSERT_INT(src_spec_parse(spec, &s, NULL), TM_OK);
    char *sum = src_spec_summary(&s);
    TM_EXPECT_STR(sum, "configmap/orders-changelog");
    free(sum);
    src_spec_release(&s);
    cJSON_Delete(spec);
}

TM_TEST(spec_parse_rejects_two_sources)
{
    cJSON *spec = json("{\"source\":{\"inline\":{\"files\":{\"a\":\"b\"}},"
                       "\"configMapRef\":{\"name\":\"x\"}}}");
    struct src_spec s;
    struct tm_err e;
    TM_EXPECT_INT(src_spec_parse(spec, &s, &e), TM_E_INVAL);
    TM_EXPECT_CONTAINS(e.msg, "exactly one of spec.source.inline");
    TM_EXPECT(s.changelog == NULL);
    cJSON_Delete(spec);
}

TM_TEST(spec_parse_rejects_no_source)
{
    cJSON *spec = json("{\"source\":{}}");
    struct src_spec s;
    struct tm_err e;
    TM_EXPECT_INT(src_spec_parse(spec, &s, &e), TM_E_INVAL);
    TM_EXPECT_CONTAINS(e.msg, "(0 are)");
    cJSON_Delete(spec);
}

TM_TEST(spec_parse_rejects_two_git_refs)
{
    cJSON *spec = json("{\"source\":{\"git\":{\"url\":\"https://h/r.git\","
                       "\"ref\":{\"branch\":\"main\",\"tag\":\"v1\"}}}}");
    struct src_spec s;
    struct tm_err e;
    TM_EXPECT_INT(src_spec_parse(spec, &s, &e), TM_E_INVAL);
    TM_EXPECT_CONTAINS(e.msg, "spec.source.git.ref: exactly one of branch, tag or commit");
    cJSON_Delete(spec);
}

TM_TEST(spec_parse_rejects_climbing_paths)
{
    const char *bad[] = {
        "{\"changelog\":\"../etc/passwd\",\"source\":{\"configMapRef\":{\"name\":\"x\"}}}",
        "{\"changelog\":\"/abs.yaml\",\"source\":{\"configMapRef\":{\"name\":\"x\"}}}",
        ("{\"source\":{\"git\":{\"url\":\"https://h/r.git\",\"ref\":{\"branch\":\"main\"},"
         "\"path\":\"db/../../x\"}}}"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *spec = json(bad[i]);
        struct src_spec s;
        struct tm_err e;
        TM_EXPECT_INT(src_spec_parse(spec, &s, &e), TM_E_INVAL);
        TM_EXPECT_CONTAINS(e.msg, "'..'");
        cJSON_Delete(spec);
    }
}

TM_TEST(spec_parse_reads_mount_path_and_properties)
{
    cJSON *spec = json("{\"changelog\":\"db.changelog-master.yaml\",\"mountPath\":\"db/changelog\","
                       "\"properties\":{\"gravitee_prefix\":\"\",\"schema.name\":\"app\"},"
                       "\"source\":{\"configMapRef\":{\"name\":\"x\"}}}");
    struct src_spec s;
    struct tm_err e;
    TM_ASSERT_INT(src_spec_parse(spec, &s, &e), TM_OK);
    TM_EXPECT_STR(s.mount_path, "db/changelog");
    TM_EXPECT_STR(chlog_props_get(&s.props, "gravitee_prefix"), "");
    TM_EXPECT_STR(chlog_props_get(&s.props, "schema.name"), "app");
    src_spec_release(&s);
    cJSON_Delete(spec);
    const char *bad[][2] = {
        {"{\"mountPath\":\"../up\",\"source\":{\"configMapRef\":{\"name\":\"x\"}}}",
         "spec.mountPath"},
        {"{\"mountPath\":\"/abs\",\"source\":{\"configMapRef\":{\"name\":\"x\"}}}",
         "spec.mountPath"},
        {"{\"properties\":{\"a b\":\"x\"},\"source\":{\"configMapRef\":{\"name\":\"x\"}}}",
         "not a property name"},
        {"{\"properties\":{\"n\":1},\"source\":{\"configMapRef\":{\"name\":\"x\"}}}",
         "spec.properties.n: must be text"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *b = json(bad[i][0]);
        TM_EXPECT_INT(src_spec_parse(b, &s, &e), TM_E_INVAL);
        TM_EXPECT_CONTAINS(e.msg, bad[i][1]);
        cJSON_Delete(b);
    }
}

TM_TEST(inline_files_become_a_fs_with_folders)
{
    cJSON *files = json("{\"changelog.yaml\":\"databaseChangeLog: []\\n\","
                        "\"sql/001-orders.sql\":\"create table orders(id int);\","
                        "\"sql/002-customers.sql\":\"create table customers(id int);\"}");
    struct chlog_fs fs;
    struct tm_err e;
    TM_ASSERT_INT(src_load_inline(files, &fs, &e), TM_OK);
    char *c = fs_get(&fs, "changelog.yaml");
    TM_EXPECT_STR(c, "databaseChangeLog: []\n");
    free(c);
    c = fs_get(&fs, "sql/002-customers.sql");
    TM_EXPECT_STR(c, "create table customers(id int);");
    free(c);
    TM_EXPECT(fs.is_dir(fs.ctx, "sql"));
    char **names = NULL;
    size_t n = 0;
    TM_ASSERT_INT(fs.list(fs.ctx, "", &names, &n, NULL), TM_OK);
    TM_EXPECT_INT(n, 2);
    if (n == 2) {
        TM_EXPECT_STR(names[0], "changelog.yaml");
        TM_EXPECT_STR(names[1], "sql");
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    chlog_fs_mem_release(&fs);
    cJSON_Delete(files);
}

TM_TEST(inline_rejects_non_string_and_escaping_names)
{
    const char *bad[] = {"{\"a.sql\":1}", "{\"../a.sql\":\"x\"}", "{\"/a.sql\":\"x\"}",
                         "{\"a/./b.sql\":\"x\"}", "{}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *files = json(bad[i]);
        struct chlog_fs fs;
        struct tm_err e;
        TM_EXPECT_INT(src_load_inline(files, &fs, &e), TM_E_INVAL);
        TM_EXPECT_CONTAINS(e.msg, "spec.source.inline.files");
        TM_EXPECT(fs.ctx == NULL);
        cJSON_Delete(files);
    }
}

TM_TEST(configmap_data_and_binary_data_are_files)
{
    /* "c2VsZWN0IDE7" is base64 of "select 1;" */
    cJSON *cm = json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                     "\"metadata\":{\"name\":\"orders-changelog\",\"namespace\":\"prod\"},"
                     "\"data\":{\"changelog.yaml\":\"databaseChangeLog: []\"},"
                     "\"binaryData\":{\"001.sql\":\"c2VsZWN0IDE7\"}}");
    struct chlog_fs fs;
    struct tm_err e;
    TM_ASSERT_INT(src_load_configmap(cm, &fs, &e), TM_OK);
    char *c = fs_get(&fs, "001.sql");
    TM_EXPECT_STR(c, "select 1;");
    free(c);
    c = fs_get(&fs, "changelog.yaml");
    TM_EXPECT_STR(c, "databaseChangeLog: []");
    free(c);
    chlog_fs_mem_release(&fs);
    cJSON_Delete(cm);
}

TM_TEST(configmap_without_keys_is_not_found)
{
    cJSON *cm = json("{\"metadata\":{\"name\":\"empty\"}}");
    struct chlog_fs fs;
    struct tm_err e;
    TM_EXPECT_INT(src_load_configmap(cm, &fs, &e), TM_E_NOTFOUND);
    TM_EXPECT_STR(e.msg, "configmap empty has no keys");
    cJSON_Delete(cm);
}

TM_TEST(configmap_rejects_bad_base64_and_duplicate_keys)
{
    cJSON *cm = json("{\"metadata\":{\"name\":\"cm\"},\"binaryData\":{\"a.sql\":\"c2VsZ*\"}}");
    struct chlog_fs fs;
    struct tm_err e;
    TM_EXPECT_INT(src_load_configmap(cm, &fs, &e), TM_E_INVAL);
    TM_EXPECT_CONTAINS(e.msg, "binaryData[a.sql] is not valid base64");
    cJSON_Delete(cm);
    cm = json("{\"metadata\":{\"name\":\"cm\"},\"data\":{\"a.sql\":\"x\"},"
              "\"binaryData\":{\"a.sql\":\"eA==\"}}");
    TM_EXPECT_INT(src_load_configmap(cm, &fs, &e), TM_E_INVAL);
    TM_EXPECT_CONTAINS(e.msg, "key a.sql is in both data and binaryData");
    cJSON_Delete(cm);
}

TM_TEST(content_revision_ignores_key_order_and_sees_content)
{
    cJSON *a = json("{\"a.sql\":\"one\",\"b.sql\":\"two\"}");
    cJSON *b = json("{\"b.sql\":\"two\",\"a.sql\":\"one\"}");
    cJSON *c = json("{\"a.sql\":\"one\",\"b.sql\":\"two!\"}");
    cJSON *d = json("{\"a.sqlo\":\"ne\",\"b.sql\":\"two\"}"); /* same bytes, other split */
    char ra[SRC_REVISION_MAX], rb[SRC_REVISION_MAX], rc_[SRC_REVISION_MAX], rd[SRC_REVISION_MAX];
    cJSON *in[] = {a, b, c, d};
    char *out[] = {ra, rb, rc_, rd};
    for (int i = 0; i < 4; i++) {
        struct chlog_fs fs;
        TM_ASSERT_INT(src_load_inline(in[i], &fs, NULL), TM_OK);
        TM_EXPECT_INT(src_content_revision(&fs, out[i], NULL), TM_OK);
        chlog_fs_mem_release(&fs);
        cJSON_Delete(in[i]);
    }
    TM_EXPECT_INT(strncmp(ra, "sha256:", 7), 0);
    TM_EXPECT_INT(strlen(ra), 7 + 64);
    TM_EXPECT_STR(ra, rb);
    TM_EXPECT(strcmp(ra, rc_) != 0);
    TM_EXPECT(strcmp(ra, rd) != 0);
}

TM_TEST(git_auth_reads_basic_credentials)
{
    /* dXNlcg== "user", czNjcjN0 "s3cr3t" */
    cJSON *sec = json("{\"metadata\":{\"name\":\"git-creds\"},"
                      "\"data\":{\"username\":\"dXNlcg==\",\"password\":\"czNjcjN0\"}}");
    struct src_git_auth a;
    struct tm_err e;
    TM_ASSERT_INT(src_git_auth_from_secret(sec, &a, &e), TM_OK);
    TM_EXPECT_STR(a.username, "user");
    TM_EXPECT_STR(a.password, "s3cr3t");
    TM_EXPECT(a.bearer_token == NULL);
    src_git_auth_release(&a);
    TM_EXPECT(a.username == NULL && a.password == NULL);
    cJSON_Delete(sec);
}

TM_TEST(git_auth_reads_bearer_token)
{
    cJSON *sec = json("{\"metadata\":{\"name\":\"t\"},\"data\":{\"bearerToken\":\"dG9rZW4=\"}}");
    struct src_git_auth a;
    TM_ASSERT_INT(src_git_auth_from_secret(sec, &a, NULL), TM_OK);
    TM_EXPECT_STR(a.bearer_token, "token");
    src_git_auth_release(&a);
    cJSON_Delete(sec);
}

TM_TEST(git_auth_rejects_incomplete_secret_without_leaking_values)
{
    cJSON *sec = json("{\"metadata\":{\"name\":\"half\"},\"data\":{\"password\":\"czNjcjN0\"}}");
    struct src_git_auth a;
    struct tm_err e;
    TM_EXPECT_INT(src_git_auth_from_secret(sec, &a, &e), TM_E_INVAL);
    TM_EXPECT_STR(e.msg, "secret half: needs keys username and password, or bearerToken");
    TM_EXPECT(a.password == NULL);
    cJSON_Delete(sec);
    /* "czNjcjN0Cg==" is "s3cr3t\n": a newline would end the HTTP header */
    sec = json("{\"metadata\":{\"name\":\"nl\"},"
               "\"data\":{\"username\":\"dXNlcg==\",\"password\":\"czNjcjN0Cg==\"}}");
    TM_EXPECT_INT(src_git_auth_from_secret(sec, &a, &e), TM_E_INVAL);
    TM_EXPECT_CONTAINS(e.msg, "key password contains a control character");
    TM_EXPECT_NOT_CONTAINS(e.msg, "s3cr3t");
    cJSON_Delete(sec);
}

TM_TEST(git_url_validation_accepts_supported_schemes)
{
    const char *good[] = {"https://github.com/org/repo.git", "http://127.0.0.1:8080/repo.git",
                          "git://127.0.0.1:9418/repo.git", "https://host/a/b?x=1#frag",
                          "https://[::1]:8443/r.git"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct tm_err e;
        enum tm_code rc = src_git_validate_url(good[i], false, &e);
        if (rc != TM_OK)
            fprintf(stderr, "%s: %s\n", good[i], e.msg);
        TM_EXPECT_INT(rc, TM_OK);
    }
    TM_EXPECT_INT(src_git_validate_url("file:///srv/repo.git", true, NULL), TM_OK);
}

TM_TEST(git_url_validation_rejects_shell_and_option_injection)
{
    struct {
        const char *url;
        const char *why;
    } bad[] = {
        {"https://h/x;rm -rf /", "not allowed"},
        {"https://h/$(touch /tmp/pwned)", "not allowed"},
        {"https://h/`id`", "not allowed"},
        {"https://h/a|b", "not allowed"},
        {"https://h/a&b", "not allowed"},
        {"https://h/a'b", "not allowed"},
        {"https://h/a\\b", "not allowed"},
        {"https://h/a\nb", "not allowed"},
        {"-uhttps://h/x", "must not start with '-'"},
        {"--upload-pack=touch /tmp/pwned", "must not start with '-'"},
        {"ssh://git@h/x.git", "must start with"},
        {"git@github.com:org/repo.git", "must start with"},
        {"ext::sh -c touch% /tmp/pwned", "must start with"},
        {"file:///etc", "must start with https://, http:// or git://"},
        {"https://user:pass@h/x.git", "must not contain credentials"},
        {"https://", "no host"},
        {"http://-oProxyCommand=x/", "no host"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tm_err e;
        tm_err_clear(&e);
        TM_EXPECT_INT(src_git_validate_url(bad[i].url, false, &e), TM_E_INVAL);
        TM_EXPECT_CONTAINS(e.msg, bad[i].why);
    }
}

TM_TEST(git_ref_validation)
{
    TM_EXPECT_INT(src_git_validate_ref("main", NULL, NULL, NULL), TM_OK);
    TM_EXPECT_INT(src_git_validate_ref("release/1.x", NULL, NULL, NULL), TM_OK);
    TM_EXPECT_INT(src_git_validate_ref(NULL, "v1.2.0", NULL, NULL), TM_OK);
    TM_EXPECT_INT(src_git_validate_ref(NULL, NULL, "0123456789abcdef0123456789abcdef01234567", NULL),
                  TM_OK);
    const char *bad_names[] = {"-main", "a..b", "a b", "a;b", "a.lock", "a/", "@{u}", "$(id)",
                               ".hidden", "a//b", ""};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        TM_EXPECT_INT(src_git_validate_ref(bad_names[i], NULL, NULL, NULL), TM_E_INVAL);
        TM_EXPECT_INT(src_git_validate_ref(NULL, bad_names[i], NULL, NULL), TM_E_INVAL);
    }
    TM_EXPECT_INT(src_git_validate_ref(NULL, NULL, "abc123", NULL), TM_E_INVAL);
    TM_EXPECT_INT(src_git_validate_ref(NULL, NULL, "0123456789ABCDEF0123456789ABCDEF01234567", NULL),
                  TM_E_INVAL);
    TM_EXPECT_INT(src_git_validate_ref("main", "v1", NULL, NULL), TM_E_INVAL);
    TM_EXPECT_INT(src_git_validate_ref(NULL, NULL, NULL, NULL), TM_E_INVAL);
}

TM_TEST(duration_parsing)
{
    int64_t ms = 0;
    TM_EXPECT(src_parse_duration_ms("1m", &ms) && ms == 60000);
    TM_EXPECT(src_parse_duration_ms("1h30m", &ms) && ms == 5400000);
    TM_EXPECT(src_parse_duration_ms("1.5s", &ms) && ms == 1500);
    TM_EXPECT(src_parse_duration_ms("250ms", &ms) && ms == 250);
    TM_EXPECT(!src_parse_duration_ms("", &ms));
    TM_EXPECT(!src_parse_duration_ms("10", &ms));
    TM_EXPECT(!src_parse_duration_ms("1d", &ms));
    TM_EXPECT(!src_parse_duration_ms("0s", &ms));
    TM_EXPECT(!src_parse_duration_ms("-1s", &ms));
    TM_EXPECT(!src_parse_duration_ms("1.s", &ms));
    TM_EXPECT(!src_parse_duration_ms("999999h", &ms));
}

TM_TEST_MAIN()
