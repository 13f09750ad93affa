/* Fuzz target: context and label selection (engine/select.c) on arbitrary
 * bytes.  The input is up to six '\n'-separated fields: the run's contexts,
 * the label filter, the changeset's context, its labels, and two include
 * levels (used as both contexts and labels).  Nothing may crash, read out of
 * bounds or leak; every call either succeeds or fails with a message; a
 * rejected changeset never becomes accepted by adding no filter at all. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/select.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4 * SELECT_MAX_EXPR)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *f[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    char *p = text;
    for (int i = 0; i < 6 && p; i++) {
        f[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    const char *inh[2] = {f[4] ? f[4] : "", f[5] ? f[5] : ""};
    struct tm_err err;
    tm_err_clear(&err);
    bool ok = false;
    char *a = NULL, *b = NULL;
    if (select_contexts_accept(f[0], f[2], inh, 2, &ok, &err) != TM_OK && !err.msg[0])
        abort();
    if (select_labels_accept(f[1], f[3], inh, 2, &ok, &err) != TM_OK && !err.msg[0])
        abort();
    if (select_full_context(f[2], inh, 2, &a, &err) == TM_OK)
        free(a);
    if (select_full_labels(f[3], inh, 2, &b, &err) == TM_OK)
        free(b);
    const char *items[3] = {f[0] ? f[0] : "", f[3] ? f[3] : "", f[5] ? f[5] : ""};
    if (f[1] && select_expression_matches(f[1], items, 3, &ok, &err) != TM_OK && !err.msg[0])
        abort();
    /* through the model: merged strings as the loader writes them */
    struct chlog_changeset cs;
    memset(&cs, 0, sizeof(cs));
    cs.contexts = (char *)f[2];
    cs.labels = (char *)f[3];
    struct select_run run = {f[0], f[1]};
    char *c = NULL, *l = NULL;
    if (select_changeset(&run, &cs, &ok, &err) != TM_OK && !err.msg[0])
        abort();
    if (select_history_columns(&cs, &c, &l, &err) == TM_OK) {
        free(c);
        free(l);
    }
    free(text);
    return 0;
}
