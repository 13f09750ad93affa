/* kube config: where the API server is and how we authenticate (see kube.h).
 *
 * kubeconfig YAML is read with libyaml's document API (small files): the
 * chosen context names a cluster and a user; every file it points at is read
 * into memory now, and `-data` fields are base64-decoded into memory
 * (common/base64.h's TM_B64_KUBECONFIG: blanks, URL-safe, loose padding), so TLS
 * material reaches curl only as blobs (never temp files).  Relative paths
 * resolve against the kubeconfig's folder, as kubectl does.
 *
 * Only the bearer token can change after load: a token file (in-cluster, or
 * kubeconfig tokenFile) is re-read at most every 60 s, or on demand after a
 * 401, under a mutex.  Nothing here logs or puts a token into a message.
 *
 * Not supported (clear error instead): exec and auth-provider credential
 * plugins, basic auth, proxies from the kubeconfig. */
#include "kube/kube_int.h"
#include "common/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "common/base64.h"
#include "common/caps.h"

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_TOKEN_REREAD_MS 60000
#define KUBE_PEM_MAX (1u << 20) /* a CA bundle can hold a few hundred certificates */

struct kube_config {
    char *server;          /* as configured, no trailing "/" */
    char *base_url;        /* what requests use (tls-server-name substituted) */
    char *connect_to;      /* CURLOPT_CONNECT_TO entry, NULL when not needed */
    struct curl_slist *connect_to_list; /* the same as a list curl can borrow */
    char *ns;
    bool insecure;
    char *ca_pem;
    size_t ca_len;
    char *cert_pem;
    size_t cert_len;
    char *key_pem;
    size_t key_len;
    char *token;           /* static token, or the cached content of token_file */
    char *token_file;      /* NULL when the token is static */
    int64_t token_read_ms; /* monotonic ms of the last read of token_file */
    const char *auth_kind;
    pthread_mutex_t mu;    /* guards token and token_read_ms */
    kube_request_hook hook;
    void *hook_ctx;
};

static pthread_once_t kube_once = PTHREAD_ONCE_INIT;
static CURLcode kube_once_rc = CURLE_OK;

static void kube_global_once(void)
{
    kube_once_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

enum tm_code kube_global_init(struct tm_err *err)
{
    pthread_once(&kube_once, kube_global_once);
    if (kube_once_rc != CURLE_OK)
        return tm_err_set(err, TM_E_INTERNAL, "curl_global_init: %s",
                          curl_easy_strerror(kube_once_rc));
    return TM_OK;
}

/* Reads a whole file (at most cap bytes) into a NUL-terminated heap string. */
static enum tm_code read_file(const char *path, size_t cap, char **out, size_t *len,
                              struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    struct tm_buf b;
    tm_buf_init(&b, cap);
    FILE *f = fopen(path, "rb");
    if (!f)
        return tm_err_set(err, TM_E_IO, "read %s: %s", path, strerror(errno));
    char chunk[8192];
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n > 0) {
            rc = tm_buf_add(&b, chunk, n);
            if (rc != TM_OK) {
                tm_err_set(err, rc, "read %s: larger than %zu bytes", path, cap);
                goto out;
            }
        }
        if (n < sizeof(chunk)) {
            if (ferror(f)) {
                rc = tm_err_set(err, TM_E_IO, "read %s: %s", path, strerror(errno));
                goto out;
            }
            break;
        }
    }
    *out = tm_buf_detach(&b, len);
    if (!*out)
        rc = tm_err_set(err, TM_E_NOMEM, "read %s: out of memory", path);
out:
    fclose(f);
    tm_buf_release(&b);
    return rc;
}

/* ------------------------------------------------------------ yaml helpers */

static yaml_node_t *ynode(yaml_document_t *d, int idx)
{
    return idx ? yaml_document_get_node(d, idx) : NULL;
}

static const char *yscalar(yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)n->data.scalar.value;
}

static yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = yscalar(ynode(d, p->key));
        if (k && strcmp(k, key) == 0)
            return ynode(d, p->value);
    }
    return NULL;
}

static const char *ymap_str(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    const char *s = yscalar(ymap_get(d, map, key));
    return s && *s ? s : NULL;
}

/* In a list of {name: X, <field>: {...}} returns the {...} of the entry named name. */
static yaml_node_t *ynamed(yaml_document_t *d, yaml_node_t *root, const char *list,
                           const char *field, const char *name)
{
    yaml_node_t *seq = ymap_get(d, root, list);
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *e = ynode(d, *it);
        const char *n = ymap_str(d, e, "name");
        if (n && strcmp(n, name) == 0) {
            yaml_node_t *v = ymap_get(d, e, field);
            return v ? v : e; /* an entry without the field still "exists" */
        }
    }
    return NULL;
}

/* ------------------------------------------------------------- config build */

void kube_config_free(struct kube_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->base_url);
    free(cfg->connect_to);
    curl_slist_free_all(cfg->connect_to_list);
    free(cfg->ns);
    free(cfg->ca_pem);
    free(cfg->cert_pem);
    if (cfg->key_pem) {
        memset(cfg->key_pem, 0, cfg->key_len);
        free(cfg->key_pem);
    }
    if (cfg->token) {
        memset(cfg->token, 0, strlen(cfg->token));
        free(cfg->token);
    }
    free(cfg->token_file);
    pthread_mutex_destroy(&cfg->mu);
    free(cfg);
}

static struct kube_config *config_alloc(struct tm_err *err)
{
    struct kube_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
        return NULL;
    }
    pthread_mutex_init(&cfg->mu, NULL);
    cfg->auth_kind = "none";
    return cfg;
}

/* Joins base_dir and a relative path into a heap string. */
static char *resolve_path(const char *base_dir, const char *p)
{
    struct tm_buf b;
    tm_buf_init(&b, 4096);
    if (p[0] != '/' && base_dir && *base_dir) {
        if (tm_buf_adds(&b, base_dir) != TM_OK || tm_buf_adds(&b, "/") != TM_OK)
            return NULL;
    }
    if (tm_buf_adds(&b, p) != TM_OK)
        return NULL;
    return tm_buf_detach(&b, NULL);
}

/* Sets pem and len from "<field>-data" (base64) or "<field>" (a path). */
static enum tm_code load_pem(yaml_document_t *d, yaml_node_t *map, const char *field,
                             const char *base_dir, const char *what, char **pem, size_t *len,
                             struct tm_err *err)
{
    char key[64];
    snprintf(key, sizeof(key), "%s-data", field);
    const char *data = ymap_str(d, map, key);
    const char *file = ymap_str(d, map, field);
    if (data) {
        enum tm_code rc = tm_b64_decode(data, TM_B64_KUBECONFIG, SIZE_MAX, pem, len, NULL);
        if (rc != TM_OK)
            return tm_err_set(err, rc, "%s: %s is not valid base64", what, key);
        return TM_OK;
    }
    if (file) {
        char *p = resolve_path(base_dir, file);
        if (!p)
            return tm_err_set(err, TM_E_NOMEM, "%s: out of memory", what);
        enum tm_code rc = read_file(p, KUBE_PEM_MAX, pem, len, err);
        free(p);
        if (rc != TM_OK)
            return tm_err_prefix(err, "%s: %s", what, field);
        return TM_OK;
    }
    return TM_OK;
}

