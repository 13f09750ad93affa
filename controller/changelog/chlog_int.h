/* chlog_int: what the changelog parsers share inside controller/changelog/.
 *
 * Not part of the module's interface (include chlog.h elsewhere).  A load
 * runs with one struct chlog_ld: it owns the changelog being built, the
 * property map, the byte total read so far (TM_CAP_CHANGELOG_TOTAL) and the
 * stack of files being parsed (to refuse include cycles).  Parsers append
 * changesets with chlog_ld_add_set(); chlog_load() computes checksums and
 * validates identities once everything is parsed.  Errors are written as
 * "file:line[:col]: message" through chlog_ld_fail(). */
#ifndef TM_CHANGELOG_CHLOG_INT_H
#define TM_CHANGELOG_CHLOG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "changelog/chlog.h"
#include "common/err.h"

#define CHLOG_MAX_DEPTH 32      /* include nesting */
#define CHLOG_MAX_SETS 100000   /* changesets in one changelog */

struct chlog_ld {
    const struct chlog_fs *fs;
    struct chlog *c;
    struct chlog_props props;
    size_t total;                       /* bytes read, all files */
    const char *stack[CHLOG_MAX_DEPTH]; /* paths being parsed (borrowed) */
    int depth;
    /* Text produced by parsing (expanded values), capped at
     * TM_CAP_CHANGELOG_TOTAL so that YAML aliases or ${} properties cannot
     * multiply a small input into gigabytes.  Passing a cap makes the
     * producing call fail like an allocation; chlog_load() then reports
     * TM_E_TOOBIG instead of TM_E_NOMEM. */
    size_t produced;
    bool over_cap;
    /* Strings that live until the load ends (file paths nodes point at). */
    char **kept;
    size_t nkept;
    /* Column types declared so far by createTable/addColumn, in order:
     * "table.column" (lowercase) then the type as written, ${} expanded;
     * appended without a search (a lookup, rare, takes the last one). */
    char **coltypes;
    size_t ncoltypes, acoltypes;
};

/* Records a column's type (createTable/addColumn); TM_E_NOMEM only. */
enum tm_code chlog_ld_note_column(struct chlog_ld *ld, const char *table, const char *column,
                                  const char *type) TM_MUST_CHECK;
/* The type recorded for table.column, or NULL. */
const char *chlog_ld_column_type(const struct chlog_ld *ld, const char *table, const char *column);

/* Adds "file:line: <fmt>" to the changelog's warnings (what Liquibase
 * tolerates and tidemark reports instead of ignoring).  TM_E_NOMEM only. */
enum tm_code chlog_ld_warn(struct chlog_ld *ld, const char *file, int line, const char *fmt, ...)
    TM_PRINTF(4, 5);

/* A copy of s owned by ld until the load ends (interned: the same text gives
 * the same pointer); NULL on allocation failure. */
const char *chlog_ld_keep(struct chlog_ld *ld, const char *s);

/* What the includes above a file pass down to its changesets: the
 * logicalFilePath in effect (NULL when none) and the include- and
 * changelog-level contexts and labels, outermost first (borrowed). */
struct chlog_scope {
    const char *logical;
    const char *const *contexts;
    size_t ncontexts;
    const char *const *labels;
    size_t nlabels;
};

/* Reads path (already clean) through the fs: enforces the per-file and total
 * caps, refuses NUL bytes (binary input).  *data is malloc'd, NUL-ended. */
enum tm_code chlog_ld_read(struct chlog_ld *ld, const char *path, char **data, size_t *len,
                           struct tm_err *err) TM_MUST_CHECK;
/* chlog_ld_read, and *kept = chlog_ld_keep(path): the path the parsed
 * nodes point at for the rest of the load (XML and YAML readers). */
enum tm_code chlog_ld_read_kept(struct chlog_ld *ld, const char *path, char **data, size_t *len,
                                const char **kept, struct tm_err *err) TM_MUST_CHECK;
/* chlog_ld_read of a file that may be absent (Flyway's flyway.conf,
 * <script>.conf): a missing path or a folder is TM_OK with *data NULL; any
 * other failure is chlog_ld_read's, with its message in err. */
