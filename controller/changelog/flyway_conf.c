/* flyway_conf: Flyway's settings for a migrations folder, and Flyway's
 * placeholder replacement.
 *
 * Sources, later wins key by key: Flyway's defaults; `flyway.conf` (Java
 * properties: `flyway.key=value`) and `flyway.toml` (`[flyway]` with
 * `key = "value"` / `["a", "b"]` / true, and `[flyway.placeholders]`) in the
 * fs root, then in the migrations folder; then the caller's properties named
 * `flyway.key` or `spring.flyway.key` (CLI --property / --flyway-*, DBSchema
 * spec.flyway).  Keys are Flyway's camelCase names; Spring Boot's kebab-case
 * (sql-migration-prefix) reads the same.  Settings that tidemark does not
 * implement are refused by name rather than ignored, except those that
 * change nothing on a fresh apply (listed in ignored[]).
 * Placeholders follow flyway-core PlaceholderReplacingReader (13.12.2): after
 * the prefix, everything up to the next suffix is the name; names match
 * case-insensitively; an unknown name is an error; an empty value removes
 * the placeholder.  Flyway checksums the file before replacement (verified
 * against Flyway 13.12.2), so replacement never changes a checksum. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/chlog_int.h"
#include "changelog/flyway_int.h"
#include "common/buf.h"
#include "common/caps.h"

/* Settings accepted and without effect on what tidemark loads or writes
 * (they steer Flyway commands or JVM-only features tidemark does not have,
 * or only matter on a non-empty database without history; see the README). */
static const char *const ignored[] = {
    "url", "user", "password", "driver", "connectRetries", "connectRetriesInterval",
    "initSql", "outOfOrder", "ignoreMigrationPatterns", "baselineOnMigrate",
    "baselineVersion", "baselineDescription", "cleanDisabled", "cleanOnValidationError",
    "validateOnMigrate", "group", "createSchemas", "encoding", "target", "postgresql.transactional.lock",
    "enabled", "failOnMissingLocations", "lockRetryCount", "skipDefaultCallbacks",
    "skipDefaultResolvers", "detectEncoding", "connectTimeout", "callbacks", "resolvers",
    "loggers", "outputQueryResults", "skipExecutingMigrations",
};

static enum tm_code set_str(char **dst, const char *v, struct tm_err *err)
{
    char *n = strdup(v);
    if (!n)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    free(*dst);
    *dst = n;
    return TM_OK;
}

static enum tm_code set_bool(bool *dst, const char *name, const char *v, const char *from,
                             struct tm_err *err)
{
    bool ok = false;
    bool b = chlog_parse_bool(v, &ok);
    if (!ok)
        return tm_err_set(err, TM_E_INVAL, "%s: flyway.%s: expected true or false, got \"%s\"",
                          from, name, v);
    *dst = b;
    return TM_OK;
}

/* "sql-migration-prefix" -> "sqlMigrationPrefix" (into out). */
static void camel(const char *in, char *out, size_t n)
{
    size_t k = 0;
    bool up = false;
    for (; *in && k + 1 < n; in++) {
        if (*in == '-') {
            up = true;
            continue;
        }
        out[k++] = up ? (char)toupper((unsigned char)*in) : *in;
        up = false;
    }
    out[k] = '\0';
}

/* The settings tidemark implements, in the order messages list them: where
 * each is kept in struct flyway_conf and what value it takes. */
enum setting_kind {
    SETTING_TEXT,          /* any text, "" too */
    SETTING_NONEMPTY_TEXT, /* refused when empty */
    SETTING_BOOL,          /* true or false */
    SETTING_TABLE,         /* a table name without a schema */
};

struct setting {
    const char *key;
    enum setting_kind kind;
    size_t field; /* offset of the char * or bool in struct flyway_conf */
};

#define SETTING(key, kind, field) {key, SETTING_##kind, offsetof(struct flyway_conf, field)}
static const struct setting settings[] = {
    SETTING("sqlMigrationPrefix", TEXT, prefix),
    SETTING("repeatableSqlMigrationPrefix", TEXT, repeatable_prefix),
    SETTING("undoSqlMigrationPrefix", TEXT, undo_prefix),
    SETTING("sqlMigrationSeparator", NONEMPTY_TEXT, separator),
    SETTING("sqlMigrationSuffixes", NONEMPTY_TEXT, suffixes),
    SETTING("placeholderReplacement", BOOL, placeholder_replacement),
    SETTING("placeholderPrefix", NONEMPTY_TEXT, placeholder_prefix),
    SETTING("placeholderSuffix", NONEMPTY_TEXT, placeholder_suffix),
    SETTING("table", TABLE, table),
    SETTING("defaultSchema", TEXT, default_schema),
    SETTING("schemas", TEXT, schemas),
    SETTING("locations", TEXT, locations),
    SETTING("installedBy", TEXT, installed_by),
    SETTING("mixed", BOOL, mixed),
    SETTING("validateMigrationNaming", BOOL, validate_naming),
};
#undef SETTING

