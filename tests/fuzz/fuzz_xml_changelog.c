/* Fuzz target: the Liquibase XML reader (controller/changelog/xml.c),
 * chlog_xml_read on a mem fs holding the input as changelog.xml.  Checks
 * the tree's invariants on success (root databaseChangeLog, every node named
 * and pointing at the file, values never empty after Liquibase's trim for
 * elements) and, on failure, no tree and a "changelog.xml..." message.
 * Every preConditions element found is also given to the precondition
 * compiler (precond.c): it must compile or fail with a message.
 * The reader must never read a file or the network: the input may carry
 * DOCTYPEs, entities and XIncludes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/node.h"
#include "../chlog_ld_fixture.h"

static void check(const struct chlog_node *n, const char *file, int depth)
{
    if (!n->name || n->file != file || depth > 300 || n->line < 0)
        abort();
    for (size_t i = 0; i < n->nkids; i++)
        check(n->kids[i], file, depth + 1);
}

static void compile_preconditions(struct chlog_ld *ld, const struct chlog_node *n, int depth)
{
    if (depth > 300)
        abort();
    if (strcmp(n->name, "preConditions") == 0) {
        struct chlog_precondition *pc = NULL;
        struct tm_err err = {0};
        if (chlog_precond_compile(ld, n, &pc, &err) == TM_OK) {
            if (!pc || pc->kind != CHLOG_PRECOND_AND || !pc->container)
                abort();
            chlog_precond_free(pc);
        } else if (pc != NULL || err.msg[0] == '\0') {
            abort();
        }
    }
    for (size_t i = 0; i < n->nkids; i++)
        compile_preconditions(ld, n->kids[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ld_fix f;
    struct tm_err err = {0};
    if (ld_fix_init(&f) != TM_OK)
        return 0;
    if (chlog_fs_mem_add(&f.fs, "changelog.xml", (const char *)data, size, &err) != TM_OK)
        goto out;
    struct chlog_node *root = NULL;
    if (chlog_xml_read(&f.ld, "changelog.xml", &root, &err) == TM_OK) {
        if (!root || strcmp(root->name, "databaseChangeLog") != 0)
            abort();
        check(root, root->file, 0);
        compile_preconditions(&f.ld, root, 0);
        chlog_node_free(root);
    } else if (root != NULL || strncmp(err.msg, "changelog.xml", 13) != 0) {
        abort();
    }
out:
    ld_fix_release(&f);
    return 0;
}
