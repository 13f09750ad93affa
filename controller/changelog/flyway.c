/* chlog flyway: Flyway migration folders as a changelog, named, ordered,
 * checksummed and split into transactions as Flyway 13 does.
 *
 * Settings (flyway_conf.c): prefixes, separator, suffixes, placeholders,
 * table, schemas, locations, mixed, validateMigrationNaming.
 * Files, in every location (recursively; default: the entry folder):
 *   <prefix><version><sep><description><suffix>   versioned ("V1_2__x.sql")
 *   <repeatable prefix><sep><description><suffix> repeatable ("R__x.sql")
 *   <undo prefix><version><sep><description>       undo: the rollback of the
 *                                                  V with that version (an
 *                                                  undo without its V is an error)
 * Naming follows flyway-core ResourceNameParser: only files ending in one of
 * the suffixes are looked at; the suffix is cut, then the longest matching
 * prefix decides the kind (so "R__x" is repeatable even with an empty
 * versioned prefix); the rest splits at the first separator into version and
 * description (a versioned name without separator has an empty
 * description, "V2.sql"); '_' reads '.' in the version and ' ' in the
 * description, which is not trimmed.  A name that does not parse is skipped,
 * as Flyway does, unless validateMigrationNaming is true (then an error
 * listing them all).  Flyway callback scripts (beforeMigrate.sql, ...) are
 * refused: tidemark does not run them.
 * Version: every part a number; versions compare numerically part by part
 * with trailing zero parts ignored (1.10 > 1.9, 1.0 == 1: a duplicate), as
 * MigrationVersion does; the text is kept as written ("001").
 * Identity: id = version (description for a repeatable), author "flyway",
 * filename = script = the path below its location, as Flyway writes it;
 * tag = version.  checksum = Flyway CRC32 (chlog_checksum_flyway) of the
 * file as stored, i.e. before placeholder replacement (verified with Flyway
 * 13.12.2).
 * Transactions: a script with a statement PostgreSQL refuses inside a
 * transaction (flyway_tx.c) runs outside one (run_in_transaction false); a
 * script mixing such statements with others is refused unless mixed=true
 * (flyway-core ParserSqlScript), or unless its `<script>.conf` sets
 * executeInTransaction. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/flyway_int.h"
#include "common/buf.h"
#include "common/caps.h"

struct mig {
    char kind;       /* 'V', 'U', 'R' */
    char *script;    /* path below its location */
    char *fspath;    /* fs path */
    char *version;   /* "1.2" (V/U), as written with '_' read as '.' */
    char *desc;
};

struct migs {
    struct mig *v;
    size_t n, cap;
};

/* What a scan needs besides the lists. */
struct scan_ctx {
    struct chlog_ld *ld;
    const struct flyway_conf *conf;
    const char *root;       /* the location being scanned */
    struct migs *all, *undo;
    struct tm_buf invalid;  /* names that do not parse (validateMigrationNaming) */
};

/* Flyway's callback event ids (flyway-core api/callback/Event.java). */
static const char *const callbacks[] = {
    "beforeConnect", "afterConnect", "beforeMigrate", "beforeRepeatables",
    "beforeEachMigrate", "beforeEachMigrateStatement", "afterEachMigrateStatement",
    "afterEachMigrateStatementError", "afterEachMigrate", "afterEachMigrateError",
    "afterMigrate", "afterMigrateApplied", "afterVersioned", "afterMigrateError",
    "beforeUndo", "beforeEachUndo", "beforeEachUndoStatement", "afterEachUndoStatement",
    "afterEachUndoStatementError", "afterEachUndo", "afterEachUndoError", "afterUndo",
    "afterUndoError", "beforeClean", "afterClean", "afterCleanError", "beforeInfo",
    "afterInfo", "afterInfoError", "beforeValidate", "afterValidate", "afterValidateError",
    "beforeBaseline", "afterBaseline", "afterBaselineError", "beforeRepair", "afterRepair",
    "afterRepairError", "createSchema", "beforeCreateSchema",
};

static void mig_release(struct mig *m)
{
    free(m->script);
    free(m->fspath);
    free(m->version);
    free(m->desc);
}

static void migs_free(struct migs *m)
{
    for (size_t i = 0; i < m->n; i++)
        mig_release(&m->v[i]);
    free(m->v);
}

