/* Fuzz target: Liquibase formatted SQL changelogs (controller/changelog/
 * sqlfmt.c) through chlog_load on a mem fs.  The input is c.sql; a second
 * file is present so that nothing else is read.  Checks the model's
 * invariants on success: every changeset has an id, an author, a filename,
 * one SQL change and a v9 checksum; a tag is findable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chlog_fs fs;
    if (chlog_fs_mem_init(&fs) != TM_OK)
        return 0;
    struct tm_err err;
    struct chlog_props props;
    chlog_props_init(&props);
    if (chlog_props_set(&props, "schema", "public", &err) != TM_OK ||
        chlog_fs_mem_add(&fs, "c.sql", (const char *)data, size, &err) != TM_OK ||
        chlog_fs_mem_add(&fs, "other.sql", "SELECT 1;", 9, &err) != TM_OK)
        goto out;
    struct chlog *c = NULL;
    if (chlog_load(&fs, "c.sql", &props, &c, &err) == TM_OK) {
        for (size_t i = 0; i < c->nsets; i++) {
            const struct chlog_changeset *cs = &c->sets[i];
            if (!cs->id[0] || !cs->author[0] || !cs->filename || cs->nchanges != 1 ||
                !cs->changes[0].sql || strncmp(cs->checksum, "9:", 2) != 0 ||
                strlen(cs->checksum) != 34)
                abort();
            if (cs->has_rollback != (cs->rollback_sql != NULL))
                abort();
            if (cs->tag && chlog_find_tag(c, cs->tag) > (long)i)
                abort();
        }
        chlog_free(c);
    } else if (err.msg[0] == '\0' || c != NULL) {
        abort(); /* a failure always explains itself */
    }
out:
    chlog_props_release(&props);
    chlog_fs_mem_release(&fs);
    return 0;
}
