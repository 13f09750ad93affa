/* chlog fs mount: a file system view that places another one below a
 * prefix folder.  A DBSchema's files (inline, ConfigMap, Git) hold the
 * changelog folder itself, while the app's Liquibase read them below its
 * search path (classpath:db/changelog/...): mounting them at "db/changelog"
 * makes every FILENAME come out as the app's Liquibase wrote it. */
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"

struct mount_ctx {
    const struct chlog_fs *inner;
    char *prefix; /* clean, non-empty, no trailing '/' */
    size_t plen;
};

/* The inner path for path below the prefix ("" for the prefix itself), or
 * NULL when path is not below it. */
static const char *inner_path(const struct mount_ctx *m, const char *path)
{
    if (strncmp(path, m->prefix, m->plen) != 0)
        return NULL;
    if (path[m->plen] == '\0')
        return "";
    return path[m->plen] == '/' ? path + m->plen + 1 : NULL;
}

/* True when dir ("" = root) is a folder on the way to the prefix; *next is
 * then the prefix's next segment below it and *nlen its length. */
static bool on_the_way(const struct mount_ctx *m, const char *dir, const char **next,
                       size_t *nlen)
{
    size_t dl = strlen(dir);
    const char *rest;
    if (dl == 0)
        rest = m->prefix;
    else if (dl < m->plen && strncmp(m->prefix, dir, dl) == 0 && m->prefix[dl] == '/')
        rest = m->prefix + dl + 1;
    else
        return false;
    const char *slash = strchr(rest, '/');
    *next = rest;
    *nlen = slash ? (size_t)(slash - rest) : strlen(rest);
    return true;
}

static enum tm_code mount_read(void *ctx, const char *path, char **data, size_t *len,
                               struct tm_err *err)
{
    const struct mount_ctx *m = ctx;
    char *clean = NULL;
    enum tm_code rc = chlog_path_clean(path, &clean, err);
    if (rc != TM_OK)
        return rc;
    const char *ip = inner_path(m, clean);
    if (!ip || !ip[0])
        rc = tm_err_set(err, TM_E_NOTFOUND, "%s: no such file (the changelog's files are "
                                            "mounted at %s/)",
                        clean, m->prefix);
    else
        rc = m->inner->read(m->inner->ctx, ip, data, len, err);
    free(clean);
    return rc;
}

static enum tm_code mount_list(void *ctx, const char *dir, char ***names, size_t *n,
                               struct tm_err *err)
{
    const struct mount_ctx *m = ctx;
    *names = NULL;
    *n = 0;
    const char *ip = inner_path(m, dir);
    if (ip)
        return m->inner->list(m->inner->ctx, ip, names, n, err);
    const char *next;
    size_t nl;
    if (!on_the_way(m, dir, &next, &nl))
        return tm_err_set(err, TM_E_NOTFOUND, "%s: no such folder", dir);
    char **v = malloc(sizeof(*v));
    char *s = v ? strndup(next, nl) : NULL;
    if (!s) {
        free(v);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    v[0] = s;
    *names = v;
    *n = 1;
    return TM_OK;
}

static bool mount_is_dir(void *ctx, const char *path)
{
    const struct mount_ctx *m = ctx;
    char *clean = NULL;
    if (chlog_path_clean(path, &clean, NULL) != TM_OK)
        return false;
    const char *ip = inner_path(m, clean);
    const char *next;
    size_t nl;
    bool r = ip ? m->inner->is_dir(m->inner->ctx, ip) : on_the_way(m, clean, &next, &nl);
    free(clean);
    return r;
}

enum tm_code chlog_fs_mount_init(struct chlog_fs *fs, const struct chlog_fs *inner,
                                 const char *prefix, struct tm_err *err)
{
    memset(fs, 0, sizeof(*fs));
    char *clean = NULL;
    enum tm_code rc = chlog_path_clean(prefix, &clean, err);
    if (rc != TM_OK)
        return rc;
    if (!clean[0]) {
        free(clean);
        return tm_err_set(err, TM_E_INVAL, "mount path is empty");
    }
    struct mount_ctx *m = calloc(1, sizeof(*m));
    if (!m) {
        free(clean);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    m->inner = inner;
    m->prefix = clean;
    m->plen = strlen(clean);
    fs->ctx = m;
    fs->read = mount_read;
    fs->list = mount_list;
    fs->is_dir = mount_is_dir;
    return TM_OK;
}

void chlog_fs_mount_release(struct chlog_fs *fs)
{
    if (!fs)
        return;
    struct mount_ctx *m = fs->ctx;
    if (m && fs->read == mount_read) {
        free(m->prefix);
        free(m);
    }
    memset(fs, 0, sizeof(*fs));
}