static enum tm_code migs_grow(struct migs *m)
{
    struct mig *nv = chlog_grow(m->v, m->n, &m->cap, sizeof(*nv), 16);
    if (!nv)
        return TM_E_NOMEM;
    m->v = nv;
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

/* MigrationVersion.fromVersion: '_' is '.', each part a non-empty number. */
static bool version_ok(const char *v)
{
    if (!*v)
        return false;
    for (;;) {
        size_t dl = strspn(v, "0123456789");
        if (dl == 0)
            return false;
        v += dl;
        if (*v == '\0')
            return true;
        if (*v != '.')
            return false;
        v++;
    }
}

/* The suffix name ends with (the first that fits, in the setting's order),
 * as its length; 0 when none. */
static size_t suffix_len(const char *name, const char *suffixes)
{
    size_t nl = strlen(name);
    const char *s = suffixes;
    while (*s) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t l = strcspn(s, ",");
        while (l > 0 && s[l - 1] == ' ')
            l--;
        if (l > 0 && l <= nl && strncmp(name + nl - l, s, l) == 0)
            return l;
        s += strcspn(s, ",");
    }
    return 0;
}

static bool is_callback(const char *stem, const char *sep)
{
    for (size_t i = 0; i < sizeof(callbacks) / sizeof(callbacks[0]); i++) {
        size_t l = strlen(callbacks[i]);
        if (strncmp(stem, callbacks[i], l) == 0 &&
            (stem[l] == '\0' || strncmp(stem + l, sep, strlen(sep)) == 0))
            return true;
    }
    return false;
}

static enum tm_code note_invalid(struct scan_ctx *sc, const char *fmt, const char *script,
                                 const char *extra, struct tm_err *err)
{
    enum tm_code rc = tm_buf_addf(&sc->invalid, fmt, script, extra);
    if (rc != TM_OK && rc != TM_E_TOOBIG)
        return tm_err_set(err, rc, "out of memory");
    return TM_OK;
}

/* Parses one file name into m (*is_mig false: not a migration).  Names that
 * look like one but are invalid go to sc->invalid. */
static enum tm_code parse_name(struct scan_ctx *sc, const char *script, const char *name,
                               struct mig *m, bool *is_mig, struct tm_err *err)
{
    const struct flyway_conf *c = sc->conf;
    *is_mig = false;
    memset(m, 0, sizeof(*m));
    size_t sl = suffix_len(name, c->suffixes);
    if (sl == 0)
        return TM_OK;
    size_t stem_len = strlen(name) - sl;
    char *stem = strndup(name, stem_len);
    if (!stem)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    enum tm_code rc = TM_OK;
    if (is_callback(stem, c->separator)) {
        rc = tm_err_set(err, TM_E_INVAL,
                        "%s: a Flyway callback script; tidemark does not run callbacks (move "
                        "it out of the migration folder)",
                        script);
        goto out;
    }
    /* the longest matching prefix wins (ResourceNameParser.populatePrefixes) */
    struct {
        const char *prefix;
        char kind;
    } kinds[3] = {{c->prefix, 'V'}, {c->repeatable_prefix, 'R'}, {c->undo_prefix, 'U'}};
    int best = -1;
    for (int i = 0; i < 3; i++)
        if (strncmp(stem, kinds[i].prefix, strlen(kinds[i].prefix)) == 0 &&
            (best < 0 || strlen(kinds[i].prefix) > strlen(kinds[best].prefix)))
            best = i;
    if (best < 0) {
        rc = note_invalid(sc, "Unrecognised migration name format: %s%s\n", script, "", err);
        goto out;
    }
    const char *rest = stem + strlen(kinds[best].prefix);
    const char *sep = strstr(rest, c->separator);
    size_t vl = sep ? (size_t)(sep - rest) : strlen(rest);
    const char *ds = sep ? sep + strlen(c->separator) : rest + vl;
    char k = kinds[best].kind;
    if (k == 'R') {
        if (vl != 0) {
            rc = note_invalid(sc,
                              "Invalid repeatable migration name format: %s (it cannot contain "
                              "a version%s)\n",
                              script, "", err);
            goto out;
        }
    } else {
        m->version = strndup(rest, vl);
        if (!m->version) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            goto out;
        }
        for (char *p = m->version; *p; p++)
            if (*p == '_')
                *p = '.';
        if (!version_ok(m->version)) {
            rc = note_invalid(sc,
                              "Invalid versioned migration name format: %s (could not "
                              "recognise version number %s)\n",
                              script, m->version, err);
            free(m->version);
            m->version = NULL;
            goto out;
        }
    }
    m->desc = strdup(ds);
    if (!m->desc) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    for (char *p = m->desc; *p; p++)
        if (*p == '_')
            *p = ' ';
    if (k == 'R' && !m->desc[0]) {
        rc = tm_err_set(err, TM_E_INVAL, "%s: a repeatable migration needs a description",
                        script);
        goto out;
    }
    m->kind = k;
    *is_mig = true;