/* Splits "scheme://host[:port][/path]"; host may be "[v6]". */
static enum tm_code set_server(struct kube_config *cfg, const char *server,
                               const char *tls_server_name, struct tm_err *err)
{
    size_t sl = strlen(server);
    while (sl > 0 && server[sl - 1] == '/')
        sl--;
    cfg->server = strndup(server, sl);
    if (!cfg->server)
        return tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
    const char *rest;
    const char *scheme;
    if (strncmp(cfg->server, "https://", 8) == 0) {
        rest = cfg->server + 8;
        scheme = "https";
    } else if (strncmp(cfg->server, "http://", 7) == 0) {
        rest = cfg->server + 7;
        scheme = "http";
    } else {
        return tm_err_set(err, TM_E_INVAL, "server \"%s\": expected an https:// or http:// URL",
                          cfg->server);
    }
    size_t hostport_len = strcspn(rest, "/");
    if (hostport_len == 0)
        return tm_err_set(err, TM_E_INVAL, "server \"%s\": no host", cfg->server);
    if (!tls_server_name) {
        cfg->base_url = strdup(cfg->server);
        return cfg->base_url ? TM_OK : tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
    }
    /* tls-server-name: address the server by that name (SNI + verification)
     * and tell curl to connect to the real host instead. */
    char hostport[512];
    if (hostport_len >= sizeof(hostport))
        return tm_err_set(err, TM_E_INVAL, "server \"%s\": host too long", cfg->server);
    memcpy(hostport, rest, hostport_len);
    hostport[hostport_len] = '\0';
    const char *port = NULL;
    char *colon = NULL;
    if (hostport[0] == '[') {
        char *close = strchr(hostport, ']');
        if (close && close[1] == ':')
            colon = close + 1;
    } else {
        colon = strrchr(hostport, ':');
    }
    if (colon) {
        *colon = '\0';
        port = colon + 1;
    } else {
        port = strcmp(scheme, "https") == 0 ? "443" : "80";
    }
    struct tm_buf b;
    tm_buf_init(&b, 4096);
    if (tm_buf_addf(&b, "%s://%s:%s%s", scheme, tls_server_name, port, rest + hostport_len) !=
        TM_OK)
        return tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
    cfg->base_url = tm_buf_detach(&b, NULL);
    if (tm_buf_addf(&b, "%s:%s:%s:%s", tls_server_name, port, hostport, port) != TM_OK)
        return tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
    cfg->connect_to = tm_buf_detach(&b, NULL);
    if (!cfg->base_url || !cfg->connect_to)
        return tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
    cfg->connect_to_list = curl_slist_append(NULL, cfg->connect_to);
    if (!cfg->connect_to_list)
        return tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
    return TM_OK;
}

static enum tm_code trim_token(char *t)
{
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
        t[--n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
            return TM_E_PARSE; /* would break the header */
    }
    return TM_OK;
}

/* Reads cfg->token_file into cfg->token (caller holds mu or owns cfg alone). */
static enum tm_code reread_token(struct kube_config *cfg, struct tm_err *err)
{
    char *t = NULL;
    size_t len = 0;
    enum tm_code rc = read_file(cfg->token_file, KUBE_TOKEN_MAX - 1, &t, &len, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "token file");
    if (trim_token(t) != TM_OK || t[0] == '\0') {
        memset(t, 0, len);
        free(t);
        return tm_err_set(err, TM_E_INVAL, "token file %s: empty or not a token",
                          cfg->token_file);
    }
    if (cfg->token) {
        memset(cfg->token, 0, strlen(cfg->token));
        free(cfg->token);
    }
    cfg->token = t;
    cfg->token_read_ms = tm_mono_ms();
    return TM_OK;
}

