/* Fuzz target: Liquibase YAML changelogs (controller/changelog/yaml.c)
 * through chlog_load on a mem fs.  The input is changelog.yaml; a few other
 * files exist so that include, includeAll and sqlFile paths can resolve.
 * Checks invariants on success (identity fields set, checksums present, tags
 * point at their changeset's memory) and that a failure has a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"

static const char *const files[][2] = {
    {"inc/a.yaml", "databaseChangeLog:\n- changeSet: {id: a, author: x, changes: [{sql: SELECT 1}]}\n"},
    {"inc/b.sql", "--liquibase formatted sql\n--changeset y:b\nSELECT 2;\n--tag vb\n"},
    {"sql/one.sql", "SELECT ${p};\n"},
    {"loop.yaml", "databaseChangeLog:\n- include: {file: changelog.yaml}\n"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chlog_fs fs;
    if (chlog_fs_mem_init(&fs) != TM_OK)
        return 0;
    struct tm_err err;
    if (chlog_fs_mem_add(&fs, "changelog.yaml", (const char *)data, size, &err) != TM_OK)
        goto out;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (chlog_fs_mem_add(&fs, files[i][0], files[i][1], strlen(files[i][1]), &err) != TM_OK)
            goto out;
    struct chlog *c = NULL;
    if (chlog_load(&fs, "changelog.yaml", NULL, &c, &err) == TM_OK) {
        for (size_t i = 0; i < c->nsets; i++) {
            const struct chlog_changeset *cs = &c->sets[i];
            if (!cs->id[0] || !cs->author[0] || !cs->filename ||
                strncmp(cs->checksum, "9:", 2) != 0)
                abort();
            if (cs->tag && cs->tag != cs->own_tag) {
                int found = 0;
                for (size_t k = 0; k < cs->nchanges; k++)
                    found |= cs->changes[k].tag == cs->tag;
                if (!found)
                    abort();
            }
        }
        chlog_free(c);
    } else if (err.msg[0] == '\0' || c != NULL) {
        abort();
    }
out:
    chlog_fs_mem_release(&fs);
    return 0;
}