enum tm_code chlog_ld_read_optional(struct chlog_ld *ld, const char *path, char **data,
                                    size_t *len, struct tm_err *err) TM_MUST_CHECK;

/* chlog_add_set() for a parser: NULL on allocation failure or past
 * CHLOG_MAX_SETS (then over_cap is set). */
struct chlog_changeset *chlog_ld_add_set(struct chlog_ld *ld);

/* Appends a copy of value to cs->valid_checksums. */
enum tm_code chlog_set_add_valid(struct chlog_changeset *cs, const char *value) TM_MUST_CHECK;

/* Returns text with ${name} replaced by known property values (malloc'd),
 * NULL on allocation failure or when the result passes the file cap or the
 * load's budget (then ld->over_cap is set). */
char *chlog_ld_expand(struct chlog_ld *ld, const char *text);

/* Sets err to code and "file:line[:col]: <fmt>" (line/col 0 = omitted). */
enum tm_code chlog_ld_fail(struct tm_err *err, enum tm_code code, const char *file, int line,
                           int col, const char *fmt, ...) TM_PRINTF(6, 7);

/* Joins dir-of(base) and rel (or rel alone when base is NULL) and cleans it. */
enum tm_code chlog_path_sibling(const char *base, const char *rel, char **out,
                                struct tm_err *err) TM_MUST_CHECK;

/* Pushes path on the include stack: TM_E_INVAL on a cycle or too deep. */
enum tm_code chlog_ld_push(struct chlog_ld *ld, const char *path, const char *from, int line,
                           struct tm_err *err) TM_MUST_CHECK;
void chlog_ld_pop(struct chlog_ld *ld);

/* Readers: one Liquibase changelog file into a node tree (node.h) whose root
 * is named "databaseChangeLog".  path: clean fs path (read through
 * chlog_ld_read, so caps apply).  Nodes' file points at ld-owned storage that
 * lives until the load ends.  No ${} expansion and no interpretation here:
 * lbparse.c does both.  *root is owned by the caller (chlog_node_free). */
struct chlog_node;
enum tm_code chlog_xml_read(struct chlog_ld *ld, const char *path, struct chlog_node **root,
                            struct tm_err *err) TM_MUST_CHECK;
/* YAML, and JSON (read with the YAML loader, as Liquibase does). */
enum tm_code chlog_yaml_read(struct chlog_ld *ld, const char *path, struct chlog_node **root,
                             struct tm_err *err) TM_MUST_CHECK;

/* Compiles a preConditions node (precond.c) into what the engine evaluates;
 * *out is owned by the caller (chlog_precond_free). */
enum tm_code chlog_precond_compile(struct chlog_ld *ld, const struct chlog_node *pre,
                                   struct chlog_precondition **out, struct tm_err *err)
    TM_MUST_CHECK;
void chlog_precond_free(struct chlog_precondition *pc);

/* Frees what one change owns and zeroes it (not the change itself). */
void chlog_change_release(struct chlog_change *ch);

/* Frees what one changeset owns (not the changeset itself). */
void chlog_set_release(struct chlog_changeset *cs);

/* Includes a Liquibase file (.xml/.yaml/.yml/.json through chlog_lb_parse,
 * .sql formatted or raw) with scope in effect; from/line name the include. */
enum tm_code chlog_ld_include_lb(struct chlog_ld *ld, const char *path, const char *filename,
                                 const struct chlog_scope *scope, const char *from, int line,
                                 struct tm_err *err) TM_MUST_CHECK;

/* Parses one file by kind.  path: clean fs path; filename: FILENAME to
 * record for its changesets (as Liquibase writes it). */
enum tm_code chlog_sqlfmt_parse(struct chlog_ld *ld, const char *path, const char *filename,
                                const char *data, size_t len, struct tm_err *err) TM_MUST_CHECK;
enum tm_code chlog_flyway_parse(struct chlog_ld *ld, const char *dir, struct tm_err *err)
    TM_MUST_CHECK;

/* True when the first non-blank line is `--liquibase formatted ...`. */
bool chlog_is_formatted_sql(const char *data, size_t len);

