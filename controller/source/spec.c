/* src spec: a DBSchema's .spec, inline files, ConfigMaps and Git Secrets
 * from their API JSON (see source.h).
 *
 * Design: pure functions of the JSON the reconciler observed; no I/O.  The
 * CRD's schema and CEL rules already refuse bad specs, but every check is
 * repeated here because the apiserver may run an older CRD and because this
 * code is the last line before a string reaches git's argv.
 * Base64 is decoded strictly (tm_b64_decode's TM_B64_STRICT: RFC 4648
 * alphabet, '=' padding only at the end), as the apiserver encodes Secret
 * and binaryData values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/caps.h"
#include "source/source.h"

/* ---- small helpers ----------------------------------------------------------- */

static const cJSON *obj_get(const cJSON *o, const char *key)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

/* The string member key of o, or NULL when absent or not a string. */
static const char *obj_str(const cJSON *o, const char *key)
{
    const cJSON *v = obj_get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool is_dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (alnum)
            continue;
        if (c != '-' && c != '.')
            return false;
        if (i == 0 || i == n - 1 || s[i - 1] == '.' || (c == '.' && s[i - 1] == '-'))
            return false;
    }
    return true;
}

/* A clean relative path: no leading '/', no empty, "." or ".." segment, no
 * backslash or control byte. */
