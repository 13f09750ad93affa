/* Unit tests of controller/kube/config.c: kubeconfig files written under a
 * temp dir (token, tokenFile, -data forms, file paths, contexts, errors) and
 * the in-cluster config from an overridden service-account directory. */
#include "../tm_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/kube_int.h"

/* base64 of "CA-PEM\n", "CERT-PEM\n", "KEY-PEM\n" */
#define CA_B64 "Q0EtUEVNCg=="
#define CERT_B64 "Q0VSVC1QRU0K"
#define KEY_B64 "S0VZLVBFTQo="

struct tmpdir {
    char path[256];
};

static void tmpdir_make(struct tmpdir *d)
{
    snprintf(d->path, sizeof(d->path), "/tmp/tm-kubecfg-XXXXXX");
    if (!mkdtemp(d->path))
        d->path[0] = '\0';
}

static void write_file(const struct tmpdir *d, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", d->path, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void tmpdir_remove(struct tmpdir *d)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d->path);
}

static struct kube_config *load(const struct tmpdir *d, const char *name, const char *context,
                                struct tm_err *err)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", d->path, name);
    return kube_config_from_file(p, context, err);
}

static const char TWO_CONTEXTS[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: c-dev\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443/\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "- name: c-prod\n"
    "  cluster:\n"
    "    server: https://prod.example:8443\n"
    "    certificate-authority: certs/ca.crt\n"
    "    tls-server-name: kubernetes.internal\n"
    "contexts:\n"
    "- name: dev\n"
    "  context: {cluster: c-dev, user: u-token, namespace: team-a}\n"
    "- name: prod\n"
    "  context: {cluster: c-prod, user: u-cert}\n"
    "- name: filetoken\n"
    "  context: {cluster: c-dev, user: u-file}\n"
    "users:\n"
    "- name: u-token\n"
    "  user: {token: s3cr3t-token}\n"
    "- name: u-cert\n"
    "  user:\n"
    "    client-certificate-data: " CERT_B64 "\n"
    "    client-key: certs/client.key\n"
    "- name: u-file\n"
    "  user: {tokenFile: tok}\n";

TM_TEST(kubeconfig_current_context_gives_server_namespace_token_and_ca_data)
{
    struct tmpdir d;
    tmpdir_make(&d);
    TM_ASSERT(d.path[0]);
    write_file(&d, "config", TWO_CONTEXTS);
    struct tm_err err;
    tm_err_clear(&err);
    struct kube_config *cfg = load(&d, "config", NULL, &err);
    TM_ASSERT(cfg != NULL);
    TM_EXPECT_STR(kube_config_server(cfg), "https://127.0.0.1:6443");
    TM_EXPECT_STR(kube_config_namespace(cfg), "team-a");
    TM_EXPECT_STR(kube_config_auth_kind(cfg), "token");
    TM_EXPECT(!kube_config_insecure(cfg));
    size_t n = 0;
    const char *ca = kube_int_ca(cfg, &n);
    TM_EXPECT_INT(n, 7);
    TM_EXPECT(ca && memcmp(ca, "CA-PEM\n", 7) == 0);
    char tok[256];
    TM_EXPECT_INT(kube_config_token(cfg, false, tok, sizeof(tok), &err), TM_OK);
    TM_EXPECT_STR(tok, "s3cr3t-token");
    kube_config_free(cfg);
    tmpdir_remove(&d);
}

TM_TEST(kubeconfig_named_context_reads_files_relative_to_the_kubeconfig)
{
    struct tmpdir d;
    tmpdir_make(&d);
    TM_ASSERT(d.path[0]);
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/certs", d.path);
    mkdir(sub, 0700);
    write_file(&d, "config", TWO_CONTEXTS);
    write_file(&d, "certs/ca.crt", "FILE-CA\n");
    write_file(&d, "certs/client.key", "FILE-KEY\n");
    struct tm_err err;
    tm_err_clear(&err);
    struct kube_config *cfg = load(&d, "config", "prod", &err);
    TM_ASSERT(cfg != NULL);
    TM_EXPECT_STR(kube_config_server(cfg), "https://prod.example:8443");
    TM_EXPECT_STR(kube_int_base_url(cfg), "https://kubernetes.internal:8443");
    TM_EXPECT_STR(kube_config_namespace(cfg), "default");
    TM_EXPECT_STR(kube_config_auth_kind(cfg), "client-cert");
    size_t n = 0;
    const char *p = kube_int_ca(cfg, &n);
    TM_EXPECT(p && n == 8 && memcmp(p, "FILE-CA\n", 8) == 0);
    p = kube_int_cert(cfg, &n);
    TM_EXPECT(p && n == 9 && memcmp(p, "CERT-PEM\n", 9) == 0);
    p = kube_int_key(cfg, &n);
    TM_EXPECT(p && n == 9 && memcmp(p, "FILE-KEY\n", 9) == 0);
    char tok[64];
    TM_EXPECT_INT(kube_config_token(cfg, false, tok, sizeof(tok), &err), TM_OK);
    TM_EXPECT_STR(tok, "");
    kube_config_free(cfg);
    tmpdir_remove(&d);
}

TM_TEST(kubeconfig_token_file_is_read_and_reread_on_refresh)
{
    struct tmpdir d;
    tmpdir_make(&d);
    TM_ASSERT(d.path[0]);
    write_file(&d, "config", TWO_CONTEXTS);
    write_file(&d, "tok", "first-token\n");
    struct tm_err err;
    tm_err_clear(&err);
    struct kube_config *cfg = load(&d, "config", "filetoken", &err);
    TM_ASSERT(cfg != NULL);
    TM_EXPECT_STR(kube_config_auth_kind(cfg), "token-file");
    char tok[64];
    TM_EXPECT_INT(kube_config_token(cfg, false, tok, sizeof(tok), &err), TM_OK);
    TM_EXPECT_STR(tok, "first-token");
    write_file(&d, "tok", "rotated-token");
    /* within 60 s and without refresh: the cached token */
    TM_EXPECT_INT(kube_config_token(cfg, false, tok, sizeof(tok), &err), TM_OK);
    TM_EXPECT_STR(tok, "first-token");
    TM_EXPECT_INT(kube_config_token(cfg, true, tok, sizeof(tok), &err), TM_OK);
    TM_EXPECT_STR(tok, "rotated-token");
    /* too small a buffer: TOOBIG, not truncated */
    TM_EXPECT_INT(kube_config_token(cfg, false, tok, 4, &err), TM_E_TOOBIG);
    kube_config_free(cfg);
    tmpdir_remove(&d);
}

static void expect_load_error(const char *yaml, const char *context, enum tm_code code,
                              const char *needle, int line)
{
    struct tmpdir d;
    tmpdir_make(&d);
    write_file(&d, "config", yaml);
    struct tm_err err;
    tm_err_clear(&err);
    struct kube_config *cfg = load(&d, "config", context, &err);
    if (cfg) {
        TM_FAIL_("line %d: expected an error", line);
        kube_config_free(cfg);
    } else if (err.code != code || !strstr(err.msg, needle)) {
        TM_FAIL_("line %d: expected code %d with \"%s\", got %d \"%s\"", line, code, needle,
                 err.code, err.msg);
    }
    tmpdir_remove(&d);
}

TM_TEST(kubeconfig_missing_fields_give_clear_errors)
{
    expect_load_error(TWO_CONTEXTS, "nope", TM_E_INVAL, "context \"nope\" not found", __LINE__);
    expect_load_error("clusters: []\n", NULL, TM_E_INVAL, "no current-context", __LINE__);
    expect_load_error("current-context: a\ncontexts:\n- name: a\n  context: {user: u}\n", NULL,
                      TM_E_INVAL, "context \"a\" has no cluster", __LINE__);
    expect_load_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n", NULL,
                      TM_E_INVAL, "cluster \"c\" (context \"a\") not found", __LINE__);
    expect_load_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
                      "clusters:\n- name: c\n  cluster: {}\n",
                      NULL, TM_E_INVAL, "cluster \"c\" has no server", __LINE__);
    expect_load_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
                      "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n",
                      NULL, TM_E_INVAL, "user \"u\" (context \"a\") not found", __LINE__);
    expect_load_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
                      "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
                      "users:\n- name: u\n  user: {client-certificate-data: " CERT_B64 "}\n",
                      NULL, TM_E_INVAL, "must be given together", __LINE__);
    expect_load_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
                      "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
                      "users:\n- name: u\n  user: {exec: {command: aws}}\n",
                      NULL, TM_E_INVAL, "not supported", __LINE__);
    expect_load_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
                      "clusters:\n- name: c\n  cluster: {server: 'ftp://h'}\n",
                      NULL, TM_E_INVAL, "expected an https://", __LINE__);
    expect_load_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
                      "clusters:\n- name: c\n  cluster: {server: 'https://h', "
                      "certificate-authority-data: '!!notbase64!!'}\n",
                      NULL, TM_E_PARSE, "not valid base64", __LINE__);
    expect_load_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
                      "clusters:\n- name: c\n  cluster: {server: 'https://h', "
                      "certificate-authority: missing.crt}\n",
                      NULL, TM_E_IO, "missing.crt", __LINE__);
    expect_load_error("current-context: a\ncontexts: [\n  - {\n", NULL, TM_E_PARSE, "config:",
                      __LINE__);
}