/* Room for one more element in the array v of *alloc elements (elem bytes
 * each) whose first n are used: v itself when there is, else v reallocated
 * to twice *alloc (first when 0) and *alloc updated.  NULL when out of
 * memory; v is then unchanged and still the caller's. */
void *chlog_grow(void *v, size_t n, size_t *alloc, size_t elem, size_t first);

/* Cuts the next line off the writable text at *p: ends it in place (the
 * '\n' becomes NUL; a '\r' stays), moves *p past it and returns it; NULL
 * when *p is at the end of the text. */
char *chlog_cut_line(char **p);

/* The next non-empty item of the comma list in [*p, end) ("a, b,,c "): the
 * text up to the next ',' without leading and trailing blanks (' ' only, or
 * every isspace() char when any_space) in *item and *len; *p moves past
 * that ','.  False when no item is left. */
bool chlog_list_item(const char **p, const char *end, bool any_space, const char **item,
                     size_t *len);

/* Case-insensitive "true"/"false"; false and *ok=false otherwise. */
bool chlog_parse_bool(const char *s, bool *ok);

/* MD5 of data as 32 lowercase hex digits (OpenSSL EVP; checksum.c, the one
 * copy every checksum uses). */
enum tm_code chlog_md5_hex(const void *data, size_t len, char hex[33]) TM_MUST_CHECK;

/* MD5 of sql with every ' ', '\t', '\n', '\r' removed, as 32 hex digits
 * (Liquibase AbstractSQLChange.NormalizingStream); NULL hashes as "". */
enum tm_code chlog_md5_sql_hex(const char *sql, char hex[33]) TM_MUST_CHECK;

/* MD5 of text produced a byte at a time (a normalising reader), fed through
 * a 4 KiB block.  _begin: TM_E_NOMEM when OpenSSL has no context; after it,
 * always _end, which frees the context and writes 32 hex digits
 * (TM_E_INTERNAL when a digest step failed).  Not thread-safe per struct. */
struct chlog_md5 {
    void *ctx; /* EVP_MD_CTX, owned between _begin and _end */
    unsigned char blk[4096];
    size_t bl;
    bool ok;
};
enum tm_code chlog_md5_begin(struct chlog_md5 *m) TM_MUST_CHECK;
void chlog_md5_put(struct chlog_md5 *m, unsigned char c);
enum tm_code chlog_md5_end(struct chlog_md5 *m, char hex[33]) TM_MUST_CHECK;

/* "9:" + MD5 hex of "<prefix>:9:<inner_hex>": Liquibase's
 * CheckSum.compute(prefix + ":" + innerCheckSum) that createView and loadData
 * use to fold a hashed file or query into the change's checksum. */
enum tm_code chlog_checksum_of_parts(const char *prefix, const char *inner_hex, char out[40])
    TM_MUST_CHECK;

/* Liquibase DatabaseList.definitionMatches(dbms, postgresql): NULL, empty or
 * "all" matches, "none" does not, a comma list matches when it names
 * postgresql, "!x" entries exclude. */
bool chlog_dbms_matches_postgres(const char *dbms);

/* Liquibase DatabaseChangeLog.normalizePath: drops "classpath:", turns '\'
 * into '/', drops one leading '/', resolves "." and ".." (malloc'd; NULL on
 * allocation failure or a path that climbs above its root). */
char *chlog_lb_normalize_path(const char *path);

/* Copies scope's contexts and labels into cs->inherited_*, innermost first. */
enum tm_code chlog_scope_apply(const struct chlog_scope *scope, struct chlog_changeset *cs)
    TM_MUST_CHECK;

/* Parses one Liquibase XML, YAML or JSON changelog file (by its extension)
 * and everything it includes.  filename: FILENAME for its changesets;
 * scope: what the including changelogs pass down (NULL = nothing). */
enum tm_code chlog_lb_parse(struct chlog_ld *ld, const char *path, const char *filename,
                            const struct chlog_scope *scope, struct tm_err *err) TM_MUST_CHECK;

/* strdup that returns NULL for NULL. */
char *chlog_strdup(const char *s);

/* True when the fs path ends with suffix (case-insensitive). */
bool chlog_has_suffix(const char *s, const char *suffix);

#endif
