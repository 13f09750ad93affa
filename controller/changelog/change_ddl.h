/* change_ddl (internal): what the DDL change compilers share - the
 * compile context, small node/SQL helpers and the compilers themselves.
 *
 * Files: change_ddl.c (attribute schemas, registry, checksum quirks, these
 * helpers, views and sequences), change_table.c (tables and columns),
 * change_constraint.c (indexes and constraints).  Only those three include
 * this header; everyone else goes through change_int.h / change.h.
 * Statements in a buffer are separated by ";\n" (ddl_next()). */
#ifndef TM_CHANGELOG_CHANGE_DDL_H
#define TM_CHANGELOG_CHANGE_DDL_H

#include <stdbool.h>
#include <stddef.h>

#include "changelog/change_int.h"
#include "changelog/node.h"
#include "common/buf.h"
#include "common/err.h"

/* One compilation: the change node, its type name, the SQL and rollback
 * being written (owned, released by chlog_change_ddl_compile) and err. */
struct ddl_cx {
    const struct chlog_change_env *env; /* reads files (createView path) */
    char *view_query;  /* createView: the query hashed and run (owned) */
    const struct chlog_node *n;
    const char *type;
    struct tm_buf sql; /* statements, ";\n" between them */
    struct tm_buf rb;  /* rollback statements */
    bool has_rb;
    struct tm_err *err;
};

/* Column nodes of a change: borrowed from the node; v is malloc'd. */
struct ddl_cols {
    const struct chlog_node **v;
    size_t n, alloc;
};

/* ---- reading the node ---- */

/* The value of c->n's attribute name, or NULL. */
const char *ddl_txt(const struct ddl_cx *c, const char *name);
/* The Boolean Liquibase reads (Boolean.valueOf): ddl_flag is true when the
 * attribute is "true" (any case), ddl_flag_false when it is present with
 * any other text ("false", "0", an unexpanded ${x}); both false when absent. */
bool ddl_flag(const struct chlog_node *n, const char *name);
bool ddl_flag_false(const struct chlog_node *n, const char *name);
/* *out = the non-empty attribute name; else TM_E_INVAL "file:line: <type>:
 * 'name' is required". */
enum tm_code ddl_need(struct ddl_cx *c, const char *name, const char **out) TM_MUST_CHECK;
/* ddl_need of a, then (when present) of b. */
enum tm_code ddl_need2(struct ddl_cx *c, const char *a, const char **va, const char *b,
                       const char **vb) TM_MUST_CHECK;
/* ddl_need of tableName, then of columnName. */
enum tm_code ddl_need_column(struct ddl_cx *c, const char **table, const char **column)
    TM_MUST_CHECK;
/* StringUtil.trimToNull(s) != null */
bool ddl_nonblank(const char *s);
/* s without leading and trailing blanks (space, tab, CR, LF): returns where
 * they end in s, *len the length that remains. */
const char *ddl_trim_blanks(const char *s, size_t *len);
/* l = the columns of c->n (XML <column>, YAML columns: [column: ...], or a
 * YAML columns: mapping), each with a name; required: at least one.
 * free(l->v) after use, also on failure. */
enum tm_code ddl_cols_get(struct ddl_cx *c, struct ddl_cols *l, bool required) TM_MUST_CHECK;

/* ---- writing SQL (all append to b; b as tm_buf leaves it on failure) ---- */

/* Drops trailing blanks of the statement being written (Liquibase's
 * update-sql prints statements trimmed: "NOT VALID " is "NOT VALID"). */
void ddl_trim_tail(struct tm_buf *b);
/* Starts a new statement: ";\n" when b already holds one. */
enum tm_code ddl_next(struct tm_buf *b) TM_MUST_CHECK;
/* [schema.]name with n's schemaName (escapeTableName). */
enum tm_code ddl_table(struct tm_buf *b, const struct chlog_node *n, const char *name)
    TM_MUST_CHECK;
/* A new statement "<before>[schema.]t<after>[name]": t with n's schemaName,
 * name (NULL: none) through chlog_sql_add_name. */
enum tm_code ddl_table_stmt(struct tm_buf *b, const char *before, const struct chlog_node *n,
                            const char *t, const char *after, const char *name) TM_MUST_CHECK;
/* A new statement "ALTER TABLE [schema.]t". */
enum tm_code ddl_alter_table(struct tm_buf *b, const struct chlog_node *n, const char *t)
    TM_MUST_CHECK;
/* A new statement "ALTER TABLE t ALTER COLUMN c <what>" (two blanks before c
 * for SET/DROP NOT NULL and SET DEFAULT, as Liquibase writes them). */
enum tm_code ddl_alter_column(struct tm_buf *b, const struct chlog_node *n, const char *t,
                              const char *col, const char *what) TM_MUST_CHECK;
/* [schema.]name of a sequence with c->n's schemaName. */
enum tm_code ddl_seq_name(struct tm_buf *b, struct ddl_cx *c, const char *name) TM_MUST_CHECK;
/* 'remarks' trimmed and quoted (SetTableRemarks/SetColumnRemarksGenerator). */
enum tm_code ddl_add_remarks(struct tm_buf *b, const char *r) TM_MUST_CHECK;
/* A new statement COMMENT ON TABLE [schema.]t IS '...'. */
enum tm_code ddl_comment_on_table(struct tm_buf *b, const struct chlog_node *n, const char *t,
                                  const char *remarks) TM_MUST_CHECK;