static enum tm_code apply_setting(struct flyway_conf *c, const struct setting *st,
                                  const char *value, const char *from, struct tm_err *err)
{
    void *field = (char *)c + st->field;
    if (st->kind == SETTING_BOOL)
        return set_bool(field, st->key, value, from, err);
    if (st->kind == SETTING_NONEMPTY_TEXT && !*value)
        return tm_err_set(err, TM_E_INVAL, "%s: flyway.%s is empty", from, st->key);
    if (st->kind == SETTING_TABLE && (!*value || strchr(value, '.')))
        return tm_err_set(err, TM_E_INVAL,
                          "%s: flyway.table \"%s\": a table name without schema (set the "
                          "schema with flyway.defaultSchema)",
                          from, value);
    return set_str(field, value, err);
}

/* "flyway.x: a Flyway setting tidemark does not support (supported: ...)",
 * the list from settings[] with placeholders.* after placeholderSuffix. */
static enum tm_code unsupported(const char *key, const char *from, struct tm_err *err)
{
    struct tm_buf names;
    tm_buf_init(&names, TM_CAP_SMALL);
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < sizeof settings / sizeof settings[0] && rc == TM_OK; i++) {
        rc = tm_buf_addf(&names, "%s%s", i ? ", " : "", settings[i].key);
        if (rc == TM_OK && strcmp(settings[i].key, "placeholderSuffix") == 0)
            rc = tm_buf_adds(&names, ", placeholders.*");
    }
    rc = tm_err_set(err, TM_E_INVAL,
                    "%s: flyway.%s: a Flyway setting tidemark does not support (supported: %s)",
                    from, key, tm_buf_str(&names));
    tm_buf_release(&names);
    return rc;
}

enum tm_code flyway_conf_set(struct flyway_conf *c, const char *name, const char *value,
                             const char *from, struct tm_err *err)
{
    char key[128];
    if (strncmp(name, "placeholders.", 13) == 0) {
        if (!name[13])
            return tm_err_set(err, TM_E_INVAL, "%s: flyway.placeholders.: empty name", from);
        return chlog_props_set(&c->placeholders, name + 13, value, err);
    }
    camel(name, key, sizeof(key));
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (strcmp(key, settings[i].key) == 0)
            return apply_setting(c, &settings[i], value, from, err);
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        if (strcmp(key, ignored[i]) == 0)
            return TM_OK;
    return unsupported(key, from, err);
}

/* The setting name of a property, or NULL when it is not a Flyway one. */
static const char *setting_name(const char *prop)
{
    if (strncmp(prop, "spring.flyway.", 14) == 0)
        return prop + 14;
    if (strncmp(prop, "flyway.", 7) == 0)
        return prop + 7;
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\f')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\f'))
        s[--n] = '\0';
    return s;
}

/* flyway.conf: Java properties, one key per line (no escapes other than a
 * trailing '\' joining the next line). */
static enum tm_code parse_conf(struct flyway_conf *c, const char *path, char *text,
                               struct tm_err *err)
{
    int line = 0;
    char *next = text, *p;
    while ((p = chlog_cut_line(&next)) != NULL) {
        line++;
        /* join continuation lines in place */
        size_t l = strlen(p);
        while (l > 0 && p[l - 1] == '\r')
            p[--l] = '\0';
        while (l > 0 && p[l - 1] == '\\' && *next) {
            p[--l] = '\0';
            char *cont = trim(chlog_cut_line(&next));
            memmove(p + l, cont, strlen(cont) + 1);
            l = strlen(p);
            line++;
        }
        char *s = trim(p);
        if (*s && *s != '#' && *s != '!') {
            size_t kl = strcspn(s, "=:");
            if (!s[kl])
                return chlog_ld_fail(err, TM_E_PARSE, path, line, 0,
                                     "expected flyway.key=value, got \"%s\"", s);
            s[kl] = '\0';
            char *k = trim(s), *v = trim(s + kl + 1);
            const char *name = setting_name(k);
            if (!name)
                return chlog_ld_fail(err, TM_E_PARSE, path, line, 0,
                                     "\"%s\": a Flyway setting starts with \"flyway.\"", k);
            char from[1040];
            snprintf(from, sizeof(from), "%.1000s:%d", path, line);
            enum tm_code rc = flyway_conf_set(c, name, v, from, err);
            if (rc != TM_OK)
                return rc;
        }
    }
    return TM_OK;
}