out:
    free(stem);
    if (!*is_mig) {
        free(m->version);
        free(m->desc);
        memset(m, 0, sizeof(*m));
    }
    return rc;
}

/* Every file below the location sc->root (chlog_fs_walk, the one walker),
 * named by its path below the location. */
static enum tm_code scan(struct scan_ctx *sc, struct tm_err *err)
{
    char **paths = NULL;
    size_t n = 0;
    enum tm_code rc = chlog_fs_walk(sc->ld->fs, sc->root, NULL, &paths, &n, err);
    if (rc != TM_OK)
        return rc;
    size_t rl = strlen(sc->root);
    for (size_t i = 0; i < n && rc == TM_OK; i++) {
        const char *script = paths[i] + (rl ? rl + 1 : 0);
        const char *base = strrchr(paths[i], '/');
        struct mig m;
        bool is_mig = false;
        rc = parse_name(sc, script, base ? base + 1 : paths[i], &m, &is_mig, err);
        if (rc != TM_OK || !is_mig)
            continue;
        m.fspath = strdup(paths[i]);
        m.script = strdup(script);
        struct migs *dst = m.kind == 'U' ? sc->undo : sc->all;
        if (!m.fspath || !m.script || migs_grow(dst) != TM_OK) {
            mig_release(&m);
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            break;
        }
        dst->v[dst->n++] = m;
    }
    chlog_paths_free(paths, n);
    return rc;
}

/* Reads a script: *raw as stored (for the checksum), *text with the BOM cut
 * and placeholders replaced (when enabled for it). */
