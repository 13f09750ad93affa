/* chlog node: building, copying, freeing and reading the format-neutral
 * changelog tree (see node.h for the shapes the readers produce). */
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog_int.h"
#include "changelog/node.h"

struct chlog_node *chlog_node_new(const char *name, const char *value, const char *file,
                                  int line, int col)
{
    struct chlog_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = strdup(name ? name : "");
    n->value = value ? strdup(value) : NULL;
    if (!n->name || (value && !n->value)) {
        chlog_node_free(n);
        return NULL;
    }
    n->file = file;
    n->line = line;
    n->col = col;
    return n;
}

enum tm_code chlog_node_add(struct chlog_node *parent, struct chlog_node *kid)
{
    struct chlog_node **k = chlog_grow(parent->kids, parent->nkids, &parent->alloc, sizeof *k, 4);
    if (!k) {
        chlog_node_free(kid);
        return TM_E_NOMEM;
    }
    parent->kids = k;
    parent->kids[parent->nkids++] = kid;
    return TM_OK;
}

struct chlog_node *chlog_node_add_new(struct chlog_node *parent, const char *name,
                                      const char *value, int line, int col)
{
    struct chlog_node *k = chlog_node_new(name, value, parent->file, line, col);
    if (!k || chlog_node_add(parent, k) != TM_OK)
        return NULL;
    return k;
}

void chlog_node_free(struct chlog_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        chlog_node_free(n->kids[i]);
    free(n->kids);
    free(n->name);
    free(n->value);
    free(n);
}

struct chlog_node *chlog_node_dup(const struct chlog_node *n)
{
    struct chlog_node *c = chlog_node_new(n->name, n->value, n->file, n->line, n->col);
    if (!c)
        return NULL;
    c->style = n->style;
    c->is_list = n->is_list;
    for (size_t i = 0; i < n->nkids; i++) {
        struct chlog_node *k = chlog_node_dup(n->kids[i]);
        if (!k || chlog_node_add(c, k) != TM_OK) {
            chlog_node_free(c);
            return NULL;
        }
    }
    return c;
}

const struct chlog_node *chlog_node_child(const struct chlog_node *n, const char *name)
{
    if (!n)
        return NULL;
    for (size_t i = 0; i < n->nkids; i++)
        if (strcmp(n->kids[i]->name, name) == 0)
            return n->kids[i];
    return NULL;
}

const char *chlog_node_text(const struct chlog_node *n, const char *name)
{
    const struct chlog_node *k = chlog_node_child(n, name);
    return k ? k->value : NULL;
}

enum tm_code chlog_node_each(const struct chlog_node *n, const char *item, const char *wrapper,
                             enum tm_code (*fn)(const struct chlog_node *kid, void *arg),
                             void *arg)
{
    if (!n)
        return TM_OK;
    for (size_t i = 0; i < n->nkids; i++) {
        const struct chlog_node *k = n->kids[i];
        enum tm_code rc = TM_OK;
        if (strcmp(k->name, item) == 0) {
            rc = fn(k, arg);
        } else if (wrapper && strcmp(k->name, wrapper) == 0) {
            for (size_t j = 0; j < k->nkids && rc == TM_OK; j++)
                if (strcmp(k->kids[j]->name, item) == 0)
                    rc = fn(k->kids[j], arg);
        }
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}
