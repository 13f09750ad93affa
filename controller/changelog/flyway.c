/* chlog flyway: a Flyway migrations folder as a changelog.
 *
 * Files (found recursively; other files are ignored, as Flyway does):
 *   V<version>__<description>.sql  versioned, forward
 *   U<version>__<description>.sql  undo: the rollback SQL of the V with the
 *                                  same version (an undo without its V is an error)
 *   R__<description>.sql           repeatable: run_on_change, after all
 *                                  versioned ones, ordered by description
 * Version: '_' reads as '.', every part must be a number; versions compare
 * numerically part by part with trailing zero parts ignored (1.10 > 1.9,
 * 1.0 == 1: a duplicate), as Flyway's MigrationVersion does.  Description:
 * '_' reads as ' '.  Each versioned migration is a changeset with id =
 * version, author "flyway", filename = the script's path below the folder,
 * and tag = version (so "roll back to 1.1" works like a Liquibase tag).
 * checksum = Flyway CRC32 (chlog_checksum_flyway) as signed decimal text,
 * computed over the file's bytes before ${} expansion. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "common/buf.h"
#include "common/caps.h"

struct mig {
    char kind;       /* 'V', 'U', 'R' */
    char *script;    /* path below the folder */
    char *fspath;    /* fs path */
    char *version;   /* "1.2" (V/U) */
    char *desc;
};

struct migs {
    struct mig *v;
    size_t n, cap;
};

static void migs_free(struct migs *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].script);
        free(m->v[i].fspath);
        free(m->v[i].version);
        free(m->v[i].desc);
    }
    free(m->v);
}

static enum tm_code migs_grow(struct migs *m)
{
    if (m->n < m->cap)
        return TM_OK;
    size_t nc = m->cap ? m->cap * 2 : 16;
    struct mig *nv = realloc(m->v, nc * sizeof(*nv));
    if (!nv)
        return TM_E_NOMEM;
    m->v = nv;
    m->cap = nc;
    return TM_OK;
}

/* Compares two dotted numeric versions; trailing zero parts are ignored. */
static int vcmp(const char *a, const char *b)
{
    while (*a || *b) {
        while (*a == '0' && isdigit((unsigned char)a[1]))
            a++;
        while (*b == '0' && isdigit((unsigned char)b[1]))
            b++;
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        bool za = (*a == '\0') || (la == 1 && *a == '0');
        bool zb = (*b == '\0') || (lb == 1 && *b == '0');
        if (!(za && zb)) {
            if (*a == '\0')
                la = 0;
            if (*b == '\0')
                lb = 0;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c)
                return c < 0 ? -1 : 1;
        }
        a += la;
        b += lb;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
    }
    return 0;
}

static int cmp_mig(const void *x, const void *y)
{
    const struct mig *a = x, *b = y;
    if (a->kind != b->kind)
        return a->kind == 'V' ? -1 : 1; /* V before R (U are not in this list) */
    if (a->kind == 'V')
        return vcmp(a->version, b->version);
    return strcmp(a->desc, b->desc);
}

/* Parses a file name; returns false when it is not a migration name.
 * Sets *bad (and err) when it looks like one but its version is wrong. */
