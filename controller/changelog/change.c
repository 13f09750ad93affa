/* change: the registry of Liquibase's structured change types and the one
 * entry point, chlog_change_compile() (change.h).
 *
 * Dispatch only: DDL types live in change_ddl.c, data changes (insert,
 * update, delete, loadData, loadUpdateData) in change_data.c; both fill
 * ch->sql, ch->rollback_auto and ch->checksum_v9.  Here kind and type are
 * set, and everything is freed again when compiling fails, so the caller
 * never sees a half-built change. */
#include <stdlib.h>
#include <string.h>

#include "changelog/change.h"
#include "changelog/change_int.h"
#include "changelog/chlog_int.h"

bool chlog_change_is_structured(const char *type)
{
    return type && (chlog_change_ddl_handles(type) || chlog_change_data_handles(type));
}

enum tm_code chlog_change_compile(const struct chlog_change_env *env, const struct chlog_node *node,
                                  struct chlog_change *ch, struct tm_err *err)
{
    if (!chlog_change_is_structured(node->name))
        return chlog_ld_fail(err, TM_E_INVAL, node->file, node->line, 0,
                             "unknown change type '%s'", node->name);
    ch->kind = CHLOG_CHANGE_STRUCT;
    ch->type = strdup(node->name);
    if (!ch->type)
        return chlog_ld_fail(err, TM_E_NOMEM, node->file, node->line, 0, "out of memory");
    enum tm_code rc = chlog_change_ddl_handles(node->name)
                          ? chlog_change_ddl_compile(env, node, ch, err)
                          : chlog_change_data_compile(env, node, ch, err);
    if (rc != TM_OK) {
        free(ch->sql);
        free(ch->rollback_auto);
        free(ch->type);
        ch->sql = ch->rollback_auto = ch->type = NULL;
        ch->checksum_v9[0] = '\0';
    }
    return rc;
}