/* A new statement COMMENT ON COLUMN [schema.]t.col IS '...'. */
enum tm_code ddl_comment_on_column(struct tm_buf *b, const struct chlog_node *n, const char *t,
                                   const char *col, const char *remarks) TM_MUST_CHECK;

/* A new statement ALTER SEQUENCE [seq_schema.]seq OWNED BY [schema.]t.col
 * (AddDefaultValueGeneratorPostgres, AddAutoIncrementChange). */
enum tm_code ddl_seq_owned_by(struct tm_buf *b, const char *seq_schema, const char *seq,
                              const struct chlog_node *n, const char *t, const char *col)
    TM_MUST_CHECK;

/* ---- constraint statements (change_constraint.c), each a new statement ---- */

/* AddForeignKeyConstraintGenerator: ALTER TABLE [schema.]t ADD CONSTRAINT
 * name FOREIGN KEY (...) REFERENCES ... [ON UPDATE x] [ON DELETE y]
 * [DEFERRABLE] [INITIALLY DEFERRED] [NOT VALID]. */
enum tm_code ddl_add_fk(struct tm_buf *b, const char *schema, const char *t,
                        const char *base_cols, const char *ref_schema, const char *ref_table,
                        const char *ref_cols, const char *name, const char *on_update,
                        const char *on_delete, bool deferrable, bool deferred, bool validate)
    TM_MUST_CHECK;
/* AddUniqueConstraintGenerator (PostgreSQL): ... UNIQUE (cols) [USING INDEX
 * name] [(USING INDEX) TABLESPACE x] [DEFERRABLE] [INITIALLY DEFERRED]. */
enum tm_code ddl_add_unique(struct tm_buf *b, const struct chlog_node *n, const char *t,
                            const char *cols, const char *name, bool deferrable, bool deferred,
                            const char *space, const char *for_index_schema,
                            const char *for_index) TM_MUST_CHECK;

/* ALTER TABLE [schema.]t DROP CONSTRAINT name. */
enum tm_code ddl_drop_constraint(struct tm_buf *b, const struct chlog_node *n, const char *t,
                                 const char *name) TM_MUST_CHECK;
/* DropPrimaryKeyGenerator: by name, or without one the DO block that looks
 * the name up. */
enum tm_code ddl_drop_pk(struct tm_buf *b, const struct chlog_node *n, const char *t,
                         const char *name) TM_MUST_CHECK;

/* The compilers: fill c->sql (and c->rb with has_rb when Liquibase derives
 * a rollback); TM_E_INVAL with file:line for bad input. */
enum tm_code ddl_compile_create_table(struct ddl_cx *c);
enum tm_code ddl_compile_add_column(struct ddl_cx *c);
enum tm_code ddl_compile_create_index(struct ddl_cx *c);
enum tm_code ddl_compile_drop_index(struct ddl_cx *c);
enum tm_code ddl_compile_add_fk(struct ddl_cx *c);
enum tm_code ddl_compile_drop_fk(struct ddl_cx *c);
enum tm_code ddl_compile_add_unique(struct ddl_cx *c);
enum tm_code ddl_compile_drop_unique(struct ddl_cx *c);
enum tm_code ddl_compile_add_pk(struct ddl_cx *c);
enum tm_code ddl_compile_drop_pk(struct ddl_cx *c);
enum tm_code ddl_compile_drop_table(struct ddl_cx *c);
enum tm_code ddl_compile_drop_column(struct ddl_cx *c);
enum tm_code ddl_compile_rename_column(struct ddl_cx *c);
enum tm_code ddl_compile_rename_table(struct ddl_cx *c);
enum tm_code ddl_compile_modify_data_type(struct ddl_cx *c);
enum tm_code ddl_compile_set_table_remarks(struct ddl_cx *c);
enum tm_code ddl_compile_set_column_remarks(struct ddl_cx *c);
enum tm_code ddl_compile_add_default(struct ddl_cx *c);
enum tm_code ddl_compile_drop_default(struct ddl_cx *c);
enum tm_code ddl_compile_add_auto_increment(struct ddl_cx *c);
enum tm_code ddl_compile_create_view(struct ddl_cx *c);
enum tm_code ddl_compile_drop_view(struct ddl_cx *c);
enum tm_code ddl_compile_create_sequence(struct ddl_cx *c);
enum tm_code ddl_compile_alter_sequence(struct ddl_cx *c);
enum tm_code ddl_compile_drop_sequence(struct ddl_cx *c);
enum tm_code ddl_compile_rename_sequence(struct ddl_cx *c);
enum tm_code ddl_compile_empty(struct ddl_cx *c);
enum tm_code ddl_compile_output(struct ddl_cx *c);
enum tm_code ddl_compile_add_not_null(struct ddl_cx *c);
enum tm_code ddl_compile_drop_not_null(struct ddl_cx *c);

#endif