static enum tm_code read_script(struct chlog_ld *ld, const struct flyway_conf *conf,
                                const struct chlog_props *builtins, const struct mig *m,
                                bool replace, char **raw, size_t *len, char **text,
                                struct tm_err *err)
{
    *text = NULL;
    enum tm_code rc = chlog_ld_read(ld, m->fspath, raw, len, err);
    if (rc != TM_OK)
        return rc;
    const char *s = *raw;
    if (*len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3;
    if (replace)
        return flyway_placeholders_expand(conf, builtins, m->script, s, text, err);
    *text = strdup(s);
    if (!*text)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    return TM_OK;
}

/* `<script>.conf` beside a script (flyway-core SqlScriptMetadata):
 * executeInTransaction and placeholderReplacement.  *tx: -1 unset, 0, 1. */
static enum tm_code script_conf(struct chlog_ld *ld, const struct mig *m, int *tx,
                                bool *replace, struct tm_err *err)
{
    char path[2048];
    *tx = -1;
    snprintf(path, sizeof(path), "%s.conf", m->fspath);
    char *data = NULL;
    size_t len = 0;
    enum tm_code rc = chlog_ld_read_optional(ld, path, &data, &len, err);
    if (rc != TM_OK || !data)
        return rc;
    int line = 0;
    char *next = data, *l;
    while (rc == TM_OK && (l = chlog_cut_line(&next)) != NULL) {
        line++;
        while (*l == ' ' || *l == '\t')
            l++;
        size_t n = strlen(l);
        while (n > 0 && (l[n - 1] == '\r' || l[n - 1] == ' '))
            l[--n] = '\0';
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (eq)
            *eq = '\0';
        bool ok = false;
        bool v = eq ? chlog_parse_bool(eq + 1 + strspn(eq + 1, " "), &ok) : false;
        char *k = l;
        size_t kl = strcspn(k, " ");
        k[kl] = '\0';
        if (ok && strcmp(k, "executeInTransaction") == 0)
            *tx = v;
        else if (ok && strcmp(k, "placeholderReplacement") == 0)
            *replace = v;
        else
            rc = chlog_ld_fail(err, TM_E_PARSE, path, line, 0,
                               "expected executeInTransaction=true|false or "
                               "placeholderReplacement=true|false");
    }
    free(data);
    return rc;
}

/* Decides how a script runs: cs->run_in_transaction and no_tx_below_pg12;
 * refuses a mixed script unless mixed or its .conf says how to run it. */
static enum tm_code decide_tx(const struct flyway_conf *conf, const struct mig *m, int tx_conf,
                              struct chlog_changeset *cs, struct tm_err *err)
{
    const char *text = cs->changes[0].sql;
    char **stmts = NULL;
    size_t n = 0;
    enum tm_code rc = chlog_split_statements(text, NULL, false, &stmts, &n, err);
    if (rc != TM_OK)
        return rc;
    bool any_tx = false, any_no = false, below12 = false;
    const char *cursor = text;
    for (size_t i = 0; i < n && rc == TM_OK; i++) {
        const char *at = strstr(cursor, stmts[i]);
        if (at)
            cursor = at + strlen(stmts[i]);
        enum flyway_tx t = flyway_statement_tx(stmts[i]);
        if (t == FLYWAY_NO_TX)
            any_no = true;
        else
            any_tx = true;
        below12 |= t == FLYWAY_NO_TX_BELOW_PG12;
        if (!conf->mixed && any_tx && any_no && tx_conf < 0) {
            int line = 1;
            for (const char *q = text; at && q < at; q++)
                line += *q == '\n';
            rc = chlog_ld_fail(err, TM_E_INVAL, m->script, line, 0,
                               "Detected both transactional and non-transactional statements "
                               "within the same migration (even though mixed is false): "
                               "%.120s%s (set flyway.mixed=true to run the whole script "
                               "outside a transaction, or split the script)",
                               stmts[i], t == FLYWAY_NO_TX ? " [non-transactional]" : "");
        }
    }
    chlog_statements_free(stmts, n);
    if (rc != TM_OK)
        return rc;
    cs->run_in_transaction = tx_conf >= 0 ? tx_conf == 1 : !any_no;
    cs->no_tx_below_pg12 = tx_conf < 0 && cs->run_in_transaction && below12;
    return TM_OK;
}

static void copy_setting(char *dst, size_t n, const char *v)
{
    snprintf(dst, n, "%s", v ? v : "");
}

/* The first name of a comma list, trimmed, into out. */
static void first_of(const char *list, char *out, size_t n)
{
    out[0] = '\0';
    if (!list)
        return;
    list += strspn(list, " ");
    size_t l = strcspn(list, ",");
    while (l > 0 && list[l - 1] == ' ')
        l--;
    snprintf(out, n, "%.*s", (int)l, list);
}

/* Built-in placeholders known while loading, plus the caller's plain
 * properties (a `--property NAME=VALUE` is a placeholder too). */
static enum tm_code builtins_init(const struct chlog_ld *ld, const struct chlog *c,
                                  struct chlog_props *b, struct tm_err *err)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tmv;
    localtime_r(&now, &tmv);
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tmv);
    chlog_props_init(b);
    enum tm_code rc =
        chlog_props_set(b, "flyway:defaultSchema", c->flyway_schema[0] ? c->flyway_schema : "public", err);
    if (rc == TM_OK)
        rc = chlog_props_set(b, "flyway:table", c->flyway_table, err);
    if (rc == TM_OK)
        rc = chlog_props_set(b, "flyway:timestamp", ts, err);
    for (size_t i = 0; i < ld->props.n && rc == TM_OK; i++) {
        const char *name = ld->props.items[i].name;
        if (strncmp(name, "flyway.", 7) != 0 && strncmp(name, "spring.flyway.", 14) != 0)
            rc = chlog_props_set(b, name, ld->props.items[i].value, err);
    }
    return rc;
}