static enum tm_code load_user(struct kube_config *cfg, yaml_document_t *d, yaml_node_t *user,
                              const char *uname, const char *base_dir, struct tm_err *err)
{
    char what[300];
    snprintf(what, sizeof(what), "user \"%s\"", uname);
    enum tm_code rc = load_pem(d, user, "client-certificate", base_dir, what, &cfg->cert_pem,
                               &cfg->cert_len, err);
    if (rc != TM_OK)
        return rc;
    rc = load_pem(d, user, "client-key", base_dir, what, &cfg->key_pem, &cfg->key_len, err);
    if (rc != TM_OK)
        return rc;
    if (!cfg->cert_pem != !cfg->key_pem)
        return tm_err_set(err, TM_E_INVAL, "%s: client-certificate and client-key must be "
                          "given together", what);
    const char *token = ymap_str(d, user, "token");
    const char *token_file = ymap_str(d, user, "tokenFile");
    if (token) {
        cfg->token = strdup(token);
        if (!cfg->token)
            return tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
        if (trim_token(cfg->token) != TM_OK || !cfg->token[0])
            return tm_err_set(err, TM_E_INVAL, "%s: token is empty or has invalid characters",
                              what);
        cfg->auth_kind = "token";
    } else if (token_file) {
        cfg->token_file = resolve_path(base_dir, token_file);
        if (!cfg->token_file)
            return tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
        rc = reread_token(cfg, err);
        if (rc != TM_OK)
            return tm_err_prefix(err, "%s", what);
        cfg->auth_kind = "token-file";
    } else if (cfg->cert_pem) {
        cfg->auth_kind = "client-cert";
    } else if (ymap_get(d, user, "exec") || ymap_get(d, user, "auth-provider")) {
        return tm_err_set(err, TM_E_INVAL, "%s: exec and auth-provider credential plugins are "
                          "not supported; use a token, tokenFile or client certificate", what);
    }
    return TM_OK;
}

/* The context to use (context, else current-context) and the cluster it
 * names, each found in the lists of the document rooted at root. */
struct kc_context {
    const char *name;
    yaml_node_t *ctx;
    const char *cluster_name;
    yaml_node_t *cluster;
};

static enum tm_code find_context(yaml_document_t *d, yaml_node_t *root, const char *name,
                                 const char *context, struct kc_context *c, struct tm_err *err)
{
    c->name = context && *context ? context : ymap_str(d, root, "current-context");
    if (!c->name)
        return tm_err_set(err, TM_E_INVAL, "%s: no current-context set and no context given",
                          name);
    c->ctx = ynamed(d, root, "contexts", "context", c->name);
    if (!c->ctx)
        return tm_err_set(err, TM_E_INVAL, "%s: context \"%s\" not found", name, c->name);
    c->cluster_name = ymap_str(d, c->ctx, "cluster");
    if (!c->cluster_name)
        return tm_err_set(err, TM_E_INVAL, "%s: context \"%s\" has no cluster", name, c->name);
    c->cluster = ynamed(d, root, "clusters", "cluster", c->cluster_name);
    if (!c->cluster)
        return tm_err_set(err, TM_E_INVAL, "%s: cluster \"%s\" (context \"%s\") not found", name,
                          c->cluster_name, c->name);
    return TM_OK;
}

/* The cluster's server, TLS verification choice and CA into cfg. */
static enum tm_code load_cluster(struct kube_config *cfg, yaml_document_t *d,
                                 const struct kc_context *c, const char *name,
                                 const char *base_dir, struct tm_err *err)
{
    char what[300];
    snprintf(what, sizeof(what), "%s: cluster \"%s\"", name, c->cluster_name);
    const char *server = ymap_str(d, c->cluster, "server");
    if (!server)
        return tm_err_set(err, TM_E_INVAL, "%s: cluster \"%s\" has no server", name,
                          c->cluster_name);
    enum tm_code rc = set_server(cfg, server, ymap_str(d, c->cluster, "tls-server-name"), err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "%s", what);
    const char *insecure = ymap_str(d, c->cluster, "insecure-skip-tls-verify");
    cfg->insecure = insecure && strcmp(insecure, "true") == 0;
    rc = load_pem(d, c->cluster, "certificate-authority", base_dir, what, &cfg->ca_pem,
                  &cfg->ca_len, err);
    if (rc != TM_OK)
        return rc;
    if (cfg->insecure && cfg->ca_pem)
        return tm_err_set(err, TM_E_INVAL, "%s: certificate-authority and "
                          "insecure-skip-tls-verify are mutually exclusive", what);
    return TM_OK;
}