static bool is_clean_rel_path(const char *s, bool allow_empty)
{
    if (!*s)
        return allow_empty;
    if (s[0] == '/')
        return false;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t seg = e ? (size_t)(e - p) : strlen(p);
        if (seg == 0 && e && e[1] == '\0')
            return true; /* one trailing '/' ("db/") */
        if (seg == 0 || (seg == 1 && p[0] == '.') || (seg == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        for (size_t i = 0; i < seg; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
                return false;
        p += seg;
        if (*p == '/')
            p++;
    }
    return true;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

/* ---- durations ---------------------------------------------------------------- */

bool src_parse_duration_ms(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return false;
    const double limit = 30.0 * 24 * 3600 * 1000;
    double total = 0;
    const char *p = s;
    while (*p) {
        if (*p < '0' || *p > '9')
            return false;
        double v = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            if (v > limit)
                return false;
            p++;
        }
        if (*p == '.') {
            p++;
            if (*p < '0' || *p > '9')
                return false;
            double scale = 0.1;
            while (*p >= '0' && *p <= '9') {
                v += (*p - '0') * scale;
                scale /= 10;
                p++;
            }
        }
        double unit;
        if (p[0] == 'm' && p[1] == 's') {
            unit = 1;
            p += 2;
        } else if (*p == 's') {
            unit = 1000;
            p++;
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else {
            return false;
        }
        total += v * unit;
        if (total > limit)
            return false;
    }
    if (total < 1)
        return false;
    *ms = (int64_t)total;
    return true;
}

/* ---- spec ---------------------------------------------------------------------- */

void src_spec_release(struct src_spec *s)
{
    if (!s)
        return;
    free(s->configmap_name);
    free(s->git.url);
    free(s->git.branch);
    free(s->git.tag);
    free(s->git.commit);
    free(s->git.path);
    free(s->git.secret_name);
    free(s->changelog);
    free(s->mount_path);
    chlog_props_release(&s->props);
    memset(s, 0, sizeof(*s));
}

static enum tm_code parse_git(const cJSON *git, struct src_git_spec *g, struct tm_err *err)
{
    const char *url = obj_str(git, "url");
    if (!url)
        return tm_err_set(err, TM_E_INVAL, "spec.source.git.url is required");
    enum tm_code rc = src_git_validate_url(url, true, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "spec.source.git.url");
    const cJSON *ref = obj_get(git, "ref");
    if (!cJSON_IsObject(ref))
        return tm_err_set(err, TM_E_INVAL, "spec.source.git.ref is required");
    const char *branch = obj_str(ref, "branch"), *tag = obj_str(ref, "tag"),
               *commit = obj_str(ref, "commit");
    rc = src_git_validate_ref(branch, tag, commit, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "spec.source.git.ref");
    const char *path = obj_str(git, "path");
    if (!path)
        path = "";
    if (!is_clean_rel_path(path, true))
        return tm_err_set(err, TM_E_INVAL,
                          "spec.source.git.path: must be a relative path without '.' or '..' "
                          "segments");
    const cJSON *sref = obj_get(git, "secretRef");
    const char *secret = sref ? obj_str(sref, "name") : NULL;
    if (sref && (!secret || !is_dns_subdomain(secret)))
        return tm_err_set(err, TM_E_INVAL, "spec.source.git.secretRef.name: not a valid name");
    const char *interval = obj_str(git, "interval"), *timeout = obj_str(git, "timeout");
    g->interval_ms = 60000;
    g->timeout_ms = 60000;
    if (interval && !src_parse_duration_ms(interval, &g->interval_ms))
        return tm_err_set(err, TM_E_INVAL, "spec.source.git.interval: not a duration: %s",
                          interval);
    if (timeout && !src_parse_duration_ms(timeout, &g->timeout_ms))
        return tm_err_set(err, TM_E_INVAL, "spec.source.git.timeout: not a duration: %s",
                          timeout);
    bool oom = false;
    g->url = dup_or_null(url, &oom);
    g->branch = dup_or_null(branch, &oom);
    g->tag = dup_or_null(tag, &oom);
    g->commit = dup_or_null(commit, &oom);
    g->path = dup_or_null(path, &oom);
    g->secret_name = dup_or_null(secret, &oom);
    if (oom)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    return TM_OK;
}

/* Property names: what a ${name} reference can hold, bounded. */
static bool is_property_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-'))
            return false;
    return true;
}

/* spec.mountPath and spec.properties (how the app's Liquibase saw the files). */
static enum tm_code parse_liquibase_scope(const cJSON *spec, struct src_spec *out,
                                          struct tm_err *err)
{
    const cJSON *mp = obj_get(spec, "mountPath");
    if (mp) {
        if (!cJSON_IsString(mp) || !is_clean_rel_path(mp->valuestring, false))
            return tm_err_set(err, TM_E_INVAL, "spec.mountPath: must be a relative folder path "
                                               "without '.' or '..' segments");
        out->mount_path = strdup(mp->valuestring);
        if (!out->mount_path)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    const cJSON *props = obj_get(spec, "properties");
    if (!props)
        return TM_OK;
    if (!cJSON_IsObject(props))
        return tm_err_set(err, TM_E_INVAL, "spec.properties: must be a map of name to text");
    int n = 0;
    for (const cJSON *p = props->child; p; p = p->next) {
        if (++n > 256)
            return tm_err_set(err, TM_E_INVAL, "spec.properties: at most 256 entries");
        if (!is_property_name(p->string))
            return tm_err_set(err, TM_E_INVAL,
                              "spec.properties: '%.64s' is not a property name (letters, digits, "
                              "'_', '.', '-')",
                              p->string);
        if (!cJSON_IsString(p))
            return tm_err_set(err, TM_E_INVAL, "spec.properties.%s: must be text", p->string);
        enum tm_code rc = chlog_props_set(&out->props, p->string, p->valuestring, err);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

/* spec.flyway: Flyway settings for a Flyway folder, as flyway.conf spells
 * them (sqlMigrationPrefix: "", schemas: [referencedata], placeholders:
 * {name: value}); each becomes the property flyway.<key> (lists joined by
 * ','), which the Flyway loader reads (changelog/flyway_conf.c: it refuses
 * a setting it does not know, naming it). */
static enum tm_code parse_flyway(const cJSON *spec, struct src_spec *out, struct tm_err *err)
{
    const cJSON *fw = obj_get(spec, "flyway");
    if (!fw)
        return TM_OK;
    if (!cJSON_IsObject(fw))
        return tm_err_set(err, TM_E_INVAL, "spec.flyway: must be a map of Flyway settings");
    enum tm_code rc = TM_OK;
    for (const cJSON *k = fw->child; k && rc == TM_OK; k = k->next) {
        char name[300], val[4096];
        if (!is_property_name(k->string) || strlen(k->string) > 100)
            return tm_err_set(err, TM_E_INVAL, "spec.flyway: '%.64s' is not a setting name",
                              k->string);
        if (strcmp(k->string, "placeholders") == 0) {
            if (!cJSON_IsObject(k))
                return tm_err_set(err, TM_E_INVAL, "spec.flyway.placeholders: must be a map");
            for (const cJSON *p = k->child; p && rc == TM_OK; p = p->next) {
                if (!cJSON_IsString(p) || strlen(p->string) > 200)
                    return tm_err_set(err, TM_E_INVAL,
                                      "spec.flyway.placeholders.%.64s: must be text", p->string);
                snprintf(name, sizeof(name), "flyway.placeholders.%s", p->string);
                rc = chlog_props_set(&out->props, name, p->valuestring, err);
            }
            continue;
        }
        if (cJSON_IsString(k)) {
            if (strlen(k->valuestring) >= sizeof(val))
                return tm_err_set(err, TM_E_INVAL, "spec.flyway.%s: too long", k->string);
            snprintf(val, sizeof(val), "%s", k->valuestring);
        } else if (cJSON_IsBool(k)) {
            snprintf(val, sizeof(val), "%s", cJSON_IsTrue(k) ? "true" : "false");
        } else if (cJSON_IsArray(k)) {
            size_t used = 0;
            val[0] = '\0';
            for (const cJSON *e = k->child; e; e = e->next) {
                if (!cJSON_IsString(e))
                    return tm_err_set(err, TM_E_INVAL, "spec.flyway.%s: a list of text",
                                      k->string);
                int w = snprintf(val + used, sizeof(val) - used, "%s%s", used ? "," : "",
                                 e->valuestring);
                if (w < 0 || (size_t)w >= sizeof(val) - used)
                    return tm_err_set(err, TM_E_INVAL, "spec.flyway.%s: too long", k->string);
                used += (size_t)w;
            }
        } else {
            return tm_err_set(err, TM_E_INVAL, "spec.flyway.%s: must be text, true/false or a "
                                               "list of text", k->string);
        }
        snprintf(name, sizeof(name), "flyway.%s", k->string);
        rc = chlog_props_set(&out->props, name, val, err);
    }
    return rc;
}

enum tm_code src_spec_parse(const cJSON *spec, struct src_spec *out, struct tm_err *err)
{
    memset(out, 0, sizeof(*out));
    enum tm_code rc = TM_OK;
    const cJSON *source = obj_get(spec, "source");
    if (!cJSON_IsObject(source)) {
        rc = tm_err_set(err, TM_E_INVAL, "spec.source is required");
        goto out;
    }
    const cJSON *inl = obj_get(source, "inline"), *cm = obj_get(source, "configMapRef"),
                *git = obj_get(source, "git");
    int n = (inl != NULL) + (cm != NULL) + (git != NULL);
    if (n != 1) {
        rc = tm_err_set(err, TM_E_INVAL,
                        "exactly one of spec.source.inline, spec.source.configMapRef or "
                        "spec.source.git must be set (%d are)", n);
        goto out;
    }
    if (inl) {
        out->kind = SRC_KIND_INLINE;
        out->inline_files = obj_get(inl, "files");
        if (!cJSON_IsObject(out->inline_files)) {
            rc = tm_err_set(err, TM_E_INVAL, "spec.source.inline.files must be a map");
            goto out;
        }
    } else if (cm) {
        out->kind = SRC_KIND_CONFIGMAP;
        const char *name = obj_str(cm, "name");
        if (!name || !is_dns_subdomain(name)) {
            rc = tm_err_set(err, TM_E_INVAL, "spec.source.configMapRef.name: not a valid name");
            goto out;
        }
        out->configmap_name = strdup(name);
        if (!out->configmap_name) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            goto out;
        }
    } else {
        out->kind = SRC_KIND_GIT;
        rc = parse_git(git, &out->git, err);
        if (rc != TM_OK)
            goto out;
    }
    const char *entry = obj_str(spec, "changelog");
    if (!entry)
        entry = "changelog.yaml";
    if (!is_clean_rel_path(entry, false)) {
        rc = tm_err_set(err, TM_E_INVAL, "spec.changelog: must be a relative path without '.' "
                                         "or '..' segments");
        goto out;
    }
    out->changelog = strdup(entry);
    if (!out->changelog) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    rc = parse_liquibase_scope(spec, out, err);
    if (rc == TM_OK)
        rc = parse_flyway(spec, out, err);
out:
    if (rc != TM_OK)
        src_spec_release(out);
    return rc;
}

char *src_spec_summary(const struct src_spec *s)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc;
    switch (s->kind) {
    case SRC_KIND_INLINE:
        rc = tm_buf_adds(&b, "inline");
        break;
    case SRC_KIND_CONFIGMAP:
        rc = tm_buf_addf(&b, "configmap/%s", s->configmap_name);
        break;
    default:
        if (s->git.commit)
            rc = tm_buf_addf(&b, "%s@%.12s", s->git.url, s->git.commit);
        else
            rc = tm_buf_addf(&b, "%s@%s", s->git.url, s->git.branch ? s->git.branch : s->git.tag);
        break;
    }
    if (rc != TM_OK)
        return NULL;
    return tm_buf_detach(&b, NULL);
}

/* ---- inline and ConfigMap ------------------------------------------------------ */

static enum tm_code add_file(struct chlog_fs *fs, const char *where, const char *key,
                             const char *data, size_t len, struct tm_err *err)
{
    if (!is_clean_rel_path(key, false) || key[strlen(key) - 1] == '/')
        return tm_err_set(err, TM_E_INVAL,
                          "%s: file name \"%s\" must be a relative path without '.' or '..' "
                          "segments", where, key);
    /* The changelog's folder walk (content revision, includeAll) stops at 32 levels
     * (CHLOG_MAX_DEPTH): refuse deeper names here, where the user sees which file
     * (found by fuzz_source_objects: the revision failed after a successful load). */
    size_t depth = 0;
    for (const char *p = key; *p; p++)
        depth += *p == '/';
    if (depth > 32)
        return tm_err_set(err, TM_E_INVAL, "%s: file name \"%.64s...\" is nested deeper than 32 folders",
                          where, key);
    enum tm_code rc = chlog_fs_mem_add(fs, key, data, len, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "%s", where);
    return TM_OK;
}

enum tm_code src_load_inline(const cJSON *files, struct chlog_fs *fs, struct tm_err *err)
{
    enum tm_code rc = chlog_fs_mem_init(fs);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "out of memory");
    if (!cJSON_IsObject(files) || !files->child) {
        rc = tm_err_set(err, TM_E_INVAL, "spec.source.inline.files: needs at least one file");
        goto out;
    }
    for (const cJSON *f = files->child; f; f = f->next) {
        if (!cJSON_IsString(f)) {
            rc = tm_err_set(err, TM_E_INVAL, "spec.source.inline.files[%s]: must be a string",
                            f->string ? f->string : "?");
            goto out;
        }
        rc = add_file(fs, "spec.source.inline.files", f->string, f->valuestring,
                      strlen(f->valuestring), err);
        if (rc != TM_OK)
            goto out;
    }
out:
    if (rc != TM_OK)
        chlog_fs_mem_release(fs);
    return rc;
}

enum tm_code src_load_configmap(const cJSON *configmap, struct chlog_fs *fs,
                                struct tm_err *err)
{
    const char *name = obj_str(obj_get(configmap, "metadata"), "name");
    if (!name)
        name = "?";
    enum tm_code rc = chlog_fs_mem_init(fs);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "out of memory");
    const cJSON *data = obj_get(configmap, "data"), *binary = obj_get(configmap, "binaryData");
    size_t n = 0;
    for (const cJSON *f = cJSON_IsObject(data) ? data->child : NULL; f; f = f->next, n++) {
        if (!cJSON_IsString(f)) {
            rc = tm_err_set(err, TM_E_INVAL, "configmap %s: data[%s] is not a string", name,
                            f->string);
            goto out;
        }
        rc = add_file(fs, "configmap data", f->string, f->valuestring, strlen(f->valuestring),
                      err);
        if (rc != TM_OK)
            goto prefix;
    }
    for (const cJSON *f = cJSON_IsObject(binary) ? binary->child : NULL; f; f = f->next, n++) {
        if (obj_get(data, f->string)) {
            rc = tm_err_set(err, TM_E_INVAL, "configmap %s: key %s is in both data and binaryData",
                            name, f->string);
            goto out;
        }
        char *bin = NULL;
        size_t len = 0;
        if (!cJSON_IsString(f) || tm_b64_decode(f->valuestring, TM_B64_STRICT,
                                                TM_CAP_CHANGELOG_FILE, &bin, &len, NULL) != TM_OK) {
            rc = tm_err_set(err, TM_E_INVAL, "configmap %s: binaryData[%s] is not valid base64",
                            name, f->string);
            goto out;
        }
        rc = add_file(fs, "configmap binaryData", f->string, bin, len, err);
        free(bin);
        if (rc != TM_OK)
            goto prefix;
    }
    if (n == 0)
        rc = tm_err_set(err, TM_E_NOTFOUND, "configmap %s has no keys", name);
    goto out;
prefix:
    tm_err_prefix(err, "configmap %s", name);
out:
    if (rc != TM_OK)
        chlog_fs_mem_release(fs);
    return rc;
}

enum tm_code src_content_revision(const struct chlog_fs *fs, char out[SRC_REVISION_MAX],
                                  struct tm_err *err)
{
    char hex[65];
    out[0] = '\0';
    enum tm_code rc = chlog_revision(fs, "", hex, err);
    if (rc != TM_OK)
        return tm_err_prefix(err, "content revision");
    snprintf(out, SRC_REVISION_MAX, "sha256:%s", hex);
    return TM_OK;
}

/* ---- Git credentials -------------------------------------------------------------- */

void src_git_auth_release(struct src_git_auth *auth)
{
    if (!auth)
        return;
    char **v[] = {&auth->username, &auth->password, &auth->bearer_token};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (*v[i]) {
            volatile char *p = *v[i];
            while (*p)
                *p++ = '\0';
            free(*v[i]);
            *v[i] = NULL;
        }
    }
}