/* The locations to scan (clean fs paths), or dir alone. */
static enum tm_code locations_of(const struct flyway_conf *conf, const char *dir, char ***out,
                                 size_t *n, struct tm_err *err)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = conf->locations; p && *p; p++)
        cap += *p == ',';
    char **v = calloc(cap, sizeof(*v));
    if (!v)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    enum tm_code rc = TM_OK;
    if (!conf->locations || !*conf->locations) {
        v[0] = strdup(dir);
        *n = 1;
        if (!v[0])
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
    } else {
        const char *p = conf->locations;
        while (*p && rc == TM_OK) {
            p += strspn(p, " ,");
            size_t l = strcspn(p, ",");
            char one[1024];
            snprintf(one, sizeof(one), "%.*s", (int)l, p);
            p += l;
            char *s = one;
            size_t sl = strlen(s);
            while (sl > 0 && s[sl - 1] == ' ')
                s[--sl] = '\0';
            if (!*s)
                continue;
            if (strncmp(s, "classpath:", 10) == 0)
                s += 10;
            else if (strncmp(s, "filesystem:", 11) == 0)
                s += 11;
            else if (strchr(s, ':'))
                rc = tm_err_set(err, TM_E_INVAL,
                                "flyway.locations \"%s\": only classpath: and filesystem: "
                                "folders inside the changelog's root are supported",
                                one);
            while (rc == TM_OK && *s == '/')
                s++;
            if (rc == TM_OK)
                rc = chlog_path_clean(s, &v[*n], err);
            if (rc == TM_OK)
                (*n)++;
        }
    }
    if (rc != TM_OK) {
        for (size_t i = 0; i < *n; i++)
            free(v[i]);
        free(v);
        *n = 0;
        return rc;
    }
    *out = v;
    return TM_OK;
}

/* Refuses what Flyway refuses once the locations are scanned: invalid
 * names (validateMigrationNaming), no migration at all, two migrations with
 * one version (or repeatables with one description), an undo migration
 * without its versioned one or twice.  Sorts all by version. */
static enum tm_code check_migrations(const struct flyway_conf *conf, const char *dir,
                                     struct migs *all, const struct migs *undo,
                                     const struct tm_buf *invalid, struct tm_err *err)
{
    if (conf->validate_naming && tm_buf_str(invalid)[0])
        return tm_err_set(err, TM_E_INVAL,
                          "%s: invalid SQL filenames found (validateMigrationNaming): %s", dir,
                          tm_buf_str(invalid));
    if (all->n == 0)
        return tm_err_set(err, TM_E_INVAL,
                          "%s: folder holds no Flyway migrations (%s<version>%s<description>%s "
                          "or %s%s<description>%s; set flyway.sqlMigrationPrefix, "
                          "flyway.sqlMigrationSuffixes or flyway.locations if the project uses "
                          "others)",
                          dir, conf->prefix, conf->separator, conf->suffixes,
                          conf->repeatable_prefix, conf->separator, conf->suffixes);
    qsort(all->v, all->n, sizeof(*all->v), cmp_mig);
    for (size_t i = 1; i < all->n; i++) {
        const struct mig *m = &all->v[i], *prev = &all->v[i - 1];
        if (cmp_mig(prev, m) != 0)
            continue;
        return m->kind == 'V'
                   ? tm_err_set(err, TM_E_INVAL,
                                "%s: found more than one migration with version %s (also %s)",
                                m->script, m->version, prev->script)
                   : tm_err_set(err, TM_E_INVAL,
                                "%s: found more than one repeatable migration with "
                                "description '%s' (also %s)",
                                m->script, m->desc, prev->script);
    }
    for (size_t u = 0; u < undo->n; u++) {
        size_t matches = 0;
        for (size_t i = 0; i < all->n; i++)
            matches += all->v[i].kind == 'V' && vcmp(all->v[i].version, undo->v[u].version) == 0;
        for (size_t k = 0; k < u; k++)
            if (vcmp(undo->v[k].version, undo->v[u].version) == 0)
                return tm_err_set(err, TM_E_INVAL,
                                  "%s: more than one undo migration for version %s",
                                  undo->v[u].script, undo->v[u].version);
        if (matches == 0)
            return tm_err_set(err, TM_E_INVAL,
                              "%s: undo migration for version %s has no %s%s%s file",
                              undo->v[u].script, undo->v[u].version, conf->prefix,
                              undo->v[u].version, conf->separator);
    }
    return TM_OK;
}

/* One migration as a changeset: its script (placeholders replaced unless
 * its .conf or the settings say not), Flyway checksum, transaction mode,
 * and for a versioned one its tag and undo script as rollback. */