/* The context's user (none: no credentials) and namespace into cfg. */
static enum tm_code load_context_user(struct kube_config *cfg, yaml_document_t *d,
                                      yaml_node_t *root, const struct kc_context *c,
                                      const char *name, const char *base_dir,
                                      struct tm_err *err)
{
    const char *user_name = ymap_str(d, c->ctx, "user");
    if (user_name) {
        yaml_node_t *user = ynamed(d, root, "users", "user", user_name);
        if (!user)
            return tm_err_set(err, TM_E_INVAL, "%s: user \"%s\" (context \"%s\") not found",
                              name, user_name, c->name);
        enum tm_code rc = load_user(cfg, d, user, user_name, base_dir, err);
        if (rc != TM_OK) {
            if (strncmp(err ? err->msg : "", name, strlen(name)) != 0)
                tm_err_prefix(err, "%s", name);
            return rc;
        }
    }
    const char *ns = ymap_str(d, c->ctx, "namespace");
    cfg->ns = strdup(ns ? ns : "default");
    if (!cfg->ns)
        return tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
    return TM_OK;
}

struct kube_config *kube_config_from_kubeconfig(const char *data, size_t len, const char *name,
                                                const char *base_dir, const char *context,
                                                struct tm_err *err)
{
    struct kube_config *cfg = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_parser = false, have_doc = false;
    if (!name)
        name = "kubeconfig";

    if (!yaml_parser_initialize(&parser)) {
        tm_err_set(err, TM_E_NOMEM, "%s: yaml parser init failed", name);
        goto fail;
    }
    have_parser = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        tm_err_set(err, TM_E_PARSE, "%s:%zu:%zu: %s%s%s", name, parser.problem_mark.line + 1,
                   parser.problem_mark.column + 1, parser.problem ? parser.problem : "bad yaml",
                   parser.context ? " " : "", parser.context ? parser.context : "");
        goto fail;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        tm_err_set(err, TM_E_PARSE, "%s: expected a mapping at the top", name);
        goto fail;
    }
    struct kc_context c = {0};
    if (find_context(&doc, root, name, context, &c, err) != TM_OK)
        goto fail;
    cfg = config_alloc(err);
    if (!cfg || load_cluster(cfg, &doc, &c, name, base_dir, err) != TM_OK ||
        load_context_user(cfg, &doc, root, &c, name, base_dir, err) != TM_OK)
        goto fail;
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return cfg;
fail:
    kube_config_free(cfg);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    return NULL;
}

