/* chlog change: Liquibase's structured change types (createTable, addColumn,
 * insert, loadData, ...) compiled for PostgreSQL.
 *
 * A structured change arrives as a node (node.h) named after its type, its
 * attributes and nested elements as children, ${} already expanded.  Compiling
 * it yields what Liquibase 4.33 would produce for PostgreSQL:
 *   - the SQL its generators emit (type mapping, defaults, generated names);
 *   - the v9 checksum of its serialisation;
 *   - its automatic rollback, when Liquibase derives one.
 * The engine then runs ch->sql like any other SQL change. */
#ifndef TM_CHANGELOG_CHANGE_H
#define TM_CHANGELOG_CHANGE_H

#include <stdbool.h>

#include "changelog/chlog.h"
#include "changelog/node.h"
#include "common/err.h"

struct chlog_ld;

struct chlog_change_env {
    struct chlog_ld *ld; /* reads files (loadData CSV) under the load's caps */
    const char *path;    /* fs path of the changelog file holding the change */
};

/* True when type is a structured change type that chlog_change_compile() knows. */
bool chlog_change_is_structured(const char *type);

/* Compiles node into ch (zeroed by the caller except split_statements/line):
 * kind = CHLOG_CHANGE_STRUCT, type, sql (statements separated by ";\n", run in
 * order), checksum_v9, rollback_auto (NULL when Liquibase derives none).
 * An unknown attribute or nested element, a missing required attribute or a
 * bad value is TM_E_INVAL with "file:line: ..." naming it. */
enum tm_code chlog_change_compile(const struct chlog_change_env *env, const struct chlog_node *node,
                                  struct chlog_change *ch, struct tm_err *err) TM_MUST_CHECK;

#endif