/* A TOML value: "basic", 'literal', [ "a", "b" ] (joined by ','), or bare. */
static enum tm_code toml_value(char *v, char **out)
{
    *out = NULL;
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    bool array = *v == '[';
    if (array)
        v++;
    enum tm_code rc = TM_OK;
    bool first = true;
    for (;;) {
        while (*v == ' ' || *v == '\t' || (array && *v == ','))
            v++;
        if (!*v || *v == '#' || (array && *v == ']'))
            break;
        if (!first)
            rc = tm_buf_adds(&b, ",");
        first = false;
        if (*v == '"' || *v == '\'') {
            char q = *v++;
            while (*v && *v != q && rc == TM_OK) {
                if (q == '"' && *v == '\\' && v[1]) {
                    char e = v[1] == 'n' ? '\n' : v[1] == 't' ? '\t' : v[1];
                    rc = tm_buf_add(&b, &e, 1);
                    v += 2;
                    continue;
                }
                rc = tm_buf_add(&b, v++, 1);
            }
            if (*v != q)
                rc = TM_E_PARSE;
            else
                v++;
        } else {
            size_t n = strcspn(v, array ? ",]#" : "#");
            char *bare = v;
            v += n;
            char save = *v;
            *v = '\0';
            rc = tm_buf_adds(&b, trim(bare));
            *v = save;
        }
        if (rc != TM_OK || !array)
            break;
    }
    if (rc == TM_OK) {
        *out = tm_buf_detach(&b, NULL);
        if (!*out)
            rc = TM_E_NOMEM;
    }
    tm_buf_release(&b);
    return rc;
}

/* flyway.toml: the [flyway] and [flyway.placeholders] tables; other tables
 * ([environments.*], ...) are left alone. */
static enum tm_code parse_toml(struct flyway_conf *c, const char *path, char *text,
                               struct tm_err *err)
{
    int line = 0;
    int section = 0; /* 0 other, 1 [flyway], 2 [flyway.placeholders] */
    char *next = text, *p;
    while ((p = chlog_cut_line(&next)) != NULL) {
        line++;
        char *s = trim(p);
        if (!*s || *s == '#')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e)
                return chlog_ld_fail(err, TM_E_PARSE, path, line, 0, "unterminated table header");
            *e = '\0';
            char *name = trim(s + 1);
            section = strcmp(name, "flyway") == 0                ? 1
                      : strcmp(name, "flyway.placeholders") == 0 ? 2
                                                                 : 0;
            continue;
        }
        if (section == 0)
            continue;
        size_t kl = strcspn(s, "=");
        if (!s[kl])
            return chlog_ld_fail(err, TM_E_PARSE, path, line, 0, "expected key = value");
        s[kl] = '\0';
        char *k = trim(s), *val = NULL;
        size_t klen = strlen(k);
        if (klen >= 2 && k[0] == '"' && k[klen - 1] == '"') {
            k[klen - 1] = '\0';
            k++;
        }
        enum tm_code rc = toml_value(trim(s + kl + 1), &val);
        if (rc != TM_OK)
            return rc == TM_E_NOMEM
                       ? tm_err_set(err, rc, "out of memory")
                       : chlog_ld_fail(err, TM_E_PARSE, path, line, 0, "unreadable value");
        char from[1040], name[300];
        snprintf(from, sizeof(from), "%.1000s:%d", path, line);
        snprintf(name, sizeof(name), "%s%.200s", section == 2 ? "placeholders." : "", k);
        rc = flyway_conf_set(c, name, val, from, err);
        free(val);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

static enum tm_code read_optional(struct chlog_ld *ld, const char *dir, const char *name,
                                  struct flyway_conf *c, struct tm_err *err)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", name);
    char *data = NULL;
    size_t len = 0;
    enum tm_code rc = chlog_ld_read_optional(ld, path, &data, &len, err);
    if (rc != TM_OK || !data)
        return rc;
    rc = name[7] == 'c' ? parse_conf(c, path, data, err) : parse_toml(c, path, data, err);
    free(data);
    return rc;
}

