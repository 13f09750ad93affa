/* chlog node: the format-neutral tree every Liquibase changelog file is read
 * into (Liquibase's ParsedNode), so that one interpreter (lbparse.c) serves
 * XML, YAML and JSON.
 *
 * A node has a name (XML element or attribute name, YAML/JSON key), an
 * optional text value (attribute value, element text, YAML scalar) and
 * ordered children.  The shapes the readers produce:
 *   XML   <changeSet id="1" author="a"><createTable tableName="t">
 *           <column name="id"/></createTable></changeSet>
 *         -> changeSet{ id="1", author="a", createTable{ tableName="t",
 *                                                        column{ name="id" } } }
 *         attributes come first, in document order, then child elements;
 *         an element's text (CDATA included), trimmed as Liquibase's SAX
 *         handler trims it, is its value when not empty.
 *   YAML  - changeSet: {id: 1, changes: [ {createTable: {tableName: t,
 *                        columns: [ {column: {name: id}} ]}} ]}
 *         -> changeSet{ id="1", changes{ createTable{ tableName="t",
 *                                        columns{ column{ name="id" } } } } }
 *         a mapping key is a child; a list of one-key mappings gives one child
 *         per item, named by its key; a list of scalars gives children named
 *         "" with those values; a scalar value is the node's value.
 * Readers of the tree therefore accept a collection either directly
 * (XML: column) or wrapped (YAML: columns/column) - see chlog_node_each().
 *
 * Ownership: a node owns its name, value and children; chlog_node_free()
 * frees the subtree.  Every node records the file (borrowed: the loader
 * keeps file names alive for the whole load) and the 1-based line/col it
 * was read from, for errors. */
#ifndef TM_CHANGELOG_NODE_H
#define TM_CHANGELOG_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* How a YAML scalar was written: SnakeYAML types plain scalars (1.10 is the
 * number 1.1), so identity fields read from YAML need the plain/quoted bit. */
enum chlog_node_style {
    CHLOG_NODE_TEXT = 0, /* XML text or attribute, quoted YAML/JSON scalar */
    CHLOG_NODE_PLAIN,    /* plain YAML scalar (may be typed: number, bool, null) */
};

struct chlog_node {
    char *name;          /* "" for a list item without a key */
    char *value;         /* NULL when the node has no text (a mapping, a null) */
    enum chlog_node_style style;
    bool is_list;        /* came from a YAML sequence (children are its items) */
    struct chlog_node **kids;
    size_t nkids;
    size_t alloc;
    const char *file;    /* borrowed, see above */
    int line, col;
};

/* A new node (name copied, value copied when not NULL); NULL on allocation
 * failure. */
struct chlog_node *chlog_node_new(const char *name, const char *value, const char *file,
                                  int line, int col);
/* Appends kid to parent (parent takes ownership).  TM_E_NOMEM on failure,
 * kid is then freed. */
enum tm_code chlog_node_add(struct chlog_node *parent, struct chlog_node *kid) TM_MUST_CHECK;
/* A new child appended to parent; NULL on allocation failure. */
struct chlog_node *chlog_node_add_new(struct chlog_node *parent, const char *name,
                                      const char *value, int line, int col);
/* Frees the subtree. NULL ok. */
void chlog_node_free(struct chlog_node *n);
/* Deep copy; NULL on allocation failure. */
struct chlog_node *chlog_node_dup(const struct chlog_node *n);

/* The first direct child named name, or NULL. */
const struct chlog_node *chlog_node_child(const struct chlog_node *n, const char *name);
/* The value of the first direct child named name, or NULL (also when that
 * child has no value). */
const char *chlog_node_text(const struct chlog_node *n, const char *name);

/* Calls fn for every node named item that is a direct child of n, or a
 * child of a direct child named wrapper (XML <column> or YAML
 * columns: [column: ...]); stops at the first non-TM_OK return and returns
 * it.  wrapper may be NULL. */
enum tm_code chlog_node_each(const struct chlog_node *n, const char *item, const char *wrapper,
                             enum tm_code (*fn)(const struct chlog_node *kid, void *arg),
                             void *arg) TM_MUST_CHECK;

#endif