static enum tm_code parse_name(const char *script, const char *name, struct mig *m, bool *is_mig,
                               struct tm_err *err)
{
    *is_mig = false;
    memset(m, 0, sizeof(*m));
    if (!chlog_has_suffix(name, ".sql"))
        return TM_OK;
    char k = name[0];
    if (k != 'V' && k != 'U' && k != 'R')
        return TM_OK;
    const char *sep = strstr(name + 1, "__");
    if (!sep)
        return TM_OK;
    size_t nl = strlen(name);
    const char *ds = sep + 2, *de = name + nl - 4;
    if (de < ds)
        return TM_OK;
    if (k == 'R' && sep != name + 1)
        return tm_err_set(err, TM_E_INVAL,
                          "%s: a repeatable migration is named R__<description>.sql", script);
    if (k != 'R') {
        const char *vs = name + 1;
        if (sep == vs)
            return tm_err_set(err, TM_E_INVAL,
                              "%s: missing version: expected %c<version>__<description>.sql",
                              script, k);
        m->version = strndup(vs, (size_t)(sep - vs));
        if (!m->version)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        for (char *p = m->version; *p; p++)
            if (*p == '_')
                *p = '.';
        /* each part a non-empty run of digits */
        const char *p = m->version;
        bool ok = true;
        while (ok) {
            size_t dl = strspn(p, "0123456789");
            if (dl == 0)
                ok = false;
            p += dl;
            if (*p == '\0')
                break;
            if (*p != '.')
                ok = false;
            p++;
        }
        if (!ok) {
            enum tm_code rc = tm_err_set(
                err, TM_E_INVAL,
                "%s: invalid version '%.*s': expected numbers separated by '.' or '_' "
                "(e.g. V1_2__add_orders.sql)",
                script, (int)(sep - vs), vs);
            free(m->version);
            m->version = NULL;
            return rc;
        }
    }
    m->desc = strndup(ds, (size_t)(de - ds));
    if (!m->desc) {
        free(m->version);
        m->version = NULL;
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    for (char *p = m->desc; *p; p++)
        if (*p == '_')
            *p = ' ';
    if (k == 'R' && !m->desc[0]) {
        free(m->desc);
        m->desc = NULL;
        return tm_err_set(err, TM_E_INVAL, "%s: a repeatable migration needs a description",
                          script);
    }
    m->kind = k;
    *is_mig = true;
    return TM_OK;
}

static enum tm_code scan(struct chlog_ld *ld, const char *root, const char *dir, struct migs *out,
                         struct migs *undo, int depth, struct tm_err *err)
{
    if (depth > CHLOG_MAX_DEPTH)
        return tm_err_set(err, TM_E_INVAL, "%s: folders nested too deep", dir);
    char **names = NULL;
    size_t n = 0;
    enum tm_code rc = ld->fs->list(ld->fs->ctx, dir, &names, &n, err);
    if (rc != TM_OK)
        return rc;
    size_t rl = strlen(root);
    for (size_t i = 0; i < n && rc == TM_OK; i++) {
        struct tm_buf b;
        tm_buf_init(&b, TM_CAP_SMALL);
        rc = dir[0] ? tm_buf_addf(&b, "%s/%s", dir, names[i]) : tm_buf_adds(&b, names[i]);
        if (rc != TM_OK) {
            rc = tm_err_set(err, rc, "%s: path too long", names[i]);
            break;
        }
        char *p = tm_buf_detach(&b, NULL);
        if (!p) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            break;
        }
        if (ld->fs->is_dir(ld->fs->ctx, p)) {
            rc = scan(ld, root, p, out, undo, depth + 1, err);
            free(p);
            continue;
        }
        const char *script = p + (rl ? rl + 1 : 0);
        struct mig m;
        bool is_mig = false;
        rc = parse_name(script, names[i], &m, &is_mig, err);
        if (rc != TM_OK || !is_mig) {
            free(p);
            continue;
        }
        m.fspath = p;
        m.script = strdup(script);
        struct migs *dst = m.kind == 'U' ? undo : out;
        if (!m.script || migs_grow(dst) != TM_OK) {
            free(m.fspath);
            free(m.script);
            free(m.version);
            free(m.desc);
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            break;
        }
        dst->v[dst->n++] = m;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static enum tm_code read_text(struct chlog_ld *ld, const char *path, char **raw, size_t *len,
                              char **text, struct tm_err *err)
{
    *text = NULL;
    enum tm_code rc = chlog_ld_read(ld, path, raw, len, err);
    if (rc != TM_OK)
        return rc;
    const char *s = *raw;
    if (*len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3;
    *text = chlog_ld_expand(ld, s);
    if (!*text)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    return TM_OK;
}

enum tm_code chlog_flyway_parse(struct chlog_ld *ld, const char *dir, struct tm_err *err)
{
    struct migs all = {0}, undo = {0};
    enum tm_code rc = scan(ld, dir, dir, &all, &undo, 0, err);
    if (rc != TM_OK)
        goto out;
    if (all.n)
        qsort(all.v, all.n, sizeof(*all.v), cmp_mig);
    for (size_t i = 1; i < all.n; i++) {
        if (cmp_mig(&all.v[i - 1], &all.v[i]) == 0) {
            rc = all.v[i].kind == 'V'
                     ? tm_err_set(err, TM_E_INVAL,
                                  "%s: found more than one migration with version %s (also %s)",
                                  all.v[i].script, all.v[i].version, all.v[i - 1].script)
                     : tm_err_set(err, TM_E_INVAL,
                                  "%s: found more than one repeatable migration with "
                                  "description '%s' (also %s)",
                                  all.v[i].script, all.v[i].desc, all.v[i - 1].script);
            goto out;
        }
    }
    for (size_t u = 0; u < undo.n; u++) {
        size_t matches = 0;
        for (size_t i = 0; i < all.n; i++)
            matches += all.v[i].kind == 'V' && vcmp(all.v[i].version, undo.v[u].version) == 0;
        for (size_t k = 0; k < u; k++)
            if (vcmp(undo.v[k].version, undo.v[u].version) == 0) {
                rc = tm_err_set(err, TM_E_INVAL, "%s: more than one undo migration for version %s",
                                undo.v[u].script, undo.v[u].version);
                goto out;
            }
        if (matches == 0) {
            rc = tm_err_set(err, TM_E_INVAL, "%s: undo migration for version %s has no V%s__ file",
                            undo.v[u].script, undo.v[u].version, undo.v[u].version);
            goto out;
        }
    }
    for (size_t i = 0; i < all.n; i++) {
        struct mig *m = &all.v[i];
        struct chlog_changeset *cs = chlog_ld_add_set(ld);
        if (!cs) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            goto out;
        }
        cs->id = strdup(m->kind == 'V' ? m->version : m->desc);
        cs->author = strdup("flyway");
        cs->filename = strdup(m->script);
        cs->path = strdup(m->fspath);
        cs->description = strdup(m->desc);
        cs->line = 1;
        struct chlog_change *ch = chlog_set_add_change(cs);
        if (!cs->id || !cs->author || !cs->filename || !cs->path || !cs->description || !ch) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            goto out;
        }
        ch->kind = CHLOG_CHANGE_SQL;
        ch->line = 1;
        char *raw = NULL;
        size_t len = 0;
        rc = read_text(ld, m->fspath, &raw, &len, &ch->sql, err);
        if (rc == TM_OK)
            snprintf(cs->checksum, sizeof(cs->checksum), "%d", chlog_checksum_flyway(raw, len));
        free(raw);
        if (rc != TM_OK)
            goto out;
        if (m->kind == 'R') {
            cs->run_on_change = true;
            continue;
        }
        cs->version = strdup(m->version);
        cs->own_tag = strdup(m->version);
        if (!cs->version || !cs->own_tag) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            goto out;
        }
        cs->tag = cs->own_tag;
        for (size_t u = 0; u < undo.n; u++) {
            if (vcmp(undo.v[u].version, m->version) != 0)
                continue;
            rc = read_text(ld, undo.v[u].fspath, &raw, &len, &cs->rollback_sql, err);
            free(raw);
            if (rc != TM_OK)
                goto out;
            cs->has_rollback = true;
        }
    }
out:
    migs_free(&all);
    migs_free(&undo);
    return rc;
}