static enum tm_code defaults(struct flyway_conf *c, struct tm_err *err)
{
    memset(c, 0, sizeof(*c));
    chlog_props_init(&c->placeholders);
    c->placeholder_replacement = true;
    c->prefix = strdup("V");
    c->repeatable_prefix = strdup("R");
    c->undo_prefix = strdup("U");
    c->separator = strdup("__");
    c->suffixes = strdup(".sql");
    c->placeholder_prefix = strdup("${");
    c->placeholder_suffix = strdup("}");
    c->table = strdup("flyway_schema_history");
    if (!c->prefix || !c->repeatable_prefix || !c->undo_prefix || !c->separator ||
        !c->suffixes || !c->placeholder_prefix || !c->placeholder_suffix || !c->table)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    return TM_OK;
}

enum tm_code flyway_conf_load(struct chlog_ld *ld, const char *dir, struct flyway_conf *c,
                              struct tm_err *err)
{
    enum tm_code rc = defaults(c, err);
    const char *dirs[2] = {"", dir};
    for (int d = 0; d < 2 && rc == TM_OK; d++) {
        if (d == 1 && !*dir)
            break;
        rc = read_optional(ld, dirs[d], "flyway.conf", c, err);
        if (rc == TM_OK)
            rc = read_optional(ld, dirs[d], "flyway.toml", c, err);
    }
    for (size_t i = 0; i < ld->props.n && rc == TM_OK; i++) {
        const char *name = setting_name(ld->props.items[i].name);
        if (name)
            rc = flyway_conf_set(c, name, ld->props.items[i].value, "property", err);
    }
    return rc;
}

void flyway_conf_release(struct flyway_conf *c)
{
    if (!c)
        return;
    free(c->prefix);
    free(c->repeatable_prefix);
    free(c->undo_prefix);
    free(c->separator);
    free(c->suffixes);
    free(c->placeholder_prefix);
    free(c->placeholder_suffix);
    free(c->table);
    free(c->default_schema);
    free(c->schemas);
    free(c->locations);
    free(c->installed_by);
    chlog_props_release(&c->placeholders);
    memset(c, 0, sizeof(*c));
}

static const char *lookup(const struct chlog_props *p, const char *name, size_t n)
{
    for (size_t i = 0; p && i < p->n; i++)
        if (strlen(p->items[i].name) == n && strncasecmp(p->items[i].name, name, n) == 0)
            return p->items[i].value;
    return NULL;
}

enum tm_code flyway_placeholders_expand(const struct flyway_conf *c,
                                        const struct chlog_props *builtins,
                                        const char *script, const char *text, char **out,
                                        struct tm_err *err)
{
    *out = NULL;
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
    const char *pre = c->placeholder_prefix, *suf = c->placeholder_suffix;
    size_t pl = strlen(pre), sl = strlen(suf);
    const char *p = text;
    enum tm_code rc = TM_OK;
    while (rc == TM_OK) {
        const char *at = strstr(p, pre);
        if (!at) {
            rc = tm_buf_adds(&b, p);
            break;
        }
        rc = tm_buf_add(&b, p, (size_t)(at - p));
        if (rc != TM_OK)
            break;
        const char *name = at + pl;
        const char *end = strstr(name, suf);
        size_t nl = end ? (size_t)(end - name) : strlen(name);
        const char *v = lookup(&c->placeholders, name, nl);
        if (!v)
            v = lookup(builtins, name, nl);
        if (!v) {
            int line = 1;
            for (const char *q = text; q < at; q++)
                line += *q == '\n';
            bool fw = nl >= 7 && strncasecmp(name, "flyway:", 7) == 0;
            tm_buf_release(&b);
            return tm_err_set(err, TM_E_INVAL,
                              "%s:%d: No value provided for placeholder: %s%.*s%s%s (give it "
                              "with flyway.placeholders.NAME, or set "
                              "flyway.placeholderReplacement=false)",
                              script, line, pre, (int)(nl > 100 ? 100 : nl), name, suf,
                              fw ? "; flyway:user and flyway:database need "
                                   "flyway.placeholders.flyway:user / flyway:database"
                                 : "");
        }
        rc = tm_buf_adds(&b, v);
        p = end ? end + sl : name + nl;
    }
    if (rc == TM_OK) {
        *out = tm_buf_detach(&b, NULL);
        if (!*out)
            rc = TM_E_NOMEM;
    }
    tm_buf_release(&b);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "%s: placeholder replacement: %s", script,
                          rc == TM_E_TOOBIG ? "result too large" : "out of memory");
    return TM_OK;
}