/* Decodes .data[key] into a malloc'd string in *out (NULL when the key is
 * absent).  Refuses control bytes: a value goes into an HTTP header. */
static enum tm_code secret_value(const cJSON *data, const char *secret, const char *key,
                                 char **out, struct tm_err *err)
{
    *out = NULL;
    const cJSON *v = obj_get(data, key);
    if (!v)
        return TM_OK;
    char *s = NULL;
    size_t len = 0;
    if (!cJSON_IsString(v) ||
        tm_b64_decode(v->valuestring, TM_B64_STRICT, TM_CAP_SMALL, &s, &len, NULL) != TM_OK)
        return tm_err_set(err, TM_E_INVAL, "secret %s: key %s is not valid base64", secret, key);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            OPENSSL_cleanse(s, len);
            free(s);
            return tm_err_set(err, TM_E_INVAL,
                              "secret %s: key %s contains a control character (a trailing "
                              "newline?)", secret, key);
        }
    }
    *out = s;
    return TM_OK;
}

enum tm_code src_git_auth_from_secret(const cJSON *secret, struct src_git_auth *auth,
                                      struct tm_err *err)
{
    memset(auth, 0, sizeof(*auth));
    const char *name = obj_str(obj_get(secret, "metadata"), "name");
    if (!name)
        name = "?";
    const cJSON *data = obj_get(secret, "data");
    enum tm_code rc = secret_value(data, name, "username", &auth->username, err);
    if (rc == TM_OK)
        rc = secret_value(data, name, "password", &auth->password, err);
    if (rc == TM_OK)
        rc = secret_value(data, name, "bearerToken", &auth->bearer_token, err);
    if (rc != TM_OK)
        goto out;
    bool basic = auth->username && auth->password;
    if (!basic && !auth->bearer_token) {
        rc = tm_err_set(err, TM_E_INVAL,
                        "secret %s: needs keys username and password, or bearerToken", name);
        goto out;
    }
    if (basic && auth->bearer_token) {
        rc = tm_err_set(err, TM_E_INVAL,
                        "secret %s: set either username and password, or bearerToken, not both",
                        name);
        goto out;
    }
out:
    if (rc != TM_OK)
        src_git_auth_release(auth);
    return rc;
}
