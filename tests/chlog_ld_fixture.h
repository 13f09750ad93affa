/* Test helper: a bare chlog load state (struct chlog_ld) over an in-memory
 * file set, for testing the node readers (chlog_xml_read, chlog_yaml_read)
 * and the precondition compiler without a whole chlog_load().
 * Header-only; include after changelog/chlog_int.h.
 *
 *   struct ld_fix f;
 *   ld_fix_init(&f);                       // cannot fail but for memory
 *   ld_fix_add(&f, "c.xml", text, &err);   // copies text
 *   chlog_xml_read(&f.ld, "c.xml", &root, &err);
 *   chlog_node_free(root);                 // before ld_fix_release: nodes
 *   ld_fix_release(&f);                    // point at ld-kept file names */
#ifndef TM_TESTS_CHLOG_LD_FIXTURE_H
#define TM_TESTS_CHLOG_LD_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"

struct ld_fix {
    struct chlog_fs fs;
    struct chlog_ld ld;
};

static inline enum tm_code ld_fix_init(struct ld_fix *f)
{
    memset(f, 0, sizeof(*f));
    enum tm_code rc = chlog_fs_mem_init(&f->fs);
    f->ld.fs = &f->fs;
    chlog_props_init(&f->ld.props);
    return rc;
}

static inline enum tm_code ld_fix_add(struct ld_fix *f, const char *path, const char *data,
                                      struct tm_err *err)
{
    return chlog_fs_mem_add(&f->fs, path, data, strlen(data), err);
}

static inline void ld_fix_release(struct ld_fix *f)
{
    for (size_t i = 0; i < f->ld.nkept; i++)
        free(f->ld.kept[i]);
    free(f->ld.kept);
    chlog_props_release(&f->ld.props);
    chlog_fs_mem_release(&f->fs);
    memset(f, 0, sizeof(*f));
}

#endif