struct kube_config *kube_config_from_file(const char *path, const char *context,
                                          struct tm_err *err)
{
    char *data = NULL;
    size_t len = 0;
    if (read_file(path, TM_CAP_SMALL * 16, &data, &len, err) != TM_OK)
        return NULL;
    char *dir = strdup(path);
    if (!dir) {
        free(data);
        tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
        return NULL;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    struct kube_config *cfg =
        kube_config_from_kubeconfig(data, len, path, slash ? (dir[0] ? dir : "/") : ".", context,
                                    err);
    memset(data, 0, len);
    free(data);
    free(dir);
    return cfg;
}

struct kube_config *kube_config_in_cluster(const char *dir, struct tm_err *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!dir)
        dir = KUBE_SA_DIR;
    if (!host || !*host || !port || !*port) {
        tm_err_set(err, TM_E_INVAL, "in-cluster config: KUBERNETES_SERVICE_HOST and "
                   "KUBERNETES_SERVICE_PORT must be set");
        return NULL;
    }
    struct kube_config *cfg = config_alloc(err);
    if (!cfg)
        return NULL;
    char url[600];
    bool v6 = strchr(host, ':') != NULL;
    snprintf(url, sizeof(url), "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    char path[4096];
    if (set_server(cfg, url, NULL, err) != TM_OK)
        goto fail;
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    if (read_file(path, KUBE_PEM_MAX, &cfg->ca_pem, &cfg->ca_len, err) != TM_OK)
        goto fail_prefix;
    snprintf(path, sizeof(path), "%s/token", dir);
    cfg->token_file = strdup(path);
    if (!cfg->token_file) {
        tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
        goto fail;
    }
    if (reread_token(cfg, err) != TM_OK)
        goto fail_prefix;
    cfg->auth_kind = "token-file";
    snprintf(path, sizeof(path), "%s/namespace", dir);
    char *ns = NULL;
    size_t nslen = 0;
    struct tm_err ignored;
    if (read_file(path, KUBE_NAME_MAX, &ns, &nslen, &ignored) == TM_OK) {
        (void)trim_token(ns);
        if (!ns[0]) {
            free(ns);
            ns = NULL;
        }
    }
    cfg->ns = ns ? ns : strdup("default");
    if (!cfg->ns) {
        tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
        goto fail;
    }
    return cfg;
fail_prefix:
    tm_err_prefix(err, "in-cluster config");
fail:
    kube_config_free(cfg);
    return NULL;
}

struct kube_config *kube_config_load(const struct kube_config_opts *opts, struct tm_err *err)
{
    struct kube_config_opts none = {0};
    if (!opts)
        opts = &none;
    if (opts->kubeconfig && *opts->kubeconfig)
        return kube_config_from_file(opts->kubeconfig, opts->context, err);
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        size_t n = strcspn(env, ":");
        char *first = strndup(env, n);
        if (!first) {
            tm_err_set(err, TM_E_NOMEM, "kube config: out of memory");
            return NULL;
        }
        struct kube_config *cfg = kube_config_from_file(first, opts->context, err);
        free(first);
        return cfg;
    }
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (host && *host)
        return kube_config_in_cluster(opts->incluster_dir, err);
    const char *home = getenv("HOME");
    if (!home || !*home) {
        tm_err_set(err, TM_E_INVAL, "no kubeconfig: pass --kubeconfig, set KUBECONFIG, run "
                   "in a cluster, or set HOME for ~/.kube/config");
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/.kube/config", home);
    return kube_config_from_file(path, opts->context, err);
}

void kube_config_set_request_hook(struct kube_config *cfg, kube_request_hook fn, void *ctx)
{
    cfg->hook = fn;
    cfg->hook_ctx = ctx;
}

const char *kube_config_server(const struct kube_config *cfg)
{
    return cfg->server;
}

const char *kube_config_namespace(const struct kube_config *cfg)
{
    return cfg->ns;
}

bool kube_config_insecure(const struct kube_config *cfg)
{
    return cfg->insecure;
}

const char *kube_config_auth_kind(const struct kube_config *cfg)
{
    return cfg->auth_kind;
}

const char *kube_int_base_url(const struct kube_config *cfg)
{
    return cfg->base_url;
}

const char *kube_int_ca(const struct kube_config *cfg, size_t *len)
{
    *len = cfg->ca_len;
    return cfg->ca_pem;
}

const char *kube_int_cert(const struct kube_config *cfg, size_t *len)
{
    *len = cfg->cert_len;
    return cfg->cert_pem;
}

const char *kube_int_key(const struct kube_config *cfg, size_t *len)
{
    *len = cfg->key_len;
    return cfg->key_pem;
}

bool kube_int_token_from_file(const struct kube_config *cfg)
{
    return cfg->token_file != NULL;
}

void kube_int_count(const struct kube_config *cfg, const char *verb, int http_status)
{
    if (cfg->hook)
        cfg->hook(cfg->hook_ctx, verb, http_status);
}

enum tm_code kube_config_token(struct kube_config *cfg, bool refresh, char *out, size_t n,
                               struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    if (n == 0)
        return tm_err_set(err, TM_E_INVAL, "token: no room");
    out[0] = '\0';
    pthread_mutex_lock(&cfg->mu);
    if (cfg->token_file && (refresh || tm_mono_ms() - cfg->token_read_ms >= KUBE_TOKEN_REREAD_MS)) {
        struct tm_err e2;
        tm_err_clear(&e2);
        rc = reread_token(cfg, &e2);
        /* A failed re-read keeps the old token when there is one: the file
         * is replaced atomically by the kubelet, a miss is transient. */
        if (rc != TM_OK && cfg->token)
            rc = TM_OK;
        else if (rc != TM_OK && err)
            *err = e2;
    }
    if (rc == TM_OK && cfg->token) {
        size_t tl = strlen(cfg->token);
        if (tl >= n)
            rc = tm_err_set(err, TM_E_TOOBIG, "token: longer than %zu bytes", n - 1);
        else
            memcpy(out, cfg->token, tl + 1);
    }
    pthread_mutex_unlock(&cfg->mu);
    return rc;
}

enum tm_code kube_config_setup_easy(const struct kube_config *cfg, CURL *easy,
                                    struct tm_err *err)
{
    CURLcode c = CURLE_OK;
#define SET(opt, val)                                                                      \
    do {                                                                                   \
        c = curl_easy_setopt(easy, opt, val);                                              \
        if (c != CURLE_OK)                                                                 \
            return tm_err_set(err, TM_E_INTERNAL, "curl setopt %s: %s", #opt,              \
                              curl_easy_strerror(c));                                      \
    } while (0)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_TCP_KEEPIDLE, 30L);
    SET(CURLOPT_TCP_KEEPINTVL, 15L);
    SET(CURLOPT_PROTOCOLS_STR, "https,http");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
    if (cfg->ca_pem) {
        struct curl_blob blob = {cfg->ca_pem, cfg->ca_len, CURL_BLOB_COPY};
        SET(CURLOPT_CAINFO_BLOB, &blob);
        /* trust only the cluster's CA, as client-go does: no system bundle */
        SET(CURLOPT_CAINFO, NULL);
        SET(CURLOPT_CAPATH, NULL);
    }
    if (cfg->cert_pem) {
        struct curl_blob cert = {cfg->cert_pem, cfg->cert_len, CURL_BLOB_COPY};
        struct curl_blob key = {cfg->key_pem, cfg->key_len, CURL_BLOB_COPY};
        SET(CURLOPT_SSLCERT_BLOB, &cert);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
        SET(CURLOPT_SSLKEY_BLOB, &key);
        SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (cfg->connect_to_list)
        SET(CURLOPT_CONNECT_TO, cfg->connect_to_list); /* lives as long as cfg */
#undef SET
    return TM_OK;
}

enum tm_code kube_int_headers(struct kube_config *cfg, bool refresh, const char *accept,
                              const char *content_type, struct curl_slist **out,
                              struct tm_err *err)
{
    struct curl_slist *h = NULL, *t = NULL;
    char line[KUBE_TOKEN_MAX + 64];
    char token[KUBE_TOKEN_MAX];
    enum tm_code rc = kube_config_token(cfg, refresh, token, sizeof(token), err);
    if (rc != TM_OK)
        return rc;
    snprintf(line, sizeof(line), "Accept: %s", accept ? accept : "application/json");
    t = curl_slist_append(h, line);
    if (!t)
        goto nomem;
    h = t;
    if (content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", content_type);
        t = curl_slist_append(h, line);
        if (!t)
            goto nomem;
        h = t;
    }
    if (token[0]) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        t = curl_slist_append(h, line);
        memset(line, 0, sizeof(line));
        if (!t)
            goto nomem;
        h = t;
    }
    memset(token, 0, sizeof(token));
    *out = h;
    return TM_OK;
nomem:
    memset(token, 0, sizeof(token));
    memset(line, 0, sizeof(line));
    curl_slist_free_all(h);
    return tm_err_set(err, TM_E_NOMEM, "curl headers: out of memory");
}

enum tm_code kube_int_curl_err(CURLcode rc, const char *errbuf, struct tm_err *err)
{
    const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return tm_err_setr(err, TM_E_TIMEOUT, TM_RETRY_TRANSIENT, "timed out: %s", why);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
        rc == CURLE_SSL_CERTPROBLEM)
        return tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "tls: %s", why);
    return tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "connection: %s", why);
}