static enum tm_code add_migration(struct chlog_ld *ld, const struct flyway_conf *conf,
                                  struct chlog_props *builtins, const struct mig *m,
                                  const struct migs *undo, struct tm_err *err)
{
    struct chlog_changeset *cs = chlog_ld_add_set(ld);
    if (!cs)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    cs->id = strdup(m->kind == 'V' ? m->version : m->desc);
    cs->author = strdup("flyway");
    cs->filename = strdup(m->script);
    cs->path = strdup(m->fspath);
    cs->description = strdup(m->desc);
    cs->line = 1;
    struct chlog_change *ch = chlog_set_add_change(cs);
    if (!cs->id || !cs->author || !cs->filename || !cs->path || !cs->description || !ch)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    ch->kind = CHLOG_CHANGE_SQL;
    ch->line = 1;
    int tx_conf = -1;
    bool replace = conf->placeholder_replacement;
    enum tm_code rc = script_conf(ld, m, &tx_conf, &replace, err);
    if (rc != TM_OK)
        return rc;
    const char *base = strrchr(m->script, '/');
    rc = chlog_props_set(builtins, "flyway:filename", base ? base + 1 : m->script, err);
    if (rc != TM_OK)
        return rc;
    char *raw = NULL;
    size_t len = 0;
    rc = read_script(ld, conf, builtins, m, replace, &raw, &len, &ch->sql, err);
    if (rc == TM_OK)
        snprintf(cs->checksum, sizeof(cs->checksum), "%d", chlog_checksum_flyway(raw, len));
    free(raw);
    if (rc == TM_OK)
        rc = decide_tx(conf, m, tx_conf, cs, err);
    if (rc != TM_OK)
        return rc;
    if (m->kind == 'R') {
        cs->run_on_change = true;
        return TM_OK;
    }
    cs->version = strdup(m->version);
    cs->own_tag = strdup(m->version);
    if (!cs->version || !cs->own_tag)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    cs->tag = cs->own_tag;
    for (size_t u = 0; u < undo->n; u++) {
        if (vcmp(undo->v[u].version, m->version) != 0)
            continue;
        raw = NULL;
        rc = read_script(ld, conf, builtins, &undo->v[u], replace, &raw, &len,
                         &cs->rollback_sql, err);
        free(raw);
        if (rc != TM_OK)
            return rc;
        cs->has_rollback = true;
    }
    return TM_OK;
}

enum tm_code chlog_flyway_parse(struct chlog_ld *ld, const char *dir, struct tm_err *err)
{
    struct migs all = {0}, undo = {0};
    struct flyway_conf conf;
    struct chlog_props builtins;
    char **locs = NULL;
    size_t nlocs = 0;
    struct scan_ctx sc = {.ld = ld, .conf = &conf, .all = &all, .undo = &undo};
    tm_buf_init(&sc.invalid, TM_CAP_SMALL);
    chlog_props_init(&builtins);
    enum tm_code rc = flyway_conf_load(ld, dir, &conf, err);
    if (rc != TM_OK)
        goto out;
    struct chlog *c = ld->c;
    copy_setting(c->flyway_table, sizeof(c->flyway_table), conf.table);
    copy_setting(c->flyway_schemas, sizeof(c->flyway_schemas), conf.schemas);
    copy_setting(c->flyway_installed_by, sizeof(c->flyway_installed_by), conf.installed_by);
    if (conf.default_schema)
        copy_setting(c->flyway_schema, sizeof(c->flyway_schema), conf.default_schema);
    else
        first_of(conf.schemas, c->flyway_schema, sizeof(c->flyway_schema));
    rc = builtins_init(ld, c, &builtins, err);
    if (rc == TM_OK)
        rc = locations_of(&conf, dir, &locs, &nlocs, err);
    for (size_t i = 0; i < nlocs && rc == TM_OK; i++) {
        sc.root = locs[i];
        rc = scan(&sc, err);
    }
    if (rc == TM_OK)
        rc = check_migrations(&conf, dir, &all, &undo, &sc.invalid, err);
    for (size_t i = 0; i < all.n && rc == TM_OK; i++)
        rc = add_migration(ld, &conf, &builtins, &all.v[i], &undo, err);
out:
    for (size_t i = 0; i < nlocs; i++)
        free(locs[i]);
    free(locs);
    tm_buf_release(&sc.invalid);
    chlog_props_release(&builtins);
    flyway_conf_release(&conf);
    migs_free(&all);
    migs_free(&undo);
    return rc;
}
