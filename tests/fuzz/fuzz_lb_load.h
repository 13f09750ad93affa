/* fuzz_lb_load: the shared body of the Liquibase YAML and JSON fuzz targets.
 * The input is the entry file of a changelog on a mem fs, with a few other
 * files so that include, includeAll and sqlFile paths can resolve; both go
 * through yaml.c (JSON is read with the YAML loader, as Liquibase does) and
 * lbparse.c.  Checks invariants on success (identity fields set, checksums
 * present, tags point at their changeset's memory) and that a failure has a
 * message. */
#ifndef TM_FUZZ_LB_LOAD_H
#define TM_FUZZ_LB_LOAD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"

static const char *const files[][2] = {
    {"inc/a.yaml", "databaseChangeLog:\n- changeSet: {id: a, author: x, changes: [{sql: SELECT 1}]}\n"},
    {"inc/b.sql", "--liquibase formatted sql\n--changeset y:b\nSELECT 2;\n--tag vb\n"},
    {"sql/one.sql", "SELECT ${p};\n"},
    {"loop.yaml", "databaseChangeLog:\n- include: {file: changelog.yaml}\n"},
    {"x/c.xml", "<databaseChangeLog><changeSet id=\"x\" author=\"y\"><sql>SELECT 3</sql>"
                "</changeSet></databaseChangeLog>"},
};

static int fuzz_lb_load(const uint8_t *data, size_t size, const char *entry)
{
    struct chlog_fs fs;
    if (chlog_fs_mem_init(&fs) != TM_OK)
        return 0;
    struct tm_err err;
    if (chlog_fs_mem_add(&fs, entry, (const char *)data, size, &err) != TM_OK)
        goto out;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (chlog_fs_mem_add(&fs, files[i][0], files[i][1], strlen(files[i][1]), &err) != TM_OK)
            goto out;
    struct chlog *c = NULL;
    if (chlog_load(&fs, entry, NULL, &c, &err) == TM_OK) {
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

#endif
