/* chlog fs: the two struct chlog_fs implementations (disk folder, in-memory
 * map), path cleaning and the content revision (sha256) of a file tree.
 *
 * Design: parsers only see '/'-separated paths relative to a root, so the
 * same code reads a Git checkout and a ConfigMap.  Every path is cleaned
 * before use; one that is absolute or climbs above the root is refused, and
 * on disk a symlink whose target lies outside the root is refused too (a Git
 * repository is untrusted input).  Sizes are capped before reading.
 * Not thread-safe for writes; reads of a filled mem fs may run concurrently. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "common/buf.h"
#include "common/caps.h"

/* ---- paths ---------------------------------------------------------------- */

enum tm_code chlog_path_clean(const char *path, char **out, struct tm_err *err)
{
    *out = NULL;
    if (!path)
        return tm_err_set(err, TM_E_INVAL, "path is missing");
    if (path[0] == '/' || path[0] == '\\')
        return tm_err_set(err, TM_E_INVAL, "%s: absolute paths are not allowed", path);
    size_t n = strlen(path);
    char *res = malloc(n + 1);
    if (!res)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    size_t len = 0;
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t seg = e ? (size_t)(e - p) : strlen(p);
        if (seg == 0 || (seg == 1 && p[0] == '.')) {
            /* skip */
        } else if (seg == 2 && p[0] == '.' && p[1] == '.') {
            if (len == 0) {
                free(res);
                return tm_err_set(err, TM_E_INVAL, "%s: path escapes the changelog root", path);
            }
            while (len > 0 && res[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the '/' */
        } else {
            if (len > 0)
                res[len++] = '/';
            memcpy(res + len, p, seg);
            len += seg;
        }
        p += seg;
        if (*p == '/')
            p++;
    }
    res[len] = '\0';
    *out = res;
    return TM_OK;
}

enum tm_code chlog_path_sibling(const char *base, const char *rel, char **out,
                                struct tm_err *err)
{
    *out = NULL;
    if (!rel)
        return tm_err_set(err, TM_E_INVAL, "path is missing");
    if (rel[0] == '/')
        return tm_err_set(err, TM_E_INVAL, "%s: absolute paths are not allowed", rel);
    if (!base)
        return chlog_path_clean(rel, out, err);
    const char *slash = strrchr(base, '/');
    size_t dl = slash ? (size_t)(slash - base) : 0;
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_add(&b, base, dl);
    if (rc == TM_OK && dl)
        rc = tm_buf_adds(&b, "/");
    if (rc == TM_OK)
        rc = tm_buf_adds(&b, rel);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "%s: path too long", rel);
    rc = chlog_path_clean(tm_buf_str(&b), out, err);
    tm_buf_release(&b);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- disk ----------------------------------------------------------------- */

struct disk_ctx {
    char *root; /* realpath of the root */
};

/* Full real path of rel below root, or an error when it is missing or
 * resolves (through symlinks) outside root. */
static enum tm_code disk_resolve(struct disk_ctx *d, const char *rel, char **full,
                                 struct tm_err *err)
{
    *full = NULL;
    char *clean = NULL;
    enum tm_code rc = chlog_path_clean(rel, &clean, err);
    if (rc != TM_OK)
        return rc;
    struct tm_buf b;
    tm_buf_init(&b, PATH_MAX);
    rc = tm_buf_adds(&b, d->root);
    if (rc == TM_OK && clean[0])
        rc = tm_buf_addf(&b, "/%s", clean);
    if (rc != TM_OK) {
        free(clean);
        return tm_err_set(err, rc, "%s: path too long", rel);
    }
    char *real = realpath(tm_buf_str(&b), NULL);
    tm_buf_release(&b);
    if (!real) {
        int e = errno;
        rc = e == ENOENT || e == ENOTDIR
                 ? tm_err_set(err, TM_E_NOTFOUND, "%s: no such file", clean)
                 : tm_err_set(err, TM_E_IO, "%s: %s", clean, strerror(e));
        free(clean);
        return rc;
    }
    size_t rl = strlen(d->root);
    bool inside = strncmp(real, d->root, rl) == 0 &&
                  (real[rl] == '\0' || real[rl] == '/' || (rl == 1 && d->root[0] == '/'));
    if (!inside) {
        rc = tm_err_set(err, TM_E_INVAL, "%s: path escapes the changelog root (symlink)", clean);
        free(real);
        free(clean);
        return rc;
    }
    free(clean);
    *full = real;
    return TM_OK;
}

static enum tm_code disk_read(void *ctx, const char *path, char **data, size_t *len,
                              struct tm_err *err)
{
    *data = NULL;
    *len = 0;
    char *full = NULL;
    enum tm_code rc = disk_resolve(ctx, path, &full, err);
    if (rc != TM_OK)
        return rc;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    free(full);
    if (fd < 0)
        return tm_err_set(err, errno == ENOENT ? TM_E_NOTFOUND : TM_E_IO, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        rc = tm_err_set(err, TM_E_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = tm_err_set(err, TM_E_INVAL, "%s: not a regular file", path);
        goto out;
    }
    if ((unsigned long long)st.st_size > TM_CAP_CHANGELOG_FILE) {
        rc = tm_err_set(err, TM_E_TOOBIG, "%s: file is larger than %u bytes", path,
                        (unsigned)TM_CAP_CHANGELOG_FILE);
        goto out;
    }
    size_t want = (size_t)st.st_size;
    buf = malloc(want + 1);
    if (!buf) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = tm_err_set(err, TM_E_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break; /* shrank while reading: take what is there */
        got += (size_t)r;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    buf = NULL;
    rc = TM_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

static enum tm_code disk_list(void *ctx, const char *dir, char ***names, size_t *n,
                              struct tm_err *err)
{
    *names = NULL;
    *n = 0;
    char *full = NULL;
    enum tm_code rc = disk_resolve(ctx, dir, &full, err);
    if (rc != TM_OK)
        return rc;
    DIR *d = opendir(full);
    free(full);
    if (!d)
        return tm_err_set(err, errno == ENOENT || errno == ENOTDIR ? TM_E_NOTFOUND : TM_E_IO,
                          "%s: %s", dir[0] ? dir : ".", strerror(errno));
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    rc = TM_OK;
    while ((de = readdir(d)) != NULL) {
        /* hidden entries (".git", editor files) are not changelog content;
         * devices, fifos and sockets are never read */
        if (de->d_name[0] == '.')
            continue;
        if (de->d_type != DT_UNKNOWN && de->d_type != DT_REG && de->d_type != DT_DIR &&
            de->d_type != DT_LNK)
            continue;
        char **nv = chlog_grow(v, cnt, &cap, sizeof(*nv), 16);
        if (!nv) {
            rc = TM_E_NOMEM;
            break;
        }
        v = nv;
        v[cnt] = strdup(de->d_name);
        if (!v[cnt]) {
            rc = TM_E_NOMEM;
            break;
        }
        cnt++;
    }
    closedir(d);
    if (rc != TM_OK) {
        for (size_t i = 0; i < cnt; i++)
            free(v[i]);
        free(v);
        return tm_err_set(err, rc, "out of memory");
    }
    if (cnt)
        qsort(v, cnt, sizeof(*v), cmp_str);
    *names = v;
    *n = cnt;
    return TM_OK;
}

static bool disk_is_dir(void *ctx, const char *path)
{
    char *full = NULL;
    if (disk_resolve(ctx, path, &full, NULL) != TM_OK)
        return false;
    struct stat st;
    bool r = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
    free(full);
    return r;
}

enum tm_code chlog_fs_disk_init(struct chlog_fs *fs, const char *root)
{
    memset(fs, 0, sizeof(*fs));
    struct disk_ctx *d = calloc(1, sizeof(*d));
    if (!d)
        return TM_E_NOMEM;
    d->root = realpath(root && *root ? root : ".", NULL);
    if (!d->root) {
        /* a missing root reads as an empty folder: reads fail with NOTFOUND */
        d->root = strdup(root && *root ? root : ".");
        if (!d->root) {
            free(d);
            return TM_E_NOMEM;
        }
    }
    fs->ctx = d;
    fs->read = disk_read;
    fs->list = disk_list;
    fs->is_dir = disk_is_dir;
    return TM_OK;
}

void chlog_fs_disk_release(struct chlog_fs *fs)
{
    if (!fs)
        return;
    struct disk_ctx *d = fs->ctx;
    if (d && fs->read == disk_read) {
        free(d->root);
        free(d);
    }
    memset(fs, 0, sizeof(*fs));
}

/* ---- memory --------------------------------------------------------------- */

struct mem_file {
    char *path;
    char *data;
    size_t len;
};

struct mem_ctx {
    struct mem_file *files; /* unsorted; lists sort */
    size_t n, cap;
    size_t total;
};

static struct mem_file *mem_find(struct mem_ctx *m, const char *path)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->files[i].path, path) == 0)
            return &m->files[i];
    return NULL;
}

static enum tm_code mem_read(void *ctx, const char *path, char **data, size_t *len,
                             struct tm_err *err)
{
    *data = NULL;
    *len = 0;
    char *clean = NULL;
    enum tm_code rc = chlog_path_clean(path, &clean, err);
    if (rc != TM_OK)
        return rc;
    struct mem_file *f = mem_find(ctx, clean);
    if (!f) {
        rc = tm_err_set(err, TM_E_NOTFOUND, "%s: no such file", clean);
        free(clean);
        return rc;
    }
    free(clean);
    char *copy = malloc(f->len + 1);
    if (!copy)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    memcpy(copy, f->data, f->len);
    copy[f->len] = '\0';
    *data = copy;
    *len = f->len;
    return TM_OK;
}

/* When file path p lies below dir, the length of dir's prefix in p (0 for
 * the root), else -1. */
static long mem_under(const char *p, const char *dir)
{
    size_t dl = strlen(dir);
    if (dl == 0)
        return 0;
    if (strncmp(p, dir, dl) == 0 && p[dl] == '/')
        return (long)dl + 1;
    return -1;
}

static enum tm_code mem_list(void *ctx, const char *dir, char ***names, size_t *n,
                             struct tm_err *err)
{
    struct mem_ctx *m = ctx;
    *names = NULL;
    *n = 0;
    char *clean = NULL;
    enum tm_code rc = chlog_path_clean(dir, &clean, err);
    if (rc != TM_OK)
        return rc;
    char **v = m->n ? calloc(m->n, sizeof(*v)) : NULL;
    size_t cnt = 0;
    if (m->n && !v) {
        free(clean);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < m->n; i++) {
        long off = mem_under(m->files[i].path, clean);
        if (off < 0)
            continue;
        const char *rest = m->files[i].path + off;
        const char *slash = strchr(rest, '/');
        size_t nl = slash ? (size_t)(slash - rest) : strlen(rest);
        bool dup = false;
        for (size_t j = 0; j < cnt && !dup; j++)
            dup = strlen(v[j]) == nl && strncmp(v[j], rest, nl) == 0;
        if (dup)
            continue;
        v[cnt] = strndup(rest, nl);
        if (!v[cnt]) {
            for (size_t j = 0; j < cnt; j++)
                free(v[j]);
            free(v);
            free(clean);
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        }
        cnt++;
    }
    if (cnt == 0 && clean[0] && !mem_find(m, clean)) {
        rc = tm_err_set(err, TM_E_NOTFOUND, "%s: no such folder", clean);
        free(v);
        free(clean);
        return rc;
    }
    free(clean);
    if (cnt)
        qsort(v, cnt, sizeof(*v), cmp_str);
    else {
        free(v);
        v = NULL;
    }
    *names = v;
    *n = cnt;
    return TM_OK;
}

static bool mem_is_dir(void *ctx, const char *path)
{
    struct mem_ctx *m = ctx;
    char *clean = NULL;
    if (chlog_path_clean(path, &clean, NULL) != TM_OK)
        return false;
    bool r = false;
    for (size_t i = 0; i < m->n && !r; i++)
        r = mem_under(m->files[i].path, clean) >= 0;
    free(clean);
    return r;
}

enum tm_code chlog_fs_mem_init(struct chlog_fs *fs)
{
    memset(fs, 0, sizeof(*fs));
    struct mem_ctx *m = calloc(1, sizeof(*m));
    if (!m)
        return TM_E_NOMEM;
    fs->ctx = m;
    fs->read = mem_read;
    fs->list = mem_list;
    fs->is_dir = mem_is_dir;
    return TM_OK;
}

enum tm_code chlog_fs_mem_add(struct chlog_fs *fs, const char *path, const char *data,
                              size_t len, struct tm_err *err)
{
    struct mem_ctx *m = fs->ctx;
    if (!m || fs->read != mem_read)
        return tm_err_set(err, TM_E_INTERNAL, "chlog_fs_mem_add on a fs that is not a mem fs");
    char *clean = NULL;
    enum tm_code rc = chlog_path_clean(path, &clean, err);
    if (rc != TM_OK)
        return rc;
    if (!clean[0]) {
        free(clean);
        return tm_err_set(err, TM_E_INVAL, "%s: a file needs a name", path);
    }
    if (mem_find(m, clean)) {
        rc = tm_err_set(err, TM_E_INVAL, "%s: file added twice", clean);
        free(clean);
        return rc;
    }
    if (len > TM_CAP_CHANGELOG_FILE) {
        rc = tm_err_set(err, TM_E_TOOBIG, "%s: file is larger than %u bytes", clean,
                        (unsigned)TM_CAP_CHANGELOG_FILE);
        free(clean);
        return rc;
    }
    if (len > TM_CAP_CHANGELOG_TOTAL - m->total) {
        rc = tm_err_set(err, TM_E_TOOBIG, "%s: changelog files exceed %u bytes in total", clean,
                        (unsigned)TM_CAP_CHANGELOG_TOTAL);
        free(clean);
        return rc;
    }
    struct mem_file *nf = chlog_grow(m->files, m->n, &m->cap, sizeof(*nf), 8);
    if (!nf) {
        free(clean);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    m->files = nf;
    char *copy = malloc(len + 1);
    if (!copy) {
        free(clean);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    m->files[m->n++] = (struct mem_file){clean, copy, len};
    m->total += len;
    return TM_OK;
}

void chlog_fs_mem_release(struct chlog_fs *fs)
{
    if (!fs)
        return;
    struct mem_ctx *m = fs->ctx;
    if (m && fs->read == mem_read) {
        for (size_t i = 0; i < m->n; i++) {
            free(m->files[i].path);
            free(m->files[i].data);
        }
        free(m->files);
        free(m);
    }
    memset(fs, 0, sizeof(*fs));
}

/* ---- revision --------------------------------------------------------------- */

/* ---- the one file walker ---------------------------------------------------- */

struct path_list {
    char **v;
    size_t n, cap;
};

static enum tm_code plist_add(struct path_list *l, char *p)
{
    char **nv = chlog_grow(l->v, l->n, &l->cap, sizeof(*nv), 32);
    if (!nv) {
        free(p);
        return TM_E_NOMEM;
    }
    l->v = nv;
    l->v[l->n++] = p;
    return TM_OK;
}

/* Collects the files below dir at depth+1 and deeper into l. */
static enum tm_code walk(const struct chlog_fs *fs, const char *dir, const struct chlog_walk *o,
                         struct path_list *l, int depth, struct tm_err *err)
{
    if (depth > CHLOG_WALK_MAX_DEPTH)
        return tm_err_set(err, TM_E_INVAL, "%s: folders nested too deep", dir);
    char **names = NULL;
    size_t n = 0;
    enum tm_code rc = fs->list(fs->ctx, dir, &names, &n, err);
    if (rc != TM_OK)
        return rc;
    for (size_t i = 0; i < n && rc == TM_OK; i++) {
        struct tm_buf b;
        tm_buf_init(&b, TM_CAP_SMALL);
        rc = dir[0] ? tm_buf_addf(&b, "%s/%s", dir, names[i]) : tm_buf_adds(&b, names[i]);
        if (rc != TM_OK) {
            tm_err_set(err, rc, "%s: path too long", names[i]);
            break;
        }
        char *p = tm_buf_detach(&b, NULL);
        if (!p) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            break;
        }
        if (fs->is_dir(fs->ctx, p)) {
            if (!o || depth + 1 < o->max_depth)
                rc = walk(fs, p, o, l, depth + 1, err);
            free(p);
        } else if (o && (depth + 1 < o->min_depth || (o->keep && !o->keep(p, o->arg)))) {
            free(p);
        } else if (plist_add(l, p) != TM_OK) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

enum tm_code chlog_fs_walk(const struct chlog_fs *fs, const char *dir, const struct chlog_walk *opt,
                           char ***paths, size_t *n, struct tm_err *err)
{
    *paths = NULL;
    *n = 0;
    struct path_list l = {0};
    char *clean = NULL;
    enum tm_code rc = chlog_path_clean(dir ? dir : "", &clean, err);
    if (rc == TM_OK)
        rc = walk(fs, clean, opt, &l, 0, err);
    free(clean);
    if (rc != TM_OK) {
        chlog_paths_free(l.v, l.n);
        return rc;
    }
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), cmp_str);
    *paths = l.v;
    *n = l.n;
    return TM_OK;
}

void chlog_paths_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

enum tm_code chlog_revision(const struct chlog_fs *fs, const char *dir, char out[65],
                            struct tm_err *err)
{
    out[0] = '\0';
    struct path_list l = {0};
    EVP_MD_CTX *md = NULL;
    enum tm_code rc = chlog_fs_walk(fs, dir, NULL, &l.v, &l.n, err);
    if (rc != TM_OK)
        return rc;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        rc = tm_err_set(err, TM_E_NOMEM, "sha256: cannot initialise");
        goto out;
    }
    size_t total = 0;
    for (size_t i = 0; i < l.n; i++) {
        char *data = NULL;
        size_t len = 0;
        rc = fs->read(fs->ctx, l.v[i], &data, &len, err);
        if (rc != TM_OK)
            goto out;
        total += len;
        if (total > TM_CAP_CHANGELOG_TOTAL) {
            free(data);
            rc = tm_err_set(err, TM_E_TOOBIG, "changelog files exceed %u bytes in total",
                            (unsigned)TM_CAP_CHANGELOG_TOTAL);
            goto out;
        }
        char num[32];
        int nl = snprintf(num, sizeof(num), "%zu", len);
        int ok = EVP_DigestUpdate(md, l.v[i], strlen(l.v[i]) + 1) == 1 &&
                 EVP_DigestUpdate(md, num, (size_t)nl + 1) == 1 &&
                 EVP_DigestUpdate(md, data, len) == 1;
        free(data);
        if (!ok) {
            rc = tm_err_set(err, TM_E_INTERNAL, "sha256: update failed");
            goto out;
        }
    }
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    if (EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != 32) {
        rc = tm_err_set(err, TM_E_INTERNAL, "sha256: final failed");
        goto out;
    }
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < hl; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = '\0';
    rc = TM_OK;
out:
    EVP_MD_CTX_free(md);
    chlog_paths_free(l.v, l.n);
    return rc;
}
