/* flyway_int: what flyway.c shares with its two helpers inside
 * controller/changelog/ (not part of the module's interface):
 *   flyway_conf.c  Flyway's settings: defaults, then flyway.conf /
 *                  flyway.toml beside the migrations, then the caller's
 *                  `flyway.*` properties (CLI, DBSchema spec.flyway);
 *   flyway_tx.c    which statements must run outside a transaction.
 * Setting names are Flyway's (sqlMigrationPrefix ...); Spring Boot's
 * kebab-case spelling (spring.flyway.sql-migration-prefix) is accepted too. */
#ifndef TM_CHANGELOG_FLYWAY_INT_H
#define TM_CHANGELOG_FLYWAY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "changelog/chlog.h"
#include "common/err.h"

struct chlog_ld;

/* ---- settings -------------------------------------------------------------- */

struct flyway_conf {
    char *prefix;                 /* sqlMigrationPrefix, default "V" (may be "") */
    char *repeatable_prefix;      /* repeatableSqlMigrationPrefix, "R" */
    char *undo_prefix;            /* undoSqlMigrationPrefix, "U" */
    char *separator;              /* sqlMigrationSeparator, "__" */
    char *suffixes;               /* sqlMigrationSuffixes, comma list, ".sql" */
    bool placeholder_replacement; /* placeholderReplacement, true */
    char *placeholder_prefix;     /* placeholderPrefix, "${" */
    char *placeholder_suffix;     /* placeholderSuffix, "}" */
    struct chlog_props placeholders; /* placeholders.NAME (names as written) */
    char *table;                  /* table, "flyway_schema_history" */
    char *default_schema;         /* defaultSchema, NULL = first of schemas */
    char *schemas;                /* schemas, comma list, NULL = none given */
    char *locations;              /* locations, comma list, NULL = the entry folder */
    char *installed_by;           /* installedBy, NULL = the database user */
    bool mixed;                   /* mixed, false */
    bool validate_naming;         /* validateMigrationNaming, false */
};

/* Fills c: defaults, then `flyway.conf` and `flyway.toml` found in the fs
 * root and then in dir (each later one wins key by key), then every property
 * of ld->props whose name is a Flyway setting (`flyway.x`, `spring.flyway.x`).
 * Errors: TM_E_PARSE (file:line of a bad line), TM_E_INVAL (a bad value, an
 * unknown `flyway.` setting name), TM_E_NOMEM.  Release with
 * flyway_conf_release() in every case. */
enum tm_code flyway_conf_load(struct chlog_ld *ld, const char *dir, struct flyway_conf *c,
                              struct tm_err *err) TM_MUST_CHECK;
void flyway_conf_release(struct flyway_conf *c);

/* Applies one setting (name without the `flyway.` prefix, camelCase or
 * kebab-case); `from` names the source in messages. */
enum tm_code flyway_conf_set(struct flyway_conf *c, const char *name, const char *value,
                             const char *from, struct tm_err *err) TM_MUST_CHECK;

/* Flyway's placeholder replacement (PlaceholderReplacingReader): every
 * prefix NAME suffix whose NAME is a placeholder (case-insensitive) is
 * replaced by its value; a NAME that is not one is an error "No value
 * provided for placeholder: ${NAME}".  builtins: the flyway:* values known
 * while loading (flyway:defaultSchema, flyway:table, flyway:filename,
 * flyway:timestamp, and flyway:user / flyway:database when the caller gives
 * them).  *out is malloc'd.  TM_E_INVAL names script:line. */
enum tm_code flyway_placeholders_expand(const struct flyway_conf *c,
                                        const struct chlog_props *builtins,
                                        const char *script, const char *text, char **out,
                                        struct tm_err *err) TM_MUST_CHECK;

/* ---- transactions ------------------------------------------------------------ */

enum flyway_tx {
    FLYWAY_TX = 0,            /* can run in a transaction */
    FLYWAY_NO_TX,             /* PostgreSQL refuses it in a transaction */
    FLYWAY_NO_TX_BELOW_PG12,  /* ALTER TYPE ... ADD VALUE: refused before PostgreSQL 12 */
};

/* Flyway 13's decision for one statement (flyway_tx.c for the rules). */
enum flyway_tx flyway_statement_tx(const char *stmt);

#endif