TM_TEST(kubeconfig_ca_data_may_be_wrapped_unpadded_or_url_safe)
{
    /* what people paste by hand: blanks inside, no '=' padding, the URL-safe
     * alphabet ("-_8" is base64url of the bytes fb ff) */
    static const struct {
        const char *data;
        const char *want;
        size_t want_len;
    } cases[] = {
        {"'Q0Et UEVN\tCg=='", "CA-PEM\n", 7},
        {"Q0EtUEVNCg", "CA-PEM\n", 7},
        {"-_8", "\xfb\xff", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[512];
        snprintf(doc, sizeof(doc),
                 "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
                 "clusters:\n- name: c\n  cluster: {server: 'https://h', "
                 "certificate-authority-data: %s}\n",
                 cases[i].data);
        struct tm_err err;
        tm_err_clear(&err);
        struct kube_config *cfg =
            kube_config_from_kubeconfig(doc, strlen(doc), "config", NULL, NULL, &err);
        if (!cfg)
            fprintf(stderr, "  %s: %s\n", cases[i].data, err.msg);
        TM_ASSERT(cfg != NULL);
        size_t n = 0;
        const char *ca = kube_int_ca(cfg, &n);
        TM_EXPECT_INT(n, cases[i].want_len);
        TM_EXPECT(ca && memcmp(ca, cases[i].want, cases[i].want_len) == 0);
        kube_config_free(cfg);
    }
}

TM_TEST(kubeconfig_insecure_only_when_explicit)
{
    struct tmpdir d;
    tmpdir_make(&d);
    write_file(&d, "config",
               "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
               "clusters:\n- name: c\n  cluster: {server: 'https://h:1', "
               "insecure-skip-tls-verify: true}\n");
    struct tm_err err;
    struct kube_config *cfg = load(&d, "config", NULL, &err);
    TM_ASSERT(cfg != NULL);
    TM_EXPECT(kube_config_insecure(cfg));
    TM_EXPECT_STR(kube_config_auth_kind(cfg), "none");
    kube_config_free(cfg);
    write_file(&d, "config",
               "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
               "clusters:\n- name: c\n  cluster: {server: 'https://h:1', "
               "insecure-skip-tls-verify: false}\n");
    cfg = load(&d, "config", NULL, &err);
    TM_ASSERT(cfg != NULL);
    TM_EXPECT(!kube_config_insecure(cfg));
    kube_config_free(cfg);
    tmpdir_remove(&d);
}

TM_TEST(kubeconfig_load_uses_the_first_entry_of_kubeconfig_env)
{
    struct tmpdir d;
    tmpdir_make(&d);
    write_file(&d, "config", TWO_CONTEXTS);
    char env[600];
    snprintf(env, sizeof(env), "%s/config:/nonexistent/other", d.path);
    setenv("KUBECONFIG", env, 1);
    struct tm_err err;
    struct kube_config *cfg = kube_config_load(NULL, &err);
    unsetenv("KUBECONFIG");
    TM_ASSERT(cfg != NULL);
    TM_EXPECT_STR(kube_config_server(cfg), "https://127.0.0.1:6443");
    kube_config_free(cfg);
    /* an explicit path wins over the environment */
    setenv("KUBECONFIG", "/nonexistent/config", 1);
    char p[600];
    snprintf(p, sizeof(p), "%s/config", d.path);
    struct kube_config_opts o = {.kubeconfig = p, .context = "prod"};
    cfg = kube_config_load(&o, &err);
    unsetenv("KUBECONFIG");
    TM_EXPECT(cfg == NULL); /* prod needs certs/ca.crt, which is absent here */
    TM_EXPECT_CONTAINS(err.msg, "certs/ca.crt");
    kube_config_free(cfg);
    tmpdir_remove(&d);
}

TM_TEST(in_cluster_config_reads_the_service_account_dir)
{
    struct tmpdir d;
    tmpdir_make(&d);
    write_file(&d, "token", "sa-token-1\n");
    write_file(&d, "ca.crt", "SA-CA\n");
    write_file(&d, "namespace", "tidemark-system\n");
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    struct tm_err err;
    tm_err_clear(&err);
    struct kube_config *cfg = kube_config_in_cluster(d.path, &err);
    TM_ASSERT(cfg != NULL);
    TM_EXPECT_STR(kube_config_server(cfg), "https://10.0.0.1:443");
    TM_EXPECT_STR(kube_config_namespace(cfg), "tidemark-system");
    char tok[64];
    TM_EXPECT_INT(kube_config_token(cfg, false, tok, sizeof(tok), &err), TM_OK);
    TM_EXPECT_STR(tok, "sa-token-1");
    write_file(&d, "token", "sa-token-2\n");
    TM_EXPECT_INT(kube_config_token(cfg, true, tok, sizeof(tok), &err), TM_OK);
    TM_EXPECT_STR(tok, "sa-token-2");
    kube_config_free(cfg);
    /* IPv6 host is bracketed */
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    cfg = kube_config_in_cluster(d.path, &err);
    TM_ASSERT(cfg != NULL);
    TM_EXPECT_STR(kube_config_server(cfg), "https://[fd00::1]:443");
    kube_config_free(cfg);
    /* without KUBECONFIG the loader picks in-cluster when KUBERNETES_SERVICE_HOST is set */
    unsetenv("KUBECONFIG");
    struct kube_config_opts o = {.incluster_dir = d.path};
    cfg = kube_config_load(&o, &err);
    TM_ASSERT(cfg != NULL);
    TM_EXPECT_STR(kube_config_auth_kind(cfg), "token-file");
    kube_config_free(cfg);
    unsetenv("KUBERNETES_SERVICE_HOST");
    cfg = kube_config_in_cluster(d.path, &err);
    TM_EXPECT(cfg == NULL);
    TM_EXPECT_CONTAINS(err.msg, "KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    tmpdir_remove(&d);
}

TM_TEST(in_cluster_config_without_token_fails_clearly)
{
    struct tmpdir d;
    tmpdir_make(&d);
    write_file(&d, "ca.crt", "SA-CA\n");
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    struct tm_err err;
    struct kube_config *cfg = kube_config_in_cluster(d.path, &err);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    TM_EXPECT(cfg == NULL);
    TM_EXPECT_INT(err.code, TM_E_IO);
    TM_EXPECT_CONTAINS(err.msg, "in-cluster config: token file");
    kube_config_free(cfg);
    tmpdir_remove(&d);
}

TM_TEST(kubeconfig_errors_never_contain_the_token)
{
    struct tmpdir d;
    tmpdir_make(&d);
    write_file(&d, "config",
               "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
               "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
               "users:\n- name: u\n  user: {token: 'tok\x01secret'}\n");
    struct tm_err err;
    struct kube_config *cfg = load(&d, "config", NULL, &err);
    TM_EXPECT(cfg == NULL);
    TM_EXPECT_NOT_CONTAINS(err.msg, "secret");
    kube_config_free(cfg);
    tmpdir_remove(&d);
}

struct tok_thread {
    struct kube_config *cfg;
    int bad;
};

static void *token_reader(void *arg)
{
    struct tok_thread *tt = arg;
    for (int i = 0; i < 2000; i++) {
        char tok[64];
        struct tm_err err;
        if (kube_config_token(tt->cfg, i % 7 == 0, tok, sizeof(tok), &err) != TM_OK ||
            (strcmp(tok, "token-aaaa") != 0 && strcmp(tok, "token-bbbb") != 0))
            tt->bad++;
    }
    return NULL;
}

TM_TEST(token_file_rereads_are_safe_from_many_threads)
{
    struct tmpdir d;
    tmpdir_make(&d);
    write_file(&d, "config", TWO_CONTEXTS);
    write_file(&d, "tok", "token-aaaa\n");
    struct tm_err err;
    struct kube_config *cfg = load(&d, "config", "filetoken", &err);
    TM_ASSERT(cfg != NULL);
    struct tok_thread tt[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        tt[i] = (struct tok_thread){.cfg = cfg};
        TM_ASSERT(pthread_create(&th[i], NULL, token_reader, &tt[i]) == 0);
    }
    /* rotate the file under them; rename keeps every read whole, as the kubelet does */
    char tmp[400], dst[400];
    snprintf(tmp, sizeof(tmp), "%s/tok.new", d.path);
    snprintf(dst, sizeof(dst), "%s/tok", d.path);
    for (int i = 0; i < 200; i++) {
        write_file(&d, "tok.new", i % 2 ? "token-aaaa\n" : "token-bbbb\n");
        if (rename(tmp, dst) != 0)
            TM_FAIL_("rename failed");
    }
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        bad += tt[i].bad;
    }
    TM_EXPECT_INT(bad, 0);
    kube_config_free(cfg);
    tmpdir_remove(&d);
}

TM_TEST_MAIN()
